"""The benchmark harness: score a model (:class:`jazari_nlp.models.LM`) on tasks (:mod:`jazari_nlp.evaluation.tasks`).

For each task: build its requests (prompts, few-shot, choices), ask the model through a request cache (sqlite in
the output folder, so a killed evaluation resumes without recomputing), score every example, aggregate with
standard errors, and write ``samples_<task>.jsonl`` (every example: prompt, choices, log-likelihoods or
generation, prediction, gold, per-example metrics, or the reason it was skipped) and the task's entry of
``results.json`` (metrics, n, shots, seed, the task YAML's hash, the data files' sha256, the model's hash).

Example::

    lm = load_lm("runs/quickstart/model")
    results = evaluate_tasks(lm, [load_task("jazari_quick_mc")], Path("out"), num_fewshot=0)
    results["tasks"]["jazari_quick_mc"]["metrics"]["acc"]
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from jazari_nlp.evaluation.request_cache import RequestCache, cache_key, cached, model_fingerprint

DEFAULT_METRICS = {
    "multiple_choice": ["acc", "acc_norm"],
    "loglikelihood": ["perplexity", "acc"],
    "loglikelihood_rolling": ["word_perplexity", "byte_perplexity", "bits_per_byte"],
    "generate_until": ["exact_match"],
}
CHUNK_DOCS = 64  # requests are sent (and cached) a chunk of documents at a time: a kill loses one chunk at most


# --------------------------------------------------------------------------------------------- scoring


def _metric_names(task: Any) -> list[dict[str, Any]]:
    entries = list(getattr(task.config, "metric_list", None) or [])
    if not entries:
        return [{"metric": m} for m in DEFAULT_METRICS[task.config.output_type]]
    out = []
    for e in entries:
        out.append(e if isinstance(e, dict) else (e.model_dump(exclude_none=True) if hasattr(e, "model_dump")
                                                    else {"metric": str(e)}))
    return out


def _options(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("metric", "aggregation", "higher_is_better")}


def _aggregate(entry: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    from jazari_nlp.evaluation.metrics import aggregate

    value, stderr = aggregate(entry["metric"], items, aggregation=entry.get("aggregation"))
    return {"value": value, "stderr": stderr}


def _score_multiple_choice(requests, answers, metrics) -> tuple[list[dict], dict, list]:
    """Per-example items (``metrics.score_multiple_choice``), then each metric's aggregation."""
    from jazari_nlp.evaluation.metrics import example_value, score_multiple_choice

    samples, items, bad = [], {m["metric"]: [] for m in metrics}, []
    for r, lls_greedy in zip(requests, answers, strict=True):
        lls = [float(a[0]) for a in lls_greedy]
        greedy = [bool(a[1]) for a in lls_greedy]
        try:
            ex = score_multiple_choice(lls, r.choices, r.gold, greedy)
        except ValueError as e:  # a row the task check could not see (an empty choice, a gold out of range)
            bad.append((r, str(e)))
            continue
        for m in items:
            items[m].append(ex[m])
        samples.append({"doc_id": r.doc_id, "prompt": r.context, "choices": r.choices, "loglikelihoods": lls,
                        "is_greedy": greedy, "prediction": ex["pred"], "prediction_norm": ex["pred_norm"],
                        "gold": ex["gold"], "metrics": {m: example_value(m, ex[m]) for m in items}})
    results = {m["metric"]: _aggregate(m, items[m["metric"]]) for m in metrics if items[m["metric"]]}
    return samples, results, bad


def _score_loglikelihood(requests, answers, metrics) -> tuple[list[dict], dict, list]:
    samples, items = [], {"perplexity": [], "acc": []}
    for r, a in zip(requests, answers, strict=True):
        ll, greedy = float(a[0][0]), bool(a[0][1])
        items["perplexity"].append(ll)
        items["acc"].append(int(greedy))
        samples.append({"doc_id": r.doc_id, "prompt": r.context, "target": r.continuations[0],
                        "loglikelihood": ll, "is_greedy": greedy, "metrics": {"acc": int(greedy)}})
    results = {}
    for m in metrics:
        if m["metric"] not in items:
            raise ValueError(f"metric {m['metric']!r} is not one of a loglikelihood task's: perplexity, acc")
        results[m["metric"]] = _aggregate(m, items[m["metric"]])
    return samples, results, []


