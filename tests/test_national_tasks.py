"""The national benchmark adapters (jazari_nlp/evaluation/tasks/national/): each reads its documented local layout
under ${JAZARI_DATA}, and builds the prompts of lm-evaluation-harness's own definition of the benchmark.

Every data row below was written for these tests (short Darija, Tamazight, French and English items); the files
in ../shared/data are only read where they lie, never copied.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path

import pytest

from jazari_nlp.evaluation.task_config import TaskError
from jazari_nlp.evaluation.tasks import (
    DEFAULT_DATA_ROOT,
    PACKAGE_TASKS,
    TaskGroup,
    expand_path,
    list_tasks,
    load_task,
)

NATIONAL = PACKAGE_TASKS / "national"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty data root, pointed at by JAZARI_DATA."""
    r = tmp_path / "benchmarks"
    r.mkdir()
    monkeypatch.setenv("JAZARI_DATA", str(r))
    return r


# ---------------------------------------------------------------------------------------------------------------
# Writing files in the documented formats


def _parquet(path: Path, rows: list[dict]) -> Path:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _tsv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csv(path: Path, header: list[str], rows: list[list]) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)
    return path


def _lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# lm-eval's own definitions, on the same local files


def _lm_eval_yaml(rel: str, **override) -> dict:
    """lm-eval 0.4's YAML for a task (includes and its utils.py functions resolved), data pointed at local files."""
    pytest.importorskip("lm_eval")
    import lm_eval
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(Path(lm_eval.__file__).parent / "tasks" / rel)
    for key in ("dataset_name", "dataset_kwargs"):
        cfg.pop(key, None)
    return {**cfg, **override}


def _lm_eval_args(cfg: dict, shots: int, limit: int | None = None) -> dict[int, list[tuple]]:
    """What lm-eval's ConfigurableTask builds per row (as its evaluator sets it up), as in tests/test_tasks.py."""
    from lm_eval.api.task import ConfigurableTask

    task = ConfigurableTask(config=copy.deepcopy(cfg))
    if task.get_config("num_fewshot") != 0:
        task.set_config(key="num_fewshot", value=shots)
    task.set_fewshot_seed(seed=1234)
    task.build_all_requests(limit=limit)
    out: dict[int, list[tuple]] = defaultdict(list)
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        out[inst.doc_id].append(inst.arguments)
    return dict(out)


def _ours(task, shots: int, limit: int | None = None) -> dict[int, list[tuple]]:
    out = {}
    for r in task.build_requests(num_fewshot=shots, limit=limit):
        assert r.skipped is None, r.skipped
        if r.kind == "multiple_choice":
            out[r.doc_id] = [(r.context, c) for c in r.continuations]
        else:
            out[r.doc_id] = [(r.context, r.generation_kwargs)]
    return out


def _contexts(args: dict[int, list[tuple]]) -> dict[int, str]:
    return {i: a[0][0] for i, a in args.items()}


def _same_as_lm_eval(task, lm_cfg: dict, shots: int, limit: int | None = None) -> None:
    ours, theirs = _ours(task, shots, limit), _lm_eval_args(lm_cfg, shots, limit)
    assert len(ours) == len(theirs) > 0
    if task.config.output_type == "generate_until":  # lm-eval's generation kwargs carry its own extra keys
        assert _contexts(ours) == _contexts(theirs)
        for i, ((_, ours_gen),) in ours.items():
            assert ours_gen["until"] == theirs[i][0][1]["until"]
    else:
        assert ours == theirs


# ---------------------------------------------------------------------------------------------------------------
# The shipped files


def test_every_national_yaml_reads_and_names_its_data():
    infos = [t for t in list_tasks() if NATIONAL in t.path.parents]
    assert not [t for t in infos if t.error]
    tasks = [t for t in infos if t.kind == "task"]
    groups = {t.name for t in infos if t.kind == "group"}
    assert (len(tasks), len(groups)) == (94, 13)
    assert groups == {"darijammlu", "darijammlu_mmlu", "darijammlu_ar_mmlu", "darija_sentiment", "darija_translation",
                      "darija_translation_doda", "darija_translation_flores", "darija_translation_madar",
                      "darija_translation_seed", "darija_transliteration", "darija_summarization", "flores_plus",
                      "sib200"}
    counts = defaultdict(int)
    for t in tasks:
        counts[t.path.relative_to(NATIONAL).parts[0]] += 1
    assert dict(counts) == {"darijammlu": 44, "darijahellaswag": 1, "belebele": 1, "darija_bench": 29,
                            "flores_plus": 12, "sib200": 3, "afrisenti": 1, "doda": 3}
    from jazari_nlp.evaluation.task_config import read_yaml, validate

    for t in tasks:  # every task says where its data comes from, and reads it under the data root
        cfg = validate(read_yaml(t.path), t.path)
        assert cfg.metadata["source"] and cfg.metadata["download"], t.name
        files = cfg.dataset_kwargs.data_files
        flat = [p for v in files.values() for p in (v.values() if isinstance(v, dict) else [v])]
        assert flat and all(p.startswith("${JAZARI_DATA}/") for p in flat), t.name


