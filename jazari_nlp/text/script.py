"""Script analysis: which share of the letters is Arabic, Latin, Tifinagh or other; script per word.

Only letters count (digits, punctuation, emoji and marks do not), so ``"3la"`` is a Latin word.

Example::

    >>> script_shares("salam سلام")
    {'Arab': 0.5, 'Latn': 0.5, 'Tfng': 0.0, 'other': 0.0}
"""

from __future__ import annotations

import operator
import re

# Letter ranges per script (\w minus digits and underscore is "a letter or a mark" in Python's re).
# Letters only: Arabic punctuation (، ؟ ؛), digits and marks in the same blocks are left out.
_ARAB = "\u0620-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff\u0750-\u077f" \
        "\u0870-\u0887\u0889-\u088e\u08a0-\u08c9\ufb50-\ufbb1\ufbd3-\ufd3d\ufd50-\ufdfb\ufe70-\ufefc"
_LATN = "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0250-\u02af\u1d00-\u1dbf\u1e00-\u1eff" \
        "\u2c60-\u2c7f\ua720-\ua7ff\uff21-\uff3a\uff41-\uff5a"
_TFNG = "\u2d30-\u2d67\u2d6f"
# Runs, not single letters: findall then allocates one string per word instead of one per letter (~3x faster).
_LETTER = re.compile(r"[^\W\d_]+")
_SCRIPT_RES = {"Arab": re.compile(f"[{_ARAB}]+"), "Latn": re.compile(f"[{_LATN}]+"),
               "Tfng": re.compile(f"[{_TFNG}]+")}
_WORD = re.compile(r"[^\s]+")
SCRIPTS = ("Arab", "Latn", "Tfng", "other")


class _ScriptClasses(dict):
    """``str.translate`` table: each character to one class symbol, filled in on first sight of a character.

    Upper case: a letter (``[^\\W\\d_]``) of Arabic (A), Latin (L), Tifinagh (T) or another script (O); lower case:
    a character of a script range that is not such a letter; anything else is deleted. Counting the symbols in the
    translated text replaces five regex scans (the identifier's hottest Python step)."""

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        letter = _LETTER.fullmatch(ch) is not None
        for sym, rx in (("a", _SCRIPT_RES["Arab"]), ("l", _SCRIPT_RES["Latn"]), ("t", _SCRIPT_RES["Tfng"])):
            if rx.fullmatch(ch):
                value = sym.upper() if letter else sym
                break
        else:
            value = "O" if letter else None
        self[cp] = value
        return value


_CLASSES = _ScriptClasses()


def _not_text(name: str, value: object) -> TypeError:
    return TypeError(f"{name}() argument 'text' must be str, not {type(value).__name__}")


_SYMBOLS = (None, "A", "a", "L", "l", "T", "t", "O")  # class codes 0..7 of the code point table below
_BMP_CODES = None  # numpy uint8 array: the class code of each code point under U+10000, built on first use


def _bmp_codes():
    """:class:`_ScriptClasses`'s classes of the whole BMP as codes (``_SYMBOLS`` index), found with one regex
    pass per class over a string of every BMP character (~20 ms) instead of four regex calls per character."""
    import numpy as np  # fastText's wrapper imports it anyway; kept here for a fast `jazari --help`

    global _BMP_CODES
    if _BMP_CODES is None:
        chars = "".join(map(chr, range(0x10000)))

        def where(rx: re.Pattern) -> np.ndarray:
            mask = np.zeros(0x10000, dtype=bool)
            for m in rx.finditer(chars):  # the patterns are character classes: a run is chars that match alone
                mask[m.start():m.end()] = True
            return mask

        letter = where(_LETTER)
        codes = np.where(letter, 7, 0).astype(np.uint8)
        # Reverse order of _ScriptClasses' tests: the first script that matches a character wins there.
        for code, name in ((5, "Tfng"), (3, "Latn"), (1, "Arab")):
            mask = where(_SCRIPT_RES[name])
            codes[mask] = np.where(letter[mask], code, code + 1)
        _BMP_CODES = codes
    return _BMP_CODES


