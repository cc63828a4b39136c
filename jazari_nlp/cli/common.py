"""Small helpers shared by the CLI commands: error reporting and the run summary table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

CONFIG_ARG_HELP = "Experiment YAML file."
SET_HELP = "Override a key, e.g. --set train.learning_rate=3e-4 (repeatable; value read as YAML)."


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` and turn the errors a user can fix into a clear message and exit code 2."""
    from jazari_nlp.config import ConfigError
    from jazari_nlp.runs import RunDirConflict

    try:
        return fn()
    except ConfigError as e:
        fail(str(e))
    except RunDirConflict as e:
        fail(str(e))
    except FileNotFoundError as e:
        fail(str(e))


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
        status = "[green]ran[/]" if r.status == "ran" else "[cyan]skipped (done)[/]"
        summary = "  ".join(f"{k}={_fmt(v)}" for k, v in r.summary.items() if not isinstance(v, dict | list))
        table.add_row(r.stage, status, f"{r.seconds:.1f}s", summary)
    return table


def metrics_table(results: dict[str, Any]) -> Table:
    table = Table(title="held-out evaluation", title_justify="left")
    table.add_column("subset", style="bold")
    for col in ("documents", "tokens", "bytes", "perplexity", "bits_per_byte"):
        table.add_column(col, justify="right")
    for name, m in results["metrics"].items():
        table.add_row(name, *(_fmt(m[c]) for c in ("documents", "tokens", "bytes", "perplexity", "bits_per_byte")))
    return table