def _score_rolling(requests, answers, metrics) -> tuple[list[dict], dict, list]:
    from jazari_nlp.evaluation.metrics import score_rolling

    samples, items = [], {m["metric"]: [] for m in metrics}
    for r, ll in zip(requests, answers, strict=True):
        text = r.continuations[0] if r.continuations else r.context
        ex = score_rolling(float(ll), text)
        for m in items:
            if m not in ex:
                raise ValueError(f"metric {m!r} is not one of a rolling task's: {', '.join(ex)}")
            items[m].append(ex[m])
        samples.append({"doc_id": r.doc_id, "text": text, "loglikelihood": float(ll),
                        "words": ex["word_perplexity"][1], "bytes": ex["bits_per_byte"][1]})
    return samples, {m["metric"]: _aggregate(m, items[m["metric"]]) for m in metrics}, []


def _score_generation(requests, answers, metrics) -> tuple[list[dict], dict, list]:
    from jazari_nlp.evaluation import metrics as M

    preds = [str(a) for a in answers]
    refs = [[str(x) for x in (r.gold if isinstance(r.gold, list) else [r.gold])] for r in requests]
    samples = [{"doc_id": r.doc_id, "prompt": r.context, "generation": p, "gold": r.gold, "metrics": {}}
               for r, p in zip(requests, preds, strict=True)]
    results = {}
    for entry in metrics:
        value, stderr, per_example = M.score_generation(entry["metric"], preds, refs, **_options(entry))
        results[entry["metric"]] = {"value": value, "stderr": stderr}
        for s, v in zip(samples, per_example or [None] * len(samples), strict=True):
            if v is not None:
                s["metrics"][entry["metric"]] = v
    return samples, results, []


# --------------------------------------------------------------------------------------------- the runner


def _data_files_sha(task: Any) -> dict[str, str]:
    return task.data_sha256() if hasattr(task, "data_sha256") else {}


def _task_sha(task: Any) -> str | None:
    return task.sha256() if hasattr(task, "sha256") else None


def run_task(lm: Any, task: Any, out_dir: Path, *, cache: RequestCache, num_fewshot: int | None = None,
             limit: int | None = None, seed: int = 1234, batch_size: int | str = "auto",
             progress: bool = True, apply_chat_template: bool | None = None) -> dict[str, Any]:
    """Evaluate one task; writes ``out_dir/samples_<task>.jsonl`` and returns its ``results.json`` entry.
    ``apply_chat_template``: None keeps the task's own setting."""
    t0 = time.perf_counter()
    requests = task.build_requests(num_fewshot=num_fewshot, limit=limit, seed=seed,
                                   apply_chat_template=apply_chat_template,
                                   chat_template=getattr(lm, "apply_chat_template", None))
    usable = [r for r in requests if not r.skipped]
    skipped = Counter(r.skipped for r in requests if r.skipped)
    kind = task.config.output_type
    metrics = _metric_names(task)
    stats: Counter = Counter()
    rank, world = world_info()
    mine = usable[rank::world]  # under torchrun/accelerate each rank takes every world-th example
    answers: list[Any] = []
    bar = _Progress(progress and rank == 0, f"{task.name}", len(mine))
    try:
        for start in range(0, len(mine), CHUNK_DOCS):
            chunk = mine[start:start + CHUNK_DOCS]
            answers += _ask(lm, kind, chunk, cache, stats, batch_size)
            bar.advance(len(chunk))
    finally:
        bar.close()
    if world > 1:
        answers, stats = _gather(answers, stats, len(usable), world)
    scorer = {"multiple_choice": _score_multiple_choice, "loglikelihood": _score_loglikelihood,
              "loglikelihood_rolling": _score_rolling, "generate_until": _score_generation}[kind]
    if kind == "generate_until" and hasattr(task, "filter_response"):
        answers = [_filtered(task, a) for a in answers]  # the task's filter_list (regex, take_first)
    samples, results, bad = scorer(usable, answers, metrics) if usable else ([], {}, [])
    for r, reason in bad:
        r.skipped = reason
        skipped[reason] += 1
    for r in requests:
        if r.skipped:
            samples.append({"doc_id": r.doc_id, "skipped": r.skipped, "doc": r.doc})
    n_used = len(usable) - len(bad)
    samples.sort(key=lambda s: s["doc_id"])
    if rank == 0:  # one writer
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / f"samples_{task.name}.jsonl", "w", encoding="utf-8") as f:
            for s in samples:
                f.write(json.dumps(s, ensure_ascii=False, default=str) + "\n")
    shots = task.config.num_fewshot if num_fewshot is None else num_fewshot
    return {
        "metrics": results,
        "higher_is_better": {e["metric"]: e.get("higher_is_better", not e["metric"].endswith(
            ("perplexity", "bits_per_byte", "ter", "cer", "wer"))) for e in metrics},
        "n": n_used, "n_skipped": sum(skipped.values()), "skipped": dict(skipped),
        "num_fewshot": shots or 0, "seed": seed, "limit": limit, "output_type": kind,
        "task_sha256": _task_sha(task), "data_sha256": _data_files_sha(task),
        "prompt_example": usable[0].context if usable else None,
        "requests": {"cached": stats["cached"], "computed": stats["computed"]},
        "seconds": round(time.perf_counter() - t0, 2),
    }


