"""Normalization that keeps meaning: character tables as data, applied with ``str.translate``.

Profiles:

- ``train`` (default) keeps meaning: NFC (never NFKC: it turns the Tifinagh labialization mark ⵯ U+2D6F into
  ⵡ), mojibake repair, controls/bidi/zero-width/tatweel removed (the zero width joiner survives between two
  Tifinagh characters), Arabic presentation forms (ﻻ ﺍﻟﺬﻱ ﷲ, as PDFs leave them) to the letters they stand
  for, Persian/Urdu look-alikes to Arabic letters, Darija letters ڭ ݣ گ ڤ پ kept, Greek
  ε γ to Amazigh ɛ ɣ inside Latin words, whitespace collapsed (line breaks kept, blank lines squeezed).
  Options: ``unify_g`` (ݣ گ -> ڭ), ``strip_diacritics``, ``ascii_digits``, ``newlines="keep"|"space"``.
- ``match`` (dedup keys, search): ``train`` + alef/hamza variants -> ا, ى -> ي, ة -> ه, /g/ letters unified,
  all combining marks and punctuation off, digits ASCII, case folded, one line.

Every profile is idempotent and leaves the Tifinagh letters U+2D30-U+2D7F unchanged.

Example::

    >>> normalize("كـــبير  بزاااف\u200f")
    'كبير بزاااف'
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

TABLES = Path(__file__).parent / "tables"
PROFILES = ("train", "match")


def read_table(name: str) -> dict[int, str]:
    """Read ``tables/<name>.tsv`` into a ``str.translate`` table (empty target = delete)."""
    table: dict[int, str] = {}
    for line in (TABLES / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        src, dst = line.split("\t")[:2]
        table[int(src[2:], 16)] = "".join(chr(int(cp[2:], 16)) for cp in dst.split())
    return table


@cache
def _table(*names: str) -> dict[int, str]:
    merged: dict[int, str] = {}
    for name in names:
        merged.update(read_table(name))
    return merged


def _char_class(table: dict[int, str | None]) -> re.Pattern:
    """A regex matching any key of a translate table (escaped, one character class)."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")


@cache
def _table_gate(*names: str) -> re.Pattern:
    return _char_class(_table(*names))


@cache
def _first_gate(*names: str) -> re.Pattern:
    """Any character that one of normalize's first steps or the tables ``names`` acts on: a lone surrogate, a
    control (:data:`_CONTROL`), U+00C0-U+00FF (what both tests of :func:`repair_mojibake` need), a table key.
    A text with none of them goes through all those steps unchanged, so one search settles the five."""
    keys = set(_CONTROL) | set(_table(*names)) | set(range(0xC0, 0x100))
    return re.compile("[\ud800-\udfff" + _PRESENTATION_RANGES + "".join(re.escape(chr(c)) for c in sorted(keys))
                      + "]")


# Arabic presentation forms: letters in their contextual shapes and ligatures (ﻻ ﷲ ﷺ), encoded for display; PDF
# extraction and old software leave them in text. Each is folded to what it stands for: its NFKC (applied to
# these characters only, never to a whole text: NFKC rewrites Tifinagh ⵯ), without the space that NFKC puts
# before the isolated forms of a haraka (U+FE70, U+FC5E...), so the mark stays on its letter.
_PRESENTATION_RANGES = "\ufb50-\ufdff\ufe70-\ufefe"
_PRESENTATION = re.compile(f"[{_PRESENTATION_RANGES}]")


@cache
def _presentation_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in (*range(0xFB50, 0xFE00), *range(0xFE70, 0xFEFF)):
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char)
        if folded != char:
            table[code] = folded[1:] if folded[0] == " " and len(folded) > 1 and not folded[1].isalpha() else folded
    return table


