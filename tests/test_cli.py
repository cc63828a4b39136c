"""The command line: every command documents an example, and starting it loads no heavy library."""

import subprocess
import sys

import typer.main

from jazari_nlp.cli import app

HEAVY = ("torch", "transformers", "datasets", "datatrove", "fasttext", "peft", "accelerate", "numpy", "pyarrow")


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield path, cmd
            yield from _commands(cmd, path)
        else:
            yield path, cmd


def test_every_command_has_help_with_an_example():
    root = typer.main.get_command(app)
    missing = [" ".join(path) for path, cmd in _commands(root) if "Example" not in (cmd.help or "")]
    assert not missing, f"commands without an example in --help: {missing}"


def test_cli_import_loads_no_heavy_library():
    code = (
        "import sys, jazari_nlp.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"`jazari --help` would import: {out}"


def test_help_runs():
    res = subprocess.run([sys.executable, "-m", "jazari_nlp", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for command in ("run", "corpus", "tokenizer", "train", "eval", "config", "normalize", "langid", "translit"):
        assert command in res.stdout
