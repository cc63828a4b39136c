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
    "Example: jazari run configs/quickstart.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

app.add_typer(config_cmd.app, name="config")
app.add_typer(corpus_cmd.app, name="corpus")
run_cmd.register(app)
text_cmd.register(app)


def main() -> None:
    from jazari_nlp.offline import apply_network_policy

    # Offline unless a config says otherwise (run_experiment lifts this for `allow_network: true`).
    apply_network_policy(False)
    app()


if __name__ == "__main__":
    main()
