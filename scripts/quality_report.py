"""What the default corpus pipeline keeps of real short text, and what it still rejects of planted junk.

Runs ``build_corpus`` with the *default* steps (repair, normalize, langid, quality, decontaminate, exact_dedup,
near_dedup, pii) and every source at ``kind: auto`` on the developers' real-text folder (``../shared/data``):
AfriSenti Darija tweets (train, dev), DODa sentences, SIB-200 ary_Arab / arb_Arab / tzm_Tfng / kab_Latn
(train+dev) and the Kabyle CC0 text files; then on the benchmark corpus of ``scripts/bench_corpus.py`` (web-like
multi-paragraph documents with planted junk), once as ``kind: auto`` and once as ``kind: web``.

Per source it prints: documents read, exact and near duplicates, kept, the keep rate of the non-duplicate
items (kept / (read - duplicates)), the share of documents with 100 words or more (long under ``kind: auto``)
and the top reasons; for the benchmark, the rejection rate per planted junk type. The target: at least 90% of
the non-duplicate items kept for AfriSenti, DODa and each SIB-200 language, the planted junk still rejected.

Example::

    python scripts/quality_report.py                 # ../shared/data, a 2 MB benchmark corpus
    python scripts/quality_report.py --json > report.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TARGET = 0.90
TARGET_SOURCES = ("afrisenti_train", "afrisenti_dev", "doda_sentences", "sib200_ary_Arab", "sib200_arb_Arab",
                  "sib200_tzm_Tfng", "sib200_kab_Latn")
DUPLICATES = ("exact_duplicate", "near_duplicate")
# What the pipeline should do with each planted junk type (bench_corpus._junk) once it is recognised.
JUNK_EXPECTED = {"boilerplate": "rejected", "repeated_paragraph": "rejected", "digit_table": "rejected",
                 "too_short": "rejected as a web page (kind web); a sentence is text (kind auto)",
                 "mojibake": "repaired and kept, or rejected when bytes are lost (U+FFFD)",
                 "control_chars": "repaired and kept"}


def real_sources(data: Path, kind: str = "auto") -> list[dict]:
    """The real-text sources, each read the way its files are laid out, all of one ``kind``."""
    sib = {f"sib200_{lang}": [str(data / "sib200" / lang / f"{split}.tsv") for split in ("train", "dev")]
           for lang in ("ary_Arab", "arb_Arab", "tzm_Tfng", "kab_Latn")}
    sources = [
        {"name": "afrisenti_train", "paths": [str(data / "afrisenti/ary/train.tsv")], "text_field": "tweet"},
        {"name": "afrisenti_dev", "paths": [str(data / "afrisenti/ary/dev.tsv")], "text_field": "tweet"},
        {"name": "doda_sentences", "paths": [str(data / "doda_v1/sentences.csv")], "text_field": "darija"},
        *({"name": name, "paths": paths, "text_field": "text"} for name, paths in sib.items()),
        {"name": "kabyle_cc0", "paths": [str(data / "kabyle_cc0/*.txt")]},
    ]
    return [{**s, "kind": kind} for s in sources]


def junk_type(text: str) -> str:
    """The planted junk type of a benchmark document (bench_corpus._junk does not record it; each type has
    its own signature). Example: ``junk_type("1 2 3\\n4 5 6")`` → ``'digit_table'``."""
    if " | " in text:
        return "boilerplate"
    if re.fullmatch(r"[\d \n]+", text):
        return "digit_table"
    if "\x00" in text:
        return "control_chars"
    paras = text.split("\n\n")
    if len(paras) > 1 and len(set(paras)) == 1:
        return "repeated_paragraph"
    if "\n" not in text:
        return "too_short"
    return "mojibake"


def build(sources: list[dict], out: Path) -> tuple[dict[str, Counter], dict[str, str]]:
    """Run the default pipeline; per source the count of each outcome (reject reasons and ``kept``), and the
    outcome per document id."""
    import pyarrow.parquet as pq

    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig

    data = {"sources": sources, "executor": {"tasks": 1, "workers": 1}}
    if "alarms" in CorpusConfig.model_fields:  # report losses, do not fail on them
        data["alarms"] = {"accept": ["*"]}
    cfg = CorpusConfig.model_validate(data)
    build_corpus(cfg, out, force=True, progress=False)
    counts: dict[str, Counter] = defaultdict(Counter)
    by_id: dict[str, str] = {}
    for f in sorted((out / "rejects").rglob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                counts[r["source"]][r["reason"]] += 1
                by_id[r["id"]] = r["reason"]
    for split in ("train", "heldout"):
        for f in sorted((out / split).glob("*/*.parquet")):
            t = pq.read_table(f, columns=["source", "id"]).to_pydict()
            for src, rid in zip(t["source"], t["id"], strict=True):
                counts[src]["kept"] += 1
                by_id[rid] = "kept"
    return counts, by_id


def word_counts(sources: list[dict]) -> dict[str, list[int]]:
    """Words per input item (whitespace tokens with a letter or digit), read with jazari's own readers."""
    from jazari_nlp.corpus.config import SourceConfig
    from jazari_nlp.corpus.filters import split_words
    from jazari_nlp.corpus.sources import iter_file, resolve_source_files

    out: dict[str, list[int]] = {}
    for s in sources:
        src = SourceConfig.model_validate(s)
        files = resolve_source_files(src)[0]
        out[src.name] = [sum(1 for w in split_words(r["text"] or "") if w)
                         for f in files for r in iter_file(src, Path(f)) if not r["metadata"].get("_read_error")]
    return out


