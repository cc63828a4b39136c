"""The tokenizer's normalizer, built from the text layer's character tables so that a tokenizer sees text the way
the corpus stage wrote it. Never NFKC (it rewrites the Tifinagh mark ⵯ U+2D6F into ⵡ).

- ``nfc``: NFC only.
- ``train``: NFC, then the ``train`` profile's tables of ``jazari_nlp/text/tables/``: bidi controls,
  zero-width characters (the zero width joiner is kept between two Tifinagh characters) and tatweel removed,
  Persian/Urdu look-alikes mapped to Arabic letters, then NFC again (a deletion can bring marks together).
  The rest of ``normalize()`` (mojibake repair, control characters, whitespace collapsing, Greek ε/γ in Latin
  words) is not part of the tokenizer: it changes spacing and needs context a normalizer does not have.

Example::

    >>> tokenizer_normalizer("train").normalize_str("كـــبير\u200f")
    'كبير'
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

NORMALIZERS = ("nfc", "train")
# The tables of normalize()'s `train` profile, in the order it applies them.
TRAIN_TABLES = ("bidi_controls", "zero_width", "tatweel", "arabic_lookalikes")
_TIFINAGH = "\u2d30-\u2d7f"
_ZWJ = "\u200d"


def _char_class(codepoints) -> str:
    return "[" + "".join(f"\\x{{{c:04X}}}" for c in sorted(codepoints)) + "]"


def train_rules() -> list[tuple[str, str]]:
    """The ``train`` profile as (regex, replacement) pairs: one deletion class, the ZWJ rule, one rule per
    look-alike target. Example: ``train_rules()[-1]`` → ``('[\\x{06C3}]', 'ة')``."""
    from jazari_nlp.text.normalize import read_table

    deleted: set[int] = set()
    by_target: dict[str, set[int]] = {}
    for name in TRAIN_TABLES:
        for src, dst in read_table(name).items():
            if dst:
                by_target.setdefault(dst, set()).add(src)
            else:
                deleted.add(src)
    rules = [(_char_class(deleted), "")]
    # A ZWJ requests a ligature only between two Tifinagh characters (normalize() keeps it there).
    rules.append((f"(?<![{_TIFINAGH}]){_ZWJ}+|{_ZWJ}+(?![{_TIFINAGH}])", ""))
    rules += [(_char_class(srcs), dst) for dst, srcs in by_target.items()]
    return rules


def tokenizer_normalizer(name: str) -> Any:
    """A ``tokenizers`` normalizer for ``tokenizer.normalizer`` (``nfc`` or ``train``).

    Example: ``tok.normalizer = tokenizer_normalizer("nfc")``.
    """
    from tokenizers import Regex, normalizers

    if name == "nfc":
        return normalizers.NFC()
    if name != "train":
        raise ValueError(f"tokenizer.normalizer: unknown normalizer {name!r}; choose one of {', '.join(NORMALIZERS)}")
    steps = [normalizers.NFC()]
    steps += [normalizers.Replace(Regex(pattern), repl) for pattern, repl in train_rules()]
    steps.append(normalizers.NFC())
    return normalizers.Sequence(steps)


def normalize_for_training(text: str, name: str) -> str:
    """One training text as the tokenizer will see it: ``normalize(text, "train", newlines="keep")`` for
    ``train`` (line breaks kept: a document's lines stay lines), NFC for ``nfc``."""
    import unicodedata

    if name == "train":
        from jazari_nlp.text.normalize import normalize

        return normalize(text, "train", newlines="keep")
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def normalize_chunk(text: str, name: str) -> str:
    """What :func:`tokenizer_normalizer` does, on a large block of text (many lines) at C speed: NFC, and for
    ``train`` the tables (one translate, skipped when no character of them occurs), the ZWJ rule, NFC again.
    Used to normalize a sentencepiece training file without per-line Python work."""
    text = _nfc_blocks(text)
    if name != "train":
        return text
    table, gate = _train_table()
    before = text
    if gate.search(text):
        # A regex substitution visits only the hits; str.translate does a dict lookup per character.
        text = gate.sub(lambda m: table[ord(m.group())], text)
    if _ZWJ in text:
        text = _zwj_rule().sub("", text)
    # A deletion can bring marks together that NFC reorders.
    return text if text is before else _nfc_blocks(text)


def _nfc_blocks(text: str, block: int = 4096) -> str:
    """NFC of a large text, checked in blocks of about ``block`` characters cut after a newline (NFC never
    acts across one). ``is_normalized`` answers at once for most text, but a character that may compose (a
    combining dot below, a Hebrew point) makes it normalize its whole argument: in small blocks only the
    block holding one pays for it (about 10x faster on mixed-script text than one call on 1 MiB)."""
    import unicodedata

    out: list[str] = []
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start + block)
        end = n if end < 0 else end + 1
        piece = text[start:end]
        out.append(piece if unicodedata.is_normalized("NFC", piece) else unicodedata.normalize("NFC", piece))
        start = end
    return "".join(out)


@cache
def _train_table() -> tuple[dict[int, str], re.Pattern]:
    from jazari_nlp.text.normalize import read_table

    table: dict[int, str] = {}
    for name in TRAIN_TABLES:
        table.update(read_table(name))
    return table, re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")


@cache
def _zwj_rule() -> re.Pattern:
    return re.compile(f"(?<![{_TIFINAGH}]){_ZWJ}+|{_ZWJ}+(?![{_TIFINAGH}])")


__all__ = ["tokenizer_normalizer", "normalize_for_training", "normalize_chunk", "train_rules", "NORMALIZERS"]
