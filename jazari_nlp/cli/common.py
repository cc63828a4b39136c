"""Small helpers shared by the CLI commands: error reporting and the run summary table."""

from __future__ import annotations

import errno
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

CONFIG_ARG_HELP = "Experiment YAML file."
SET_HELP = "Override a key, e.g. --set train.learning_rate=3e-4 (repeatable; value read as YAML)."


# The libraries whose FutureWarning / DeprecationWarning / UserWarning -q hides (a warning is filed under the module
# that issued it: `transformers.modeling_utils`, `torch.utils.checkpoint`...); jazari's own warnings stay.
QUIET_MODULES = (r"(transformers|peft|accelerate|torch|torchvision|datasets|huggingface_hub|tokenizers|trl|evaluate"
                 r"|lm_eval)(\.|$)")
QUIET_CATEGORIES = (FutureWarning, DeprecationWarning, UserWarning)


@contextmanager
def quiet_libraries(enabled: bool = True) -> Iterator[None]:
    """``-q``: inside the block, the libraries' FutureWarning, DeprecationWarning and UserWarning are not printed
    (transformers' "`is_gradient_checkpointing` is deprecated" when peft wraps a model...); warnings of jazari and
    of other code, and every error, still are. The filters are put back after the block.

    Example: ``with quiet_libraries(quiet): run_experiment(config, progress=not quiet)``"""
    if not enabled:
        yield
        return
    with warnings.catch_warnings():
        for category in QUIET_CATEGORIES:
            warnings.filterwarnings("ignore", category=category, module=QUIET_MODULES)
        yield


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def refuse_langid_recipe(config: Path) -> None:
    """Exit 2 with a pointer to ``jazari langid train`` when ``config`` is a language-ID training recipe (top-level
    ``sources`` and recipe keys such as ``fasttext``, no experiment section) rather than an experiment config,
    instead of a list of "unknown key" errors. Anything else (unreadable, not YAML) is left to load_config.

    Example: ``refuse_langid_recipe(Path("configs/langid.yaml"))`` → ``error: ... run `jazari langid train ...```"""
    try:
        from jazari_nlp.overrides import safe_load_bounded

        data = safe_load_bounded(Path(config).read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - only a hint: load_config reports what is wrong with the file
        return
    if not isinstance(data, dict) or "sources" not in data:
        return
    from jazari_nlp.config import ExperimentConfig
    from jazari_nlp.text.langid_recipe import LangIdTrainConfig

    recipe_only = set(LangIdTrainConfig.model_fields) - set(ExperimentConfig.model_fields)
    experiment_only = set(ExperimentConfig.model_fields) - set(LangIdTrainConfig.model_fields)
    found = sorted(recipe_only & set(data) - {"sources"})  # `sources` alone may be a misplaced tokenizer key
    if found and not experiment_only & set(data):
        output = f" (it writes its `output`: {data['output']})" if isinstance(data.get("output"), str) else ""
        fail(f"{config}: this is a language-ID training recipe (keys {', '.join(['sources', *found])}), not an "
             f"experiment config: run `jazari langid train {config}`{output}")


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
