"""Small helpers shared by the CLI commands: error reporting and the run summary table."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

CONFIG_ARG_HELP = "Experiment YAML file."
SET_HELP = "Override a key, e.g. --set train.learning_rate=3e-4 (repeatable; value read as YAML)."


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], Any], output: Path | Callable[[], Path | None] | None = None) -> Any:
    """Run ``fn`` and turn the errors a user can fix into a clear message and exit code 2: every
    :class:`~jazari_nlp.errors.JazariError` (config errors, refused run directories, unusable input...), a missing
    file, a full disk or a folder that cannot be written. ``output`` (a folder, or a function returning it) is
    named when a write fails without saying which file. Anything else is a bug: exit 1 with its traceback."""
    from jazari_nlp.errors import JazariError

    try:
        return fn()
    except JazariError as e:
        fail(str(e))
    except FileNotFoundError as e:
        fail(str(e))
    except Exception as e:
        os_error = _os_error(e)
        if os_error is None:
            raise
        fail(os_error_message(os_error, output))


# errno values a user fixes by freeing space or choosing another folder
_NO_SPACE = {errno.ENOSPC: "no space left on device", getattr(errno, "EDQUOT", -1): "disk quota exceeded"}


def _os_error(e: BaseException) -> OSError | None:
    """The disk-full or permission error behind ``e`` (itself, or what it was raised from), else None."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and (e.errno in _NO_SPACE or isinstance(e, PermissionError)):
            return e
        e = e.__cause__ or e.__context__
    return None


def os_error_message(e: OSError, output: Path | Callable[[], Path | None] | None = None) -> str:
    """``no space left on device while writing <file>: free space or choose another output_dir``."""
    where = e.filename
    if where is None and output is not None:
        try:
            folder = output() if callable(output) else output
        except Exception:  # only a hint: the config may be what cannot be read
            folder = None
        where = f"under {folder}" if folder is not None else None
    target = f" {where}" if where else ""
    if isinstance(e, PermissionError):
        return f"permission denied{' on' + target if target else ''}: fix its permissions, or choose an output_dir " \
            "you can write to"
    return (f"{_NO_SPACE[e.errno]} while writing{target}: free space or choose another output_dir "
            "(e.g. --set output_dir=/a/bigger/disk)")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(result: Any) -> Table:
    table = Table(title=f"jazari run · {result.run_dir}", title_justify="left")
    table.add_column("stage", style="bold")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("results")
    for r in result.stages:
        status = {"ran": "[green]ran[/]", "reused": "[cyan]reused (shared)[/]"}.get(r.status, "[cyan]skipped (done)[/]")
        summary = "  ".join(f"{k}={_fmt(v)}" for k, v in r.summary.items() if not isinstance(v, dict | list))
        table.add_row(r.stage, status, f"{r.seconds:.1f}s", summary)
    return table


def tasks_table(results: dict[str, Any]) -> Table:
    """Benchmark tasks (and groups) of a results.json: metric, value ± stderr, n, skipped, shots."""
    table = Table(title="benchmark tasks", title_justify="left")
    for col in ("task", "metric", "value", "± stderr", "n", "skipped", "shots"):
        table.add_column(col, justify="left" if col in ("task", "metric") else "right")
    for group in ("tasks", "groups"):
        for name, r in (results.get(group) or {}).items():
            if name.startswith("heldout_perplexity") and results.get("metrics"):
                continue  # the held-out table above shows them
            for metric, v in r.get("metrics", {}).items():
                se = v.get("stderr")
                table.add_row(name, metric, _fmt(v.get("value")), _fmt(se) if se is not None else "-",
                              str(r.get("n", "")), str(r.get("n_skipped", "")), str(r.get("num_fewshot", "")))
    return table


def print_results(results: dict[str, Any]) -> None:
    """The perplexity table and the tasks table of a results.json, whichever it has."""
    if results.get("metrics"):
        console.print(metrics_table(results))
    if results.get("tasks"):
        console.print(tasks_table(results))
        for name, r in results["tasks"].items():  # a skipped row is never silent: the reasons, most common first
            reasons = sorted((r.get("skipped") or {}).items(), key=lambda kv: -kv[1])
            if reasons:
                shown = "; ".join(f"{n} × {why}" for why, n in reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
                console.print(f"skipped in {name}: {shown} (each row: samples_{name}.jsonl)", highlight=False,
                              soft_wrap=True)


def metrics_table(results: dict[str, Any]) -> Table:
    table = Table(title="held-out evaluation", title_justify="left")
    table.add_column("subset", style="bold")
    for col in ("documents", "tokens", "bytes", "perplexity", "bits_per_byte"):
        table.add_column(col, justify="right")
    for name, m in results["metrics"].items():
        table.add_row(name, *(_fmt(m[c]) for c in ("documents", "tokens", "bytes", "perplexity", "bits_per_byte")))
    return table
