"""``jazari run``, ``jazari tokenizer train``, ``jazari train``, ``jazari eval``: stages of one experiment."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jazari_nlp.cli.common import (
    CONFIG_ARG_HELP,
    SET_HELP,
    console,
    guarded,
    print_results,
    quiet_libraries,
    refuse_langid_recipe,
    summary_table,
)
from jazari_nlp.cli.tokenizer_cmd import app as tokenizer_app

ALLOW_EXISTING_HELP = ("Use a run directory that holds files jazari did not make (they are never deleted nor "
                       "overwritten; without it such a folder is refused).")
FORCE_HELP = ("Redo STAGE and the later ones, from scratch, even if complete: corpus, tokenizer, train or eval. "
              "Repeatable.")
STAGE_FORCE_HELP = "Redo this stage and the later ones, from scratch, even if complete."
QUIET_HELP = "Quiet: no progress bars nor logs on the console (errors are still shown; log.txt keeps the log)."

def _run(config: Path, set_: list[str], stages: list[str] | None, force: list[str], quiet: bool,
         allow_existing: bool = False) -> None:
    from jazari_nlp.config import load_config
    from jazari_nlp.pipeline import run_experiment

    def on_stage(stage: str, event: str) -> None:
        if event == "start" and not quiet:
            console.rule(f"[bold]{stage}")

    refuse_langid_recipe(config)
    with quiet_libraries(quiet):
        result = guarded(lambda: run_experiment(config, set_, stages=stages, force=force, progress=not quiet,
                                                on_stage=on_stage, allow_existing=allow_existing),
                         output=lambda: load_config(config, set_).resolved_run_dir())
    console.print(summary_table(result))
    results_file = result.run_dir / "eval" / "results.json"
    if any(r.stage == "eval" for r in result.stages) and results_file.is_file():
        print_results(json.loads(results_file.read_text()))


def grid_table(result):
    """The grid report as a rich table (the same columns as report.md)."""
    from rich.table import Table

    from jazari_nlp.sweep import _columns, _fmt

    cols = _columns(result.runs)[:3]  # the console shows the first metrics; report.md has them all
    keys = list(result.runs[0].point) if result.runs else []
    table = Table(title=f"jazari grid · {result.report_dir}", title_justify="left")
    for c in ["run", *keys, *cols, "status"]:
        table.add_column(c, justify="left" if c == "run" else "right", overflow="fold")
    for r in result.runs:
        status = "[green]ok[/]" if r.status == "ok" else "[red]failed[/]"
        table.add_row(r.name, *(_fmt(r.point.get(k)) for k in keys), *(_fmt(r.metrics.get(c)) for c in cols), status)
    return table


def run_stage_command(stage: str):
    def command(
        config: Path = typer.Argument(..., help=CONFIG_ARG_HELP),
        set_: list[str] = typer.Option([], "--set", help=SET_HELP),
        force: bool = typer.Option(False, "--force", help=STAGE_FORCE_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
        allow_existing: bool = typer.Option(False, "--allow-existing", help=ALLOW_EXISTING_HELP),
    ) -> None:
        _run(config, set_, [stage], [stage] if force else [], quiet, allow_existing)

    return command


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        config: Path = typer.Argument(..., help=CONFIG_ARG_HELP),
        set_: list[str] = typer.Option([], "--set", help=SET_HELP),
        force: list[str] = typer.Option([], "--force", metavar="STAGE", help=FORCE_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
        allow_existing: bool = typer.Option(False, "--allow-existing", help=ALLOW_EXISTING_HELP),
    ) -> None:
        """Run every stage the config has (corpus → tokenizer → train → eval), skipping complete ones.

        Example: jazari run configs/quickstart.yaml --set train.max_steps=50
        """
        _run(config, set_, None, force, quiet, allow_existing)

    @app.command()
    def grid(
        config: Path = typer.Argument(..., help=CONFIG_ARG_HELP),
        axis: list[str] = typer.Option(..., "--axis", "-a", metavar="KEY=V1,V2",
                                       help="A key and its values (repeat for more keys: every combination runs). "
                                       "A YAML list works for values with commas: KEY=[a, b]."),
        set_: list[str] = typer.Option([], "--set", help=SET_HELP + " Applies to every run."),
        force: list[str] = typer.Option([], "--force", metavar="STAGE", help=FORCE_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Run a grid of experiments: every combination of the --axis values, one run directory each (NAME-KEY_VALUE-...),
        sharing the corpus and tokenizer; then a report comparing them (OUTPUT_DIR/_grids/NAME/report.md, .json,
        .csv, loss_curves.png). Finished runs are skipped; a failed run is reported and the others still run.

        Example: jazari grid configs/quickstart.yaml --axis train.learning_rate=1e-3,2e-3 --axis train.max_steps=100,300
        """
        from jazari_nlp.cli.common import fail
        from jazari_nlp.sweep import run_grid

        def on_run(i: int, n: int, name: str) -> None:
            if not quiet:
                console.rule(f"[bold]grid {i}/{n}: {name}")

        with quiet_libraries(quiet):
            result = guarded(lambda: run_grid(config, axis, set_, progress=not quiet, force=force, on_run=on_run))
        console.print(grid_table(result), highlight=False)
        console.print(f"report: {result.report_dir / 'report.md'}", highlight=False)
        if result.failed:
            fail(f"{len(result.failed)} of {len(result.runs)} runs failed: "
                 + "; ".join(f"{r.name}: {r.error}" for r in result.failed))

    train_cmd = run_stage_command("train")
    train_cmd.__doc__ = """Run only the training stage of an experiment (its earlier stages must be complete).

    Example: jazari train configs/quickstart.yaml --set train.learning_rate=1e-3 --set name=lr1e-3
    """
    app.command(name="train")(train_cmd)

    @app.command(name="merge")
    def merge_cmd(
        adapter: Path = typer.Argument(..., help="A LoRA adapter folder (adapter_config.json + safetensors), e.g. "
                                       "runs/x/model/adapter."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for the merged model (new or empty)."),
        base: Path | None = typer.Option(None, "--base", help="Base model folder (default: the one the adapter "
                                         "records)."),
        allow_existing: bool = typer.Option(False, "--allow-existing", help=ALLOW_EXISTING_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Merge a LoRA adapter into its base model: a full model folder AutoModelForCausalLM loads (the base is
        resized first when the adapter was trained with added tokens).

        Example: jazari merge runs/sft_lora/model/adapter -o models/darija_chat --base runs/quickstart/model
        """
        from jazari_nlp.training.lora import merge

        with quiet_libraries(quiet):
            report = guarded(lambda: merge(adapter, out, base=base, allow_existing=allow_existing), output=out)
        console.print(f"merged model: {report.get('out_dir', out)}", highlight=False)

    eval_cmd = run_stage_command("eval")
    eval_cmd.__doc__ = """Run only the evaluation stage (perplexity and benchmark tasks) of an experiment.

    Example: jazari eval configs/quickstart.yaml --force
    """
    from jazari_nlp.cli import eval_cmd as eval_group

    eval_group.register(app, eval_cmd)

    tok_cmd = run_stage_command("tokenizer")
    tok_cmd.__doc__ = """Train the tokenizer of an experiment (needs its corpus stage, or tokenizer.files).

    Example: jazari tokenizer train configs/quickstart.yaml --set tokenizer.vocab_size=2000
    """
    tokenizer_app.command(name="train")(tok_cmd)
    app.add_typer(tokenizer_app, name="tokenizer")
