"""Arabizi (Darija in Latin script) <-> Arabic-script Darija.

Latin -> Arabic, in the spelling of DODa (Darija Open Dataset) and common Arabizi: a lexicon of words whose
spelling the rules cannot guess (``tables/arabizi_lexicon.tsv``) first, then rules read left to right,
longest match first:

- digits that are letters (3 ع, 5 خ, 7 ح, 9 ق, 8 ه or غ with ``eight``; 2 is the hamza, written on the seat
  DODa gives it: ``2ana`` أنا, ``ma2`` ماء, ``khaTi2`` خاطئ), digraphs (kh gh ch sh, 3' 7');
- numbers are not letters: a time, price, measure, ordinal or code (``10h30``, ``50dh``, ``5km``, ``1er``,
  ``mp3``) is kept as written, and so are the digits of a run with 0, 1 or 6 in a word (``le360``);
- capitals are the emphatics (S ص, D ض, T ط) wherever they stand, even first (``Tbib`` طبيب): DODa and most
  Arabizi writers never capitalize a sentence start; a word in capitals only (``SALAM``) is read in lower case,
  and a capitalized lexicon word (``Salam``) is that word;
- a word-initial ``l`` is a letter, not the article (``lbes`` لبس, ``lkas`` لكاس, as DODa writes words); a
  doubled first sun letter is the assimilated article (``ddar`` الدار), and after ``l`` or it a final ``-a``
  is the feminine ة (``lmdrsa`` لمدرسة);
- vowels: ``a`` -> ا (first: أ; a first ``aa`` is عا), ``i`` -> ي (first: إ), ``o``/``u``/``ou`` -> و
  (a first ``o`` is أ, a first ``ou`` و), ``e`` is a schwa and is not written; ``i`` ``o`` ``u`` before a doubled consonant are short and not written
  (``7obb`` حب, ``kiddab`` كداب), before two different consonants they are (``firma`` فيرما); doubled letters
  are written once (no shadda).

French and English words stay in Latin script: the words of ``tables/foreign_words.tsv`` and accented words;
with ``use_model``, in a text with two or more of those, also the words the test :func:`looks_foreign` finds
(``-tion``, ``-ment``, ``eau``...) or with a silent final ``-e`` (``voiture``). Alone among Darija words such a
word is a loanword and is written in Arabic script, as DODa does. The test is this module's own: it does not
import the language identifier (which imports :func:`foreign_words` from here), so there is no import circle.

Arabic -> Latin: the lexicon reversed, then one Latin spelling per letter in the DODa convention
(ح 7, ع 3, ق 9, خ kh, ش ch, ص S, ض D, ط T) with vowels guessed from و and ي.

Example::

    >>> transliterate("salam, kidayr? bghit chi haja zwina")
    'سلام، كيداير؟ بغيت شي حاجة زوينة'
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

_DIGRAPHS = {"kh": "خ", "gh": "غ", "ch": "ش", "sh": "ش", "3'": "غ", "7'": "خ"}
_LONG_VOWELS = {"aa": "a", "ou": "o", "oo": "o", "ii": "i", "ee": "i"}
_CONSONANTS = {"b": "ب", "t": "ت", "j": "ج", "d": "د", "r": "ر", "z": "ز", "s": "س", "f": "ف", "q": "ق",
               "k": "ك", "l": "ل", "m": "م", "n": "ن", "h": "ه", "w": "و", "y": "ي", "g": "ڭ", "v": "ڤ",
               "p": "پ", "x": "ش", "c": "ك", "D": "ض", "S": "ص", "T": "ط", "Z": "ظ", "H": "ح",
               "3": "ع", "5": "خ", "7": "ح", "9": "ق", "2": "ء"}
_EMPHATICS = set("DSTZH")
_FIRST_VOWEL = {"a": "أ", "i": "إ", "o": "أ", "e": "إ", "A": "عا", "I": "إي", "O": "و"}
_LAST_VOWEL = {"a": "ا", "i": "ي", "o": "و", "e": ""}
_MID_VOWEL = {"a": "ا", "i": "ي", "o": "و", "e": ""}
# French/English spellings that Arabizi does not produce (on DODa's Darija words they match only loanwords)
_FOREIGN_SHAPE = re.compile(r"(?:tion|sion|ment|ique|isme|iste|eur|eux|euse|ette|ance|ence|able|ible|ing|ould|"
                            r"ture)s?$|eau|^(?:qu|ph|wh)")
# l + consonant, or a doubled sun letter (the assimilated article), then at least two more letters
_NOUN_WITH_ARTICLE = re.compile(r"(?:l(?![aeiouyl])|tt|dd|rr|zz|ss|SS|DD|TT|nn|ll|chch|jj)\w{2,}a$")
_SILENT_E = re.compile(r"[^aeiou3579]e[s]?$")

# Numbers are not Arabizi letters. A token that is a number with a unit (50dh, 2,5kg, 100km/h), a time (10h30),
# an ordinal (1er, 2eme) or a code (mp3, h24, 4g) stays exactly as written. A lone digit that is also a letter
# (2 3 4 5 7 8 9; 4 is غ for some writers) takes only the units that make no Darija word after it: 3nd عند,
# 3an عن, 7da حدا, 3rd عرض, 8ml همل, 3mm عم are words, 5km and 2m are not (3m عم and 7km حكم are). Measured on
# every Latin token of DODa and the AfriSenti tweets (tests/test_arabizi_numbers.py).
_W = r"A-Za-z0-9'\u00c0-\u024f"
_UNIT = (r"(?:k?m[23]?|[cm]m[23]?|k?g|mg|[mc]l|h|min|mn|s|sec|ms|j|jrs|jours?|ans?|mois|dhs?|drh|mad|eur|euros?|"
         r"usd|k|mi?ll?ions?|[kmg][bo]|[kmgt]bps|[kmg]?hz|k?wh?|v|mah|mp|px|p|fps|cv|cc|pts?|x)")
_ORDINAL = r"(?:i?[eè]re?s?|re|[eè]|i?[eè]mes?|nd|rd|st|th)"
_LETTER_UNIT = r"(?:k[mg]|cm|g|m|h|min|mn|j|jours?|ans|mois|dhs?|drh|mad|euros?|k|[mg]b|go|[eè]|i?[eè]mes?|th)"
_NUMBER_TOKEN = re.compile(  # one capturing group: re.split keeps the numbers
    rf"((?<![{_W}])(?:"
    rf"(?:\d{{2,}}|[016]|\d(?=[.,]\d))(?:[.,]\d+)*(?:{_UNIT}(?:/{_UNIT})?|{_ORDINAL})?"  # 2024 10dh 2,5kg 1er
    rf"|(?!(?:3m|7km)(?![{_W}]))[2-57-9]{_LETTER_UNIT}(?:/{_UNIT})?"  # 5km 2m 3h 2eme
    rf"|\d{{1,2}}h\d\d(?:min|mn)?|mp[34]|h24|[2-5]g|[48]k|ps[1-5]|covid19|\d+x\d+|2nd"  # 23h59 mp3 4x4
    rf")(?![{_W}]))", re.IGNORECASE)
# 0 1 6 are no Moroccan Arabizi letter: in a word, a run of digits with one of them is a number (le360)
_DIGIT_RUN_NUMBER = re.compile(r"\d*[016]\d*")
_DIGIT = re.compile(r"\d")
_CURLY_AFTER_DIGIT = re.compile("(?<=[37])[\u2019\u02bc](?=[A-Za-z])")
_DIGITS = re.compile(r"\d+")


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[str, str]]:
    to_arab: dict[str, str] = {}
    to_latn: dict[str, str] = {}
    for line in (TABLES / "arabizi_lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        arab, *latins = [c for c in line.split("\t") if c]
        for latin in latins:
            to_arab.setdefault(latin, arab)
        to_latn.setdefault(arab, latins[0])
    return to_arab, to_latn


def _lookup(word: str) -> str | None:
    """The lexicon's Arabic for ``word``: as written, else in lower case when only its first letter (or every
    letter) is a capital, so ``Salam`` and ``SALAM`` find ``salam`` but ``Sa7bi`` is not ``sa7bi``."""
    lexicon = _lexicon()[0]
    if word in lexicon:
        return lexicon[word]
    if word[1:] == word[1:].lower() or word.isupper():
        return lexicon.get(word.lower())
    return None


@lru_cache(maxsize=1)
def foreign_words() -> dict[str, str]:
    """Borrowed French/English words -> label (``Zyyy`` for brands), from ``tables/foreign_words.tsv``."""
    words: dict[str, str] = {}
    for line in (TABLES / "foreign_words.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, *rest = line.split("\t")
            words.update((w.lower(), label) for w in rest if w)
    return words


def _units(word: str) -> list[tuple[str, str]]:
    """``word`` as ``("C", arabic letter)`` and ``("V", a|e|i|o)`` units, longest match first; ``("V", "A")``
    etc. (upper case) for long vowels written twice (``aa``, ``ii``, ``ou``) and ``("X", char)`` for the rest."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(word)
    while i < n:
        two = word[i:i + 2]
        low2 = two.lower() if not (two[:1] in _EMPHATICS or two[1:] in _EMPHATICS) else two
        ch = word[i]
        if low2 in _DIGRAPHS:
            out.append(("C", _DIGRAPHS[low2]))
            i += 2
        elif low2 in _LONG_VOWELS:
            out.append(("V", _LONG_VOWELS[low2].upper()))
            i += 2
        elif ch.isdigit() and len(run := _DIGITS.match(word, i).group()) > 1 and _DIGIT_RUN_NUMBER.fullmatch(run):
            out.extend(("X", d) for d in run)  # a number glued to a word (le360): its digits stay digits
            i += len(run)
        elif ch == "8":
            out.append(("C", "8"))  # ه or غ: chosen when rendering
            i += 1
        elif ch in _CONSONANTS or ch.lower() in _CONSONANTS:
            out.append(("C", _CONSONANTS.get(ch) or _CONSONANTS[ch.lower()]))
            i += 1
        elif ch.lower() in "aeiou":
            out.append(("V", "o" if ch.lower() == "u" else ch.lower()))
            i += 1
        else:
            out.append(("X", "" if ch == "'" else ch))
            i += 1
    return out


