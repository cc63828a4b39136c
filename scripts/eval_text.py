"""Evaluate the text layer: language identification on the recipe's dev and held-out test splits,
transliteration CER.

Reads ../shared/data at run time (never copied into the repo).

Example::

    python scripts/eval_text.py                      # LID per source + pooled, confusion matrix, CER
    python scripts/eval_text.py --model my.ftz --config configs/langid.yaml
    python scripts/eval_text.py --no-arabic-stage    # fastText alone, without the Arabic stage
    python scripts/eval_text.py --split dev          # LID on dev only (the split to choose settings on)
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from jazari_nlp.text.arabizi import latin_word_to_arabic
from jazari_nlp.text.langid import LangIdConfig, load_identifier
from jazari_nlp.text.langid_train import load_train_config
from jazari_nlp.text.lid_eval import TARGET6, cer, confusion, lid_targets, macro_f1, prf, split_predictions

ROOT = Path(__file__).resolve().parents[1]


def show(title: str, pairs: list[tuple[str, str]], matrix: bool = False) -> None:
    print(f"\n## {title} ({len(pairs)} texts)")
    print(f"{'label':15s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>6s}")
    for label, s in prf(pairs).items():
        print(f"{label:15s} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:6d}")
    present = [lab for lab in TARGET6 if any(g == lab for g, _ in pairs)]
    if present:
        print(f"macro-F1 over {present}: {macro_f1(pairs, present):.3f}")
    if matrix:
        labels, m = confusion(pairs)
        print("confusion (rows gold, columns predicted):")
        print(" " * 15 + " ".join(f"{lab[:8]:>8s}" for lab in labels))
        for lab, row in zip(labels, m, strict=False):
            print(f"{lab:15s}" + " ".join(f"{v:8d}" for v in row))


def lid(config: Path, model: Path | None, arabic_stage: bool = True, splits: tuple[str, ...] = ("dev", "test"),
        tables: bool = True) -> dict[str, dict[str, float]]:
    """Per-source tables and the issue's targets on the recipe's dev split, then on its held-out test split
    (``test_holdout``: never trained on, never used to choose a setting; report it, do not tune on it)."""
    cfg = load_train_config(config)
    ident = load_identifier(LangIdConfig(model_path=model, arabic_stage=arabic_stage)
                            if model or not arabic_stage else None)
    print(f"model: {ident.path}  Arabic stage: {'on' if ident._arabic is not None else 'off'}")
    results = {}
    for split in splits:
        title = "dev split" if split == "dev" else "HELD-OUT test split (never trained on or tuned on)"
        print(f"\n# {title}")
        if tables:
            pooled: list[tuple[str, str]] = []
            for name, rows in split_predictions(cfg, ident, split).items():
                pairs = [(g, p) for g, _, _, p in rows]
                show(name, pairs, matrix=name == "flores")
                pooled.extend(pairs)
            show(f"all {split} sources pooled", pooled, matrix=True)
        results[split] = targets(cfg, ident, split)
    return results


TARGETS = {"ary_Arab F1 (FLORES Arabic)": ">= 0.95", "arb_Arab F1 (FLORES Arabic)": ">= 0.80",
           "zgh_Tfng F1 (FLORES, all varieties)": ">= 0.98", "kab_Latn F1 (FLORES, all varieties)": ">= 0.98",
           "ary_Latn R (afrisenti/ary)": ">= 0.92"}


def targets(cfg, ident, split: str) -> dict[str, float]:
    """The issue's targets on one split, each the way it is stated (see lid_eval.lid_targets)."""
    figures = lid_targets(cfg, ident, split)
    print(f"\n## issue targets ({split})")
    for name, value in figures.items():
        print(f"{name:52s} {value:6.3f}   {('target ' + TARGETS[name]) if name in TARGETS else ''}")
    return figures


def translit_cer(shared: Path) -> None:
    """CER of Latin->Arabic on the project's hand-written gold list, and spelling-variant agreement on DODa
    (all n1..n6 spellings of a word should give the same Arabic: CER of each variant against n1's output)."""
    gold = ROOT / "jazari_nlp" / "text" / "tables" / "arabizi_eval_words.tsv"
    if gold.exists():
        rows = [ln.split("\t") for ln in gold.read_text(encoding="utf-8").splitlines()
                if ln and not ln.startswith("#")]
        from jazari_nlp.text.arabizi import arabic_word_to_latin, transliterate

        fwd = [(arab, transliterate(latin)) for arab, latin in rows]
        rules = [(arab, transliterate(latin, use_model=False)) for arab, latin in rows]
        back = [(latin.lower(), arabic_word_to_latin(arab).lower()) for arab, latin in rows]
        print(f"\n## transliteration on {len(rows)} hand-written gold words")
        print(f"Latin->Arabic CER {cer(fwd):.3f} (use_model=False {cer(rules):.3f})   "
              f"Arabic->Latin CER {cer(back):.3f}")
        print("DODa's ~39,000 word/phrase pairs, held-out split and the peers: python scripts/bench_translit.py")
    variants = []
    for path in sorted((shared / "doda_v1").glob("*/*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                spellings = [row.get(f"n{i}", "").strip() for i in range(1, 7)]
                spellings = [s for s in spellings if s and " " not in s]
                if len(spellings) > 1:
                    ref = latin_word_to_arabic(spellings[0])
                    variants.extend((ref, latin_word_to_arabic(s)) for s in spellings[1:])
    if variants:
        print(f"DODa spelling variants -> same Arabic: CER {cer(variants):.3f} over {len(variants)} pairs "
              f"(exact agreement {sum(a == b for a, b in variants) / len(variants):.3f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "langid.yaml")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-arabic-stage", action="store_true", help="fastText alone (before/after comparison)")
    ap.add_argument("--split", choices=["dev", "test", "both"], default="both",
                    help="LID split: dev, the held-out test share, or both (default)")
    args = ap.parse_args()
    if not args.shared.exists():
        raise SystemExit(f"shared data not found at {args.shared}")
    lid(args.config, args.model, not args.no_arabic_stage, ("dev", "test") if args.split == "both" else (args.split,))
    translit_cer(args.shared)
