"""A grid of experiments from one config: every combination of a few keys, one run directory each, one report.

The runs share their corpus and tokenizer through the stage store (:mod:`jazari_nlp.stage_store`), so a grid over
training settings builds those once. A run that fails does not stop the grid: its error is in the report and the
command exits 2 at the end. Running the same grid again skips the finished runs.

Example::

    result = run_grid("configs/quickstart.yaml", {"train.learning_rate": [1e-3, 3e-3], "train.max_steps": [50, 100]})
    result.report_dir        # runs/_grids/quickstart/: report.md, report.json, report.csv, loss_curves.png
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.config import ConfigError, load_config, parse_override, safe_load_bounded

log = logging.getLogger("jazari_nlp")

GRIDS = "_grids"  # beside the run directories; '_' starts no run name, so no run can clash with it
REPORT_NAMES = ("report.md", "report.json", "report.csv", "loss_curves.png", "metrics.png")


@dataclass
class GridRun:
    name: str
    point: dict[str, Any]
    run_dir: Path | None = None
    status: str = "ok"  # "ok" | "failed"
    error: str | None = None
    stages: dict[str, str] = field(default_factory=dict)  # stage -> ran | skipped | reused
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class GridResult:
    report_dir: Path
    runs: list[GridRun]

    @property
    def failed(self) -> list[GridRun]:
        return [r for r in self.runs if r.status != "ok"]


def parse_axis(text: str) -> tuple[str, list[tuple[str, Any]]]:
    """``"train.learning_rate=1e-3,3e-3"`` → ``("train.learning_rate", [("1e-3", "1e-3"), ("3e-3", "3e-3")])``:
    (the value as written, for the run's name; the value as YAML reads it). ``key=[a, b]`` (a YAML list) works
    too, for values that hold commas."""
    if "=" not in text:
        raise ValueError(f"--axis {text!r}: write KEY=V1,V2,... (e.g. train.learning_rate=1e-3,3e-3)")
    key, raw = (part.strip() for part in text.split("=", 1))
    parse_override(f"{key}=0")  # the key's own checks (empty parts)
    try:
        as_list = safe_load_bounded(raw) if raw.startswith("[") else None
    except Exception:  # noqa: BLE001 - not YAML: read as comma-separated words
        as_list = None
    if isinstance(as_list, list):
        values = [(str(v), v) for v in as_list]
    else:
        values = [(v.strip(), parse_override(f"x={v.strip()}")[1]) for v in raw.split(",") if v.strip()]
    if not values:
        raise ValueError(f"--axis {text!r}: no value after '='")
    if len({v for v, _ in values}) != len(values):
        raise ValueError(f"--axis {text!r}: a value is repeated")
    return key, values


def grid_points(axes: dict[str, list[tuple[str, Any]]]) -> list[list[tuple[str, str, Any]]]:
    """Every combination, first axis slowest: ``[[(key, written, value), ...], ...]``."""
    keys = list(axes)
    return [list(zip(keys, [w for w, _ in combo], [v for _, v in combo], strict=True))
            for combo in itertools.product(*(axes[k] for k in keys))]


def point_name(base: str, point: list[tuple[str, str, Any]]) -> str:
    """``quickstart-learning_rate_1e-3-max_steps_50``: the last part of each key (the whole dotted key when two
    keys end alike) and its value as written, with characters a folder name cannot take replaced by ``_``."""
    leaves = [k.rsplit(".", 1)[-1] for k, _, _ in point]
    parts = []
    for (key, written, _), leaf in zip(point, leaves, strict=True):
        label = key if leaves.count(leaf) > 1 else leaf
        parts.append(f"{label}_{re.sub(r'[^A-Za-z0-9._-]', '_', written)}")
    return "-".join([base, *parts])


def run_grid(config: str | Path, axes: dict[str, list[Any]] | list[str], overrides: list[str] | None = None,
             *, progress: bool = True, force: list[str] | None = None, on_run: Any = None) -> GridResult:
    """Run every point of the grid (``axes``: ``{"train.learning_rate": [1e-3, 3e-3]}`` or ``--axis`` strings),
    then write the report comparing the runs. Configs are all validated before the first run starts."""
    from jazari_nlp.checks import check_consistency
    from jazari_nlp.errors import JazariError
    from jazari_nlp.pipeline import run_experiment

    config = Path(config)
    try:
        parsed = dict(parse_axis(a) for a in axes) if isinstance(axes, list) else {
            k: [(str(v), v) for v in vs] for k, vs in axes.items()}
    except ValueError as e:
        raise ConfigError(config, [str(e)]) from None
    if isinstance(axes, list) and len(parsed) != len(axes):
        raise ConfigError(config, ["--axis: the same key is given twice"])
    if not parsed:
        raise ConfigError(config, ["grid: give at least one --axis KEY=V1,V2"])
    base_cfg = load_config(config, overrides)
    for key in parsed:
        if key == "name" or key.startswith(("name.", "output_dir", "run_dir")):
            raise ConfigError(config, [f"--axis {key}: the grid names each run itself ({base_cfg.name}-...); vary "
                                       "settings, not where runs go"])
    points = grid_points(parsed)
    plans = []
    for point in points:
        name = point_name(base_cfg.name, point)
        sets = [*(overrides or []), *(f"{k}={w}" for k, w, _ in point), f"name={name}"]
        cfg = load_config(config, sets)  # every point validated before any work (a bad value fails here)
        check_consistency(cfg, config)
        plans.append((name, point, sets))
    runs: list[GridRun] = []
    for i, (name, point, sets) in enumerate(plans, 1):
        gr = GridRun(name=name, point={k: v for k, _, v in point})
        if on_run:
            on_run(i, len(plans), name)
        try:
            result = run_experiment(config, sets, progress=progress, force=force)
        except (JazariError, OSError, ValueError, RuntimeError) as e:  # the next runs still run; reported below
            gr.status, gr.error = "failed", f"{type(e).__name__}: {e}"
            log.error("grid: run %s failed: %s", name, e)
        else:
            gr.run_dir = result.run_dir
            gr.stages = {r.stage: r.status for r in result.stages}
            gr.metrics = _metrics(result)
        runs.append(gr)
    report_dir = (base_cfg.run_dir.parent if base_cfg.run_dir else base_cfg.output_dir) / GRIDS / base_cfg.name
    write_report(report_dir, runs, list(parsed), config)
    return GridResult(report_dir, runs)


def _metrics(result: Any) -> dict[str, float]:
    """Numbers of the train and eval summaries, as ``train.final_loss``, ``eval.bits_per_byte``, ..."""
    out: dict[str, float] = {}
    for r in result.stages:
        if r.stage in ("train", "eval"):
            for k, v in r.summary.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[f"{r.stage}.{k}"] = v
            if r.status == "ran":
                out[f"{r.stage}.seconds"] = round(r.seconds, 1)
    return out


PREFERRED = ("eval.bits_per_byte", "eval.perplexity", "train.final_loss", "train.eval_loss",
             "train.heldout.accuracy", "train.heldout.macro_f1", "train.seconds")


def _columns(runs: list[GridRun]) -> list[str]:
    """The metric columns of the table: the preferred ones present, then the eval task metrics."""
    present = {k for r in runs for k in r.metrics}
    cols = [k for k in PREFERRED if k in present]
    cols += sorted(k for k in present if k.startswith("eval.") and k not in cols
                   and k.split(".", 1)[1] not in ("tokens", "documents"))
    return cols


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def write_report(report_dir: Path, runs: list[GridRun], keys: list[str], config: Path) -> Path:
    """``report.md`` (a table per run: the grid's values, the metrics, the status), ``report.json`` (all of it),
    ``report.csv`` and two charts: the training loss curves and the first metric per run."""
    from jazari_nlp.runs import write_json
    from jazari_nlp.safety import prepare_output_dir, write_atomic

    prepare_output_dir(report_dir, "report", REPORT_NAMES)
    cols = _columns(runs)
    header = ["run", *keys, *cols, "stages", "status"]
    rows = []
    for r in runs:
        stages = " ".join(f"{s}:{st}" for s, st in r.stages.items())
        rows.append([r.name, *(_fmt(r.point.get(k)) for k in keys), *(_fmt(r.metrics.get(c)) for c in cols),
                     stages, r.status if r.status == "ok" else f"failed: {r.error}"])
    md = [f"# Grid {report_dir.name} ({len(runs)} runs, config {config})", "",
          "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    best = _best(runs, cols)
    if best:
        md += ["", f"Best by {best[0]}: {best[1]} ({best[2]:.4g})."]
    write_atomic(report_dir / "report.md", "\n".join(md) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(report_dir / "report.csv", buf.getvalue())
    write_json(report_dir / "report.json", {
        "config": str(config), "keys": keys, "columns": cols,
        "runs": [{"name": r.name, "point": r.point, "run_dir": str(r.run_dir) if r.run_dir else None,
                  "status": r.status, "error": r.error, "stages": r.stages, "metrics": r.metrics} for r in runs],
    })
    _plots(report_dir, runs, cols)
    return report_dir


def _best(runs: list[GridRun], cols: list[str]) -> tuple[str, str, float] | None:
    """The run with the lowest bits per byte (or perplexity, loss), or the highest accuracy / macro-F1. A run
    whose value is not a finite number (a diverged run's NaN) is never the best: ``min`` would keep a NaN that
    comes first."""
    import math

    for col, lower in (("eval.bits_per_byte", True), ("eval.perplexity", True), ("train.heldout.macro_f1", False),
                       ("train.heldout.accuracy", False), ("train.eval_loss", True), ("train.final_loss", True)):
        scored = [(r.metrics[col], r.name) for r in runs if col in r.metrics
                  and isinstance(r.metrics[col], int | float) and math.isfinite(r.metrics[col])]
        if col in cols and scored:
            value, name = min(scored) if lower else max(scored)
            return col, name, value
    return None


def _plots(report_dir: Path, runs: list[GridRun], cols: list[str]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # charts are optional; the tables are written
        return
    from jazari_nlp.training.reporting import read_log

    curves = []
    for r in runs:
        path = r.run_dir / "model" / "log.jsonl" if r.run_dir else None
        history = read_log(path) if path is not None and path.is_file() else []
        points = [(e["step"], e["loss"]) for e in history if e.get("event") == "train" and "loss" in e]
        if points:
            curves.append((r.name, points))
    if curves:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, points in curves:
            ax.plot([s for s, _ in points], [v for _, v in points], label=name)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(report_dir / "loss_curves.png", dpi=120)
        plt.close(fig)
    col = next((c for c in cols if c.startswith("eval.")), cols[0] if cols else None)
    scored = [(r.name, r.metrics[col]) for r in runs if col and col in r.metrics]
    if scored:
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(scored)))
        ax.barh([n for n, _ in scored], [v for _, v in scored])
        ax.set_xlabel(col)
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(report_dir / "metrics.png", dpi=120)
        plt.close(fig)
