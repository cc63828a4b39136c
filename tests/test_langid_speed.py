"""The langid step's shortcuts give what the plain computations give: script codes added up instead of counted
twice, the numpy repeat check, the word model's C-level lookup, stats counted per batch; and (against frozen
copies of the slower code) the one-class punctuation split, the Arabic token scan, the UTF-16 script count and
the step's per-label `lang`."""

from __future__ import annotations

import math
import re

import pytest
from datatrove.data import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.corpus.builtin_steps import langid as steps
from jazari_nlp.corpus.builtin_steps.langid import LangId, LangIdStep
from jazari_nlp.text import langid_arabic as A
from jazari_nlp.text import script
from jazari_nlp.text.langid import load_identifier
from jazari_nlp.text.langid_prepare import _REPEAT, _URL_OR_USER, _has_repeat, _prepare_sample, _split_punct
from jazari_nlp.text.normalize import normalize
from jazari_nlp.text.script import dominant_script, script_codes, script_counts

MIXED = st.text(alphabet=st.sampled_from(list("salam سلام، ؟٣ ⴰⵣⵓⵍ ڭ γ Ω 日本 _\u064e\u0640😀")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(MIXED, MIXED)
def test_script_codes_add_up_and_dominant_script_takes_the_counted_head(head, rest):
    whole = head + rest
    assert script_codes(whole)[1:] == [a + b for a, b in zip(script_codes(head), script_codes(rest), strict=True)][1:]
    assert dominant_script(rest, counted=script_codes(head)) == dominant_script(whole)


def test_script_codes_examples():
    assert script_codes("ab س") == [1, 1, 0, 2, 0, 0, 0, 0]
    long = "salam سلام ⴰⵣⵓⵍ 日本 " * 10  # the numpy path (64+ characters, not ASCII)
    assert script_counts(long) == {"Arab": 40, "Latn": 50, "Tfng": 40, "other": 20}
    assert dominant_script("", counted=script_codes("ⴰⵣⵓⵍ")) == "Tfng"


def test_predict_batch_gives_the_gate_codes_of_whole_texts_only():
    ident = load_identifier()
    big = "شنو كدير " * 1000  # longer than max_chars (4096): identified on a sample, no codes
    texts = ["", "123", "wach nta mezyan", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "شنو كدير دابا؟", "日本語のテキスト", big]
    codes: list = []
    assert ident.predict_batch(texts, codes=codes) == ident.predict_batch(texts)
    assert codes == [script_codes(t) for t in texts[:-1]] + [None]


def _doc_latin_head_arabic_body() -> str:
    """A head of 1,000 Latin characters (~833 letters), 1,500 of Arabic (~1,167 letters), digits to 5,000, then
    Latin: Arab only if the head is counted once and nothing after 5,000 characters is."""
    head = ("salam labas " * 100)[:1000]
    body = ("شنو كدير " * 200)[:1500]
    text = head + body + ("1 " * 1250)
    assert len(text) == 5000
    return text + "salam " * 1000


class _Counters:
    def __init__(self):
        self.totals: dict[str, int] = {}

    def stat_update(self, *labels, value=1):
        for label in labels:
            self.totals[label] = self.totals.get(label, 0) + value


def test_step_script_is_the_first_5000_characters_counted_once(monkeypatch):
    text = _doc_latin_head_arabic_body()
    assert dominant_script(text[:5000]) == "Arab" and dominant_script(text[:1000]) == "Latn"
    texts = [text, "wach nta mezyan", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "wach nta mezyan", "wach nta mezyan"]
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
    step = LangId("03_langid", LangIdStep())
    step.counters = _Counters()
    step.filter_batch(docs)
    assert [d.metadata["script"] for d in docs] == ["Arab", "Latn", "Tfng", "Latn", "Latn"]
    assert sum(step.counters.totals.values()) == 5  # one per document, with languages seen more than once
    assert step.counters.totals == {f"lang_{lang}": [d.metadata["lang"] for d in docs].count(lang)
                                    for lang in {d.metadata["lang"] for d in docs}}

    class Plain:  # an identifier without the codes out-parameter: the step counts the scripts itself
        def predict_batch(self, texts, top_k=1, errors="und"):
            return load_identifier().predict_batch(texts, errors=errors)

    monkeypatch.setattr(steps, "load_identifier", lambda cfg: Plain())
    again = [Document(text=d.text, id=d.id, metadata={}) for d in docs]
    LangId("03_langid", LangIdStep()).filter_batch(again)
    assert [d.metadata for d in again] == [d.metadata for d in docs]
    wide = [Document(text=text, id="w", metadata={})]  # a head over 5,000 characters: counted on its own
    LangId("03_langid", LangIdStep(max_chars=6000)).filter_batch(wide)
    assert wide[0].metadata["script"] == "Arab"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aaé__٣٣😀😀..--  \u0640ⴰⴰ")), min_size=0, max_size=400))
def test_has_repeat_is_the_regex(text):
    assert _has_repeat(text) == (_REPEAT.search(text) is not None)


def test_has_repeat_examples():
    pad = "x y " * 40  # 160 characters: the numpy path
    assert [_has_repeat(pad + s) for s in ("ééé", "___", "...", "😀😀😀", "٣٣٣", "aab", "ⴰⴰⴰ")] == [
        True, True, False, False, True, False, True]


def test_word_model_ignores_unknown_words_only():
    stage = load_identifier()._arabic
    if stage is None or stage.words is None:
        pytest.skip("the shipped model has no Arabic stage word model")
    words = stage.words
    known = list(words.logp)[:3]
    text = " ".join([known[0], "zzqx-unknown", known[1], known[2], known[0]])
    rows = [words.logp[w] for w in text.split() if w in words.logp]
    scores = [sum(col) + p for col, p in zip(zip(*rows, strict=True), words.prior, strict=True)]
    z = max(scores) + math.log(sum(math.exp(s - max(scores)) for s in scores))
    assert words.log_posteriors(text) == [max(s - z, -30.0) for s in scores]


# ---------------------------------------------------------------- frozen copies of the slower computations
# (the code before the round-4 shortcuts; the shortcuts must give the very same strings and floats)

_FROZEN_PUNCT = re.compile(r"([^\w\s\u2d30-\u2d7f]|_)")
_FROZEN_ARABIC_TOKEN = re.compile(r"(?<!\S)[\u0621-\u064a]\S*")


def _frozen_split_punct(text: str) -> str:
    return " ".join(" ".join(_FROZEN_PUNCT.split(text)).split())


def _frozen_marker_features(prepared: str) -> list[float]:
    table = A._lookup()
    counts = [0] * (len(A.GROUPS) + 2)
    toks = _FROZEN_ARABIC_TOKEN.findall(A.fold(prepared))
    counts[-1] = len(toks)
    for tok in toks:
        group = table.get(tok)
        if group is not None:
            counts[group] += 1
        elif tok[0] in "كتغ" and A._ARY_VERB.match(tok) and not A._NOT_ARY_VERB.match(tok):
            counts[-2] += 1
    return [math.log1p(c) for c in counts]


def _frozen_script_codes(text: str) -> list[int]:
    import numpy as np

    if len(text) < 64 or text.isascii():
        classes = text.translate(script._CLASSES)
        return [len(text) - len(classes), *map(classes.count, script._SYMBOLS[1:])]
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    astral = cps >= 0x10000
    rest = "".join(map(chr, cps[astral].tolist())).translate(script._CLASSES)
    n = np.bincount(script._bmp_codes()[cps[~astral]], minlength=len(script._SYMBOLS)).tolist()
    for code, sym in enumerate(script._SYMBOLS[1:], start=1):
        n[code] += rest.count(sym)
    return n


# Every kind of character the shortcuts tell apart: "_", ASCII and Arabic punctuation, Tifinagh letters and the
# block's non-letters (U+2D70 mark, U+2D7F joiner, U+2D68 unassigned), Unicode spaces (NBSP, em space, U+001C),
# digits, letters of several scripts, harakat, emoji, lone surrogates (a pair of them too).
TRICKY = list("ab _-.,؟،!ⴰⵣ\u2d70\u2d7f\u2d68 \t\n\u00a0\u2003\x1c٣3شنوكتغيةأ\u064e\u0640Ωé日😀") + [
    "\ud83d", "\ude00", "\ud83d\ude00", "https://x.ma ", "@user ", "#tag", "aaaa", "ⴰⴰⴰ", "___"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=120).map("".join))
def test_split_punct_is_the_alternation_split(text):
    assert _split_punct(text) == _frozen_split_punct(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=200).map("".join))