def _geminate_next(units: list[tuple[str, str]], j: int) -> bool:
    """True when the two units after ``j`` are the same consonant (``kk`` in ``sokkar``)."""
    return j + 2 < len(units) and units[j + 1][0] == units[j + 2][0] == "C" and units[j + 1][1] == units[j + 2][1]


def _hamza(out: list[str], nxt: tuple[str, str], final: bool) -> int:
    """Write the hamza (Arabizi ``2``) as DODa does; return 2 when it took the vowel after it, else 1.

    At the start and before a, on alif (``2ana`` أنا, ``t2akhor`` تأخر); before e on the line (``t2ejjlo``
    تءجلو), as after a long a (``tsa2el`` تساءل, ``ma2`` ماء); after o on waw (``mo2min`` مؤمن), after i on
    ya (``khaTi2`` خاطئ), before i on ya (``fa2iza`` فائزة); ``final``: the vowel after it ends the word."""
    v = nxt[1].lower() if nxt[0] == "V" else ""
    prev = out[-1] if out else ""
    if not out:
        out.append({"i": "إ", "e": "ء"}.get(v, "أ"))
        return 2 if v else 1
    if prev in ("و", "ي") and len(out) > 1 and v in ("", "o", "i"):
        out[-1] = "ؤ" if prev == "و" else "ئ"  # the vowel before is the seat: mo2min, khaTi2
        return 2 if v else 1
    if prev == "ا" and len(out) > 1 and v in ("", "e"):
        out.append("ء")
        return 2 if v else 1
    if v == "e":
        out.append("ء")
        return 1
    seat = {"a": "أ", "i": "ئ", "o": "أ" if final else "ؤ"}.get(v, "ء")  # nch2o نشأ
    out.append(seat)
    return 2 if v else 1


