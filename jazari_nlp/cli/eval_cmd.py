"""``jazari eval``: an experiment's eval stage (``jazari eval CONFIG``), any local model on benchmark tasks
(``jazari eval run``), the task registry (``tasks``, ``export``), leaderboards (``report``) and the
contamination report (``contamination``). Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

PACKAGE = Path(__file__).resolve().parents[2]  # the folder holding jazari_nlp/


class _EvalGroup(TyperGroup):
    """``jazari eval CONFIG`` is the experiment's eval stage: a first argument that is no subcommand is a config."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["config", *args]
        elif args and args[0] not in ("--help", "-h") and not any(a in self.commands for a in args):
            args = ["config", *args]  # options first: `jazari eval --force CONFIG`, `jazari eval -q CONFIG`
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_EvalGroup,
    help="Evaluate models: an experiment's eval stage, or any local model on benchmark tasks.\n\n"
    "Example: jazari eval configs/quickstart.yaml\n\n"
    "Example: jazari eval run --model runs/quickstart/model --tasks jazari_quick_mc,jazari_quick_translate",
    no_args_is_help=True,
)


def _split(values: list[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


@app.command("run")
def run(
    model: Path = typer.Option(..., "--model", "-m", help="A local model folder (safetensors) or a run directory."),
    tasks: list[str] = typer.Option(..., "--tasks", "-t", help="Task names or task YAML files/folders, comma "
                                    "separated or repeated (`jazari eval tasks` lists the shipped ones)."),
    output: Path = typer.Option(None, "--output", "-o", help="Results folder (default: RUN_DIR/eval_tasks for a "
                                "run's model, else ./eval_tasks/<model folder name>)."),
    num_fewshot: int = typer.Option(None, "--num-fewshot", help="Shots for every task (default: each task's own)."),
    limit: int = typer.Option(None, help="At most this many examples per task (a quick look)."),
    batch_size: str = typer.Option("auto", help="Batch size, or auto."),
    seed: int = typer.Option(1234, help="Few-shot sampling seed (lm-eval's default)."),
    adapter: Path = typer.Option(None, help="A peft adapter folder applied to the model."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use (nor write) the request cache."),
    chat: bool = typer.Option(None, "--apply-chat-template/--no-chat-template", help="Render prompts with the "
                              "tokenizer's chat template (few-shot as turns), or not (default: each task's own)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Evaluate a local model on benchmark tasks; writes results.json and samples_<task>.jsonl.

    Example: jazari eval run --model runs/quickstart/model --tasks jazari_example_mc --num-fewshot 3
    """
    from jazari_nlp.cli.common import fail, guarded, print_results, quiet_libraries

    def go():
        from jazari_nlp.evaluation.harness import evaluate_tasks, init_distributed
        from jazari_nlp.evaluation.tasks import load_task
        from jazari_nlp.models import load_lm

        loaded = [load_task(t) for t in _split(tasks)]
        from jazari_nlp.hf_logging import quiet_transformers

        init_distributed()  # torchrun / accelerate launch: one rank per process, examples shared out
        with quiet_transformers(quiet):
            lm = load_lm(model, adapter=adapter)
        folder = Path(getattr(lm, "path", model))
        # a run's model/: RUN_DIR/eval_tasks; any other model folder is never written into: ./eval_tasks/<name>
        run_model = folder.name == "model" and (folder.parent / "config.sha256").is_file()
        out = output or (folder.parent / "eval_tasks" if run_model else Path("eval_tasks") / folder.name)
        bs: int | str = int(batch_size) if batch_size.isdigit() else batch_size
        return evaluate_tasks(lm, loaded, out, num_fewshot=num_fewshot, limit=limit, seed=seed, batch_size=bs,
                              progress=not quiet, apply_chat_template=chat, use_cache=not no_cache,
                              provenance={"model": str(folder), "adapter": str(adapter) if adapter else None}), out

    if batch_size != "auto" and not batch_size.isdigit():
        fail(f"--batch-size: a number or auto, not {batch_size!r}")
    if limit is not None and limit < 1:
        fail(f"--limit: at least 1 example per task, not {limit}")
    if num_fewshot is not None and num_fewshot < 0:
        fail(f"--num-fewshot: 0 or more shots, not {num_fewshot}")
    with quiet_libraries(quiet):
        doc, out = guarded(go)
    from jazari_nlp.evaluation.harness import world_info

    if world_info()[0] == 0:
        print_results(doc)
        typer.echo(f"results: {out / 'results.json'}")


@app.command("tasks")
def tasks_cmd(
    search: list[Path] = typer.Argument(None, help="Extra folders or files of task YAMLs to list."),
) -> None:
    """List the tasks: the shipped ones and those in the folders given.

    Example: jazari eval tasks my_tasks/
    """
    from rich.table import Table

    from jazari_nlp.cli.common import console, fail, guarded
    from jazari_nlp.evaluation.tasks import list_tasks

    missing = [str(p) for p in search or [] if not p.exists()]
    if missing:
        fail(f"no such folder or file: {', '.join(missing)}; name folders or YAML files that hold task files")
    infos = guarded(lambda: list_tasks(search=list(search or [])))
    table = Table(title="tasks", title_justify="left")
    for col in ("task", "output type", "groups", "file"):
        table.add_column(col, overflow="fold", no_wrap=False, min_width=len(col))
    for info in infos:
        d = info if isinstance(info, dict) else getattr(info, "__dict__", {})
        path = Path(str(d.get("path", "")))
        shown = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path  # shipped: jazari_nlp/...
        kind = "unreadable" if d.get("error") else "group" if d.get("kind") == "group" else d.get("output_type")
        table.add_row(str(d.get("name", "")), str(kind or ""), ", ".join(d.get("groups") or []), str(shown))
    console.print(table)
    for info in infos:  # a task file that cannot be read is listed, and why
        if getattr(info, "error", None):
            console.print(f"unreadable: {info.error}", highlight=False, soft_wrap=True)


@app.command("export")
def export(
    task: str = typer.Argument(..., help="A task name or YAML file."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the YAML here (default: stdout)."),
) -> None:
    """Write a task as an lm-evaluation-harness task YAML.

    Example: jazari eval export jazari_quick_mc -o lm_eval_tasks/jazari_quick_mc.yaml
    """
    from jazari_nlp.cli.common import guarded
    from jazari_nlp.evaluation.tasks import export_lm_eval, load_task

    text = guarded(lambda: export_lm_eval(load_task(task)))
    if output is None:
        typer.echo(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written: {output}")


@app.command("report")
def report(
    runs: list[Path] = typer.Argument(..., help="results.json files, evaluation folders or run directories."),
    output: Path = typer.Option(Path("leaderboard"), "--output", "-o", help="Writes OUTPUT.md and OUTPUT.png."),
) -> None:
    """One leaderboard across runs and models: a table (console and Markdown) and a PNG bar chart.

    Example: jazari eval report runs/small runs/base -o leaderboard
    """
    from jazari_nlp.cli.common import console, fail, guarded
    from jazari_nlp.evaluation.report import bar_chart, collect_results, markdown_table, rich_table

    rows = guarded(lambda: collect_results(list(runs)))
    if not rows:
        fail("no metrics in those results")
    console.print(rich_table(rows))
    md = output.with_suffix(".md")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown_table(rows) + "\n", encoding="utf-8")
    png = bar_chart(rows, output.with_suffix(".png"))
    typer.echo(f"written: {md}, {png}")


@app.command("contamination")
def contamination(
    tasks: list[str] = typer.Option(..., "--tasks", "-t", help="Task names or YAML files, comma separated."),
    corpus: Path = typer.Option(..., "--corpus", help="A built corpus folder (RUN_DIR/corpus)."),
    n: int = typer.Option(13, help="Word n-gram length (items shorter than n are matched whole)."),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the report as JSON here."),
) -> None:
    """The share of each task's test items that share an n-gram with a built corpus.

    Example: jazari eval contamination --tasks sib200_ary_Arab --corpus runs/national/corpus
    """
    import json

    from rich.table import Table

    from jazari_nlp.cli.common import console, guarded
    from jazari_nlp.evaluation.contamination import contamination_report

    rep = guarded(lambda: contamination_report(_split(tasks), corpus, n=n))
    table = Table(title=f"contamination ({n}-grams) with {corpus}", title_justify="left")
    for col in ("task", "items", "contaminated", "share"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for name, r in rep["tasks"].items():
        table.add_row(name, f"{r['items']:,}", f"{r['contaminated']:,}", f"{r['share']:.2%}")
    console.print(table)
    if output:
        output.write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")


def register(main: typer.Typer, config_command) -> None:
    """Add ``jazari eval`` to the main app; ``config_command`` is the experiment's eval stage command."""
    app.command("config", hidden=True)(config_command)
    main.add_typer(app, name="eval")
