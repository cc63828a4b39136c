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

Example::

    for item in iter_items(Path("tweets.csv"), ReadOptions(text_field="tweet")):
        if item.error is None:
            print(item.line, item.text)
"""

from __future__ import annotations

import base64
import codecs
import csv
import glob
import gzip
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

EXT_FORMATS = {
    ".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".warc": "warc", ".wet": "wet", ".arrow": "arrow",
}
TABLE_FORMATS = ("jsonl", "parquet", "csv", "tsv", "arrow")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_SURROGATE = re.compile("[\ud800-\udfff]")
# cp1252 first: where both give the same text (French "café"), cp1252 is the honest name; Arabic text decoded
# as cp1256 is never what cp1252 gives.
LEGACY_ENCODINGS = ("cp1252", "cp1256", "latin-1")
SNIFF_BYTES = 1 << 16


class ReadError(InputError):
    """An input that cannot be used at all (no usable record, unknown format, missing field)."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file. ``keep_fields=("*",)`` keeps every field of a row (the text commands use it)."""

    format: str = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    keep_fields: tuple[str, ...] = ()
    document_per: str = "line"  # txt: line | paragraph | file
    on_invalid_utf8: str = "decode"  # decode | reject | replace
    delimiter: str | None = None  # csv: sniffed among , ; TAB | when None


@dataclass
class Item:
    """One record of a file. ``line``: 1-based line of a txt/jsonl file, 1-based row of a table (the header of a
    CSV is line 1, so its first row is 2), 0 for a whole-file record. ``text`` holds the raw line or row when
    ``error`` is set, so a reject keeps what was read."""

    text: str
    line: int
    id: str | None = None
    error: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ formats


def detect_format(path: Path, default: str | None = None) -> str:
    """Format from the extension, compression suffix stripped (``x.jsonl.zst`` → ``jsonl``); a folder is a
    ``save_to_disk`` data set (``arrow``)."""
    if path.is_dir():
        return "arrow"
    name = path.name.lower()
    for comp in (".gz", ".zst", ".zstd"):
        name = name.removesuffix(comp)
    if name.endswith(".warc.wet") or name.endswith(".wet"):
        return "wet"
    ext = os.path.splitext(name)[1]
    if ext not in EXT_FORMATS:
        if default is not None:
            return default
        raise ReadError(f"cannot tell the format of {path} from its extension "
                        f"(known: {', '.join(sorted(EXT_FORMATS))}, .wet); set `format:`")
    return EXT_FORMATS[ext]


def is_dataset_folder(path: Path) -> bool:
    """A folder written by ``datasets.save_to_disk`` (read as one ``arrow`` input, not file by file)."""
    return path.is_dir() and any((path / n).is_file() for n in ("dataset_info.json", "dataset_dict.json", "state.json"))


