"""The ``jazari`` command line: a thin shell over the library.

Each command parses its arguments, calls one library function and prints. Heavy libraries (torch,
transformers, datasets, datatrove) are imported inside the commands that need them so that
``jazari --help`` stays fast.
"""

from __future__ import annotations

import typer

from jazari_nlp.cli import config_cmd, corpus_cmd, run_cmd, text_cmd

app = typer.Typer(
    name="jazari",
    help="jazari_nlp: corpora, tokenizers, language models and evaluation for Darija, MSA and Amazigh.\n\n"
    "Exit codes: 0 done; 2 an error you can fix (the message names the key, file or folder and what to do); "
    "1 an unexpected error (a bug: please report it with its traceback).\n\n"
    "Example: jazari run configs/quickstart.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)



def _version(value: bool) -> None:
    if value:
        from jazari_nlp import __version__

        typer.echo(f"jazari_nlp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version of jazari_nlp and exit."),
) -> None:
    """The command group (its help is the Typer app's); only holds --version."""


app.add_typer(config_cmd.app, name="config")
app.add_typer(corpus_cmd.app, name="corpus")
run_cmd.register(app)
text_cmd.register(app)


def main() -> None:
    from jazari_nlp.offline import apply_network_policy

    # Offline unless a config says otherwise (run_experiment lifts this for `allow_network: true`).
    apply_network_policy(False)
    try:
        app()
    except BrokenPipeError:  # `jazari normalize big.txt | head`: the reader left, which is not an error of ours
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