def script_codes(text: str) -> list[int]:
    """How many characters of ``text`` fall in each class (``_SYMBOLS`` order: code 0 is "not counted").

    The codes add up: ``script_codes(a + b)`` is ``script_codes(a)`` plus ``script_codes(b)`` code by code (not
    so the counts of :func:`script_counts`, which clip "other" at 0), so a caller that counted a head can count
    the rest alone (:func:`dominant_script`'s ``counted``).

    Example::

        >>> script_codes("ab س")
        [0, 1, 0, 2, 0, 0, 0, 0]
    """
    if len(text) >= 64 and not text.isascii():
        # A table lookup over the code points in numpy: ~5x faster than str.translate through the dict, which
        # makes an int object per non-ASCII character. Astral characters (emoji...) go through the dict.
        import numpy as np

        # UTF-16 has two bytes per character exactly when no character is astral (a lone surrogate is two bytes,
        # its own code point): the units are then the code points, indexed with no astral test (~2x faster).
        units = text.encode("utf-16-le", "surrogatepass")
        if len(units) == 2 * len(text):
            return np.bincount(_bmp_codes().take(np.frombuffer(units, dtype=np.uint16)), minlength=len(_SYMBOLS)).tolist()
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        astral = cps >= 0x10000
        if astral.any():
            rest = "".join(map(chr, cps[astral].tolist())).translate(_CLASSES)
            cps = cps[~astral]
        else:
            rest = ""
        n = np.bincount(_bmp_codes()[cps], minlength=len(_SYMBOLS)).tolist()
        if rest:
            for code, sym in enumerate(_SYMBOLS[1:], start=1):
                n[code] += rest.count(sym)
        return n
    classes = text.translate(_CLASSES)
    return [len(text) - len(classes), *map(classes.count, _SYMBOLS[1:])]


def codes_counts(n: list[int]) -> dict[str, int]:
    """:func:`script_counts` from :func:`script_codes`' list (``codes_counts(script_codes(t)) == script_counts(t)``).

    Example::

        >>> codes_counts([0, 1, 0, 2, 0, 0, 0, 0])
        {'Arab': 1, 'Latn': 2, 'Tfng': 0, 'other': 0}
    """
    # Same arithmetic as on the translated symbols: "other" = letters - script letters, not below 0.
    return {"Arab": n[1] + n[2], "Latn": n[3] + n[4], "Tfng": n[5] + n[6],
            "other": max(n[7] - n[2] - n[4] - n[6], 0)}


def script_counts(text: str) -> dict[str, int]:
    """Number of letters per script (keys ``Arab``, ``Latn``, ``Tfng``, ``other``).

    Example::

        >>> script_counts("salam سلام 3")
        {'Arab': 4, 'Latn': 5, 'Tfng': 0, 'other': 0}
    """
    return codes_counts(script_codes(text))


def script_shares(text: str) -> dict[str, float]:
    """Share of letters per script; all zeros when the text has no letter.

    Example::

        >>> script_shares("ⴰⵣⵓⵍ")["Tfng"]
        1.0
    """
    if not isinstance(text, str):
        raise _not_text("script_shares", text)
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return {name: 0.0 for name in SCRIPTS}
    return {name: counts[name] / total for name in SCRIPTS}


def dominant_script(text: str, counted: list[int] | None = None) -> str:
    """The script with most letters: ``Arab``, ``Latn``, ``Tfng``, ``other``, or ``Zyyy`` without letters.
    ``counted``: :func:`script_codes` of text that precedes ``text`` (already counted by the caller): the
    answer is then the script of both together.

    Example::

        >>> dominant_script("wach nta mezyan? 😀")
        'Latn'
    """
    if not isinstance(text, str):
        raise _not_text("dominant_script", text)
    if counted is None:
        counts = script_counts(text)
    else:
        counts = codes_counts(list(map(operator.add, counted, script_codes(text))) if text else counted)
    best = max(SCRIPTS, key=lambda s: counts[s])
    return best if counts[best] > 0 else "Zyyy"


def word_scripts(text: str) -> list[tuple[str, str]]:
    """Each whitespace-separated word with its dominant script.

    Example::

        >>> word_scripts("salam سلام 123")
        [('salam', 'Latn'), ('سلام', 'Arab'), ('123', 'Zyyy')]
    """
    if not isinstance(text, str):
        raise _not_text("word_scripts", text)
    return [(w, dominant_script(w)) for w in _WORD.findall(text)]


__all__ = ["script_shares", "script_counts", "script_codes", "codes_counts", "dominant_script", "word_scripts",
           "SCRIPTS"]
