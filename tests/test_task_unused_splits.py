"""A task reads only its own splits: a data file of a split it never reads (a test split held back, as in the
developers' copy of SIB-200) may be absent, while a missing file of a split it does read is still an error."""

from __future__ import annotations

import json

import pytest

from jazari_nlp.evaluation.tasks import load_task

ROWS = [{"question": f"q{i}: 3 + {i}?", "choices": [str(3 + i), str(4 + i)], "answer": 0} for i in range(6)]


def _task(tmp_path, **extra) -> dict:
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return {"task": "held_back", "dataset_path": "json", "output_type": "multiple_choice",
            "dataset_kwargs": {"data_files": {"validation": str(tmp_path / "dev.jsonl"),
                                              "test": str(tmp_path / "test.jsonl")}},
            "test_split": "test", "doc_to_text": "{{question}}", "doc_to_choice": "{{choices}}",
            "doc_to_target": "{{answer}}", **extra}


def test_the_read_split_must_exist(tmp_path):
    with pytest.raises(Exception, match="file not found: .*test.jsonl"):
        load_task(_task(tmp_path), tmp_path).eval_docs()


def test_an_unread_split_may_be_absent(tmp_path):
    task = load_task(_task(tmp_path), tmp_path, overrides={"test_split": "validation"})
    assert len(task.eval_docs()) == 6
    task.check(0)
    assert [p.name for p in task.data_paths()] == ["dev.jsonl"]


def test_a_few_shot_split_is_read_too(tmp_path):
    with pytest.raises(Exception, match="file not found: .*test.jsonl"):
        load_task(_task(tmp_path, fewshot_split="test"), tmp_path, overrides={"test_split": "validation"}).eval_docs()
