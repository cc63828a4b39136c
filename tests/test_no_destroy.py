"""Nothing destroyed: foreign folders refused (even with --force), no symlink followed, one run per folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.runs import RunDir, RunDirConflict
from jazari_nlp.safety import (
    LOCK_NAME,
    MARKER_NAME,
    OutputLocked,
    UnsafeOutput,
    output_lock,
    prepare_output_dir,
    read_marker,
    remove_outputs,
)

runner = CliRunner()
# Lines written for these tests (Arabizi-like and French), enough for a corpus without filters.
LINES = "salam labas kolchi mzyan\nwach nta ghadi l dar lyoum\nbonjour tout le monde ici\n"


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` with its content (files), its target (links) or 'dir'."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else "dir" if p.is_dir() else p.read_bytes()
    return out


def build(tmp_path: Path, *args: str):
    """`jazari corpus build` on tiny input with no filter steps, one task (fast)."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        return runner.invoke(app, ["corpus", "build", "--tasks", "1", "--set", "steps=[]", *args])
    finally:
        os.chdir(old)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    f = tmp_path / "in.txt"
    f.write_text(LINES, encoding="utf-8")
    return f


def test_force_on_a_folder_of_user_files_deletes_nothing(tmp_path, inputs):
    mine = tmp_path / "mine"
    (mine / "train").mkdir(parents=True)
    (mine / "train" / "thesis.txt").write_text("chapter one\n")
    (mine / "manifest.json").write_text('{"mine": true}\n')
    (mine / "notes.txt").write_text("do not lose\n")
    before = snapshot(mine)
    res = build(tmp_path, "--input", "in.txt", "--output", "mine", "--force")
    assert res.exit_code == 2, res.output
    assert "refusing to use" in res.output and "3 entries that jazari did not make" in res.output
    assert "manifest.json, notes.txt, train/" in res.output and "--allow-existing" in res.output
    assert snapshot(mine) == before  # no marker either: nothing written
    # --allow-existing does not make jazari's names free to take: train/ and manifest.json are the user's
    res = build(tmp_path, "--input", "in.txt", "--output", "mine", "--force", "--allow-existing")
    assert res.exit_code == 2, res.output
    assert "even with --allow-existing" in res.output and "manifest.json, train/" in res.output
    assert snapshot(mine) == before


def test_allow_existing_uses_the_folder_and_force_keeps_what_was_there(tmp_path, inputs):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("do not lose\n")
    res = build(tmp_path, "--input", "in.txt", "--output", "mine", "--allow-existing")
    assert res.exit_code == 0, res.output
    marker = read_marker(mine)
    assert marker["kind"] == "corpus" and marker["preexisting"] == ["notes.txt"]
    first = json.loads((mine / "manifest.json").read_text())["documents_kept"]
    res = build(tmp_path, "--input", "in.txt", "--output", "mine", "--force")  # marked now: no flag needed
    assert res.exit_code == 0, res.output
    assert (mine / "notes.txt").read_text() == "do not lose\n"
    assert json.loads((mine / "manifest.json").read_text())["documents_kept"] == first == 3
    assert not (mine / LOCK_NAME).exists()  # released


def test_force_on_the_folder_above_the_inputs_deletes_nothing(tmp_path):
    data = tmp_path / "proj" / "data"
    data.mkdir(parents=True)
    (data / "a.txt").write_text(LINES, encoding="utf-8")
    before = snapshot(tmp_path / "proj")
    res = build(tmp_path, "--input", "proj/data/a.txt", "--output", "proj", "--force")
    assert res.exit_code == 2, res.output
    assert "refusing to use" in res.output and "data/" in res.output
    assert snapshot(tmp_path / "proj") == before


def test_input_inside_what_force_deletes_is_refused(tmp_path, inputs):
    assert build(tmp_path, "--input", "in.txt", "--output", "out").exit_code == 0
    (tmp_path / "out" / "train" / "more.txt").write_text(LINES, encoding="utf-8")  # input put into jazari's train/
    res = build(tmp_path, "--input", "out/train/more.txt", "--output", "out", "--force")
    assert res.exit_code == 2, res.output
    assert "lies inside" in res.output and "deletes and rewrites" in res.output
    assert (tmp_path / "out" / "train" / "more.txt").read_text(encoding="utf-8") == LINES


