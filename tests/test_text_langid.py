"""Registry, script analysis, language identification and Arabizi on hand-written examples."""

from __future__ import annotations

import json
import math

import pytest

from jazari_nlp.text import (
    LANGUAGES,
    LangIdConfig,
    LanguageSpec,
    Prediction,
    UnknownLanguageError,
    canonical_code,
    code_switching_ratio,
    dominant_script,
    get_language,
    identify,
    load_identifier,
    register_language,
    script_shares,
    tag_words,
    transliterate,
    word_scripts,
)
from jazari_nlp.text.langid import prepare, sample_text
from jazari_nlp.text.lid_eval import cer, confusion, macro_f1, prf


def test_registry_aliases_and_errors():
    assert canonical_code("tzm_Tfng") == "zgh_Tfng"
    assert canonical_code("__label__arz_Arab") == "ar_other"
    assert canonical_code("arabizi") == "ary_Latn"
    assert get_language("darija").code == "ary_Arab" and get_language("ary_Latn").script == "Latn"
    assert {"ary_Arab", "ary_Latn", "arb_Arab", "ar_other", "zgh_Tfng", "kab_Latn", "shi_Latn", "tzm_Latn",
            "rif_Latn", "ber_Arab", "fra_Latn", "eng_Latn", "spa_Latn", "und"} <= set(LANGUAGES)
    with pytest.raises(KeyError, match="unknown language 'xx_Yyyy'; known codes"):
        get_language("xx_Yyyy")
    assert issubclass(UnknownLanguageError, KeyError)
    register_language(LanguageSpec(code="test_Latn", script="Latn", name="Test", aliases=["testalias"]))
    assert canonical_code("TESTALIAS") == "test_Latn"
    del LANGUAGES["test_Latn"]


def test_script_analysis():
    assert script_shares("sa سل") == {"Arab": 0.5, "Latn": 0.5, "Tfng": 0.0, "other": 0.0}
    assert script_shares("123 !! 😀") == {"Arab": 0.0, "Latn": 0.0, "Tfng": 0.0, "other": 0.0}
    assert script_shares("ⴰⵣⵓⵍ، ٣")["Tfng"] == 1.0
    assert script_shares("Да")["other"] == 1.0
    assert dominant_script("3la slamtek") == "Latn" and dominant_script("...") == "Zyyy"
    assert word_scripts("salam سلام ⴰⵣⵓⵍ 12") == [("salam", "Latn"), ("سلام", "Arab"), ("ⴰⵣⵓⵍ", "Tfng"),
                                                  ("12", "Zyyy")]


# Short sentences written for these tests (not taken from any data set).
EXAMPLES = [
    ("واش نتا مزيان؟ أنا بغيت نمشي للدار دابا", "ary_Arab"),
    ("شنو كدير هاد الصباح؟ كنخدم بزاف", "ary_Arab"),
    ("أعلنت الحكومة اليوم عن خطة جديدة لدعم التعليم في المناطق القروية.", "arb_Arab"),
    ("wach nta mzyan? ana bghit nmchi l dar daba", "ary_Latn"),
    ("safi ghadi nchof m3ak ghda inchallah", "ary_Latn"),
    ("ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ, ⵎⴰⵏⵣⴰⴽⵉⵏ?", "zgh_Tfng"),
    ("Le gouvernement a annoncé hier un nouveau plan pour les écoles rurales.", "fra_Latn"),
    ("The weather was lovely yesterday, so we walked to the market together.", "eng_Latn"),
    ("Azul fell-awen, amek tellam? Nekk lhiɣ, tanemmirt.", "kab_Latn"),
]


@pytest.mark.parametrize("text,label", EXAMPLES)
def test_identify_hand_written(text, label):
    pred = identify(text)
    assert isinstance(pred, Prediction) and pred.label == label, pred
    assert 0.0 <= pred.score <= 1.0


def test_identify_top_k_and_script_gate():
    top = identify("wach nta mzyan", top_k=3)
    assert [p.label for p in top][0] == "ary_Latn" and len(top) == 3
    assert all(get_language(p.label).script == "Latn" for p in top)  # Latin text gets Latin labels only
    assert sum(p.score for p in top) <= 1.0 + 1e-6


@pytest.mark.parametrize("text", ["", "   ", "!!!???", "😀😀😀", "\x00\x01\x02", "a\ud800", "12345", "Привет мир"])
def test_identify_bad_input_is_und(text):
    pred = identify(text)
    assert pred.label == "und" and 0.0 <= pred.score <= 1.0


