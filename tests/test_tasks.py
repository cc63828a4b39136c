"""Task YAML files: prompts byte-identical to lm-evaluation-harness, bad input named clearly, the registry, groups.

The data below is written for these tests (short Darija / French / English items); nothing is read from the net.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from jazari_nlp.evaluation.task_config import TaskError
from jazari_nlp.evaluation.tasks import export_lm_eval, list_tasks, load_task, load_tasks

QUESTIONS = [
    ("شنو هي العاصمة ديال المغرب؟", ["فاس", "الرباط", "مراكش", "طنجة"], "B"),
    ("Combien de jours dans une semaine ?", ["sept", "cinq", "dix", "trois"], "A"),
    ("شحال من شهر فالعام؟", ["عشرة", "ستة", "طناش", "تمنية"], "C"),
    ("Which colour is the clear sky?", ["red", "green", "black", "blue"], "D"),
    ("فين كاينة صومعة حسان؟", ["فكازا", "فالرباط", "فوجدة", "فأكادير"], "B"),
    ("Quelle boisson se fait avec la menthe ?", ["le thé", "le lait", "le café", "l'huile"], "A"),
    ("شكون اللي كيداوي المراض؟", ["النجار", "الفلاح", "الطبيب", "الخضار"], "C"),
    ("How many hours are in a day?", ["twelve", "thirty", "twenty", "twenty-four"], "D"),
]
LABELS = ["A", "B", "C", "D"]


def _rows(offset: int = 0) -> list[dict]:
    rows = []
    for i, (q, choices, key) in enumerate(QUESTIONS):
        rows.append({"id": i + offset, "question": q + ("" if not offset else f" ({offset})"),
                     "choices": {"text": choices, "label": LABELS}, "answerKey": key,
                     "opt1": choices[0], "opt2": choices[1], "opt3": choices[2], "opt4": choices[3],
                     "num": LABELS.index(key) + 1})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    _write_jsonl(tmp_path / "test.jsonl", _rows())
    _write_jsonl(tmp_path / "train.jsonl", _rows(offset=100))
    return tmp_path


MC = {
    "task": "mini_mc",
    "dataset_path": "json",
    "dataset_kwargs": {"data_files": {"test": "test.jsonl", "train": "train.jsonl"}},
    "output_type": "multiple_choice",
    "test_split": "test",
    "training_split": "train",
    "description": "أسئلة بسيطة / simple questions\n\n",
    "doc_to_text": "Question: {{question}}\nAnswer:",
    "doc_to_choice": "{{choices.text}}",
    "doc_to_target": "{{choices.label.index(answerKey)}}",
    "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}],
}


def _write_task(folder: Path, cfg: dict, name: str | None = None) -> Path:
    path = folder / f"{name or cfg['task']}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _absolute(cfg: dict, folder: Path) -> dict:
    """The same config for lm-eval, which reads data_files from the working directory."""
    cfg = copy.deepcopy(cfg)
    files = cfg["dataset_kwargs"]["data_files"]
    cfg["dataset_kwargs"]["data_files"] = {k: str(folder / v) for k, v in files.items()}
    return cfg


def _lm_eval_args(cfg: dict, shots: int | None, limit: int | None, **build) -> dict[int, list[tuple]]:
    """What lm-eval 0.4's ConfigurableTask builds, per row: its requests' arguments (as its evaluator sets it up)."""
    pytest.importorskip("lm_eval")
    from lm_eval.api.task import ConfigurableTask

    task = ConfigurableTask(config=copy.deepcopy(cfg))
    if shots is not None and task.get_config("num_fewshot") != 0:
        task.set_config(key="num_fewshot", value=shots)
    elif task.get_config("num_fewshot") is None:
        task.set_config(key="num_fewshot", value=0)
    task.set_fewshot_seed(seed=1234)
    task.build_all_requests(limit=limit, **build)
    out: dict[int, list[tuple]] = defaultdict(list)
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        out[inst.doc_id].append(inst.arguments)
    return dict(out)


def _ours(task, shots, limit, **build) -> dict[int, list[tuple]]:
    out = {}
    for r in task.build_requests(num_fewshot=shots, limit=limit, **build):
        assert r.skipped is None, r.skipped
        if r.kind in ("multiple_choice", "loglikelihood"):
            out[r.doc_id] = [(r.context, c) for c in r.continuations]
        elif r.kind == "loglikelihood_rolling":
            out[r.doc_id] = [(r.continuations[0],)]
        else:
            out[r.doc_id] = [(r.context, r.generation_kwargs)]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Byte-identical prompts


@pytest.mark.parametrize("shots", [0, 3])
@pytest.mark.parametrize("sampler", ["default", "first_n"])
@pytest.mark.parametrize("fewshot_split", ["train", "test"])
def test_multiple_choice_contexts_match_lm_eval(data, shots, sampler, fewshot_split):
    cfg = {**MC, "fewshot_split": fewshot_split, "fewshot_config": {"sampler": sampler}}
    ours = _ours(load_task(_write_task(data, cfg)), shots, None)
    theirs = _lm_eval_args(_absolute(cfg, data), shots, None)
    assert len(ours) == len(QUESTIONS) == len(theirs)
    assert ours == theirs
    if shots:  # the few-shot examples really are in the prompt, and a row never shows its own answer
        first = ours[0][0][0]
        assert first.count("Question:") == shots + 1
        assert first.startswith(MC["description"])
        if fewshot_split == "test":
            assert first.count(QUESTIONS[0][0]) == 1


FEWSHOT_VARIANTS = {
    "samples_in_yaml": {"fewshot_config": {"samples": [
        {"question": "سؤال لول", "choices": {"text": ["اه", "لا"], "label": ["A", "B"]}, "answerKey": "B"},
        {"question": "Deuxième question", "choices": {"text": ["oui", "non"], "label": ["A", "B"]}, "answerKey": "A"},
    ]}},
    "indices_have_no_effect": {"fewshot_split": "train", "fewshot_config": {"fewshot_indices": [5, 2, 7, 0]}},
    "delimiters_and_description_template": {"fewshot_split": "train", "target_delimiter": "",
                                            "fewshot_delimiter": "\n---\n", "description": "{{id}}: "},
    "pool_is_the_test_split": {"training_split": None, "dataset_kwargs": {"data_files": {"test": "test.jsonl"}}},
    "fewshot_overrides": {"fewshot_split": "train",
                          "fewshot_config": {"doc_to_text": "[{{question}}]", "target_delimiter": " => "}},
    "num_fewshot_fixed_at_0": {"fewshot_split": "train", "num_fewshot": 0},
    "num_fewshot_in_yaml": {"fewshot_split": "train", "num_fewshot": 1},
}


@pytest.mark.parametrize("variant", sorted(FEWSHOT_VARIANTS))
@pytest.mark.parametrize("shots", [None, 2])
def test_fewshot_variants_match_lm_eval(data, variant, shots):
    cfg = {k: v for k, v in {**MC, **FEWSHOT_VARIANTS[variant]}.items() if v is not None}
    ours = _ours(load_task(cfg, data), shots, None)
    assert ours == _lm_eval_args(_absolute(cfg, data), shots, None)
    expected = 0 if variant == "num_fewshot_fixed_at_0" else shots or cfg.get("num_fewshot", 0)
    shown = ours[1][0][0].count("=>" if variant == "fewshot_overrides" else "Answer:")
    assert shown == (expected if variant == "fewshot_overrides" else expected + 1)


def test_limit_and_seed_follow_lm_eval(data):
    cfg = {**MC, "fewshot_split": "test"}
    task = load_task(_write_task(data, cfg))
    assert _ours(task, 2, 5) == _lm_eval_args(_absolute(cfg, data), 2, 5)
    assert len(task.build_requests(num_fewshot=2, limit=0.5)) == 4  # a fraction, as lm-eval
    a = [r.context for r in task.build_requests(num_fewshot=2, seed=1)]
    b = [r.context for r in task.build_requests(num_fewshot=2, seed=2)]
    assert a != b


def test_include_literal_choices_and_gen_prefix_match_lm_eval(data):
    base = {
        "dataset_path": "json", "output_type": "multiple_choice",
        "fewshot_config": {"sampler": "first_n"},
        "doc_to_text": "Q: {{question.strip()}}\nA: {{opt1}}\nB: {{opt2}}\nC: {{opt3}}\nD: {{opt4}}\nAnswer:",
        "doc_to_choice": ["A", "B", "C", "D"],
        "doc_to_target": "{{['1', '2', '3', '4'].index(num|string)}}",
    }
    (data / "_template_yaml").write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    child = {"include": "_template_yaml", "task": "mini_letters", "test_split": "test", "fewshot_split": "train",
             "dataset_kwargs": {"data_files": {"test": "test.jsonl", "train": "train.jsonl"}}}
    task = load_task(_write_task(data, child))
    merged = {**base, **{k: v for k, v in child.items() if k != "include"}}
    assert _ours(task, 2, None) == _lm_eval_args(_absolute(merged, data), 2, None)
    reqs = task.build_requests()
    assert [r.gold for r in reqs] == [LABELS.index(k) for _, _, k in QUESTIONS]
    assert reqs[0].continuations == [" A", " B", " C", " D"] and reqs[0].choices == LABELS

    prefixed = {**merged, "task": "mini_prefix", "gen_prefix": "الجواب:", "doc_to_text": "{{question}}"}
    ours = _ours(load_task(prefixed, data), 2, None)
    assert ours == _lm_eval_args(_absolute(prefixed, data), 2, None)
    assert ours[0][0][0].endswith(f"{QUESTIONS[0][0]} الجواب:")


def test_generation_loglikelihood_and_rolling_match_lm_eval(data):
    gen = {"task": "mini_gen", "dataset_path": "json",
           "dataset_kwargs": {"data_files": {"test": "test.jsonl", "train": "train.jsonl"}},
           "output_type": "generate_until", "test_split": "test", "fewshot_split": "train",
           "doc_to_text": "{{question}}\n=>", "doc_to_target": "{{choices.text[choices.label.index(answerKey)]}}",
           "generation_kwargs": {"until": ["\n", "."], "max_gen_toks": 16, "do_sample": False, "temperature": 0.0}}
    ours = _ours(load_task(gen, data), 3, None)
    assert ours == _lm_eval_args(_absolute(gen, data), 3, None)
    assert ours[0][0][1] == {"until": ["\n", "."], "max_gen_toks": 16, "do_sample": False, "temperature": 0.0}
    reqs = load_task(gen, data).build_requests()
    assert reqs[0].gold == "الرباط" and reqs[0].continuations == []

    bare = {**gen, "task": "mini_gen_defaults"}
    bare.pop("generation_kwargs")
    assert _ours(load_task(bare, data), 0, 2) == _lm_eval_args(_absolute(bare, data), 0, 2)  # until: ["\n\n"]

    ll = {**gen, "task": "mini_ll", "output_type": "loglikelihood", "doc_to_text": "question",  # a bare field
          "doc_to_target": "{{' ' + answerKey}}"}
    ll.pop("generation_kwargs")
    ours = _ours(load_task(ll, data), 2, None)
    assert ours == _lm_eval_args(_absolute(ll, data), 2, None)
    assert ours[0][0][1] == " B"  # lm-eval puts no target_delimiter before a loglikelihood target

    roll = {"task": "mini_roll", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": "test.jsonl"}},
            "output_type": "loglikelihood_rolling", "test_split": "test", "doc_to_text": "",
            "doc_to_target": "{{question}}"}
    assert _ours(load_task(roll, data), 0, None) == _lm_eval_args(_absolute(roll, data), 0, None)


def _fake_chat(messages, add_generation_prompt=True):
    return json.dumps(messages, ensure_ascii=False) + ("<assistant>" if add_generation_prompt else "")


@pytest.mark.parametrize("multiturn", [True, False])
def test_chat_prompts_match_lm_eval(data, multiturn):
    cfg = {**MC, "fewshot_split": "train"}
    kw = {"system_instruction": "جاوب بحرف واحد.", "fewshot_as_multiturn": multiturn}
    ours = _ours(load_task(cfg, data), 2, 3, apply_chat_template=True, chat_template=_fake_chat, **kw)
    theirs = _lm_eval_args(_absolute(cfg, data), 2, 3, apply_chat_template=True, chat_template=_fake_chat, **kw)
    assert ours == theirs
    turns = json.loads(ours[0][0][0].removesuffix("<assistant>"))
    assert [t["role"] for t in turns] == (["system", "user", "assistant", "user", "assistant", "user"]
                                          if multiturn else ["system", "user"])
    assert ours[0][0][1] == "فاس"  # no delimiter before a chat answer
    with pytest.raises(ValueError, match="chat_template="):
        load_task(cfg, data).build_requests(apply_chat_template=True)


def test_jazari_extras_export_to_lm_eval_with_the_same_prompts(data):
    cfg = {"task": "mini_extras", "dataset_path": "json",
           "dataset_kwargs": {"data_files": {"test": "test.jsonl", "train": "train.jsonl"}},
           "output_type": "multiple_choice", "test_split": "test", "fewshot_split": "train",
           "rename_fields": {"q": "question"}, "choices_from": ["opt1", "opt2", "opt3", "opt4"],
           "doc_to_text": "{{q}}\nجواب:", "doc_to_target": "num", "target_offset": -1}
    task = load_task(_write_task(data, cfg))
    reqs = task.build_requests()
    assert [r.gold for r in reqs] == [LABELS.index(k) for _, _, k in QUESTIONS]
    assert reqs[0].choices == QUESTIONS[0][1]
    exported = yaml.safe_load(export_lm_eval(task))
    assert not {"rename_fields", "choices_from", "target_offset"} & set(exported)
    assert _ours(task, 3, None) == _lm_eval_args(exported, 3, None)
    with pytest.raises(TaskError, match="filter_rows has no lm-eval equivalent"):
        export_lm_eval(load_task({**cfg, "filter_rows": {"answerKey": "A"}}, data))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "disk"])
def test_other_data_formats_give_the_same_requests(data, fmt):
    datasets = pytest.importorskip("datasets")
    flat = [{k: v for k, v in r.items() if k != "choices"} for r in _rows()]
    cfg = {"task": f"flat_{fmt}", "output_type": "multiple_choice", "test_split": "test",
           "doc_to_text": "{{question}}\nAnswer:", "choices_from": ["opt1", "opt2", "opt3", "opt4"],
           "doc_to_target": "num", "target_offset": -1}
    ds = datasets.Dataset.from_list(flat)
    if fmt == "disk":
        datasets.DatasetDict({"test": ds}).save_to_disk(str(data / "saved"))
        cfg["dataset_path"] = "saved"
    else:
        getattr(ds, f"to_{fmt}")(str(data / f"flat.{fmt}"))
        cfg |= {"dataset_path": fmt, "dataset_kwargs": {"data_files": {"test": f"flat.{fmt}"}}}
    _write_jsonl(data / "flat.jsonl", flat)
    as_json = {**cfg, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": "flat.jsonl"}}}
    ours = [(r.context, r.continuations, r.gold) for r in load_task(cfg, data).build_requests()]
    assert ours == [(r.context, r.continuations, r.gold) for r in load_task(as_json, data).build_requests()]
    assert len(ours) == 8 and ours[0][2] == 1
    hashes = load_task(as_json, data).data_sha256()
    assert hashes == {str(data / "flat.jsonl"): hashlib.sha256((data / "flat.jsonl").read_bytes()).hexdigest()}


@pytest.mark.parametrize("corpus", ["afrisenti_ary", "sib200_ary"])
def test_real_darija_files_match_lm_eval(shared_data, corpus):
    """Real tab-separated files (read where they lie, never copied): 3-shot contexts identical to lm-eval's."""
    folder, field, choices = {
        "afrisenti_ary": (shared_data / "afrisenti" / "ary", "tweet", ["negative", "neutral", "positive"]),
        "sib200_ary": (shared_data / "sib200" / "ary_Arab", "text",
                       ["science/technology", "travel", "politics", "sports", "health", "entertainment",
                        "geography"]),
    }[corpus]
    if not (folder / "dev.tsv").is_file() or not (folder / "train.tsv").is_file():
        pytest.skip(f"{folder} has no dev.tsv/train.tsv")
    label = "label" if corpus.startswith("afrisenti") else "category"
    cfg = {"task": corpus, "dataset_path": "csv",
           "dataset_kwargs": {"data_files": {"dev": str(folder / "dev.tsv"), "train": str(folder / "train.tsv")},
                              "delimiter": "\t"},
           "output_type": "multiple_choice", "validation_split": "dev", "fewshot_split": "train",
           "doc_to_text": f"{{{{{field}}}}}\nالتصنيف:", "doc_to_choice": choices, "doc_to_target": label}
    task = load_task(cfg)
    reqs = task.build_requests(num_fewshot=3, limit=30)
    assert len(reqs) == 30 and sum(r.skipped is None for r in reqs) == 30
    assert _ours(task, 3, 30) == _lm_eval_args(cfg, 3, 30)


