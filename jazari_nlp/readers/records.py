"""The records of one file of any format: :func:`iter_items`, bad records included.

Example::

    for item in iter_items(Path("tweets.csv"), ReadOptions(text_field="tweet")):
        if item.error is None:
            print(item.line, item.text)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jazari_nlp.readers.decoding import (
    SNIFF_BYTES,
    _whole_text,
    decode_line,
    sniff_encoding,
    text_lines,
    text_paragraphs,
)
from jazari_nlp.readers.formats import (
    Item,
    ReadError,
    ReadOptions,
    _row_item,
    format_of,
    open_binary,
    strip_compression,
)
from jazari_nlp.readers.tables import _csv_items


def loads_json(text: str) -> Any:
    """orjson, else the standard library: orjson refuses escaped lone surrogates (``"a\\ud800b"``, common in
    scraped tweets) that ``json`` reads; callers remove them. Raises ValueError if neither can."""
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _jsonl_items(path: Path, opts: ReadOptions, lines=None) -> Iterator[Item]:
    lines = text_lines(path, opts) if lines is None else lines
    for n, text, err, extra in lines:
        if err:
            yield Item(text, n, error=err, extra=extra)
            continue
        try:
            row = loads_json(text)
        except (ValueError, RecursionError):
            yield Item(text, n, error="malformed_json", extra=extra)
            continue
        item = _row_item(row, n, opts, text)
        item.extra.update(extra)
        yield item


def _json_array(path: Path) -> list | None:
    """The rows of a ``.json`` file holding one JSON array (None when it is JSON lines)."""
    if not strip_compression(path.name.lower()).endswith(".json"):
        return None
    with open_binary(path) as f:
        head = f.read(SNIFF_BYTES)
        enc, bom = sniff_encoding(head)  # a UTF-16 .json too
        start = head[bom:bom + 256].decode(enc or "latin-1", errors="replace")
        if not start.lstrip(" \t\r\n").startswith("["):
            return None
        data = head + f.read()
    value = loads_json(data[bom:].decode(enc or "utf-8"))
    return value if isinstance(value, list) else None



def _parquet_items(path: Path, opts: ReadOptions) -> Iterator[Item]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    want = None if opts.keep_fields == ("*",) else [
        c for c in dict.fromkeys([opts.text_field, opts.id_field, *opts.keep_fields]) if c and c in names]
    n = 0
    for batch in pf.iter_batches(batch_size=1000, columns=want):
        for row in batch.to_pylist():
            n += 1
            yield _row_item(row, n, opts, json.dumps(row, ensure_ascii=False, default=str))


def _arrow_items(path: Path, opts: ReadOptions) -> Iterator[Item]:
    import datasets

    ds = datasets.load_from_disk(str(path))
    splits = [ds[k] for k in sorted(ds)] if isinstance(ds, datasets.DatasetDict) else [ds]
    n = 0
    for split in splits:
        for row in split:
            n += 1
            yield _row_item(row, n, opts, json.dumps(row, ensure_ascii=False, default=str))


def _txt_items(path: Path, opts: ReadOptions, lines=None) -> Iterator[Item]:
    if opts.document_per == "line":
        for n, text, err, extra in (text_lines(path, opts) if lines is None else lines):
            yield Item(text, n, error=err, extra=extra)
        return
    if opts.document_per == "paragraph":
        for n, text, err, extra in text_paragraphs(path, opts):
            yield Item(text, n, error=err, extra=extra)
        return
    text, err, extra = _whole_text(path, opts)
    if err or text.strip():
        yield Item(text.rstrip("\n"), 0, error=err, extra=extra)


def _warc_items(path: Path, opts: ReadOptions) -> Iterator[Item]:
    for i, (headers, payload) in enumerate(_warc_records(path), 1):
        kind = headers.get("warc-type", "")
        own = headers.get("warc-record-id", "").strip("<>") or None
        if kind == "conversion":  # WET: already plain text
            text, err, extra = decode_line(payload, opts.on_invalid_utf8)
            yield Item(text, i, own, error=err, extra=extra)
        elif kind == "response":  # WARC: HTTP response, extract the main text of HTML pages
            _, _, body = payload.partition(b"\r\n\r\n")
            html, err, extra = decode_line(body, opts.on_invalid_utf8)
            if err:
                yield Item(html, i, own, error=err, extra=extra)
                continue
            import trafilatura

            text = trafilatura.extract(html, favor_precision=True, include_comments=False) or ""
            yield Item(text, i, own, error=None if text.strip() else "no_extractable_text", extra=extra)


def _warc_records(path: Path) -> Iterator[tuple[dict[str, str], bytes]]:
    """Minimal WARC/WET record parser (headers, payload); gzip members are handled by open_binary."""
    with open_binary(path) as f:
        while True:
            line = f.readline()
            if not line:
                return
            if not line.startswith(b"WARC/"):
                continue
            headers: dict[str, str] = {}
            for hline in iter(f.readline, b""):
                if hline in (b"\r\n", b"\n"):
                    break
                k, _, v = hline.decode("utf-8", "replace").partition(":")
                headers[k.strip().lower()] = v.strip()
            yield headers, f.read(int(headers.get("content-length", "0") or 0))


def _items(path: Path, opts: ReadOptions, lines=None) -> Iterator[Item]:
    fmt = format_of(path, opts)
    if lines is None and path.is_file() and path.stat().st_size == 0:
        return  # a 0-byte file has no record in any format (a 0-byte .parquet is not a broken one)
    if fmt == "txt":
        yield from _txt_items(path, opts, lines)
    elif fmt == "jsonl":
        rows = _json_array(path) if lines is None else None
        if rows is not None:
            for n, row in enumerate(rows, 1):
                yield _row_item(row, n, opts, json.dumps(row, ensure_ascii=False, default=str))
        else:
            yield from _jsonl_items(path, opts, lines)
    elif fmt in ("csv", "tsv"):
        yield from _csv_items(path, fmt, opts)
    elif fmt == "parquet":
        yield from _parquet_items(path, opts)
    elif fmt == "arrow":
        yield from _arrow_items(path, opts)
    elif fmt in ("warc", "wet"):
        yield from _warc_items(path, opts)
    else:
        raise ReadError(f"format {fmt!r} is not a file format")


def iter_items(path: Path, opts: ReadOptions = ReadOptions(), lines=None) -> Iterator[Item]:
    """Every record of one file, bad ones included (``error`` set); a file that fails part-way ends with one
    ``unreadable_file`` item (``extra``: error, records_read_before) and no exception. ``lines``: pre-split
    ``(line number, text, error, extra)`` tuples of a byte range of a txt/jsonl file (corpus work splitting)."""
    n = 0
    try:
        for item in _items(Path(path), opts, lines):
            yield item
            n += 1
    except Exception as e:  # noqa: BLE001 - any reader failure (EOFError, ArrowInvalid, OSError...) is per-file
        yield Item("", 0, error="unreadable_file",
                   extra={"error": f"{type(e).__name__}: {e}"[:2000], "records_read_before": n})
