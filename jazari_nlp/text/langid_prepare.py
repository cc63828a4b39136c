"""The language identifier's view of a text (:func:`prepare`): a bounded sample, normalized, lower-cased, URLs and
@users dropped, punctuation split off, long letter repeats squeezed, one line. Split out of
:mod:`jazari_nlp.text.langid`, which re-exports these names.

Example::

    >>> prepare("Wach  nta mezyaaaan?! https://x.ma")
    'wach nta mezyaan ? !'
"""

from __future__ import annotations

import re

from jazari_nlp.text.normalize import normalize

_PUNCT = re.compile(r"([^\w\s\u2d30-\u2d7f]|_)")
# _PUNCT without "_" (spaced by str.replace first): one character class, which the regex engine scans for in C
# instead of trying the alternation at every position (split ~2x faster).
_PUNCT_CLASS = re.compile(r"([^\w\s\u2d30-\u2d7f])")
_URL_OR_USER = re.compile(r"https?://\S+|www\.\S+|@\w+|#", re.IGNORECASE)
_REPEAT = re.compile(r"(\w)\1{2,}")


def sample_text(text: str, max_chars: int = 4096) -> str:
    """A bounded sample of a long text: the head plus slices from the middle and the end."""
    if len(text) <= max_chars:
        return text
    half, quarter = max_chars // 2, max_chars // 4
    mid = len(text) // 2
    return " ".join((text[:half], text[mid:mid + quarter], text[-quarter:]))


def prepare(text: str, max_chars: int = 4096) -> str:
    """The model's view of a text: sampled, normalized, lower-cased, URLs/@users dropped, punctuation
    split off, letters repeated 3+ times squeezed to 2, one line. Digits stay: in Arabizi 3 7 9 are letters.

    Example::

        >>> prepare("Wach  nta mezyaaaan?! https://x.ma")
        'wach nta mezyaan ? !'
    """
    return _prepare_sample(sample_text(text, max_chars))


def _has_repeat(text: str) -> bool:
    """Whether ``_REPEAT`` matches: a word character (``\\w``: ``str.isalnum`` or ``_``) three times in a row.
    On longer texts numpy finds the runs of three equal code points (~4x faster than the backreference regex)
    and only their characters are tested."""
    if len(text) < 128:
        return _REPEAT.search(text) is not None
    import numpy as np

    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    same = cps[1:] == cps[:-1]
    runs = same[1:] & same[:-1]  # runs[i]: cps[i] == cps[i + 1] == cps[i + 2]
    if not runs.any():
        return False
    return any(c.isalnum() or c == "_" for c in map(chr, set(cps[1:-1][runs].tolist())))


def _prepare_sample(text: str) -> str:
    text = normalize(text, newlines="space")
    text = text.lower()
    if "http" in text or "www." in text or "@" in text or "#" in text:  # skip a regex pass on most text
        text = _URL_OR_USER.sub(" ", text)
    if _has_repeat(text):  # a search is half the cost of a sub that finds nothing
        text = _REPEAT.sub(r"\1\1", text)
    return _split_punct(text)


def _split_punct(text: str) -> str:
    """Each ``_PUNCT`` character (not a letter, digit or space, or ``_``; Tifinagh kept) a token of its own,
    whitespace runs one space, the ends stripped. Example: ``_split_punct("a,b _c")`` → ``'a , b _ c'``."""
    # split() with a group keeps the separators: joining with " " puts spaces around each punctuation
    # mark, like sub(" \1 ") but without a Python-level template expansion per match. str.split() then
    # collapses every whitespace run (the same characters as \s) and strips the ends, faster than a regex.
    # "_" (the one \w character of _PUNCT) is spaced first, so that it too ends up a token of its own.
    if "_" in text:
        text = text.replace("_", " _ ")
    return " ".join(" ".join(_PUNCT_CLASS.split(text)).split())


__all__ = ["prepare", "sample_text"]