def test_shipped_examples_match_lm_eval():
    for name in ("jazari_example_mc", "jazari_example_gen"):
        task = load_task(name)
        reqs = task.build_requests(num_fewshot=3)
        assert len(reqs) == len(task.eval_docs()) == 8 and not any(r.skipped for r in reqs)
        assert _ours(task, 3, None) == _lm_eval_args(yaml.safe_load(export_lm_eval(task)), 3, None)


# ---------------------------------------------------------------------------------------------------------------
# Bad input


def _error(tmp_path: Path, cfg: dict, name: str = "bad") -> TaskError:
    path = _write_task(tmp_path, cfg, name)
    with pytest.raises(TaskError) as e:
        load_task(path).check()
    return e.value


def test_unknown_keys_get_did_you_mean(data):
    cfg = {**MC, "doc_to_txt": "x", "fewshot_config": {"samplr": "first_n"}, "output_type": "multiple_choise"}
    err = _error(data, cfg)
    assert err.file == str(data / "bad.yaml")
    assert any(p.startswith("doc_to_txt: unknown key 'doc_to_txt'; did you mean 'doc_to_text'?")
               for p in err.problems)
    assert any(p.startswith("fewshot_config.samplr: unknown key 'samplr'; did you mean 'sampler'?")
               for p in err.problems)
    assert any(p.startswith("output_type:") and "did you mean 'multiple_choice'?" in p for p in err.problems)
    assert len(err.problems) == 3


