"""Quality rules by document length and source kind, with thresholds per language and script.

Long documents (web pages, news, books) get the Gopher and FineWeb rules (``quality_reason``): repetition,
line structure, stopwords, 50 words at least. Short ones (posts, comments, sentences, lexicon entries,
transcript turns) get rules that fit them (``short_reason``): junk characters, link-only and spam posts,
boilerplate, a minimum length fitting the kind, one token or line repeated. ``document_reason`` picks the set:
long = the source's kind is web/news/books, or auto and the document has ``long_min_words`` words or more.

Words are whitespace tokens stripped of punctuation: script-agnostic and fast (datatrove's word tokenizers
pick an English tokenizer for bare codes, which splits Arabic and Tifinagh badly).

The shipped per-language table (FineWeb-2's thresholds, plus jazari's own rows) and stopword lists are in
:mod:`jazari_nlp.corpus.quality_table`, re-exported here.

Example::

    >>> quality_reason("ok", QualityThresholds(min_words=5), set())
    'quality_too_few_words'
    >>> document_reason("wach nta mzyan? 3ayet lia daba", QualityThresholds(), None, kind="social")
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import compress, filterfalse, repeat
from operator import not_
from typing import Any

from jazari_nlp.corpus.common import LONG_KINDS, LONG_MIN_WORDS, SOURCE_KINDS
from jazari_nlp.corpus.ngrams import _Grams, _walk, top_ngram_chars  # noqa: F401 (re-exported)
from jazari_nlp.corpus.quality_table import (  # noqa: F401 (re-exported)
    ALIASES,
    SHIPPED_TABLE,
    shipped_stopwords,
    thresholds_for,
)
from jazari_nlp.corpus.thresholds import QualityThresholds, ShortThresholds


@lru_cache(maxsize=1)
def _datatrove_find_duplicates():
    from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates

    return find_duplicates


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """datatrove's Gopher count of repeated items ``(count, characters)``, imported when first needed: this
    module loads with the config (the quality step's), and importing datatrove takes about a second.
    Most documents repeat no line or paragraph: a set (in C) shows it, and then both counts are 0."""
    if len(set(items)) == len(items):
        return 0, 0
    return _datatrove_find_duplicates()(items)


PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’…،؛؟۔–—•·"
LINE_END_PUNCT = tuple(".!?…:;\"'»”)]،؛؟۔")
SHORT_KINDS = frozenset(SOURCE_KINDS) - set(LONG_KINDS) - {"auto"}

def split_words(text: str) -> list[str]:
    """Whitespace tokens with surrounding punctuation removed (symbol-only tokens become '')."""
    return list(map(str.strip, text.split(), repeat(PUNCT)))  # in C, no Python loop


_TOKEN = re.compile(r"\S+")


def is_long(text: str, kind: str | None, long_min_words: int = LONG_MIN_WORDS) -> bool:
    """Whether a document gets the long-document rules: kind web/news/books always, social/sentences/lexicon/
    transcripts never, auto (or unknown) when it has at least ``long_min_words`` words (counted lazily).

    Example: ``is_long("salam " * 120, "auto")`` → ``True``; ``is_long("salam " * 120, "social")`` → ``False``.
    """
    if kind in LONG_KINDS:
        return True
    if kind in SHORT_KINDS or len(text) < 2 * long_min_words - 1:  # n words need 2n-1 characters
        return False
    # str.split in C for the first long_min_words tokens (most documents settle here), then token by token
    head = text.split(None, long_min_words)
    n = min(len(head), long_min_words) - list(map(str.strip, head[:long_min_words], repeat(PUNCT))).count("")
    if n >= long_min_words or len(head) <= long_min_words:
        return n >= long_min_words
    for m in _TOKEN.finditer(head[long_min_words]):
        if m.group().strip(PUNCT):
            n += 1
            if n >= long_min_words:
                return True
    return False


_LONG_ANSWERS: dict[int, tuple[str, str | None, int, bool]] = {}  # id(text) -> (text, kind, min words, answer)
_LONG_ANSWER_MAX_CHARS = 20_000  # a longer text is not kept: is_long is cheap beside its other work
_LONG_ANSWERS_MAX = 1024  # steps hand documents on in batches of at most a few hundred


def document_is_long(doc: Any, long_min_words: int = LONG_MIN_WORDS, keep: bool = True) -> bool:
    """``is_long`` of a datatrove ``Document`` (its ``source_kind`` metadata; none is auto), remembered for the
    next step that asks about the same text (langid asks first, quality last: it passes ``keep=False``, which
    takes the answer out). The answer is reused only for the very same text object, kind and word count, so
    a step that changes the text gets a fresh answer; it holds the text alive, so a lookup can't be another's.

    Example: ``document_is_long(Document(text="salam " * 120, id="1"))`` → ``True``.
    """
    text, kind = doc.text, doc.metadata.get("source_kind")
    hit = _LONG_ANSWERS.pop(id(text), None)
    if hit is not None and hit[0] is text and hit[1] == kind and hit[2] == long_min_words:
        answer = hit[3]
    else:
        answer = is_long(text, kind, long_min_words)
    if keep and len(text) <= _LONG_ANSWER_MAX_CHARS:  # bounded memory: 1,024 texts of at most 20k characters
        if len(_LONG_ANSWERS) >= _LONG_ANSWERS_MAX:
            del _LONG_ANSWERS[next(iter(_LONG_ANSWERS))]  # the oldest
        _LONG_ANSWERS[id(text)] = (text, kind, long_min_words, answer)
    return answer


def document_reason(text: str, t: QualityThresholds, stopwords: frozenset[str] | set[str] | None, *,
                    kind: str | None = "auto", long_min_words: int = LONG_MIN_WORDS) -> str | None:
    """The reason a document fails the rules of its length and kind (``quality_*``), or ``None``."""
    if is_long(text, kind, long_min_words):
        return quality_reason(text, t, stopwords)
    return short_reason(text, t.short, kind)


def count_digits(text: str) -> int:
    """``sum(c.isdigit() for c in text)`` at regex speed. Example: ``count_digits("2024 ٣ ²")`` → 6."""
    common, astral, extra = _digit_res()
    return len(common.findall(text)) + (len(extra.findall(text)) if astral.search(text) else 0)


@lru_cache(maxsize=1)
def _digit_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    r"""``_digit_re`` split for speed: (``\d`` and the other digits under U+10000, any character over U+FFFF,
    the other digits over U+FFFF). A class mixing both planes is matched item by item, about 7x slower."""
    low = re.escape("".join(c for c in _other_digits() if c <= "\uffff"))
    high = re.escape("".join(c for c in _other_digits() if c > "\uffff"))
    return re.compile(rf"[\d{low}]"), re.compile("[\U00010000-\U0010FFFF]"), re.compile(f"[{high}]")


@lru_cache(maxsize=1)
def _other_digits() -> str:
    r"""The characters ``str.isdigit`` accepts beyond ``\d`` (Unicode Nd): ², ①...

    Planes 2-16 hold no digit (checked for Python 3.11's Unicode 14), so the scan stops at U+1FFFF.
    """
    return "".join(chr(c) for c in range(0x20000) if chr(c).isdigit() and not chr(c).isdecimal())


@lru_cache(maxsize=1)
def _digit_re() -> re.Pattern[str]:
    r"""Exactly the characters ``str.isdigit`` accepts: ``\d`` (Unicode Nd) plus the other digits (², ①...)."""
    return re.compile(r"[\d" + re.escape(_other_digits()) + "]")


_STOP_HEAD = 64  # words looked at first for stopwords


def _has_alpha(token: str) -> bool:
    return token.isalpha() or any(map(str.isalpha, token))  # the first test settles most words at C speed


def _any_alpha(token: str) -> bool:
    return any(map(str.isalpha, token))


def quality_reason(text: str, t: QualityThresholds, stopwords: frozenset[str] | set[str] | None,
                   grams: tuple[list[str], _Grams] | None = None) -> str | None:
    """The long-document rules: the first failed check's reason (``quality_*``), or ``None``.
    ``stopwords=None`` skips the stopword check; ``grams``: ``split_words(text)`` and the ``_Grams`` of its
    non-empty words for ``t.dup_n_grams``, when the caller has them (the quality step, per block).

    Each statistic is computed once, only when its check is on and every earlier check passed.
    """
    if t.max_replacement_ratio is not None and text.count("\ufffd") / max(len(text), 1) > t.max_replacement_ratio:
        return "quality_replacement_chars"  # bytes no decoding could read: the text is damaged
    tokens, g = grams or (split_words(text), None)
    words = g.words if g is not None else list(filter(None, tokens))
    n = len(words)
    if t.min_words is not None and n < t.min_words:
        return "quality_too_few_words"
    if t.max_words is not None and n > t.max_words:
        return "quality_too_many_words"
    if n == 0:
        return "quality_too_few_words"
    avg = sum(map(len, words)) / n
    if t.min_avg_word_length is not None and avg < t.min_avg_word_length:
        return "quality_short_words"
    if t.max_avg_word_length is not None and avg > t.max_avg_word_length:
        return "quality_long_words"
    if t.max_symbol_word_ratio is not None:
        if text.count("#") / n > t.max_symbol_word_ratio:
            return "quality_symbol_ratio"
        if (text.count("...") + text.count("…")) / n > t.max_symbol_word_ratio:
            return "quality_symbol_ratio"
    is_alpha = list(map(str.isalpha, tokens))  # in C; only the other tokens need a letter search
    if t.max_digit_ratio is not None:
        visible = len(text) - text.count(" ") - text.count("\n")
        # letters are no digits: when the characters outside all-letter tokens can't reach the ratio, the
        # (costlier) digit count can't either
        if visible and (visible - sum(map(len, compress(tokens, is_alpha)))) / visible > t.max_digit_ratio \
                and count_digits(text) / visible > t.max_digit_ratio:
            return "quality_digit_ratio"
    if t.min_alpha_words_ratio is not None:
        alpha = sum(is_alpha)  # a lower bound that settles most documents
        if alpha / len(tokens) < t.min_alpha_words_ratio:
            alpha += sum(map(_any_alpha, compress(tokens, map(not_, is_alpha))))
            if alpha / len(tokens) < t.min_alpha_words_ratio:
                return "quality_few_alpha_words"
    if t.min_stop_words and stopwords:  # the first words usually hold enough stopwords already
        if len(stopwords.intersection(map(str.lower, words[:_STOP_HEAD]))) < t.min_stop_words \
                and len(stopwords.intersection(map(str.lower, words))) < t.min_stop_words:
            return "quality_few_stopwords"
    raw_lines = text.split("\n")
    stripped_lines = list(map(str.strip, raw_lines))  # shared by the repetition and the line checks
    if reason := _repetition_reason(text, words, t, raw_lines, stripped_lines, g):
        return reason
    lines = list(filter(None, stripped_lines))
    if lines and t.min_line_punct_ratio is not None:
        if sum(ln.endswith(LINE_END_PUNCT) for ln in lines) / len(lines) < t.min_line_punct_ratio:
            return "quality_line_punct"
    if lines and t.max_short_line_ratio is not None and len(lines) > 1:
        if sum(len(ln) <= 30 for ln in lines) / len(lines) > t.max_short_line_ratio:
            return "quality_short_lines"
    return None


_DupNgrams = _Grams  # the older name


def _repetition_reason(text: str, words: list[str], t: QualityThresholds, raw_lines: list[str] | None = None,
                       stripped_lines: list[str] | None = None, grams: _Grams | None = None) -> str | None:
    """Gopher repetition checks (Rae et al. 2021, table A1), counted like datatrove's GopherRepetitionFilter.
    ``raw_lines``/``stripped_lines``: ``text.split("\n")`` and its lines stripped, when the caller has them."""
    stripped = text.strip()
    paragraphs = stripped.split("\n\n")
    paragraphs = list(compress(paragraphs, map(str.strip, paragraphs)))
    if paragraphs:
        dup, dup_chars = find_duplicates(paragraphs)
        if t.dup_para_frac is not None and dup / len(paragraphs) > t.dup_para_frac:
            return "quality_dup_paragraphs"
        if t.dup_para_char_frac is not None and dup_chars / len(text) > t.dup_para_char_frac:
            return "quality_dup_paragraph_chars"
    if raw_lines is None or stripped_lines is None:
        raw_lines = text.split("\n")
        stripped_lines = list(map(str.strip, raw_lines))
    lines = list(compress(raw_lines, stripped_lines))
    if lines:
        dup, dup_chars = find_duplicates(lines)
        if t.dup_line_frac is not None and dup / len(lines) > t.dup_line_frac:
            return "quality_dup_lines"
        if t.dup_line_char_frac is not None and dup_chars / len(text) > t.dup_line_char_frac:
            return "quality_dup_line_chars"
    grams = grams or _Grams(words, [k for k, _ in t.dup_n_grams or ()])
    for k, frac in t.top_n_grams or ():
        if len(words) >= k:
            # most documents: word frequencies, or a count of smaller n-grams, show k can't fail
            bounds = [b for b in (grams.freq_bound(k), grams.top_bound(k)) if b is not None]
            if (not bounds or min(bounds) / len(text) > frac) and grams.top(k) / len(text) > frac:
                return f"quality_top_{k}gram"
    dups = [(k, frac) for k, frac in t.dup_n_grams or () if len(words) >= k]
    upto = grams.chars_bound_upto(max(k for k, _ in dups)) if dups and min(k for k, _ in dups) >= 1 else None
    if upto is not None and upto / len(text) <= min(frac for _, frac in dups):
        return None  # most documents: no n can fail
    for k, frac in dups:
        if grams.chars_bound(k) / len(text) > frac and grams.chars(k) / len(text) > frac:
            return f"quality_dup_{k}gram"
    return None


# ------------------------------------------------------------------------------------------ short documents

# Whole segments (a line, or text between | • › » separators) that are site furniture, not text. Written for
# jazari in French, Arabic, English and Spanish; compared lower-cased, without surrounding punctuation.
BOILERPLATE_SEGMENTS = frozenset("""
accueil|contact|contactez-nous|nous contacter|connexion|se connecter|déconnexion|inscription|s'inscrire|mon compte
mentions légales|politique de confidentialité|conditions générales|conditions d'utilisation|cgu|plan du site
partager|partager sur facebook|partager sur twitter|lire la suite|lire plus|en savoir plus|voir plus|voir tout
afficher plus|retour|retour en haut|haut de page|rechercher|recherche|menu|newsletter|abonnez-vous|s'abonner
publicité|article précédent|article suivant|précédent|suivant|commentaires|laisser un commentaire|imprimer
j'accepte|accepter|tout accepter|refuser|paramètres des cookies|à propos|qui sommes-nous|aide|faq
home|about|about us|contact us|login|log in|sign in|sign up|log out|register|my account|privacy policy
terms of use|terms of service|terms and conditions|cookie policy|read more|see more|show more|load more|share
share on facebook|share on twitter|subscribe|skip to content|skip to main content|back to top|next|previous
search|accept|accept all|reject all|help|sitemap|comments|leave a comment|print
facebook|twitter|instagram|youtube|whatsapp|linkedin|tiktok|telegram|pinterest|snapchat|rss
الرئيسية|الصفحة الرئيسية|اتصل بنا|تواصل معنا|من نحن|تسجيل الدخول|تسجيل الخروج|إنشاء حساب|التسجيل|حسابي
سياسة الخصوصية|شروط الاستخدام|اقرأ المزيد|اقرأ أيضا|اقرأ أيضاً|قراءة المزيد|المزيد|شارك|مشاركة|البحث|بحث
القائمة|النشرة البريدية|اشترك|اشترك الآن|التالي|السابق|تعليقات|التعليقات|أضف تعليق|خريطة الموقع|أعلى الصفحة
inicio|contacto|iniciar sesión|política de privacidad|aviso legal|leer más|compartir|buscar|siguiente|anterior
""".replace("\n", "|").split("|")) - {""}
# Segments containing one of these are furniture too (cookie and rights notices, browser warnings).
_BOILERPLATE_IN = re.compile(
    r"cookies?\b.{0,40}\b(?:utilis|accept|use|usamos|utilizamos)|(?:utilis\w*|use[sd]?|accept\w*|usamos|utilizamos)"
    r"\b.{0,40}\bcookies|ملفات تعريف الارتباط|tous droits réservés|all rights reserved|جميع الحقوق محفوظة|"
    r"todos los derechos reservados|©|activer javascript|enable javascript|votre navigateur|your browser")
_SEGMENT_SPLIT = re.compile(r"\n|[|•·›»«▸►]|\s[-–—/>]+\s")
_ARABIZI_DIGITS = frozenset("235789")  # ء ع خ ح غ/ه ق when they stand inside a word
_IGNORED = frozenset(("So", "Sk", "Cf", "Cn", "Co", "Cs", "Mn", "Mc", "Me"))  # emoji, modifiers, marks
_RUN = re.compile(r"(\W)\1+")  # "!!!!!" counts as one symbol
_DIGITS = re.compile(r"\d+")


def _is_link(token: str) -> bool:
    """URLs, @mentions and #hashtags ('#', '###' or '@' alone are symbols)."""
    return (len(token) > 1 and token[0] in "@#" and (token[1].isalnum() or token[1] == "_")) \
        or token.startswith(("http://", "https://", "www."))


def _letter_counts(tokens: list[str]) -> tuple[int, int]:
    """(letters, other visible characters) of non-link tokens. Emoji, their modifiers and combining marks are
    not counted at all (emoji-rich posts are normal); a digit is an Arabizi letter (2 3 5 7 8 9) inside a token
    that has at least as many letters as digits (``3la``, ``m3a``, ``sba7``); other numbers count as one symbol
    each (``2024``, ``10 000``: a post with prices or scores is text, a table of numbers is not)."""
    is_alpha = list(map(str.isalpha, tokens))
    letters, other = sum(map(len, compress(tokens, is_alpha))), 0  # in C: most tokens are plain words
    rest = list(compress(tokens, map(not_, is_alpha)))
    # one regex call for all tokens: a run of one character never spans the single spaces between them
    for tok in _RUN.sub(r"\1", " ".join(rest)).split(" ") if rest else ():
        alpha = sum(map(str.isalpha, tok))
        arabizi = alpha >= sum(map(str.isdigit, tok))
        if not arabizi:
            tok = _DIGITS.sub("0", tok)  # a number is one symbol, whatever its length ("10 000", "2024")
        letters += alpha
        for c in filterfalse(str.isalpha, tok):
            if arabizi and c in _ARABIZI_DIGITS:
                letters += 1
            elif c.isdigit() or unicodedata.category(c) not in _IGNORED:
                other += 1
    return letters, other


def boilerplate_share(text: str) -> float:
    """Share of words in segments that are site furniture (navigation, cookie notices, 'read more').

    Example: ``boilerplate_share("Accueil | Contact | Lire la suite")`` → ``1.0``.
    """
    total = furniture = 0
    for seg in _SEGMENT_SPLIT.split(text.lower()):
        seg = " ".join(seg.replace("’", "'").split()).strip(PUNCT + " ")
        n = len(seg.split())
        total += n
        if n and (seg in BOILERPLATE_SEGMENTS or _BOILERPLATE_IN.search(seg)):
            furniture += n
    return furniture / total if total else 0.0


def short_reason(text: str, s: ShortThresholds, kind: str | None = "auto") -> str | None:
    """The short-document rules: the first failed check's reason (``quality_*``), or ``None``.

    Character runs are normal ("hhhhhhhh", "bzzzaf", "!!!!"); Arabizi digits are letters; emoji are not junk.
    Example: ``short_reason("https://x.ma/a @someone", ShortThresholds())`` → ``'quality_links_only'``.
    """
    if s.max_replacement_ratio is not None and text.count("\ufffd") / max(len(text), 1) > s.max_replacement_ratio:
        return "quality_replacement_chars"
    tokens = text.split()
    maybe_links = "@" in text or "#" in text or "http" in text or "www." in text  # what a link starts with
    plain = [t for t in tokens if not _is_link(t)] if maybe_links else tokens
    n_links = len(tokens) - len(plain)
    stripped = list(map(str.strip, plain, repeat(PUNCT)))
    is_alpha = list(map(str.isalpha, stripped))  # words: tokens with a letter (only counted and compared)
    words = list(compress(stripped, is_alpha)) + list(filter(_any_alpha, compress(stripped, map(not_, is_alpha))))
    min_words = s.lexicon_min_words if kind == "lexicon" else s.min_words
    if n_links and len(words) < (min_words or 1):
        return "quality_links_only"
    letters, other = _letter_counts(plain)
    if letters == 0:
        return "quality_no_letters"
    if min_words is not None and len(words) < min_words:
        return "quality_too_few_words"
    if s.max_link_ratio is not None and n_links / len(tokens) > s.max_link_ratio:
        return "quality_mostly_links"
    if s.min_letter_ratio is not None and letters / (letters + other) < s.min_letter_ratio:
        return "quality_few_letters"
    if kind != "lexicon" and s.max_boilerplate_ratio is not None \
            and boilerplate_share(text) > s.max_boilerplate_ratio:
        return "quality_boilerplate"
    if s.min_repeats_one_token is not None and len(words) >= s.min_repeats_one_token \
            and len({w.lower() for w in words}) == 1:
        return "quality_repeated_token"
    lines = list(filter(None, map(str.strip, text.split("\n"))))
    if s.max_dup_line_frac is not None and len(lines) > 1:
        if find_duplicates(lines)[0] / len(lines) > s.max_dup_line_frac:
            return "quality_repeated_lines"
    return None
