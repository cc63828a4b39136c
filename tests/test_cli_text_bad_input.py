"""Text commands on unusable JSONL lines: one output line per input line, the error named, nothing dropped."""

import json

from typer.testing import CliRunner

from jazari_nlp.cli import app

runner = CliRunner()
LINES = ['{"text": "wach labas"}', "{bad json", "[1, 2]", '{"body": "x"}', '{"text": "ⴰⵣⵓⵍ"}']


def _input(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_langid_writes_one_line_per_input_with_named_errors(tmp_path):
    res = runner.invoke(app, ["langid", "identify", str(_input(tmp_path))])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == len(LINES)
    assert [r.get("error") for r in rows] == [None, "malformed_json", "not_a_json_object",
                                              "missing_text_field:text", None]
    assert rows[1]["line"] == 2 and rows[0]["lang"] == "ary_Latn" and rows[4]["lang"] == "zgh_Tfng"
    assert "3 unusable lines" in res.stderr


def test_raw_normalize_keeps_lines_aligned(tmp_path):
    res = runner.invoke(app, ["normalize", str(_input(tmp_path)), "--raw"])
    assert res.exit_code == 0
    assert res.stdout.split("\n")[:5] == ["wach labas", "", "", "", "ⴰⵣⵓⵍ"]
    assert "in.jsonl:2: malformed_json" in res.stderr


def test_windows_1256_files_and_stdin_are_decoded(tmp_path):
    cp = tmp_path / "cp.txt"
    cp.write_bytes("واش نتا مزيان\nsalam\n".encode("cp1256"))
    for args, stdin in ((["normalize", str(cp)], None), (["normalize"], cp.read_bytes())):
        res = runner.invoke(app, args, input=stdin)
        assert res.exit_code == 0, res.output
        assert [json.loads(x)["text"] for x in res.stdout.splitlines()] == ["واش نتا مزيان", "salam"]


def test_jsonl_on_stdin_is_recognised_and_keeps_its_fields():
    line = '{"text": "إنّ المدرسةَ كبيرةٌ!", "id": 7}\n'
    res = runner.invoke(app, ["normalize", "--profile", "match"], input=line)
    assert res.exit_code == 0
    assert json.loads(res.stdout) == {"text": "ان المدرسه كبيره", "id": 7}
    res = runner.invoke(app, ["langid", "identify"], input='{"text": "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "id": 1}\n')
    out = json.loads(res.stdout)
    assert out["id"] == 1 and out["lang"] == "zgh_Tfng"


def test_external_fasttext_backend_gets_no_arabic_stage():
    from jazari_nlp.text import LangIdConfig, load_identifier

    assert load_identifier(LangIdConfig())._arabic is not None
    assert load_identifier(LangIdConfig(backend="fasttext"))._arabic is None


def test_a_missing_model_is_an_error_not_a_silent_und(tmp_path):
    import pytest

    from jazari_nlp.text import LangIdConfig, identify

    cfg = LangIdConfig.model_construct(backend="fasttext", model_path=tmp_path / "absent.bin")
    with pytest.raises(FileNotFoundError, match="absent.bin"):
        identify("salam", model=cfg)


def test_utf16_stdin_with_a_bad_unit_costs_one_line():
    good = "\ufeffsalam\nwach nta\nlabas\n".encode("utf-16-le")
    bad = good.replace("wach".encode("utf-16-le"), b"\x00\xd8" + "ach".encode("utf-16-le"))  # a lone surrogate
    res = runner.invoke(app, ["normalize"], input=bad)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert rows == [{"text": "salam"}, {"error": "invalid_encoding", "source": "<stdin>", "line": 2},
                    {"text": "labas"}]