def test_function_hooks_are_refused_with_the_declarative_way(data):
    text = yaml.safe_dump(MC, allow_unicode=True) + "process_docs: !function utils.process_docs\n"
    (data / "hook.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TaskError) as e:
        load_task(data / "hook.yaml")
    (problem,) = e.value.problems
    assert problem.startswith("process_docs: `!function utils.process_docs` (line ")
    assert "which jazari never does; use rename_fields" in problem
    with pytest.raises(TaskError, match="metric_list.1.metric: unknown metric 'acc_nrom'; did you mean 'acc_norm'"):
        load_task({**MC, "metric_list": [{"metric": "acc"}, {"metric": "acc_nrom"}]}, data)
    with pytest.raises(TaskError, match="use_prompt: needs promptsource"):
        load_task({**MC, "use_prompt": "promptsource:x"}, data)


def test_missing_data_file_names_it_and_the_source(tmp_path):
    cfg = {**MC, "metadata": {"source": "Belebele (facebook/belebele)", "download": "huggingface.co/datasets/x"}}
    with pytest.raises(TaskError) as e:  # when the task is loaded, before any data is read
        load_task(_write_task(tmp_path, cfg))
    err = e.value
    assert err.problems[0] == (f"dataset_kwargs.data_files: file not found: {tmp_path / 'test.jsonl'} (the data "
                               "comes from Belebele (facebook/belebele); get it: huggingface.co/datasets/x)")
    assert len(err.problems) == 2  # train.jsonl too


def test_template_field_missing_from_the_data(data):
    err = _error(data, {**MC, "doc_to_text": "Question: {{questoin}}\nAnswer:"})
    (problem,) = err.problems
    assert problem == ("doc_to_text: the template uses field 'questoin', which split 'test' does not have; did "
                       "you mean 'question'? Its fields: id, question, choices, answerKey, opt1, opt2, opt3, opt4, num")
    err = _error(data, {**MC, "doc_to_target": "answerkey", "doc_to_choice": ["A", "B", "C", "D"]})
    assert err.problems == ["doc_to_target: 'answerkey' is not a field of the data; did you mean 'answerKey'? Its "
                            "fields: id, question, choices, answerKey, opt1, opt2, opt3, opt4, num"]


def test_bad_rows_are_skipped_with_their_reason(tmp_path):
    rows = _rows()
    rows[1]["num"] = 7  # answer index out of range
    rows[2]["question"] = None  # an empty field
    rows[3]["question"] = "{{ not a template, just text }}"  # a row's text is never rendered again
    rows[4]["opt1"] = rows[4]["opt2"] = rows[4]["opt3"] = rows[4]["opt4"] = ""  # no choice left
    rows[5].pop("opt3")  # a row missing a field (null in the data set)
    _write_jsonl(tmp_path / "test.jsonl", rows)
    cfg = {"task": "rows", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": "test.jsonl"}},
           "output_type": "multiple_choice", "test_split": "test", "doc_to_text": "{{question}}",
           "choices_from": ["opt1", "opt2", "opt3", "opt4"], "doc_to_target": "num", "target_offset": -1}
    reqs = load_task(cfg, tmp_path).build_requests()
    assert len(reqs) == len(rows)  # never dropped
    assert [r.skipped for r in reqs] == [
        None,
        "answer index 6 is out of range for 4 choices",
        "doc_to_text: field 'question' is empty in this row",
        None,
        "empty choice list",
        None,  # three choices left: the empty opt3 is left out
        None, None,
    ]
    assert reqs[3].context == "{{ not a template, just text }}"
    assert reqs[5].choices == [QUESTIONS[5][1][i] for i in (0, 1, 3)] and reqs[5].gold == 0

    tpl = {**cfg, "choices_from": None, "doc_to_choice": "{{choices.text}}"}
    rows[6]["choices"] = {"text": [], "label": []}
    _write_jsonl(tmp_path / "test.jsonl", rows)
    reqs = load_task(tpl, tmp_path).build_requests()
    assert reqs[6].skipped == "empty choice list"


def test_every_row_bad_is_an_error_before_work(tmp_path):
    rows = [dict(r, num=9) for r in _rows()]
    _write_jsonl(tmp_path / "test.jsonl", rows)
    cfg = {"task": "all_bad", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": "test.jsonl"}},
           "output_type": "multiple_choice", "test_split": "test", "doc_to_text": "{{question}}",
           "doc_to_choice": "{{choices.text}}", "doc_to_target": "num"}
    with pytest.raises(TaskError) as e:
        load_task(cfg, tmp_path).build_requests()
    assert e.value.problems == ["none of the 8 rows can be used: answer index 9 is out of range for 4 choices"]


def test_empty_choice_list_in_the_file_and_invalid_utf8(data):
    err = _error(data, {**MC, "doc_to_choice": []})
    assert err.problems == ["doc_to_choice: empty choice list: give at least two choices"]
    raw = (data / "test.jsonl").read_bytes().split(b"\n")
    raw[2] = raw[2].replace("شحال".encode(), b"\xe4\xa9 bad")  # a cp1256-style byte pair in line 3
    (data / "test.jsonl").write_bytes(b"\n".join(raw))
    (problem,) = _error(data, MC).problems
    assert problem.startswith(f"{data / 'test.jsonl'}: line 3 is not valid UTF-8 (byte ")
    assert problem.endswith("task data must be UTF-8: re-save the file as UTF-8 (for example `iconv -f cp1256 "
                            "-t utf-8`)")


def test_hub_data_needs_network_and_a_revision(tmp_path):
    cfg = {k: v for k, v in MC.items() if k != "dataset_kwargs"} | {"dataset_path": "facebook/belebele"}
    with pytest.raises(TaskError) as e:
        load_task(cfg, tmp_path)
    (problem,) = e.value.problems
    assert problem.startswith("dataset_path: 'facebook/belebele' is not json, csv, parquet, text, arrow nor a "
                              "local folder")
    assert "allow_network: true (in the experiment) and a pinned dataset_kwargs.revision" in problem
    with pytest.raises(TaskError, match="never runs a data set's loading script"):
        load_task({**cfg, "dataset_kwargs": {"trust_remote_code": True}}, tmp_path)


def test_missing_split_and_filter_rows(data):
    err = _error(data, {**MC, "test_split": "validation"})
    assert err.problems[0].startswith("split 'validation' is not in the data (splits: test, train)")
    task = load_task({**MC, "filter_rows": {"answerKey": ["A", "B"]}}, data)
    assert len(task.build_requests()) == sum(k in "AB" for _, _, k in QUESTIONS)
    err = _error(data, {**MC, "filter_rows": {"answerKey": "E"}})
    assert err.problems[0].startswith("filter_rows kept none of the 8 rows of split 'test'; values found: "
                                      "answerKey: 'A', 'B', 'C', 'D'")


# ---------------------------------------------------------------------------------------------------------------
# Registry and groups


def test_registry_finds_shipped_and_user_tasks(data):
    shipped = {t.name: t for t in list_tasks()}
    assert {"jazari_example_mc", "jazari_example_gen"} <= set(shipped)
    assert shipped["jazari_example_mc"].output_type == "multiple_choice"
    assert shipped["jazari_example_mc"].source == "package"
    user = data / "mine"
    user.mkdir()
    _write_task(user, {**MC, "task": "darija_user_mc", "tag": "mine_tag",
                       "dataset_kwargs": {"data_files": {"test": "../test.jsonl", "train": "../train.jsonl"}}})
    _write_task(user, {"group": "mine_group", "task": ["darija_user_mc"]}, "mine_group")
    found = {t.name: t for t in list_tasks([user])}
    assert found["darija_user_mc"].source == str(user) and found["darija_user_mc"].tags == ["mine_tag"]
    assert found["darija_user_mc"].groups == ["mine_tag", "mine_group"] and found["mine_group"].kind == "group"
    task = load_task("darija_user_mc", search=[user])
    assert task.path == user / "darija_user_mc.yaml" and len(task.build_requests()) == 8
    assert [t.name for t in load_tasks(["mine_tag", "jazari_example_mc"], search=user)] == [
        "darija_user_mc", "jazari_example_mc"]
    assert [t.name for t in load_task(user).tasks()] == ["darija_user_mc"]  # a folder: its task files
    assert load_task("mine/darija_user_mc.yaml", base_dir=data).name == "darija_user_mc"  # a path
    with pytest.raises(TaskError) as e:
        load_task("darija_usr_mc", search=[user])
    assert "did you mean 'darija_user_mc'?" in str(e.value)
    with pytest.raises(TaskError, match="task file not found"):
        load_task("nope/none.yaml", base_dir=data)


def test_groups_expand_and_aggregate_by_size(data):
    _write_task(data, {**MC, "task": "g_a"})
    group = {"group": "g_all", "num_fewshot": 1,
             "task": ["g_a", {"task": "g_b", **{k: v for k, v in MC.items() if k != "task"},
                               "fewshot_split": "train", "num_fewshot": 2}],
             "aggregate_metric_list": [{"metric": "acc", "weight_by_size": True}]}
    g = load_task(_write_task(data, group, "g_all"))
    a, b = g.tasks()
    assert (a.name, b.name) == ("g_a", "g_b") and a.groups == b.groups == ["g_all"]
    assert (a.shots(), b.shots()) == (1, 2)  # group-level keys apply to members, a member's own win
    assert a.build_requests()[0].context.count("Question:") == 2
    scores = {"g_a": {"acc": 1.0, "acc_stderr": 0.0, "n": 2}, "g_b": {"acc": 0.5, "acc_stderr": 0.2, "n": 6}}
    out = g.aggregate(scores)
    assert out["acc"] == pytest.approx((1.0 * 2 + 0.5 * 6) / 8) and out["n"] == 8
    lm_metrics = pytest.importorskip("lm_eval.api.metrics")
    assert out["acc_stderr"] == pytest.approx(lm_metrics.pooled_sample_stderr([0.0, 0.2], [2, 6]))
    g.config.aggregate_metric_list[0].weight_by_size = False
    out = g.aggregate(scores)
    assert out["acc"] == pytest.approx(0.75) and out["acc_stderr"] == pytest.approx(math.sqrt(0.04) / 2)
    with pytest.raises(TaskError, match="no task, group or tag named 'g_c'; did you mean 'g_a'"):
        load_task(_write_task(data, {**group, "task": ["g_c"]}, "g_bad"))
