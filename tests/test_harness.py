"""The benchmark harness end to end on a tiny saved Llama: the shipped quickstart tasks, the numbers recomputed
from the samples files, the request cache resuming a killed evaluation, skipped rows, groups, the CLI (run, tasks,
export, report, contamination) and an experiment's eval.tasks."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.evaluation import harness
from jazari_nlp.evaluation.harness import evaluate_tasks
from jazari_nlp.evaluation.tasks import load_task
from jazari_nlp.modeling.tiny import build_tiny_llama
from jazari_nlp.models import load_lm

QUICK = Path(__file__).resolve().parents[1] / "jazari_nlp" / "evaluation" / "tasks" / "quickstart"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # 40 steps: enough for non-uniform predictions, seconds on 2 cores (the parity tests train it longer)
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", max_position_embeddings=128, train_steps=40)


@pytest.fixture(scope="module")
def lm(model_dir):
    return load_lm(model_dir, device="cpu", dtype="float32")


def samples(out: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"samples_{task}.jsonl").read_text(encoding="utf-8").splitlines()]


def test_multiple_choice_numbers_come_from_the_samples(lm, tmp_path):
    doc = evaluate_tasks(lm, [load_task("jazari_quick_mc")], tmp_path, progress=False)
    r = doc["tasks"]["jazari_quick_mc"]
    rows = samples(tmp_path, "jazari_quick_mc")
    assert r["n"] == len(rows) == 24 and r["n_skipped"] == 0
    gold = [json.loads(x)["answer"] for x in (QUICK / "quick_mc.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [s["gold"] for s in rows] == gold
    for s in rows:  # each example's prediction is the argmax of its log-likelihoods, by characters for acc_norm
        lls = s["loglikelihoods"]
        assert s["prediction"] == max(range(4), key=lls.__getitem__)
        assert s["prediction_norm"] == max(range(4), key=lambda i: lls[i] / len(s["choices"][i]))
        assert s["metrics"]["acc"] == float(s["prediction"] == s["gold"])
    acc = sum(s["metrics"]["acc"] for s in rows) / 24
    assert r["metrics"]["acc"]["value"] == pytest.approx(acc)
    sd = (sum((s["metrics"]["acc"] - acc) ** 2 for s in rows) / 23) ** 0.5
    assert r["metrics"]["acc"]["stderr"] == pytest.approx(sd / 24 ** 0.5)
    assert r["task_sha256"] and list(r["data_sha256"]) == [str(QUICK / "quick_mc.jsonl")]
    assert doc["model_sha256"] and r["prompt_example"] == "فين كاينة صومعة حسان؟"
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert saved["tasks"]["jazari_quick_mc"]["metrics"] == r["metrics"]


def test_generation_chrf_equals_the_metric_on_the_samples(lm, tmp_path):
    from jazari_nlp.evaluation.metrics import compute

    doc = evaluate_tasks(lm, [load_task("jazari_quick_translate")], tmp_path, progress=False)
    rows = samples(tmp_path, "jazari_quick_translate")
    assert len(rows) == 10 and all("\n" not in s["generation"] for s in rows)  # stopped at the newline
    expected = compute("chrf", [s["generation"] for s in rows], [[s["gold"]] for s in rows])
    assert doc["tasks"]["jazari_quick_translate"]["metrics"]["chrf"]["value"] == pytest.approx(expected)


class Killed(Exception):
    pass


def test_a_killed_evaluation_resumes_from_the_cache(lm, tmp_path, monkeypatch):
    clean = evaluate_tasks(lm, [load_task("jazari_quick_mc")], tmp_path / "clean", progress=False)
    monkeypatch.setattr(harness, "CHUNK_DOCS", 5)
    calls = {"n": 0}

    class Dying:  # the same model (its settings are part of the cache key): answers two chunks, then "dies"
        path, model, max_length, add_bos_token = lm.path, lm.model, lm.max_length, lm.add_bos_token

        def loglikelihood(self, reqs, **kw):
            calls["n"] += 1
            if calls["n"] > 2:
                raise Killed
            return lm.loglikelihood(reqs, **kw)

    with pytest.raises(Killed):
        evaluate_tasks(Dying(), [load_task("jazari_quick_mc")], tmp_path / "run", progress=False)
    again = evaluate_tasks(lm, [load_task("jazari_quick_mc")], tmp_path / "run", progress=False)
    r = again["tasks"]["jazari_quick_mc"]
    assert r["requests"] == {"cached": 40, "computed": 56}  # 2 chunks of 5 items x 4 choices came from the cache
    assert r["metrics"] == clean["tasks"]["jazari_quick_mc"]["metrics"]
    third = evaluate_tasks(lm, [load_task("jazari_quick_mc")], tmp_path / "run", progress=False)
    assert third["tasks"]["jazari_quick_mc"]["requests"] == {"cached": 96, "computed": 0}


def write_task(folder: Path, rows: list[dict], name: str = "my_mc", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
    (folder / f"{name}.yaml").write_text(f"""task: {name}
