"""scripts/bench_train.py: the data, the padded collator's counts, the MFU formula against the issue's numbers,
and a 2-step run of both sides (no assertion on time)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_train as bt  # noqa: E402


def test_documents_use_every_sample_line_once_in_documents_of_varied_length():
    from jazari_nlp.modeling.tiny import sample_lines

    docs = bt.documents("samples", seed=0)
    assert sorted(line for d in docs for line in d.split("\n")) == sorted(sample_lines())
    sizes = [d.count("\n") + 1 for d in docs]
    assert min(sizes) == 1 and max(sizes) >= 12  # log-uniform runs of 1..24 sentences
    assert bt.documents("samples", seed=0) == docs  # seeded


def test_padded_batches_label_pads_minus_100_and_count_real_tokens():
    import torch
    from tokenizers import Tokenizer, models
    from transformers import DataCollatorWithPadding, PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"a": 0, "<pad>": 1}, "a")),
                                  pad_token="<pad>")
    collate = bt.PaddedBatches(DataCollatorWithPadding(tok))
    batch = collate([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9, 10, 11, 12]}, {"input_ids": [13, 14]}])
    assert batch["input_ids"].shape == (3, 5)
    assert batch["labels"].tolist() == [[5, 6, 7, -100, -100], [8, 9, 10, 11, 12], [13, 14, -100, -100, -100]]
    assert int((batch["labels"] == -100).sum()) == 5 and collate.counts == [(10, 15)]
    assert torch.equal(batch["attention_mask"].bool(), batch["labels"] != -100)


def test_mfu_formula_gives_the_issues_numbers_on_its_134m_shape():
    n = bt.issue_shape_matmul_parameters()
    assert n == 12 * (4 * 768 * 768 + 3 * 768 * 2048 + 2 * 768) + 768 + 32000 * 768  # all but the input embedding
    assert n + 32000 * 768 == pytest.approx(134e6, rel=0.01)  # the issue's "134M-parameter Llama"
    # the issue's pairs: 210k tokens/s is MFU 0.16, 450k tokens/s is MFU 0.35 (989 TFLOP/s)
    assert round(bt.mfu(210e3, n, bt.ISSUE_SHAPE), 2) == 0.16
    assert round(bt.mfu(450e3, n, bt.ISSUE_SHAPE), 2) == 0.35


def test_bench_runs_both_sides_for_the_same_steps_and_counts_real_tokens(tmp_path):
    shape = bt.Shape(hidden=32, layers=1, heads=4, block=32, batch=2)
    report = bt.bench(bt.documents("samples"), shape, steps=2, warmup=1, repeats=1, vocab_size=300, work=tmp_path)
    jazari, plain = report["runs"]
    assert [r["name"] for r in report["runs"]] == ["jazari train_causal_lm (packed)", "plain Trainer (padded, unpacked)"]
    assert jazari["steps"] == plain["steps"] == 3
    assert jazari["real_tokens"] == jazari["batch_tokens"] == 2 * 2 * 32 and jazari["pad_share"] == 0
    # two timed batches of 2 rows, each row 1..32 tokens, padded to its batch's longest
    assert 4 <= plain["real_tokens"] <= plain["batch_tokens"] <= 2 * 2 * 32
    assert plain["pad_share"] == pytest.approx(1 - plain["real_tokens"] / plain["batch_tokens"])
    assert report["ratio"] == jazari["tokens_per_s"] / plain["tokens_per_s"]
    text = bt.format_report(report)
    assert text.splitlines()[-1] == f"ratio jazari/plain Trainer (real tokens/s): {report['ratio']:.2f} (bar 1.3)"
    assert (tmp_path / "jazari-0" / "model.safetensors").is_file()  # the train stage ran to its end
