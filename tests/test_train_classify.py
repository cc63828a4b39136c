"""Sequence classification (issue 10, classification mode): label map, rejects, held-out metrics, saved model.

A tiny Llama backbone (``build_tiny_llama``) on the bundled Darija sentiment sample and on a keyword set built
here; a few dozen CPU steps each.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from jazari_nlp.errors import InputError
from jazari_nlp.training.classify import (
    SAMPLE,
    ClassificationConfig,
    build_classifier,
    classification_metrics,
    read_labelled,
    stratified_split,
    train_classifier,
)

ORDER = ["positive", "negative", "neutral"]  # not sorted: the explicit order must survive


def _sample_rows() -> list[dict]:
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from jazari_nlp.modeling.tiny import build_tiny_llama

    texts = [r["text"] for r in _sample_rows()]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny"), texts=texts, vocab_size=400, train_steps=0)


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """The bundled sample plus a file of rows the label map refuses, explicit label order."""
    tmp = tmp_path_factory.mktemp("cls")
    extra = tmp / "extra.tsv"
    extra.write_text("text\tlabel\nhad chi mkhalet\tmixed\nwalakin zwin\tMIXED\nbla label\t\n\tpositive\n",
                     encoding="utf-8")
    cfg = ClassificationConfig(labels=ORDER, heldout_fraction=0.2, eval_steps=12, max_length=48)
    out = tmp / "model"
    summary = train_classifier(tiny, tiny, cfg, [SAMPLE, extra], out, max_steps=24, learning_rate=3e-3,
                               per_device_batch_size=16, progress=False)
    return summary, out, extra


def test_bundled_sample_is_balanced_and_original_format():
    rows = _sample_rows()
    assert len(rows) == 240
    assert Counter(r["label"] for r in rows) == {"positive": 80, "negative": 80, "neutral": 80}
    assert Counter((r["label"], r["lang"]) for r in rows) == {(y, s): 40 for y in ORDER for s in ("ary_Arab", "ary_Latn")}
    assert len({r["text"] for r in rows}) == 240  # no duplicate sentence


def test_metrics_keys_ranges_and_rejects(trained):
    summary, out, extra = trained
    assert summary["labels"] == ORDER
    assert summary["train_rows"] + summary["heldout_rows"] == 240
    assert summary["heldout_rows"] == 48  # 16 of each label's 80 (stratified)
    assert summary["support"] == {"positive": 16, "negative": 16, "neutral": 16}
    assert summary["steps"] == 24
    assert [e["step"] for e in summary["evaluations"]] == [12, 24]
    m = summary["metrics"]
    assert set(m) == {"accuracy", "macro_f1", "loss"}
    assert 0.0 <= m["accuracy"] <= 1.0 and 0.0 <= m["macro_f1"] <= 1.0 and m["loss"] > 0
    assert set(summary["per_label_f1"]) == set(ORDER)
    assert all(v is None or 0.0 <= v <= 1.0 for v in summary["per_label_f1"].values())
    assert sum(map(sum, summary["confusion"])) == 48
    # the kept model is the best evaluation by macro-F1, and its final metrics are that evaluation's
    best = max(summary["evaluations"], key=lambda e: e["macro_f1"])
    assert summary["best_step"] == best["step"]
    assert m["accuracy"] == pytest.approx(best["accuracy"], abs=1e-4)
    # rejects: 2 unknown labels (one differs only by case: labels are exact), 1 missing label, 1 empty text
    assert summary["rejected"] == {"train:unknown_label": 2, "train:missing_label": 1, "train:empty_text": 1}
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (2, "unknown_label"), (3, "unknown_label"), (4, "missing_label"), (5, "empty_text")]
    assert all(r["file"] == str(extra) for r in rejects)
    assert rejects[0]["label"] == "mixed"
    assert rejects[0]["detail"] == "label 'mixed' is not in the label map (negative, neutral, positive)"


def test_saved_model_loads_with_the_label_map(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    summary, out, _ = trained
    model = AutoModelForSequenceClassification.from_pretrained(str(out), local_files_only=True, use_safetensors=True)
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert model.config.id2label == dict(enumerate(ORDER))
    assert model.config.label2id == {y: i for i, y in enumerate(ORDER)}
    assert model.config.num_labels == 3
    assert model.config.pad_token_id == tok.pad_token_id is not None
    label_map = json.loads((out / "label_map.json").read_text(encoding="utf-8"))
    assert label_map["labels"] == ORDER
    assert label_map["id2label"] == {"0": "positive", "1": "negative", "2": "neutral"}
    assert not (out / "checkpoints").exists() and not (out / "training_args.bin").exists()
    # a padded batch classifies each text as it does alone (the pooled token is the last one that is not padding)
    import torch

    texts = ["lmakla bnina bzaf", "الماكلة كانت باردة وبلا مذاق ما عجباتنيش"]
    with torch.no_grad():
        batch = model(**tok(texts, return_tensors="pt", padding=True)).logits
        alone = torch.cat([model(**tok([t], return_tensors="pt")).logits for t in texts])
    assert torch.allclose(batch, alone, atol=1e-4)


def test_every_row_rejected_is_an_error(tiny, tmp_path):
    cfg = ClassificationConfig(labels=["pos", "neg"])
    with pytest.raises(InputError) as e:
        train_classifier(tiny, tiny, cfg, [SAMPLE], tmp_path / "out", max_steps=2, progress=False)
    msg = str(e.value)
    assert "no usable labelled row in the train files" in msg and "240 unknown_label" in msg
    assert "(negative, neutral, positive) are not in train.classification.labels" in msg
    assert len((tmp_path / "out" / "rejects.jsonl").read_text(encoding="utf-8").splitlines()) == 240
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_label_column_missing_names_the_columns(tiny, tmp_path):
    f = tmp_path / "data.tsv"
    f.write_text("text\tsentiment\nzwin\tpositive\nkhayb\tnegative\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no column 'label' \(its columns: text, sentiment\); set "
                                         r"train\.classification\.label_field: sentiment"):
        train_classifier(tiny, tiny, ClassificationConfig(), [f], tmp_path / "out", progress=False)
    txt = tmp_path / "plain.txt"
    txt.write_text("zwin\n", encoding="utf-8")
    with pytest.raises(InputError, match="is a txt file, which has no label column"):
        train_classifier(tiny, tiny, ClassificationConfig(), [txt], tmp_path / "out", progress=False)


def test_config_rejects_what_cannot_work(tmp_path):
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        ClassificationConfig(label_feild="label")
    with pytest.raises(ValidationError, match="not both"):
        ClassificationConfig(heldout_fraction=0.2, heldout_files=[str(SAMPLE)])
    with pytest.raises(ValidationError, match="listed twice: pos"):
        ClassificationConfig(labels=["pos", "neg", "pos"])
    with pytest.raises(ValidationError, match="at least 2 labels"):
        ClassificationConfig(labels=["pos"])
    assert ClassificationConfig(labels=[1, 0]).labels == ["1", "0"]  # YAML integers are labels as text
    bad = tmp_path / "held.tsv"
    bad.write_text("tweet\tlabel\nzwin\tpositive\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="has no column 'text'.*set train.classification.text_field: tweet"):
        ClassificationConfig(heldout_files=[str(bad)])


def test_macro_f1_on_a_hand_made_confusion():
    #          gold: 0 0 0 0 1 1 1 2 2 2    confusion (rows gold): [2 1 1] [1 2 0] [0 0 3]
    golds = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    preds = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]
    m = classification_metrics(golds, preds, ["a", "b", "c", "d"])
    assert m["confusion"] == [[2, 1, 1, 0], [1, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]]
    # F1 = 2TP / (2TP + FP + FN): a 4/(4+1+2), b 4/(4+1+1), c 6/(6+1+0); d is in neither: left out
    assert m["per_label_f1"] == {"a": pytest.approx(4 / 7), "b": pytest.approx(2 / 3), "c": pytest.approx(6 / 7),
                                 "d": None}
    assert m["macro_f1"] == pytest.approx((4 / 7 + 2 / 3 + 6 / 7) / 3)  # 44/63
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["support"] == {"a": 4, "b": 3, "c": 3, "d": 0}
    # a label predicted but never gold counts, with F1 0 (as scikit-learn's average="macro")
    m2 = classification_metrics([0, 0], [0, 1], ["a", "b"])
    assert m2["per_label_f1"] == {"a": pytest.approx(2 / 3), "b": 0.0}
    assert m2["macro_f1"] == pytest.approx(1 / 3)


def test_stratified_split_is_seeded_and_keeps_every_label():
    ys = [0] * 50 + [1] * 30 + [2] * 3 + [3]
    train, held = stratified_split(ys, 0.1, seed=7)
    assert Counter(ys[i] for i in held) == {0: 5, 1: 3, 2: 1}  # label 3 (one row) stays in train
    assert sorted(train + held) == list(range(len(ys)))
    assert stratified_split(ys, 0.1, seed=7) == (train, held)
    assert stratified_split(ys, 0.1, seed=8)[1] != held


def test_training_beats_the_majority_baseline_on_a_keyword_task(tiny, tmp_path):
    # the label is decided by one keyword anywhere in the sentence; the other words carry no signal
    filler = ("lyoum ghedda dar souk tobis lkhobz atay mchit jit khoya khti lmadrassa lb7er tomobil lkhedma "
              "nhar lil sba7 derb").split()
    rng = random.Random(0)

    def write(path: Path, n: int, extra: str = "") -> None:
        rows = ["text\tlabel"]
        for i in range(n):
            label = ("good", "bad")[i % 2]
            words = rng.sample(filler, rng.randint(3, 6))
            words.insert(rng.randint(0, len(words)), "zwin" if label == "good" else "khayb")
            rows.append(" ".join(words) + "\t" + label)
        path.write_text("\n".join(rows) + "\n" + extra, encoding="utf-8")

    write(tmp_path / "train.tsv", 90)
    write(tmp_path / "held.tsv", 30, extra="souk lyoum\tmeh\n")
    cfg = ClassificationConfig(heldout_files=[str(tmp_path / "held.tsv")], eval_steps=20, metric_for_best="accuracy")
    s = train_classifier(tiny, tiny, cfg, [tmp_path / "train.tsv"], tmp_path / "out", max_steps=20,
                         learning_rate=3e-3, per_device_batch_size=16, progress=False)
    assert s["labels"] == ["bad", "good"]  # sorted labels of the train rows
    assert (s["train_rows"], s["heldout_rows"]) == (90, 30)
    assert s["rejected"] == {"heldout:unknown_label": 1}  # the held-out label the train rows never had
    assert s["majority_baseline_accuracy"] == 0.5
    assert s["metrics"]["accuracy"] >= 0.85 and s["metrics"]["macro_f1"] >= 0.85


def test_too_long_max_length_and_spec_model(tiny, tmp_path):
    cfg = ClassificationConfig(max_length=4096)
    with pytest.raises(InputError, match="max_length: 4096 is longer than the model's 128 positions"):
        train_classifier(tiny, tiny, cfg, [SAMPLE], tmp_path / "out", max_steps=1, progress=False)
    from transformers import AutoTokenizer

    from jazari_nlp.training.config import ModelConfig

    tok = AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)
    spec = ModelConfig(architecture="llama", hidden_size=32, num_layers=1, num_heads=2)
    model = build_classifier(spec, tok, ["x", "y", "z"])
    assert type(model).__name__ == "LlamaForSequenceClassification"
    assert model.config.id2label == {0: "x", 1: "y", 2: "z"} and model.config.pad_token_id == tok.pad_token_id
    assert next(model.parameters()).dtype.is_floating_point and str(next(model.parameters()).dtype) == "torch.float32"


def test_real_tweets_read_with_counted_rejects(shared_data):
    """Real Darija tweets (AfriSenti ary train split): a two-label map rejects exactly the neutral rows."""
    path = shared_data / "afrisenti" / "ary" / "train.tsv"
    with open(path, encoding="utf-8", newline="") as f:
        expected = Counter(r["label"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    rejects: list[dict] = []
    cfg = ClassificationConfig(text_field="tweet", labels=["positive", "negative"])
    rows = read_labelled([path], cfg, "train", set(cfg.labels), rejects)
    assert Counter(y for _, y in rows) == {"positive": expected["positive"], "negative": expected["negative"]}
    assert Counter(r["reason"] for r in rejects) == {"unknown_label": expected["neutral"]}
