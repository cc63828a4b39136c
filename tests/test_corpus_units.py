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
        assert (rec["text"], rec["id"]) == ("x", "7")
    pq.write_table(pa.table({"text": ["p1", None], "lang": ["a", "b"]}), tmp_path / "d.parquet")
    recs = list(iter_file(_src(), tmp_path / "d.parquet"))
    assert recs[0]["text"] == "p1" and recs[1]["metadata"]["_read_error"] == "missing_text_field"
    (tmp_path / "e.tsv").write_text("id\ttext\n1\ttab text\n", encoding="utf-8")
    (tmp_path / "f.csv").write_bytes(b"text\nok\nbad \xff byte\n")
    assert [r["text"] for r in iter_file(_src(), tmp_path / "e.tsv")] == ["tab text"]
    recs = list(iter_file(_src(), tmp_path / "f.csv"))  # on_invalid_utf8: decode (default) → cp1252 "ÿ"
    assert [(r["text"], r["metadata"].get("encoding")) for r in recs] == [("ok", None), ("bad ÿ byte", "cp1252")]
    recs = list(iter_file(_src(on_invalid_utf8="reject"), tmp_path / "f.csv"))
    assert recs[0]["text"] == "ok" and recs[1]["metadata"]["_read_error"] == "invalid_utf8"
    assert recs[1]["metadata"]["raw_b64"] == "YmFkIP8gYnl0ZQ=="  # base64 of b"bad \xff byte"
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


# ------------------------------------------------------------------ speed-ups must not change any result

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# a tiny vocabulary makes repeats likely, and "ab"+"c" == "a"+"bc" exercises datatrove's join-without-space
_WORDS = st.lists(st.sampled_from(["a", "b", "ab", "c", "bc", "ⴰ", "سلام"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_WORDS)
def test_repetition_counts_equal_datatrove(words):
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_top_duplicate,
        get_n_grams,
    )

    from jazari_nlp.corpus.filters import _DupNgrams, top_ngram_chars

    dups = _DupNgrams(words)
    for n in range(5, 11):
        if len(words) >= n:
            assert dups.chars(n) == find_all_duplicate(words, n)
    for n in (2, 3, 4):
        grams = get_n_grams(words, n)
        assert top_ngram_chars(words, n) == (find_top_duplicate(grams) if grams else 0)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789٣٤۵²³①⑽½ab سxⅫ"), max_size=40))
def test_digit_count_is_str_isdigit(text):
    from jazari_nlp.corpus.filters import _digit_re

    assert len(_digit_re().findall(text)) == sum(c.isdigit() for c in text)


def _mojibake_alphabet() -> str:
    from ftfy.badness import BADNESS_RE

    return "".join(sorted({c for c in BADNESS_RE.pattern if ord(c) >= 0x80})) + "ab Z.,!?\n" + "ÃÂ©€ⴰسé\x85"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_mojibake_alphabet()), max_size=12))
def test_mojibake_hint_never_hides_bad_text(text):
    from ftfy.badness import is_bad

    from jazari_nlp.corpus.steps import _mojibake_hint

    if is_bad(text):
        assert _mojibake_hint().search(text)


