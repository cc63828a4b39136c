"""The harness's request cache and the model hashes it is keyed by: a killed evaluation resumes without asking
the model again, and two models (or one model after a training step) never share answers.

Split from :mod:`jazari_nlp.evaluation.harness`, which re-exports these names. Example::

    cache = RequestCache(out / "requests.sqlite", model_key=cache_key(lm, model_fingerprint(lm)))
    answers = cached(cache, "loglikelihood", requests, lm.loglikelihood, Counter())
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jazari_nlp.runs import sha256_file

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


def model_fingerprint(lm: Any) -> dict[str, str]:
    """Hashes of the model's weights and config and of its tokenizer files (what a result was computed with)."""
    path = getattr(lm, "path", None)
    folder = Path(path) if path else None  # not Path(""): that is the working directory
    out: dict[str, str] = {}
    if folder is not None and folder.is_dir():
        out["model_sha256"] = _files_digest([*sorted(folder.glob("*.safetensors")), folder / "config.json"])
        out["tokenizer_sha256"] = _files_digest([folder / n for n in (
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model")])
    else:  # an in-memory model: a digest of its weights (two models of one shape must not share answers)
        out["model_sha256"] = _weights_digest(getattr(lm, "model", None))
        out["tokenizer_sha256"] = _tokenizer_digest(getattr(lm, "tokenizer", None))
    extra = getattr(lm, "adapter", None)
    if extra:
        out["adapter"] = str(extra)
        out["adapter_sha256"] = _files_digest([*sorted(Path(extra).glob("*.safetensors")),
                                               Path(extra) / "adapter_config.json"])
    return out


def _files_digest(files: list[Path]) -> str:
    """One sha256 over the names and sha256s of the files that exist (every weight file is read once a run)."""
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.name.encode())
            h.update(sha256_file(f).encode())
    return h.hexdigest()


def _weights_digest(model: Any) -> str:
    """sha256 over each parameter's name, shape, dtype and two sums computed on its device: any training step
    changes it, without copying the weights to the CPU."""
    h = hashlib.sha256(type(model).__name__.encode())
    if model is not None:
        import torch

        with torch.no_grad():
            for name, p in model.named_parameters():
                x = p.detach()
                sums = f"{x.sum(dtype=torch.float64).item()!r}:{x.abs().sum(dtype=torch.float64).item()!r}"
                h.update(f"{name}:{tuple(p.shape)}:{p.dtype}:{sums}".encode())
    return h.hexdigest()


def _tokenizer_digest(tokenizer: Any) -> str:
    """sha256 of an in-memory tokenizer: its full definition (fast tokenizers) or vocabulary, and chat template."""
    if tokenizer is None:
        return ""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    extra = json.dumps([type(tokenizer).__name__, getattr(tokenizer, "chat_template", None),
                        str(getattr(tokenizer, "special_tokens_map", {}))], sort_keys=True, default=str)
    return hashlib.sha256((text + extra).encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(lm: Any, fp: dict[str, str]) -> str:
    """What the request cache is keyed by: the weights, tokenizer and adapter hashes, and the settings that
    change the answers to the same request (dtype, BOS, context length)."""
    model = getattr(lm, "model", None)
    dtype = next(model.parameters()).dtype if model is not None and hasattr(model, "parameters") else None
    parts = [fp.get("model_sha256", ""), fp.get("tokenizer_sha256", ""), fp.get("adapter_sha256", ""),
             str(dtype), str(getattr(lm, "add_bos_token", None)), str(getattr(lm, "max_length", None))]
    return ":".join(parts)
