"""The per-document bookkeeping of the corpus steps, counted per block (issue 11 item 1): the same stats (keys in
order, totals, n, min, max) as datatrove's own ``BaseFilter.run`` / ``DiskWriter.run``, the same pass-file bytes
as datatrove's JsonlWriter, rejects that read back identical, documents that still stream."""

from __future__ import annotations

import gzip
import math

import pytest

TEXTS = ["salam khoya", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "مرحبا بيك", "bonjour à tous", "", "ok ok ok", "wa fin a sahbi",
         "كيداير لاباس", "x", "ⵜⴰⵏⵎⵎⵉⵔⵜ"]


def _docs(n: int = 23):
    from datatrove.data import Document

    return [Document(text=TEXTS[i % len(TEXTS)] * (1 + i % 4), id=f"d{i}",
                     metadata={"source": f"s{i % 2}", "file": f"f{i % 3}.jsonl", "lang": "ary_Arab", "line": i})
            for i in range(n)]


def _step(batch_size: int = 1):
    from jazari_nlp.corpus.registry import CorpusStep

    class Drops(CorpusStep):
        """Keeps most documents; drops some with a reason, one without; counts its own counters."""

        def filter(self, doc):
            i = int(doc.id[1:])
            self.stat_update("seen")
            if i % 5 == 2:
                self.stat_update("long_ones", value=len(doc.text))
            if i % 7 == 3:
                return False, "too_short" if i % 2 else "bad_script"
            if i == 11:
                return False
            return True

    class Batched(Drops):
        def filter_batch(self, batch):
            self.stat_update("batch_docs", value=len(batch))
            return [self.filter(d) for d in batch]

    cls = Batched if batch_size > 1 else Drops
    cls.batch_size = batch_size
    return cls("03_drops", None)


def _fields(stats):
    """Every key of a Stats in order with its exact fields (and mean/variance for an approximate check)."""
    return [(k, v.total, v.n, v.min, v.max, v.unit, v.mean, v.variance) for k, v in stats.stats.items()]


def _same_stats(mine, ref):
    assert [f[:6] for f in _fields(mine)] == [f[:6] for f in _fields(ref)]
    for (k, *_, m1, v1), (_, *_, m2, v2) in zip(_fields(mine), _fields(ref), strict=True):
        assert math.isclose(m1, m2, rel_tol=1e-12) and math.isclose(v1, v2, rel_tol=1e-9, abs_tol=1e-12), k


@pytest.fixture(params=[1, 3], ids=["batch1", "batch3"])
def block_of_4(request, monkeypatch):
    """A block of 4 documents, so that 23 documents cross several blocks (and batches of 3 end mid-block)."""
    from jazari_nlp.corpus import passes, writers

    monkeypatch.setattr(passes, "BLOCK", 4)
    monkeypatch.setattr(writers, "BLOCK", 4)
    return request.param


def test_filter_stats_equal_datatrove_base_filter(tmp_path, block_of_4):
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    from jazari_nlp.corpus.passes import StepFilter

    runs = {}
    for kind in ("mine", "datatrove"):
        f = StepFilter(_step(block_of_4), exclusion_writer=JsonlWriter(str(tmp_path / kind), compression=None))
        run = f.run if kind == "mine" else BaseFilter.run.__get__(f)
        kept = [d.id for d in run(_docs(), rank=0)]
        runs[kind] = f, kept, (tmp_path / kind / "00000.jsonl").read_bytes()
    (mine, kept, rejects), (ref, ref_kept, ref_rejects) = runs["mine"], runs["datatrove"]
    assert kept == ref_kept and len(kept) == 23 - 4
    assert rejects == ref_rejects and rejects.count(b"filter_reason") == 3  # the drop without a reason has none
    _same_stats(mine.stats, ref.stats)
    assert mine.stats["dropped_too_short"].total + mine.stats["dropped_bad_script"].total == 3
    assert (mine.stats.time_stats.unit, mine.stats.time_stats.n) == (("block", 6) if block_of_4 == 1
                                                                     else ("batch", 8))


