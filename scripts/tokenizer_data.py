"""Training and held-out text for the tokenizer benchmark, from ``../shared/data`` (never copied into the repo).

Held out, never trained on:
- ``heldout``: SIB-200 dev (99 sentences, the same in every language): the figures we report;
- ``tune``: the SIB-200 train sentences whose ``index_id`` ≡ 0 (mod 7) (about 100 per language): the only text
  the settings (kind, alpha, vocabulary) were chosen on.
Everything else of the train/dev splits in ``../shared/data`` is training text, written to
``WORK/train/<lang>.txt`` one text per line (the Darija tweets split by script into ary_Arab and ary_Latn).

Example::

    python scripts/tokenizer_data.py /tmp/tokdata     # prints the bytes per language
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "jazari_nlp" / "data" / "samples"
SIB_LANGS = {"ary_Arab": "ary_Arab", "arb_Arab": "arb_Arab", "arb_Latn": "arb_Latn", "aeb_Arab": "aeb_Arab",
             "arz_Arab": "arz_Arab", "acm_Arab": "acm_Arab", "acq_Arab": "acq_Arab", "ajp_Arab": "ajp_Arab",
             "apc_Arab": "apc_Arab", "ars_Arab": "ars_Arab", "tzm_Tfng": "zgh_Tfng", "kab_Latn": "kab_Latn",
             "taq_Tfng": "taq_Tfng", "taq_Latn": "taq_Latn", "fra_Latn": "fra_Latn", "eng_Latn": "eng_Latn"}
REPORT_LANGS = ("ary_Arab", "arb_Arab", "zgh_Tfng", "kab_Latn", "taq_Tfng", "fra_Latn", "eng_Latn")
TUNE_MOD = 7

csv.field_size_limit(1 << 30)


def _rows(path: Path, delimiter: str = "\t", quoting: int = csv.QUOTE_NONE) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter, quoting=quoting))


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def is_tune(index_id: str) -> bool:
    return int(index_id) % TUNE_MOD == 0


def sib(lang_dir: str, split: str) -> dict[str, str]:
    """``index_id -> text`` of one SIB-200 split."""
    return {r["index_id"]: _clean(r["text"]) for r in _rows(DATA / "sib200" / lang_dir / f"{split}.tsv")}


def prepare(work: Path) -> dict[str, Path]:
    """Write ``work/train/<lang>.txt``; return the files. Raises SystemExit when ``../shared/data`` is absent."""
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is absent: this benchmark needs ../shared/data (see README)")
    from jazari_nlp.text.script import dominant_script

    texts: dict[str, list[str]] = {}

    def add(lang: str, items) -> None:
        texts.setdefault(lang, []).extend(t for t in (_clean(x) for x in items) if t)

    for src, lang in SIB_LANGS.items():
        add(lang, (t for i, t in sib(src, "train").items() if not is_tune(i)))
    for split in ("train", "dev"):
        for r in _rows(DATA / "afrisenti" / "ary" / f"{split}.tsv"):
            t = _clean(r["tweet"])
            add("ary_Arab" if dominant_script(t) == "Arab" else "ary_Latn", [t])
    doda = _rows(DATA / "doda_v1" / "sentences.csv", delimiter=",", quoting=csv.QUOTE_MINIMAL)
    add("ary_Latn", (r["darija"] for r in doda))
    add("eng_Latn", (r["english"] for r in doda))
    pud = _rows(DATA / "ud_arabic_pud" / "pud_parallel_ar_en_fr.tsv")
    for lang in ("arb_Arab", "eng_Latn", "fra_Latn"):
        add(lang, (r[lang] for r in pud))
    for r in _rows(DATA / "ud_arabizi_algerian" / "arabizi_fr_pairs.tsv"):
        add("arq_Latn", [r["text_qaf_Latn"]])
        add("fra_Latn", [r["trad_fr"]])
    for name in ("wiki_00.txt", "wiki_01.txt", "aɣmis-n-yimaziɣen.txt"):  # not the legacy-font PDF text
        add("kab_Latn", (DATA / "kabyle_cc0" / name).read_text(encoding="utf-8").splitlines())
    for f in sorted(SAMPLES.glob("*.txt")):
        add(f.stem if f.stem != "tzm_Latn" else "tzm_Latn", f.read_text(encoding="utf-8").splitlines())
    out = work / "train"
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for lang, lines in sorted(texts.items()):
        files[lang] = out / f"{lang}.txt"
        files[lang].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def parallel(split: str) -> dict[str, dict[str, str]]:
    """The held-out parallel text: ``heldout`` (SIB-200 dev) or ``tune`` (the train ids ≡ 0 mod 7)."""
    out = {}
    for src, lang in SIB_LANGS.items():
        if lang not in REPORT_LANGS:
            continue
        if split == "heldout":
            out[lang] = sib(src, "dev")
        else:
            out[lang] = {i: t for i, t in sib(src, "train").items() if is_tune(i)}
    return out


if __name__ == "__main__":
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/jazari_tokdata")
    for lang, f in prepare(work).items():
        print(f"{lang:10s} {f.stat().st_size:>10,d} bytes  {f}")
