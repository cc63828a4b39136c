"""One reader for every input format, used everywhere a file is read.

txt, JSONL (and a ``.json`` array), CSV/TSV (header, quoting, delimiter), parquet, ``save_to_disk`` folders,
WARC/WET, folders (read recursively) and globs. The corpus builder, the ``files:`` of the tokenizer, train and
eval stages, decontamination and the text commands all read through :func:`iter_items`, with one error policy:

- a record that cannot be used (malformed JSON, bytes that are no known encoding, no text field, a CSV row with
  the wrong number of columns) is an :class:`Item` with ``error`` set, never skipped silently; the caller
  counts it, writes it to rejects or reports it;
- a file that fails part-way (truncated gzip, corrupt parquet) ends with one ``unreadable_file`` item;
- encodings: UTF-8 (with or without BOM); UTF-16/UTF-32 detected from the BOM or the NUL pattern; lines that are
  not UTF-8 are decoded as Windows-1256 (Arabic) or Windows-1252 when that is clean, else rejected with their
  bytes kept (``extra["raw_b64"]``); CR-only line endings (old Mac files) are split like ``\\n``.

:func:`check_fields` reads a file's header (or first rows) so that a ``text_field`` the file does not have is a
config error before any work starts.

The modules, each importing only the ones above it: ``formats`` (options, records, formats, inputs),
``decoding`` (encodings, lines), ``tables`` (CSV/TSV), ``records`` (every format: :func:`iter_items`),
``ranges`` (byte ranges of big line-based files), ``checks`` (fields before work, :func:`iter_texts`). Import
from ``jazari_nlp.readers``: every name below stays here.

Example::

    for item in iter_items(Path("tweets.csv"), ReadOptions(text_field="tweet")):
        if item.error is None:
            print(item.line, item.text)
"""

from __future__ import annotations

from jazari_nlp.readers.checks import (
    ReadReport,
    _guess_text_field,  # noqa: F401 - used by the text commands
    check_fields,
    file_fields,
    files_field_problems,
    iter_texts,
)
from jazari_nlp.readers.decoding import (
    _SURROGATE,
    LEGACY_ENCODINGS,
    SNIFF_BYTES,
    binary_lines,
    decode_line,
    legacy_encoding,
    sniff_encoding,
    text_lines,
)
from jazari_nlp.readers.formats import (
    COMPRESSED_SUFFIXES,
    EXT_FORMATS,
    TABLE_FORMATS,
    Item,
    ReadError,
    ReadOptions,
    _row_item,
    detect_format,
    expand_inputs,
    format_of,
    is_compressed,
    is_dataset_folder,
    open_binary,
    strip_compression,
)
from jazari_nlp.readers.ranges import ByteRange, cut_ranges, line_range, range_lines
from jazari_nlp.readers.records import iter_items, loads_json
from jazari_nlp.readers.tables import table_dialect

__all__ = [
    "COMPRESSED_SUFFIXES", "EXT_FORMATS", "LEGACY_ENCODINGS", "SNIFF_BYTES", "TABLE_FORMATS", "_SURROGATE", "ByteRange", "Item", "ReadError",
    "ReadOptions", "ReadReport", "_row_item", "binary_lines", "check_fields", "cut_ranges", "decode_line",
    "detect_format", "expand_inputs", "file_fields", "files_field_problems", "format_of", "is_compressed", "is_dataset_folder",
    "iter_items", "iter_texts", "legacy_encoding", "line_range", "loads_json", "open_binary", "range_lines",
    "sniff_encoding", "strip_compression", "table_dialect", "text_lines",
]
