"""Eval task data and training held-out files that cannot be used: a clear error naming the file (and the line),
or the bad row skipped with its reason counted; never ``StopIteration``, a byte offset, a datasets log line or a
run that silently trains without its held-out loss. Also ``tokenizer extend`` errors naming the option typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.errors import InputError
from jazari_nlp.evaluation.task_config import TaskError
from jazari_nlp.evaluation.tasks import load_task

FIX = "add rows or point data_files at the right file"


def mc_task(folder: Path, data: str, name: str = "t", builder: str = "json") -> Path:
    """A multiple-choice task YAML reading ``data`` (a file name in ``folder``) as its test split."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(f"""task: {name}
dataset_path: {builder}
dataset_kwargs: {{data_files: {{test: {data}}}}}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: choices
doc_to_target: answer
""", encoding="utf-8")
    return folder / f"{name}.yaml"


def row(q: str, choices: list[str], answer: int) -> str:
    return json.dumps({"question": q, "choices": choices, "answer": answer}, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------- empty data files

@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_jsonl_says_it_has_no_rows(tmp_path, content):
    (tmp_path / "empty.jsonl").write_text(content, encoding="utf-8")
    yaml = mc_task(tmp_path, "empty.jsonl")
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == f"{yaml}: {tmp_path / 'empty.jsonl'} has no rows (split 'test'): {FIX}"


def test_a_header_only_csv_says_it_has_no_rows(tmp_path):
    (tmp_path / "empty.csv").write_text("question,choices,answer\n", encoding="utf-8")
    yaml = mc_task(tmp_path, "empty.csv", builder="csv")
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == f"{yaml}: {tmp_path / 'empty.csv'} has no rows (split 'test'): {FIX}"


def test_a_json_array_with_no_rows(tmp_path):
    (tmp_path / "none.json").write_text("[]", encoding="utf-8")  # passes the line check; datasets finds no data
    yaml = mc_task(tmp_path, "none.json")
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == f"{yaml}: {tmp_path / 'none.json'} has no rows (split 'test'): {FIX}"


def test_one_empty_file_among_others_is_not_an_error(tmp_path):
    (tmp_path / "a.jsonl").write_text(row("salam", ["a", "b"], 0), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("", encoding="utf-8")
    yaml = mc_task(tmp_path, "[a.jsonl, b.jsonl]")
    assert len(load_task(yaml).eval_docs()) == 1


def _eval_config(tmp_path: Path, task_yaml: Path) -> Path:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 64}))
    (model / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    header = b'{"__metadata__": {}}'  # a valid, empty safetensors file: the check reads its header only
    (model / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"name: ev\noutput_dir: runs\nmodel: {{path: m}}\neval: {{perplexity: false, tasks: "
                   f"[{task_yaml.name}]}}\n", encoding="utf-8")
    return cfg


def test_config_validate_names_the_task_file_once(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    yaml = mc_task(tmp_path, "empty.jsonl")
    res = CliRunner().invoke(app, ["config", "validate", str(_eval_config(tmp_path, yaml))],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert f"- eval.tasks: {yaml}: {tmp_path / 'empty.jsonl'} has no rows (split 'test'): {FIX}" in out
    assert out.count(str(yaml)) == 1


# ------------------------------------------------------------------------------------- malformed JSON lines

BROKEN = '{"question": "broken", "choices": ["a", "b"], "answer": \n'


def test_a_malformed_line_is_skipped_with_its_line_and_reason(tmp_path):
    (tmp_path / "mc.jsonl").write_text(row("azul", ["yah", "uhu"], 0) + BROKEN + row("wakha", ["x", "y", "z"], 1),
                                       encoding="utf-8")
    task = load_task(mc_task(tmp_path, "mc.jsonl"))
    reqs = task.build_requests()
    assert [r.skipped for r in reqs] == [None, None, "mc.jsonl line 2: not valid JSON (Expecting value at column "
                                                     "56): fix or remove the line"]
    assert reqs[2].doc == {"file": str(tmp_path / "mc.jsonl"), "line": 2, "text": BROKEN.strip()}
    assert [r.gold for r in reqs[:2]] == [0, 1] and [r.choices for r in reqs[:2]] == [["yah", "uhu"], ["x", "y", "z"]]
    # with a limit, a bad line counts when it lies among the rows read: line 2 before the 2nd row, not the 1st
    assert [r.skipped is not None for r in task.build_requests(limit=2)] == [False, False, True]
    assert [r.skipped is not None for r in task.build_requests(limit=1)] == [False]


def test_a_line_that_is_json_but_not_an_object(tmp_path):
    (tmp_path / "mc.jsonl").write_text(row("azul", ["yah", "uhu"], 0) + '["a", "b"]\n', encoding="utf-8")
    reqs = load_task(mc_task(tmp_path, "mc.jsonl")).build_requests()
    assert [r.skipped for r in reqs] == [None, "mc.jsonl line 2: a JSON list, not an object: fix or remove the line"]


def test_a_file_with_no_valid_line_is_an_error(tmp_path):
    (tmp_path / "mc.jsonl").write_text(BROKEN + BROKEN, encoding="utf-8")
    yaml = mc_task(tmp_path, "mc.jsonl")
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == (f"{yaml}: no line of split 'test' ({tmp_path / 'mc.jsonl'}) is a JSON object: "
                            "mc.jsonl line 1: not valid JSON (Expecting value at column 56): fix or remove the line; "
                            "mc.jsonl line 2: not valid JSON (Expecting value at column 56): fix or remove the line")


def test_a_broken_json_document_names_its_line(tmp_path):
    (tmp_path / "mc.json").write_text('[\n  {"question": "a", "choices": ["x"], "answer": 0},\n  {"question": \n]\n',
                                      encoding="utf-8")
    yaml = mc_task(tmp_path, "mc.json")
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == (f"{yaml}: {tmp_path / 'mc.json'} line 4 column 1: not valid JSON (Expecting value): "
                            "fix the file")


def test_the_skipped_line_is_counted_in_results_and_samples(tmp_path):
    from jazari_nlp.evaluation.harness import evaluate_tasks
    from jazari_nlp.modeling.tiny import build_tiny_llama
    from jazari_nlp.models import load_lm

    lm = load_lm(build_tiny_llama(tmp_path / "model", max_position_embeddings=64, train_steps=2), device="cpu",
                 dtype="float32")
    (tmp_path / "t" / "mc.jsonl").parent.mkdir()
    (tmp_path / "t" / "mc.jsonl").write_text(row("azul", ["yah", "uhu"], 0) + BROKEN + row("wakha", ["x", "y"], 5)
                                             + row("labas", ["c", "d"], 1), encoding="utf-8")
    doc = evaluate_tasks(lm, [load_task(mc_task(tmp_path / "t", "mc.jsonl"))], tmp_path / "out", progress=False)
    r = doc["tasks"]["t"]
    line2 = "mc.jsonl line 2: not valid JSON (Expecting value at column 56): fix or remove the line"
    assert r["n"] == 2 and r["n_skipped"] == 2
    assert r["skipped"] == {line2: 1, "answer index 5 is out of range for 2 choices": 1}
    samples = [json.loads(x) for x in (tmp_path / "out" / "samples_t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [s["doc_id"] for s in samples] == [0, 1, 2, 3]
    assert samples[3] == {"doc_id": 3, "skipped": line2,
                          "doc": {"file": str(tmp_path / "t" / "mc.jsonl"), "line": 2, "text": BROKEN.strip()}}


# ------------------------------------------------------------------------------------------ broken CSV quote

def test_a_csv_quote_never_closed_names_its_line_without_a_log_line(tmp_path, capfd):
    (tmp_path / "bad.csv").write_text('question,choices,answer\nsalam,"[\'a\', \'b\']",0\n"broken,x,1\nazul,y,0\n',
                                      encoding="utf-8")
    yaml = mc_task(tmp_path, "bad.csv", builder="csv")
    capfd.readouterr()
    with pytest.raises(TaskError) as e:
        load_task(yaml).check()
    assert str(e.value) == (f"{yaml}: {tmp_path / 'bad.csv'} line 3: a quoted field starts here and is never closed "
                            "(the rest of the file would be one field): close the quote, double a quote inside a "
                            "field (\"\"), or remove the line")
    out, err = capfd.readouterr()
    assert "Failed to read file" not in out + err


# --------------------------------------------------------------------------------------- train.eval_files

def _train_config(tmp_path: Path, eval_text: str) -> Path:
    (tmp_path / "train.txt").write_text("salam labas\nwakha bslama\n" * 20, encoding="utf-8")
    (tmp_path / "heldout.txt").write_text(eval_text, encoding="utf-8")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("name: tr\noutput_dir: runs\ntokenizer: {vocab_size: 300, files: [train.txt]}\n"
                   "model: {architecture: llama, hidden_size: 32, num_layers: 2, num_heads: 2, "
                   "max_position_embeddings: 64}\n"
                   "train: {max_steps: 4, files: [train.txt], block_size: 32, eval_steps: 2, "
                   "eval_files: [heldout.txt]}\n", encoding="utf-8")
    return cfg


@pytest.mark.parametrize("text", ["", "\n  \n\n"])
def test_config_validate_refuses_blank_eval_files(tmp_path, text):
    res = CliRunner().invoke(app, ["config", "validate", str(_train_config(tmp_path, text))],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert (f"- train.eval_files: no text (empty files, or blank lines only) in {tmp_path / 'heldout.txt'}: the "
            "held-out loss could never be computed: add held-out text to it, or remove train.eval_files"
            ) in " ".join(res.output.split())


def test_config_validate_accepts_eval_files_with_text(tmp_path):
    res = CliRunner().invoke(app, ["config", "validate", str(_train_config(tmp_path, "\nsalam\n"))])
    assert res.exit_code == 0, res.output


def test_the_train_stage_refuses_named_eval_files_that_give_no_text(tmp_path):
    from jazari_nlp.training.config import TrainConfig
    from jazari_nlp.training.lm import _eval_data

    (tmp_path / "heldout.txt").write_text("\n\n", encoding="utf-8")
    cfg = TrainConfig(max_steps=4, files=[str(tmp_path / "heldout.txt")], eval_steps=2,
                      eval_files=[str(tmp_path / "heldout.txt")])
    with pytest.raises(InputError) as e:
        _eval_data(cfg, None, iter([]), [], tmp_path / "cache", seed=0)
    assert str(e.value) == (f"train.eval_files: no text under text_field 'text' in {tmp_path / 'heldout.txt'}: the "
                            "held-out loss could never be computed: add held-out text to it, or remove "
                            "train.eval_files")
    # no eval_files named (a corpus heldout split that came out empty): a warning, training goes on
    assert _eval_data(TrainConfig(max_steps=4, files=[str(tmp_path / "heldout.txt")]), None, iter([]), [],
                      tmp_path / "cache", seed=0) == (None, {})


# ------------------------------------------------------------------------------------ tokenizer extend --model

def test_tokenizer_extend_errors_name_the_option_typed(tmp_path):
    (tmp_path / "darija.txt").write_text("salam labas\n" * 5, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(app, ["tokenizer", "extend", "-m", str(tmp_path / "empty"), "-i",
                                   str(tmp_path / "darija.txt"), "-n", "5", "-o", str(tmp_path / "out"), "-q"],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert out.startswith(f"error: --model: {tmp_path / 'empty'}") and "tokenizer.extend.model" not in out


def test_cli_options_keeps_other_text():
    from jazari_nlp.cli.tokenizer_cmd import cli_options

    assert cli_options("tokenizer.extend: no pair of tokens occurs 2 times or more in the 3 texts (after protection): "
                       "give more text or lower tokenizer.extend.min_frequency") == (
        "tokenizer extend: no pair of tokens occurs 2 times or more in the 3 texts (after protection): give more "
        "text or lower --min-frequency")
