"""Readers: every source format becomes a stream of datatrove ``Document`` s, bad records included.

A record that cannot be read (malformed JSON, invalid UTF-8, no text field) is not dropped here: it becomes a
document whose ``metadata["_read_error"]`` names the reason, so the first pipeline step can count it and write it
to ``rejects/`` with everything else. Nothing disappears silently.

Bytes that are not UTF-8 go through ``jazari_nlp.text.decode_bytes`` (Windows-1256 when that gives Arabic, else
cp1252) under ``on_invalid_utf8: decode`` (the default); the encoding used is kept as ``metadata["encoding"]``.
A file that fails mid-way (truncated gzip, corrupt parquet) yields the records read before the failure and one
``unreadable_file`` record, and the build goes on.

Example::

    docs = list(iter_file(SourceConfig(name="x", paths=["a.jsonl"]), Path("a.jsonl")))
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from jazari_nlp.corpus.config import SourceConfig
from jazari_nlp.schema import expand_globs

EXT_FORMATS = {
    ".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".warc": "warc", ".wet": "wet", ".arrow": "arrow",
}
_PARAGRAPHS = re.compile(rb"\r?\n[ \t]*\r?\n")
_SURROGATE = re.compile("[\ud800-\udfff]")


def detect_format(path: Path, default: str | None = None) -> str:
    """Format from the extension, compression suffix stripped. Example: ``x.jsonl.zst`` → ``jsonl``."""
    if path.is_dir():
        return "arrow"  # a `save_to_disk` folder
    name = path.name.lower()
    for comp in (".gz", ".zst", ".zstd"):
        name = name.removesuffix(comp)
    if name.endswith(".warc.wet") or name.endswith(".wet"):
        return "wet"
    ext = os.path.splitext(name)[1]
    if ext not in EXT_FORMATS:
        if default is not None:
            return default
        raise ValueError(f"cannot tell the format of {path} from its extension "
                         f"(known: {', '.join(sorted(EXT_FORMATS))}, .wet); set `format:` on the source")
    return EXT_FORMATS[ext]


def check_formats(sources: list[SourceConfig], units: list[tuple[int, str]]) -> list[str]:
    """One message per work unit whose format cannot be known before reading (unknown extension, or a file
    source given ``format: hub``). The build refuses to start on any, instead of failing inside a worker."""
    problems = []
    for si, path in units:
        src = sources[si]
        if path == "hub:":
            continue
        if src.format == "hub":
            problems.append(f"source {src.name!r}: {path} is a file, but the source says `format: hub`")
        elif src.format == "auto":
            try:
                detect_format(Path(path))
            except ValueError as e:
                problems.append(f"source {src.name!r}: {e}")
    return problems


def input_sources(patterns: list[str], text_field: str = "text") -> list[dict]:
    """Source dicts for ``jazari corpus build --input``: one per pattern; files of a pattern whose extension
    tells no format (``notes.md``) are read as plain text, one document per line, in a ``<name>_txt`` source.

    Example: ``input_sources(["a.jsonl", "notes.md"])`` →
    ``[{"name": "input0", "paths": ["a.jsonl"], ...}, {"name": "input1_txt", "paths": [".../notes.md"], "format": "txt", ...}]``
    """
    out = []
    for i, pat in enumerate(patterns):
        files, _ = expand_globs([str(Path(pat).expanduser().absolute())])
        unknown = [f for f in files if detect_format(f, default="") == ""]
        known = [f for f in files if f not in unknown]
        base = {"text_field": text_field}
        if not unknown:
            out.append({"name": f"input{i}", "paths": [pat], **base})
            continue
        if known:
            out.append({"name": f"input{i}", "paths": [str(f) for f in known], **base})
        out.append({"name": f"input{i}_txt", "paths": [str(f) for f in unknown], "format": "txt", **base})
    return out


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file for binary reading, decompressing .gz and .zst transparently."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith((".zst", ".zstd")):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def resolve_source_files(src: SourceConfig) -> tuple[list[Path], list[str]]:
    """Files (and ``save_to_disk`` folders) of a source, and the patterns that matched nothing."""
    files, empty = expand_globs(list(src.paths))
    dirs: list[Path] = []
    still_empty = []
    for pat in empty:  # expand_globs keeps files only; a save_to_disk dataset is a folder
        import glob

        found = [Path(p) for p in sorted(glob.glob(pat)) if os.path.isdir(p)]
        if found and src.format in ("auto", "arrow"):
            dirs.extend(found)
        else:
            still_empty.append(pat)
    return sorted(files) + dirs, still_empty


def _common_root(paths: list[Path]) -> Path:
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path(".")
    except ValueError:
        return Path("/")


# cp1252 first: where both give the same text (French "café"), cp1252 is the honest name; Arabic text
# decoded as cp1256 is never what cp1252 gives.
LEGACY_ENCODINGS = ("cp1252", "cp1256", "latin-1")


def legacy_encoding(raw: bytes, text: str) -> str | None:
    """Which single-byte encoding turned ``raw`` into ``text`` (None: none of LEGACY_ENCODINGS did).
    Example: ``legacy_encoding("سلام".encode("cp1256"), "سلام")`` → ``'cp1256'``."""
    for enc in LEGACY_ENCODINGS:
        if raw.decode(enc, errors="replace") == text:
            return enc
    return None


def _decode(raw: bytes, src: SourceConfig) -> tuple[str, str | None, dict]:
    """``(text, read error or None, extra metadata)``. Valid UTF-8 passes untouched (no metadata)."""
    try:
        return raw.decode("utf-8"), None, {}
    except UnicodeDecodeError:
        pass
    if src.on_invalid_utf8 == "decode":
        from jazari_nlp.text import decode_bytes

        text = decode_bytes(raw)
        enc = legacy_encoding(raw, text)
        # U+FFFD: bytes the encoding has no character for; NUL: binary or UTF-16, not single-byte text
        if enc is not None and "\ufffd" not in text and "\x00" not in text:
            return text, None, {"encoding": enc}
    text = raw.decode("utf-8", errors="replace")
    if src.on_invalid_utf8 == "replace":
        return text, None, {"encoding": "utf-8-replace"}
    return text, "invalid_utf8", {"raw_b64": base64.b64encode(raw).decode("ascii")}


def _record(text: str, doc_id: str, src: SourceConfig, error: str | None = None, extra: dict | None = None) -> dict:
    meta = {"source": src.name, "license": src.license, "weight": src.weight, "source_kind": src.kind}
    if src.language:
        meta["lang_hint"] = src.language
    if extra:
        meta.update(extra)
    # Lone surrogates (JSON "\ud800", half an emoji in scraped tweets) cannot be written as UTF-8 by any
    # writer downstream: drop them here, counted, whatever the step list is.
    if _SURROGATE.search(text):
        text, n = _SURROGATE.subn("", text)
        meta["lone_surrogates_removed"] = n
    if _SURROGATE.search(doc_id):
        doc_id = _SURROGATE.sub("\ufffd", doc_id)
    if error:
        meta["_read_error"] = error
    return {"text": text, "id": doc_id, "metadata": meta}


# ------------------------------------------------------------------------------ splitting big files

SPLIT_MIN_BYTES = 4 * 2**20  # below this a file is not worth cutting


def _count_newlines(path: Path, end: int) -> int:
    n, pos = 0, 0
    with open(path, "rb") as f:
        while pos < end:
            chunk = f.read(min(16 * 2**20, end - pos))
            if not chunk:
                break
            n += chunk.count(b"\n")
            pos += len(chunk)
    return n


def _line_range(path: Path, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` for the lines that *begin* in ``[start, end)``; numbers count from the file's
    start, so ids are the same as when one task reads the whole file."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            f.readline()  # the rest of a line that began before `start` belongs to the previous piece
        pos = f.tell()
        index = _count_newlines(path, pos)
        while pos < end:
            line = f.readline()
            if not line:
                return
            yield index, line
            index += 1
            pos += len(line)


def _numbered_lines(path: Path, byte_range: tuple[int, int] | None) -> Iterator[tuple[int, bytes]]:
    if byte_range is not None:
        yield from _line_range(path, *byte_range)
        return
    with open_binary(path) as f:
        yield from enumerate(f)


def splittable(src: SourceConfig, path: str) -> bool:
    """An uncompressed jsonl file, or a txt file with one document per line, read without a ``limit``."""
    if path == "hub:" or src.limit != -1 or path.lower().endswith((".gz", ".zst", ".zstd")) or not os.path.isfile(path):
        return False
    try:
        fmt = detect_format(Path(path)) if src.format == "auto" else src.format
    except ValueError:
        return False
    return fmt == "jsonl" or (fmt == "txt" and src.document_per == "line")


def work_pieces(sources: list[SourceConfig], units: list[tuple[int, str]],
                world_size: int) -> list[tuple[int, tuple[int, int] | None]]:
    """``(unit index, byte range or None)`` for every piece of work, so that a few big files still keep every
    task busy: a splittable file bigger than total/world_size bytes (and than SPLIT_MIN_BYTES) is cut into
    ranges of about that size. Tasks take ``pieces[rank::world_size]``.

    Example: one 200 MB jsonl file and 2 tasks → ``[(0, (0, 100 MB)), (0, (100 MB, 200 MB))]``.
    """
    sizes = [os.path.getsize(p) if p != "hub:" and os.path.isfile(p) else 0 for _, p in units]
    target = max(SPLIT_MIN_BYTES, -(-sum(sizes) // max(world_size, 1)))
    pieces: list[tuple[int, tuple[int, int] | None]] = []
    for ui, (si, path) in enumerate(units):
        size = sizes[ui]
        if world_size > 1 and size > target and splittable(sources[si], path):
            step = -(-size // -(-size // target))
            pieces += [(ui, (a, min(a + step, size))) for a in range(0, size, step)]
        else:
            pieces.append((ui, None))
    return pieces


# ------------------------------------------------------------------------------ formats


def _iter_txt(src: SourceConfig, path: Path, prefix: str,
              byte_range: tuple[int, int] | None = None) -> Iterator[dict]:
    if src.document_per == "line":
        units: Iterator[tuple[int, bytes]] = _numbered_lines(path, byte_range)
    else:
        with open_binary(path) as f:
            data = f.read()
        units = enumerate(_PARAGRAPHS.split(data) if src.document_per == "paragraph" else [data])
    for i, raw in units:
        if not raw.strip():
            continue  # blank lines separate documents; they are not documents
        text, err, extra = _decode(raw.rstrip(b"\r\n"), src)
        yield _record(text, f"{prefix}:{i}", src, err, extra)


def _get_text(row: dict, src: SourceConfig) -> str | None:
    value = row.get(src.text_field)
    return value if isinstance(value, str) else None


def _row_id(row: dict, src: SourceConfig, fallback: str) -> str:
    if src.id_field and row.get(src.id_field) not in (None, ""):
        return f"{src.name}:{row[src.id_field]}"
    return fallback


def _loads(text: str):
    """orjson, else the standard library: orjson refuses escaped lone surrogates (``"a\\ud800b"``, common in
    scraped tweets) that ``json`` reads; :func:`_record` then removes them. Raises ValueError if neither can."""
    import json

    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _iter_jsonl(src: SourceConfig, path: Path, prefix: str,
                byte_range: tuple[int, int] | None = None) -> Iterator[dict]:
    for i, raw in _numbered_lines(path, byte_range):
        if not raw.strip():
            continue
        text, err, extra = _decode(raw.rstrip(b"\r\n"), src)
        if err:
            yield _record(text, f"{prefix}:{i}", src, err, extra)
            continue
        try:
            row = _loads(text)
        except (ValueError, RecursionError):
            yield _record(text, f"{prefix}:{i}", src, "malformed_json", extra)
            continue
        if not isinstance(row, dict):
            yield _record(text, f"{prefix}:{i}", src, "malformed_json", extra)
            continue
        value = _get_text(row, src)
        doc_id = _row_id(row, src, f"{prefix}:{i}")
        if value is None:
            yield _record(text, doc_id, src, "missing_text_field", extra)
        else:
            yield _record(value, doc_id, src, None, extra)


def _iter_rows(rows: Iterator[dict], src: SourceConfig, prefix: str, escaped_bytes: bool = False) -> Iterator[dict]:
    """Rows of a table. ``escaped_bytes``: the reader kept invalid UTF-8 bytes as surrogateescape surrogates
    (csv/tsv), which are turned back into the bytes and decoded like a txt line."""
    import json

    for i, row in enumerate(rows):
        value = _get_text(row, src)
        doc_id = _row_id(row, src, f"{prefix}:{i}")
        if value is None:
            yield _record(json.dumps(row, ensure_ascii=False, default=str), doc_id, src, "missing_text_field")
        elif escaped_bytes and _SURROGATE.search(value):
            try:
                raw = value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a real lone surrogate, not an escaped byte: _record drops it
                yield _record(value, doc_id, src)
                continue
            text, err, extra = _decode(raw, src)
            yield _record(text, doc_id, src, err, extra)
        else:
            yield _record(value, doc_id, src)


def _parquet_rows(path: Path) -> Iterator[dict]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
        yield from batch.to_pylist()


def _csv_rows(path: Path, delimiter: str) -> Iterator[dict]:
    csv.field_size_limit(1 << 30)
    with open_binary(path) as fb:
        # surrogateescape keeps invalid bytes visible (as lone surrogates) so _iter_rows can reject them
        f = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        yield from csv.DictReader(f, delimiter=delimiter)


def _arrow_rows(path: Path) -> Iterator[dict]:
    import datasets

    ds = datasets.load_from_disk(str(path))
    splits = [ds[k] for k in sorted(ds)] if isinstance(ds, datasets.DatasetDict) else [ds]
    for split in splits:
        yield from split


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


def _iter_warc(src: SourceConfig, path: Path, prefix: str) -> Iterator[dict]:
    for i, (headers, payload) in enumerate(_warc_records(path)):
        kind = headers.get("warc-type", "")
        doc_id = headers.get("warc-record-id", f"{prefix}:{i}").strip("<>")
        if kind == "conversion":  # WET: already plain text
            text, err, extra = _decode(payload, src)
            yield _record(text, doc_id, src, err, extra)
        elif kind == "response":  # WARC: HTTP response, extract the main text of HTML pages
            _, _, body = payload.partition(b"\r\n\r\n")
            html, err, extra = _decode(body, src)
            if err:
                yield _record(html, doc_id, src, err, extra)
                continue
            import trafilatura

            text = trafilatura.extract(html, favor_precision=True, include_comments=False) or ""
            yield _record(text, doc_id, src, None if text.strip() else "no_extractable_text", extra)


def guarded(records: Iterator[dict], src: SourceConfig, where: str, doc_id: str) -> Iterator[dict]:
    """``records``, and if reading fails part-way one ``unreadable_file`` record instead of an exception:
    the records read before the failure are kept and the build goes on with the next file.

    Example: a gzip cut short after 2 lines → 2 records, then
    ``{"text": "", "metadata": {"_read_error": "unreadable_file", "path": ..., "error": "EOFError: ...",
    "records_read_before": 2, ...}}``.
    """
    n = 0
    try:
        for rec in records:
            yield rec
            n += 1
    except Exception as e:  # noqa: BLE001 - any reader failure (EOFError, ArrowInvalid, OSError...) is per-file
        error = f"{type(e).__name__}: {e}"[:2000]
        yield _record("", doc_id, src, "unreadable_file",
                      {"path": where, "error": error, "records_read_before": n})


def iter_file(src: SourceConfig, path: Path, prefix: str | None = None,
              byte_range: tuple[int, int] | None = None) -> Iterator[dict]:
    """Raw records ``{text, id, metadata}`` of one file of a source (bad records carry ``_read_error``; a file
    that fails mid-way ends with one ``unreadable_file`` record, see :func:`guarded`).
    ``byte_range``: only the lines beginning in it (splittable files, see :func:`work_pieces`)."""
    prefix = prefix or f"{src.name}/{path.name}"
    where = str(path) if byte_range is None else f"{path}@{byte_range[0]}-{byte_range[1]}"
    unreadable_id = f"{prefix}:unreadable" + ("" if byte_range is None else f"@{byte_range[0]}")
    for n, rec in enumerate(guarded(_file_records(src, path, prefix, byte_range), src, where, unreadable_id)):
        if src.limit != -1 and n >= src.limit:
            break
        yield rec


def _file_records(src: SourceConfig, path: Path, prefix: str,
                  byte_range: tuple[int, int] | None) -> Iterator[dict]:
    fmt = detect_format(path) if src.format == "auto" else src.format
    if byte_range is not None and fmt not in ("txt", "jsonl"):
        raise ValueError(f"byte ranges need a line-based file, not {fmt}")
    if fmt == "txt":
        it = _iter_txt(src, path, prefix, byte_range)
    elif fmt == "jsonl":
        it = _iter_jsonl(src, path, prefix, byte_range)
    elif fmt == "parquet":
        it = _iter_rows(_parquet_rows(path), src, prefix)
    elif fmt in ("csv", "tsv"):
        it = _iter_rows(_csv_rows(path, "\t" if fmt == "tsv" else ","), src, prefix, escaped_bytes=True)
    elif fmt == "arrow":
        it = _iter_rows(_arrow_rows(path), src, prefix)
    elif fmt in ("warc", "wet"):
        it = _iter_warc(src, path, prefix)
    else:
        raise ValueError(f"format {fmt!r} is not a file format")
    yield from it


def iter_hub(src: SourceConfig) -> Iterator[dict]:
    """Rows of a Hub data set (only called when the experiment sets ``allow_network: true``)."""
    import datasets

    ds = datasets.load_dataset(src.hub, src.hub_config, split=src.hub_split, streaming=True)
    prefix = f"{src.name}/{src.hub}"
    rows = guarded(_iter_rows(iter(ds), src, prefix), src, f"hub:{src.hub}", f"{prefix}:unreadable")
    for n, rec in enumerate(rows):
        if src.limit != -1 and n >= src.limit:
            break
        yield rec


def plan_units(sources: list[SourceConfig], allow_network: bool) -> tuple[list[tuple[int, str]], list[str]]:
    """The work units ``(source index, path or 'hub:')`` in a stable order, and warnings (globs matching nothing)."""
    units: list[tuple[int, str]] = []
    warnings: list[str] = []
    for si, src in enumerate(sources):
        files, empty = resolve_source_files(src)
        for pat in empty:
            warnings.append(f"source {src.name!r}: {pat!r} matches no file")
        for f in files:
            if f.is_file() and f.stat().st_size == 0:
                warnings.append(f"source {src.name!r}: {f} is empty (0 documents)")
            units.append((si, str(f)))
        if src.hub:
            if allow_network:
                units.append((si, "hub:"))
            else:
                warnings.append(f"source {src.name!r}: Hub data set {src.hub!r} skipped (allow_network is false)")
    return units, warnings


def unit_prefixes(sources: list[SourceConfig], units: list[tuple[int, str]]) -> list[str]:
    """Readable, unique id prefixes: ``source/relative/path`` (relative to the source's common folder)."""
    by_source: dict[int, list[Path]] = {}
    for si, p in units:
        if p != "hub:":
            by_source.setdefault(si, []).append(Path(p))
    roots = {si: _common_root(ps) for si, ps in by_source.items()}
    out = []
    for si, p in units:
        name = sources[si].name
        if p == "hub:":
            out.append(f"{name}/{sources[si].hub}")
        else:
            rel = os.path.relpath(p, roots[si]) if roots[si] != Path("/") else p.lstrip("/")
            out.append(f"{name}/{rel}")
    return out
