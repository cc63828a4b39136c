"""Read documents from local txt, jsonl and parquet files (for stages that take ``files:`` directly).

The corpus stage has the full readers (with rejects); this is the small reader the tokenizer and eval stages
use when pointed at files, and for iterating over the corpus stage's parquet shards.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("jazari_nlp.textio")


def iter_texts(files: list[Path], text_field: str = "text", limit: int | None = None) -> Iterator[str]:
    """Yield non-empty texts: one per line of .txt, per JSON line of .jsonl(.gz), per row of .parquet.

    Example: ``list(iter_texts([Path("a.txt")], limit=10))``
    """
    n = 0
    for path in files:
        for text in _iter_file(path, text_field):
            if not text or not text.strip():
                continue
            yield text
            n += 1
            if limit is not None and n >= limit:
                return


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


def _iter_file(path: Path, text_field: str) -> Iterator[str]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        for row in iter_rows([path], [text_field]):
            value = row[text_field]
            if isinstance(value, str):
                yield value
        return
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        if ".jsonl" in name or ".json" in name:
            unusable = 0
            for line in fh:
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                value = obj.get(text_field) if isinstance(obj, dict) else None
                if isinstance(value, str):
                    yield value
                elif line.strip():
                    unusable += 1
            if unusable:  # said, not silently dropped; the corpus stage keeps such lines in rejects/
                log.warning("%s: %d lines skipped (not JSON, or no string %r field)", path, unusable, text_field)
        else:
            for line in fh:
                yield line.rstrip("\n")