def test_prepare_is_the_frozen_preparation(text):
    lower = normalize(text, newlines="space").lower()
    if "http" in lower or "www." in lower or "@" in lower or "#" in lower:
        lower = _URL_OR_USER.sub(" ", lower)
    expected = _frozen_split_punct(_REPEAT.sub(r"\1\1", lower))
    assert _prepare_sample(text) == expected


def test_split_punct_examples():
    assert _split_punct("a_b,c ⴰ\u2d70ⴱ  ؟x") == "a _ b , c ⴰ\u2d70ⴱ ؟ x"  # the Tifinagh block is never split off
    assert _split_punct("__,") == "_ _ ,"
    assert _split_punct(" \u00a0\t") == ""


def _marker_words() -> list[str]:
    return sorted(A._lookup())[::25]


ARABIC = st.lists(st.one_of(st.sampled_from(_marker_words()), st.sampled_from(
    ["كنمشي", "غنقول", "تيقول", "كتاب", "الدار", "ديال", "فين", "؟", "3la", "ⴰⵣⵓⵍ", "\u064e", "أ", "ـ", "  ", "\t"])),
    max_size=60).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(ARABIC)
def test_marker_features_are_the_frozen_counts(prepared):
    assert A.marker_features(prepared) == _frozen_marker_features(prepared)


