"""Text commands read every format through jazari_nlp.readers and keep going past bad lines (issue #7: 4, 8, 9).

Fixtures are written here from the package's own sample sentences (jazari_nlp/data/samples), never from
../shared/data (read in place by the last test only, skipped when absent).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "jazari_nlp" / "data" / "samples"
SHARED = ROOT.parent / "shared" / "data"


def _sample(lang: str, n: int) -> list[str]:
    return (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").splitlines()[:n]


ARABIZI = _sample("ary_Latn", 3)
DARIJA = _sample("ary_Arab", 3)
FRENCH = _sample("fra_Latn", 3)


def _rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def _csv(tmp_path: Path) -> Path:
    """tweet,label with a quoted field holding a comma and one holding a newline."""
    path = tmp_path / "tweets.csv"
    body = [["tweet", "label"], [ARABIZI[0], "ary_Latn"], [f"{FRENCH[0]}\n{FRENCH[1]}", "fra_Latn"],
            [ARABIZI[1], "ary_Latn"]]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(body)
    assert f'"{ARABIZI[0]}",ary_Latn' in path.read_text(encoding="utf-8") and "," in ARABIZI[0]  # quoted
    return path


def test_langid_csv_uses_field_skips_header_and_keeps_label(tmp_path):
    res = runner.invoke(app, ["langid", "identify", str(_csv(tmp_path)), "--field", "tweet"])
    assert res.exit_code == 0, res.output
    rows = _rows(res.stdout)
    assert len(rows) == 3  # one per data row: the header is not labelled, the quoted newline is one row
    assert [r["label"] for r in rows] == ["ary_Latn", "fra_Latn", "ary_Latn"]
    assert [r["tweet"] for r in rows] == [ARABIZI[0], f"{FRENCH[0]}\n{FRENCH[1]}", ARABIZI[1]]
    assert [r["lang"] for r in rows] == ["ary_Latn", "fra_Latn", "ary_Latn"]


def test_translit_csv_leaves_header_and_labels_alone(tmp_path):
    res = runner.invoke(app, ["translit", str(_csv(tmp_path)), "--field", "tweet"])
    assert res.exit_code == 0, res.output
    rows = _rows(res.stdout)
    assert len(rows) == 3 and not any("tweet" in r["translit"] or "label" in r["translit"] for r in rows)
    assert [r["label"] for r in rows] == ["ary_Latn", "fra_Latn", "ary_Latn"]
    assert rows[0]["tweet"] == ARABIZI[0] and rows[0]["translit"].startswith("سلام")
    raw = runner.invoke(app, ["translit", str(_csv(tmp_path)), "--field", "tweet", "--raw"])
    assert len(raw.stdout.splitlines()) == 3  # one line a row: the second row's newline is a space in --raw
    assert "ary_Latn" not in raw.stdout and "label" not in raw.stdout


def test_normalize_tsv_changes_only_the_text_column(tmp_path):
    path = tmp_path / "news.tsv"
    lines = ["id\ttext\ttopic", f"1\t{DARIJA[0]}  \u200f\tfamily", f'2\t"{DARIJA[1]}\tfood']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["normalize", str(path)])
    assert res.exit_code == 0, res.output
    # TSV has no quoting: a text starting with a quote stays one cell of its own row
    assert _rows(res.stdout) == [{"id": "1", "text": DARIJA[0], "topic": "family"},
                                 {"id": "2", "text": f'"{DARIJA[1]}', "topic": "food"}]


def test_jsonl_without_the_right_field_exits_2_before_writing(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps({"id": i, "content": t}) + "\n" for i, t in enumerate(ARABIZI)),
                    encoding="utf-8")
    for cmd in (["normalize"], ["translit"], ["langid", "identify"]):
        res = runner.invoke(app, [*cmd, str(path)])
        assert res.exit_code == 2, res.output
        assert res.stdout == ""
        assert "has no field 'text' (its fields: id, content); use --field content" in res.stderr
    res = runner.invoke(app, ["langid", "identify", str(path), "--field", "content"])
    assert res.exit_code == 0 and [r["id"] for r in _rows(res.stdout)] == [0, 1, 2]
    # the same records on stdin: the first JSON lines show the field is missing
    res = runner.invoke(app, ["normalize"], input=path.read_bytes())
    assert res.exit_code == 2 and "use --field content" in res.stderr and res.stdout == ""


def test_csv_without_the_field_names_its_columns(tmp_path):
    res = runner.invoke(app, ["langid", "identify", str(_csv(tmp_path))])
    assert res.exit_code == 2 and res.stdout == ""
    assert "tweets.csv has no column 'text' (its columns: tweet, label); use --field tweet" in res.stderr


def test_folder_is_read_recursively_and_skipped_files_are_named(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text(ARABIZI[0] + "\n", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text(FRENCH[0] + "\n" + FRENCH[1] + "\n", encoding="utf-8")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    res = runner.invoke(app, ["normalize", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert [r["text"] for r in _rows(res.stdout)] == [ARABIZI[0], FRENCH[0], FRENCH[1]]
    assert "1 file(s) of unknown format not read (notes.bin)" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["normalize", str(empty)])
    assert res.exit_code == 2 and "no file of a known format in this folder" in res.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_path_that_is_neither_file_nor_folder_is_a_clear_error(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = runner.invoke(app, ["normalize", str(fifo)])
    assert res.exit_code == 2 and "is neither a file nor a folder" in res.stderr
    assert "Traceback" not in res.output


def test_parquet_rows_keep_their_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"doc": [7, 8], "body": [ARABIZI[2], FRENCH[2]]}), path)
    res = runner.invoke(app, ["langid", "identify", str(path), "--field", "body"])
    assert res.exit_code == 0, res.output
    assert [(r["doc"], r["lang"]) for r in _rows(res.stdout)] == [(7, "ary_Latn"), (8, "fra_Latn")]


def test_utf16_and_cr_only_files_and_stdin(tmp_path):
    text = "\n".join([ARABIZI[0], DARIJA[0]]) + "\n"
    u16, cr = tmp_path / "u16.txt", tmp_path / "mac.txt"
    u16.write_bytes(text.encode("utf-16"))
    cr.write_bytes(text.replace("\n", "\r").encode("utf-8"))
    for args, stdin in (([str(u16)], None), ([str(cr)], None), ([], u16.read_bytes()), ([], cr.read_bytes()),
                        ([], "\n".join([ARABIZI[0], DARIJA[0]]).encode("utf-16-le"))):  # no BOM: NUL pattern
        res = runner.invoke(app, ["normalize", *args], input=stdin)
        assert res.exit_code == 0, (args, res.output)
        assert [r["text"] for r in _rows(res.stdout)] == [ARABIZI[0], DARIJA[0]], args


def test_binary_stdin_is_an_error_line_not_a_language():
    blob = bytes(range(256)) * 4  # NULs and control bytes, with \n and \r among them
    res = runner.invoke(app, ["langid", "identify"], input=blob)
    rows = _rows(res.stdout)
    assert rows and all(r["error"] == "binary_data" and "lang" not in r for r in rows)
    assert res.exit_code == 2  # not one line could be used: input to fix (README: exit codes)
    assert "no input line could be used" in res.stderr
    # binary among good lines: an error line, exit 0
    res = runner.invoke(app, ["langid", "identify"], input=ARABIZI[0].encode() + b"\n\x00\x01\x02PK\x03\x04\n")
    assert res.exit_code == 0
    assert [r.get("lang", r.get("error")) for r in _rows(res.stdout)] == ["ary_Latn", "binary_data"]


def test_malformed_first_stdin_line_keeps_the_rest_json():
    good = [json.dumps({"text": t, "n": i}, ensure_ascii=False) for i, t in enumerate(ARABIZI)]
    for bad in ('{"text": "salam', "not json at all"):
        res = runner.invoke(app, ["langid", "identify"], input="\n".join([bad, *good]) + "\n")
        assert res.exit_code == 0, res.output
        rows = _rows(res.stdout)
        assert rows[0] == {"error": "malformed_json", "source": "<stdin>", "line": 1}
        assert [(r["n"], r["lang"]) for r in rows[1:]] == [(0, "ary_Latn"), (1, "ary_Latn"), (2, "ary_Latn")]
    # plain text with one line that starts with a brace stays plain text
    res = runner.invoke(app, ["normalize"], input="\n".join(["{ " + ARABIZI[0], *ARABIZI[1:]]) + "\n")
    assert [r["text"] for r in _rows(res.stdout)] == ["{ " + ARABIZI[0], *ARABIZI[1:]]


@pytest.mark.parametrize("cmd", [["normalize"], ["translit"], ["langid", "identify"]])
def test_lone_surrogate_in_line_2_of_3_does_not_stop_the_stream(cmd, tmp_path):
    lines = [json.dumps({"text": ARABIZI[0]}), '{"text": "salam \\ud800 khoya", "note": "\\udfff"}',
             json.dumps({"text": ARABIZI[1]})]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args, stdin in (([str(path)], None), ([], "\n".join(lines) + "\n")):
        res = runner.invoke(app, [*cmd, *args], input=stdin)
        assert res.exit_code == 0, res.output
        rows = _rows(res.stdout)
        assert len(rows) == 3 and not any("error" in r for r in rows)
        # normalize collapses the two spaces left; other fields keep their escaped surrogate as read
        assert rows[1]["text"] == ("salam khoya" if cmd == ["normalize"] else "salam  khoya")
        assert rows[1]["note"] == "\udfff"
        assert "1 lone surrogates removed" in res.stderr
    if cmd != ["langid", "identify"]:
        res = runner.invoke(app, [*cmd, str(path), "--raw"])
        assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3


def test_exit_codes_and_quiet(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": 5}\n{"text": "x"\n[1]\n{"text": null}\n', encoding="utf-8")
    res = runner.invoke(app, ["normalize", str(path)])
    assert res.exit_code == 2
    assert [r["error"] for r in _rows(res.stdout)] == ["missing_text_field:text", "malformed_json",
                                                       "not_a_json_object", "missing_text_field:text"]
    assert ("no input line could be used (2 missing_text_field:text, 1 malformed_json, 1 not_a_json_object)"
            in res.stderr)
    # a .jsonl file without one JSON object in its first lines is not JSON lines: exit 2, nothing written
    path.write_text("salam\nlabas\n", encoding="utf-8")
    res = runner.invoke(app, ["normalize", str(path)])
    assert res.exit_code == 2 and res.stdout == "" and "no JSON object in its first lines" in res.stderr
    path.write_text(json.dumps({"text": ARABIZI[0]}) + "\n{oops\n", encoding="utf-8")
    res = runner.invoke(app, ["normalize", str(path)])
    assert res.exit_code == 0 and "1 unusable lines written with an `error` key: 1 malformed_json" in res.stderr
    res = runner.invoke(app, ["normalize", str(path), "-q"])
    assert res.exit_code == 0 and res.stderr == "" and len(_rows(res.stdout)) == 2
    res = runner.invoke(app, ["normalize", str(path), "--quiet", "--raw"])
    assert res.stderr.strip() == f"{path}:2: malformed_json"  # errors are still said
    res = runner.invoke(app, ["normalize"], input=b"")
    assert res.exit_code == 0 and res.stdout == ""


def test_blank_lines_of_txt_files_keep_raw_output_aligned(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(f"{ARABIZI[0]}\n\n{ARABIZI[1]}\n", encoding="utf-8")
    res = runner.invoke(app, ["normalize", str(path), "--raw"])
    assert res.stdout.split("\n") == [ARABIZI[0], "", ARABIZI[1], ""]


@pytest.mark.skipif(not (SHARED / "doda_v1" / "sentences.csv").exists(), reason=f"shared data not found at {SHARED}")
def test_real_csv_one_output_per_row():
    """DODa's sentences.csv (english,darija; quoted cells with commas): read in place, never copied."""
    path = SHARED / "doda_v1" / "sentences.csv"
    with path.open(encoding="utf-8", newline="") as f:
        expected = [r for r in list(csv.reader(f))[1:] if any(c.strip() for c in r)]
    res = runner.invoke(app, ["langid", "identify", str(path), "--field", "darija", "-q"])
    assert res.exit_code == 0, res.stderr
    rows = _rows(res.stdout)
    assert len(rows) == len(expected)
    assert [r["english"] for r in rows] == [e[0] for e in expected]
    assert sum(r["lang"] == "ary_Latn" for r in rows) > 0.8 * len(rows)