def test_mojibake_hint_skips_clean_scripts_and_catches_mojibake():
    from jazari_nlp.corpus.steps import _mojibake_hint

    for clean in ("ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "واش نتا مزيان؟", "wach nta mzyan, 3la slama!"):
        assert _mojibake_hint().search(clean) is None
    assert _mojibake_hint().search("le cafÃ© est prÃªt")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0612345789 .-+@:abMAcdef\n"), max_size=60))
def test_pii_prefilter_gives_the_same_result(text):
    from jazari_nlp.corpus.pii import PATTERNS, PLACEHOLDERS

    expected, counts = text, {}
    for kind, rx in PATTERNS.items():  # every pattern, unconditionally
        expected, n = rx.subn(PLACEHOLDERS[kind], expected)
        if n:
            counts[kind] = n
    assert scrub(text) == (expected, counts)


def test_match_text_computed_once_and_recomputed_when_text_changes(monkeypatch):
    from datatrove.data import Document

    from jazari_nlp.corpus import match, steps

    calls = []
    real = match.normalize
    monkeypatch.setattr(match, "normalize", lambda t, p="train": calls.append(p) or real(t, p))
    doc = Document(text="Salam, LABAS?", id="1")
    assert steps.match_text(doc) == steps.match_text(doc) == steps.key_match(doc) == "salam labas"
    assert calls == ["match"]
    doc.text = "wach nta mzyan"  # e.g. the pii step rewrote it
    assert steps.match_text(doc) == "wach nta mzyan" and calls == ["match", "match"]
    # carried to the next pass, dropped when no later step needs it, never in rejects
    assert steps.InterWriter("/tmp/x", keep_match=True)._default_adapter(doc)["metadata"]["_match"]
    assert "_match" not in steps.InterWriter("/tmp/x", keep_match=False)._default_adapter(doc)["metadata"]
    rej = steps.RejectWriter("/tmp/x", "01_x")._default_adapter(doc)
    assert not any(k.startswith("_match") for k in rej["metadata"])


def test_byte_ranges_read_every_line_once_with_the_same_ids(tmp_path: Path):
    import random

    rng = random.Random(3)
    lines = [json.dumps({"text": f"doc {i} " + "ⴰx" * rng.randrange(40)}, ensure_ascii=False) for i in range(400)]
    lines[7] = lines[50] = ""  # blank lines are skipped but still counted in the ids
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("\n".join(lines), encoding="utf-8")  # no final newline
    for name in ("a.jsonl", "a.txt"):
        path = tmp_path / name
        whole = list(iter_file(_src(), path))
        size = path.stat().st_size
        newline_at = path.read_bytes().index(b"\n", size // 3)
        for cuts in ([size // 2], [1, 2, 3, size - 1], [newline_at, newline_at + 1],
                     sorted(rng.sample(range(1, size), 9))):
            bounds = [0, *cuts, size]
            pieces = [r for a, b in zip(bounds, bounds[1:], strict=False)
                      for r in iter_file(_src(), path, byte_range=(a, b))]
            assert pieces == whole, (name, cuts)
        assert [r["id"] for r in whole[6:8]] == [f"s/{name}:6", f"s/{name}:8"]


def test_work_pieces_cut_only_big_line_files(tmp_path: Path, monkeypatch):
    from jazari_nlp.corpus import sources

    monkeypatch.setattr(sources, "SPLIT_MIN_BYTES", 100)
    (tmp_path / "big.jsonl").write_bytes(b'{"text": "x"}\n' * 100)  # 1,400 bytes
    (tmp_path / "small.jsonl").write_bytes(b'{"text": "y"}\n' * 10)  # 140 bytes
    with gzip.open(tmp_path / "big.jsonl.gz", "wb") as f:
        f.write(b'{"text": "z"}\n' * 3000)
    src = SourceConfig.model_validate({"name": "s", "paths": ["*"]}, context={"base_dir": tmp_path})
    units = [(0, str(tmp_path / n)) for n in ("big.jsonl", "small.jsonl", "big.jsonl.gz")]
    total = sum((tmp_path / n).stat().st_size for _, n in [(0, "big.jsonl"), (0, "small.jsonl"), (0, "big.jsonl.gz")])
    pieces = sources.work_pieces([src], units, world_size=2)
    target = -(-total // 2)
    big = [r for u, r in pieces if u == 0]
    assert len(big) == -(-1400 // target) and big[0][0] == 0 and big[-1][1] == 1400
    assert (1, None) in pieces and (2, None) in pieces  # small file whole, compressed file never cut
    assert sources.work_pieces([src], units, world_size=1) == [(0, None), (1, None), (2, None)]