def test_marker_features_examples():
    # a token is Arabic when its first character is; "xديال" is not a marker, "ديال" after a tab is
    assert A.marker_features("xديال\tديال كنمشي") == [math.log1p(c) for c in (1, 0, 0, 0, 0, 0, 1, 2)]
    assert A.marker_features("") == [0.0] * 8


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=40, max_size=150).map("".join))
def test_script_codes_are_the_frozen_counts(text):
    assert script_codes(text) == _frozen_script_codes(text)


def test_script_codes_of_surrogates_and_astral_characters():
    pad = "سلام " * 20  # 100 characters, not ASCII: the numpy paths
    for extra in ("\ud83d\ude00", "😀", "\ude00\ud83d", "𝐀"):  # a lone pair, an emoji, a reversed pair, a letter
        assert script_codes(pad + extra) == _frozen_script_codes(pad + extra)
    # the lone pair is two uncounted code points (UTF-16 path), the emoji none (astral path); 𝐀 an "other" letter
    assert [script_codes(pad + x) for x in ("\ud83d\ude00", "😀", "𝐀")] == [
        [22, 80, 0, 0, 0, 0, 0, 0], [20, 80, 0, 0, 0, 0, 0, 0], [20, 80, 0, 0, 0, 0, 0, 1]]


def test_step_lang_is_computed_once_per_label():
    step = LangId("03_langid", LangIdStep(use_hint=True))
    step.counters = _Counters()
    hints = ["tzm_Tfng", "a/b", "tzm_Tfng", "a/b", ""]
    docs = [Document(text="ⴰⵣⵓⵍ", id=str(i), metadata={"lang_hint": h}) for i, h in enumerate(hints)]
    step.filter_batch(docs[:4])
    assert step._langs == {"tzm_Tfng": "zgh_Tfng", "a/b": "a_b"}
    step.filter_batch(docs)
    assert [d.metadata["lang"] for d in docs] == ["zgh_Tfng", "a_b", "zgh_Tfng", "a_b", "zgh_Tfng"]
