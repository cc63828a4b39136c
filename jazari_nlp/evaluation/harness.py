"""The benchmark harness: score a model (:class:`jazari_nlp.models.LM`) on tasks (:mod:`jazari_nlp.evaluation.tasks`).

For each task: build its requests (prompts, few-shot, choices), ask the model through a request cache (sqlite in
the output folder, so a killed evaluation resumes without recomputing), score every example, aggregate with
standard errors, and write ``samples_<task>.jsonl`` (every example: prompt, choices, log-likelihoods or
generation, prediction, gold, per-example metrics, or the reason it was skipped) and the task's entry of
``results.json`` (metrics, n, shots, seed, the task YAML's hash, the data files' sha256, the model's hash).

Example::

    lm = load_lm("runs/quickstart/model")
    results = evaluate_tasks(lm, [load_task("jazari_mc_demo")], Path("out"), num_fewshot=0)
    results["tasks"]["jazari_mc_demo"]["metrics"]["acc"]
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_METRICS = {
    "multiple_choice": ["acc", "acc_norm"],
    "loglikelihood": ["perplexity", "acc"],
    "loglikelihood_rolling": ["word_perplexity", "byte_perplexity", "bits_per_byte"],
    "generate_until": ["exact_match"],
}
CHUNK_DOCS = 64  # requests are sent (and cached) a chunk of documents at a time: a kill loses one chunk at most


# --------------------------------------------------------------------------------------------- request cache


class RequestCache:
    """sqlite cache of model answers, keyed by the model's hash and the request. Example::

        cache = RequestCache(out / "requests.sqlite", model_key="ab12...")
        hits = cache.get("loglikelihood", keys)
    """

    def __init__(self, path: Path | None, model_key: str):
        self.model_key = model_key
        self.db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path))
            self.db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.commit()

    def key(self, kind: str, request: Any) -> str:
        payload = json.dumps([self.model_key, kind, request], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, keys: list[str]) -> dict[str, Any]:
        if self.db is None or not keys:
            return {}
        out = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            rows = self.db.execute(f"SELECT key, value FROM answers WHERE key IN ({','.join('?' * len(part))})", part)
            out.update({k: json.loads(v) for k, v in rows})
        return out

    def put(self, items: dict[str, Any]) -> None:
        if self.db is None or not items:
            return
        self.db.executemany("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in items.items()])
        self.db.commit()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def cached(cache: RequestCache, kind: str, requests: Sequence[Any], compute: Callable[[list[Any]], list[Any]],
           stats: Counter) -> list[Any]:
    """``compute`` on the requests the cache does not hold; answers of all of them, in order."""
    keys = [cache.key(kind, r) for r in requests]
    hits = cache.get(list(dict.fromkeys(keys)))
    todo = [i for i, k in enumerate(keys) if k not in hits]
    stats["cached"] += len(requests) - len(todo)
    if todo:
        unique: dict[str, int] = {}
        for i in todo:
            unique.setdefault(keys[i], i)
        answers = compute([requests[i] for i in unique.values()])
        new = {k: _plain(a) for k, a in zip(unique, answers, strict=True)}
        cache.put(new)
        hits.update(new)
        stats["computed"] += len(unique)
    return [hits[k] for k in keys]


def _plain(answer: Any) -> Any:
    if isinstance(answer, tuple):
        return [_plain(a) for a in answer]
    if hasattr(answer, "item"):
        return answer.item()
    return answer


# --------------------------------------------------------------------------------------------- hashing


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def model_fingerprint(lm: Any) -> dict[str, str]:
    """Hashes of the model's weights and config and of its tokenizer files (what a result was computed with)."""
    folder = Path(getattr(lm, "path", "") or "")
    out: dict[str, str] = {}
    if folder.is_dir():
        weights = sorted(folder.glob("*.safetensors"))
        h = hashlib.sha256()
        for f in [*weights, folder / "config.json"]:
            if f.is_file():
                h.update(f.name.encode())
                h.update(sha256_file(f).encode())
        out["model_sha256"] = h.hexdigest()
        h = hashlib.sha256()
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"):
            f = folder / name
            if f.is_file():
                h.update(name.encode())
                h.update(sha256_file(f).encode())
        out["tokenizer_sha256"] = h.hexdigest()
    else:  # an in-memory model: its name and size
        model = getattr(lm, "model", None)
        ident = f"{type(model).__name__}:{sum(p.numel() for p in model.parameters()) if model is not None else 0}"
        out["model_sha256"] = hashlib.sha256(ident.encode()).hexdigest()
        out["tokenizer_sha256"] = ""
    extra = getattr(lm, "adapter", None)
    if extra:
        out["adapter"] = str(extra)
    return out