def test_expand_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JAZARI_DATA", str(tmp_path))
    assert expand_path("${JAZARI_DATA}/sib200/ary_Arab/dev.tsv") == f"{tmp_path}/sib200/ary_Arab/dev.tsv"
    monkeypatch.delenv("JAZARI_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert expand_path("${JAZARI_DATA}/x") == f"{tmp_path}/home/.cache/jazari_nlp/benchmarks/x"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_DATA", "rel")  # a relative root is the working directory's, not the task folder's
    assert expand_path("${MY_DATA}/a.jsonl") == f"{tmp_path}/rel/a.jsonl"
    monkeypatch.delenv("MY_DATA")
    with pytest.raises(ValueError, match=r"\$\{MY_DATA\} in '\$\{MY_DATA\}/a.jsonl': the environment variable "
                                         "MY_DATA is not set"):
        expand_path("${MY_DATA}/a.jsonl")
    assert expand_path("plain/$HOME/path") == "plain/$HOME/path"  # only ${NAME} is a variable


def test_missing_file_names_it_the_data_root_and_the_source(root, monkeypatch, tmp_path):
    with pytest.raises(TaskError) as e:
        load_task("belebele_ary_Arab")
    assert e.value.problems == [
        f"dataset_kwargs.data_files: file not found: {root}/belebele/data/ary_Arab.jsonl (the data root is "
        f"JAZARI_DATA={root}; the data comes from Belebele (facebook/belebele on the Hugging Face Hub, config "
        "ary_Arab, CC BY-SA 4.0); get it: huggingface-cli download facebook/belebele --repo-type dataset --include "
        "data/ary_Arab.jsonl --local-dir $JAZARI_DATA/belebele (the layout: data/ary_Arab.jsonl, fields "
        "flores_passage, question, mc_answer1..mc_answer4, correct_answer_num counted from 1))"]
    monkeypatch.delenv("JAZARI_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(TaskError) as e:
        load_task("sib200_zgh_Tfng")
    default = tmp_path / "home" / ".cache" / "jazari_nlp" / "benchmarks"
    first, second = e.value.problems
    assert first.startswith(f"dataset_kwargs.data_files: file not found: {default}/sib200/tzm_Tfng/dev.tsv (JAZARI_DATA"
                            f" is not set, so the default data root {DEFAULT_DATA_ROOT} was used: set JAZARI_DATA "
                            "to the folder that holds the benchmarks; the data comes from SIB-200 (")
    assert second == f"dataset_kwargs.data_files: file not found: {default}/sib200/tzm_Tfng/test.tsv"  # hint once
    with pytest.raises(TaskError, match=r"no file matches .*/DarijaMMLU/global_facts/test\*\.parquet \(JAZARI_DATA "
                                        "is not set"):
        load_task("darijammlu")  # a group: its first subject's files are missing


# ---------------------------------------------------------------------------------------------------------------
# DarijaMMLU

MMLU_TEST = [
    {"question": "شنو هو الحساب اللي كيتسجل فيه الفلوس اللي داخلة؟", "context": "",
     "choices": ["المداخيل", "المصاريف", "الديون", "الرأسمال"], "answer": 0, "subject": "accounting",
     "subject_darija": "المحاسبة", "source": "arabic_mmlu"},
    {"question": "شحال كيبقى فالصندوق؟", "context": "الشركة دخلات 100 درهم وخرجات 40 درهم.",
     "choices": ["40", "60", "140"], "answer": 1, "subject": "accounting", "subject_darija": "المحاسبة",
     "source": "arabic_mmlu"},
    {"question": "واش الميزانية كتبين الأصول والخصوم؟", "context": "", "choices": ["اه", "لا"], "answer": 0,
     "subject": "accounting", "subject_darija": "المحاسبة", "source": "arabic_mmlu"},
]
MMLU_DEV = [
    {"question": "فين كتكتب الفاتورة؟", "context": "", "choices": ["فالدفتر", "فالسما", "فالبحر", "فالجبل"],
     "answer": 0, "subject": "accounting", "subject_darija": "المحاسبة", "source": "arabic_mmlu"},
    {"question": "شنو كيعني الربح؟", "context": "", "choices": ["الخسارة", "الفرق الموجب", "الضريبة", "الكرا"],
     "answer": 1, "subject": "accounting", "subject_darija": "المحاسبة", "source": "arabic_mmlu"},
]
HEADER = "هادا سؤال متعدد الخيارات (مع الجواب ديالو) على المحاسبة\n\n"


def _mmlu(root: Path, subject: str = "accounting") -> Path:
    folder = root / "DarijaMMLU" / subject
    _parquet(folder / "test-00000-of-00001.parquet", MMLU_TEST)
    _parquet(folder / "dev-00000-of-00001.parquet", MMLU_DEV)
    return folder


def test_darijammlu_prompt_letters_and_gold(root):
    folder = _mmlu(root)
    task = load_task("darijammlu_accounting")
    task.check()
    reqs = task.build_requests(num_fewshot=0)
    assert [r.skipped for r in reqs] == [None] * 3
    first, second = reqs[0], reqs[1]
    assert first.context == (HEADER + "شنو هو الحساب اللي كيتسجل فيه الفلوس اللي داخلة؟\nA. المداخيل\n"
                             "B. المصاريف\nC. الديون\nD. الرأسمال\nالجواب:")
    assert first.choices == ["A", "B", "C", "D"] and first.continuations == [" A", " B", " C", " D"]
    assert first.gold == 0
    assert second.context == (HEADER + "الشركة دخلات 100 درهم وخرجات 40 درهم.\n\nشحال كيبقى فالصندوق؟\nA. 40\n"
                              "B. 60\nC. 140\nالجواب:")
    assert second.choices == ["A", "B", "C"] and second.gold == 1
    shot = task.build_requests(num_fewshot=2)[0]  # the first dev rows, answered with their letter
    assert shot.context == (HEADER + "فين كتكتب الفاتورة؟\nA. فالدفتر\nB. فالسما\nC. فالبحر\nD. فالجبل\nالجواب: A"
                            "\n\n" + HEADER + "شنو كيعني الربح؟\nA. الخسارة\nB. الفرق الموجب\nC. الضريبة\nD. الكرا\n"
                            "الجواب: B\n\n" + first.context)
    lm = _lm_eval_yaml("darijammlu/darijammlu_accounting.yaml", dataset_path="parquet", dataset_kwargs={
        "data_files": {"test": str(folder / "test-00000-of-00001.parquet"),
                       "dev": str(folder / "dev-00000-of-00001.parquet")}})
    for shots in (0, 2):
        _same_as_lm_eval(task, lm, shots)


def test_darijammlu_group_has_the_44_subjects_weighted_by_size(root):
    subjects = sorted(p.stem.removeprefix("darijammlu_") for p in (NATIONAL / "darijammlu").glob("darijammlu_*.yaml")
                      if p.stem not in ("darijammlu_mmlu", "darijammlu_ar_mmlu"))
    assert len(subjects) == 44
    for s in subjects:
        _mmlu(root, s)
    group = load_task("darijammlu")
    assert isinstance(group, TaskGroup) and [m.name for m in group.members] == ["darijammlu_mmlu",
                                                                                "darijammlu_ar_mmlu"]
    mmlu, ar = group.members  # the tags in lm-eval's group files stand for their subjects
    assert (len(mmlu.members), len(ar.members)) == (23, 21) and all(m.kind == "group" for m in (mmlu, ar))
    assert sorted(t.name for t in group.tasks()) == sorted(f"darijammlu_{s}" for s in subjects)
    # the score of every subject, weighted by its size, through both levels (as lm-eval's weight_by_size)
    scores = {t.name: {"acc": 1.0 if t in mmlu.members else 0.0, "n": 10 + i} for i, t in enumerate(group.tasks())}
    n_mmlu = sum(scores[t.name]["n"] for t in mmlu.members)
    assert mmlu.aggregate(scores)["acc"] == 1.0 and ar.aggregate(scores)["acc"] == 0.0
    out = group.aggregate(scores)
    assert out["n"] == sum(v["n"] for v in scores.values())
    assert out["acc"] == pytest.approx(n_mmlu / out["n"])


# ---------------------------------------------------------------------------------------------------------------
# DarijaHellaSwag

SWAG = [
    {"ind": 1, "activity_label": "الطياب", "ctx": "كيحط الطاجين على النار و", "ctx_a": "", "ctx_b": "",
     "endings": ["كيزيد الماء شوية.", "كيطير فالسما.", "كيقرا الجريدة للطاجين.", "كينعس فوق الكاسرونة."],
     "source_id": "x1", "split": "val", "split_type": "indomain", "label": "0"},
    {"ind": 2, "activity_label": "الكورة", "ctx": "اللاعب كيجري بالكورة حتى", "ctx_a": "", "ctx_b": "",
     "endings": ["كيولي حوتة.", "كيشوت فالشبكة.", "كيشري الخبز.", "كيغني للحكم."],
     "source_id": "x2", "split": "val", "split_type": "indomain", "label": "1"},
    {"ind": 3, "activity_label": "التصبين", "ctx": "كتحط الحوايج فالماشينة و", "ctx_a": "", "ctx_b": "",
     "endings": ["كتاكلهم.", "كتزرعهم.", "كتزيد الصابون.", "كتصيفطهم فالبوسطة."],
     "source_id": "x3", "split": "val", "split_type": "indomain", "label": "2"},
]


def test_darijahellaswag_query_endings_and_label(root):
    folder = root / "DarijaHellaSwag" / "data"
    _parquet(folder / "validation-00000-of-00001.parquet", SWAG)
    _parquet(folder / "train-00000-of-00001.parquet", [{**r, "ind": r["ind"] + 10} for r in SWAG])
    task = load_task("darijahellaswag")
    reqs = task.build_requests(num_fewshot=0)
    assert reqs[0].context == "الطياب: كيحط الطاجين على النار و"
    assert reqs[0].continuations == [" كيزيد الماء شوية.", " كيطير فالسما.", " كيقرا الجريدة للطاجين.",
                                     " كينعس فوق الكاسرونة."]
    assert [r.gold for r in reqs] == [0, 1, 2]
    shot = task.build_requests(num_fewshot=2)[0]  # lm-eval's seeded draw from train
    assert shot.context.count("\n\n") == 2 and shot.context.endswith("\n\nالطياب: كيحط الطاجين على النار و")
    lm = _lm_eval_yaml("darijahellaswag/darijahellaswag.yaml", dataset_path="parquet", dataset_kwargs={
        "data_files": {"validation": str(folder / "validation-00000-of-00001.parquet"),
                       "train": str(folder / "train-00000-of-00001.parquet")}})
    for shots in (0, 2):
        _same_as_lm_eval(task, lm, shots)


# ---------------------------------------------------------------------------------------------------------------
# Belebele

BELEBELE = [
    {"link": "x/1", "question_number": 1, "flores_passage": "مراكش مدينة كبيرة فالجنوب. فيها ساحة جامع الفنا.",
     "question": "فين كاينة ساحة جامع الفنا؟ ", "mc_answer1": "فطنجة", "mc_answer2": "فمراكش",
     "mc_answer3": "فوجدة", "mc_answer4": "فالداخلة", "correct_answer_num": "2", "dialect": "ary_Arab",
     "ds": "2024-01-01"},
    {"link": "x/2", "question_number": 1, "flores_passage": "الشتا طاحت بزاف هاد العام. الفلاحة فرحو.",
     "question": "شكون فرحو؟", "mc_answer1": "الصيادة", "mc_answer2": "التلاميذ", "mc_answer3": "الفلاحة",
     "mc_answer4": "الطلبة", "correct_answer_num": "3", "dialect": "ary_Arab", "ds": "2024-01-01"},
    {"link": "x/3", "question_number": 2, "flores_passage": "القطار خرج من الرباط مع التسعود.",
     "question": "منين خرج القطار؟", "mc_answer1": "من الرباط", "mc_answer2": "من فاس", "mc_answer3": "من أكادير",
     "mc_answer4": "من العيون", "correct_answer_num": "1", "dialect": "ary_Arab", "ds": "2024-01-01"},
]


def test_belebele_template_letters_and_one_based_answer(root):
    path = _jsonl(root / "belebele" / "data" / "ary_Arab.jsonl", BELEBELE)
    task = load_task("belebele_ary_Arab")
    reqs = task.build_requests(num_fewshot=0)
    assert reqs[0].context == ("P: مراكش مدينة كبيرة فالجنوب. فيها ساحة جامع الفنا.\nQ: فين كاينة ساحة جامع الفنا؟\n"
                               "A: فطنجة\nB: فمراكش\nC: فوجدة\nD: فالداخلة\nAnswer:")
    assert reqs[0].continuations == [" A", " B", " C", " D"]
    assert [r.gold for r in reqs] == [1, 2, 0]
    shot = task.build_requests(num_fewshot=1)[0]  # few-shot from the test split itself, never the row itself
    assert shot.context.startswith("P: الشتا طاحت بزاف") and "Answer: C\n\nP: مراكش" in shot.context
    lm = _lm_eval_yaml("belebele/belebele_ary_Arab.yaml", dataset_path="json",
                       dataset_kwargs={"data_files": {"test": str(path)}})
    for shots in (0, 2):
        _same_as_lm_eval(task, lm, shots)


# ---------------------------------------------------------------------------------------------------------------
# DarijaBench


def _turns(user: str, answer: str) -> list[dict]:
    return [{"content": user, "role": "user"}, {"content": answer, "role": "assistant"}]


ASK3 = "شنو هو الإحساس ديال هاد الجملة؟\n{}\nالاختيارات:\n-سلبي\n-ايجابي\n-ماكينش إحساس"
ASK2 = "شنو هو الإحساس ديال هاد الجملة؟\n{}\nالاختيارات:\n-سلبي\n-ايجابي"
SENTIMENT = {
    "mac": [("الماكلة كانت بنينة بزاف", "ايجابي"), ("الخدمة عيانة والتيليفون مقطوع", "سلبي"),
            ("غدا نهار الجمعة", "ماكينش إحساس")],
    "msac": [("فرحت بزاف بهاد الخبار", "ايجابي"), ("ماعجبنيش هاد الفيلم", "سلبي")],
}


def _bench(root: Path, split: str, rows: list[dict]) -> Path:
    return _parquet(root / "DarijaBench" / "data" / f"{split}-00000-of-00001.parquet", rows)


def test_darija_sentiment_letters_two_and_three_labels(root):
    paths = {}
    for split, items in SENTIMENT.items():
        ask = ASK3 if split == "mac" else ASK2
        paths[split] = _bench(root, split, [
            {"dataset": split, "id": str(i), "direction": None, "messages": _turns(ask.format(t), label)}
            for i, (t, label) in enumerate(items)])
    mac = load_task("darija_sentiment_mac")
    reqs = mac.build_requests(num_fewshot=0)
    assert reqs[0].context == ("شنو هو الإحساس ديال هاد الجملة؟\nالماكلة كانت بنينة بزاف\nالاختيارات:\nA. سلبي\n"
                               "B. ايجابي\nC. ماكينش إحساس\nThe answer should be strictly one letter of the "
                               "following: A, B, C.")
    assert reqs[0].continuations == [" A", " B", " C"] and [r.gold for r in reqs] == [1, 0, 2]
    msac = load_task("darija_sentiment_msac")
    reqs = msac.build_requests(num_fewshot=0)
    assert reqs[1].context == ("شنو هو الإحساس ديال هاد الجملة؟\nماعجبنيش هاد الفيلم\nالاختيارات:\nA. سلبي\n"
                               "B. ايجابي")
    assert reqs[1].choices == ["A", "B"] and [r.gold for r in reqs] == [1, 0]
    for task, name, split in ((mac, "darija_sentiment_mac", "mac"), (msac, "darija_sentiment_msac", "msac")):
        lm = _lm_eval_yaml(f"darija_bench/darija_sentiment/{name}.yaml", dataset_path="parquet",
                           dataset_kwargs={"data_files": {split: str(paths[split])}})
        _same_as_lm_eval(task, lm, 0)


TRANSLATION = [
    ("dr_en", "ترجم من الدارجة للإنجليزية:\nفين غادي؟", "Where are you going?"),
    ("en_dr", "ترجم من الإنجليزية للدارجة:\nThe tea is hot.", "أتاي سخون."),
    ("dr_en", "ترجم من الدارجة للإنجليزية:\nالجو زوين اليوم.", "The weather is nice today."),
    ("dr_fr", "ترجم من الدارجة للفرنساوية:\nبغيت نمشي للبحر.", "Je veux aller à la mer."),
]


def test_darija_translation_prompt_reference_and_direction_filter(root):
    path = _bench(root, "doda", [{"dataset": "doda", "id": str(i), "direction": d, "messages": _turns(u, a)}
                                 for i, (d, u, a) in enumerate(TRANSLATION)])
    dr_en = load_task("translation_dr_en_doda")
    reqs = dr_en.build_requests(num_fewshot=0)
    assert len(reqs) == 2 and reqs[0].context == "ترجم من الدارجة للإنجليزية:\nفين غادي؟"
    assert reqs[0].gold == "Where are you going?" and reqs[1].gold == "The weather is nice today."
    assert reqs[0].generation_kwargs == {"until": ["<end_of_turn>", "<eos>", "</s>", "<|end_of_text|>",
                                                   "<|eot_id|>", "<|endoftext|>"], "max_gen_toks": 256,
                                         "do_sample": False, "temperature": 0.0}
    assert dr_en.filter_response("  The weather is nice.\n") == {"STRIP_ANSWER": "The weather is nice."}
    every = load_task("translation_all_doda")
    assert [r.gold for r in every.build_requests(num_fewshot=0)] == [a for _, _, a in TRANSLATION]
    for task, lm_file in ((dr_en, "doda_translation_dr_en.yaml"), (every, "doda_translation_all.yaml")):
        lm = _lm_eval_yaml(f"darija_bench/darija_translation/{lm_file}", dataset_path="parquet",
                           dataset_kwargs={"data_files": {"doda": str(path)}})
        _same_as_lm_eval(task, lm, 0)
    with pytest.raises(TaskError, match=r"no file matches .*/DarijaBench/data/madar-\*\.parquet \(the data root is "):
        load_task("translation_msa_dr_madar")


def test_darija_transliteration_and_summarization(root):
    translit = _bench(root, "transliteration", [
        {"dataset": "doda", "id": "1", "direction": "dr_ar", "messages": _turns("حول لحروف لاتينية:\nصباح الخير",
                                                                                 "sba7 lkhir")},
        {"dataset": "doda", "id": "2", "direction": "ar_dr", "messages": _turns("حول لحروف عربية:\nchokran bzaf",
                                                                                 "شكرا بزاف")}])
    task = load_task("transliteration_ar_dr")
    (req,) = task.build_requests(num_fewshot=0)
    assert (req.context, req.gold) == ("حول لحروف عربية:\nchokran bzaf", "شكرا بزاف")
    lm = _lm_eval_yaml("darija_bench/darija_transliteration/translation_ar_dr.yaml", dataset_path="parquet",
                       dataset_kwargs={"data_files": {"transliteration": str(translit)}})
    _same_as_lm_eval(task, lm, 0)
    summ = _bench(root, "marsum", [{"dataset": "marsum", "id": "1", "direction": None, "messages": _turns(
        "لخص هاد المقطع:\nالمدينة نظمات مهرجان ديال الموسيقى وجاو ليه بزاف ديال الناس من كل البلايص.",
        "مهرجان موسيقى جمع بزاف ديال الناس.")}])
    task = load_task("darija_summarization_task")
    (req,) = task.build_requests(num_fewshot=0)
    assert req.context == ("لخص هاد المقطع في ٣٠ كلمة:\nالمدينة نظمات مهرجان ديال الموسيقى وجاو ليه بزاف ديال الناس "
                           "من كل البلايص.")
    assert req.gold == "مهرجان موسيقى جمع بزاف ديال الناس." and req.generation_kwargs["max_gen_toks"] == 128
    assert [m.metric for m in task.config.metric_list] == ["rouge1", "rouge2", "rougeL", "chrf"]
    # lm-eval 0.4.13 cannot build its own file (its ROUGE hooks have no aggregation): its prompts with chrF only
    lm = _lm_eval_yaml("darija_bench/darija_summarization/summarization.yaml", dataset_path="parquet",
                       dataset_kwargs={"data_files": {"marsum": str(summ)}}, metric_list=[{"metric": "chrf"}])
    _same_as_lm_eval(task, lm, 0)
    assert lm["generation_kwargs"]["max_new_tokens"] == 128  # lm-eval's name for the same limit


# ---------------------------------------------------------------------------------------------------------------
# FLORES+: one sentence per line per language, read side by side

FLORES = {
    "dev": {"ary_Arab": ["الدار كبيرة.", "الما بارد.", "الطوموبيل حمرا."],
            "eng_Latn": ["The house is big.", "The water is cold.", "The car is red."],
            "zgh_Tfng": ["ⵜⴰⴷⴷⴰⵔⵜ ⵜⵅⴰⵜⴰⵔ.", "ⴰⵎⴰⵏ ⵙⵎⵎⴰⵎ.", "ⵜⴰⴽⵓⵕⵉⵏⵜ ⵜⴰⵣⴳⵣⴰⵡⵜ."],
            "fra_Latn": ["La maison est grande.", "L'eau est froide.", "La voiture est rouge."],
            "kab_Latn": ["Axxam d ameqqran.", "Aman d isemmaḍen.", "Takeṛṛust d tazeggaɣt."]},
    "devtest": {"ary_Arab": ["الشمش طالعة.", "كنقرا كتاب.", "الخبز سخون."],
                "eng_Latn": ["The sun is up.", "I am reading a book.", "The bread is warm."],
                "zgh_Tfng": ["ⵜⴰⴼⵓⴽⵜ ⵜⴼⵖ.", "ⴽⵔⵔⵓⵖ ⴰⴷⵍⵉⵙ.", "ⴰⵖⵔⵓⵎ ⵉⵃⵎⴰ."],
                "fra_Latn": ["Le soleil est levé.", "Je lis un livre.", "Le pain est chaud."],
                "kab_Latn": ["Iṭij yuli.", "Ad ɣreɣ adlis.", "Aɣrum yeḥma."]},
}


def _flores(root: Path) -> None:
    for split, langs in FLORES.items():
        for lang, lines in langs.items():
            _lines(root / "flores_plus" / split / f"{split}.{lang}", lines)


def test_flores_plus_parallel_lines_prompts_and_shots(root, tmp_path):
    _flores(root)
    task = load_task("flores_plus_ary_Arab-eng_Latn")
    reqs = task.build_requests(num_fewshot=0)
    assert reqs[0].context == "Moroccan Arabic: الشمش طالعة. \nEnglish: "
    assert [r.gold for r in reqs] == FLORES["devtest"]["eng_Latn"]
    assert reqs[0].generation_kwargs["until"] == ["**", "</s>"]
    shot = task.build_requests(num_fewshot=1)[1]  # few-shot from dev, with its reference after target_delimiter
    assert shot.context.count("Moroccan Arabic: ") == 2 and shot.context.endswith(
        "\n\nMoroccan Arabic: كنقرا كتاب. \nEnglish: ")
    back = load_task("flores_plus_fra_Latn-zgh_Tfng").build_requests(num_fewshot=0)
    assert back[2].context == "French: Le pain est chaud. \nStandard Moroccan Tamazight: "
    assert back[2].gold == "ⴰⵖⵔⵓⵎ ⵉⵃⵎⴰ."
    kab = load_task("flores_plus_kab_Latn-fra_Latn").build_requests(num_fewshot=0)
    assert (kab[1].context, kab[1].gold) == ("Kabyle: Ad ɣreɣ adlis. \nFrench: ", "Je lis un livre.")
    joined = {}  # the same pairs as one JSON Lines file per split: what lm-eval's facebook/flores script gives
    for split, langs in FLORES.items():
        joined[split] = str(_jsonl(tmp_path / "joined" / f"{split}.jsonl", [
            {"id": i + 1, "sentence_ary_Arab": a, "sentence_eng_Latn": e}
            for i, (a, e) in enumerate(zip(langs["ary_Arab"], langs["eng_Latn"], strict=True))]))
    lm = _lm_eval_yaml("afrobench/flores/prompt_1/african-english/flores_ary_Arab-eng_Latn.yaml",
                       dataset_path="json", dataset_kwargs={"data_files": joined})
    for shots in (0, 2):
        _same_as_lm_eval(task, lm, shots)


def test_flores_plus_files_of_different_lengths(root):
    _flores(root)
    _lines(root / "flores_plus" / "devtest" / "devtest.eng_Latn", ["The sun is up.", "I am reading a book."])
    task = load_task("flores_plus_ary_Arab-eng_Latn")
    with pytest.raises(TaskError) as e:
        task.build_requests()
    d = root / "flores_plus" / "devtest"
    assert e.value.problems == [
        f"dataset_kwargs.data_files.devtest: parallel files must have the same number of lines; found 3 in "
        f"{d}/devtest.ary_Arab, 2 in {d}/devtest.eng_Latn (the data comes from FLORES+ (openlanguagedata/flores on "
        "GitHub / openlanguagedata/flores_plus on the Hub, gated, CC BY-SA 4.0); get it: accept the terms at "
        "https://huggingface.co/datasets/openlanguagedata/flores_plus or https://github.com/openlanguagedata/flores "
        "and unpack the release into $JAZARI_DATA/flores_plus (the layout: dev/dev.<lang> and devtest/devtest.<lang>, "
        "one sentence per line, the languages aligned by line))"]


def test_parallel_text_needs_the_text_builder(tmp_path):
    cfg = {"task": "p", "dataset_path": "json", "test_split": "test", "doc_to_text": "{{a}}", "doc_to_target": "b",
           "dataset_kwargs": {"data_files": {"test": {"a": "a.txt", "b": "b.txt"}}}}
    with pytest.raises(TaskError, match=r"parallel text files \(\{split: \{column: file\}\}\) need dataset_path: "
                                        "text, and every split written that way"):
        load_task(cfg, tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# SIB-200 and AfriSenti: tab-separated, as upstream

SIB_TEST = [[1, "sports", "الفريق ربح الماتش البارح."], [2, "health", "الطبيب نصح بالماكلة الصحية."],
            [3, "travel", "مشينا لشفشاون فالعطلة."], [4, "politics", "البرلمان صوت على القانون."]]
SIB_DEV = [[11, "science/technology", "التيليفون الجديد فيه كاميرا مزيانة."],
           [12, "entertainment", "الفيلم كان ضحك بزاف."], [13, "geography", "الأطلس سلسلة ديال الجبال."],
           [14, "travel", "الطيارة خرجات فالوقت."]]
SIB_HEADER = ["index_id", "category", "text"]


def test_sib200_topics_prompt_and_shots(root):
    for folder in ("ary_Arab", "tzm_Tfng"):
        _tsv(root / "sib200" / folder / "test.tsv", SIB_HEADER, SIB_TEST)
        _tsv(root / "sib200" / folder / "dev.tsv", SIB_HEADER, SIB_DEV)
    task = load_task("sib200_ary_Arab")
    reqs = task.build_requests(num_fewshot=0)
    assert reqs[0].context == ("Given the categories science/technology, travel, politics, sports, health, "
                               "entertainment, or geography; what category does the text: 'الفريق ربح الماتش "
                               "البارح.' belong to: \n\n")
    assert reqs[0].choices == ["science/technology", "travel", "politics", "sports", "health", "entertainment",
                               "geography"]
    assert reqs[0].continuations[3] == " sports" and [r.gold for r in reqs] == [3, 4, 1, 2]
    assert [m.metric for m in task.config.metric_list] == ["acc", "f1"]
    assert load_task("sib200_zgh_Tfng").build_requests()[2].gold == 1  # read from SIB-200's tzm_Tfng/ folder
    lm = _lm_eval_yaml("afrobench/sib/prompt_1/sib_ary.yaml", dataset_path="csv", dataset_kwargs={
        "delimiter": "\t", "data_files": {"validation": str(root / "sib200/ary_Arab/dev.tsv"),
                                          "test": str(root / "sib200/ary_Arab/test.tsv")}})
    for shots in (0, 3):
        _same_as_lm_eval(task, lm, shots)


AFRISENTI = {"test": [["الماتش كان واعر بزاف", "positive"], ["الطوبيس تعطل مرة أخرى", "negative"],
                      ["lyoum nhar tnin", "neutral"]],
             "dev": [["had lfilm zwin", "positive"], ["الخدمة ناقصة", "negative"]],
             "train": [["mzyan bzaf", "positive"], ["ma3jebnich", "negative"], ["غدا غادي نسافر", "neutral"]]}


def test_afrisenti_ary_labels_prompt_and_shots(root):
    for split, rows in AFRISENTI.items():
        _tsv(root / "afrisenti" / "ary" / f"{split}.tsv", ["tweet", "label"], rows)
    task = load_task("afrisenti_ary")
    reqs = task.build_requests(num_fewshot=0)
    assert reqs[0].context == ('Does this statement; "الماتش كان واعر بزاف" have a Neutral, Positive or Negative '
                               "sentiment? Labels only")
    assert reqs[0].continuations == [" negative", " positive", " neutral"] and [r.gold for r in reqs] == [1, 0, 2]
    shot = task.build_requests(num_fewshot=2)[0]
    assert shot.context.count("Labels only ") == 2  # two train tweets with their labels
    lm = _lm_eval_yaml("afrobench/afrisenti/prompt_1/afrisenti_ary.yaml", dataset_path="csv", dataset_kwargs={
        "delimiter": "\t", "data_files": {s: str(root / "afrisenti" / "ary" / f"{s}.tsv") for s in
                                          ("train", "dev", "test")}}, validation_split="dev")
    for shots in (0, 2):
        _same_as_lm_eval(task, lm, shots)


# ---------------------------------------------------------------------------------------------------------------
# DODa

DODA_V1 = [["Where is the station?", "fin kayna lmahatta?"], ["I am tired.", "ana 3iyan."],
           ["Thank you very much.", "chokran bzaf."]]


def test_doda_translation_v1_layout(root):
    _csv(root / "doda_v1" / "sentences.csv", ["english", "darija"], DODA_V1)
    dr_en = load_task("doda_dr_en")
    reqs = dr_en.build_requests(num_fewshot=0)
    assert reqs[0].context == "ترجم من الدارجة للإنجليزية:\nfin kayna lmahatta?\n"
    assert reqs[0].gold == "Where is the station?" and reqs[0].generation_kwargs["until"] == ["\n"]
    shot = dr_en.build_requests(num_fewshot=2)[0]  # the first other rows, each followed by its translation
    assert shot.context == ("ترجم من الدارجة للإنجليزية:\nana 3iyan.\nI am tired.\n\n"
                            "ترجم من الدارجة للإنجليزية:\nchokran bzaf.\nThank you very much.\n\n"
                            "ترجم من الدارجة للإنجليزية:\nfin kayna lmahatta?\n")
    en_dr = load_task("doda_en_dr").build_requests(num_fewshot=0)
    assert (en_dr[1].context, en_dr[1].gold) == ("ترجم من الإنجليزية للدارجة:\nI am tired.\n", "ana 3iyan.")


def test_doda_transliteration_v2_layout_and_a_v1_file(root):
    _csv(root / "doda_v2" / "sentences.csv", ["darija", "eng", "darija_ar"],
         [["salam 3likom", "hello", "سلام عليكم"], ["fin ghadi?", "where are you going?", "فين غادي؟"]])
    task = load_task("doda_transliteration")
    reqs = task.build_requests(num_fewshot=1)
    assert reqs[0].context == ("حول هاد الجملة من الحروف اللاتينية للحروف العربية:\nfin ghadi?\nفين غادي؟\n\n"
                               "حول هاد الجملة من الحروف اللاتينية للحروف العربية:\nsalam 3likom\n")
    assert reqs[0].gold == "سلام عليكم"
    assert [m.metric for m in task.config.metric_list] == ["chrf", "cer"]
    v1 = _csv(root / "doda_v2" / "sentences.csv", ["english", "darija"], DODA_V1)  # DODa v1: no Arabic script
    task = load_task("doda_transliteration")
    with pytest.raises(TaskError) as e:
        task.check()
    assert e.value.problems == [
        "doc_to_target: 'darija_ar' is not a field of the data; did you mean 'darija'? Its fields: english, darija",
        f"split 'test' was read from {v1} (the data comes from DODa, Darija Open Dataset v2 "
        "(github.com/darija-open-dataset/dataset, CC BY-NC 4.0); get it: git clone "
        "https://github.com/darija-open-dataset/dataset $JAZARI_DATA/doda_v2 (the layout: doda_v2/sentences.csv, "
        "columns darija in Latin script and darija_ar in Arabic script))"]


# ---------------------------------------------------------------------------------------------------------------
# The real files in ../shared/data (read where they lie): the upstream layouts, every row usable


def test_shared_sib200_dev(shared_data, monkeypatch):
    if not (shared_data / "sib200" / "ary_Arab" / "dev.tsv").is_file():
        pytest.skip("../shared/data has no sib200/ary_Arab/dev.tsv")
    monkeypatch.setenv("JAZARI_DATA", str(shared_data))
    for lang, folder in (("ary_Arab", "ary_Arab"), ("kab_Latn", "kab_Latn"), ("zgh_Tfng", "tzm_Tfng")):
        dev = {"delimiter": "\t", "data_files": {"validation": f"${{JAZARI_DATA}}/sib200/{folder}/dev.tsv"}}
        task = load_task(f"sib200_{lang}", overrides={"dataset_kwargs": dev, "test_split": "validation"})
        task.check()
        reqs = task.build_requests(num_fewshot=3)
        assert len(reqs) == 99 and [r for r in reqs if r.skipped] == []
        assert all(len(r.choices) == 7 and 0 <= r.gold < 7 for r in reqs)


def test_shared_afrisenti_ary_dev(shared_data, monkeypatch):
    if not (shared_data / "afrisenti" / "ary" / "dev.tsv").is_file():
        pytest.skip("../shared/data has no afrisenti/ary/dev.tsv")
    monkeypatch.setenv("JAZARI_DATA", str(shared_data))
    kw = {"delimiter": "\t", "data_files": {"validation": "${JAZARI_DATA}/afrisenti/ary/dev.tsv",
                                            "train": "${JAZARI_DATA}/afrisenti/ary/train.tsv"}}
    task = load_task("afrisenti_ary", overrides={"dataset_kwargs": kw, "test_split": "validation"})
    task.check()
    reqs = task.build_requests(num_fewshot=3)
    assert len(reqs) == 494 and [r for r in reqs if r.skipped] == []
    golds = [r.gold for r in reqs]
    assert set(golds) == {0, 1, 2} and all(r.context.count("Labels only") == 4 for r in reqs)


def test_shared_doda_v1(shared_data, monkeypatch):
    if not (shared_data / "doda_v1" / "sentences.csv").is_file():
        pytest.skip("../shared/data has no doda_v1/sentences.csv")
    monkeypatch.setenv("JAZARI_DATA", str(shared_data))
    for name in ("doda_dr_en", "doda_en_dr"):
        task = load_task(name)  # the shipped file as it is: ../shared/data is laid out as upstream
        task.check()
        reqs = task.build_requests(num_fewshot=0)
        assert len(reqs) == 10_001 and [r for r in reqs if r.skipped] == []
        assert all(isinstance(r.gold, str) and r.gold for r in reqs)
    with pytest.raises(TaskError, match=r"file not found: .*/doda_v2/sentences.csv \(the data root is JAZARI_DATA="):
        load_task("doda_transliteration")  # v1 has no Arabic script: the task reads v2


def test_export_to_lm_eval_with_the_files_resolved(root):
    import yaml

    from jazari_nlp.evaluation.tasks import export_lm_eval

    folder = _mmlu(root)
    _jsonl(root / "belebele" / "data" / "ary_Arab.jsonl", BELEBELE)
    for name in ("darijammlu_accounting", "belebele_ary_Arab"):
        task = load_task(name)
        exported = yaml.safe_load(export_lm_eval(task))
        files = exported["dataset_kwargs"]["data_files"]
        assert all("${" not in str(v) for v in files.values())
        if name == "darijammlu_accounting":
            assert files == {"test": [str(folder / "test-00000-of-00001.parquet")],
                             "dev": [str(folder / "dev-00000-of-00001.parquet")]}
        for shots in (0, 2):
            assert _ours(task, shots) == _lm_eval_args(exported, shots)
    _flores(root)
    with pytest.raises(TaskError, match="parallel text files .* have no lm-eval equivalent: join them into one JSON "
                                        "Lines file per split"):
        export_lm_eval("flores_plus_ary_Arab-eng_Latn")
    _bench(root, "doda", [{"dataset": "doda", "id": "0", "direction": "dr_en", "messages": _turns("a", "b")}])
    with pytest.raises(TaskError, match="filter_rows has no lm-eval equivalent"):
        export_lm_eval("translation_dr_en_doda")
