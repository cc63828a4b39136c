"""`corpus_stats` counts a build's shards a few at a time in threads: the same totals as counting each shard
alone, and the first broken file (in sorted order) is the error, as in a plain loop."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jazari_nlp.corpus.stats import corpus_stats, shard_counts
from jazari_nlp.errors import InputError


def _shards(root: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        p = root / "train" / ("ary_Arab" if i % 2 else "zgh_Tfng") / f"{i:05d}.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        texts = [f"salam {i} " * (j + 1) for j in range(i + 1)] + ([None] if i == 3 else [])
        pq.write_table(pa.table({"text": texts, "lang": ["ary_Arab" if i % 2 else "zgh_Tfng"] * len(texts),
                                 "script": ["Arab" if i % 2 else "Tfng"] * len(texts)}), p)
        paths.append(p)
    return paths


def test_threaded_totals_equal_each_shard_counted_alone(tmp_path):
    paths = _shards(tmp_path, 7)
    stats = corpus_stats(tmp_path)
    expect: dict[str, dict[str, int]] = {}
    for p in paths:
        for key, c in shard_counts(p).items():
            row = expect.setdefault(key, dict.fromkeys(c, 0))
            for k, v in c.items():
                row[k] += v
    assert stats["by_lang_script"] == dict(sorted(expect.items()))
    assert stats["total"]["docs"] == sum(i + 1 + (i == 3) for i in range(7))


def test_first_broken_shard_is_the_error(tmp_path):
    paths = _shards(tmp_path, 6)
    paths[4].write_bytes(b"not parquet")
    paths[5].write_bytes(b"not parquet either")
    by_order = sorted(paths)
    first_broken = next(p for p in by_order if p in (paths[4], paths[5]))
    with pytest.raises(InputError, match=str(first_broken)):
        corpus_stats(tmp_path)
