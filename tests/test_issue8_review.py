"""Review of issue #8 (the benchmark harness) as its users meet it: each test reproduces a failure found then.

The request cache serving another model's answers, arguments and files that gave tracebacks, leaderboards that
merged two runs or could not be read, contamination never found behind a prompt template, exports lm-eval
could not read, and CLI listings and options."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.errors import InputError
from jazari_nlp.evaluation.harness import evaluate_tasks
from jazari_nlp.evaluation.task_config import TaskError, validate
from jazari_nlp.evaluation.tasks import export_lm_eval, load_task
from jazari_nlp.modeling.tiny import build_tiny_llama
from jazari_nlp.models import LM, load_lm

TASKS = Path(__file__).resolve().parents[1] / "jazari_nlp" / "evaluation" / "tasks"
QUICK = "jazari_quick_mc"  # 24 items x 4 choices = 96 requests


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return [build_tiny_llama(root / f"m{seed}", train_steps=20, seed=seed) for seed in (0, 1)]


def _requests(doc: dict, task: str = QUICK) -> dict:
    return doc["tasks"][task]["requests"]


def _lls(out: Path, task: str = QUICK) -> list[list[float]]:
    rows = (out / f"samples_{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(r)["loglikelihoods"] for r in rows]


def test_the_cache_never_serves_another_models_answers(models, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Two models in memory (a developer's loop): keyed by Path("") = the working directory, they shared answers.
    tok = AutoTokenizer.from_pretrained(models[0])
    a, b = (LM(AutoModelForCausalLM.from_pretrained(m), tok) for m in models)
    out = tmp_path / "mem"
    assert _requests(evaluate_tasks(a, [load_task(QUICK)], out, progress=False)) == {"cached": 0, "computed": 96}
    first = _lls(out)
    assert _requests(evaluate_tasks(b, [load_task(QUICK)], out, progress=False)) == {"cached": 0, "computed": 96}
    assert first != _lls(out)
    assert _requests(evaluate_tasks(b, [load_task(QUICK)], out, progress=False)) == {"cached": 96, "computed": 0}
    # The same folder with add_bos_token changed: other token sequences, so not the cached answers.
    out = tmp_path / "disk"
    evaluate_tasks(load_lm(models[0]), [load_task(QUICK)], out, progress=False)
    bos = evaluate_tasks(load_lm(models[0], add_bos_token=True), [load_task(QUICK)], out, progress=False)
    assert _requests(bos) == {"cached": 0, "computed": 96}
    assert _requests(evaluate_tasks(load_lm(models[0]), [load_task(QUICK)], out, progress=False)) == {"cached": 96,
                                                                                         "computed": 0}


def test_an_adapter_is_part_of_the_model_hash(models, tmp_path):
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(models[0])
    lora = peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft.get_peft_model(base, lora).save_pretrained(str(tmp_path / "adapter"))
    out = tmp_path / "ev"
    plain = evaluate_tasks(load_lm(models[0]), [load_task(QUICK)], out, progress=False)
    plain_lls = _lls(out)
    tuned = evaluate_tasks(load_lm(models[0], adapter=tmp_path / "adapter"), [load_task(QUICK)], out, progress=False)
    assert _requests(tuned) == {"cached": 0, "computed": 96}  # was 96 cached: the base model's answers
    assert tuned["adapter"] == str(tmp_path / "adapter") and len(tuned["adapter_sha256"]) == 64
    assert "adapter_sha256" not in plain and _lls(out) != plain_lls


def test_bad_limit_and_shots_are_clear_errors(models):
    runner = CliRunner()
    for args, message in ((["--limit", "0"], "error: --limit: at least 1 example per task, not 0"),
                          (["--num-fewshot", "-1"], "error: --num-fewshot: 0 or more shots, not -1")):
        res = runner.invoke(app, ["eval", "run", "--model", str(models[0]), "--tasks", QUICK, *args])
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output  # were exit 1
    lm = load_lm(models[0])
    with pytest.raises(InputError, match=r"^num_fewshot must be 0 or more; found -1$"):
        evaluate_tasks(lm, [QUICK], Path("unused"), num_fewshot=-1)
    with pytest.raises(InputError, match=r"^limit must be positive .*; found 0$"):
        evaluate_tasks(lm, [QUICK], Path("unused"), limit=0)


def test_evaluate_tasks_takes_names_and_files(models, tmp_path):
    doc = evaluate_tasks(load_lm(models[0]), [QUICK, TASKS / "jazari_example_mc.yaml"], tmp_path, limit=3,
                         progress=False)
    assert [(k, v["n"]) for k, v in doc["tasks"].items()] == [(QUICK, 3), ("jazari_example_mc", 3)]


def _results(folder: Path, model: str, acc: float, ppl: float = 12.5) -> Path:
    folder.mkdir(parents=True)
    doc = {"model": model, "tasks": {"t": {"metrics": {"acc": {"value": acc, "stderr": 0.1},
                                                       "perplexity": {"value": ppl, "stderr": None}},
                                           "n": 10, "num_fewshot": 0}}}
    (folder / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_report_keeps_each_results_file_and_refuses_bad_ones(tmp_path):
    from jazari_nlp.evaluation.report import collect_results, markdown_table

    # The same model evaluated twice (other shots, other folders): one row each, not one row overwritten.
    a = _results(tmp_path / "zero", "/models/atlas/model", 0.25, ppl=1.2075565571774628e69)
    b = _results(tmp_path / "three", "/models/atlas/model", 0.75)
    c = _results(tmp_path / "other", "/models/qwen", 0.5)
    rows = collect_results([a, b, c])
    assert sorted({r["run"] for r in rows}) == ["atlas (three)", "atlas (zero)", "qwen"]
    md = markdown_table(rows).splitlines()
    assert md[2] == "| atlas (zero) | 0.2500 ± 0.1000 | 1.208e+69 |"  # was 70 digits
    assert md[3] == "| atlas (three) | 0.7500 ± 0.1000 | 12.5000 |"
    res = CliRunner().invoke(app, ["eval", "report", str(a), str(b), "-o", str(tmp_path / "board")],
                             env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "atlas (zero)" in res.output and "atlas (three)" in res.output  # one column per run, tasks as rows
    bad = tmp_path / "bad"
    bad.mkdir()
    for text, message in (("[1, 2]", "not a results file (a JSON object with `tasks` is expected; found list)"),
                          ('{"tasks": {"x": {"metrics": {"acc": 0.5}}}}', "tasks.x.metrics.acc: expected {value, "
                                                                          "stderr}"),
                          ('{"tasks": {"x": 3}}', "tasks.x: expected {metrics: {...}, n, ...}")):
        (bad / "results.json").write_text(text, encoding="utf-8")
        res = CliRunner().invoke(app, ["eval", "report", str(bad), "-o", str(tmp_path / "b2")],
                                 env={"COLUMNS": "200"})
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output


def test_contamination_is_found_behind_the_prompt_template(tmp_path):
    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig
    from jazari_nlp.evaluation.contamination import contamination_report

    mc = [json.loads(x) for x in (TASKS / "data" / "example_mc_test.jsonl").read_text("utf-8").splitlines()]
    tr = [json.loads(x) for x in (TASKS / "quickstart" / "quick_translate.jsonl").read_text("utf-8").splitlines()]
    # jazari_example_mc's prompt is "سؤال: {{question}}\nجواب:"; a corpus holds the question, never those words.
    leaked = [f"كيقولو بلي {r['question']} {r['choices'][r['answer']]} صافي" for r in mc[:4]]
    leaked += [f"ok {t['fra_Latn']} ok" for t in tr[:3]]  # references of 5, 5 and 2 words
    (tmp_path / "c.txt").write_text("\n".join([*leaked, "wach nta mzyan lyoum"]) + "\n", encoding="utf-8")
    cfg = CorpusConfig.model_validate({"sources": [{"name": "c", "paths": ["c.txt"]}], "steps": [],
                                       "executor": {"tasks": 1}, "heldout_fraction": 0},
                                      context={"base_dir": tmp_path})
    build_corpus(cfg, tmp_path / "corpus", progress=False)
    rep = contamination_report(["jazari_example_mc", "jazari_quick_translate"], tmp_path / "corpus", n=13)
    mc_rep, tr_rep = rep["tasks"]["jazari_example_mc"], rep["tasks"]["jazari_quick_translate"]
    assert (mc_rep["items"], mc_rep["contaminated"], mc_rep["doc_ids"]) == (8, 4, [0, 1, 2, 3])  # was 0
    assert (tr_rep["items"], tr_rep["contaminated"], tr_rep["doc_ids"]) == (10, 2, [0, 1])  # 2-word one: too short


MC_KEYS = {"dataset_path": "json", "dataset_kwargs": {"data_files": {"test": "x.jsonl"}}, "test_split": "test",
           "output_type": "multiple_choice", "doc_to_choice": "choices", "doc_to_target": "answer"}


def test_task_names_that_are_paths_and_hooks_reported_once():
    with pytest.raises(TaskError) as e:  # was a FileNotFoundError for samples_darija/mc.jsonl after all the work
        validate({"task": "darija/mc", "doc_to_text": "{{question}}", **MC_KEYS}, "t.yaml")
    assert e.value.problems == ["task: 'darija/mc' cannot name a task: the samples file is samples_<task>.jsonl, "
                                "so no / \\ : * ? \" < > | (use _ or -, e.g. darija_mc)"]
    text = "task: fn\ndoc_to_text: !function utils.doc_to_text\n" + yaml.safe_dump(MC_KEYS)
    from jazari_nlp.evaluation.task_config import _yaml_loader

    with pytest.raises(TaskError) as e:
        validate(yaml.load(text, Loader=_yaml_loader()), "fn.yaml")
    assert len(e.value.problems) == 1 and e.value.problems[0].startswith("doc_to_text: `!function utils.doc_to_text`")


def test_export_leaves_out_metrics_lm_eval_lacks_so_lm_eval_reads_it(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"src": "salam", "ref": "bonjour a tous les amis"}\n', encoding="utf-8")
    (tmp_path / "g.yaml").write_text("""task: my_gen
