"""Arabizi (Darija in Latin script) <-> Arabic-script Darija.

Latin -> Arabic: a lexicon of frequent words (``tables/arabizi_lexicon.tsv``) first, then rules read left to
right, longest match first: digits that are letters (2 ء, 3 ع, 5 خ, 7 ح, 9 ق, 8 ه or غ with ``eight``),
digraphs (kh gh ch sh dj ou), capitals for emphatics (D ض, S ص, T ط), the article (word-initial ``l`` +
consonant -> ال), vowels (``a`` -> ا, ``e`` is a schwa and dropped except word-initially, ``i`` -> ي,
``o``/``u`` -> و) and doubled letters written once. French and English words stay in Latin script
(``tables/foreign_words.tsv``, accents, and the language model when ``use_model``).

Arabic -> Latin: the lexicon reversed, then one Latin spelling per letter in the DODa convention
(ح 7, ع 3, ق 9, خ kh, ش ch, ص S, ض D, ط T) with vowels guessed from و and ي.

Example::

    >>> transliterate("wach nta mzyan? 3afak jib lkhobz")
    'واش نتا مزيان؟ عافاك جيب الخبز'
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

TABLES = Path(__file__).parent / "tables"
_LATN_WORD = re.compile(r"[A-Za-z0-9'\u00c0-\u024f]+")
_ARAB_WORD = re.compile(r"[\u0621-\u064a\u0671-\u06d3\u06ad\u0763\u06a4\u067e\u064b-\u0652]+")
_HAS_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_ACCENTED = re.compile(r"[àâçéèêëîïôûùüÿœæ]", re.IGNORECASE)

_DIGITS = {"2": "ء", "3": "ع", "5": "خ", "7": "ح", "9": "ق"}
_DIGRAPHS = {"kh": "خ", "gh": "غ", "ch": "ش", "sh": "ش", "dj": "ج", "ou": "و", "3'": "غ", "7'": "خ",
             "aa": "ا", "ee": "ي", "ii": "ي", "oo": "و", "ei": "ي", "ay": "اي", "ai": "اي"}
_CONSONANTS = {"b": "ب", "t": "ت", "j": "ج", "d": "د", "r": "ر", "z": "ز", "s": "س", "f": "ف", "q": "ق",
               "k": "ك", "l": "ل", "m": "م", "n": "ن", "h": "ه", "w": "و", "y": "ي", "g": "ڭ", "v": "ڤ",
               "p": "پ", "x": "ش", "c": "ك", "D": "ض", "S": "ص", "T": "ط", "Z": "ظ", "H": "ح"}
_VOWELS = set("aeiou")
_SUN_OR_MOON_START = set("bcdfghjklmnpqrstvwxyzDSTZH23579")


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[str, str]]:
    to_arab: dict[str, str] = {}
    to_latn: dict[str, str] = {}
    for line in (TABLES / "arabizi_lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        arab, *latins = [c for c in line.split("\t") if c]
        for latin in latins:
            to_arab.setdefault(latin.lower(), arab)
        to_latn.setdefault(arab, latins[0])
    return to_arab, to_latn


@lru_cache(maxsize=1)
def foreign_words() -> dict[str, str]:
    """Borrowed French/English words -> label (``Zyyy`` for brands), from ``tables/foreign_words.tsv``."""
    words: dict[str, str] = {}
    for line in (TABLES / "foreign_words.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, *rest = line.split("\t")
            words.update((w.lower(), label) for w in rest if w)
    return words


def latin_word_to_arabic(word: str, eight: str = "ه") -> str:
    """Rules for one Arabizi word (no lexicon).

    Example::

        >>> latin_word_to_arabic("lmghrib")
        'المغرب'
    """
    lexicon, _ = _lexicon()
    if word.lower() in lexicon:
        return lexicon[word.lower()]
    # Capitals mark emphatics only inside a word; a capitalized first letter is just a sentence start.
    if word[:1].isupper() and not any(c.isdigit() for c in word) and (len(word) == 1 or word[1:].islower()):
        word = word[0].lower() + word[1:]
    if word.isupper() and len(word) > 1:
        word = word.lower()
    out: list[str] = []
    i, n = 0, len(word)
    if n > 2 and word[0] == "l" and word[1] in _SUN_OR_MOON_START and word[1] != "l":
        out.append("ال")
        i = 1
    elif n > 2 and word[:2] == "el" and word[2] in _SUN_OR_MOON_START:
        out.append("ال")
        i = 2
    while i < n:
        two, ch = word[i:i + 2], word[i]
        low2 = two.lower() if not any(c in "DSTZH" for c in two) else two
        if low2 in _DIGRAPHS and not (low2 in ("ay", "ai") and i + 2 < n and word[i + 2] in _VOWELS):
            arab = _DIGRAPHS[low2]
            i += 2
        elif ch == "8":
            arab, i = eight, i + 1
        elif ch in _DIGITS:
            arab, i = _DIGITS[ch], i + 1
        elif ch in _CONSONANTS or ch.lower() in _CONSONANTS:
            arab, i = _CONSONANTS.get(ch, _CONSONANTS.get(ch.lower())), i + 1
        elif ch.lower() in _VOWELS:
            v = ch.lower()
            first = not out
            i += 1
            if v == "a":
                arab = "ا" if not first else "ا"
            elif v == "e":
                arab = "ا" if first else ""
            elif v in "iou" and not first and _closed(word, i):
                arab = ""  # a short vowel in a closed syllable is not written: lkhobz -> الخبز
            elif v == "i":
                arab = "ي" if not first else "إ"
            else:
                arab = "و" if not first else "أو"
        elif ch == "'":
            arab, i = "", i + 1
        else:
            arab, i = ch, i + 1
        if arab and out and arab == out[-1] and arab not in "اوي":
            continue  # doubled consonant (gemination) is written once
        if arab == "ا" and out and out[-1] == "ا":
            continue
        out.append(arab)
    return "".join(out)


def _closed(word: str, i: int) -> bool:
    """True when the two letters after position ``i`` are consonants (the syllable is closed)."""
    nxt = word[i:i + 2].lower()
    return len(nxt) == 2 and all(c not in _VOWELS and c != "'" for c in nxt) and nxt not in _DIGRAPHS


def _is_foreign(word: str, tags: dict[int, str] | None, idx: int) -> bool:
    low = word.lower()
    if low in _lexicon()[0]:
        return False
    if low in foreign_words() or _ACCENTED.search(word):
        return True
    if any(c.isdigit() for c in word):
        return False
    return bool(tags) and tags.get(idx) in ("fra_Latn", "eng_Latn", "spa_Latn") and len(word) >= 4


def latin_to_arabic(text: str, eight: str = "ه", keep_foreign: bool = True, use_model: bool = True) -> str:
    """Arabizi text to Arabic script; non-word characters (punctuation, emoji) are kept, ``?`` ``,`` ``;``
    become ``؟`` ``،`` ``؛``."""
    tags: dict[int, str] | None = None
    if keep_foreign and use_model:
        try:
            from jazari_nlp.text.langid import tag_words

            tags = {i: lab for i, (_, lab) in enumerate(tag_words(" ".join(_LATN_WORD.findall(text))))}
        except Exception:
            tags = None
    counter = iter(range(10**9))

    def repl(m: re.Match) -> str:
        word = m.group(0)
        idx = next(counter)
        if not _HAS_LETTER.search(word) and not any(c in "2357 9" for c in word[1:-1] if word[:1].isalpha()):
            if not re.search(r"[a-zA-Z]", word):
                return word  # a number stays a number
        if keep_foreign and _is_foreign(word, tags, idx):
            return word
        return latin_word_to_arabic(word, eight)

    out = _LATN_WORD.sub(repl, text)
    return out.translate(str.maketrans({"?": "؟", ",": "،", ";": "؛"}))


_ARAB_TO_LATN = {"ا": "a", "ب": "b", "ت": "t", "ث": "t", "ج": "j", "ح": "7", "خ": "kh", "د": "d", "ذ": "d",
                 "ر": "r", "ز": "z", "س": "s", "ش": "ch", "ص": "S", "ض": "D", "ط": "T", "ظ": "D", "ع": "3",
                 "غ": "gh", "ف": "f", "ق": "9", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "ء": "2",
                 "أ": "a", "إ": "i", "آ": "a", "ؤ": "2", "ئ": "2", "ة": "a", "ى": "a", "ڭ": "g", "ݣ": "g",
                 "گ": "g", "ڤ": "v", "پ": "p", "ٱ": "a", "\u064e": "a", "\u0650": "i", "\u064f": "o",
                 "\u0652": "", "\u064b": "an", "\u064c": "on", "\u064d": "in"}


def arabic_word_to_latin(word: str, emphatic_caps: bool = True) -> str:
    """Rules for one Arabic-script Darija word (DODa conventions).

    Example::

        >>> arabic_word_to_latin("المغرب")
        'lmghrb'
    """
    _, lexicon = _lexicon()
    if word in lexicon:
        return lexicon[word]
    if word.startswith("ال") and len(word) > 3:
        body, prefix = word[2:], "l"
    else:
        body, prefix = word, ""
    out: list[str] = [prefix] if prefix else []
    for i, ch in enumerate(body):
        if ch == "\u0651":  # shadda: double the previous consonant
            if out:
                out.append(out[-1])
            continue
        prev_cons = i > 0 and body[i - 1] not in "اويى"
        last = i == len(body) - 1
        if ch == "و":
            out.append("o" if prev_cons and (last or body[i + 1] not in "اويى") else "w")
        elif ch == "ي":
            out.append("i" if prev_cons and (last or body[i + 1] not in "اويى") else "y")
        else:
            out.append(_ARAB_TO_LATN.get(ch, ch))
    latin = "".join(out)
    return latin if emphatic_caps else latin.lower()


def arabic_to_latin(text: str, emphatic_caps: bool = True) -> str:
    """Arabic-script Darija to Arabizi; ``؟`` ``،`` ``؛`` become ``?`` ``,`` ``;``."""
    out = _ARAB_WORD.sub(lambda m: arabic_word_to_latin(m.group(0), emphatic_caps), text)
    return out.translate(str.maketrans({"؟": "?", "،": ",", "؛": ";"}))


def transliterate(text: str, source: str = "ary_Latn", target: str = "ary_Arab", *, eight: str = "ه",
                  keep_foreign: bool = True, use_model: bool = True, emphatic_caps: bool = True) -> str:
    """Arabizi -> Arabic script (default) or back (``source="ary_Arab", target="ary_Latn"``).

    Options: ``eight`` (``"ه"`` or ``"غ"``: what 8 stands for), ``keep_foreign`` (French/English words stay
    Latin), ``use_model`` (let the language model spot those words), ``emphatic_caps`` (ص ض ط -> S D T).

    Example::

        >>> transliterate("واش نتا مزيان", source="ary_Arab", target="ary_Latn")
        'wach nta mzyan'
    """
    from jazari_nlp.text.registry import canonical_code

    if not isinstance(text, str):
        raise TypeError(f"transliterate() argument 'text' must be str, not {type(text).__name__}")
    src, tgt = canonical_code(source), canonical_code(target)
    if src == tgt:
        return text
    if (src, tgt) == ("ary_Latn", "ary_Arab"):
        return latin_to_arabic(text, eight=eight, keep_foreign=keep_foreign, use_model=use_model)
    if (src, tgt) == ("ary_Arab", "ary_Latn"):
        return arabic_to_latin(text, emphatic_caps=emphatic_caps)
    raise ValueError(f"no transliteration from {src} to {tgt} (supported: ary_Latn <-> ary_Arab)")


__all__ = ["transliterate", "latin_to_arabic", "arabic_to_latin", "latin_word_to_arabic", "arabic_word_to_latin",
           "foreign_words"]
