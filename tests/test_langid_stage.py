"""Language-ID recipe splits (test / dev / stage / cross-fitting folds), the Arabic stage's word model and its
file format. Fixture sentences are written for these tests (templates, not taken from any data set)."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from jazari_nlp.text.langid import FastTextIdentifier, LangIdConfig, prepare
from jazari_nlp.text.langid_arabic import LABELS, Stage, WordModel, count_words, features, load_stage
from jazari_nlp.text.langid_train import (
    LangIdSource,
    collect,
    fold_of,
    in_test,
    iter_examples,
    iter_rows,
    load_train_config,
    stage_path,
    stage_rows,
    train_langid,
)
from jazari_nlp.text.registry import canonical_code

NOUNS = ["الدار", "المدرسة", "السوق", "الخدمة", "الطوموبيل", "البحر", "المدينة", "الكتاب", "الماء", "الشمس"]
TEMPLATES = {
    "ary_Arab": "واش كتعرف فين كاين {n} ديالو؟ غادي نمشي دابا بزاف",
    "arb_Arab": "إن {n} الذي سوف نراه هذا اليوم ليس بعيدا، لقد قيل ذلك",
    "acm_Arab": "شو بدك من {n} هلق؟ هيك احسن كتير وين رايح",
}


def _flores_like(tmp_path, n=200, same_as_arb=()):
    """One folder per variety, the same index ids in each (parallel, like FLORES); ``same_as_arb``: varieties
    whose sentences are the MSA sentence verbatim."""
    for label, template in TEMPLATES.items():
        (tmp_path / label).mkdir(exist_ok=True)
        source = TEMPLATES["arb_Arab"] if label in same_as_arb else template
        rows = ["index_id\ttext"] + [f"{i}\t{source.format(n=NOUNS[i % 10])} {i}" for i in range(n)]
        (tmp_path / label / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _ids(pairs):
    return {text.rsplit(" ", 1)[1] for _, text in pairs}


def test_test_split_is_disjoint_by_index_id(tmp_path):
    _flores_like(tmp_path)
    src = LangIdSource(files=[str(tmp_path / "*/train.tsv")], label_from="parent_dir", holdout_key="index_id",
                       test_holdout=0.2, holdout=0.1)
    test, train, dev = (list(iter_examples(src, split)) for split in ("test", "train", "dev"))
    assert len(test) + len(train) + len(dev) == 600  # every row in exactly one split
    assert _ids(test).isdisjoint(_ids(train)) and _ids(test).isdisjoint(_ids(dev))
    assert _ids(train).isdisjoint(_ids(dev))
    # the same ids in each variety: a sentence held out is held out in all its translations
    by_label = {lab: _ids([p for p in test if p[0] == lab]) for lab in LABELS}  # acm_Arab is ar_other
    assert by_label["ary_Arab"] == by_label["arb_Arab"] == by_label["ar_other"]
    assert 20 <= len(by_label["ary_Arab"]) <= 60
    assert {str(i) for i in range(200) if in_test(src, str(i))} == by_label["ary_Arab"]
    # a dev-only source has no test share; a stage-only source has one, and its other rows are stage rows
    dev_src = src.model_copy(update={"split": "dev"})
    assert list(iter_examples(dev_src, "test")) == [] and len(list(iter_examples(dev_src, "dev"))) == 600
    stage_src = src.model_copy(update={"split": "stage"})
    assert list(iter_examples(stage_src, "test")) == test and list(iter_examples(stage_src, "train")) == []
    assert len(list(iter_examples(stage_src, "stage"))) == 600 - len(test)


def test_recipe_test_holdout_reaches_every_source(tmp_path):
    _flores_like(tmp_path)
    recipe = tmp_path / "lid.yaml"
    recipe.write_text("output: m.ftz\ntest_holdout: 0.25\nsources:\n  - files: ['*/train.tsv']\n"
                      "    label_from: parent_dir\n    holdout_key: index_id\n"
                      "  - files: ['ary_Arab/train.tsv']\n    label: ary_Arab\n    test_holdout: 0.5\n",
                      encoding="utf-8")
    cfg = load_train_config(recipe)
    assert [s.test_holdout for s in cfg.sources] == [0.25, 0.5]


def test_cross_fitting_folds_exclude_only_their_rows(tmp_path):
    _flores_like(tmp_path, same_as_arb=("acm_Arab",))
    src = LangIdSource(files=[str(tmp_path / "*/train.tsv")], label_from="parent_dir", holdout_key="index_id",
                       test_holdout=0.2, stage=True)
    train = list(iter_rows(src, "train"))
    for k in range(3):
        kept = list(iter_rows(src, "train", exclude_fold=(k, 3)))
        dropped = {key for _, _, key, _ in train} - {key for _, _, key, _ in kept}
        assert dropped == {key for _, _, key, _ in train if fold_of(key, 3) == k} and dropped
    # without stage: true, exclude_fold changes nothing
    plain = src.model_copy(update={"stage": False})
    assert list(iter_rows(plain, "train", exclude_fold=(0, 3))) == train


def test_a_text_under_two_labels_keeps_the_preferred_one(tmp_path):
    _flores_like(tmp_path, same_as_arb=("acm_Arab",))
    recipe = tmp_path / "lid.yaml"
    body = ("output: m.ftz\ntest_holdout: 0.2\nmin_per_label: 0\nsources:\n  - files: ['*/train.tsv']\n"
            "    label_from: parent_dir\n    holdout_key: index_id\n    stage: true\n")
    recipe.write_text(body + "prefer_labels: [arb_Arab]\n", encoding="utf-8")
    cfg = load_train_config(recipe)
    classes = [cls for _, cls, _, _ in stage_rows(cfg)]
    n = classes.count("ary_Arab")
    # acm_Arab's sentences are the arb_Arab ones verbatim: they stay MSA, and the word-model class of the
    # others is the folder name (ary_Arab), not a registry alias
    assert classes.count("arb_Arab") == n and classes.count("acm_Arab") == 0 and len(classes) == 2 * n
    m = sum(label == "ary_Arab" for label, *_ in iter_rows(cfg.sources[0], "train"))  # copies of a text stay
    train = Counter(label for label, _ in collect(cfg, "train"))
    assert train == {"ary_Arab": m, "arb_Arab": m}  # no ar_other left: every acm_Arab text was an MSA one
    recipe.write_text(body, encoding="utf-8")  # no preferred label: the conflicting texts go entirely
    cfg = load_train_config(recipe)
    assert [cls for _, cls, _, _ in stage_rows(cfg)] == ["ary_Arab"] * n
    assert Counter(label for label, _ in collect(cfg, "train")) == {"ary_Arab": m}


def test_word_model_posteriors_and_round_trip():
    texts = [prepare(t) for t in ("واش كاين شي حاجة ديالك", "الذي سوف يأتي", "واش ديالك")]
    counts, docs = count_words(texts, ["ary", "msa", "ary"], ["ary", "msa"])
    assert docs == [2, 1] and counts["واش"] == [2, 0] and counts["سوف"] == [0, 1]
    model = WordModel(["ary", "msa"], docs, counts, alpha=0.1)
    post = model.log_posteriors("واش ديالك")
    assert post[0] > math.log(0.99) and math.exp(post[0]) + math.exp(post[1]) == pytest.approx(1.0)
    # unknown words only: the prior (2 of 3 texts are ary)
    assert model.log_posteriors("zzz qqq") == pytest.approx([math.log(2 / 3), math.log(1 / 3)])
    again = WordModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.log_posteriors("الذي واش") == pytest.approx(model.log_posteriors("الذي واش"))
    assert model.to_json()["counts"]["سوف"] == [[1, 1]]  # sparse: only the classes that saw the word


def test_stage_rescore_gate_and_msa_weights():
    words = WordModel(["ary_Arab", "ary_tweets"], [1, 1], {"ديال": [5, 0], "هههه": [0, 5]})
    size = len(features({}, "", words))
    ary = [0.0] * size
    ary[3] = 4.0  # Darija marker count
    arb = [0.0] * size
    arb[-1] = 3.0  # bias: whatever is not Darija is MSA
    stage = Stage(ary, arb, words, gate="ary_tweets", gate_posterior=0.5)
    probs = {"ary_Arab": 0.1, "arb_Arab": 0.3, "ar_other": 0.6}
    out = stage.rescore(probs, "واش ديال")
    assert sum(out.values()) == pytest.approx(1.0) and out["ary_Arab"] > 0.9
    plain = stage.rescore(probs, "سوف")  # no marker: logit 0, p(ary) 0.5; the rest mostly MSA
    assert plain["ary_Arab"] == pytest.approx(0.5) and plain["arb_Arab"] == pytest.approx(0.5 / (1 + math.exp(-3)))
    assert stage.rescore(probs, "هههه") == probs  # tweet-like: fastText's own scores
    # rescore's inlined features are features(): the Darija share is the logistic of ary . features()
    real = Stage([0.1 * (i % 5) - 0.2 for i in range(size)], None, words)
    text = prepare("كيقول ليك واش الذي شفتي ديال")
    z = sum(a * b for a, b in zip(real.ary, features(probs, text, words), strict=True))
    assert real.rescore(probs, text)["ary_Arab"] == pytest.approx(1 / (1 + math.exp(-z)))


def test_load_stage_versions(tmp_path):
    path = tmp_path / "m.arabic.json"
    assert load_stage(path) is None
    v1 = {"labels": list(LABELS), "weights": [[1.0] * 12, [0.5] * 12]}
    path.write_text(json.dumps(v1), encoding="utf-8")
    assert load_stage(path).ary == pytest.approx([0.5] * 12) and load_stage(path).words is None
    words = WordModel(["a", "b"], [1, 1], {"ديال": [1, 0]})
    v2 = {"version": 2, "labels": list(LABELS), "ary": [0.0] * 14, "arb": [0.0] * 14, "words": words.to_json()}
    path.write_text(json.dumps(v2), encoding="utf-8")
    assert load_stage(path).words.classes == ["a", "b"]
    path.write_text(json.dumps({**v2, "ary": [0.0] * 13}), encoding="utf-8")  # wrong length: unusable
    assert load_stage(path) is None


def test_recipe_cross_fits_stage(tmp_path):
    """The recipe trains one fastText model per fold plus the final one, writes a version-2 stage beside the
    model with its nested cross-validation figures, and the identifier applies it."""
    _flores_like(tmp_path, n=120)
    recipe = tmp_path / "lid.yaml"
    recipe.write_text("output: m.ftz\ntest_holdout: 0.2\n"
                      "fasttext: {dim: 8, epoch: 5, lr: 0.1, bucket: 2000, quantize: false}\n"
                      "arabic_stage: {folds: 3, steps: 300, arb_threshold: 0.4}\n"
                      "sources:\n  - files: ['*/train.tsv']\n    label_from: parent_dir\n"
                      "    holdout_key: index_id\n    stage: true\n", encoding="utf-8")
    cfg = load_train_config(recipe)
    report = train_langid(cfg)
    stage = json.loads(stage_path(tmp_path / "m.ftz").read_text(encoding="utf-8"))
    n_rows = len(stage_rows(cfg))
    assert stage["version"] == 2 and stage["rows"] == report["arabic_stage"]["rows"] == n_rows
    assert stage["ary_rows"] * 3 == n_rows and 240 <= n_rows <= 330  # 360 rows less the ~20% test share
    assert stage["words"]["classes"] == ["acm_Arab", "arb_Arab", "ary_Arab"]
    assert len(stage["ary"]) == len(stage["arb"]) == len(stage["features"]) == 3 + 6 + 2 + 3 + 1
    assert stage["cv"]["ary_Arab"]["support"] == stage["ary_rows"] and stage["cv"]["ary_Arab"]["f1"] == 1.0
    ident = FastTextIdentifier(LangIdConfig(model_path=tmp_path / "m.ftz"))
    assert ident._arabic is not None and ident._arabic.words is not None
    assert ident.predict("واش كتعرف فين كاين الدار ديالو")[0].label == "ary_Arab"
    # sentences of the templates with an index no row has (the tiny fastText model barely learns: the stage decides)
    for label, template in TEMPLATES.items():
        assert ident.predict(f"{template.format(n='الشمس')} 999")[0].label == canonical_code(label)


def test_from_json_gives_the_constructors_floats_bit_for_bit():
    # one-class words share a row tuple in from_json: the floats must still be __init__'s, in the same word order
    data = {"classes": ["ary", "msa", "egy"], "alpha": 0.1, "docs": [2, 3, 1],
            "counts": {"ديال": [[0, 4]], "الذي": [[1, 2]], "كان": [[0, 1], [1, 3], [2, 1]], "هيك": [[2, 1]],
                       "واش": [[0, 4]], "dup": [[1, 1], [1, 5]], "neg": [[-1, 2]]}}
    dense = {"ديال": [4, 0, 0], "الذي": [0, 2, 0], "كان": [1, 3, 1], "هيك": [0, 0, 1], "واش": [4, 0, 0],
             "dup": [0, 5, 0], "neg": [0, 0, 2]}
    loaded, built = WordModel.from_json(data), WordModel(["ary", "msa", "egy"], [2, 3, 1], dense, alpha=0.1)
    assert list(loaded.logp) == list(built.logp)
    assert {w: [v.hex() for v in row] for w, row in loaded.logp.items()} == \
        {w: [v.hex() for v in row] for w, row in built.logp.items()}
    assert loaded.counts == dense and loaded.prior == built.prior
    assert loaded.log_posteriors("ديال كان neg") == built.log_posteriors("ديال كان neg")


def test_from_json_refuses_a_class_index_out_of_range():
    with pytest.raises(IndexError, match="word 'x': class index 2 out of range"):
        WordModel.from_json({"classes": ["a", "b"], "alpha": 0.1, "docs": [1, 1], "counts": {"x": [[2, 1]]}})