dataset_path: json
dataset_kwargs: {data_files: {test: d.jsonl}}
test_split: test
output_type: generate_until
doc_to_text: "Darija: {{src}}\\nFrançais:"
doc_to_target: ref
generation_kwargs: {until: ["\\n"], max_gen_toks: 8}
metric_list: [{metric: chrf}, {metric: rougeL}, {metric: cer}, {metric: bleu}, {metric: f1}]
""", encoding="utf-8")
    text = export_lm_eval(load_task(tmp_path / "g.yaml"))
    assert text.splitlines()[1] == ("# left out of metric_list, lm-eval has no equivalent: rougeL, cer, f1 (jazari "
                                    "eval reports them)")
    cfg = yaml.safe_load(text)
    assert cfg["metric_list"] == [{"metric": "chrf"}, {"metric": "bleu"}]
    pytest.importorskip("lm_eval")
    from lm_eval.api.task import ConfigurableTask

    task = ConfigurableTask(config=cfg)  # was KeyError: None (no aggregation for rougeL)
    assert sorted(task.aggregation()) == ["bleu", "chrf"]
    (tmp_path / "g.yaml").write_text((tmp_path / "g.yaml").read_text().replace(
        "metric_list: [{metric: chrf}, {metric: rougeL}, {metric: cer}, {metric: bleu}, {metric: f1}]",
        "metric_list: [{metric: rougeL}]"), encoding="utf-8")
    with pytest.raises(TaskError, match="cannot export to lm-eval: metric_list: lm-eval has none of rougeL"):
        export_lm_eval(load_task(tmp_path / "g.yaml"))


def test_cli_tasks_names_groups_unreadable_files_and_missing_folders(tmp_path):
    (tmp_path / "broken.yaml").write_text("task: [unclosed\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "tasks", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if "│ broken " in x)
    assert "unreadable" in line and "generate_until" not in line  # was listed as a generate_until task
    assert f"unreadable: {tmp_path / 'broken.yaml'}: not valid YAML" in res.output
    sib = next(x for x in res.output.splitlines() if x.startswith("│ sib200 "))
    assert "│ group " in sib  # was "None"
    res = runner.invoke(app, ["eval", "tasks", str(tmp_path / "nope")])
    assert res.exit_code == 2 and f"error: no such folder or file: {tmp_path / 'nope'}" in res.output


def test_cli_run_prints_skip_reasons_and_eval_takes_options_first(models, tmp_path):
    rows = [{"question": f"swal {i}", "choices": ["a", "b", "c", "d"], "answer": 7 if i == 2 else i % 4}
            for i in range(5)]
    (tmp_path / "oor.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "oor.yaml").write_text("task: my_oor\n" + yaml.safe_dump(
        {**MC_KEYS, "dataset_kwargs": {"data_files": {"test": "oor.jsonl"}}, "doc_to_text": "{{question}}"}),
        encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "run", "--model", str(models[0]), "--tasks", str(tmp_path / "oor.yaml"),
                              "-o", str(tmp_path / "out"), "-q"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "skipped in my_oor: 1 × answer index 7 is out of range for 4 choices (each row: samples_my_oor.jsonl)" \
        in res.output
    (tmp_path / "exp.yaml").write_text(f"name: ev\noutput_dir: runs\nmodel: {{path: {models[0]}}}\n"
                                       f"eval: {{perplexity: false, tasks: [{QUICK}], limit: 4}}\n", encoding="utf-8")
    for args in (["eval", str(tmp_path / "exp.yaml"), "-q"], ["eval", "--force", "-q", str(tmp_path / "exp.yaml")]):
        res = runner.invoke(app, args)  # options before the config were "No such option: --force"
        assert res.exit_code == 0, res.output
        assert "Loading weights" not in res.output  # -q: the eval stage loaded the model with its bar
    doc = json.loads((tmp_path / "runs" / "ev" / "eval" / "results.json").read_text(encoding="utf-8"))
    assert doc["tasks"][QUICK]["n"] == 4 and _requests(doc) == {"cached": 0, "computed": 16}  # --force: redone
