"""CSV and TSV: the delimiter, the header, quoted fields over several lines, rows of the wrong width.

Example: ``table_dialect(Path("tweets.csv"), "csv", ReadOptions())`` → ``(',', None, 0)``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path

from jazari_nlp.readers.decoding import _SURROGATE, SNIFF_BYTES, decode_line, decode_wide, sniff_encoding
from jazari_nlp.readers.formats import Item, ReadError, ReadOptions, _row_item, open_binary


def table_dialect(path: Path, fmt: str, opts: ReadOptions) -> tuple[str, str | None, int]:
    """``(delimiter, encoding or None for UTF-8, BOM length)`` of a CSV/TSV file."""
    with open_binary(path) as f:
        head = f.read(SNIFF_BYTES)
    enc, bom = sniff_encoding(head)
    if opts.delimiter:
        return opts.delimiter, enc, bom
    if fmt == "tsv":
        return "\t", enc, bom
    text = head[bom:].decode(enc or "utf-8", errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")  # the header: blank lines before it skipped
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return (best if counts[best] else ","), enc, bom


def _escape_wide(e: UnicodeDecodeError) -> tuple[str, int]:
    """surrogateescape for UTF-16/32 (whose bad bytes may be < 0x80): each bad byte becomes U+DC00 + byte."""
    return "".join(chr(0xDC00 + b) for b in e.object[e.start:e.end]), e.end


codecs.register_error("jazari-escape-wide", _escape_wide)


def _csv_stream(path: Path, fmt: str, opts: ReadOptions):
    delimiter, enc, bom = table_dialect(path, fmt, opts)
    if enc == "utf-8":  # a BOM'd UTF-8 file is read like any UTF-8 file, the BOM dropped
        enc = None
    fb = open_binary(path)
    fb.read(bom)
    # the escape handlers keep bad bytes visible (as lone surrogates) so that the row they are in is decoded like
    # a txt line (legacy encodings) or rejected with its bytes, instead of ending the file there
    f = io.TextIOWrapper(fb, encoding=enc or "utf-8", errors="jazari-escape-wide" if enc else "surrogateescape",
                         newline="")
    # TSV has no quoting convention: a tweet that starts with a quote must not swallow the next rows
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    lines = _Lines(f)
    return f, csv.reader(lines, delimiter=delimiter, quoting=quoting), enc, lines


class _Lines:
    """The physical lines fed to a csv reader, counted, with the lines of the current record kept: a CSV record
    that an unterminated quote stretched over the following lines is reported by its first line and the lines
    after it are read again as rows (instead of the rest of the file becoming one rejected record)."""

    def __init__(self, f):
        self.f, self.pending, self.record, self.line = f, [], [], 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.pending.pop() if self.pending else next(self.f)
        self.record.append(line)
        self.line += 1
        return line

    def take(self) -> list[str]:
        """The lines of the record just read."""
        lines, self.record = self.record, []
        return lines

    def push_back(self, lines: list[str]) -> None:
        self.pending.extend(reversed(lines))
        self.line -= len(lines)

    def at_end(self) -> bool:
        if self.pending:
            return False
        nxt = next(self.f, None)
        if nxt is not None:
            self.pending.append(nxt)
        return nxt is None


def _header(reader) -> list[str] | None:
    """The first non-blank row of a CSV/TSV reader (a blank line above the header is not an empty header)."""
    for cells in reader:
        if any(c.strip() for c in cells):
            return cells
    return None


def _check_header(path: Path, header: list[str]) -> None:
    """A repeated column name would make one column silently hide the other: the file is refused."""
    seen, repeated = set(), []
    for h in header:
        if h in seen and h not in repeated:
            repeated.append(h)
        seen.add(h)
    if repeated:
        raise ReadError(f"{path}: its header repeats column name(s) {repeated}: rename them so each column has "
                        "its own name")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


def _csv_items(path: Path, fmt: str, opts: ReadOptions) -> Iterator[Item]:
    csv.field_size_limit(1 << 30)
    f, reader, enc, lines = _csv_stream(path, fmt, opts)
    with f:
        header = _header(reader)
        if header is None:
            return
        lines.take()
        tsv = reader.dialect.delimiter == "\t"
        header = [_unquote(h.strip()) if tsv else h.strip() for h in header]
        _check_header(path, header)
        for cells in reader:
            record = lines.take()
            n = lines.line - len(record) + 1  # the physical line the row starts on (the header is line 1)
            if not cells or not any(c.strip() for c in cells):
                continue
            raw_text = reader.dialect.delimiter.join(cells)
            # an unterminated quote ran over the next lines (to a row of the wrong width, or to the end of the
            # file): only its own line is bad, the lines after it are read again as rows
            swallowed = len(record) > 1 and (len(cells) != len(header) or (
                cells[-1].endswith(("\n", "\r")) and lines.at_end()))
            if swallowed:
                lines.push_back(record[1:])
                raw_text = record[0].rstrip("\r\n")
            if len(cells) != len(header) or swallowed:
                yield Item(_fix_escapes(raw_text, opts, enc)[0], n, error="malformed_row",
                           extra={"columns": len(cells), "header_columns": len(header)})
                continue
            row = dict(zip(header, (_unquote(c) if tsv else c for c in cells), strict=True))
            item = _row_item(row, n, opts, raw_text)
            if enc:
                item.extra["encoding"] = enc
            if item.error is None and _SURROGATE.search(item.text):
                item.text, err, extra = _fix_escapes(item.text, opts, enc)
                item.error = err
                item.extra.update(extra)
            elif item.error:
                item.text = _fix_escapes(item.text, opts, enc)[0]
            yield item


def _fix_escapes(value: str, opts: ReadOptions, enc: str | None = None) -> tuple[str, str | None, dict]:
    """Turn the escaped bytes of a CSV cell back into bytes and decode them like a txt line (a UTF-16/32 cell:
    like a line of such a file, an ``invalid_encoding`` reject with its bytes)."""
    if not _SURROGATE.search(value):
        return value, None, {}
    if enc:
        raw = b"".join(bytes([ord(c) - 0xDC00]) if "\udc00" <= c <= "\udcff" else c.encode(enc) for c in value)
        return decode_wide(raw, enc, opts.on_invalid_utf8)
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a real lone surrogate, not an escaped byte: callers drop it
        return value, None, {}
    return decode_line(raw, opts.on_invalid_utf8)
