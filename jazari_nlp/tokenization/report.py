"""Write the tokenizer report (:func:`jazari_nlp.tokenization.evaluate.evaluate_tokenizers`) as JSON, a
Markdown table and a PNG chart, and show it on the console.

Example::

    paths = write_report(report, Path("report"))   # {"json": ..., "md": ..., "png": ...}
    console.print(report_table(report, metric="bytes_per_token"))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON_NAME, MD_NAME, PNG_NAME = "tokenizer_report.json", "tokenizer_report.md", "tokenizer_report.png"
DETAIL_METRICS = ("bytes_per_token", "continued_words", "byte_fallback_rate", "unk_rate", "vocab_used",
                  "encode_chars_per_s")


def _fmt(value: Any, metric: str) -> str:
    if value is None:
        return "-"
    if metric in ("vocab_used", "texts", "words", "tokens", "chars", "bytes"):
        return f"{int(value):,}"
    if metric == "encode_chars_per_s":
        return f"{value:,.0f}"
    if metric.endswith(("_rate", "_share")) or metric == "continued_words":
        return f"{value:.1%}" if value >= 0.001 or value == 0 else f"{value:.2%}"
    return f"{value:.2f}"


def parity_reference(report: dict[str, Any]) -> str | None:
    """The reference shown beside fertility: the first reference language present (English if there)."""
    refs = report.get("references") or []
    return refs[0] if refs else None


def cell(report: dict[str, Any], tokenizer: str, lang: str, metric: str = "fertility") -> str:
    """One table cell; fertility comes with its parity in parentheses: ``1.76 (1.03)``."""
    row = report["results"][tokenizer].get(lang, {})
    text = _fmt(row.get(metric), metric)
    ref = parity_reference(report)
    if metric == "fertility" and ref is not None:
        text += f" ({_fmt(row.get(f'parity_{ref}'), 'parity')})"
    return text


def _names(report: dict[str, Any]) -> list[str]:
    return list(report["results"])


def markdown(report: dict[str, Any]) -> str:
    """The Markdown report: fertility (parity) per language × tokenizer, then one table per other metric, the
    tokenizers, the inputs, the definitions and the notes."""
    names, langs = _names(report), report["languages"]
    ref = parity_reference(report)
    head = f"fertility (parity vs {ref})" if ref else "fertility (no parity: no reference language)"
    lines = ["# Tokenizer report", "", f"Tokens per whitespace word, by language and tokenizer: {head}.", ""]

    def table(metric: str) -> list[str]:
        out = ["| language | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
        out += [f"| {lang} | " + " | ".join(cell(report, n, lang, metric) for n in names) + " |" for lang in langs]
        return out

    lines += table("fertility")
    for metric in DETAIL_METRICS:
        lines += ["", f"## {metric}", "", report["metrics"].get(metric, ""), ""] + table(metric)
    lines += ["", "## Tokenizers", "", "| name | kind | vocabulary | spec | sha256 |", "| --- | --- | ---: | --- | --- |"]
    for tok in report["tokenizers"]:
        sha = ", ".join(f["sha256"][:12] for f in tok.get("files", [])) or "-"
        lines.append(f"| {tok['name']} | {tok['kind']} | {tok['vocab_size']:,} | `{tok['spec']}` | {sha} |")
    inputs = report.get("inputs", {})
    lines += ["", "## Inputs", ""]
    for lang in langs:
        files = ", ".join(f"`{f}`" for f in inputs.get("files", {}).get(lang, [])) or "-"
        lines.append(f"- {lang}: {inputs.get('texts', {}).get(lang, 0)} texts from {files}")
    aligned = inputs.get("aligned_ids", {})
    if aligned:
        lines.append(f"- ids present in every language: {aligned.get('all_languages', 0)}")
    lines += ["", "## Definitions", ""]
    lines += [f"- `{k}`: {v}" for k, v in report.get("metrics", {}).items()]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> Path:
    """Grouped bars of fertility per language (one bar per tokenizer), with a dashed line at each tokenizer's
    English fertility. matplotlib's Agg canvas: no display, no global backend switch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    names, langs = _names(report), report["languages"]
    import matplotlib

    width = 0.8 / max(len(names), 1)
    # about 0.08 in per bar and 0.25 in per language (+ the legend), so 16 languages x 12 tokenizers fit 22 in
    inches = min(max(8.0, 0.08 * len(langs) * len(names) + 0.25 * len(langs) + 3.0), 22.0)
    fig = Figure(figsize=(inches, 6.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cmap = matplotlib.colormaps["tab20" if len(names) > 10 else "tab10"]
    for i, name in enumerate(names):
        color = cmap(i % cmap.N)
        values = [report["results"][name].get(lang, {}).get("fertility") or 0.0 for lang in langs]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(langs))]
        ax.bar(xs, values, width=width * 0.95, label=name, color=color)
        eng = report["results"][name].get("eng_Latn", {}).get("fertility")
        if eng:
            ax.axhline(eng, color=color, linestyle="--", linewidth=1.0, alpha=0.8)
    ax.set_xticks(range(len(langs)))
    ax.set_xticklabels(langs, rotation=45, ha="right", fontsize=9)
    ax.set_ylabel("tokens per word (fertility)")
    ax.set_title("Tokenizer fertility per language (lower is better)")
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any("eng_Latn" in report["results"][n] for n in names):
        handles.append(Line2D([], [], color="grey", linestyle="--"))
        labels.append("eng_Latn level (per tokenizer)")
    ax.set_xlim(-0.6, len(langs) - 0.4)
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_report(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """``tokenizer_report.json``, ``.md`` and ``.png`` in ``out_dir`` (created); returns their paths.

    Example: ``write_report(report, Path("report"))["md"].read_text()``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / JSON_NAME, "md": out_dir / MD_NAME, "png": out_dir / PNG_NAME}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(markdown(report), encoding="utf-8")
    plot(report, paths["png"])
    return paths


def report_table(report: dict[str, Any], metric: str = "fertility"):
    """A rich table for the console: rows = languages, columns = tokenizers, cells = ``metric`` (fertility
    with its parity in parentheses).

    Example: ``console.print(report_table(report, "parity_eng_Latn"))``."""
    from rich.table import Table

    from jazari_nlp.errors import InputError

    known = set(report.get("metrics", {})) | {f"parity_{r}" for r in report.get("references", [])} | {
        "texts", "words", "chars", "bytes", "tokens"}
    if metric not in known:
        raise InputError(f"--metric: {metric!r} is not in the report; choose one of {', '.join(sorted(known - {'parity_<ref>'}))}")
    ref = parity_reference(report)
    title = metric + (f" (parity vs {ref})" if metric == "fertility" and ref else "")
    table = Table(title=f"tokenizer report: {title}", title_justify="left")
    table.add_column("language", no_wrap=True)  # the row names stay readable however many tokenizers
    for name in _names(report):
        table.add_column(name, justify="right")
    for lang in report["languages"]:
        table.add_row(lang, *[cell(report, n, lang, metric) for n in _names(report)])
    return table


__all__ = ["markdown", "plot", "report_table", "write_report"]
