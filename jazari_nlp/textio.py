"""Texts and rows for the stages that take ``files:`` directly (tokenizer, train, eval) and for the corpus
stage's parquet shards. Every format goes through :mod:`jazari_nlp.readers`, the project's one reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jazari_nlp.readers import iter_texts  # noqa: F401 - the stages' text reader lives in readers/


def iter_rows(files: list[Path], columns: list[str]) -> Iterator[dict]:
    """Yield dict rows with the given columns from parquet files (missing columns come back as None)."""
    import pyarrow.parquet as pq

    for path in files:
        pf = pq.ParquetFile(path)
        have = [c for c in columns if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(columns=have, batch_size=1024):
            data = batch.to_pydict()
            for i in range(batch.num_rows):
                yield {c: (data[c][i] if c in data else None) for c in columns}