def world_info() -> tuple[int, int]:
    """``(rank, world size)`` of an initialised torch.distributed group, else ``(0, 1)``."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed() -> tuple[int, int]:
    """Under ``torchrun``/``accelerate launch`` (WORLD_SIZE > 1): join the process group (gloo on CPU, nccl on
    GPUs, one GPU per rank: LOCAL_RANK) before the model loads. Returns ``(rank, world size)``."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0") or 0))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _gather(answers: list[Any], stats: Counter, n: int, world: int) -> tuple[list[Any], Counter]:
    """Every rank's answers (rank r answered examples r, r + world, ...) back in example order, on every rank."""
    import torch.distributed as dist

    parts: list[Any] = [None] * world
    dist.all_gather_object(parts, (answers, dict(stats)))
    out: list[Any] = [None] * n
    total: Counter = Counter()
    for r, (part, st) in enumerate(parts):
        for i, a in zip(range(r, n, world), part, strict=True):
            out[i] = a
        total.update(st)
    return out, total


def _filtered(task: Any, response: str) -> str:
    out = task.filter_response(response)
    return next(iter(out.values())) if isinstance(out, dict) and out else response


def _ask(lm: Any, kind: str, chunk: list[Any], cache: RequestCache, stats: Counter, batch_size) -> list[Any]:
    if kind in ("multiple_choice", "loglikelihood"):
        pairs = [(r.context, c) for r in chunk for c in r.continuations]
        flat = cached(cache, "loglikelihood", pairs, lambda ps: lm.loglikelihood(ps, batch_size=batch_size), stats)
        out, i = [], 0
        for r in chunk:
            out.append(flat[i:i + len(r.continuations)])
            i += len(r.continuations)
        return out
    if kind == "loglikelihood_rolling":
        texts = [r.continuations[0] if r.continuations else r.context for r in chunk]
        return cached(cache, "loglikelihood_rolling", texts,
                      lambda ts: lm.loglikelihood_rolling(ts, batch_size=batch_size), stats)
    # generation: requests with the same generation arguments go together
    out: list[Any] = [None] * len(chunk)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(chunk):
        groups.setdefault(json.dumps(r.generation_kwargs, sort_keys=True, default=str), []).append(i)
    for gk, idx in groups.items():
        gen = json.loads(gk)
        until = gen.get("until") or []
        until = [until] if isinstance(until, str) else list(until)
        max_toks = int(gen.get("max_gen_toks", 256))
        reqs = [[chunk[i].context, until, max_toks] for i in idx]
        texts = cached(cache, "generate_until", reqs,
                       lambda rs, u=until, m=max_toks: lm.generate([r[0] for r in rs], until=u, max_gen_toks=m,
                                                                   batch_size=batch_size), stats)
        for i, t in zip(idx, texts, strict=True):
            out[i] = t
    return out


