"""Hostile-input review of issue #7 (no silent data loss): what still failed after it was built, one test each.

Fixtures are written here from the project's own sample sentences (jazari_nlp/data/samples) or by hand.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.readers import ReadOptions, iter_items, sniff_encoding

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"
runner = CliRunner()


def sample(lang: str, n: int = 5) -> list[str]:
    lines = [ln.strip() for ln in (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[:n]


def rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ encodings


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("lang", ["ary_Arab", "arb_Arab", "zgh_Tfng"])
def test_utf16_without_bom_of_arabic_and_tifinagh_text_is_decoded(tmp_path, enc, lang):
    # Was: only ASCII-heavy UTF-16 was recognised without a BOM (NULs in every other byte); Arabic or Tifinagh
    # UTF-16 has NULs only in its spaces, so its lines were cut at 0x0A bytes and rejected as `binary_data`.
    lines = sample(lang)
    (tmp_path / "a.txt").write_bytes(("\n".join(lines) + "\n").encode(enc))
    got = [(i.text, i.error, i.extra.get("encoding")) for i in iter_items(tmp_path / "a.txt", ReadOptions())]
    assert got == [(t, None, enc) for t in lines]
    res = runner.invoke(app, ["normalize", "-q", str(tmp_path / "a.txt")])
    assert res.exit_code == 0 and [r["text"] for r in rows(res.stdout)] == lines


def test_nul_bytes_in_utf8_or_binary_are_not_taken_for_utf16(tmp_path):
    # the new detection must not turn UTF-8 with a stray NUL, or binary, into "UTF-16 text"
    assert sniff_encoding(b"wach\n\x00\x01\x02\x03\nsalam\n") == (None, 0)
    assert sniff_encoding(b"salam\x00 labas khoya\n") == (None, 0)
    assert sniff_encoding(bytes(range(256)) * 4) == (None, 0)
    res = runner.invoke(app, ["normalize", "--raw"], input=b"wach\n\x00\x01\x02\x03\nsalam\n")
    assert res.exit_code == 0 and res.stdout == "wach\n\nsalam\n"
    assert "<stdin>:2: binary_data" in res.stderr


def test_utf16_json_array_is_read_as_its_items(tmp_path):
    # Was: a UTF-16 `.json` array was refused ("no JSON object in its first lines").
    items = [{"id": f"d{i}", "text": t} for i, t in enumerate(sample("ary_Arab", 3))]
    (tmp_path / "a.json").write_bytes(json.dumps(items, ensure_ascii=False).encode("utf-16"))
    res = runner.invoke(app, ["normalize", "-q", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert [(r["id"], r["text"]) for r in rows(res.stdout)] == [(d["id"], d["text"]) for d in items]


# ------------------------------------------------------------------------------------------------ CSV quoting


def test_an_unterminated_csv_quote_does_not_swallow_the_rest_of_the_file(tmp_path):
    # Was: the rest of the file became one `malformed_row` (one reject for every row after the quote, so the
    # loss alarms, which count records, did not see it); with a one-column header it became one document.
    body = "".join(f"{t.replace(',', '')},x\n" for t in sample("ary_Latn", 6)[1:])
    (tmp_path / "a.csv").write_text("text,label\nfirst row,x\n\"no closing quote,x\n" + body, encoding="utf-8")
    got = [(i.line, i.error, i.text) for i in iter_items(tmp_path / "a.csv", ReadOptions())]
    assert got[:2] == [(2, None, "first row"), (3, "malformed_row", '"no closing quote,x')]
    assert got[2:] == [(n, None, t.replace(",", "")) for n, t in enumerate(sample("ary_Latn", 6)[1:], 4)]
    # one column: the quote ran to the end of the file; each line after it is read again (and judged alone)
    (tmp_path / "b.csv").write_text('text\n"no closing quote\nnext one\nlast, with a comma\n', encoding="utf-8")
    assert [(i.line, i.error, i.text) for i in iter_items(tmp_path / "b.csv", ReadOptions())] == [
        (2, "malformed_row", '"no closing quote'), (3, None, "next one"), (4, "malformed_row", "last, with a comma")]
    # a well-quoted multi-line cell is one row, on the line it starts
    (tmp_path / "c.csv").write_text('text,label\n"two\nlines",a\nnext,b\n', encoding="utf-8")
    assert [(i.line, i.text) for i in iter_items(tmp_path / "c.csv", ReadOptions())] == [(2, "two\nlines"),
                                                                                         (4, "next")]


def test_a_blank_line_above_the_csv_header_is_skipped(tmp_path):
    # Was: the blank line was the header (no columns): `--field` was not checked and every row was a
    # `malformed_row` (exit 1); the delimiter was sniffed from the blank line too.
    (tmp_path / "a.csv").write_text("\n \ntweet;label\nsalam, khoya;a\nlabas;b\n", encoding="utf-8")
    res = runner.invoke(app, ["normalize", "-q", str(tmp_path / "a.csv")])
    assert res.exit_code == 2
    assert res.output.strip() == f"error: {tmp_path / 'a.csv'} has no column 'text' (its columns: tweet, label); " \
                                 "use --field tweet"
    got = [(i.line, i.text, i.fields) for i in iter_items(tmp_path / "a.csv", ReadOptions(text_field="tweet",
                                                                                          keep_fields=("label",)))]
    assert got == [(4, "salam, khoya", {"label": "a"}), (5, "labas", {"label": "b"})]


def test_a_file_whose_name_has_glob_characters_is_read(tmp_path):
    # Was: "tweets [2023].txt is neither a file nor a folder" (text commands) and "no input: ... matches no file"
    # (corpus build), the brackets being read as a glob.
    name = tmp_path / "tweets [2023].txt"
    name.write_text("\n".join(sample("ary_Latn", 3)) + "\n", encoding="utf-8")
    (tmp_path / "tweets 2.txt").write_text("not this one\n", encoding="utf-8")  # what the glob would match
    res = runner.invoke(app, ["normalize", "-q", "--raw", str(name)])
    assert res.exit_code == 0 and res.stdout.splitlines() == sample("ary_Latn", 3)
    out = tmp_path / "out"
    res = runner.invoke(app, ["corpus", "build", "-i", str(name), "-o", str(out), "--tasks", "1", "-q",
                              "--set", "steps=[{repair: {}}]"])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    assert (m["documents_read"], m["documents_kept"], list(m["by_file"])) == (3, 3, [str(name)])


# ------------------------------------------------------------------------------------------------ empty files


def test_a_zero_byte_parquet_is_an_empty_file_not_a_lost_one(tmp_path):
    # Was: warned "is empty (0 documents)", then read as a broken parquet (`unreadable_file`), and the loss
    # alarm failed the whole build: "file zero.parquet lost everything".
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("\n".join(sample("ary_Latn", 30)) + "\n", encoding="utf-8")
    (tmp_path / "in" / "zero.parquet").write_bytes(b"")
    out = tmp_path / "out"
    res = runner.invoke(app, ["corpus", "build", "-i", str(tmp_path / "in"), "-o", str(out), "--tasks", "1", "-q",
                              "--set", "steps=[{repair: {}}]"])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text())
    assert (m["documents_read"], m["documents_kept"], m["rejected"]) == (30, 30, {})
    assert m["warnings"] == [f"source 'input0': {tmp_path / 'in' / 'zero.parquet'} is empty (0 documents)"]
    assert list(iter_items(tmp_path / "in" / "zero.parquet", ReadOptions())) == []


# ------------------------------------------------------------------------------------------------ config checks


def test_keep_fields_and_id_field_are_checked_under_their_own_key(tmp_path):
    (tmp_path / "t.csv").write_text("body,label\n" + "".join(f"{t.replace(',', '')},x\n" for t in sample("ary_Latn")),
                                    encoding="utf-8")

    def validate(extra: str):
        cfg = write_yaml(tmp_path / "c.yaml", "name: c\ncorpus:\n  sources:\n"
                         f"    - {{name: s, paths: [t.csv], text_field: body{extra}}}\n")
        return runner.invoke(app, ["config", "validate", str(cfg)])

    # Was: "...has no column 'labl' ...; set text_field to one of them" (the wrong key to change)
    res = validate(", keep_fields: [labl]")
    assert res.exit_code == 2
    assert f"{tmp_path / 't.csv'} has no column 'labl' (its columns: body, label); did you mean 'label'? fix " \
           "keep_fields" in res.output.replace("\n", "")
    # Was: an id_field the file does not have passed, and every row silently got a file:line id
    res = validate(", id_field: tweet_id")
    assert res.exit_code == 2
    assert f"{tmp_path / 't.csv'} has no column 'tweet_id' (its columns: body, label); fix id_field, or leave " \
           "id_field out (rows then get file:line ids)" in res.output.replace("\n", "")
    # the default `id` stays optional, so `config show`'s output (which writes `id_field: id`) validates again
    assert validate("").exit_code == 0
    shown = runner.invoke(app, ["config", "show", str(tmp_path / "c.yaml")])
    assert "id_field: id" in shown.stdout
    again = write_yaml(tmp_path / "shown.yaml", shown.stdout)
    assert runner.invoke(app, ["config", "validate", str(again)]).exit_code == 0


def test_stage_files_and_benchmarks_that_match_nothing_fail_validation(tmp_path):
    # Was: `config validate` said ok; the run then stopped at the stage ("no file matched") or at the build.
    (tmp_path / "a.txt").write_text("\n".join(sample("ary_Latn")) + "\n", encoding="utf-8")
    cfg = write_yaml(tmp_path / "e.yaml", "name: e\ntokenizer: {vocab_size: 300, files: ['nothing*.txt']}\n")
    res = runner.invoke(app, ["config", "validate", str(cfg)])
    assert res.exit_code == 2
    assert f"tokenizer: files: no file matches {tmp_path / 'nothing*.txt'}; check the path or glob (relative to " \
           "the config file)" in res.output.replace("\n", "")
    cfg = write_yaml(tmp_path / "d.yaml", "name: d\ncorpus:\n  sources: [{name: a, paths: [a.txt]}]\n"
                     "  steps: [{decontaminate: {benchmarks: [a.txt, 'bench/*.tsv']}}]\n")
    res = runner.invoke(app, ["config", "validate", str(cfg)])
    assert res.exit_code == 2
    assert f"corpus.steps.0.decontaminate: benchmarks: no file matches {tmp_path / 'bench' / '*.tsv'}" in \
        res.output.replace("\n", "")


# ------------------------------------------------------------------------------------------------ model files


def safetensors(tensors: dict[str, int]) -> bytes:
    """A safetensors file of F32 vectors (name -> length), written by hand."""
    header, offset = {}, 0
    for name, n in tensors.items():
        header[name] = {"dtype": "F32", "shape": [n], "data_offsets": [offset, offset + 4 * n]}
        offset += 4 * n
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * offset


def test_langid_identify_with_a_truncated_model_is_one_error_line(tmp_path):
    # Was: a pydantic ValidationError traceback (exit 1) from the config built for --model.
    shipped = SAMPLES.parents[1] / "text" / "models" / "langid_default.ftz"
    (tmp_path / "cut.ftz").write_bytes(shipped.read_bytes()[:100_000])
    res = runner.invoke(app, ["langid", "identify", "--model", str(tmp_path / "cut.ftz")], input="salam\n")
    assert res.exit_code == 2, res.output
    assert res.output.replace("\n", "") == (
        f"error: --model: {tmp_path / 'cut.ftz'}: not a usable fastText model: truncated: the file has 100,000 "
        "bytes and its header says more follow. Copy the file again, or train one with `jazari langid train`")


def test_checkpoint_weights_are_checked_before_loading(tmp_path):
    from jazari_nlp.training.config import checkpoint_problem, safetensors_problem

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "llama"}))
    good = safetensors({"w": 4, "b": 2})
    (ckpt / "model.safetensors").write_bytes(good)
    assert checkpoint_problem(ckpt) is None
    weights = ckpt / "model.safetensors"
    # Was: each of these passed `config validate` and failed with a safetensors traceback after the corpus and
    # tokenizer stages had run
    weights.write_bytes(b"")
    assert safetensors_problem(weights) == (
        f"{weights} (0 bytes) is not a complete safetensors file (no valid header): copy the checkpoint again, or "
        "save it with model.save_pretrained(folder)")
    weights.write_bytes(good[:-8])
    assert safetensors_problem(weights) == (
        f"{weights} is truncated: {len(good) - 8:,} bytes, its header says {len(good):,}: copy the checkpoint "
        "again, or save it with model.save_pretrained(folder)")
    weights.write_bytes(struct.pack("<Q", 5) + b"{oops")
    assert safetensors_problem(weights) == (
        f"{weights} (13 bytes) is not a safetensors file (its header is not JSON): copy the checkpoint again, or "
        "save it with model.save_pretrained(folder)")
    weights.write_bytes(good)
    (ckpt / "config.json").write_text("[]")
    assert checkpoint_problem(ckpt) == (
        f"{ckpt / 'config.json'} has no `model_type`, so transformers cannot tell the architecture: give the folder "
        "that model.save_pretrained(...) wrote")
    # through the command line: exit 2, the key path and the file
    (ckpt / "config.json").write_text(json.dumps({"model_type": "llama"}))
    weights.write_bytes(good[:20])
    (tmp_path / "a.txt").write_text("\n".join(sample("ary_Latn")) + "\n", encoding="utf-8")
    cfg = write_yaml(tmp_path / "m.yaml", "name: m\nmodel: {path: ckpt}\ntrain: {files: [a.txt], block_size: 32}\n")
    res = runner.invoke(app, ["config", "validate", str(cfg)])
    assert res.exit_code == 2
    assert f"  - model.path: {weights} (20 bytes) is not a complete safetensors file (no valid header)" in res.output


def test_a_checkpoint_of_an_unknown_architecture_is_an_input_error(tmp_path):
    # Was: transformers' ValueError traceback (exit 1) at the start of training.
    from jazari_nlp.errors import InputError
    from jazari_nlp.training.config import ModelConfig
    from jazari_nlp.training.lm import build_model

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no_such_arch"}))
    (tmp_path / "model.safetensors").write_bytes(safetensors({"w": 2}))
    where = re.escape(str(tmp_path))
    with pytest.raises(InputError, match=rf"^model.path: transformers cannot load {where} as a causal language "
                                         r"model \(The checkpoint you are trying to load has model type "
                                         r"`no_such_arch`.*\): give a checkpoint folder of an architecture "
                                         "transformers knows, saved with save_pretrained$"):
        build_model(ModelConfig(path=tmp_path), tokenizer=None)


# ------------------------------------------------------------------------------------------------ console


def test_a_failing_datatrove_task_prints_one_line_and_its_full_log_survives_a_full_disk(capfd):
    # Was: with a full disk, 268 lines of datatrove and loguru tracebacks (the task log could not be written
    # either: "--- Logging error in Loguru Handler ---") above the one `error: no space left on device` line.
    import datatrove.executor.base as base
    import datatrove.utils.logging as dlog
    from loguru import logger

    from jazari_nlp.corpus.build import _quiet_datatrove

    class FullDisk:
        def write(self, _):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    class Folder:
        def open(self, name, mode):
            return FullDisk()

    _quiet_datatrove()
    try:
        base.add_task_logger(Folder(), 0)
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            logger.exception(e)
        assert capfd.readouterr().err == "datatrove | ERROR | [Errno 28] No space left on device\n"
    finally:
        dlog.setup_default_logger()  # back to the console handler alone


def test_a_stale_lock_is_reported_once(tmp_path, monkeypatch, capsys):
    # Was: printed twice on the console (a print, and logging's last-resort handler when no handler is set).
    import socket
    import subprocess
    import sys

    from jazari_nlp.safety import LOCK_NAME, output_lock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "what": "run",
                                                  "started_at": "2020-01-01T00:00:00+00:00", "command": "c"}))
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.getLogger("jazari_nlp"), "handlers", [])
    with output_lock(tmp_path, what="run", enabled=True):
        pass
    err = capsys.readouterr().err
    assert err.count("taking over a stale lock") == 1, err
