"""Readers never lose a file's tail or garble damaged UTF-8 (issue #5: nothing lost silently).

Each test reproduces one defect the audit found, with bytes written here: a BOM'd UTF-8 file with one bad byte
lost everything after it (CSV: the whole file); a UTF-16 file with one bad code unit lost its tail and kept a cut
line; UTF-8 with one stray or cut byte became cp1256 mojibake kept as Arabic; a truncated .zst read as a
shorter file with no error; one bad byte made a whole ``document_per: paragraph`` file one reject.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.corpus.build import build_corpus
from jazari_nlp.corpus.config import CorpusConfig
from jazari_nlp.readers import ReadOptions, decode_line, iter_items
from jazari_nlp.text import decode_bytes

BOM = b"\xef\xbb\xbf"
ARABIC = "سلام عليكم"  # written for these tests
TIFINAGH = "ⴰⵣⵓⵍ ⴼⵍⴰⴽ"
LINES = [f"line {i} salam" for i in range(1, 11)]


def items(path: Path, **kw) -> list[tuple]:
    return [(it.line, it.text, it.error, it.extra) for it in iter_items(path, ReadOptions(**kw))]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def build(tmp: Path, sources: list[dict]) -> tuple[dict, list[dict]]:
    """(manifest, rejects) of a build with no steps (these tiny corpora lose records on purpose)."""
    cfg = CorpusConfig.model_validate({"sources": sources, "steps": [], "alarms": {"accept": ["*"]}},
                                      context={"base_dir": tmp})
    build_corpus(cfg, tmp / "out", progress=False)
    rejects = [json.loads(line) for f in sorted((tmp / "out" / "rejects").rglob("*.jsonl.gz"))
               for line in gzip.open(f, "rt", encoding="utf-8")]
    return json.loads((tmp / "out" / "manifest.json").read_text()), rejects


# ------------------------------------------------------------------------------ 1. BOM'd UTF-8, UTF-16


def test_bom_csv_with_a_bad_byte_reads_every_row_like_bom_less_csv(tmp_path):
    body = b"id;text\r\n1;salam\r\n2;caf\xe9 noir\r\n3;labas\r\n"
    (tmp_path / "bom.csv").write_bytes(BOM + body)
    (tmp_path / "plain.csv").write_bytes(body)
    want = [(2, "salam", None, {}), (3, "café noir", None, {"encoding": "cp1252"}), (4, "labas", None, {})]
    assert items(tmp_path / "plain.csv") == want
    assert items(tmp_path / "bom.csv") == want  # was: one unreadable_file item, all 3 rows lost
    res = CliRunner().invoke(app, ["normalize", str(tmp_path / "bom.csv")])
    assert res.exit_code == 0, res.output
    assert [json.loads(line)["text"] for line in res.stdout.splitlines()] == ["salam", "café noir", "labas"]


def test_bom_txt_and_jsonl_with_a_cp1256_line_read_every_line(tmp_path):
    raw = [line.encode() for line in LINES]
    raw[2] = ARABIC.encode("cp1256")
    (tmp_path / "a.txt").write_bytes(BOM + b"\n".join(raw) + b"\n")
    want = [(n, t, None, {}) for n, t in enumerate(LINES, 1)]
    want[2] = (3, ARABIC, None, {"encoding": "cp1256"})
    assert items(tmp_path / "a.txt") == want  # was: 2 documents + one invalid_encoding reject of lines 3-10
    rows = [json.dumps({"id": str(n), "text": t}).encode() for n, t in enumerate(LINES, 1)]
    rows[2] = json.dumps({"id": "3", "text": "@"}, ensure_ascii=False).encode().replace(b"@", ARABIC.encode("cp1256"))
    (tmp_path / "a.jsonl").write_bytes(BOM + b"\n".join(rows) + b"\n")
    got = [(it.line, it.id, it.text, it.error, it.extra) for it in iter_items(tmp_path / "a.jsonl")]
    assert got == [(n, str(n), t, None, {"encoding": "cp1256"} if n == 3 else {}) for n, t in enumerate(
        [*LINES[:2], ARABIC, *LINES[3:]], 1)]


def _utf16_with_bad_unit() -> tuple[bytes, bytes]:
    """(file bytes, bytes of its line 3): line 3 holds a lone surrogate, the rest is clean UTF-16-LE."""
    lines = [line.encode("utf-16-le") for line in LINES]
    lines[2] = lines[2][:4] + b"\x00\xd8" + lines[2][4:]
    return b"\xff\xfe" + "\r\n".encode("utf-16-le").join(lines) + "\r\n".encode("utf-16-le"), lines[2]


def test_utf16_bad_code_unit_costs_its_own_line_only(tmp_path):
    data, bad = _utf16_with_bad_unit()
    (tmp_path / "u.txt").write_bytes(data)
    got = items(tmp_path / "u.txt")
    assert [g for g in got if g[2] is None] == [(n, t, None, {"encoding": "utf-16-le"})
                                                for n, t in enumerate(LINES, 1) if n != 3]
    # was: lines 1-2, then "li" (the cut line) kept as a document and lines 3-10 one reject
    assert [g for g in got if g[2]] == [(3, "li\ufffdne 3 salam", "invalid_encoding",
                                        {"encoding": "utf-16-le", "raw_b64": b64(bad)})]
    assert len(got) == 10


def test_utf16_csv_bad_code_unit_is_one_rejected_row(tmp_path):
    lines = [f"{n},{t}".encode("utf-16-le") for n, t in enumerate(LINES, 1)]
    lines[2] = lines[2][:6] + b"\x00\xd8" + lines[2][6:]  # inside the text cell "line 3 salam"
    (tmp_path / "u.csv").write_bytes(b"\xff\xfe" + "\n".encode("utf-16-le").join(["id,text".encode("utf-16-le"),
                                                                                  *lines]))
    got = items(tmp_path / "u.csv")
    assert [(g[0], g[1]) for g in got if g[2] is None] == [(n + 1, t) for n, t in enumerate(LINES, 1) if n != 3]
    bad = [g for g in got if g[2]]
    assert [(g[0], g[1], g[2]) for g in bad] == [(4, "l\ufffdine 3 salam", "invalid_encoding")]
    assert base64.b64decode(bad[0][3]["raw_b64"]) == "l".encode("utf-16-le") + b"\x00\xd8" + "ine 3 salam".encode(
        "utf-16-le")
    assert len(got) == 10


def test_utf16_newline_bytes_across_two_code_units_do_not_split_a_line(tmp_path):
    # U+0A05 U+0100 is 05 0A 00 01 in UTF-16-LE: the bytes of "\n" (0A 00) straddle two code units
    text = ["salam \u0a05\u0100 labas", "bslama"]
    (tmp_path / "u.txt").write_bytes("\n".join(text).encode("utf-16"))
    assert [(n, t) for n, t, _, _ in items(tmp_path / "u.txt")] == [(1, text[0]), (2, text[1])]
    # an odd byte at the very end is a line of its own, not a part of the last one
    (tmp_path / "odd.txt").write_bytes("\n".join(text).encode("utf-16") + b"\n")
    assert [(n, t, e) for n, t, e, _ in items(tmp_path / "odd.txt")] == [
        (1, text[0], None), (2, text[1], None), (3, "\ufffd", "invalid_encoding")]


# ------------------------------------------------------------------------------ 2. damaged UTF-8


def test_utf8_with_a_stray_or_cut_byte_is_rejected_not_mojibake():
    stray = ARABIC.encode() + b" \xff"
    assert decode_line(stray) == (ARABIC + " \ufffd", "invalid_utf8", {"raw_b64": b64(stray)})
    cut = ARABIC.encode()[:-1]  # the last letter cut mid-character
    assert decode_line(cut) == (ARABIC[:-1] + "\ufffd", "invalid_utf8", {"raw_b64": b64(cut)})
    # one bad byte in the middle of a Tifinagh line
    mid = TIFINAGH.encode().replace(b" ", b" \x80 ")
    assert decode_line(mid) == (TIFINAGH.replace(" ", " \ufffd "), "invalid_utf8", {"raw_b64": b64(mid)})
    # `replace` keeps them with U+FFFD, as it keeps any bytes that are not UTF-8
    assert decode_line(stray, "replace") == (ARABIC + " \ufffd", None, {"encoding": "utf-8-replace"})
    assert decode_bytes(stray) == ARABIC + " \ufffd" and decode_bytes(cut) == ARABIC[:-1] + "\ufffd"


def test_legacy_encodings_are_still_decoded():
    for text, enc in ((ARABIC, "cp1256"), ("كيف؟ لا، نعم", "cp1256"), ("café noir", "cp1252"),
                      ("Müller «über» © été", "cp1252")):
        assert decode_line(text.encode(enc)) == (text, None, {"encoding": enc})
        assert decode_bytes(text.encode(enc)) == text


def test_a_damaged_line_reaches_rejects_in_a_build(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\n".join([ARABIC.encode(), ARABIC.encode() + b" \xff", "واش نتا مزيان".encode(),
                                                 ARABIC.encode()[:-1]]) + b"\n")
    m, rejects = build(tmp_path, [{"name": "s", "paths": ["a.txt"]}])
    assert (m["documents_read"], m["documents_kept"], m["rejected"]) == (4, 2, {"invalid_utf8": 2})
    assert m["encodings"] == {}  # no document was taken for cp1256
    assert sorted(base64.b64decode(r["raw_b64"]) for r in rejects) == sorted(
        [ARABIC.encode() + b" \xff", ARABIC.encode()[:-1]])


# ------------------------------------------------------------------------------ 3. truncated .zst


def _zst_rows(n: int) -> tuple[list[str], bytes]:
    import zstandard

    texts = [f"salam {i} labas {i * 7 % 1000} bslama" for i in range(n)]
    body = "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)).encode()
    return texts, zstandard.ZstdCompressor().compress(body)


def test_truncated_zst_ends_with_unreadable_file(tmp_path):
    texts, comp = _zst_rows(50_000)
    (tmp_path / "cut.jsonl.zst").write_bytes(comp[: len(comp) // 2])
    got = list(iter_items(tmp_path / "cut.jsonl.zst"))
    *ok, last = got
    assert 0 < len(ok) < len(texts) and [it.text for it in ok] == texts[: len(ok)]
    assert all(it.error is None for it in ok)
    # was: read as a shorter file, no error
    assert last.error == "unreadable_file" and last.extra["records_read_before"] == len(ok)
    assert last.extra["error"].startswith("EOFError:") and "truncated" in last.extra["error"]
    m, rejects = build(tmp_path, [{"name": "s", "paths": ["cut.jsonl.zst"]}])
    assert m["unreadable_files"] == 1 and m["rejected"] == {"unreadable_file": 1} and m["accounting_ok"]
    assert m["documents_read"] == len(ok) + 1 and m["documents_kept"] == len(ok)
    assert [r["records_read_before"] for r in rejects] == [len(ok)]


def test_whole_and_multi_frame_zst_read_every_row(tmp_path):
    import zstandard

    texts, comp = _zst_rows(20_000)
    (tmp_path / "a.jsonl.zst").write_bytes(comp)
    assert [it.text for it in iter_items(tmp_path / "a.jsonl.zst")] == texts
    # two frames one after the other (zstd -c a b > ab.zst, or an appended file)
    extra = zstandard.ZstdCompressor().compress(json.dumps({"text": "second frame"}).encode() + b"\n")
    (tmp_path / "ab.jsonl.zst").write_bytes(comp + extra)
    assert [it.text for it in iter_items(tmp_path / "ab.jsonl.zst")] == [*texts, "second frame"]
    (tmp_path / "ab_cut.jsonl.zst").write_bytes(comp + extra[:-3])  # the second frame cut
    *ok, last = iter_items(tmp_path / "ab_cut.jsonl.zst")
    assert len(ok) == len(texts) and last.error == "unreadable_file"


# ------------------------------------------------------------------------------ 4. paragraphs, whole files


def test_one_bad_byte_costs_its_own_paragraph_only(tmp_path):
    (tmp_path / "p.txt").write_bytes(ARABIC.encode() + b"\n" + "لاباس".encode() + b"\n\n" + TIFINAGH.encode()
                                     + b"\n \t\ncaf\xe9 noir\n")
    # was: one reject holding the three paragraphs, counted as one record
    assert items(tmp_path / "p.txt", document_per="paragraph") == [
        (1, ARABIC + "\nلاباس", None, {}), (4, TIFINAGH, None, {}), (6, "café noir", None, {"encoding": "cp1252"})]
    nul = b"one\r\n\r\ntwo\x00x\r\n\r\nthree\r\n\r\n\r\nfour\r\n"
    (tmp_path / "nul.txt").write_bytes(nul)
    assert items(tmp_path / "nul.txt", document_per="paragraph") == [
        (1, "one", None, {}), (3, "twox", "binary_data", {"raw_b64": b64(b"two\x00x")}), (5, "three", None, {}),
        (8, "four", None, {})]
    damaged = ARABIC.encode() + b"\n" + ARABIC.encode() + b"\xd9\n\nsalam\n"
    (tmp_path / "d.txt").write_bytes(damaged)
    assert [(n, e) for n, _, e, _ in items(tmp_path / "d.txt", document_per="paragraph")] == [
        (1, "invalid_utf8"), (4, None)]
    m, _ = build(tmp_path, [{"name": "s", "paths": ["p.txt", "nul.txt"], "document_per": "paragraph"}])
    assert (m["documents_read"], m["documents_kept"], m["rejected"]) == (7, 6, {"binary_data": 1})


def test_utf16_paragraphs_with_a_bad_unit(tmp_path):
    data, bad = _utf16_with_bad_unit()
    (tmp_path / "u.txt").write_bytes(data.replace("line 6 salam\r\n".encode("utf-16-le"),
                                                  "line 6 salam\r\n\r\n".encode("utf-16-le")))
    got = items(tmp_path / "u.txt", document_per="paragraph")
    assert [(n, e) for n, _, e, _ in got] == [(1, "invalid_encoding"), (8, None)]
    assert got[1][1] == "\n".join(LINES[6:])
    assert base64.b64decode(got[0][3]["raw_b64"]) == "\n".encode("utf-16-le").join(
        [line.encode("utf-16-le") for line in LINES[:2]] + [bad] + [line.encode("utf-16-le") for line in LINES[3:6]])


def test_a_whole_file_document_keeps_its_text_around_a_bad_byte(tmp_path):
    (tmp_path / "f.txt").write_bytes(ARABIC.encode() + b"\r\n" + TIFINAGH.encode() + b"\xe2\x80\r\n"
                                     + "café".encode("cp1252") + b"\r\n")
    assert items(tmp_path / "f.txt", document_per="file") == [
        (0, f"{ARABIC}\n{TIFINAGH}\ufffd\ncafé", None, {"encoding": "cp1252,utf-8-replace"})]
    assert items(tmp_path / "f.txt", document_per="file", on_invalid_utf8="reject")[0][2] == "invalid_utf8"
    # bytes that are mostly no text: the file is one reject with its bytes, as before
    junk = b"ab\x81\x8d cd\nxy\x81\x8d zz\nok\n"  # no cp1252 character for 0x81/0x8D, not Arabic in cp1256
    (tmp_path / "junk.txt").write_bytes(junk)
    assert items(tmp_path / "junk.txt", document_per="file") == [
        (0, junk.decode("utf-8", "replace").rstrip("\n"), "invalid_utf8", {"raw_b64": b64(junk)})]
    data, _ = _utf16_with_bad_unit()
    (tmp_path / "u.txt").write_bytes(data)
    assert items(tmp_path / "u.txt", document_per="file") == [
        (0, "\n".join([*LINES[:2], "li\ufffdne 3 salam", *LINES[3:]]), None,
         {"encoding": "utf-16-le-replace"})]