def _render(units: list[tuple[str, str]], eight: str) -> str:
    out: list[str] = []
    n = len(units)
    last = max((j for j, (k, _) in enumerate(units) if k != "X"), default=-1)
    j = 0
    if n > 2 and units[0][0] == units[1][0] == "C" and units[0][1] == units[1][1] and units[0][1] != "ء":
        out.append("ال")  # a doubled first consonant is the assimilated article: ttaman التمن, DDo الضو
    while j < n:
        kind, val = units[j]
        if kind == "C" and val == "ء":
            if not (j and units[j - 1] == units[j]):  # 22 is one hamza
                j += _hamza(out, units[j + 1] if j + 1 < n else ("", ""), j + 1 == last) - 1
            j += 1
            continue
        if kind == "C":
            # a doubled consonant (gemination) is written once; one repeated after a vowel is written again
            if not (j and units[j - 1] == units[j]):
                out.append(eight if val == "8" else val)
        elif kind == "V":
            v, long_ = val.lower(), val.isupper()
            if not out:
                letter = _FIRST_VOWEL[val]
            elif long_:
                letter = _MID_VOWEL[v] or "ي"
            elif j == last:
                letter = _LAST_VOWEL[v]
            elif v in "io" and _geminate_next(units, j) or units[j + 1] == ("C", _MID_VOWEL[v]):
                letter = ""  # not written before a doubled consonant (sokkar سكر) or its own glide (zawiya زاوية)
            else:
                letter = _MID_VOWEL[v]
            if letter and not (letter == "ا" and out and out[-1] in ("ا", "أ", "آ")):
                out.append(letter)
        else:
            out.append(val)
        j += 1
    return "".join(out)


