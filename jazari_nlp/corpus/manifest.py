"""``manifest.json``: counts in and out of every step and reason, bytes, words and shard checksums.

Counts come from datatrove's per-task stats files (``_work/logs/<pass>/stats/*.json``), so a resumed build
counts tasks finished by the earlier attempt too. The accounting identity read = kept + rejected is checked;
a mismatch is a bug and raises after the manifest is written (with ``accounting_ok: false``).

Example::

    m = json.loads((run_dir / "manifest.json").read_text())
    m["documents_read"] == m["documents_kept"] + sum(m["rejected"].values())
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from jazari_nlp.corpus.common import (
    DROP_PREFIX,
    FILE_DROP_PREFIX,
    FILE_KEPT_PREFIX,
    FILE_READ_PREFIX,
    KEPT_PREFIX,
    READ_PREFIX,
)
from jazari_nlp.corpus.registry import step_specs
from jazari_nlp.runs import sha256_file


def _dedup_reasons() -> dict[str, str]:
    """``{global step: the reason of its drops}`` (datatrove's dedup filters count drops without one)."""
    return {name: spec.step.default_reason for name, spec in step_specs().items() if spec.is_global}


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


def write_manifest(plan, out: Path, *, seed: int, warnings: list[str], seconds: float) -> dict[str, Any]:
    """Aggregate the stats of every stage, check the accounting, write ``manifest.json`` atomically (last)."""
    from jazari_nlp.corpus.stats import corpus_stats

    stats: dict[str, Counter] = {}
    for _, _, _, logdir in plan.stages:
        for name, c in read_stats(logdir).items():
            stats.setdefault(name, Counter()).update(c)
    steps, rejected = [], Counter()
    read = stats.get("00_read", Counter())["total"]
    kinds, dedup_reasons = {"00_read": "read"}, _dedup_reasons()
    for i, (kind, _) in enumerate(plan.cfg.step_list()):
        kinds[f"{i + 1:02d}_{kind}"] = kind
    for name, kind in kinds.items():
        c = stats.get(name, Counter())
        dropped = {k.removeprefix("dropped_"): v for k, v in c.items() if k.startswith("dropped_") and v}
        if kind in dedup_reasons and c["dropped"]:
            dropped = {dedup_reasons[kind]: c["dropped"]}
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
            shards.append({"path": str(f.relative_to(out)), "bytes": f.stat().st_size, "sha256": sha256_file(f)})
    cs = corpus_stats(out)
    reader = stats.get("reader", Counter())
    by_source, by_file = source_accounting(stats, [s.name for s in plan.cfg.sources])
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
        "by_source": by_source,
        "by_file": by_file,
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
    manifest["alarms"] = loss_alarms(manifest, plan.cfg.alarms)
    manifest["warnings"] = warnings + [a["message"] for a in manifest["alarms"] if a["level"] == "warning"]
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


def source_accounting(stats: dict[str, Counter], names: list[str]) -> tuple[dict, dict]:
    """Per source: read, kept, rejected by reason; per file: read, kept, lost (rejected, duplicates apart)."""
    reader, writer = stats.get("reader", Counter()), stats.get("writer", Counter())
    sources = {n: {"read": reader[READ_PREFIX + n], "kept": writer[KEPT_PREFIX + n], "rejected": Counter()}
               for n in names}
    files: dict[str, dict[str, Any]] = {}

    def file_entry(key: str) -> dict[str, Any]:
        src, _, path = key.partition("\t")
        return files.setdefault(path, {"source": src, "read": 0, "kept": 0, "lost": 0})

    for key, v in reader.items():
        if key.startswith(FILE_READ_PREFIX):
            file_entry(key[len(FILE_READ_PREFIX):])["read"] += v
    for key, v in writer.items():
        if key.startswith(FILE_KEPT_PREFIX):
            file_entry(key[len(FILE_KEPT_PREFIX):])["kept"] += v
    for name, c in stats.items():
        if name in ("reader", "writer"):
            continue
        for key, v in c.items():
            if key.startswith(DROP_PREFIX):
                src, _, reason = key[len(DROP_PREFIX):].partition("\t")
                sources.setdefault(src, {"read": 0, "kept": 0, "rejected": Counter()})["rejected"][reason] += v
            elif key.startswith(FILE_DROP_PREFIX):
                file_entry(key[len(FILE_DROP_PREFIX):])["lost"] += v
    out = {}
    for n, d in sources.items():
        rej = dict(d["rejected"].most_common())
        dups = sum(v for k, v in rej.items() if k in ("exact_duplicate", "near_duplicate"))
        out[n] = {"read": d["read"], "kept": d["kept"], "rejected": rej, "duplicates": dups,
                  "lost": sum(rej.values()) - dups, "accounting_ok": d["read"] == d["kept"] + sum(rej.values())}
    return out, dict(sorted(files.items()))


def _share(lost: int, read: int, dups: int = 0) -> float:
    base = read - dups
    return lost / base if base > 0 else 0.0


def loss_alarms(manifest: dict[str, Any], cfg) -> list[dict[str, Any]]:
    """The loss alarms of a built corpus under ``cfg`` (an ``AlarmConfig``): ``[{level: error|warning, source,
    file, message}]``. Computed from the manifest's counts, so that changing only the alarm settings (accepting a
    source) never needs a rebuild."""
    alarms = []
    accept = set(cfg.accept)
    fix = ("change the rule that rejects it (e.g. the source's `text_field`, `kind`, or the step's thresholds), "
           "or accept the loss: corpus.alarms.accept: [{name}] (--set corpus.alarms.accept=[{name}]), or raise "
           "corpus.alarms.fail_above")
    for name, s in manifest.get("by_source", {}).items():
        if not s["read"]:
            continue
        share = _share(s["lost"], s["read"], s["duplicates"])
        top = ", ".join(f"{k} {v:,}" for k, v in list(s["rejected"].items())[:3]) or "none"
        everything = s["kept"] == 0
        if not everything and share <= cfg.warn_above:
            continue
        accepted = "*" in accept or name in accept
        failing = (everything or share > cfg.fail_above) and not accepted
        what = "lost everything" if everything else f"lost {share:.0%} of its non-duplicate documents"
        msg = (f"source {name!r} {what}: read {s['read']:,}, kept {s['kept']:,}; top reasons: {top}"
               + ("" if not failing else "; " + fix.format(name=name))
               + (" (accepted by corpus.alarms.accept)" if accepted and (everything or share > cfg.fail_above) else ""))
        alarms.append({"level": "error" if failing else "warning", "source": name, "file": None,
                       "share": round(share, 4), "message": msg})
    sources_failing = {a["source"] for a in alarms if a["level"] == "error"}
    src_of = manifest.get("by_source", {})
    for path, f in manifest.get("by_file", {}).items():
        if not f["read"] or f["lost"] == 0:
            continue
        share = f["lost"] / f["read"]
        everything = f["kept"] == 0 and f["lost"] == f["read"]
        if not everything and (f["read"] < cfg.min_file_documents or share <= cfg.fail_above):
            continue
        src = f["source"]
        if src in sources_failing:
            continue  # the source's alarm already says it
        accepted = "*" in accept or src in accept
        top = ", ".join(f"{k} {v:,}" for k, v in list(src_of.get(src, {}).get("rejected", {}).items())[:3])
        what = "lost everything" if everything else f"lost {share:.0%} of its documents"
        msg = (f"file {path} (source {src!r}) {what}: read {f['read']:,}, kept {f['kept']:,}; its source's top "
               f"reasons: {top}" + ("" if accepted else "; " + fix.format(name=src)))
        alarms.append({"level": "warning" if accepted else "error", "source": src, "file": path,
                       "share": round(share, 4), "message": msg})
    return alarms