def _translate(text: str, table: dict, gate: re.Pattern) -> str:
    """``text.translate(table)``, skipped when no character of the table occurs: ``str.translate`` on
    non-ASCII text does a dict lookup per character (~12 MB/s), a character-class search runs ~10x faster
    and most text has nothing to change. Longer texts go through :func:`_translate_array` (same result)."""
    if not gate.search(text):
        return text
    if len(text) >= _NUMPY_MIN_CHARS:
        array = _ARRAYS.get(id(table), False)
        if array is False:
            array = _ARRAYS[id(table)] = _table_array(table)
        if array is not None:
            return _translate_array(text, array)
    return text.translate(table)


_NUMPY_MIN_CHARS = 256  # below it numpy's fixed cost per call outweighs str.translate's per-character lookups
_DELETED = 0xFFFFFFFF  # not a code point: marks the characters a table deletes
_ARRAYS: dict = {}  # id(table) -> its _table_array; the tables are module constants or cached, never freed


def _table_array(table: dict[int, str | None]):
    """The translate table as a numpy lookup (code point -> code point or ``_DELETED``); ``None`` when a target
    is longer than one character (then ``str.translate`` does it)."""
    import numpy as np

    if any(v is not None and len(v) > 1 for v in table.values()):
        return None
    array = np.arange(max(table) + 1, dtype=np.uint32)
    for src, dst in table.items():
        array[src] = ord(dst) if dst else _DELETED
    return array


def _code_points(text: str):
    import numpy as np

    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _from_code_points(cps) -> str:
    return cps.tobytes().decode("utf-32-le", "surrogatepass")


def _translate_array(text: str, array) -> str:
    """``str.translate`` over the code points in numpy (for 1:1 and deleting tables); ~5x faster on long text."""
    import numpy as np

    cps = _code_points(text)
    inside = cps < len(array)
    out = np.where(inside, array[np.where(inside, cps, 0)], cps)
    return _from_code_points(out[out != _DELETED] if (out == _DELETED).any() else out)


# C0/C1 controls except tab and newline; lone surrogates; noncharacters U+FFFE/U+FFFF.
_CONTROL = {c: None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0),
                              0xFFFE, 0xFFFF)}
_CONTROL[0x0D] = "\n"  # CR / CRLF -> LF (CRLF becomes "\n\n", squeezed later)
_CONTROL[0x2028] = "\n"  # LINE SEPARATOR
_CONTROL[0x2029] = "\n"  # PARAGRAPH SEPARATOR
_CONTROL_GATE = _char_class(_CONTROL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ZWJ = "\u200d"
_TFNG = "\u2d30-\u2d7f"
_ZWJ_OUTSIDE_TIFINAGH = re.compile(f"(?<![{_TFNG}]){_ZWJ}+|{_ZWJ}+(?![{_TFNG}])")
# Runs of horizontal space other than a lone " " (replacing every lone space by itself costs time).
_HSPACE = re.compile(r"(?: [^\S\n]|[^\S\n ])[^\S\n]*")
_LINE_EDGES = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"(?: \s|[^\S ])\s*")  # runs of whitespace other than a lone " "
# A word holding a Greek ε/γ/Γ and at least one Latin letter (ASCII or the Amazigh/IPA additions).
_LATIN_CHARS = "A-Za-z\u00c0-\u024f\u0250-\u02af\u1e00-\u1eff"
_GREEK_IN_LATIN = re.compile(f"[^\\s]*[{_LATIN_CHARS}][^\\s]*")
_GREEK_LOOKALIKE = re.compile("[\u03b5\u03b3\u0393]")
# A lone γ (Tashelhit's preposition "ɣ" typed as Greek), and any other Greek letter.
_GREEK_ONLY_WORD = re.compile("(?<!\\S)[\u03b3\u0393](?!\\S)")  # not a lone ε: no such word
_OTHER_GREEK = re.compile("[\u0370-\u0392\u0394-\u03b2\u03b4\u03b6-\u03ff]")
_ANY_LATIN = re.compile(f"[{_LATIN_CHARS}]")
# Cheap gate for mojibake: UTF-8 read as cp1252/latin-1 shows these lead characters.
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00c3\u00d8\u00d9\u00db\u00e2][\u0080-\u00bf\u0152-\u2122]")
_CP1256_HINT = re.compile("[\u00c0-\u00ff]")
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))