def test_run_dir_dot_next_to_the_users_config_yaml_is_refused(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "data.txt").write_text(LINES, encoding="utf-8")
    text = 'name: here\nrun_dir: .\ntokenizer: {vocab_size: 300, files: ["data.txt"]}\n# my notes\n'
    (exp / "config.yaml").write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["run", str(exp / "config.yaml")])
    assert res.exit_code == 2, res.output
    assert "refusing to use" in res.output and "config.yaml, data.txt" in res.output
    res = runner.invoke(app, ["run", str(exp / "config.yaml"), "--allow-existing"])
    assert res.exit_code == 2, res.output
    assert "even with --allow-existing" in res.output and "holds config.yaml" in res.output
    assert (exp / "config.yaml").read_text(encoding="utf-8") == text
    assert sorted(p.name for p in exp.iterdir()) == ["config.yaml", "data.txt"]


def test_a_foreign_config_yaml_in_a_marked_run_dir_is_not_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    RunDir.open(run_dir, "name: a\n", "a" * 64)
    (run_dir / "config.sha256").unlink()
    (run_dir / "config.yaml").write_text("mine: true\n")  # written by a person, not by jazari
    with pytest.raises(RunDirConflict, match="config.yaml that jazari did not write"):
        RunDir.open(run_dir, "name: a\n", "a" * 64)
    assert (run_dir / "config.yaml").read_text() == "mine: true\n"


def test_symlinked_train_is_refused_and_nothing_is_written_at_its_target(tmp_path, inputs):
    assert build(tmp_path, "--input", "in.txt", "--output", "out").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("outside\n")
    train = tmp_path / "out" / "train"
    remove_outputs(tmp_path / "out", ["train"])
    train.symlink_to(elsewhere, target_is_directory=True)
    for extra in ([], ["--force"]):
        res = build(tmp_path, "--input", "in.txt", "--output", "out", *extra)
        assert res.exit_code == 2, res.output
        assert "is a symbolic link" in res.output and "never writes or deletes through links" in res.output
    assert snapshot(elsewhere) == {"keep.txt": b"outside\n"}
    assert train.is_symlink()
    with pytest.raises(UnsafeOutput, match="symbolic link"):
        remove_outputs(tmp_path / "out", ["manifest.json", "train"])  # every name is checked before any deletion
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_symlinked_stage_folder_of_a_run_dir_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    run = RunDir.open(run_dir, "name: a\n", "b" * 64)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "weights.bin").write_bytes(b"\x00" * 8)
    (run_dir / "model").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeOutput, match="symbolic link"):
        run.reset("train")
    with pytest.raises(UnsafeOutput, match="symbolic link"):
        RunDir.open(run_dir, "name: a\n", "b" * 64)
    assert snapshot(elsewhere) == {"weights.bin": b"\x00" * 8}


def test_output_that_is_a_file_is_a_clear_error(tmp_path, inputs):
    (tmp_path / "notes.txt").write_text("mine\n")
    res = build(tmp_path, "--input", "in.txt", "--output", "notes.txt")
    assert res.exit_code == 2, res.output
    assert "notes.txt is a file, not a folder" in res.output and "Traceback" not in res.output
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    for key, value in (("output_dir", "notes.txt"), ("run_dir", "notes.txt/run")):
        cfg = tmp_path / f"{key}.yaml"
        cfg.write_text(f'name: x\n{key}: {value}\ntokenizer: {{files: ["in.txt"]}}\n', encoding="utf-8")
        res = runner.invoke(app, ["config", "validate", str(cfg)])
        assert res.exit_code == 2, res.output
        assert f"{key}: " in res.output and "is a file" in res.output
        res = runner.invoke(app, ["run", str(cfg)])
        assert res.exit_code == 2 and "is a file" in res.output, res.output


def test_folders_of_earlier_jazari_versions_are_recognised(tmp_path):
    old = tmp_path / "old_corpus"
    (old / "_work").mkdir(parents=True)
    (old / "_work" / "fingerprint").write_text("0" * 64)
    (old / "manifest.json").write_text("{}")
    (old / "README.md").write_text("card\n")
    marker = prepare_output_dir(old, "corpus", ("train", "heldout", "rejects", "_work", "manifest.json"))
    assert marker["how"] == "made by an earlier jazari version" and marker["preexisting"] == ["README.md"]
    assert remove_outputs(old, ["_work", "manifest.json", "README.md"]) == ["_work", "manifest.json"]
    assert (old / "README.md").read_text() == "card\n"
    run_dir = tmp_path / "old_run"
    run_dir.mkdir()
    (run_dir / "config.sha256").write_text("c" * 64 + "\n")
    (run_dir / "config.yaml").write_text("name: a\n")
    RunDir.open(run_dir, "name: a\n", "c" * 64)
    assert read_marker(run_dir)["kind"] == "run"
    with pytest.raises(UnsafeOutput, match="is a jazari run directory, not a corpus output folder"):
        prepare_output_dir(run_dir, "corpus", ("train",))


