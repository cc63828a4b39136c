"""Tokenizer benchmark (issue #9): fertility on held-out parallel sentences against today's byte-level BPE and
the peer tokenizers, training time against plain sentencepiece, and peak memory on a 1 GB corpus.

Needs ``../shared/data`` (see ``scripts/tokenizer_data.py`` for what is trained on and what is held out).
Every figure is measured in this run; timings are ratios against a peer run on the same machine in the same run.

    python scripts/bench_tokenizer.py                       # all three parts, 32k vocabularies
    python scripts/bench_tokenizer.py --split tune          # the split the settings were chosen on
    python scripts/bench_tokenizer.py --skip-rss --skip-peers
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tokenizer_data import REPORT_LANGS, parallel, prepare  # noqa: E402

TARGETS = {"ary_Arab": 1.5, "zgh_Tfng": 1.7, "kab_Latn": 1.5, "eng_Latn": 1.5}
VS_ENGLISH = 1.25


def config(kind: str, vocab: int, files: dict[str, Path], alpha: float, max_repeat: float, balanced: bool):
    from jazari_nlp.tokenization.config import SampleConfig, TokenizerConfig, TokenizerSource

    sources = [TokenizerSource(path=[str(f)], language=lang) for lang, f in files.items()]
    sample = SampleConfig(alpha=alpha, max_repeat=max_repeat) if balanced else SampleConfig(alpha=1.0, max_repeat=1.0)
    return TokenizerConfig(kind=kind, vocab_size=vocab, sources=sources, sample=sample, chat_template=None)


def train_today(files: dict[str, Path], vocab: int, out: Path) -> float:
    """The tokenizer stage as it was: byte-level BPE on every document in file order, no balancing."""
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    def lines():
        for f in files.values():
            with open(f, encoding="utf-8") as fh:
                yield from (line.rstrip("\n") for line in fh if line.strip())

    t0 = time.perf_counter()
    train_tokenizer(TokenizerConfig(kind="byte_bpe", vocab_size=vocab, chat_template=None), lines(), out,
                    progress=False)
    return time.perf_counter() - t0


def plain_sentencepiece(sample: Path, tcfg, prefix: Path, threads: int) -> float:
    """The peer: sentencepiece's own trainer on the same sample file with the same options."""
    import sentencepiece as spm

    t0 = time.perf_counter()
    spm.SentencePieceTrainer.train(
        input=str(sample), model_prefix=str(prefix), vocab_size=tcfg.vocab_size,
        model_type="bpe" if tcfg.kind == "sentencepiece_bpe" else "unigram", character_coverage=1.0,
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        hard_vocab_limit=False, max_sentence_length=tcfg.max_sentence_length, num_threads=threads,
        minloglevel=2, pad_id=0, bos_id=1, eos_id=2, unk_id=3,
        # the options jazari's Arabizi-aware default sets (digits learned like letters): the same work
        split_digits=False, split_by_number=False,
    )
    return time.perf_counter() - t0