def test_reject_writer_counts_per_source_and_file_in_the_owner_stats(tmp_path, block_of_4):
    from jazari_nlp.corpus.common import DROP_PREFIX, FILE_DROP_PREFIX
    from jazari_nlp.corpus.passes import StepFilter
    from jazari_nlp.corpus.writers import RejectWriter

    f = StepFilter(_step(block_of_4), exclusion_writer=RejectWriter(str(tmp_path), "03_drops"))
    f.exclusion_writer.owner_stats = f.stats
    list(f.run(_docs(), rank=0))
    drops = {k: v.total for k, v in f.stats.stats.items() if k.startswith((DROP_PREFIX, FILE_DROP_PREFIX))}
    # dropped: d3 (s1, f0, too_short), d10 (s0, f1, bad_script), d11 (s1, f2, no reason), d17 (s1, f2, too_short)
    assert drops == {f"{DROP_PREFIX}s1\ttoo_short": 2, f"{FILE_DROP_PREFIX}s1\tf0.jsonl": 1,
                     f"{DROP_PREFIX}s0\tbad_script": 1, f"{FILE_DROP_PREFIX}s0\tf1.jsonl": 1,
                     f"{DROP_PREFIX}s1\tunknown": 1, f"{FILE_DROP_PREFIX}s1\tf2.jsonl": 2}
    keys = list(f.stats.stats)  # each key where datatrove's first update would have put it
    assert keys.index("dropped") < keys.index("dropped_too_short") < keys.index(f"{DROP_PREFIX}s1\ttoo_short")


def test_rejects_read_back_identical_and_gzip_level(tmp_path, block_of_4):
    import orjson

    from jazari_nlp.corpus.writers import REJECTS_GZIP_LEVEL, RejectWriter

    docs = _docs()
    docs[4].metadata["filter_reason"] = "too_short"
    with RejectWriter(str(tmp_path), "04_quality", default_reason="dup") as w:
        for d in docs:
            w.write(d, rank=0)
        adapted = [w._default_adapter(d) for d in docs]
    path = tmp_path / "04_quality" / "00000.jsonl.gz"
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[8] == (2 if REJECTS_GZIP_LEVEL == 9 else 0)  # XFL: level 6 → 0
    rows = [orjson.loads(line) for line in gzip.decompress(raw).splitlines()]
    assert rows == adapted and [r["reason"] for r in rows[3:6]] == ["dup", "too_short", "dup"]
    assert w.stats["total"].total == 23 and w.stats["doc_len"].n == 23  # its own stats, as DiskWriter.write's


def test_reject_writer_without_files_or_documents(tmp_path):
    from jazari_nlp.corpus.common import DROP_PREFIX
    from jazari_nlp.corpus.writers import RejectWriter

    with RejectWriter(str(tmp_path), "01_x", write=False) as w:  # output.write_rejects: false
        for d in _docs(3):
            w.write(d)
    assert {k: v.total for k, v in w.stats.stats.items() if k.startswith(DROP_PREFIX)} == {
        f"{DROP_PREFIX}s0\tunknown": 2, f"{DROP_PREFIX}s1\tunknown": 1}
    with RejectWriter(str(tmp_path), "02_y"):
        pass
    assert not (tmp_path / "01_x").exists() and not (tmp_path / "02_y").exists()


def test_pass_file_bytes_equal_jsonl_writer(tmp_path, block_of_4):
    import numpy as np
    from datatrove.pipeline.writers.disk_base import DiskWriter
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    from jazari_nlp.corpus.match import MATCH
    from jazari_nlp.corpus.passes import InterWriter

    docs = _docs()
    for i, d in enumerate(docs):
        d.metadata |= {MATCH: d.text.lower(), "lang_score": np.float64(0.5 + i / 100), "n": np.int64(i)}
    mine = InterWriter(str(tmp_path / "mine"), keep_match=False)
    assert [d.id for d in mine.run(iter(docs), rank=3)] == [d.id for d in docs]
    ref = JsonlWriter(str(tmp_path / "ref"), output_filename="${rank}.jsonl", compression=None,
                      adapter=lambda self, doc: mine._default_adapter(doc))
    list(DiskWriter.run(ref, iter(docs), rank=3))
    got = (tmp_path / "mine" / "00003.jsonl").read_bytes()
    assert got == (tmp_path / "ref" / "00003.jsonl").read_bytes() and got.count(b"\n") == 23
    assert MATCH.encode() not in got
    _same_stats(mine.stats, ref.stats)
    assert list(mine.stats.stats) == ["XXXXX.jsonl", "total", "doc_len"]
    list(InterWriter(str(tmp_path / "none"), keep_match=True).run(iter([]), rank=0))
    assert not (tmp_path / "none").exists()  # no documents: no file, as datatrove's writer