def decode_bytes(data: bytes) -> str:
    """Decode bytes: UTF-8 if valid; UTF-8 with U+FFFD at the bad bytes when it is damaged UTF-8 (a stray or
    cut byte: valid multi-byte sequences make most of its non-ASCII bytes, or only its last character is cut);
    else Windows-1256 when it yields Arabic, else cp1252.

    Example::

        >>> decode_bytes("سلام".encode("cp1256"))
        'سلام'
        >>> decode_bytes("سلام".encode() + b" \\xff") == "سلام \\ufffd"
        True
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"decode_bytes() argument 'data' must be bytes, not {type(data).__name__}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        cut_at_end = e.reason == "unexpected end of data"  # the first bad byte starts a character cut at the end
    arabic = data.decode("cp1256", errors="replace")
    letters = [c for c in arabic if c.isalpha()]
    is_arabic = bool(letters) and sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters) > 0.5
    # Arabic in cp1256 and French in cp1252 make almost no valid multi-byte UTF-8 sequence (at most a letter
    # before ؟ or ،: "لا؟" is 2 of 3 bytes): where such sequences make most of the non-ASCII bytes (half of them
    # when the bytes are not Arabic in cp1256), the bytes are UTF-8 with a few bad ones
    multi = sum(map(len, re.findall(
        rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
        rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}", data)))
    high = len(data) - len(bytes(data).translate(None, bytes(range(0x80, 0x100))))
    if multi and (cut_at_end or multi >= 0.75 * high or (2 * multi >= high and not is_arabic)):
        return data.decode("utf-8", errors="replace")
    return arabic if is_arabic else data.decode("cp1252", errors="replace")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 (via ftfy) and Windows-1256-read-as-cp1252 damage; else return ``text``.

    Example::

        >>> repair_mojibake("Ø³Ù„Ø§Ù…")
        'سلام'
    """
    if _MOJIBAKE_HINT.search(text):
        import ftfy  # imported lazily: only damaged text pays for it

        fixed = ftfy.fix_text(text, unescape_html=False, uncurl_quotes=False, fix_latin_ligatures=False,
                              fix_character_width=False, fix_line_breaks=False, remove_terminal_escapes=False,
                              normalization="NFC", explain=False)
        if fixed != text:
            return fixed
    # Arabic typed in Windows-1256 and read as cp1252 is mostly accented Latin letters, no Arabic at all.
    hits = len(_CP1256_HINT.findall(text))
    # the ASCII letters (counted in C) are letters too: text with many of them (French) never gets here
    ascii_text = text.encode("ascii", "ignore") if hits >= 4 else b""
    if hits >= 4 and hits > 0.5 * (len(ascii_text) - len(ascii_text.translate(None, _ASCII_LETTERS))) \
            and hits > 0.5 * sum(c.isalpha() for c in text):
        try:
            candidate = text.encode("cp1252").decode("cp1256")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text
        letters = [c for c in candidate if c.isalpha()]
        if letters and sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters) > 0.8:
            return candidate
    return text


def _greek_lookalikes(text: str) -> str:
    """Greek ε γ Γ typed for the Amazigh ɛ ɣ inside Latin words, and a standalone γ when the text is Latin and
    holds no real Greek."""
    text = _GREEK_IN_LATIN.sub(_fix_greek, text)
    if _GREEK_ONLY_WORD.search(text) and _ANY_LATIN.search(text) and not _OTHER_GREEK.search(text):
        text = _GREEK_ONLY_WORD.sub(lambda m: m.group(0).translate(_table("amazigh_latin")), text)
    return text


def _fix_greek(match: re.Match) -> str:
    word = match.group(0)
    if _GREEK_LOOKALIKE.search(word):
        return word.translate(_table("amazigh_latin"))
    return word


