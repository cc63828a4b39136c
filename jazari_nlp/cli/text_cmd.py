"""Text commands: ``jazari normalize``, ``jazari langid``, ``jazari translit`` (owned by the text layer)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the text-layer commands to the main app."""