def expand_inputs(patterns: Iterable[str | Path]) -> tuple[list[Path], list[str], list[str]]:
    """``(inputs, patterns that matched nothing, notes)``. A plain folder is read recursively: its files of a
    known format, sorted (hidden files skipped; files of other extensions are named in ``notes``); a
    ``save_to_disk`` folder is one input. Example: ``expand_inputs(["data/"])``."""
    out: list[Path] = []
    seen: set[str] = set()
    empty: list[str] = []
    notes: list[str] = []

    def add(p: Path) -> None:
        key = str(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    for pat in map(str, patterns):
        # a path that exists is itself, even when its name has glob characters ("tweets [2023].csv")
        matches = sorted(glob.glob(pat, recursive=True)) if set("*?[") & set(pat) and not os.path.exists(pat) else [pat]
        found = False
        for m in matches:
            p = Path(m)
            if p.is_file():
                add(p)
                found = True
            elif is_dataset_folder(p):
                add(p)
                found = True
            elif p.is_dir():
                skipped = []
                for sub in sorted(p.rglob("*")):
                    if any(part.startswith(".") for part in sub.relative_to(p).parts) or not sub.is_file():
                        continue
                    if detect_format(sub, default="") == "":
                        skipped.append(sub.name)
                        continue
                    add(sub)
                    found = True
                if skipped:
                    notes.append(f"{p}: {len(skipped)} file(s) of unknown format not read "
                                 f"({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''})")
        if not found:
            empty.append(pat)
    return out, empty, notes


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file for binary reading, decompressing .gz and .zst transparently."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith((".zst", ".zstd")):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


# ------------------------------------------------------------------------------------------------ encodings


def sniff_encoding(head: bytes) -> tuple[str | None, int]:
    """``(encoding, BOM length)`` for UTF-16/32 and BOM'd UTF-8, ``(None, 0)`` for plain bytes (UTF-8 or a
    legacy single-byte encoding, decided line by line). UTF-16 without a BOM is recognised by its NULs: every
    other byte of ASCII-range text, or the NULs of the spaces of Arabic/Tifinagh text. Example: ``sniff_encoding("hi".encode("utf-16"))`` → ``('utf-16-le', 2)``."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                     (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return enc, len(bom)
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be", 0
    return _wide_non_latin(sample), 0


# the low byte of a UTF-16 code unit U+0000-U+00FF that text holds: tab, newlines, printable ASCII and Latin-1
_TEXT_LOW_BYTES = frozenset([9, 10, 13, *range(0x20, 0x7F), *range(0xA0, 0x100)])


def _wide_non_latin(sample: bytes) -> str | None:
    """UTF-16 without a BOM of Arabic or Tifinagh text: few NULs (only its spaces, digits and newlines), all on
    the same side of the code units, each beside a text byte; the other units in one Unicode block; and the bytes
    decode to text with spaces in it (a stray NUL in UTF-8 text decodes to CJK-like characters without spaces;
    binary fails the other tests)."""
    if b"\x00" not in sample or len(sample) < 4:
        return None
    for enc, nul_side in (("utf-16-le", 1), ("utf-16-be", 0)):
        units = range(0, len(sample) - 1, 2)
        if any(sample[i + 1 - nul_side] == 0 for i in units):  # a NUL on the other side: not this encoding
            continue
        if any(sample[i + nul_side] == 0 and sample[i + 1 - nul_side] not in _TEXT_LOW_BYTES for i in units):
            continue
        # the high bytes of the other units name one block (06 Arabic, 2D Tifinagh): misread UTF-8 or binary
        # bytes vary
        high = [b for b in sample[nul_side::2] if b]
        if len(high) < 3 or max(map(high.count, set(high))) < 0.8 * len(high):
            continue
        data = sample[: len(sample) - len(sample) % 2]
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as e:  # the sample may end inside a surrogate pair
            if e.start < len(data) - 4:
                continue
            text = data[: e.start].decode(enc)
        spaces = sum(c.isspace() for c in text)
        # private-use or unassigned code points: random bytes, not writing
        odd = sum(unicodedata.category(c) in ("Co", "Cn") for c in text)
        if text and spaces >= max(1, 0.05 * len(text)) and not odd and not _looks_binary(text):
            return enc
    return None


def legacy_encoding(raw: bytes, text: str) -> str | None:
    """Which single-byte encoding turned ``raw`` into ``text`` (None: none of LEGACY_ENCODINGS did)."""
    for enc in LEGACY_ENCODINGS:
        if raw.decode(enc, errors="replace") == text:
            return enc
    return None


def decode_line(raw: bytes, policy: str = "decode") -> tuple[str, str | None, dict]:
    """``(text, error or None, extra)`` for the bytes of one record. Valid UTF-8 passes untouched (no extra);
    NUL bytes mean binary (or UTF-16 pieces), never text. ``policy``: decode (legacy encodings when clean),
    reject, replace (U+FFFD)."""
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8"), None, {}
        except UnicodeDecodeError:
            pass
        if policy == "decode":
            from jazari_nlp.text.normalize import decode_bytes

            text = decode_bytes(raw)
            enc = legacy_encoding(raw, text)
            if enc is not None and "\ufffd" not in text and not _looks_binary(text):
                return text, None, {"encoding": enc}
    text = raw.decode("utf-8", errors="replace")
    if policy == "replace" and b"\x00" not in raw:
        return text, None, {"encoding": "utf-8-replace"}
    error = "binary_data" if b"\x00" in raw or _looks_binary(text) else "invalid_utf8"
    return text.replace("\x00", ""), error, {"raw_b64": base64.b64encode(raw).decode("ascii")}


_BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    """Control characters in more than 5% of the text: bytes of a binary file, not writing."""
    return len(_BINARY.findall(text[:4096])) > 0.05 * max(1, len(text[:4096]))


# ------------------------------------------------------------------------------------------------ lines


def _split_stream(f, sep: bytes) -> Iterator[bytes]:
    buf = b""
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(sep)
        yield from lines
    if buf:
        yield buf


def binary_lines(f, head: bytes) -> Iterator[bytes]:
    """Lines of a binary stream (without their ending): ``\\n`` / ``\\r\\n``, or ``\\r`` when the file has no
    ``\\n`` at all in its first 64 KB but has ``\\r`` (old Mac line endings)."""
    if b"\r" in head and b"\n" not in head:
        yield from _split_stream(f, b"\r")
        return
    for line in f:
        yield line.rstrip(b"\r\n")


def text_lines(path: Path, opts: ReadOptions) -> Iterator[tuple[int, str, str | None, dict]]:
    """``(1-based line number, text, error, extra)`` for every non-blank line of a line-based file."""
    with open_binary(path) as f:
        head = f.peek(SNIFF_BYTES)[:SNIFF_BYTES] if hasattr(f, "peek") else b""
        enc, bom = sniff_encoding(head)
        if enc is not None:
            yield from _wide_lines(f.read()[bom:], enc)
            return
        for n, raw in enumerate(binary_lines(f, head), 1):
            if raw.strip():
                text, err, extra = decode_line(raw, opts.on_invalid_utf8)
                yield n, text, err, extra


def _wide_lines(data: bytes, enc: str) -> Iterator[tuple[int, str, str | None, dict]]:
    """Lines of a UTF-16/32 (or BOM'd UTF-8) file; bytes after the first undecodable one are one
    ``invalid_encoding`` record with the bytes kept (a UTF-16 file is read whole: such files are small)."""
    try:
        text, bad = data.decode(enc), b""
    except UnicodeDecodeError as e:
        text, bad = data[: e.start].decode(enc), data[e.start:]
    extra = {"encoding": enc} if enc != "utf-8" else {}
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if line.strip():
            yield n, line, None, dict(extra)
    if bad:
        yield (len(lines) + 1, bad.decode(enc, errors="replace"), "invalid_encoding",
               {"encoding": enc, "raw_b64": base64.b64encode(bad).decode("ascii")})


def _whole_text(path: Path, opts: ReadOptions) -> tuple[str, str | None, dict]:
    with open_binary(path) as f:
        data = f.read()
    enc, bom = sniff_encoding(data[:SNIFF_BYTES])
    if enc is not None:
        return data[bom:].decode(enc), None, {"encoding": enc} if enc != "utf-8" else {}
    text, err, extra = decode_line(data, opts.on_invalid_utf8)
    return text.replace("\r\n", "\n").replace("\r", "\n"), err, extra


# ------------------------------------------------------------------------------------------------ records


def _own_id(row: dict, opts: ReadOptions) -> str | None:
    if opts.id_field and row.get(opts.id_field) not in (None, ""):
        return str(row[opts.id_field])
    return None


def _kept(row: dict, opts: ReadOptions) -> dict[str, Any]:
    if opts.keep_fields == ("*",):
        return dict(row)
    return {k: row.get(k) for k in opts.keep_fields}


def _row_item(row: Any, line: int, opts: ReadOptions, raw_text: str) -> Item:
    if not isinstance(row, dict):
        return Item(raw_text, line, error="not_a_json_object")
    value = row.get(opts.text_field)
    own = _own_id(row, opts)
    if not isinstance(value, str):
        return Item(raw_text, line, own, error="missing_text_field", fields=_kept(row, opts))
    return Item(value, line, own, fields=_kept(row, opts))


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
    if not path.name.lower().removesuffix(".gz").endswith(".json"):
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


def _csv_stream(path: Path, fmt: str, opts: ReadOptions):
    delimiter, enc, bom = table_dialect(path, fmt, opts)
    fb = open_binary(path)
    fb.read(bom)
    # surrogateescape keeps bytes that are not UTF-8 visible (as lone surrogates) so that they are decoded like
    # a txt line (legacy encodings) or rejected with their bytes
    f = io.TextIOWrapper(fb, encoding=enc or "utf-8", errors="strict" if enc else "surrogateescape", newline="")
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
                yield Item(_fix_escapes(raw_text, opts)[0], n, error="malformed_row",
                           extra={"columns": len(cells), "header_columns": len(header)})
                continue
            row = dict(zip(header, (_unquote(c) if tsv else c for c in cells), strict=True))
            item = _row_item(row, n, opts, raw_text)
            if enc:
                item.extra["encoding"] = enc
            if item.error is None and _SURROGATE.search(item.text):
                item.text, err, extra = _fix_escapes(item.text, opts)
                item.error = err
                item.extra.update(extra)
            elif item.error:
                item.text = _fix_escapes(item.text, opts)[0]
            yield item


def _fix_escapes(value: str, opts: ReadOptions) -> tuple[str, str | None, dict]:
    """Turn the surrogateescape'd bytes of a CSV cell back into bytes and decode them like a txt line."""
    if not _SURROGATE.search(value):
        return value, None, {}
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a real lone surrogate, not an escaped byte: callers drop it
        return value, None, {}
    return decode_line(raw, opts.on_invalid_utf8)


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
    text, err, extra = _whole_text(path, opts)
    if err or opts.document_per == "file":
        if text.strip():
            yield Item(text.rstrip("\n"), 0 if opts.document_per == "file" else 1, error=err, extra=extra)
        return
    pos = 0
    for m in [*_PARAGRAPHS.finditer(text), None]:
        end = m.start() if m else len(text)
        para = text[pos:end]
        if para.strip():
            yield Item(para.rstrip("\n"), 1 + text.count("\n", 0, pos), extra=dict(extra))
        if m:
            pos = m.end()


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


def format_of(path: Path, opts: ReadOptions, default: str | None = None) -> str:
    return detect_format(path, default) if opts.format == "auto" else opts.format


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


# ------------------------------------------------------------------------------------------------ checks


def file_fields(path: Path, opts: ReadOptions = ReadOptions(), rows: int = 50) -> list[str] | None:
    """The field names a file offers: the CSV/TSV header, the parquet or ``save_to_disk`` columns, the keys of
    the first ``rows`` JSON lines; None for txt/WARC (no fields) or a file that cannot be read."""
    path = Path(path)
    try:
        fmt = format_of(path, opts)
        if fmt in ("csv", "tsv"):
            f, reader, _, _ = _csv_stream(path, fmt, opts)
            with f:
                header = _header(reader) or []
            return [_unquote(h.strip()) for h in header]
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        if fmt == "arrow":
            names: list[str] = []
            for info in path.rglob("dataset_info.json"):
                names += [k for k in json.loads(info.read_text()).get("features", {}) if k not in names]
            return names or None
        if fmt == "jsonl":
            rows_ = _json_array(path)
            keys: dict[str, None] = {}
            if rows_ is not None:
                for row in rows_[:rows]:
                    keys.update(dict.fromkeys(row) if isinstance(row, dict) else {})
                return list(keys)
            for i, (_, text, err, _) in enumerate(text_lines(path, opts)):
                if i >= rows:
                    break
                try:
                    row = loads_json(text) if not err else None
                except (ValueError, RecursionError):
                    row = None
                if isinstance(row, dict):
                    keys.update(dict.fromkeys(row))
            return list(keys)
    except Exception:  # noqa: BLE001 - unreadable files are reported when read, not here
        return None
    return None


def check_fields(path: Path, opts: ReadOptions, where: str = "text_field", check_id: bool = False) -> str | None:
    """A problem message when the file does not offer ``opts.text_field`` (or a kept field, or with ``check_id``
    the ``id_field`` a config names), else None.

    Example: ``check_fields(Path("tweets.csv"), ReadOptions(text_field="text"))`` →
    ``"tweets.csv has no column 'text' (its columns: tweet, label); set text_field: tweet"``."""
    names = file_fields(path, opts)
    if names is None:
        return None
    if len(set(names)) != len(names):
        try:
            _check_header(path, names)
        except ReadError as e:
            return str(e)
    if not names:
        if format_of(path, opts) == "jsonl" and os.path.getsize(path) > 0:
            return f"{path}: no JSON object in its first lines (is it JSON lines?)"
        return None
    wanted = [(opts.text_field, where), *[(k, where.replace("text_field", "keep_fields")) for k in opts.keep_fields
                                          if k != "*"]]
    if check_id and opts.id_field:
        wanted.append((opts.id_field, where.replace("text_field", "id_field")))
    missing = [(f, key) for f, key in wanted if f not in names]
    if not missing:
        return None
    name, key = missing[0]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    kind = "column" if format_of(path, opts) != "jsonl" else "field"
    if key == where:
        guess = _guess_text_field(names)
        fix = f"set {key}: {guess}" if guess else f"set {key} to one of them"
    else:  # a kept field or the id field: a likely spelling, else what to do instead
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        fix = (f"did you mean {close[0]!r}? fix {key}" if close else f"fix {key}, or " + (
            "remove that name" if "keep_fields" in key else "leave id_field out (rows then get file:line ids)"))
    return f"{path} has no {kind} {name!r} (its {kind}s: {shown}); {fix}"


def _guess_text_field(names: list[str]) -> str | None:
    for cand in ("text", "tweet", "content", "sentence", "darija", "body", "message", "document"):
        if cand in names:
            return cand
    return None


# ------------------------------------------------------------------------------------------------ texts


@dataclass
class ReadReport:
    """What a reader skipped, per file and reason, so that a caller can say it (or fail when nothing was read)."""

    used: int = 0
    bad: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> reason -> count
    first_bad: dict[str, int] = field(default_factory=dict)  # file -> line of the first bad record

    def add_bad(self, path: Path, item: Item) -> None:
        per = self.bad.setdefault(str(path), {})
        per[item.error] = per.get(item.error, 0) + 1
        self.first_bad.setdefault(str(path), item.line)

    def summary(self) -> str:
        parts = []
        for f, reasons in self.bad.items():
            r = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            parts.append(f"{f}: {r} (first at line {self.first_bad[f]})")
        return "; ".join(parts)


def iter_texts(files: Iterable[Path], text_field: str = "text", limit: int | None = None,
               report: ReadReport | None = None, what: str = "input") -> Iterator[str]:
    """Non-empty texts of files of any format (see :func:`iter_items`). Unusable records are counted in
    ``report`` and logged once per file; when not one record of the files is usable, :class:`ReadError`
    (naming the files, the reasons and the field) instead of an empty stream.

    Example: ``list(iter_texts([Path("news.tsv")], text_field="sentence", limit=10))``
    """
    import logging

    log = logging.getLogger("jazari_nlp.readers")
    report = report if report is not None else ReadReport()
    opts = ReadOptions(text_field=text_field, id_field=None)
    files = list(files)
    for path in files:
        bad_before = sum(report.bad.get(str(path), {}).values())
        for item in iter_items(path, opts):
            if item.error:
                report.add_bad(path, item)
                continue
            if not item.text.strip():
                continue
            yield _SURROGATE.sub("", item.text)
            report.used += 1
            if limit is not None and report.used >= limit:
                return
        bad = sum(report.bad.get(str(path), {}).values()) - bad_before
        if bad:
            reasons = report.bad[str(path)]
            log.warning("%s: %s: %d records not usable (%s), first at line %d", what, path, bad,
                        ", ".join(f"{n} {k}" for k, n in reasons.items()), report.first_bad[str(path)])
    if report.used == 0 and report.bad:
        raise ReadError(f"{what}: no usable text in {', '.join(map(str, files))}: {report.summary()}"
                        + (f"; is `text_field: {text_field}` right?" if any(
                            "missing_text_field" in r for r in report.bad.values()) else ""))


def files_field_problems(patterns: Iterable[str], text_field: str, where: str, max_files: int = 20) -> list[str]:
    """Config validation of a stage's ``files:`` + ``text_field``: one message per file (of the first
    ``max_files``) that does not have the field. Example: ``files_field_problems(["a.tsv"], "text", "eval")``."""
    files, _, _ = expand_inputs(patterns)
    problems = []
    for f in files[:max_files]:
        msg = check_fields(f, ReadOptions(text_field=text_field), where=f"{where}.text_field")
        if msg:
            problems.append(msg)
    return problems