class _Progress:
    def __init__(self, on: bool, label: str, total: int):
        self.bar = None
        if on and total:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(f"eval: {label}", total=total)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def evaluate_tasks(lm: Any, tasks: list[Any], out_dir: Path, *, num_fewshot: int | None = None,
                   limit: int | None = None, seed: int = 1234, batch_size: int | str = "auto",
                   progress: bool = True, use_cache: bool = True, write: bool = True,
                   apply_chat_template: bool | None = None,
                   provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``lm`` on every task (Task/TaskGroup objects, or names and YAML paths as ``load_task`` takes;
    groups and tags are flattened to their tasks, each once); write
    ``out_dir/results.json``, the samples files and the request cache (``out_dir/requests.sqlite``); return the
    results. A group gets lm-eval's aggregation of its members (``aggregate_metric_list``, size-weighted)."""
    from jazari_nlp.errors import InputError
    from jazari_nlp.evaluation.tasks import TaskGroup, load_task
    from jazari_nlp.runs import package_versions, write_json

    if num_fewshot is not None and num_fewshot < 0:
        raise InputError(f"num_fewshot must be 0 or more; found {num_fewshot}")
    if limit is not None and limit <= 0:
        raise InputError(f"limit must be positive (a count of examples, or a fraction below 1); found {limit}")
    out_dir = Path(out_dir)
    tasks = [load_task(t) if isinstance(t, str | Path) else t for t in tasks]  # names or files, as the CLI takes
    flat, seen = [], set()
    for t in tasks:
        for task in t.tasks() if isinstance(t, TaskGroup) else [t]:
            if task.name not in seen:
                seen.add(task.name)
                flat.append(task)
    _check_generation_room(lm, flat)
    fp = model_fingerprint(lm)
    rank, _ = world_info()
    cache_file = out_dir / ("requests.sqlite" if rank == 0 else f"requests.rank{rank}.sqlite")
    cache = RequestCache(cache_file if use_cache else None, model_key=cache_key(lm, fp))
    results: dict[str, Any] = {}
    try:
        for task in flat:
            results[task.name] = run_task(lm, task, out_dir, cache=cache, num_fewshot=num_fewshot, limit=limit,
                                          seed=seed, batch_size=batch_size, progress=progress,
                                          apply_chat_template=apply_chat_template)
    finally:
        cache.close()
    groups = {g.name: group_result(g, results) for g in tasks if isinstance(g, TaskGroup) and g.config is not None}
    doc = {"tasks": results, "groups": {k: v for k, v in groups.items() if v["metrics"]}, **fp,
           "versions": package_versions(), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(provenance or {})}
    if write and rank == 0:
        write_json(out_dir / "results.json", doc)
    return doc


def _check_generation_room(lm: Any, tasks: list[Any]) -> None:
    """Before any work: a generation task asking for as many new tokens as the model reads at all cannot run
    (lm-eval refuses it too); say so for every such task at once instead of failing half-way."""
    from jazari_nlp.errors import InputError

    max_length = getattr(lm, "max_length", None)
    if not max_length:
        return
    bad = []
    for t in tasks:
        if t.config.output_type == "generate_until":
            gen = t.config.generation_kwargs
            gen = gen if isinstance(gen, dict) else (gen.model_dump() if hasattr(gen, "model_dump") else {})
            n = int(gen.get("max_gen_toks") or 256)
            if n >= max_length:
                bad.append(f"{t.name} (max_gen_toks {n})")
    if bad:
        raise InputError(f"the model reads at most {max_length} tokens, which leaves no room for a prompt in: "
                         f"{', '.join(bad)}; use a model with a longer context, or a copy of the task YAML with a "
                         "smaller generation_kwargs.max_gen_toks")


def group_result(group: Any, results: dict[str, Any]) -> dict[str, Any]:
    """A group's metrics from its members' (``TaskGroup.aggregate``: lm-eval's size-weighted mean and pooled
    stderr over ``aggregate_metric_list``)."""
    scores = {}
    for name, r in results.items():
        s: dict[str, Any] = {"n": r["n"]}
        for m, v in r["metrics"].items():
            s[m] = v["value"]
            s[f"{m}_stderr"] = v["stderr"]
        scores[name] = s
    agg = group.aggregate(scores)
    names = [t.name for t in group.tasks()]
    metrics = {m: {"value": v, "stderr": agg.get(f"{m}_stderr")} for m, v in agg.items()
               if m != "n" and not m.endswith("_stderr")}
    return {"tasks": names, "n": agg.get("n", sum(results[n]["n"] for n in names if n in results)),
            "metrics": metrics}
