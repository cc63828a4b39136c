"""The langid step's shortcuts give what the plain computations give: script codes added up instead of counted
twice, the numpy repeat check, the word model's C-level lookup, stats counted per batch."""

from __future__ import annotations

import math

import pytest
from datatrove.data import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.corpus.builtin_steps import langid as steps
from jazari_nlp.corpus.builtin_steps.langid import LangId, LangIdStep
from jazari_nlp.text.langid import _REPEAT, _has_repeat, load_identifier
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
