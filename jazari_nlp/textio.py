"""Texts and rows for the stages that take ``files:`` directly (tokenizer, train, eval) and for the corpus
stage's parquet shards. Every format goes through :mod:`jazari_nlp.readers`, the project's one reader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("jazari_nlp.textio")


def iter_texts(files: list[Path], text_field: str = "text", limit: int | None = None, what: str = "input") -> Iterator[str]:
    """Non-empty texts of txt/JSONL/CSV/TSV/parquet files (and folders), read by :mod:`jazari_nlp.readers`:
    unusable records are logged per file with their reasons, and a ``ReadError`` says so when not one record
    is usable (a wrong ``text_field``), instead of an empty stream.

    Example: ``list(iter_texts([Path("a.tsv")], text_field="sentence", limit=10))``
    """
    from jazari_nlp.readers import iter_texts as _iter_texts

    yield from _iter_texts(files, text_field, limit, what=what)


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