dataset_path: json
dataset_kwargs: {{data_files: {{test: {name}.jsonl}}}}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{q}}}}"
doc_to_choice: choices
doc_to_target: answer
{extra}""", encoding="utf-8")
    return folder / f"{name}.yaml"


def test_a_bad_row_is_skipped_with_its_reason_never_dropped(lm, tmp_path):
    rows = [{"q": "salam", "choices": ["a", "b"], "answer": 0}, {"q": "labas", "choices": ["c", "d"], "answer": 5},
            {"q": "wakha", "choices": ["e", "f"], "answer": 1}]
    task = load_task(write_task(tmp_path / "t", rows))
    doc = evaluate_tasks(lm, [task], tmp_path / "out", progress=False)
    r = doc["tasks"]["my_mc"]
    assert r["n"] == 2 and r["n_skipped"] == 1
    (reason,) = r["skipped"]
    assert "5" in reason
    assert [s.get("skipped") is not None for s in samples(tmp_path / "out", "my_mc")] == [False, True, False]


def test_group_is_the_size_weighted_mean(lm, tmp_path):
    write_task(tmp_path / "g", [{"q": f"q{i}", "choices": ["a", "b"], "answer": i % 2} for i in range(6)], "g_a")
    write_task(tmp_path / "g", [{"q": f"w{i}", "choices": ["x y", "z"], "answer": 0} for i in range(2)], "g_b")
    (tmp_path / "g" / "grp.yaml").write_text("""group: grp
task: [g_a, g_b]
aggregate_metric_list:
  - {metric: acc, aggregation: mean, weight_by_size: true}
