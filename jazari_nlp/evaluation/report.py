"""Leaderboards: one table (Markdown and rich) and a PNG bar chart across evaluation results.

A result is a ``results.json`` written by the harness (``jazari eval run``) or by an experiment's eval stage
(``RUN_DIR/eval/results.json``); a run directory or its ``eval/`` folder can be named instead of the file.

Example::

    rows = collect_results([Path("runs/a"), Path("runs/b")])
    print(markdown_table(rows))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError


def results_file(path: Path) -> Path:
    """The ``results.json`` a path names: the file, a folder holding it, or a run directory's ``eval/``."""
    path = Path(path)
    for cand in (path, path / "results.json", path / "eval" / "results.json"):
        if cand.is_file():
            return cand
    raise InputError(f"{path}: no results.json there (give a results.json, an evaluation folder or a run directory)")


def _label(doc: dict[str, Any], path: Path) -> str:
    run = doc.get("run_dir")
    if run:
        return Path(run).name
    model = doc.get("model")
    if model:
        p = Path(model)
        return p.parent.name if p.name == "model" else p.name
    return path.parent.name


def collect_results(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per (run, task, metric): ``{"run", "task", "metric", "value", "stderr", "n", "shots"}``. Two
    results of one model (other shots, other folders) are two runs: their labels get the folder's name."""
    docs = []
    for p in paths:
        f = results_file(p)
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as e:
            raise InputError(f"{f}: not a results file ({e})") from None
        docs.append((f, doc, _label(_checked(doc, f), f)))
    counts: dict[str, int] = {}
    for _, _, label in docs:
        counts[label] = counts.get(label, 0) + 1
    rows, seen = [], set()
    for f, doc, label in docs:
        if counts[label] > 1:  # one label per results file, never two files in one row
            label = f"{label} ({f.parent.name})" if f"{label} ({f.parent.name})" not in seen else f"{label} ({f})"
        seen.add(label)
        tasks = {**(doc.get("tasks") or {}), **(doc.get("groups") or {})}
        for task, r in tasks.items():
            for metric, v in r.get("metrics", {}).items():
                rows.append({"run": label, "task": task, "metric": metric, "value": v.get("value"),
                             "stderr": v.get("stderr"), "n": r.get("n"), "shots": r.get("num_fewshot", 0)})
    return rows


def _checked(doc: Any, f: Path) -> dict[str, Any]:
    """The results document, or an InputError naming the key that is not as the harness writes it."""
    if not isinstance(doc, dict):
        raise InputError(f"{f}: not a results file (a JSON object with `tasks` is expected; found "
                         f"{type(doc).__name__}): give a results.json written by jazari eval")
    for group in ("tasks", "groups"):
        entries = doc.get(group) or {}
        if not isinstance(entries, dict):
            raise InputError(f"{f}: `{group}` should map task names to results; found {type(entries).__name__}")
        for task, r in entries.items():
            metrics = r.get("metrics", {}) if isinstance(r, dict) else None
            if not isinstance(metrics, dict):
                raise InputError(f"{f}: {group}.{task}: expected {{metrics: {{...}}, n, ...}}, as jazari eval writes "
                                 "it; this file was not written by jazari eval or was edited")
            bad = [m for m, v in metrics.items() if not isinstance(v, dict)]
            if bad:
                raise InputError(f"{f}: {group}.{task}.metrics.{bad[0]}: expected {{value, stderr}}, as jazari eval "
                                 "writes it; this file was not written by jazari eval or was edited")
    return doc


def _num(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1e6 else f"{x:.4g}"  # a perplexity of 1e69 is not 70 digits wide


def _cell(value: Any, stderr: Any) -> str:
    if value is None:
        return "-"
    text = _num(value) if isinstance(value, float) else str(value)
    return text + (f" ± {_num(stderr)}" if isinstance(stderr, float) else "")


def pivot(rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, str]], dict]:
    runs = list(dict.fromkeys(r["run"] for r in rows))
    cols = list(dict.fromkeys((r["task"], r["metric"]) for r in rows))
    cells = {(r["run"], r["task"], r["metric"]): r for r in rows}
    return runs, cols, cells


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Runs as rows, ``task / metric`` as columns. Example: ``| run | sib_ary / acc |``."""
    runs, cols, cells = pivot(rows)
    head = ["run", *(f"{t} / {m}" for t, m in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        vals = [_cell(cells[(run, t, m)]["value"], cells[(run, t, m)]["stderr"]) if (run, t, m) in cells else "-"
                for t, m in cols]
        lines.append("| " + " | ".join([run, *vals]) + " |")
    return "\n".join(lines)


def rich_table(rows: list[dict[str, Any]]):
    """For the console: one row per task and metric, one column per run (a terminal fits few columns, and there
    are usually more tasks than runs)."""
    from rich.table import Table

    runs, cols, cells = pivot(rows)
    table = Table(title="leaderboard", title_justify="left")
    table.add_column("task", style="bold", overflow="fold")
    table.add_column("metric", overflow="fold")
    for run in runs:
        table.add_column(run, justify="right")
    for t, m in cols:
        table.add_row(t, m, *(_cell(cells[(run, t, m)]["value"], cells[(run, t, m)]["stderr"])
                              if (run, t, m) in cells else "-" for run in runs))
    return table


def bar_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """A grouped bar chart (one group per task/metric, one bar per run, standard errors as error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, cols, cells = pivot(rows)
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(cols) * max(1, len(runs)) ** 0.5 + 2), 4.5))
    for i, run in enumerate(runs):
        xs, ys, es = [], [], []
        for j, (t, m) in enumerate(cols):
            c = cells.get((run, t, m))
            if c and isinstance(c["value"], int | float):
                xs.append(j + i * width)
                ys.append(c["value"])
                es.append(c["stderr"] or 0.0)
        ax.bar(xs, ys, width, yerr=es, capsize=3, label=run)
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(cols))])
    ax.set_xticklabels([f"{t}\n{m}" for t, m in cols], fontsize=8)
    ax.set_ylabel("score")
    ax.legend(fontsize=8)
    ax.set_title("jazari evaluation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
