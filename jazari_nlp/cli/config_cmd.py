"""``jazari config validate|show|schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jazari_nlp.cli.common import CONFIG_ARG_HELP, SET_HELP, console, guarded, refuse_langid_recipe

app = typer.Typer(
    help="Check, print and describe experiment configs.\n\nExample: jazari config validate configs/quickstart.yaml",
    no_args_is_help=True,
)


@app.command()
def validate(
    config: Path = typer.Argument(..., help=CONFIG_ARG_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Validate a config without running anything.

    Example: jazari config validate configs/quickstart.yaml --set train.max_steps=10
    """
    from jazari_nlp.checks import check_consistency
    from jazari_nlp.config import load_config

    refuse_langid_recipe(config)

    def go():
        cfg = load_config(config, set_)
        check_consistency(cfg, config)
        return cfg

    cfg = guarded(go)
    console.print(f"[green]ok[/] {config}: stages {', '.join(cfg.stages()) or '(none)'}; "
                  f"run directory {cfg.resolved_run_dir()}; sha256 {cfg.sha256()[:12]}")


@app.command()
def show(
    config: Path = typer.Argument(..., help=CONFIG_ARG_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Print the fully resolved config (extends merged, overrides applied, defaults filled) as YAML.

    Example: jazari config show configs/quickstart.yaml > resolved.yaml
    """
    from jazari_nlp.config import dump_yaml, load_config

    refuse_langid_recipe(config)
    cfg = guarded(lambda: load_config(config, set_))
    typer.echo(dump_yaml(cfg), nl=False)


@app.command()
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of experiment configs, for editor completion.

    Example: jazari config schema -o jazari.schema.json   (then in YAML: # yaml-language-server: $schema=jazari.schema.json)
    """
    from jazari_nlp.config import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(text)
