"""Benchmark: jazari's harness against lm-evaluation-harness on the same tasks, model, rows and shots, same run.

For each task (a multiple-choice task with several-token choices, 0-shot and 3-shot, and a generation task) both
harnesses evaluate the same local model; the script prints, per task: the largest |Δ log-likelihood| over every
choice of every example (generation: how many generations are identical), both accuracies (or chrF), the examples
per second of each and their ratio. lm-eval is a bench/test dependency only (``pip install -e ".[dev]"``).

Usage::

    python scripts/bench_eval.py                              # builds a small Llama (4 layers, 256 wide) first
    python scripts/bench_eval.py --model runs/quickstart/model --items 200
    python scripts/bench_eval.py --json bench_eval.json

From Python (the parity test): ``run_both(model_dir, task_yaml, num_fewshot)`` → a dict with both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

for _k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_k, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MC_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
    dev: {dev}
test_split: test
fewshot_split: dev
output_type: multiple_choice
doc_to_text: "{{{{context}}}}\\nWhat comes next?\\nAnswer:"
doc_to_choice: choices
doc_to_target: answer
metric_list:
  - {{metric: acc, aggregation: mean, higher_is_better: true}}
  - {{metric: acc_norm, aggregation: mean, higher_is_better: true}}
"""

GEN_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}\\nNext:"
doc_to_target: "{{{{target}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 16
  do_sample: false
metric_list:
  - {{metric: chrf, aggregation: chrf, higher_is_better: true}}
