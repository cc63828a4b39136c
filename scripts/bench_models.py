"""Benchmark jazari's LM.loglikelihood against lm-evaluation-harness's HFLM on the same multiple-choice requests.

Both score the same requests with the same local model in the same process; the script prints the largest
|Δ log-likelihood|, whether is_greedy agrees everywhere, both accuracies, and requests/second of lm-eval, of
jazari with prefix reuse and of jazari's plain path, with the speed ratio. Times are the best of ``--repeats``
runs (alternating), so that a busy machine hurts both sides alike. lm-eval is a bench dependency only
(``pip install lm-eval``).

Usage::

    python scripts/bench_models.py                          # builds a small Llama in a temporary folder
    python scripts/bench_models.py --model runs/quickstart --items 200 --batch-size 32

From Python (scripts/bench_eval.py)::

    from bench_models import bench_loglikelihood, multiple_choice_requests
    report = bench_loglikelihood("runs/quickstart/model", multiple_choice_requests(100))
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

for _k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_k, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def multiple_choice_requests(items: int = 100, choices: int = 4, seed: int = 0) -> tuple[list[tuple[str, str]],
                                                                                     list[int]]:
    """``items`` multiple-choice items from the bundled samples: a context of three sentences and a question
    line, ``choices`` continuations of 4-9 words each (the first is the true next sentence). Returns the flat
    ``(context, continuation)`` requests (item by item) and each item's gold index."""
    from jazari_nlp.modeling.tiny import sample_lines

    lines = sample_lines()
    rng = random.Random(seed)
    requests, gold = [], []
    for _ in range(items):
        start = rng.randrange(len(lines) - 4)
        context = " ".join(lines[start : start + 3]) + "\nWhat comes next?\nAnswer:"
        options = [lines[start + 3]] + [rng.choice(lines) for _ in range(choices - 1)]
        options = [" " + " ".join(o.split()[: rng.randint(4, 9)]) for o in options]
        order = list(range(choices))
        rng.shuffle(order)
        requests += [(context, options[j]) for j in order]
        gold.append(order.index(0))
    return requests, gold


def _accuracy(scores: list[tuple[float, bool]], gold: list[int], choices: int) -> float:
    hits = 0
    for k, g in enumerate(gold):
        item = [s[0] for s in scores[k * choices : (k + 1) * choices]]
        hits += int(max(range(choices), key=item.__getitem__) == g)
    return hits / len(gold)


def bench_loglikelihood(model_path: str | Path, requests: list[tuple[str, str]], gold: list[int] | None = None,
                        *, choices: int = 4, batch_size: int = 16, repeats: int = 3, device: str = "cpu",
                        dtype: str = "float32") -> dict:
    """Score ``requests`` with lm-eval's HFLM and jazari (prefix reuse on and off); returns the comparison."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from jazari_nlp.models import load_lm, model_folder

    hf = HFLM(pretrained=str(model_folder(model_path)), device=device, dtype=dtype, batch_size=batch_size)
    lm = load_lm(model_path, device=device, dtype=dtype)
    inst = [Instance("loglikelihood", {}, r, i) for i, r in enumerate(requests)]
    runs = {
        "lm_eval": lambda: hf.loglikelihood(inst, disable_tqdm=True),
        "jazari": lambda: lm.loglikelihood(requests, batch_size=batch_size),
        "jazari_plain": lambda: lm.loglikelihood(requests, batch_size=batch_size, prefix_reuse=False),
    }
    best = {k: float("inf") for k in runs}
    out: dict = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            t = time.perf_counter()
            out[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t)
    ref = out["lm_eval"]
    report = {
        "requests": len(requests),
        "batch_size": batch_size,
        "max_abs_diff": max(abs(a[0] - b[0]) for a, b in zip(ref, out["jazari"], strict=True)),
        "max_abs_diff_plain": max(abs(a[0] - b[0]) for a, b in zip(ref, out["jazari_plain"], strict=True)),
        "same_greedy": all(a[1] == b[1] for a, b in zip(ref, out["jazari"], strict=True)),
        **{f"{k}_per_s": len(requests) / v for k, v in best.items()},
    }
    report["ratio"] = report["jazari_per_s"] / report["lm_eval_per_s"]
    if gold is not None:
        report["accuracy_lm_eval"] = _accuracy(ref, gold, choices)
        report["accuracy_jazari"] = _accuracy(out["jazari"], gold, choices)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a local model folder or run directory (default: build a small Llama)")
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--choices", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--hidden", type=int, default=256, help="hidden size of the built model")
    ap.add_argument("--layers", type=int, default=4, help="layers of the built model")
    args = ap.parse_args()
    requests, gold = multiple_choice_requests(args.items, args.choices)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from jazari_nlp.modeling.tiny import build_tiny_llama

            print(f"building a Llama (hidden {args.hidden}, {args.layers} layers) ...", flush=True)
            model = build_tiny_llama(Path(tmp) / "model", vocab_size=4000, hidden_size=args.hidden,
                                     num_layers=args.layers, max_position_embeddings=512, train_steps=50)
        r = bench_loglikelihood(model, requests, gold, choices=args.choices, batch_size=args.batch_size,
                                repeats=args.repeats, device=args.device, dtype=args.dtype)
    print(f"{r['requests']} requests ({args.items} items x {args.choices} choices), batch size {r['batch_size']}")
    print(f"largest |Δ loglik| vs lm-eval: {r['max_abs_diff']:.2e} (plain path {r['max_abs_diff_plain']:.2e}); "
          f"is_greedy identical: {r['same_greedy']}")
    print(f"accuracy: lm-eval {r['accuracy_lm_eval']:.4f}  jazari {r['accuracy_jazari']:.4f}")
    print(f"requests/s: lm-eval {r['lm_eval_per_s']:.1f}  jazari {r['jazari_per_s']:.1f}  "
          f"jazari plain {r['jazari_plain_per_s']:.1f}  ratio {r['ratio']:.2f}x")


if __name__ == "__main__":
    main()