def test_corpus_writer_stats_and_rows_equal_datatrove_run(tmp_path, block_of_4):
    import pyarrow.parquet as pq
    from datatrove.pipeline.writers.disk_base import DiskWriter

    from jazari_nlp.corpus.writers import CorpusWriter

    def writer(name):
        return CorpusWriter(str(tmp_path / name), seed=0, heldout_fraction=0.3, max_file_size=512 << 20,
                            compression=None)

    mine, ref = writer("mine"), writer("ref")
    assert len(list(mine.run(iter(_docs()), rank=0))) == 23
    list(DiskWriter.run(ref, iter(_docs()), rank=0))
    _same_stats(mine.stats, ref.stats)
    assert mine.stats["heldout_docs"].total + mine.stats["train_docs"].total == 23
    for split in ("train", "heldout"):
        a, b = (pq.read_table(tmp_path / n / split / "ary_Arab" / "000_00000.parquet").to_pylist()
                for n in ("mine", "ref"))
        assert a == b and a


def test_filter_streams_each_document_before_reading_the_next(tmp_path):
    from jazari_nlp.corpus.passes import InterWriter, StepFilter

    pulled = []

    def source():
        for d in _docs(6):
            pulled.append(d.id)
            yield d

    f = StepFilter(_step(1))
    kept = f.run(source())
    out = InterWriter(str(tmp_path), keep_match=True).run(kept, rank=0)
    assert (next(out).id, pulled) == ("d0", ["d0"])  # through the filter and the writer before d1 is read
    out.close()  # stopped early: the line made so far is written, the counts so far are added
    kept.close()
    assert f.stats["total"].total == 1 and f.stats["forwarded"].total == 1 and f.stats["seen"].total == 1
    assert (tmp_path / "00000.jsonl").read_bytes().count(b"\n") == 1


def test_add_values_equals_updates_and_falls_back(monkeypatch):
    from datatrove.utils.stats import MetricStats

    from jazari_nlp.corpus import tally

    values = [3, 1, 4, 1, 5, 9, 2, 6]
    ref = MetricStats()
    for x in values:
        ref.update(x, "doc")
    merged = MetricStats()
    tally._add_values(merged, values[:3], "doc")
    tally._add_values(merged, values[3:], "doc")
    assert (merged.total, merged.n, merged.min, merged.max, merged.unit) == (31, 8, 1, 9, "doc")
    assert math.isclose(merged.mean, ref.mean) and math.isclose(merged.variance, ref.variance)

    def broken(self, other):
        raise TypeError("another datatrove release")

    monkeypatch.setattr(MetricStats, "__add__", broken)
    fallback = MetricStats()
    tally._add_values(fallback, values, "doc")
    tally._add_ones(fallback, 2)
    ref.update(1)
    ref.update(1)
    assert fallback == ref


def test_json_default_falls_back_without_datatrove_helper(monkeypatch):
    import datatrove.pipeline.writers.jsonl as dj

    from jazari_nlp.corpus import passes

    passes._json_default.cache_clear()
    assert passes._json_default() is dj._json_default
    monkeypatch.delattr(dj, "_json_default")
    passes._json_default.cache_clear()
    assert passes._json_default() is None
    monkeypatch.undo()
    passes._json_default.cache_clear()


def test_warm_worker_preloads_pandas_and_ftfy():
    """In a fresh interpreter (the test process may have imported them already)."""
    import importlib.util
    import json
    import subprocess
    import sys

    code = ("import json, sys; import jazari_nlp.corpus.warm_worker; "
            "print(json.dumps({m: m in sys.modules for m in ('pandas', 'ftfy')}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    installed = {m: importlib.util.find_spec(m) is not None for m in ("pandas", "ftfy")}
    assert json.loads(done.stdout.strip().splitlines()[-1]) == installed