"""


def write_tasks(folder: Path, items: int = 100, seed: int = 0) -> dict[str, Path]:
    """A multiple-choice task (a context of three sample sentences, 4 choices of 4-9 words) and a generation task,
    written from the bundled samples into ``folder``. Returns task name -> YAML path."""
    from jazari_nlp.modeling.tiny import sample_lines

    lines = sample_lines()
    rng = random.Random(seed)

    def item() -> dict:
        start = rng.randrange(len(lines) - 4)
        options = [lines[start + 3]] + [rng.choice(lines) for _ in range(3)]
        options = [" ".join(o.split()[: rng.randint(4, 9)]) for o in options]
        order = list(range(4))
        rng.shuffle(order)
        return {"context": " ".join(lines[start:start + 3]), "choices": [options[j] for j in order],
                "answer": order.index(0)}

    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("test", items), ("dev", 10)):
        (folder / f"mc_{split}.jsonl").write_text("".join(json.dumps(item(), ensure_ascii=False) + "\n"
                                                          for _ in range(n)), encoding="utf-8")
    gen = []
    for _ in range(max(10, items // 5)):
        start = rng.randrange(len(lines) - 2)
        gen.append({"context": lines[start], "target": lines[start + 1]})
    (folder / "gen_test.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gen),
                                           encoding="utf-8")
    (folder / "bench_mc.yaml").write_text(MC_YAML.format(name="bench_mc", data=folder / "mc_test.jsonl",
                                                         dev=folder / "mc_dev.jsonl"), encoding="utf-8")
    (folder / "bench_gen.yaml").write_text(GEN_YAML.format(name="bench_gen", data=folder / "gen_test.jsonl"),
                                           encoding="utf-8")
    return {"bench_mc": folder / "bench_mc.yaml", "bench_gen": folder / "bench_gen.yaml"}


def run_jazari(model_dir: Path, task_yaml: Path, num_fewshot: int, batch_size: int = 32) -> dict:
    from jazari_nlp.evaluation.harness import evaluate_tasks
    from jazari_nlp.evaluation.tasks import load_task
    from jazari_nlp.models import load_lm

    lm = load_lm(model_dir, device="cpu", dtype="float32")
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()  # from reading the task (as lm-eval's timer below: it loads the task inside)
        task = load_task(task_yaml)
        doc = evaluate_tasks(lm, [task], Path(out), num_fewshot=num_fewshot, batch_size=batch_size, progress=False,
                             use_cache=False)
        seconds = time.perf_counter() - t
        samples = [json.loads(x) for x in (Path(out) / f"samples_{task.name}.jsonl").read_text().splitlines()]
    r = doc["tasks"][task.name]
    return {"metrics": {k: v["value"] for k, v in r["metrics"].items()}, "n": r["n"], "seconds": seconds,
            "lls": {s["doc_id"]: s.get("loglikelihoods") for s in samples},
            "generations": {s["doc_id"]: s.get("generation") for s in samples}}


def run_lm_eval(model_dir: Path, task_yaml: Path, num_fewshot: int, batch_size: int = 32) -> dict:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    hflm = HFLM(pretrained=str(model_dir), device="cpu", dtype="float32", batch_size=batch_size)
    name = task_yaml.stem
    manager = TaskManager(include_path=str(task_yaml.parent))  # indexing lm-eval's own task folders: not timed
    t = time.perf_counter()
    out = lm_eval.simple_evaluate(model=hflm, tasks=[name], num_fewshot=num_fewshot, log_samples=True,
                                  task_manager=manager,
                                  random_seed=0, numpy_random_seed=1234, torch_random_seed=1234,
                                  fewshot_random_seed=1234, verbosity="ERROR")
    seconds = time.perf_counter() - t
    res = out["results"][name]
    metrics = {k.split(",")[0]: v for k, v in res.items() if "," in k and "stderr" not in k}
    samples = out["samples"][name]
    lls, gens = {}, {}
    for s in samples:
        resps = s["filtered_resps"]
        if resps and isinstance(resps[0], list | tuple):
            lls[s["doc_id"]] = [float(r[0]) for r in resps]
        else:
            gens[s["doc_id"]] = resps[0] if resps else None
    return {"metrics": metrics, "n": len(samples), "seconds": seconds, "lls": lls, "generations": gens}


def run_both(model_dir: Path, task_yaml: Path, num_fewshot: int, batch_size: int = 32) -> dict:
    """Both harnesses on one task; lm-eval first, then jazari (each loads the model itself)."""
    ref = run_lm_eval(model_dir, task_yaml, num_fewshot, batch_size)
    ours = run_jazari(model_dir, task_yaml, num_fewshot, batch_size)
    diffs = [abs(a - b) for d, lls in ref["lls"].items() for a, b in zip(lls, ours["lls"].get(d) or [], strict=True)]
    same_gen = sum(ours["generations"].get(d) == g for d, g in ref["generations"].items())
    return {"task": task_yaml.stem, "shots": num_fewshot, "lm_eval": ref, "jazari": ours,
            "max_abs_ll_diff": max(diffs) if diffs else None, "identical_generations": same_gen,
            "speed_ratio": (ours["n"] / ours["seconds"]) / (ref["n"] / ref["seconds"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="A local model folder (default: build a small Llama)")
    ap.add_argument("--items", type=int, default=100, help="Multiple-choice items (generation: a fifth)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--json", type=Path, help="Also write the report here")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            from jazari_nlp.modeling.tiny import build_tiny_llama

            print("building a small Llama (4 layers, hidden 256, 512 positions) on the bundled samples ...")
            model = build_tiny_llama(tmp / "model", hidden_size=256, num_layers=4, max_position_embeddings=512,
                                     vocab_size=2000, train_steps=60)
        tasks = write_tasks(tmp / "tasks", args.items)
        reports = [run_both(model, tasks["bench_mc"], 0, args.batch_size),
                   run_both(model, tasks["bench_mc"], 3, args.batch_size),
                   run_both(model, tasks["bench_gen"], 0, args.batch_size)]
    print(f"\n{'task':<10} {'shots':>5} {'n':>5} {'max |Δll|':>10} {'lm-eval':>16} {'jazari':>16} "
          f"{'lm-eval ex/s':>12} {'jazari ex/s':>12} {'ratio':>6}")
    for r in reports:
        metric = "acc" if "acc" in r["jazari"]["metrics"] else "chrf"
        ref_v, our_v = r["lm_eval"]["metrics"].get(metric), r["jazari"]["metrics"].get(metric)
        diff = f"{r['max_abs_ll_diff']:.2e}" if r["max_abs_ll_diff"] is not None else \
            f"{r['identical_generations']}/{r['jazari']['n']} same"
        print(f"{r['task']:<10} {r['shots']:>5} {r['jazari']['n']:>5} {diff:>10} {metric + ' ' + format(ref_v, '.4f'):>16}"
              f" {metric + ' ' + format(our_v, '.4f'):>16} {r['lm_eval']['n'] / r['lm_eval']['seconds']:>12.1f}"
              f" {r['jazari']['n'] / r['jazari']['seconds']:>12.1f} {r['speed_ratio']:>5.2f}x")
    if args.json:
        slim = [{k: v for k, v in r.items() if k not in ("lm_eval", "jazari")} |
                {"lm_eval_metrics": r["lm_eval"]["metrics"], "jazari_metrics": r["jazari"]["metrics"]}
                for r in reports]
        args.json.write_text(json.dumps(slim, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