def normalize(text: str | bytes, profile: str = "train", *, unify_g: bool | None = None,
              strip_diacritics: bool | None = None, ascii_digits: bool | None = None,
              newlines: str | None = None, repair: bool = True, remember: bool = False) -> str:
    """Normalize ``text`` with a named profile (``train`` or ``match``); options override the profile.

    Never raises on a string (lone surrogates and controls are dropped); bytes are decoded with
    :func:`decode_bytes`; anything else (``None``, a number) is a ``TypeError``. ``remember`` (the corpus
    normalize step): remember the output of a default ``train`` run, so that normalizing that very text
    object again (langid, the match text) skips the steps proven to change nothing on it (:func:`_known_clean`).

    Example::

        >>> normalize("أنا ڭالس فالدار", profile="match")
        'انا ڭالس فالدار'
    """
    if not isinstance(text, str):
        if not isinstance(text, bytes | bytearray):
            raise TypeError(f"normalize() argument 'text' must be str or bytes, not {type(text).__name__}")
        text = decode_bytes(text)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    match = profile == "match"
    unify_g = match if unify_g is None else unify_g
    strip_diacritics = match if strip_diacritics is None else strip_diacritics
    ascii_digits = match if ascii_digits is None else ascii_digits
    newlines = ("space" if match else "keep") if newlines is None else newlines
    if newlines not in ("keep", "space"):
        raise ValueError(f"newlines must be 'keep' or 'space', not {newlines!r}")

    names = ["bidi_controls", "zero_width", "tatweel", "arabic_lookalikes"]
    if unify_g:
        names.append("darija_g")
    if strip_diacritics:
        names.append("arabic_diacritics")
    if ascii_digits:
        names.append("digits")
    if match:
        names.append("arabic_match")
    table, gate = _table(*names), _table_gate(*names)
    clean = _known_clean(text, repair)
    untouched = False  # no character the first steps or the tables act on: the first table round is a no-op
    if not clean and not _first_gate(*names).search(text):  # most text: one search instead of five
        untouched = unicodedata.is_normalized("NFC", text)
        if not untouched:
            text = unicodedata.normalize("NFC", text)
    elif not clean:
        if _SURROGATE.search(text):
            text = _SURROGATE.sub("", text)
        text = _translate(text, _CONTROL, _CONTROL_GATE)
        if repair:
            repaired = repair_mojibake(text)
            remember = remember and repaired is text
            text = repaired
        if _PRESENTATION.search(text):
            text = text.translate(_presentation_table())
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
    # A known clean text is at the fixed point of the train tables (see _known_clean): only new tables can act.
    fixed_point = clean and len(names) == 4
    for _ in range(0 if fixed_point else 3):
        # Deleting tatweel or zero-width characters can bring marks together that NFC then reorders or
        # composes (ـ between shadda and fatha; ا ZWNJ ٕ → إ), and a composed letter can be a look-alike the
        # tables map: repeat until nothing changes, so that the profile is idempotent.
        before = text
        if not untouched:
            text = _translate(text, table, gate)
        untouched = False
        if _ZWJ in text:
            text = _ZWJ_OUTSIDE_TIFINAGH.sub("", text)
        if text is before or text == before or unicodedata.is_normalized("NFC", text):
            break
        text = unicodedata.normalize("NFC", text)
    else:
        remember = False  # three rounds without a fixed point (the last NFC may have made a table character)
    if "\u03b5" in text or "\u03b3" in text or "\u0393" in text:
        text = _greek_lookalikes(text)
    if match:
        text = _match_fold(text)
        if "\u03b5" in text or "\u03b3" in text:  # the fold drops marks: "γٔ" becomes a lone γ only now
            text = _greek_lookalikes(text)
    elif fixed_point:
        # Only non-space characters changed since this text's run collapsed it with the line breaks kept: its
        # spaces are single, between words, and one or two line breaks separate lines (no space at their edges).
        return text.replace("\n\n", " ").replace("\n", " ") if newlines == "space" else text
    text = _collapse_spaces(text, newlines == "space")
    if remember and not match and repair and len(names) == 4 and newlines == "keep" and not clean:
        _remember(text)
    return text


