"""Corpus building blocks: PII patterns, quality thresholds per language, stopword lists, source formats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from jazari_nlp.corpus.config import QualityThresholds, SourceConfig
from jazari_nlp.corpus.filters import quality_reason, shipped_stopwords, thresholds_for
from jazari_nlp.corpus.pii import scrub
from jazari_nlp.corpus.sources import iter_file


@pytest.mark.parametrize("text,expected,counts", [
    ("3ayet l 0612345678 daba", "3ayet l <PHONE> daba", {"PHONE": 1}),
    ("+212 6 12 34 56 78 / 00212-7-12-34-56-78", "<PHONE> / <PHONE>", {"PHONE": 2}),
    ("fixe 05 22 12 34 56", "fixe <PHONE>", {"PHONE": 1}),
    ("mail: ana.smiti+x@exemple.ma", "mail: <EMAIL>", {"EMAIL": 1}),
    ("CIN BK123456 w A12345", "CIN <CIN> w <CIN>", {"CIN": 2}),
    ("IBAN MA64 0115 1900 0001 2050 0053 4921", "IBAN <IBAN>", {"IBAN": 1}),
    ("RIB 011780000012345678901234", "RIB <IBAN>", {"IBAN": 1}),
    ("server 192.168.1.20 ok", "server <IP> ok", {"IP": 1}),
    ("l3am 2024, 150 dh, 12345", "l3am 2024, 150 dh, 12345", {}),
])
def test_pii_placeholders(text, expected, counts):
    assert scrub(text) == (expected, counts)


def test_thresholds_per_language_start_from_fineweb2():
    d = QualityThresholds()
    ary = thresholds_for("ary_Arab", d, {})
    assert ary.dup_line_frac == 0.355 and ary.max_avg_word_length == 7 and ary.min_line_punct_ratio == 0.111
    zgh = thresholds_for("tzm_Tfng", d, {})  # alias of zgh_Tfng
    assert zgh.top_n_grams == [] and zgh.min_alpha_words_ratio == 0.913
    over = thresholds_for("ary_Arab", d, {"ary_Arab": {"min_words": 5}})
    assert over.min_words == 5 and over.dup_line_frac == 0.355
    assert thresholds_for("xyz_Latn", d, {}) == d


def test_stopword_lists_ship_for_each_language():
    for lang, word in (("ary_Arab", "ديال"), ("arb_Arab", "الذي"), ("zgh_Tfng", "ⴷ"), ("tzm_Latn", "deg"),
                       ("kab_Latn", "deg"), ("ary_Latn", "dyal"), ("fra_Latn", "les")):
        assert word in shipped_stopwords(lang)
    assert shipped_stopwords("eng_Latn") == frozenset()


def test_quality_reasons_exact():
    t = QualityThresholds(min_words=3, min_stop_words=1, min_line_punct_ratio=None, top_n_grams=[])
    assert quality_reason("a b", t, None) == "quality_too_few_words"
    assert quality_reason("abc def ghi jkl", t, frozenset({"dyal"})) == "quality_few_stopwords"
    assert quality_reason("abc dyal ghi jkl", t, frozenset({"dyal"})) is None
    assert quality_reason("abcdefghijklmno pqrstuvwxyzabc defghijklmnop", t, None) == "quality_long_words"
    assert quality_reason("## abc ## def ## ghi", t, None) == "quality_symbol_ratio"


def _src(**kw) -> SourceConfig:
    return SourceConfig.model_validate({"name": "s", "paths": [], "hub": "x", **kw})


def test_formats_txt_jsonl_gz_zst_parquet_csv_tsv_wet(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    (tmp_path / "a.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    assert [r["text"] for r in iter_file(_src(), tmp_path / "a.txt")] == ["one", "two"]
    assert [r["text"] for r in iter_file(_src(document_per="paragraph"), tmp_path / "a.txt")] == ["one", "two"]
    assert [r["text"] for r in iter_file(_src(document_per="file"), tmp_path / "a.txt")] == ["one\n\ntwo"]
    lines = json.dumps({"body": "x", "k": 7}) + "\n"
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write(lines)
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    for name in ("b.jsonl.gz", "c.jsonl.zst"):
        (rec,) = iter_file(_src(text_field="body", id_field="k"), tmp_path / name)
        assert (rec["text"], rec["id"]) == ("x", "s:7")
    pq.write_table(pa.table({"text": ["p1", None], "lang": ["a", "b"]}), tmp_path / "d.parquet")
    recs = list(iter_file(_src(), tmp_path / "d.parquet"))
    assert recs[0]["text"] == "p1" and recs[1]["metadata"]["_read_error"] == "missing_text_field"
    (tmp_path / "e.tsv").write_text("id\ttext\n1\ttab text\n", encoding="utf-8")
    (tmp_path / "f.csv").write_bytes(b"text\nok\nbad \xff byte\n")
    assert [r["text"] for r in iter_file(_src(), tmp_path / "e.tsv")] == ["tab text"]
    recs = list(iter_file(_src(), tmp_path / "f.csv"))
    assert recs[0]["text"] == "ok" and recs[1]["metadata"]["_read_error"] == "invalid_utf8"
    body = "ⴰⵣⵓⵍ salam".encode()
    wet = (b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n"
           b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:1>\r\nContent-Length: "
           + str(len(body)).encode() + b"\r\n\r\n" + body + b"\r\n\r\n")
    with gzip.open(tmp_path / "g.warc.wet.gz", "wb") as f:
        f.write(wet)
    (rec,) = iter_file(_src(), tmp_path / "g.warc.wet.gz")
    assert (rec["text"], rec["id"]) == ("ⴰⵣⵓⵍ salam", "urn:uuid:1")


def test_save_to_disk_folder(tmp_path: Path):
    import datasets

    datasets.Dataset.from_dict({"text": ["x1", "x2"]}).save_to_disk(str(tmp_path / "ds"))
    assert [r["text"] for r in iter_file(_src(), tmp_path / "ds")] == ["x1", "x2"]