def latin_word_to_arabic(word: str, eight: str = "ه") -> str:
    """One Arabizi word in Arabic script: the lexicon, else the rules.

    Example::

        >>> latin_word_to_arabic("Tbib")
        'طبيب'
    """
    found = _lookup(word)
    if found is not None:
        return found
    if len(word) > 1 and word.isupper():
        word = word.lower()  # shouting, not emphatics
    elif word[:1].isupper() and word[:1] not in _EMPHATICS:
        word = word[0].lower() + word[1:]
    out = _render(_units(word), eight)
    if out.endswith("ا") and _NOUN_WITH_ARTICLE.match(word) and not word.endswith(("aa", "na", "ha")):
        out = out[:-1] + "ة"  # the article marks a noun, and a noun's final -a is the feminine ة: lkhdma لخدمة
    return out


def looks_foreign(word: str) -> bool:
    """True when ``word`` is spelled as French or English and never as Arabizi (``-tion``, ``-ment``, ``eau``,
    ``qu-``...): what ``transliterate(use_model=True)`` adds to the word table in a text that has French or
    English words in it.

    Example::

        >>> looks_foreign("information"), looks_foreign("m3lomat")
        (True, False)
    """
    low = word.lower()
    return len(low) >= 4 and low.isalpha() and low.isascii() and bool(_FOREIGN_SHAPE.search(low))


def _is_foreign(word: str, use_model: bool, french_context: bool) -> bool:
    low = word.lower()
    if _lookup(word) is not None:
        return False
    if low in foreign_words() or _ACCENTED.search(word):
        return True
    if not (use_model and french_context) or any(c.isdigit() or c in _EMPHATICS for c in word):
        return False
    # Among other French/English words, a French spelling or a silent final -e (voiture, ecole) is French too;
    # alone in Darija it is a loanword, written in Arabic script as DODa does (bureau بيرو)
    return looks_foreign(word) or (len(low) >= 4 and bool(_SILENT_E.search(low)))


def latin_to_arabic(text: str, eight: str = "ه", keep_foreign: bool = True, use_model: bool = True) -> str:
    """Arabizi text to Arabic script; non-word characters (punctuation, emoji) are kept, ``?`` ``,`` ``;``
    become ``؟`` ``،`` ``؛``."""
    words = _LATN_WORD.findall(text)
    table = foreign_words()
    french = sum(w.lower() in table or bool(_ACCENTED.search(w)) for w in words) >= 2

    def repl(m: re.Match) -> str:
        word = m.group(0)
        if not _HAS_LETTER.search(word):
            return word  # a number stays a number
        if keep_foreign and _is_foreign(word, use_model, french):
            return word
        return latin_word_to_arabic(word, eight)

    punct = str.maketrans({"?": "؟", ",": "،", ";": "؛"})
    # numbers with units, times, ordinals and codes (the odd parts) are kept as written, their commas too (2,5kg)
    parts = _NUMBER_TOKEN.split(text) if _DIGIT.search(text) else [text]
    return "".join(part if k % 2 else _LATN_WORD.sub(repl, part).translate(punct) for k, part in enumerate(parts))


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
    Latin), ``use_model`` (in a text with French/English words, also keep the words
    :func:`looks_foreign` finds; never used on a lone word), ``emphatic_caps`` (ص ض ط -> S D T).

    Example::

        >>> transliterate("واش نتا مزيان", source="ary_Arab", target="ary_Latn")
        'wach nta mzyan'
    """
    from jazari_nlp.text.registry import canonical_code

    if not isinstance(text, str):
        raise TypeError(f"transliterate() argument 'text' must be str, not {type(text).__name__}")
    if eight not in ("ه", "غ"):
        raise ValueError(f"transliterate(): eight must be 'ه' or 'غ' (what the Arabizi 8 stands for), not {eight!r}")
    src, tgt = canonical_code(source), canonical_code(target)
    if src == tgt:
        return text
    if (src, tgt) == ("ary_Latn", "ary_Arab"):
        if "\u2019" in text or "\u02bc" in text:  # phone keyboards type 3’ 7’ (the digraphs of غ خ) with ’
            text = _CURLY_AFTER_DIGIT.sub("'", text)
        return latin_to_arabic(text, eight=eight, keep_foreign=keep_foreign, use_model=use_model)
    if (src, tgt) == ("ary_Arab", "ary_Latn"):
        return arabic_to_latin(text, emphatic_caps=emphatic_caps)
    raise ValueError(f"no transliteration from {src} to {tgt} (supported: ary_Latn <-> ary_Arab)")


__all__ = ["transliterate", "latin_to_arabic", "arabic_to_latin", "latin_word_to_arabic", "arabic_word_to_latin",
           "foreign_words", "looks_foreign"]