""", encoding="utf-8")
    group = load_task(tmp_path / "g" / "grp.yaml")
    doc = evaluate_tasks(lm, [group], tmp_path / "out", progress=False)
    a, b = doc["tasks"]["g_a"], doc["tasks"]["g_b"]
    want = (a["metrics"]["acc"]["value"] * 6 + b["metrics"]["acc"]["value"] * 2) / 8
    assert doc["groups"]["grp"]["metrics"]["acc"]["value"] == pytest.approx(want)
    assert doc["groups"]["grp"]["n"] == 8


def test_cli_run_tasks_export_report(model_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "ev"
    res = runner.invoke(app, ["eval", "run", "--model", str(model_dir), "--tasks", "jazari_quick_mc", "-o",
                              str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "jazari_quick_mc" in res.output and (out / "results.json").is_file()
    res = runner.invoke(app, ["eval", "tasks"], env={"COLUMNS": "240"})
    assert res.exit_code == 0 and "jazari_quick_mc" in res.output and "jazari_quick_translate" in res.output
    res = runner.invoke(app, ["eval", "export", "jazari_quick_mc"])
    assert res.exit_code == 0 and "output_type: multiple_choice" in res.output
    res = runner.invoke(app, ["eval", "report", str(out), "-o", str(tmp_path / "board")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "board.md").read_text(encoding="utf-8")
    acc = json.loads((out / "results.json").read_text())["tasks"]["jazari_quick_mc"]["metrics"]["acc"]["value"]
    assert "jazari_quick_mc / acc" in md and f"{acc:.4f}" in md
    assert (tmp_path / "board.png").stat().st_size > 1000
    res = runner.invoke(app, ["eval", "run", "--model", str(tmp_path / "nope"), "--tasks", "jazari_quick_mc"])
    assert res.exit_code == 2 and "error:" in res.output
    res = runner.invoke(app, ["eval", "run", "--model", str(model_dir), "--tasks", "jazari_quik_mc"])
    assert res.exit_code == 2 and "jazari_quick_mc" in res.output  # did-you-mean


def test_contamination_report(tmp_path):
    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig
    from jazari_nlp.evaluation.contamination import contamination_report

    rows = [json.loads(x) for x in (QUICK / "quick_mc.jsonl").read_text(encoding="utf-8").splitlines()]
    leaked = [f"{r['question']} {r['choices'][r['answer']]}" for r in rows[:6]]  # 6 items leaked into a corpus
    (tmp_path / "c.txt").write_text("\n".join(leaked + ["wach nta mzyan lyoum", "had chi ma 3ndo 7ta 3alaqa"])
                                    + "\n", encoding="utf-8")
    cfg = CorpusConfig.model_validate({"sources": [{"name": "c", "paths": ["c.txt"]}], "steps": [],
                                       "executor": {"tasks": 1}, "heldout_fraction": 0},
                                      context={"base_dir": tmp_path})
    build_corpus(cfg, tmp_path / "corpus", progress=False)
    rep = contamination_report(["jazari_quick_mc"], tmp_path / "corpus", n=13)
    r = rep["tasks"]["jazari_quick_mc"]
    assert (r["items"], r["contaminated"], r["doc_ids"]) == (24, 6, [0, 1, 2, 3, 4, 5])
    assert r["share"] == pytest.approx(0.25)


def test_experiment_eval_tasks(model_dir, tmp_path):
    from jazari_nlp.pipeline import run_experiment

    (tmp_path / "exp.yaml").write_text(f"""name: ev
output_dir: runs
model: {{path: {model_dir}}}
eval:
  perplexity: false
  tasks: [jazari_quick_mc]
  limit: 8
""", encoding="utf-8")
    result = run_experiment(tmp_path / "exp.yaml", progress=False)
    doc = json.loads((result.run_dir / "eval" / "results.json").read_text(encoding="utf-8"))
    assert doc["tasks"]["jazari_quick_mc"]["n"] == 8 and doc["config_sha256"] == result.config_sha256
    (tmp_path / "bad.yaml").write_text(f"""name: ev2
