"""A Hugging Face dataset card (Markdown with YAML front matter) for a built corpus, from its manifest.

Example::

    path = write_card(Path("runs/demo/corpus"))   # → runs/demo/corpus/README.md and lang_script.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

# What a card is made from; `jazari corpus build` writes all of them into manifest.json.
MANIFEST_KEYS = ("documents_read", "documents_kept", "rejected", "splits", "seed", "heldout_fraction", "sources",
                 "languages", "lang_script", "steps", "words_kept", "bytes_kept", "created")
REBUILD = "rebuild the corpus to write a new one (jazari corpus build ... --force)"
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(n: int) -> str:
    """HF size bucket. Example: ``size_category(1500)`` → ``'1K<n<10K'``."""
    return next((name for limit, name in SIZE_CATEGORIES if n < limit), "n>1B")


def _chart(manifest: dict, path: Path) -> None:
    """Documents and words kept per language/script, side by side (a corpus of few long documents reads
    better by words), each bar labelled with its value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    items = sorted(manifest["lang_script"].items(), key=lambda kv: (-kv[1]["words"], kv[0]))[::-1]
    labels = [k for k, _ in items]
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.42 * max(len(items), 2) + 1.2), sharey=True)
    for ax, metric, color in ((axes[0], "docs", "#3b7dd8"), (axes[1], "words", "#d8873b")):
        values = [v[metric] for _, v in items]
        bars = ax.barh(labels, values, color=color)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        ax.set_xlabel("documents kept" if metric == "docs" else "words kept")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_xlim(0, max(values, default=1) * 1.25 or 1)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Language and script of the kept text ({manifest['documents_kept']:,} documents)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _examples(run_dir: Path, per_lang: int = 2, max_chars: int = 240) -> dict[str, list[str]]:
    import pyarrow.parquet as pq

    out: dict[str, list[str]] = {}
    for f in sorted((run_dir / "train").glob("*/*.parquet")):
        lang = f.parent.name
        if len(out.get(lang, [])) >= per_lang:
            continue
        rows = pq.read_table(f, columns=["text"]).slice(0, per_lang).column("text").to_pylist()
        for t in rows:
            if len(out.setdefault(lang, [])) < per_lang:
                out[lang].append(t if len(t) <= max_chars else t[:max_chars] + " …")
    return out


def _table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _dedup_line(manifest: dict, kind: str) -> str:
    step = next((st for st in manifest["steps"] if st["kind"] == kind), None)
    if step is None:
        return "not run"
    n = sum(step["dropped"].values())
    return f"{n:,} of {step['in']:,} documents removed ({_pct(n, step['in'])})"


def _lost(s: dict | None) -> str:
    if not s:
        return "-"
    reasons = ", ".join(f"{k}: {v:,}" for k, v in s["rejected"].items() if k not in ("exact_duplicate", "near_duplicate"))
    return f"{s['lost']:,}" + (f" ({reasons})" if reasons else "")


