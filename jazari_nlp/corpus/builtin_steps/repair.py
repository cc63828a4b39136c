"""``repair``: fix mojibake (ftfy), drop control characters, reject empty or oversized documents.

Example: ``Repair("01_repair", RepairStep()).filter(Document(text="a\\x00b", id="1"))`` → ``True`` (text ``ab``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field

from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")


class RepairStep(StrictModel):
    """Fix mojibake (ftfy), drop control characters and lone surrogates, reject empty or oversized documents."""

    fix_mojibake: bool = True
    max_chars: int = Field(1_000_000, gt=0, description="Longer documents are rejected as `too_long`.")
    min_chars: int = Field(1, ge=0, description="Shorter documents (after repair) are rejected as `empty`.")


@register_step("repair", RepairStep, order=10)
class Repair(CorpusStep):
    """Rejects oversized and empty documents; fixes mojibake (ftfy, only where it looks broken); drops control chars."""

    def filter(self, doc) -> bool | tuple[bool, str]:
        if len(doc.text) > self.cfg.max_chars:
            return False, "too_long"
        text = doc.text
        if self.cfg.fix_mojibake:
            import ftfy
            from ftfy.badness import is_bad

            sample = text[:20000]
            if _mojibake_hint().search(sample) and is_bad(sample):
                fixed = ftfy.fix_text(text, normalization="NFC")
                if fixed != text:
                    self.stat_update("mojibake_fixed")
                    text = fixed
        if _CONTROL.search(text):
            text = _CONTROL.sub("", text)
            self.stat_update("control_chars_removed")
        doc.text = text
        if len(text.strip()) < self.cfg.min_chars:
            return False, "empty"
        return True


@lru_cache(maxsize=1)
def _mojibake_hint() -> re.Pattern[str]:
    """A regex that finds something in every text ftfy's ``BADNESS_RE`` finds something in (gate False =>
    ``is_bad`` False), ~50x cheaper: derived from ``BADNESS_RE``'s own parsed pattern (see :func:`_badness_gate`),
    so another ftfy release stays right. Example: ``_mojibake_hint().search("café élevé")`` → ``None``."""
    from ftfy.badness import BADNESS_RE

    return _badness_gate(BADNESS_RE)


_MATCH_ALL = re.compile("")  # what the gate falls back to: is_bad then always runs (correct, only slower)


def _badness_gate(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """A necessary condition of ``pattern.search`` as a cheap regex: every alternative of ``pattern`` is a
    sequence of items; the gate keeps, per alternative, one run of consecutive single-character items with a
    finite character set (``[ab]``, ``x``), so a text matching the alternative holds that run. The big regex
    tries ~40 alternatives at every character (most start with ``[a-z]`` or ``\\s``); the gate starts with one
    character class of non-ASCII characters that ``re`` scans for in C. Anything it does not understand
    (flags that change sets, an alternative without a finite item) gives :data:`_MATCH_ALL`.
    Example: ``_badness_gate(re.compile("a[bc]|x+y")).pattern`` → ``'[ay](?:(?<=[a])[bc]|(?<=[y]))'``."""
    try:
        from re import _parser as sre_parse
        from re._constants import AT, BRANCH, IN, LITERAL, NEGATE, RANGE
    except ImportError:  # pragma: no cover - an older or newer Python layout
        return _MATCH_ALL
    if pattern.flags & (re.IGNORECASE | re.LOCALE):
        return _MATCH_ALL
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - the private parser changed
        return _MATCH_ALL
    items = list(tree)
    alternatives = items[0][1][1] if len(items) == 1 and items[0][0] is BRANCH else [items]

    def finite_set(op, av) -> tuple[bool, frozenset[int]] | None:
        """(negated, code points) of a one-character item made of literals and ranges, else None."""
        if op is LITERAL:
            return False, frozenset([av])
        negated = op is IN and bool(av) and av[0][0] is NEGATE
        if op is not IN or not all(o is LITERAL or o is RANGE for o, _ in av[negated:]):
            return None  # a category (\\s, \\w), '.', a repeat, a group...
        return negated, frozenset(c for o, v in av[negated:] for c in ((v,) if o is LITERAL else range(v[0], v[1] + 1)))

    runs = []
    for alternative in alternatives:
        best, run = None, []
        for op, av in [*alternative, (None, None)]:
            if op is AT:
                continue  # zero-width (^, $, \\b): the items around it still match adjacent characters
            chars = finite_set(op, av)
            if chars is not None:
                run.append(chars)
                continue
            # a run that starts with ASCII would stop the scan at every letter: start at its first non-ASCII set
            run = next((run[k:] for k in range(len(run)) if _non_ascii(run[k])), run)
            if run and (best is None or _run_cost(run) < _run_cost(best)):
                best = run
            run = []
        if best is None:
            return _MATCH_ALL
        runs.append(best)
    first = _union([run[0] for run in runs])
    branches = "|".join(f"(?<={_char_class(run[0])})" + "".join(_char_class(c) for c in run[1:]) for run in runs)
    return re.compile(f"{_char_class(first)}(?:{branches})")


Slot = tuple[bool, frozenset[int]]  # (negated, code points): one character of a character class


def _non_ascii(slot: Slot) -> bool:
    return not slot[0] and min(slot[1]) >= 0x80


def _run_cost(run: list[Slot]) -> tuple:
    """Prefer runs that start without ASCII, then longer runs, then a smaller first set."""
    return not _non_ascii(run[0]), -len(run), run[0][0], len(run[0][1])


def _union(slots: list[Slot]) -> Slot:
    """One slot matching any character one of ``slots`` matches."""
    positive = frozenset().union(*(chars for negated, chars in slots if not negated))
    negative = [chars for negated, chars in slots if negated]
    return (True, frozenset.intersection(*negative) - positive) if negative else (False, positive)


def _char_class(slot: Slot) -> str:
    """``slot`` as one regex character class of escaped ranges. Example: ``(False, {97, 98, 99, 120})`` →
    ``[a-cx]``; ``(True, {97})`` → ``[^a]``."""
    negated, chars = slot
    if not chars:
        return "[\\s\\S]" if negated else "[^\\s\\S]"
    points, parts, i = sorted(chars), ["^"] if negated else [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        a, b = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(a if i == j else f"{a}{b}" if j == i + 1 else f"{a}-{b}")
        i = j + 1
    return "[" + "".join(parts) + "]"
