"""Corpus commands: ``jazari corpus build|card|stats``. Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Build, describe and count national corpora.\n\nExample: jazari corpus build --input 'data/*.jsonl' --output out/corpus",
    no_args_is_help=True,
)


@app.command("build")
def build(
    config: Path = typer.Argument(None, help="Experiment YAML with a `corpus:` section (omit with --input)."),
    inputs: list[str] = typer.Option(None, "--input", "-i", help="File or glob (jsonl/txt/parquet...); repeatable."),
    output: Path = typer.Option(None, "--output", "-o", help="Output folder (with --input)."),
    sets: list[str] = typer.Option(
        None, "--set", help="Override a config key, e.g. --set corpus.executor.tasks=4. With --input the keys are "
        "those of the corpus section (the `corpus.` prefix is optional): --set executor.tasks=4, "
        "--set output.write_rejects=false, --set sources.0.on_invalid_utf8=reject."),
    force: bool = typer.Option(False, "--force", help="Redo this stage and the later ones, from scratch, even if "
                               "complete (with --input: rebuild from scratch instead of resuming)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Quiet: no progress nor logs on the console (errors "
                               "are still shown)."),
    allow_existing: bool = typer.Option(
        False, "--allow-existing", help="Use an output folder that holds files jazari did not make (they are "
        "never deleted nor overwritten; without it such a folder is refused)."),
    text_field: list[str] = typer.Option(
        None, "--text-field", help="Field/column holding the text (with --input): once for every input, or once "
        "per --input, in the same order (--input tweets.csv --text-field tweet --input news.jsonl --text-field "
        "content). Default: text."),
    tasks: int = typer.Option(2, help="datatrove tasks (with --input)."),
    workers: int = typer.Option(1, help="Tasks run at once (with --input)."),
    seed: int = typer.Option(0, help="Seed of the held-out split (with --input)."),
) -> None:
    """Build a corpus: the corpus stage of an experiment, or the default pipeline on --input files.

    Example: jazari corpus build --input 'data/*.jsonl' --input notes.txt --output out/corpus
    Example: jazari corpus build --input 'data/*.jsonl' --output out/corpus --set executor.tasks=4
    Example: jazari corpus build -i tweets.csv --text-field tweet -i news.jsonl --text-field content -o out
    Example: jazari corpus build configs/corpus_national.yaml

    With --input, a file whose extension tells no format (notes.md) is read as plain text, one document per line.
    """
    from jazari_nlp.cli.common import console, err_console, fail

    if config is not None and inputs:
        fail("give either CONFIG or --input/--output, not both")
    if config is None:
        if not inputs or output is None:
            fail("give a CONFIG file, or --input GLOB (repeatable) and --output DIR")
        from pydantic import ValidationError

        from jazari_nlp.cli.common import guarded
        from jazari_nlp.corpus.build import CorpusBuildError, build_corpus
        from jazari_nlp.corpus.config import input_corpus_config
        from jazari_nlp.safety import UnsafeOutput

        try:
            cfg = input_corpus_config(inputs, text_field=text_field or ["text"], tasks=tasks, workers=workers,
                                      overrides=sets or [])
            summary = guarded(lambda: build_corpus(cfg, output, seed=seed, force=force, allow_existing=allow_existing,
                                                   progress=not quiet), output=output)
        except ValidationError as e:
            from jazari_nlp.config import describe_error

            problems = [str(err.get("msg", "")).removeprefix("Value error, ") if err["type"] == "value_error"
                        else describe_error(err, ("corpus",)) for err in e.errors()]
            hint = ("\n  (with --input, give --text-field once for every input or once per --input, in the same "
                    "order)" if any("text_field" in p for p in problems) else "")
            fail("invalid input:\n  - " + "\n  - ".join(problems) + hint)
        except (CorpusBuildError, UnsafeOutput, ValueError) as e:
            fail(str(e))
        console.print(" ".join(f"{k}={v}" for k, v in summary.items()), highlight=False)
        console.print(f"manifest: {output / 'manifest.json'}")
        return
    from jazari_nlp.cli.common import guarded, summary_table
    from jazari_nlp.config import load_config
    from jazari_nlp.corpus.build import CorpusBuildError
    from jazari_nlp.pipeline import run_experiment

    try:
        result = guarded(lambda: run_experiment(config, overrides=sets or [], stages=["corpus"],
                                                force=["corpus"] if force else None,
                                                allow_existing=allow_existing, progress=not quiet),
                         output=lambda: load_config(config, sets or []).resolved_run_dir())
    except CorpusBuildError as e:
        fail(str(e))
    if not quiet:
        err_console.print()
    console.print(summary_table(result))


@app.command("card")
def card(
    run_dir: Path = typer.Argument(..., help="A built corpus folder (holding manifest.json)."),
    output: Path = typer.Option(None, "--output", "-o", help="Card path (default RUN_DIR/README.md)."),
    name: str = typer.Option(None, help="Data set name in the card title."),
) -> None:
    """Write a Hugging Face dataset card (Markdown + PNG chart) from a corpus manifest.

    Example: jazari corpus card runs/quickstart/corpus --output data_cards/quickstart.md
    """
    from jazari_nlp.cli.common import console, guarded
    from jazari_nlp.corpus.card import write_card

    path = guarded(lambda: write_card(run_dir, output, name), output=(output or run_dir / "README.md").parent)
    console.print(f"card: {path}")


@app.command("stats")
def stats(
    directory: Path = typer.Argument(..., help="A built corpus folder (or any folder of parquet files with a "
                                     "`text` column)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Documents, words, characters and bytes per language and script.

    Example: jazari corpus stats runs/quickstart/corpus
    """
    import json

    from jazari_nlp.cli.common import console, err_console, fail, guarded
    from jazari_nlp.corpus.stats import UNKNOWN, corpus_stats, format_stats

    if not directory.is_dir():
        fail(f"not a folder: {directory}")
    s = guarded(lambda: corpus_stats(directory))
    if s["total"]["docs"] == 0:
        fail(f"no parquet shards under {directory}")
    console.print(json.dumps(s, indent=2) if as_json else format_stats(s), highlight=False, soft_wrap=True)
    missing = s.get("missing_columns", {})
    if missing:
        first, cols = next(iter(missing.items()))
        err_console.print(f"note: {len(missing)} file(s) have no {' / '.join(f'`{c}`' for c in cols)} column "
                          f"(e.g. {first}); counted as {UNKNOWN!r}", highlight=False, soft_wrap=True)