def fertility_part(args, files: dict[str, Path], work: Path) -> dict:
    from jazari_nlp.tokenization.evaluate import evaluate_tokenizers
    from jazari_nlp.tokenization.sampling import draw_sample, inputs_from_config
    from jazari_nlp.tokenization.train import train_tokenizer

    today = work / "today_byte_bpe"
    t_today = train_today(files, args.vocab, today)
    tcfg = config(args.kind, args.vocab, files, args.alpha, args.max_repeat, balanced=True)
    ours = work / f"jazari_{args.kind}"
    t0 = time.perf_counter()
    sample = draw_sample(inputs_from_config(tcfg), tcfg.sample, work / "sample.txt", seed=0, progress=False)
    t_sample = time.perf_counter() - t0
    runs, plain = [], []
    for _ in range(args.rounds):  # alternated, best of each: sentencepiece alone moves by 30% between runs
        t0 = time.perf_counter()
        train_tokenizer(tcfg, [], ours, progress=False, text_file=sample.path, threads=args.threads,
                        sample_lines=sample.lines)
        runs.append(time.perf_counter() - t0)
        if args.kind.startswith("sentencepiece"):
            plain.append(plain_sentencepiece(sample.path, tcfg, work / "plain_sp", args.threads))
    t_ours = min(runs)
    timing = {"today_byte_bpe_s": t_today, "sample_s": t_sample, "jazari_train_s": t_ours}
    if plain:
        timing["plain_sentencepiece_s"] = min(plain)
        timing["ratio_train_vs_sentencepiece"] = t_ours / timing["plain_sentencepiece_s"]
        timing["ratio_sample_and_train_vs_sentencepiece"] = (t_ours + t_sample) / timing["plain_sentencepiece_s"]
    specs = [str(today), str(ours)]
    if not args.skip_peers:
        from jazari_nlp.tokenization.peers import list_peers

        specs += [f"peer:{p['name']}" for p in list_peers() if p.get("available")]
    texts = parallel(args.split)
    report = evaluate_tokenizers(specs, texts, progress=False)
    return {"timing": timing, "report": report, "sample": sample.to_json(), "today": str(today), "ours": str(ours)}


