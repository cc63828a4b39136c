"""Benchmark: the full jazari corpus pipeline vs a plain datatrove pipeline, on the same synthetic corpus.

Builds a mixed-script corpus (Arabic-script Darija/MSA, Arabizi, Tifinagh, Amazigh Latin, French) of
``--size-mb`` MB by recombining the package's sample sentences (or a small built-in word list when they are
absent), plants ~5% exact and near duplicates, then runs, one task on one core each:

- plain: datatrove JsonlReader → GopherRepetitionFilter → GopherQualityFilter → ParquetWriter
  (whitespace word tokenizer: datatrove's English one needs spaCy)
- jazari: the default pipeline (repair, normalize, langid, quality, decontaminate, exact_dedup, near_dedup, pii)

and prints documents/s and MB/s per core for both and their ratio (goal: jazari ≥ 0.5× plain).

Example::

    python scripts/bench_corpus.py --size-mb 20
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"
FALLBACK = {  # written for this benchmark: frequent words per language/script
    "ary_Arab": "واش كاين شي حاجة جديدة اليوم فالمدينة ديالنا بزاف ديال الناس مشاو للسوق باش يشريو الخضرة".split(),
    "arb_Arab": "في هذا اليوم أعلنت الحكومة عن برنامج جديد من أجل دعم التعليم والصحة في المناطق القروية".split(),
    "ary_Latn": "wach kayn chi haja jdida lyoum f lmdina dyalna bzaf dyal nas mchaw l souk bach ychriw".split(),
    "zgh_Tfng": "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵎⴰⵏⵣⴰⴽⵉⵏ ⵜⵍⵍⴰ ⵜⴰⵙⴷⵓⵍⵜ ⴷ ⵜⵓⵙⵙⵏⴰ ⴳ ⵜⵎⴰⵣⵉⵖⵜ ⵏ ⵓⵎⵓⵔ ⵏ ⵍⵎⵖⵔⵉⴱ".split(),
    "tzm_Latn": "azul fellawen manzakin tella tasdawit d tussna g tmazight n umur n lmeghrib".split(),
    "fra_Latn": "le gouvernement a annoncé un nouveau programme pour soutenir les écoles dans les régions".split(),
}


def vocab() -> dict[str, list[str]]:
    out = {}
    for lang, words in FALLBACK.items():
        f = SAMPLES / f"{lang}.txt"
        out[lang] = f.read_text(encoding="utf-8").split() if f.exists() else words
    return out


def make_corpus(path: Path, size_mb: float, seed: int = 0) -> int:
    rng = random.Random(seed)
    words = vocab()
    langs = list(words)
    target, written, n = size_mb * 2**20, 0, 0
    recent: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            r = rng.random()
            if recent and r < 0.03:
                text = rng.choice(recent)  # exact duplicate
            elif recent and r < 0.05:
                w = rng.choice(recent).split(" ")
                w[rng.randrange(len(w))] = "x"
                text = " ".join(w)  # near duplicate
            else:
                lang = rng.choice(langs)
                lines = []
                for _ in range(rng.randint(4, 12)):
                    lines.append(" ".join(rng.choice(words[lang]) for _ in range(rng.randint(8, 25))) + " .")
                text = "\n".join(lines)
                recent = (recent + [text])[-200:]
            line = json.dumps({"text": text, "id": f"d{n}"}, ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode())
            n += 1
    return n


def run_plain(inp: Path, out: Path) -> float:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    from jazari_nlp.corpus.steps import WhitespaceWords

    # datatrove's default English tokenizer needs spaCy; whitespace words keep the baseline dependency-free and
    # script-agnostic. Its English stopword check would drop every document, so it is off.
    words = WhitespaceWords()
    pipe = [JsonlReader(str(inp.parent), glob_pattern=inp.name), GopherRepetitionFilter(language=words),
            GopherQualityFilter(language=words, min_stop_words=None), ParquetWriter(str(out / "data"))]
    t = time.time()
    LocalPipelineExecutor(pipe, tasks=1, workers=1, logging_dir=str(out / "logs")).run()
    return time.time() - t


def run_jazari(inp: Path, out: Path) -> tuple[float, dict]:
    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig

    cfg = CorpusConfig.model_validate({"sources": [{"name": "bench", "paths": [str(inp)], "id_field": "id"}],
                                       "executor": {"tasks": 1, "workers": 1}})
    t = time.time()
    summary = build_corpus(cfg, out, force=True, progress=False)
    return time.time() - t, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--workdir", type=Path, default=None, help="Keep files here (default: a temp folder).")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="jazari_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    inp = work / "input" / "corpus.jsonl"
    inp.parent.mkdir(exist_ok=True)
    n = make_corpus(inp, args.size_mb)
    mb = inp.stat().st_size / 2**20
    print(f"corpus: {n:,} documents, {mb:.1f} MB (mixed Arab/Latn/Tfng), 1 task on 1 core per pipeline")
    t_plain = run_plain(inp, work / "plain")
    t_jz, summary = run_jazari(inp, work / "jazari")
    rows = [("plain datatrove (reader→gopher→writer)", t_plain), ("jazari full pipeline", t_jz)]
    for name, t in rows:
        print(f"{name:<42} {t:8.1f} s  {n / t:10,.0f} docs/s/core  {mb / t:7.2f} MB/s/core")
    print(f"jazari / plain speed ratio: {t_plain / t_jz:.2f}x (goal ≥ 0.5x); jazari kept "
          f"{summary['documents_kept']:,} of {summary['documents_read']:,}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
