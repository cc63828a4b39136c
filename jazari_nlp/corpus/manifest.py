"""``manifest.json``: counts in and out of every step and reason, bytes, words and shard checksums.

Counts come from datatrove's per-task stats files (``_work/logs/<pass>/stats/*.json``), so a resumed build
counts tasks finished by the earlier attempt too. The accounting identity read = kept + rejected is checked;
a mismatch is a bug and raises after the manifest is written (with ``accounting_ok: false``).

Example::

    m = json.loads((run_dir / "manifest.json").read_text())
    m["documents_read"] == m["documents_kept"] + sum(m["rejected"].values())
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

DEDUP_REASONS = {"exact_dedup": "exact_duplicate", "near_dedup": "near_duplicate"}


def _value(v: Any) -> int:
    return int(v["total"]) if isinstance(v, dict) else int(v)


def read_stats(logdir: Path) -> dict[str, Counter]:
    """Sum the per-task stats of one executor: ``{step name: Counter(metric → total)}``."""
    merged: dict[str, Counter] = {}
    for f in sorted((logdir / "stats").glob("*.json")):
        for block in json.loads(f.read_text()):
            name = block["name"].split(": ", 1)[-1]
            c = merged.setdefault(name, Counter())
            for k, v in block.get("stats", {}).items():
                c[k] += _value(v)
    return merged


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(plan, out: Path, *, seed: int, warnings: list[str], seconds: float) -> dict[str, Any]:
    """Aggregate the stats of every stage, check the accounting, write ``manifest.json`` atomically (last)."""
    from jazari_nlp.corpus.stats import corpus_stats

    stats: dict[str, Counter] = {}
    for _, _, _, logdir in plan.stages:
        for name, c in read_stats(logdir).items():
            stats.setdefault(name, Counter()).update(c)
    steps, rejected = [], Counter()
    read = stats.get("00_read", Counter())["total"]
    kinds = {"00_read": "read"}
    for i, (kind, _) in enumerate(plan.cfg.step_list()):
        kinds[f"{i + 1:02d}_{kind}"] = kind
    for name, kind in kinds.items():
        c = stats.get(name, Counter())
        dropped = {k.removeprefix("dropped_"): v for k, v in c.items() if k.startswith("dropped_") and v}
        if kind in DEDUP_REASONS and c["dropped"]:
            dropped = {DEDUP_REASONS[kind]: c["dropped"]}
        counters = {k: v for k, v in c.items() if k not in ("total", "forwarded", "dropped", "doc_len")
                    and not k.startswith("dropped_")}
        steps.append({"step": name, "kind": kind, "in": c["total"], "out": c["forwarded"], "dropped": dropped,
                      "counters": dict(sorted(counters.items()))})
        rejected.update(dropped)
    writer = stats.get("writer", Counter())
    kept = writer["total"]
    shards = []
    for split in ("train", "heldout"):
        for f in sorted((out / split).glob("*/*.parquet")):
            shards.append({"path": str(f.relative_to(out)), "bytes": f.stat().st_size, "sha256": _sha256(f)})
    cs = corpus_stats(out)
    reader = stats.get("reader", Counter())
    pii = {k.removeprefix("pii_"): v for s in steps for k, v in s["counters"].items()
           if k.startswith("pii_") and k != "pii_replaced"}
    near = next((s for s in steps if s["kind"] == "near_dedup"), None)
    exact = next((s for s in steps if s["kind"] == "exact_dedup"), None)
    manifest = {
        "documents_read": read,
        "documents_kept": kept,
        "rejected": dict(sorted(rejected.items())),
        "accounting_ok": read == kept + sum(rejected.values()),
        "seed": seed,
        "heldout_fraction": plan.cfg.heldout_fraction,
        "input_units": reader["input_units"],
        # documents not read as UTF-8: {"cp1256": n, "cp1252": n, "utf-8-replace": n} (see SourceConfig.on_invalid_utf8)
        "encodings": {k.removeprefix("encoding_"): v for k, v in sorted(reader.items()) if k.startswith("encoding_")},
        "unreadable_files": reader["unreadable_files"],
        "lone_surrogates_removed": reader["lone_surrogates_removed"],
        "splits": {s: {"documents": writer[f"{s}_docs"], "bytes": writer[f"{s}_bytes"]} for s in ("train", "heldout")},
        "bytes_kept": cs["total"]["bytes"],
        "words_kept": cs["total"]["words"],
        "chars_kept": cs["total"]["chars"],
        "languages": cs["by_lang"],
        "scripts": cs["by_script"],
        "lang_script": cs["by_lang_script"],
        "sources": [{"name": s.name, "license": s.license, "language": s.language, "weight": s.weight,
                     "paths": list(s.paths), "hub": s.hub} for s in plan.cfg.sources],
        "source_docs_kept": _source_counts(out),
        "steps": steps,
        "pii": pii,
        "dedup": {"exact_rate": round(exact["dropped"].get("exact_duplicate", 0) / exact["in"], 6)
                  if exact and exact["in"] else None,
                  "near_rate": round(near["dropped"].get("near_duplicate", 0) / near["in"], 6)
                  if near and near["in"] else None},
        "shards": shards,
        "warnings": warnings,
        "config": plan.cfg.model_dump(mode="json"),
        "seconds": round(seconds, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    if not manifest["accounting_ok"]:
        raise RuntimeError(f"corpus accounting broken: read {read} != kept {kept} + rejected {sum(rejected.values())}")
    return manifest


def _source_counts(out: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    c: Counter = Counter()
    for f in sorted(out.glob("*/*/*.parquet")):
        if f.parts[-3] in ("train", "heldout"):
            c.update(pq.read_table(f, columns=["source"]).column("source").to_pylist())
    return dict(sorted(c.items()))
