"""Benchmark: the full jazari corpus pipeline vs a plain datatrove pipeline, on the same generated corpus.

Generates (once, then cached on disk) a mixed-script corpus of ``--size-mb`` MB (default 200) by recombining the
package's bundled sample sentences (``jazari_nlp/data/samples/*.txt``) into multi-paragraph documents in all six
varieties, with planted exact and near duplicates, personal data and junk (boilerplate, repeated lines, digit
tables, too-short posts, mojibake, control characters). It is deterministic for a seed and split into
``--shards`` jsonl files, because datatrove splits work per file. Then it runs, on the same files, in one run:

- plain: datatrove JsonlReader → GopherRepetitionFilter → GopherQualityFilter → ParquetWriter
  (whitespace word tokenizer: datatrove's English one needs spaCy; its English stopword check is off)
- jazari: the default pipeline (repair, normalize, langid, quality, decontaminate, exact_dedup, near_dedup, pii)

and prints documents/s and MB/s per core for both (wall time × workers) and MB per CPU-second (the worker
processes' own CPU time, which the other jobs of a shared machine change least), their ratios (goal: jazari ≥
1.0× plain), where the time went, step by step, from datatrove's own stats (CPU-side time summed over tasks), and what
jazari did with each planted kind of document (duplicates found, junk dropped).

Example::

    python scripts/bench_corpus.py --size-mb 20            # quick look
    python scripts/bench_corpus.py                          # the 200 MB run (tasks=2, workers=2)
    python scripts/bench_corpus.py --size-mb 20 --rounds 3  # alternate the pipelines, best round of each
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"
LANGS = ("ary_Arab", "ary_Latn", "arb_Arab", "zgh_Tfng", "tzm_Latn", "fra_Latn")
GENERATOR_VERSION = 2  # bump when make_corpus changes, so a cached corpus is regenerated

# Junk and PII written for this benchmark (no real person or account).
BOILERPLATE = ["Accueil", "Contact", "Connexion", "Mentions légales", "Politique de confidentialité", "Partager",
               "Facebook", "Twitter", "Lire la suite", "الرئيسية", "اتصل بنا", "تسجيل الدخول", "المزيد", "Menu"]
PII = ["0612345678", "+212 6 61 23 45 67", "05 22 98 76 54", "contact.redaction@exemple.ma",
       "ahmed.b@mail-test.ma", "CIN BK123456", "RIB 011780000012345678901234", "192.168.10.25"]


def sample_sentences() -> dict[str, list[str]]:
    out = {}
    for lang in LANGS:
        lines = (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        out[lang] = [ln.strip() for ln in lines if ln.strip()]
    return out


def _document(rng: random.Random, sents: list[str]) -> str:
    """3-8 paragraphs of 2-6 sentences; a third of the paragraphs keep one sentence per line."""
    paras = []
    for _ in range(rng.randint(3, 8)):
        chosen = [rng.choice(sents) for _ in range(rng.randint(2, 6))]
        paras.append(("\n" if rng.random() < 0.33 else " ").join(chosen))
    return "\n\n".join(paras)


def _junk(rng: random.Random, sents: list[str]) -> str:
    kind = rng.randrange(6)
    if kind == 0:  # navigation boilerplate
        return "\n".join(" | ".join(rng.sample(BOILERPLATE, 4)) for _ in range(rng.randint(5, 15)))
    if kind == 1:  # one paragraph repeated
        return "\n\n".join([" ".join(rng.choice(sents) for _ in range(3))] * rng.randint(4, 8))
    if kind == 2:  # digit table
        return "\n".join(" ".join(str(rng.randrange(10**6)) for _ in range(8)) for _ in range(rng.randint(5, 20)))
    if kind == 3:  # too short
        return rng.choice(sents)
    if kind == 4:  # mojibake: UTF-8 read as cp1252 (Latin-script varieties look like this in old dumps)
        return _document(rng, sents).encode("utf-8").decode("cp1252", errors="replace")
    return _document(rng, sents).replace(" ", " \x00", 3) + "\u200b\x07"  # control characters


def make_corpus(folder: Path, size_mb: float, seed: int = 0, shards: int = 8) -> dict:
    """Write ``shards`` jsonl files of about ``size_mb`` MB in total into ``folder``; reuse them when cached.

    Mix: 82% clean documents (six varieties, uniform), 4% with personal data, 3% exact and 2% near duplicates of
    a recent document, 9% junk. Example: ``make_corpus(Path("/tmp/c"), 5)["documents"]`` → about 3,000.
    """
    marker = folder / "corpus.json"
    want = {"size_mb": size_mb, "seed": seed, "shards": shards, "version": GENERATOR_VERSION}
    if marker.exists():
        info = json.loads(marker.read_text())
        if {k: info.get(k) for k in want} == want and all((folder / f).exists() for f in info["files"]):
            return info | {"cached": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    sents = sample_sentences()
    target = size_mb * 2**20
    files = [f"part-{i:04d}.jsonl" for i in range(shards)]
    outs = [open(folder / f, "w", encoding="utf-8") for f in files]
    written, n, kinds = 0, 0, {"clean": 0, "pii": 0, "exact_dup": 0, "near_dup": 0, "junk": 0}
    recent: list[tuple[str, str]] = []
    try:
        while written < target:
            r = rng.random()
            lang = rng.choice(LANGS)
            if recent and r < 0.03:
                kind, (lang, text) = "exact_dup", rng.choice(recent)
            elif recent and r < 0.05:
                kind, (lang, text) = "near_dup", rng.choice(recent)
                lines = text.split("\n")
                lines[rng.randrange(len(lines))] = rng.choice(sents[lang])
                text = "\n".join(lines)
            elif r < 0.14:
                kind, text = "junk", _junk(rng, sents[lang])
            else:
                text = _document(rng, sents[lang])
                kind = "clean"
                if r < 0.18:
                    kind = "pii"
                    paras = text.split("\n\n")
                    i = rng.randrange(len(paras))
                    paras[i] += f" {rng.choice(PII)}."
                    text = "\n\n".join(paras)
                recent = (recent + [(lang, text)])[-500:]
            kinds[kind] += 1
            line = json.dumps({"text": text, "id": f"d{n}", "gen_lang": lang, "gen_kind": kind},
                              ensure_ascii=False) + "\n"
            outs[min(int(written / target * shards), shards - 1)].write(line)
            written += len(line.encode("utf-8"))
            n += 1
    finally:
        for f in outs:
            f.close()
    info = want | {"documents": n, "bytes": written, "kinds": kinds, "files": files}
    marker.write_text(json.dumps(info, indent=2))
    return info | {"cached": False}


def step_times(logdir: Path) -> dict[str, float]:
    """Seconds per step summed over the tasks of one executor (datatrove's ``stats.json`` time stats)."""
    path = logdir / "stats.json"
    if not path.exists():
        return {}
    out: dict[str, float] = {}
    for block in json.loads(path.read_text()):
        name = block["name"].split(": ", 1)[-1].split(" ", 1)[-1]
        t = block.get("time_stats") or {}
        total = t.get("total", 0.0) if isinstance(t, dict) else float(t)
        out[name] = out.get(name, 0.0) + float(total)
    return out


def planted_outcomes(inp: Path, out: Path, files: list[str]) -> dict[str, dict[str, int]]:
    """Per planted kind (clean, pii, exact_dup, near_dup, junk): how many documents jazari kept or dropped, and
    why, from its rejects (the generator's ``gen_kind`` of each id). Example: ``{"near_dup": {"near_duplicate": 270,
    "kept": 16}, ...}``."""
    import gzip

    kind = {}
    for name in files:
        with open(inp / name, "rb") as f:
            for line in f:
                row = json.loads(line)
                kind[row["id"]] = row["gen_kind"]
    reason = {}
    for path in (out / "rejects").glob("*/*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                reason[row["id"]] = row["reason"]
    table: dict[str, dict[str, int]] = {}
    for doc_id, k in kind.items():
        counts = table.setdefault(k, {})
        r = reason.get(doc_id, "kept")
        counts[r] = counts.get(r, 0) + 1
    return {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in table.items()}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of every process under it, running or finished.

    datatrove's workers are started by a fork server, so they are not this process's children and
    ``RUSAGE_CHILDREN`` misses them: on Linux each live descendant's own time plus the time of the children it
    has reaped is read from ``/proc/PID/stat`` (each process counted once, where it runs or by whoever reaped it).
    """
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return total
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for d in proc.iterdir():
        if d.name.isdigit():
            try:
                stats[int(d.name)] = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
    children: dict[int, list[int]] = {}
    for pid, f in stats.items():
        children.setdefault(int(f[1]), []).append(pid)  # field 4 of stat: the parent's pid
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        f = stats[pid]
        total += sum(int(v) for v in f[11:15]) / tick  # utime, stime, cutime, cstime (fields 14-17)
        todo.extend(children.get(pid, []))
    return total


def run_plain(inp: Path, out: Path, tasks: int, workers: int) -> tuple[float, dict[str, float]]:
    """The peer as its users run it: datatrove's own local executor (forkserver workers, its default)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    from jazari_nlp.corpus.dedup_stages import WhitespaceWords

    words = WhitespaceWords()
    pipe = [JsonlReader(str(inp), glob_pattern="*.jsonl"), GopherRepetitionFilter(language=words),
            GopherQualityFilter(language=words, min_stop_words=None), ParquetWriter(str(out / "data"))]
    t = time.time()
    LocalPipelineExecutor(pipe, tasks=tasks, workers=workers, logging_dir=str(out / "logs")).run()
    return time.time() - t, {f"plain {k}": v for k, v in step_times(out / "logs").items()}


def run_one(which: str, inp: Path, work: Path, tasks: int, workers: int, result: Path) -> None:
    """One pipeline in this (fresh) process; wall time, CPU time of the process tree and step times to ``result``.
    Each pipeline gets its own interpreter so neither pays for, nor profits from, the other's imports, fork
    server or loaded models."""
    c = cpu_seconds()
    if which == "plain":
        shutil.rmtree(work / "plain", ignore_errors=True)
        wall, times = run_plain(inp, work / "plain", tasks, workers)
        summary = None
    else:
        wall, summary, times = run_jazari(inp, work / "jazari", tasks, workers)
    cpu = cpu_seconds() - c  # before exiting: the fork server and its reaped workers are still counted
    result.write_text(json.dumps({"wall": wall, "cpu": cpu, "times": times, "summary": summary}))


def run_child(which: str, args, work: Path) -> dict:
    import subprocess
    import sys

    result = work / f"{which}_result.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--size-mb", f"{args.size_mb:g}", "--seed", str(args.seed),
           "--shards", str(args.shards), "--tasks", str(args.tasks), "--workers", str(args.workers),
           "--cache-dir", str(args.cache_dir), "--workdir", str(work), "--child", which, "--result", str(result)]
    with open(work / f"{which}.log", "w") as log:  # datatrove's console logging, kept out of the report
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"the {which} run failed (exit {done.returncode}); its log: {work / f'{which}.log'}")
    return json.loads(result.read_text())