def print_fertility(result: dict, split: str) -> None:
    report = result["report"]
    by_spec = {t["spec"]: t["name"] for t in report["tokenizers"]}
    rep = report["results"]
    names = [t["name"] for t in report["tokenizers"]]
    today, ours = by_spec[result["today"]], by_spec[result["ours"]]
    short = {n: ("today byte_bpe" if n == today else "jazari" if n == ours else n) for n in names}
    peers = [n for n in names if n not in (today, ours)]
    print(f"\n## Fertility (tokens per word) on {split} parallel sentences "
          f"({'SIB-200 dev' if split == 'heldout' else 'tune ids'})")
    print("| language | " + " | ".join(short[n] for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for lang in REPORT_LANGS:
        cells = [f"{rep[n][lang]['fertility']:.2f}" if rep[n].get(lang, {}).get("fertility") else "-" for n in names]
        print(f"| {lang} | " + " | ".join(cells) + " |")
    eng = rep[ours]["eng_Latn"]["fertility"]
    print("\n## Ratios (same run)")
    for lang in REPORT_LANGS:
        f = rep[ours][lang]["fertility"]
        peer_values = {n: rep[n][lang]["fertility"] for n in peers if rep[n].get(lang, {}).get("fertility")}
        best = min(peer_values.items(), key=lambda kv: kv[1]) if peer_values else None
        target = TARGETS.get(lang)
        line = (f"{lang}: jazari {f:.3f}; ×today {f / rep[today][lang]['fertility']:.3f}; "
                f"×English {f / eng:.3f} (bar {VS_ENGLISH})")
        if best:
            line += f"; ×best peer {f / best[1]:.3f} (best peer {best[0]} {best[1]:.3f})"
        if target:
            line += f"; target ≤ {target}: {'met' if f <= target else 'NOT met'}"
        print(line)
    for k, v in result["timing"].items():
        print(f"{k}: {v:.3f}")


RSS_CHILD = """
import json, sys, time
from pathlib import Path
from jazari_nlp.tokenization.config import TokenizerConfig, TokenizerSource
from jazari_nlp.tokenization.stage import run_tokenizer_stage
corpus, out, kind, vocab = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cfg = TokenizerConfig(kind=kind, vocab_size=vocab, sources=[TokenizerSource(path=[corpus], language="und")])
t0 = time.perf_counter()
summary = run_tokenizer_stage(cfg, out, seed=0, progress=False, keep_sample=True)
# VmHWM: the peak of this process image (ru_maxrss would keep the parent's peak across fork + exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - t0, "summary": summary, "maxrss_kb": hwm}))
"""


def rss_part(args, files: dict[str, Path], work: Path) -> dict:
    """Peak RSS of the whole tokenizer stage on a corpus of ``--rss-gb`` GB (lines of the training text,
    words shuffled within each line so that the text is not one repeated block)."""
    corpus = work / f"corpus_{args.rss_gb:g}gb.txt"
    target = int(args.rss_gb * 1e9)
    if not corpus.is_file() or corpus.stat().st_size < target:
        lines = [line for f in files.values() for line in f.read_text(encoding="utf-8").splitlines() if line]
        rng = random.Random(0)
        written = 0
        with open(corpus, "w", encoding="utf-8") as out:
            while written < target:
                chunk = []
                for line in rng.sample(lines, min(len(lines), 20_000)):
                    words = line.split()
                    rng.shuffle(words)
                    chunk.append(" ".join(words))
                block = "\n".join(chunk) + "\n"
                out.write(block)
                written += len(block.encode("utf-8"))
    out_dir = work / "rss_tokenizer"
    proc = subprocess.run([sys.executable, "-c", RSS_CHILD, str(corpus), str(out_dir), args.kind, str(args.vocab)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = child["maxrss_kb"] * 1024
    # The training-time ratio on a full-size sample: jazari's trainer and plain sentencepiece on the very sample
    # the stage drew, alternated twice, best of each (the machine is shared: one pair can be off by 20%).
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    tcfg = TokenizerConfig(kind=args.kind, vocab_size=args.vocab)
    sample = out_dir / "sample.txt"
    s = child["summary"]
    ours, plain = [], []
    if args.kind.startswith("sentencepiece"):
        for _ in range(2):
            t0 = time.perf_counter()
            train_tokenizer(tcfg, [], work / "ours_big", progress=False, text_file=sample, threads=args.threads,
                            sample_lines=s["sample_lines"])
            ours.append(time.perf_counter() - t0)
            plain.append(plain_sentencepiece(sample, tcfg, work / "plain_sp_big", args.threads))
    sample.unlink(missing_ok=True)
    return {"corpus_bytes": corpus.stat().st_size, "peak_rss_bytes": peak, "seconds": child["seconds"],
            "sample_mb": s.get("sample_mb"), "sample_s": s.get("sample_s"), "train_s": min(ours, default=None),
            "stage_train_s": s.get("train_s"), "plain_sentencepiece_s": min(plain, default=None),
            "ratio_train_vs_sentencepiece": min(ours) / min(plain) if plain else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/jazari_bench_tokenizer"))
    ap.add_argument("--kind", default="sentencepiece_bpe")
    ap.add_argument("--vocab", type=int, default=32_000)
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--max-repeat", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--split", choices=("heldout", "tune"), default="heldout")
    ap.add_argument("--rounds", type=int, default=4,
                    help="Alternated training rounds on the small sample (best of each kept).")
    ap.add_argument("--rss-gb", type=float, default=1.0)
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--json", type=Path, help="Also write every figure to this JSON file.")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    files = prepare(args.work)
    result = fertility_part(args, files, args.work)
    print_fertility(result, args.split)
    if not args.skip_rss:
        rss = rss_part(args, files, args.work)
        result["rss"] = rss
        print(f"\n## Memory: whole tokenizer stage on a {rss['corpus_bytes'] / 1e9:.2f} GB corpus: peak RSS "
              f"{rss['peak_rss_bytes'] / 1e9:.3f} GB (bar 1 GB: ratio {rss['peak_rss_bytes'] / 1e9:.3f}), "
              f"{rss['seconds']:.0f} s, sample {rss['sample_mb']} MB")
        if rss["plain_sentencepiece_s"]:
            print(f"training on that {rss['sample_mb']} MB sample: jazari {rss['train_s']:.1f} s, plain sentencepiece "
                  f"{rss['plain_sentencepiece_s']:.1f} s: ratio {rss['ratio_train_vs_sentencepiece']:.3f} (bar 1.2); "
                  f"drawing the sample from the 1 GB corpus: {rss['sample_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