model: {{path: {model_dir}}}
eval: {{perplexity: false, tasks: [no_such_task]}}
""", encoding="utf-8")
    from jazari_nlp.config import ConfigError

    with pytest.raises(ConfigError, match="eval.tasks: no_such_task"):
        run_experiment(tmp_path / "bad.yaml", progress=False)


def test_two_processes_give_the_results_of_one(model_dir, tmp_path):
    """torchrun with 2 CPU processes (gloo): each rank scores every other example, rank 0 gathers and writes."""
    import os
    import subprocess
    import sys

    cmd = ["eval", "run", "--model", str(model_dir), "--tasks", "jazari_quick_mc,jazari_quick_translate", "-q"]
    one = subprocess.run([sys.executable, "-m", "jazari_nlp", *cmd, "-o", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    env = dict(os.environ, OMP_NUM_THREADS="1")
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                          "--master-port", "29517", "-m", "jazari_nlp", *cmd, "-o", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=600, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two"))
    for task in ("jazari_quick_mc", "jazari_quick_translate"):
        assert a["tasks"][task]["n"] == b["tasks"][task]["n"]
        for m, v in a["tasks"][task]["metrics"].items():
            assert b["tasks"][task]["metrics"][m]["value"] == pytest.approx(v["value"], abs=1e-9), (task, m)
    sa, sb = samples(tmp_path / "one", "jazari_quick_mc"), samples(tmp_path / "two", "jazari_quick_mc")
    assert [s["doc_id"] for s in sb] == list(range(24))
    worst = max(abs(x - y) for s, t in zip(sa, sb, strict=True)
                for x, y in zip(s["loglikelihoods"], t["loglikelihoods"], strict=True))
    assert worst < 1e-4  # other batch compositions: float noise only


CHAT = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_chat_model_prompts_go_through_its_template(tmp_path):
    model = build_tiny_llama(tmp_path / "chat", max_position_embeddings=256, train_steps=10, chat_template=CHAT)
    chat_lm = load_lm(model, device="cpu", dtype="float32")
    rows = [{"q": f"su2al {i}", "choices": ["wah", "la"], "answer": i % 2} for i in range(5)]
    task = load_task(write_task(tmp_path / "t", rows, "chat_mc",
                                "apply_chat_template: true\nsystem_instruction: Jawb b wah wla la.\n"))
    doc = evaluate_tasks(chat_lm, [task], tmp_path / "out", num_fewshot=2, progress=False)
    assert doc["tasks"]["chat_mc"]["n"] == 5
    prompt = samples(tmp_path / "out", "chat_mc")[0]["prompt"]
    # the system prompt, then the two shots as user/assistant turns, then the question and the generation prompt
    assert prompt.startswith("<|system|>Jawb b wah wla la.\n<|user|>")
    assert prompt.count("<|user|>") == 3 and prompt.count("<|assistant|>") == 3
    assert prompt.endswith("<|user|>su2al 0\n<|assistant|>")


def test_score_is_loglikelihood_of_each_choice(lm):
    got = lm.score("Salam, kif", [" dayr?", " ntuma?"])
    assert got == [ll for ll, _ in lm.loglikelihood([("Salam, kif", " dayr?"), ("Salam, kif", " ntuma?")])]


def test_generation_longer_than_the_model_fails_before_any_work(lm, tmp_path):
    from jazari_nlp.errors import InputError

    (tmp_path / "g.jsonl").write_text('{"a": "salam", "b": "labas"}\n', encoding="utf-8")
    (tmp_path / "long_gen.yaml").write_text("""task: long_gen
dataset_path: json
dataset_kwargs: {data_files: {test: g.jsonl}}
test_split: test
output_type: generate_until
doc_to_text: "{{a}}"
doc_to_target: "{{b}}"
generation_kwargs: {until: ["\\n"], max_gen_toks: 256}
""", encoding="utf-8")
    with pytest.raises(InputError, match=r"at most 128 tokens.*long_gen \(max_gen_toks 256\)"):
        evaluate_tasks(lm, [load_task("jazari_quick_mc"), load_task(tmp_path / "long_gen.yaml")], tmp_path / "o",
                       progress=False)
    assert not (tmp_path / "o" / "samples_jazari_quick_mc.jsonl").exists()


def test_cli_apply_chat_template_flag(tmp_path):
    model = build_tiny_llama(tmp_path / "chat", max_position_embeddings=256, train_steps=5, chat_template=CHAT)
    rows = [{"q": f"su2al {i}", "choices": ["wah", "la"], "answer": i % 2} for i in range(3)]
    yaml_path = write_task(tmp_path / "t", rows, "plain_mc")  # no apply_chat_template in the YAML
    runner = CliRunner()
    for flag, chat in (([], False), (["--apply-chat-template"], True)):
        out = tmp_path / f"out{int(chat)}"
        res = runner.invoke(app, ["eval", "run", "--model", str(model), "--tasks", str(yaml_path), "-o", str(out),
                                  "-q", *flag])
        assert res.exit_code == 0, res.output
        prompt = samples(out, "plain_mc")[0]["prompt"]
        assert prompt == ("<|user|>su2al 0\n<|assistant|>" if chat else "su2al 0")
