"""What a file is: its format, the inputs a list of paths and globs names, the records' types.

Example: ``detect_format(Path("news.jsonl.zst"))`` → ``'jsonl'``; ``expand_inputs(["data/"])[0]``.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

EXT_FORMATS = {
    ".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".warc": "warc", ".wet": "wet", ".arrow": "arrow",
}
TABLE_FORMATS = ("jsonl", "parquet", "csv", "tsv", "arrow")


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


# Compressed files are read through a streaming decompressor (open_binary); a cut one ends with EOFError.
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")


def strip_compression(name: str) -> str:
    """``name`` without its compression suffix: ``strip_compression("a.jsonl.bz2")`` → ``'a.jsonl'``."""
    for comp in COMPRESSED_SUFFIXES:
        if name.lower().endswith(comp):
            return name[: -len(comp)]
    return name


def is_compressed(path: str | Path) -> bool:
    """Whether ``path`` names a compressed file (by its suffix). Example: ``is_compressed("x.txt.xz")`` → True."""
    return str(path).lower().endswith(COMPRESSED_SUFFIXES)


def detect_format(path: Path, default: str | None = None) -> str:
    """Format from the extension, compression suffix stripped (``x.jsonl.zst`` → ``jsonl``); a folder is a
    ``save_to_disk`` data set (``arrow``)."""
    if path.is_dir():
        return "arrow"
    name = strip_compression(path.name.lower())
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
    """Open a file for binary reading, decompressing .gz, .zst, .bz2 and .xz transparently."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        import bz2

        return bz2.open(path, "rb")  # multi-stream, EOFError when cut (as gzip)
    if name.endswith(".xz"):
        import lzma

        return lzma.open(path, "rb")
    if name.endswith((".zst", ".zstd")):
        return io.BufferedReader(_ZstdReader(open(path, "rb")), buffer_size=1 << 16)
    return open(path, "rb")


class _ZstdReader(io.RawIOBase):
    """The decompressed bytes of a .zst stream, frame after frame, raising EOFError (as gzip does) when the file
    ends inside a frame: zstandard's ``stream_reader`` returns a normal end of file for a truncated frame, which
    would make a cut file read as a shorter one."""

    CHUNK = 1 << 15  # compressed bytes per read: text often decompresses 5-10 times bigger

    def __init__(self, raw):
        import zstandard

        self._raw, self._dctx = raw, zstandard.ZstdDecompressor()
        self._dobj, self._in_frame = self._dctx.decompressobj(), False
        self._out, self._pos = b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self._pos >= len(self._out):
            data = self._raw.read(self.CHUNK)
            if not data:
                if self._in_frame:
                    raise EOFError("compressed file ended before the end of a zstd frame (the .zst file is "
                                   "truncated)")
                return 0
            self._out, self._pos = memoryview(self._feed(data)), 0
        n = min(len(b), len(self._out) - self._pos)
        b[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def _feed(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._dobj.decompress(data))
            self._in_frame = not self._dobj.eof
            if self._in_frame:
                break
            data = self._dobj.unused_data  # the next frame of a multi-frame file
            self._dobj = self._dctx.decompressobj()
        return b"".join(out)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


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


def format_of(path: Path, opts: ReadOptions, default: str | None = None) -> str:
    return detect_format(path, default) if opts.format == "auto" else opts.format