# Outputs of `normalize(..., remember=True)` (default train profile) whose run is known to have left them clean:
# id -> the text itself (held alive, so that an id is never another object's). Bounded (the documents between
# the normalize step and the match text are a few batches), oldest out first.
_CLEAN: dict[int, str] = {}
_CLEAN_MAX, _CLEAN_MAX_CHARS = 1024, 4_000_000
_CLEAN_CHARS = [0]  # characters held by _CLEAN
_CHECKED: dict[int, str] = {}  # the texts of _CLEAN that _known_clean checked with repair (same keys, a subset)
_LATIN1_LETTERS = re.compile("[\u00c0-\u00ff]")  # every character either repair_mojibake test needs is one


def _remember(text: str) -> None:
    if len(text) > _CLEAN_MAX_CHARS or id(text) in _CLEAN:
        return
    while _CLEAN and (len(_CLEAN) >= _CLEAN_MAX or _CLEAN_CHARS[0] + len(text) > _CLEAN_MAX_CHARS):
        oldest = next(iter(_CLEAN))
        _CHECKED.pop(oldest, None)
        _CLEAN_CHARS[0] -= len(_CLEAN.pop(oldest))
    _CLEAN[id(text)] = text
    _CLEAN_CHARS[0] += len(text)


def _known_clean(text: str, repair: bool) -> bool:
    """Whether ``text`` is a remembered train output on which the first steps of :func:`normalize` change nothing.

    Its run dropped surrogates and controls, and repair_mojibake changed nothing, so no later step could bring
    them back (NFC, the tables, the Greek fix and the space collapse never output one: tested); the table loop
    ended at a fixed point (no table character, no ZWJ outside Tifinagh) and the Greek fix and the collapse add
    none. Two things are not proven and so are checked: NFC (cheap) and that repair_mojibake changes nothing
    now (deleting a zero-width character or composing a letter can make a new mojibake hint): both of its
    tests need a character U+00C0-U+00FF, which most text lacks. Example: ``_known_clean("salam", True)`` →
    ``False`` (never remembered)."""
    if _CLEAN.get(id(text)) is not text:
        return False
    if _CHECKED.get(id(text)) is text:  # an earlier call (langid's) checked both on this very text object
        return True
    if not unicodedata.is_normalized("NFC", text):
        return False
    if not repair:
        return True
    ok = text.isascii() or not _LATIN1_LETTERS.search(text) or repair_mojibake(text) == text
    if ok:
        _CHECKED[id(text)] = text
    return ok


def _collapse_spaces(text: str, one_line: bool) -> str:
    """Whitespace runs to one space (``one_line``: line breaks too), spaces at line ends off, blank lines
    squeezed, stripped. ``str.split()`` splits on exactly the characters ``\\s`` matches and runs in C: the same
    result as the regexes ``_ANY_SPACE`` / ``_HSPACE`` + ``_LINE_EDGES`` + ``_BLANK_LINES`` (tested against
    them), ~2x faster. Example: ``_collapse_spaces(" a \\t b \\n\\n\\n c ", False)`` → ``'a b\\n\\nc'``."""
    if _collapsed(text, one_line):
        return text  # most text (a source's, or one this function wrote): nothing to do, and no copy
    if one_line or "\n" not in text:
        return " ".join(text.split())
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


_OTHER_SPACE = re.compile(r"[^\S \n]")  # whitespace other than " " and a line break (what str.split splits on)


def _collapsed(text: str, one_line: bool) -> bool:
    """Whether :func:`_collapse_spaces` leaves ``text`` as it is: its whitespace is single spaces between other
    characters, and (unless ``one_line``) one or two line breaks without spaces at their edges. Substring
    searches in C and one character-class search, about 3x cheaper than splitting and joining every line.
    Example: ``_collapsed("a b\\n\\nc", False)`` → ``True``; ``_collapsed("a  b", False)`` → ``False``."""
    if not text or text[0] in " \n" or text[-1] in " \n" or "  " in text:
        return not text
    if "\n" in text and (one_line or " \n" in text or "\n " in text or "\n\n\n" in text):
        return False
    return not _OTHER_SPACE.search(text)


