"""Throughput of normalize + identify in MB/s per core (one process), on real text.

Input: the recipe's dev and held-out test sentences of every source (FLORES-200 in 16 varieties, Darija and
Algerian tweets, DODa, UD PUD, Kabyle Wikipedia, ...) from ../shared/data, else the project's samples
(jazari_nlp/data/samples/*.txt); lines repeated to reach ``--mb``. Rates use this process's CPU time
(``time.process_time``), the best of ``--repeat`` timed passes after one warm-up, so other jobs on a shared
machine skew them less; wall time is printed beside.

Example::

    python scripts/bench_langid.py --mb 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_lines(config: Path, shared: Path) -> list[str]:
    lines: list[str] = []
    if shared.exists():
        from jazari_nlp.text.langid_train import collect, load_train_config

        cfg = load_train_config(config)
        lines = [text for split in ("dev", "test") for _, text in collect(cfg, split)]
    if not lines:
        for path in sorted((ROOT / "jazari_nlp/data/samples").glob("*.txt")):
            lines += path.read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ln.strip()]


def timed(name: str, fn, lines: list[str], nbytes: int, repeat: int, batch: bool = False) -> float:
    """bench_text's steady-state timing (one warm-up pass, best of ``repeat``), so both scripts measure alike."""
    from bench_text import timed as text_timed  # scripts/ is on sys.path when a script there runs

    return text_timed(name, fn, lines, nbytes, batch=batch, repeat=repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=2.0, help="Size of the input (lines repeated to reach it).")
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "langid.yaml")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=5, help="Timed passes (best kept), after one warm-up.")
    ap.add_argument("--model", type=Path, default=None, help="A jazari model (default: the shipped one).")
    args = ap.parse_args()

    from jazari_nlp.text import LangIdConfig, load_identifier, normalize

    base = load_lines(args.config, args.shared)
    from bench_text import repeat_to  # scripts/ is on sys.path when a script there runs

    lines, size = repeat_to(base, args.mb)
    print(f"input: {len(lines)} lines, {size / 1e6:.2f} MB, {size / len(lines):.0f} bytes a line "
          "(single process, one core)")
    ident = load_identifier(LangIdConfig(model_path=args.model) if args.model else None)
    ident.predict("warm up")

    def identify(text: str):
        return ident.predict(text)[0]  # what jz.identify does, on the chosen model

    timed("normalize (train profile)", normalize, lines, size, args.repeat)
    timed("identify", identify, lines, size, args.repeat)
    both = timed("normalize + identify", lambda t: identify(normalize(t)), lines, size, args.repeat)
    batch = timed("normalize + predict_batch (1000)", lambda ts: [
        ident.predict_batch([normalize(t) for t in ts[i:i + 1000]]) for i in range(0, len(ts), 1000)],
        lines, size, args.repeat, batch=True)
    print(f"normalize + identify: {both:.2f} MB/s per core (target >= 1.0); batched: {batch:.2f} MB/s")


if __name__ == "__main__":
    main()
