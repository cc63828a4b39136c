"""`jazari corpus build --input`: --set mistakes get the config loader's messages (did-you-mean, valid keys), and
files a folder leaves out are named in the warnings."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.config import describe_error

runner = CliRunner()


def _build(tmp_path, *args):
    src = tmp_path / "a.txt"
    src.write_text("salam labas 3lik\n", encoding="utf-8")
    return runner.invoke(app, ["corpus", "build", "-i", str(src), "-o", str(tmp_path / "out"), *args])


def test_unknown_set_key_gets_did_you_mean(tmp_path):
    res = _build(tmp_path, "--set", "executor.taks=3")
    assert res.exit_code == 2
    assert ("executor.taks: unknown key 'taks'; did you mean 'tasks'? Valid keys here: ray, slurm, start_method, "
            "tasks, type, workers") in res.output
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_unknown_section_lists_the_valid_keys(tmp_path):
    res = _build(tmp_path, "--set", "corpus.dedupe.x=1")
    assert res.exit_code == 2
    assert "dedupe: unknown key 'dedupe'." in res.output and "Valid keys here: alarms, executor," in res.output


def test_wrong_type_names_the_key_and_value(tmp_path):
    res = _build(tmp_path, "--set", "executor.tasks=abc")
    assert res.exit_code == 2
    assert "executor.tasks: Input should be a valid integer" in res.output and "found 'abc' (str)" in res.output


def test_describe_error_relative_to_a_section():
    err = {"type": "extra_forbidden", "loc": ("executor", "workrs"), "msg": "Extra inputs are not permitted",
           "input": 1}
    assert describe_error(err, ("corpus",)).startswith("executor.workrs: unknown key 'workrs'; did you mean 'workers'?")


def test_folder_files_of_unknown_format_are_named(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("wach nta mzyan a sahbi dyali\n", encoding="utf-8")
    (folder / "notes.md").write_text("# not read\n", encoding="utf-8")
    (folder / "dump.7z").write_bytes(b"BZh9")
    res = runner.invoke(app, ["corpus", "build", "-i", str(folder), "-o", str(tmp_path / "out"),
                              "--set", "alarms.accept=['*']"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    expected = (f"source 'input0': {folder}: 2 file(s) of unknown format not read (dump.7z, notes.md): list "
                "such files in `paths` with a `format` to read them")
    assert expected in manifest["warnings"]
    assert "2 file(s) of unknown format not read" in " ".join(res.output.split())