MARKS_PUNCTUATION_FILE = TABLES / "marks_punctuation.ranges"


def scan_marks_and_punctuation() -> list[tuple[int, int]]:
    """The code point ranges ``(first, last)`` of every combining mark (M*) and punctuation (P*) outside the
    Tifinagh block, from a scan of all of Unicode with this Python's ``unicodedata`` (about 0.5 s)."""
    ranges: list[list[int]] = []
    for cp in range(0x110000):
        if not 0x2D30 <= cp <= 0x2D7F and unicodedata.category(chr(cp))[0] in "MP":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return [(a, b) for a, b in ranges]


def write_marks_punctuation_file(path: Path = MARKS_PUNCTUATION_FILE) -> None:
    """Write :func:`scan_marks_and_punctuation` to ``path`` for this ``unicodedata`` version (run once per Unicode
    version: ``python -c "from jazari_nlp.text.normalize import write_marks_punctuation_file as w; w()"``)."""
    lines = [f"# unicodedata {unicodedata.unidata_version}: marks (M*) and punctuation (P*) outside Tifinagh, "
             "first<TAB>last code point; written by normalize.write_marks_punctuation_file"]
    lines += [f"{a:04X}\t{b:04X}" for a, b in scan_marks_and_punctuation()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@cache
def _marks_and_punctuation_ranges() -> tuple[tuple[int, int], ...]:
    """:func:`scan_marks_and_punctuation`, read from the shipped file when it was written with this Python's
    Unicode version (every process of a build needs it: reading takes ~1 ms, the scan ~0.5 s); else scanned."""
    try:
        head, *rows = MARKS_PUNCTUATION_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        head, rows = "", []
    if head.startswith(f"# unicodedata {unicodedata.unidata_version}:"):
        return tuple((int(a, 16), int(b, 16)) for a, b in (row.split("\t") for row in rows if row))
    return tuple(scan_marks_and_punctuation())


@cache
def _marks_and_punctuation() -> dict[int, None]:
    """A ``str.translate`` table deleting every combining mark (M*) and punctuation (P*) code point outside the
    Tifinagh block, so that folding runs in C, not a Python loop."""
    return dict.fromkeys((cp for a, b in _marks_and_punctuation_ranges() for cp in range(a, b + 1)), None)


@cache
def _marks_and_punctuation_mask():
    import numpy as np

    keep = np.ones(0x110000, dtype=bool)
    for a, b in _marks_and_punctuation_ranges():
        keep[a:b + 1] = False
    return keep


def _drop_marks_and_punctuation(text: str) -> str:
    """``text.translate(_marks_and_punctuation())``; on longer texts over the code points in numpy (str.translate
    looks every non-ASCII character up in the dict: measured ~2x slower on the benchmark's documents)."""
    if len(text) < _NUMPY_MIN_CHARS:
        return text.translate(_marks_and_punctuation())
    cps = _code_points(text)
    return _from_code_points(cps[_marks_and_punctuation_mask()[cps]])


def _match_fold(text: str) -> str:
    """Case fold, drop combining marks and punctuation (the whole Tifinagh block, incl. the consonant joiner
    U+2D7F and the separator mark U+2D70, is kept)."""
    text = _drop_marks_and_punctuation(unicodedata.normalize("NFD", text.casefold()))
    # Decomposition can expose look-alikes again (e.g. ۂ -> ہ + hamza); re-apply the tables.
    names = ("arabic_lookalikes", "darija_g", "arabic_match")
    text = _translate(unicodedata.normalize("NFC", text), _table(*names), _table_gate(*names))
    return text


__all__ = ["normalize", "decode_bytes", "repair_mojibake", "read_table", "PROFILES", "scan_marks_and_punctuation",
           "write_marks_punctuation_file"]