# --------------------------------------------------------------------------------------------- statistics


def mean_stderr(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and its standard error (lm-eval's ``mean_stderr``: sample standard deviation / sqrt(n))."""
    n = len(values)
    if n == 0:
        return float("nan"), None
    mu = sum(values) / n
    if n < 2:
        return mu, None
    var = sum((v - mu) ** 2 for v in values) / (n - 1)
    return mu, math.sqrt(var / n)


def macro_f1(golds: Sequence[Any], preds: Sequence[Any]) -> float:
    """Macro-F1 over the labels seen in gold or prediction (sklearn's ``f1_score(average="macro")``)."""
    labels = sorted(set(golds) | set(preds), key=str)
    scores = []
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(golds, preds, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(golds, preds, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(golds, preds, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


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


def _score_multiple_choice(requests, answers, metrics) -> tuple[list[dict], dict]:
    samples, per_metric = [], {m["metric"]: [] for m in metrics}
    golds, preds = [], []
    for r, lls_greedy in zip(requests, answers, strict=True):
        lls = [float(a[0]) for a in lls_greedy]
        chars = [float(len(c)) for c in r.choices]
        nbytes = [float(len(c.encode("utf-8"))) for c in r.choices]
        pred = _argmax(lls)
        pred_norm = _argmax([ll / n if n else ll for ll, n in zip(lls, chars, strict=True)])
        pred_bytes = _argmax([ll / n if n else ll for ll, n in zip(lls, nbytes, strict=True)])
        gold = r.gold
        golds_ok = set(gold) if isinstance(gold, list) else {gold}
        ex = {"acc": int(pred in golds_ok), "acc_norm": int(pred_norm in golds_ok),
              "acc_bytes": int(pred_bytes in golds_ok)}
        golds.append(gold if not isinstance(gold, list) else gold[0])
        preds.append(pred)
        for m in per_metric:
            if m in ex:
                per_metric[m].append(ex[m])
        samples.append({"doc_id": r.doc_id, "prompt": r.context, "choices": r.choices,
                        "loglikelihoods": lls, "is_greedy": [bool(a[1]) for a in lls_greedy],
                        "prediction": pred, "prediction_norm": pred_norm, "gold": gold,
                        "metrics": {k: v for k, v in ex.items() if k in per_metric or k == "acc"}})
    results = {}
    for m, values in per_metric.items():
        if m in ("f1", "macro_f1"):
            results[m] = {"value": macro_f1(golds, preds), "stderr": None}
        elif values:
            v, se = mean_stderr(values)
            results[m] = {"value": v, "stderr": se}
        else:
            raise ValueError(f"metric {m!r} is not one of a multiple-choice task's: acc, acc_norm, acc_bytes, f1")
    return samples, results


def _score_loglikelihood(requests, answers, metrics) -> tuple[list[dict], dict]:
    samples = []
    lls, greedy = [], []
    for r, a in zip(requests, answers, strict=True):
        ll, g = float(a[0][0]), bool(a[0][1])
        lls.append(ll)
        greedy.append(int(g))
        samples.append({"doc_id": r.doc_id, "prompt": r.context, "target": r.continuations[0],
                        "loglikelihood": ll, "is_greedy": g, "metrics": {"acc": int(g)}})
    results = {}
    for m in (e["metric"] for e in metrics):
        if m == "perplexity":
            results[m] = {"value": math.exp(-sum(lls) / len(lls)) if lls else float("nan"), "stderr": None}
        elif m == "acc":
            v, se = mean_stderr(greedy)
            results[m] = {"value": v, "stderr": se}
        else:
            raise ValueError(f"metric {m!r} is not one of a loglikelihood task's: perplexity, acc")
    return samples, results


def _score_rolling(requests, answers, metrics) -> tuple[list[dict], dict]:
    import re

    samples = []
    total_ll = total_words = total_bytes = 0.0
    for r, ll in zip(requests, answers, strict=True):
        text = r.continuations[0] if r.continuations else r.context
        words = len(re.split(r"\s+", text))
        nbytes = len(text.encode("utf-8"))
        total_ll += float(ll)
        total_words += words
        total_bytes += nbytes
        samples.append({"doc_id": r.doc_id, "text": text, "loglikelihood": float(ll), "words": words,
                        "bytes": nbytes})
    results = {}
    for m in (e["metric"] for e in metrics):
        if m == "word_perplexity":
            results[m] = {"value": math.exp(-total_ll / total_words) if total_words else float("nan"), "stderr": None}
        elif m == "byte_perplexity":
            results[m] = {"value": math.exp(-total_ll / total_bytes) if total_bytes else float("nan"), "stderr": None}
        elif m == "bits_per_byte":
            results[m] = {"value": -total_ll / total_bytes / math.log(2) if total_bytes else float("nan"),
                          "stderr": None}
        else:
            raise ValueError(f"metric {m!r} is not one of a rolling task's: word_perplexity, byte_perplexity, "
                             "bits_per_byte")
    return samples, results


def _score_generation(requests, answers, metrics) -> tuple[list[dict], dict]:
    from jazari_nlp.evaluation import metrics as M

    preds = [str(a) for a in answers]
    refs = [r.gold if isinstance(r.gold, list) else [r.gold] for r in requests]
    refs = [[str(x) for x in rr] for rr in refs]
    samples = [{"doc_id": r.doc_id, "prompt": r.context, "generation": p, "gold": r.gold, "metrics": {}}
               for r, p in zip(requests, preds, strict=True)]
    results = {}
    for entry in metrics:
        name = entry["metric"]
        kwargs = {k: v for k, v in entry.items() if k not in ("metric", "aggregation", "higher_is_better")}
        value, stderr, per_example = M.score_generation(name, preds, refs, **kwargs)
        results[name] = {"value": value, "stderr": stderr}
        if per_example is not None:
            for s, v in zip(samples, per_example, strict=True):
                s["metrics"][name] = v
    return samples, results


# --------------------------------------------------------------------------------------------- the runner


def _data_files_sha(task: Any) -> dict[str, str]:
    out = {}
    for f in getattr(task, "data_files", lambda: [])():
        p = Path(f)
        if p.is_file():
            out[str(p)] = sha256_file(p)
    return out


def _task_sha(task: Any) -> str | None:
    src = getattr(task, "source_path", None)
    if src and Path(src).is_file():
        return sha256_file(Path(src))
    cfg = getattr(task, "config", None)
    if cfg is not None and hasattr(cfg, "model_dump"):
        return hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return None


def run_task(lm: Any, task: Any, out_dir: Path, *, cache: RequestCache, num_fewshot: int | None = None,
             limit: int | None = None, seed: int = 1234, batch_size: int | str = "auto",
             progress: bool = True) -> dict[str, Any]:
    """Evaluate one task; writes ``out_dir/samples_<task>.jsonl`` and returns its ``results.json`` entry."""
    t0 = time.perf_counter()
    requests = task.build_requests(num_fewshot=num_fewshot, limit=limit, seed=seed)
    usable = [r for r in requests if not r.skipped]
    skipped = Counter(r.skipped for r in requests if r.skipped)
    kind = task.config.output_type
    metrics = _metric_names(task)
    stats: Counter = Counter()
    answers: list[Any] = []
    bar = _Progress(progress, f"{task.name}", len(usable))
    try:
        for start in range(0, len(usable), CHUNK_DOCS):
            chunk = usable[start:start + CHUNK_DOCS]
            answers += _ask(lm, kind, chunk, cache, stats, batch_size)
            bar.advance(len(chunk))
    finally:
        bar.close()
    scorer = {"multiple_choice": _score_multiple_choice, "loglikelihood": _score_loglikelihood,
              "loglikelihood_rolling": _score_rolling, "generate_until": _score_generation}[kind]
    samples, results = scorer(usable, answers, metrics) if usable else ([], {})
    for r in requests:
        if r.skipped:
            samples.append({"doc_id": r.doc_id, "skipped": r.skipped, "doc": r.doc})
    samples.sort(key=lambda s: s["doc_id"])
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f"samples_{task.name}.jsonl", "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s, ensure_ascii=False, default=str) + "\n")
    shots = task.config.num_fewshot if num_fewshot is None else num_fewshot
    return {
        "metrics": results,
        "higher_is_better": {e["metric"]: e.get("higher_is_better", not e["metric"].endswith(
            ("perplexity", "bits_per_byte", "ter", "cer", "wer"))) for e in metrics},
        "n": len(usable), "n_skipped": sum(skipped.values()), "skipped": dict(skipped),
        "num_fewshot": shots or 0, "seed": seed, "limit": limit, "output_type": kind,
        "task_sha256": _task_sha(task), "data_sha256": _data_files_sha(task),
        "prompt_example": usable[0].context if usable else None,
        "requests": {"cached": stats["cached"], "computed": stats["computed"]},
        "seconds": round(time.perf_counter() - t0, 2),
    }


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
                   provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``lm`` on every task; write ``out_dir/results.json``, the samples files and the request cache
    (``out_dir/requests.sqlite``); return the results. Groups get the size-weighted mean of their tasks."""
    from jazari_nlp.runs import package_versions, write_json

    out_dir = Path(out_dir)
    fp = model_fingerprint(lm)
    cache = RequestCache(out_dir / "requests.sqlite" if use_cache else None,
                         model_key=fp["model_sha256"] + ":" + fp.get("tokenizer_sha256", ""))
    results: dict[str, Any] = {}
    try:
        for task in tasks:
            results[task.name] = run_task(lm, task, out_dir, cache=cache, num_fewshot=num_fewshot, limit=limit,
                                          seed=seed, batch_size=batch_size, progress=progress)
    finally:
        cache.close()
    groups = group_results(tasks, results)
    doc = {"tasks": results, "groups": groups, **fp, "versions": package_versions(),
           "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(provenance or {})}
    if write:
        write_json(out_dir / "results.json", doc)
    return doc


def group_results(tasks: list[Any], results: dict[str, Any]) -> dict[str, Any]:
    """Size-weighted means of the tasks' shared metrics, per ``group``/``tag`` (lm-eval's pooled aggregation)."""
    members: dict[str, list[str]] = {}
    for t in tasks:
        for g in (getattr(t, "groups", None) or []):
            members.setdefault(g, []).append(t.name)
    out = {}
    for g, names in members.items():
        shared = set.intersection(*(set(results[n]["metrics"]) for n in names)) if names else set()
        metrics = {}
        for m in sorted(shared):
            sizes = [results[n]["n"] for n in names]
            total = sum(sizes)
            if not total:
                continue
            value = sum(results[n]["metrics"][m]["value"] * s for n, s in zip(names, sizes, strict=True)) / total
            ses = [results[n]["metrics"][m].get("stderr") for n in names]
            stderr = None
            if all(se is not None for se in ses):  # pooled over independent subtasks
                stderr = math.sqrt(sum((s / total) ** 2 * se ** 2 for s, se in zip(sizes, ses, strict=True)))
            metrics[m] = {"value": value, "stderr": stderr}
        out[g] = {"tasks": names, "n": sum(results[n]["n"] for n in names), "metrics": metrics}
    return out