def run_jazari(inp: Path, out: Path, tasks: int, workers: int) -> tuple[float, dict, dict[str, float]]:
    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig

    cfg = CorpusConfig.model_validate({"sources": [{"name": "bench", "paths": [str(inp / "*.jsonl")],
                                                    "id_field": "id"}],
                                       "executor": {"tasks": tasks, "workers": workers}})
    t = time.time()
    summary = build_corpus(cfg, out, force=True, progress=False)
    wall = time.time() - t
    times: dict[str, float] = {}
    for logdir in sorted((out / "_work" / "logs").iterdir()):
        for k, v in step_times(logdir).items():
            times[f"{logdir.name} {k}"] = v
    return wall, summary, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shards", type=int, default=8, help="Input files (datatrove splits work per file).")
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="Cores used at once; speeds are reported per core.")
    ap.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    / "jazari_nlp" / "bench_corpus", help="Where the generated input is kept between runs.")
    ap.add_argument("--only", choices=["plain", "jazari"], default=None, help="Run one pipeline only.")
    ap.add_argument("--workdir", type=Path, default=None, help="Keep the outputs here (default: a temp folder).")
    ap.add_argument("--child", choices=["plain", "jazari"], default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=1, help="Run the pipelines this many times, alternating (plain, "
                    "jazari, plain, ...); each one's best round is reported, so a burst of load on the shared "
                    "machine during one round does not decide the ratio.")
    args = ap.parse_args()

    t = time.time()
    if args.child:  # one pipeline in a fresh process (see run_one); the parent prints
        inp = args.cache_dir / f"{args.size_mb:g}mb_seed{args.seed}_{args.shards}shards"
        run_one(args.child, inp, args.workdir, args.tasks, args.workers, args.result)
        return
    inp = args.cache_dir / f"{args.size_mb:g}mb_seed{args.seed}_{args.shards}shards"
    info = make_corpus(inp, args.size_mb, args.seed, args.shards)
    mb, n = info["bytes"] / 2**20, info["documents"]
    print(f"input: {n:,} documents, {mb:.1f} MB in {args.shards} files at {inp} "
          f"({'cached' if info['cached'] else f'generated in {time.time() - t:.0f}s'}); mix {info['kinds']}")
    print(f"executor: tasks={args.tasks} workers={args.workers}; per core = per (wall second × workers); each "
          "pipeline runs in a fresh Python process (its imports, workers and models included)")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="jazari_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    names = {"plain": "plain datatrove (reader→gopher→writer)", "jazari": "jazari full pipeline"}
    runs: dict[str, list[tuple[float, float]]] = {}  # pipeline -> [(wall s, CPU s)] per round
    times: dict[str, float] = {}
    summary = None
    for _ in range(max(1, args.rounds)):
        for which in ("plain", "jazari"):
            if args.only in (None, which):
                res = run_child(which, args, work)
                runs.setdefault(which, []).append((res["wall"], res["cpu"]))
                times |= res["times"]
                summary = res["summary"] or summary
    cores = args.workers
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    print(f"\n{'pipeline':<42}{'wall s':>9}{'docs/s/core':>14}{'MB/s/core':>11}{'CPU s':>9}{'MB/CPU s':>10}"
          + ("   (best of each pipeline's rounds: " + ", ".join(
              f"{k} " + "/".join(f"{w:.0f}" for w, _ in v) + " s" for k, v in runs.items()) + ")"
             if args.rounds > 1 else ""))
    for key, (t, cpu) in best.items():
        print(f"{names[key]:<42}{t:9.1f}{n / t / cores:14,.0f}{mb / t / cores:11.3f}{cpu:9.1f}{mb / cpu:10.3f}")
    if len(best) == 2:
        print(f"jazari / plain speed ratio: {best['plain'][0] / best['jazari'][0]:.2f}x per core-second of wall time "
              f"(goal ≥ 1.0x); {best['plain'][1] / best['jazari'][1]:.2f}x per CPU-second (the processes' own CPU "
              "time: what other jobs on a shared machine change least)")
    if args.only in (None, "jazari"):
        print(f"jazari kept {summary['documents_kept']:,} of {summary['documents_read']:,} "
              f"(rejected {summary['rejected_total']:,})")
        print("planted kinds → jazari's outcome (the duplicates found, the junk dropped):")
        for kind, counts in planted_outcomes(inp, work / "jazari", info["files"]).items():
            print(f"  {kind:<10} " + ", ".join(f"{r} {n:,}" for r, n in counts.items()))
    print("\ntime per step, seconds summed over tasks (datatrove stats; datatrove's dedup stages 1 and 3 also count"
          " the steps that feed them or follow them in the same pass):")
    for k, v in times.items():
        if v >= 0.05:
            print(f"  {k:<48}{v:9.1f}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