def test_second_build_fails_at_once_naming_the_first(tmp_path, inputs):
    out = tmp_path / "out"
    with output_lock(out, what="corpus build"):
        res = build(tmp_path, "--input", "in.txt", "--output", "out")
        assert res.exit_code == 2, res.output
        assert f"in use by another jazari corpus build: pid {os.getpid()} on {socket.gethostname()}" in res.output
        assert "started 20" in res.output and "command: " in res.output and "Wait for it to finish" in res.output
        assert not (out / "manifest.json").exists()
    assert not (out / LOCK_NAME).exists()
    assert build(tmp_path, "--input", "in.txt", "--output", "out").exit_code == 0  # free again


def test_second_run_on_a_run_dir_fails_naming_the_first(tmp_path, inputs):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text('name: busy\noutput_dir: runs\ntokenizer: {vocab_size: 300, files: ["in.txt"]}\n')
    with output_lock(tmp_path / "runs" / "busy", what="run"):
        res = runner.invoke(app, ["run", str(cfg)])
    assert res.exit_code == 2, res.output
    assert f"in use by another jazari run: pid {os.getpid()}" in res.output
    assert not (tmp_path / "runs" / "busy" / "tokenizer").exists()


def test_stale_lock_of_a_dead_process_is_reported_and_taken_over(tmp_path, inputs):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid is gone
    out = tmp_path / "out"
    out.mkdir()
    stale = {"pid": dead.pid, "host": socket.gethostname(), "started_at": "2020-01-01T00:00:00+00:00",
             "command": "jazari corpus build (killed)", "what": "corpus build"}
    (out / LOCK_NAME).write_text(json.dumps(stale))
    res = build(tmp_path, "--input", "in.txt", "--output", "out")
    assert res.exit_code == 0, res.output
    assert "taking over a stale lock: the jazari corpus build that held it" in res.output
    assert f"(pid {dead.pid} on {socket.gethostname()}, started 2020-01-01" in res.output
    assert "jazari corpus build (killed)) is no longer running" in res.output
    assert json.loads((out / "manifest.json").read_text())["documents_kept"] == 3
    assert not (out / LOCK_NAME).exists()


def test_lock_of_another_host_is_respected(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "other-node", "started_at": "x", "command": "c"}))
    with pytest.raises(OutputLocked, match="another machine"):
        output_lock(d, what="corpus build").acquire()
    assert json.loads((d / LOCK_NAME).read_text())["host"] == "other-node"


def test_lock_is_released_on_exceptions_and_skipped_on_other_ranks(tmp_path, monkeypatch):
    d = tmp_path / "d"
    with pytest.raises(KeyboardInterrupt):
        with output_lock(d, what="corpus build"):
            assert (d / LOCK_NAME).is_file()
            raise KeyboardInterrupt
    assert not (d / LOCK_NAME).exists()
    with output_lock(d, what="corpus build"):
        monkeypatch.setenv("RANK", "1")  # under torchrun only rank 0 takes the lock; rank 1 must not fail on it
        with output_lock(d, what="corpus build") as other:
            assert not other.enabled
        assert (d / LOCK_NAME).is_file()
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(OutputLocked):
            output_lock(d, what="corpus build").acquire()
    assert not (d / LOCK_NAME).exists()


def test_remove_outputs_needs_the_marker(tmp_path):
    d = tmp_path / "plain"
    (d / "train").mkdir(parents=True)
    with pytest.raises(UnsafeOutput, match="no .jazari-output.json marker"):
        remove_outputs(d, ["train"])
    assert (d / "train").is_dir()
    marked = tmp_path / "marked"
    prepare_output_dir(marked, "corpus", ("train",))
    assert (marked / MARKER_NAME).is_file()
    with pytest.raises(ValueError, match="not a path inside"):
        remove_outputs(marked, ["../plain"])
    assert (d / "train").is_dir()