def source_rows(counts: dict[str, Counter], words: dict[str, list[int]], order: list[str]) -> list[dict]:
    rows = []
    for name in sorted(counts, key=lambda n: order.index(n) if n in order else len(order)):
        c = counts[name]
        read = sum(c.values())
        dups = {k: c[k] for k in DUPLICATES}
        base = read - sum(dups.values())
        lost = Counter({k: v for k, v in c.items() if k not in (*DUPLICATES, "kept")})
        n = words.get(name, [])
        rows.append({"source": name, "read": read, "exact_duplicates": dups["exact_duplicate"],
                     "near_duplicates": dups["near_duplicate"], "kept": c["kept"],
                     "keep_rate": round(c["kept"] / base, 4) if base else None,
                     "long_share": round(sum(x >= 100 for x in n) / len(n), 4) if n else None,
                     "max_words": max(n) if n else None, "top_reasons": lost.most_common(3)})
    return rows


def junk_rows(rows_in: list[dict], by_id: dict[str, str], kind: str) -> list[dict]:
    groups: dict[str, Counter] = defaultdict(Counter)
    for r in rows_in:
        group = junk_type(r["text"]) if r["gen_kind"] == "junk" else r["gen_kind"]
        groups[group][by_id.get(f"bench_{kind}:{r['id']}", by_id.get(r["id"], "missing"))] += 1
    out = []
    for group, c in sorted(groups.items()):
        n = sum(c.values())
        rejected = n - c["kept"] - sum(c[k] for k in DUPLICATES)
        out.append({"kind": kind, "type": group, "documents": n, "rejected": rejected,
                    "rejected_rate": round(rejected / n, 4), "duplicates": sum(c[k] for k in DUPLICATES),
                    "top_reasons": Counter({k: v for k, v in c.items() if k != "kept"}).most_common(3),
                    "expected": JUNK_EXPECTED.get(group, "kept" if group in ("clean", "pii") else "duplicate")})
    return out


def _reasons(pairs: list) -> str:
    return ", ".join(f"{k} {v}" for k, v in pairs) or "-"


def print_tables(rows: list[dict], junk: list[dict]) -> None:
    print(f"{'source':18} {'read':>6} {'exact':>6} {'near':>5} {'kept':>6} {'keep%':>6} {'>=100w%':>7} "
          f"{'max w':>5}  top reasons")
    for r in rows:
        rate = f"{100 * r['keep_rate']:.1f}" if r["keep_rate"] is not None else "-"
        long = f"{100 * r['long_share']:.1f}" if r["long_share"] is not None else "-"
        print(f"{r['source']:18} {r['read']:6d} {r['exact_duplicates']:6d} {r['near_duplicates']:5d} "
              f"{r['kept']:6d} {rate:>6} {long:>7} {r['max_words'] or '-':>5}  {_reasons(r['top_reasons'])}")
    if junk:
        print(f"\n{'bench kind':10} {'type':18} {'docs':>5} {'rejected%':>9}  top reasons  (expected)")
        for j in junk:
            print(f"{j['kind']:10} {j['type']:18} {j['documents']:5d} {100 * j['rejected_rate']:9.1f}  "
                  f"{_reasons(j['top_reasons'])}  ({j['expected']})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="The real-text folder (default ../shared/data).")
    ap.add_argument("--bench-mb", type=float, default=2, help="Size of the benchmark corpus (0: skip it).")
    ap.add_argument("--workdir", type=Path, default=None, help="Keep the builds here (default: a temp folder).")
    ap.add_argument("--kind", default="auto", help="Source kind of the real-text sources (web: the long-document "
                    "rules on everything, as before issue #7).")
    ap.add_argument("--json", action="store_true", help="Print JSON instead of tables.")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"error: {args.data} not found: give the real-text folder with --data", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_corpus import make_corpus

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        sources = real_sources(args.data, args.kind)
        counts, _ = build(sources, work / "real")
        rows = source_rows(counts, word_counts(sources), [s["name"] for s in sources])
        junk: list[dict] = []
        if args.bench_mb:
            info = make_corpus(work / "bench_input", args.bench_mb, seed=0, shards=1)
            files = [work / "bench_input" / f for f in info["files"]]
            bench_in = [json.loads(line) for f in files for line in f.open(encoding="utf-8")]
            for kind in ("auto", "web"):
                src = {"name": f"bench_{kind}", "paths": [str(f) for f in files], "kind": kind}
                c, by_id = build([src], work / f"bench_{kind}")
                rows += source_rows(c, {}, [src["name"]])
                junk += junk_rows(bench_in, by_id, kind)
    target = {r["source"]: r["keep_rate"] for r in rows if r["source"] in TARGET_SOURCES}
    ok = all(v is not None and v >= TARGET for v in target.values()) and len(target) == len(TARGET_SOURCES)
    if args.json:
        print(json.dumps({"sources": rows, "bench_junk": junk, "target": TARGET, "target_met": ok}, indent=2,
                         ensure_ascii=False))
    else:
        print_tables(rows, junk)
        print(f"\ntarget: keep >= {TARGET:.0%} of the non-duplicate items of {', '.join(TARGET_SOURCES)}: "
              + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
