"""Corpus commands: ``jazari corpus build|card|stats``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build, describe and count national corpora.", no_args_is_help=True)