def render_card(manifest: dict, examples: dict[str, list[str]], chart_name: str, name: str) -> str:
    langs = sorted({k.split("_")[0] for k in manifest["languages"] if k != "und"})
    licenses = sorted({s["license"].lower() for s in manifest["sources"]})
    kept = manifest["documents_kept"]
    front = ["---", "language:", *[f"- {code}" for code in langs], "license:", *[f"- {lic}" for lic in licenses],
             "size_categories:", f"- {size_category(kept)}", "task_categories:", "- text-generation",
             f"pretty_name: {name}", "---", ""]
    total_read = manifest["documents_read"] or 1
    by_source = manifest.get("by_source") or {}
    src_rows = [[s["name"], s["license"], s.get("language") or "-", s["weight"],
                 f"{by_source[s['name']]['read']:,}" if s["name"] in by_source else "-",
                 f"{manifest.get('source_docs_kept', {}).get(s['name'], 0):,}",
                 _lost(by_source.get(s["name"]))] for s in manifest["sources"]]
    warnings = manifest.get("warnings") or []
    warn_md = ("\n## Warnings\n\n" + "\n".join(f"- {w}" for w in warnings) + "\n") if warnings else ""
    total_words = manifest["words_kept"] or 0
    ls_rows = [[k, f"{v['docs']:,}", f"{v['words']:,}", _pct(v["words"], total_words), f"{v['chars']:,}",
                f"{v['bytes']:,}"] for k, v in manifest["lang_script"].items()]
    step_rows = [[s["step"], f"{s['in']:,}", f"{s['out']:,}",
                  ", ".join(f"{r}: {n:,}" for r, n in s["dropped"].items()) or "-"] for s in manifest["steps"]]
    kinds = [st["kind"] for st in manifest["steps"] if st["kind"] != "read"]
    ran_pii = "pii" in kinds
    pii = manifest.get("pii", {})
    pii_line = (", ".join(f"{k}: {v:,}" for k, v in sorted(pii.items())) or "none found") if ran_pii else \
        "the `pii` step did not run: the text is as the sources wrote it"
    ex_md = []
    for lang, texts in examples.items():
        ex_md.append(f"**{lang}**\n")
        ex_md += [f"> {t}".replace("\n", " ") + "\n" for t in texts]
    split = manifest["splits"]
    limits = ["- Language labels come from an automatic identifier (or the source's hint); Darija/MSA and Amazigh "
              "varieties\n  are easily confused, and code-switched documents carry one label."]
    if "quality" in kinds:
        limits.append("- Quality thresholds start from FineWeb-2's per-language values and Gopher's rules; they were "
                      "not tuned on\n  this corpus and remove some legitimate short or informal text.")
    else:
        limits.append("- No quality filter ran: the text is as clean as its sources.")
    limits += ["- PII scrubbing is rule-based (see above)." if ran_pii else "- No PII scrubbing ran.",
               "- Licenses are those declared for each source; check them before redistribution."]
    limits = "\n".join(limits)
    near_cfg = next((e["near_dedup"] for e in manifest.get("config", {}).get("steps", []) if "near_dedup" in e), {})
    near_n = near_cfg.get("n_grams", 5)
    body = f"""# {name}

Built with `jazari corpus build` (jazari_nlp, datatrove engine) on {manifest['created'].replace('T', ' ')}.

- Documents: {kept:,} kept of {manifest['documents_read']:,} read ({kept / total_read:.1%})
- Size: {manifest['words_kept']:,} words, {manifest['bytes_kept']:,} UTF-8 bytes
- Splits: train {split['train']['documents']:,}, held-out {split['heldout']['documents']:,} documents \
(held-out fraction {manifest['heldout_fraction']}, seed {manifest['seed']})
- Steps, in order: {' → '.join(kinds) or 'none'}

## Sources and licenses

{_table(src_rows, ["source", "license", "language hint", "weight", "documents read", "documents kept",
                    "lost (top reasons; duplicates apart)"])}
{warn_md}
## Language and script distribution

{_table(ls_rows, ["language/script", "documents", "words", "share of words", "characters", "bytes"])}

![language and script distribution]({chart_name})

## What each filter removed

Every dropped document is in `rejects/<step>/` with its reason.

{_table(step_rows, ["step", "in", "out", "dropped (reason: count)"])}

Rejected in total: {sum(manifest['rejected'].values()):,} ({', '.join(f'{r}: {n:,}' for r, n in manifest['rejected'].items()) or 'none'}).

## Deduplication

- Exact duplicates (same text after jazari's `match` normalization): {_dedup_line(manifest, "exact_dedup")}
- Near duplicates (MinHash LSH on word {near_n}-grams): {_dedup_line(manifest, "near_dedup")}

## PII handling

E-mails, Moroccan phone numbers (+212 / 06 / 07 / 05), CIN numbers, IBAN/RIB and IP addresses are replaced by
typed placeholders (`<EMAIL>`, `<PHONE>`, `<CIN>`, `<IBAN>`, `<IP>`) when the `pii` step runs.
Replacements: {pii_line}.
Pattern matching misses names, addresses and free-form identifiers; do not treat the corpus as anonymous.

## Examples per language

{chr(10).join(ex_md) or '(none)'}

## Intended use

Pretraining and evaluating language models and tokenizers for the languages of Morocco (Darija in Arabic and
Latin script, Modern Standard Arabic, Amazigh in Tifinagh and Latin script, and the French mixed with them);
measuring tokenizer parity and per-language perplexity on the held-out split.

## Limitations

{limits}
"""
    return "\n".join(front) + body


def write_card(run_dir: Path, output: Path | None = None, name: str | None = None) -> Path:
    """Write ``README.md`` (or ``output``) and ``lang_script.png`` next to it; return the card's path."""
    run_dir = Path(run_dir)
    mpath = run_dir / "manifest.json"
    if not mpath.exists():
        raise FileNotFoundError(f"{mpath} not found: build the corpus first (jazari corpus build)")
    manifest = read_manifest(mpath)
    output = Path(output) if output else run_dir / "README.md"
    chart = output.with_name(output.stem + "_lang_script.png") if output.name != "README.md" else \
        output.with_name("lang_script.png")
    try:  # rendered before anything is written: a manifest with wrong types leaves no half-written card
        text = render_card(manifest, _examples(run_dir), chart.name, name or run_dir.resolve().name)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        raise InputError(f"{mpath}: unexpected content ({type(e).__name__}: {e}): {REBUILD}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    _chart(manifest, chart)
    output.write_text(text, encoding="utf-8")
    return output


def read_manifest(mpath: Path) -> dict[str, Any]:
    """``manifest.json`` as a mapping, or :class:`InputError` naming the file and what is wrong with it."""
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{mpath}: not valid JSON ({e}): {REBUILD}") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{mpath}: not a corpus manifest (a JSON {type(manifest).__name__}, not an object): {REBUILD}")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise InputError(f"{mpath}: not a complete corpus manifest, missing {', '.join(missing)}: {REBUILD}")
    return manifest