def test_identify_huge_and_mixed_input():
    big = "واش نتا مزيان؟ " * 70_000  # ~1 MB
    assert len(sample_text(big, 4096)) <= 4096 + 2
    assert identify(big).label == "ary_Arab"
    assert identify("ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ, ⵎⴰⵏⵣⴰⴽⵉⵏ? salam").label == "zgh_Tfng"


def test_predict_batch_and_cache():
    ident = load_identifier()
    assert load_identifier(LangIdConfig()) is ident
    assert [p.label for p in ident.predict_batch(["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "", "Nous avons visité le musée avec nos enfants pendant les vacances."])] == [
        "zgh_Tfng", "und", "fra_Latn"]


def test_external_label_map(tmp_path):
    ident = load_identifier(LangIdConfig(label_map={"__label__kab_Latn": "shi_Latn"}))
    assert ident._map("__label__kab_Latn") == "shi_Latn"
    assert ident._map("__label__tzm_Tfng") == "zgh_Tfng"
    assert ident._map("__label__deu_Latn") == "und"
    with pytest.raises(ValueError, match="path does not exist"):
        LangIdConfig(backend="fasttext", model_path=tmp_path / "missing.bin")


def test_predict_batch_equals_predict():
    ident = load_identifier()
    texts = [text for text, _ in EXAMPLES] + ["", "😀", "a\ud800b", "Привет мир", "واش " * 3000, "ok http://x.ma #tag"]
    assert ident.predict_batch(texts) == [ident.predict(t)[0] for t in texts]
    assert ident.predict_batch(texts, top_k=3) == [ident.predict(t, 3) for t in texts]
    assert ident.predict_batch([]) == []


def test_prepare_keeps_arabizi_digits():
    assert prepare("Wach  nta mezyaaaan?! https://x.ma @user") == "wach nta mezyaan ? !"
    assert prepare("3la 7sab 9alb") == "3la 7sab 9alb"
    assert prepare("  واش،نتا__مزيان؟؟ ⴰⵣⵓⵍ!\n\tHTTP://X.MA ok") == "واش ، نتا _ _ مزيان ؟ ؟ ⴰⵣⵓⵍ ! ok"


def test_tag_words_and_code_switching():
    tags = tag_words("ana ghadi l cinema demain m3a sahbi")
    assert tags == [("ana", "ary_Latn"), ("ghadi", "ary_Latn"), ("l", "ary_Latn"), ("cinema", "fra_Latn"),
                    ("demain", "fra_Latn"), ("m3a", "ary_Latn"), ("sahbi", "ary_Latn")]
    assert code_switching_ratio("ana ghadi l cinema demain m3a sahbi") == pytest.approx(2 / 7)
    assert tag_words("ⴰⵣⵓⵍ 😀 سلام")[:2] == [("ⴰⵣⵓⵍ", "zgh_Tfng"), ("😀", "und")]
    assert code_switching_ratio("") == 0.0 and tag_words("") == []


def test_transliterate_latin_to_arabic():
    assert transliterate("wach nta mzyan? 3afak jib lkhobz", use_model=False) == "واش نتا مزيان؟ عافاك جيب لخوبز"
    assert transliterate("S7i7", use_model=False) == "صحيح"
    assert transliterate("8dra", use_model=False) == "هدرا"
    assert transliterate("8dra", eight="غ", use_model=False) == "غدرا"
    assert transliterate("ana f l cinema", use_model=False) == "أنا ف ل cinema"
    assert transliterate("ghadi n9ra 2 dyal les", use_model=False) == "غادي نقرا 2 ديال les"
    assert transliterate("bghit n9ra f l'université", use_model=False) == "بغيت نقرا ف l'université"


def test_transliterate_arabic_to_latin_and_errors():
    assert transliterate("واش نتا مزيان، المغرب زوين", source="ary_Arab", target="ary_Latn") == \
        "wach nta mzyan, lmghrb zwyn"
    assert transliterate("صحيح حبيبي", source="ary_Arab", target="ary_Latn") == "S7i7 7bibi"
    assert transliterate("", use_model=False) == ""
    with pytest.raises(ValueError, match="no transliteration"):
        transliterate("x", source="fra_Latn", target="ary_Arab")


def test_metrics():
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    scores = prf(pairs)
    assert scores["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert macro_f1(pairs, ["a", "b"]) == pytest.approx((2 / 3 + 0.8) / 2)
    assert confusion(pairs) == (["a", "b"], [[1, 1], [0, 2]])
    assert cer([("abcd", "abed"), ("xy", "xy")]) == pytest.approx(1 / 6)


def test_arabic_stage_markers_and_rescore():
    from jazari_nlp.text.langid_arabic import GROUPS, features, load_stage, marker_features, markers, rescore

    assert markers()["ديال"] == "ary" and markers()["الذي"] == "msa" and markers()["هيك"] == "lev"
    assert set(markers().values()) == set(GROUPS)
    # ary: واش, فين, كاين, ديالو, وديال (و stripped); verb prefix: كتعرف; 7 Arabic words (الدار: no group).
    feats = marker_features(prepare("واش كتعرف فين كاين الدار ديالو وديال ok"))
    assert feats == pytest.approx([math.log1p(5), 0, 0, 0, 0, 0, math.log1p(1), math.log1p(7)])
    assert marker_features(prepare("أعلنت الحكومة التي سوف تبدأ"))[:2] == pytest.approx([0.0, math.log1p(2)])
    assert marker_features("") == [0.0] * 8
    # Direction (Darija logit minus the other): a Darija marker weight of 5 moves the mass to ary_Arab.
    direction = [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]
    probs = {"ary_Arab": 0.2, "arb_Arab": 0.6, "ar_other": 0.2}
    out = rescore(direction, probs, "واش فين")
    assert out["ary_Arab"] > 0.9 and sum(out.values()) == pytest.approx(1.0)
    assert out["arb_Arab"] == pytest.approx(3 * out["ar_other"])  # the rest keeps fastText's proportions
    assert rescore(direction, probs, "الذي سوف")["ary_Arab"] == pytest.approx(0.5)  # no ary marker: logit 0
    assert rescore(direction, {"fra_Latn": 1.0}, "واش") == {"fra_Latn": 1.0}  # no Arabic mass: unchanged
    assert load_stage("/nonexistent.json") is None
    # rescore's inlined dot product is features() . direction
    real = [0.3, -0.2, 0.1, 0.9, -0.4, 0.2, 0.0, 0.1, -0.3, 0.8, -0.1, -0.5]
    text = prepare("كيقول ليك واش الذي شفتي البارح ديالك")
    z = sum(a * b for a, b in zip(real, features(probs, text), strict=True))
    assert rescore(real, probs, text)["ary_Arab"] == pytest.approx(1 / (1 + math.exp(-z)))


def test_arabic_stage_fit_separates(tmp_path):
    from jazari_nlp.text.langid_arabic import fit, load_stage

    rows = [[0, 0, 0, 1.0, 0, 0, 0, 0, 0, 0, 1.0, 1.0]] * 20 + [[0, 0, 0, 0, 1.0, 0, 0, 0, 0, 0, 1.0, 1.0]] * 20
    weights = fit(rows, [0] * 20 + [1] * 20, l2=1e-3, steps=500)
    assert len(weights) == 2 and len(weights[0]) == 12
    assert weights[0][3] - weights[1][3] > 1 and weights[0][4] - weights[1][4] < -1  # ary vs msa column
    path = tmp_path / "m.arabic.json"
    path.write_text(json.dumps({"labels": ["ary_Arab", "arb_Arab", "ar_other"], "weights": weights}))
    assert load_stage(path).ary == pytest.approx([a - b for a, b in zip(*weights, strict=True)])
    path.write_text(json.dumps({"labels": ["x"], "weights": weights}))
    assert load_stage(path) is None


def test_stage_folds_split_by_key(tmp_path):
    from jazari_nlp.text.langid_train import LangIdSource, fold_of, iter_examples

    rows = ["index_id\ttext"] + [f"{i}\tجملة رقم {i} هنا" for i in range(200)]
    for lang in ("ary_Arab", "arb_Arab"):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    src = LangIdSource(files=[str(tmp_path / "*/train.tsv")], label_from="parent_dir", holdout_key="index_id",
                       stage=True)
    stage = list(iter_examples(src, "stage"))
    assert len(stage) == len(list(iter_examples(src, "train"))) == 400  # every train row also fits the stage
    rest = list(iter_examples(src, "train", exclude_fold=(0, 5)))
    held = {lab: {t.split()[2] for lab2, t in stage if lab2 == lab} - {t.split()[2] for lab2, t in rest if lab2 == lab}
            for lab in ("ary_Arab", "arb_Arab")}
    assert held["ary_Arab"] == held["arb_Arab"] == {str(i) for i in range(200) if fold_of(str(i), 5) == 0}  # same ids
    assert 20 <= len(held["ary_Arab"]) <= 60
    only_stage = src.model_copy(update={"split": "stage", "stage": False})
    assert list(iter_examples(only_stage, "stage")) == stage and list(iter_examples(only_stage, "train")) == []
