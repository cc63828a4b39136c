"""Sources: a source's files become records for datatrove ``Document`` s, bad records included.

Every format is read by :mod:`jazari_nlp.readers` (the one reader of the project); this module adds what is
particular to corpus sources: the records' ids and provenance, work units and byte-range pieces.

A record that cannot be read (malformed JSON, invalid UTF-8, no text field) is not dropped here: it becomes a
document whose ``metadata["_read_error"]`` names the reason, so the first pipeline step can count it and write it
to ``rejects/`` with everything else. Nothing disappears silently.

Bytes that are not UTF-8 go through ``jazari_nlp.text.decode_bytes`` (Windows-1256 when that gives Arabic, else
cp1252) under ``on_invalid_utf8: decode`` (the default); the encoding used is kept as ``metadata["encoding"]``.
A file that fails mid-way (truncated gzip, corrupt parquet) yields the records read before the failure and one
``unreadable_file`` record, and the build goes on.

A source's config (:class:`SourceConfig`) lives here too: validating it checks its files' fields.

Example::

    docs = list(iter_file(SourceConfig(name="x", paths=["a.jsonl"]), Path("a.jsonl")))
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from jazari_nlp.corpus.common import FORMATS, SOURCE_KINDS, language_code
from jazari_nlp.readers import (
    EXT_FORMATS,  # noqa: F401 - re-exported for older imports
    ByteRange,
    Item,
    ReadOptions,
    check_fields,
    cut_ranges,
    detect_format,
    expand_inputs,
    is_compressed,
    is_dataset_folder,
    iter_items,
    range_lines,
    sniff_encoding,
)
from jazari_nlp.schema import InputGlob, StrictModel

_SURROGATE = re.compile("[\ud800-\udfff]")


class SourceConfig(StrictModel):
    """One input: local files (globs), a ``save_to_disk`` folder or a Hub data set (needs ``allow_network``)."""

    name: str = Field(description="Short name stored in every row's `source` column.")
    paths: list[InputGlob] = Field(default_factory=list, description="Files or globs, relative to the config.")
    hub: str | None = Field(None, description="Hub data set id (read only when the experiment allows network).")
    hub_config: str | None = None
    hub_split: str = "train"
    format: Literal[FORMATS] = Field("auto", description="auto: from the file extension (.gz/.zst stripped).")
    kind: Literal[SOURCE_KINDS] = Field(
        "auto", description="What the text is, which picks the quality rules: web, news, books (long documents: "
        "repetition and line-structure rules), social, sentences, lexicon, transcripts (short items: junk, spam, "
        "link-only and length rules); auto: chosen per document by its length.")
    text_field: str = "text"
    id_field: str | None = Field("id", description="Field/column with the input's own id, kept as the row id "
                                 "(as datatrove does); rows without it get `source/file:line`. None: always that.")
    keep_fields: list[str] = Field(default_factory=list, description="Input fields carried into the output rows "
                                   "(labels, topics, dates), as string columns.")
    language: str | None = Field(None, description="Language hint, e.g. ary_Arab (used by langid `use_hint`).")
    license: str = "unknown"
    weight: float = Field(1.0, ge=0, description="Sampling weight recorded in rows and the manifest.")
    delimiter: str | None = Field(None, description="CSV delimiter (default: sniffed among , ; TAB |); TSV: TAB.")
    document_per: Literal["line", "paragraph", "file"] = Field("line", description="txt files: what a document is.")
    on_invalid_utf8: Literal["decode", "reject", "replace"] = Field(
        "decode", description="decode: bytes that are not UTF-8 are read as Windows-1256 (Arabic) or cp1252 "
        "(jazari_nlp.text.decode_bytes), `invalid_utf8` if still unreadable; reject: always `invalid_utf8`; "
        "replace: U+FFFD and keep.")
    limit: int = Field(-1, description="Read at most this many documents per file (-1: all).")

    @field_validator("language")
    @classmethod
    def _known_language(cls, v: str | None, info: ValidationInfo) -> str | None:
        # skip_exists: a worker re-validating a config already checked (where experiment codes are unknown)
        if v is None or (info.context or {}).get("skip_exists"):
            return v
        return language_code(v, "language")

    @model_validator(mode="after")
    def _has_input(self) -> SourceConfig:
        if not self.paths and not self.hub:
            raise ValueError(f"source {self.name!r}: give `paths` (files/globs) or `hub` (a Hub data set id)")
        return self

    @model_validator(mode="after")
    def _fields_exist(self, info: ValidationInfo) -> SourceConfig:
        # A text_field the files do not have would reject every record as missing_text_field: say it now.
        if not self.paths or (info.context or {}).get("skip_exists"):
            return self
        problems = check_source_fields(self, resolve_source_files(self)[0])
        if problems:
            more = f" (and {len(problems) - 3} more files)" if len(problems) > 3 else ""
            raise ValueError("; ".join(problems[:3]) + more)
        return self


def read_options(src: SourceConfig) -> ReadOptions:
    """The reader options of a source (format, fields, encoding policy)."""
    return ReadOptions(format=src.format if src.format != "hub" else "auto", text_field=src.text_field,
                       id_field=src.id_field, keep_fields=tuple(src.keep_fields), document_per=src.document_per,
                       on_invalid_utf8=src.on_invalid_utf8, delimiter=src.delimiter)


def check_source_fields(src: SourceConfig, files: list[Path], max_files: int = 20) -> list[str]:
    """One message per file (the first ``max_files``) that lacks the source's ``text_field`` / ``keep_fields``
    (or an ``id_field`` other than the default ``id``): found when the config is validated, so that a wrong field fails before
    any work instead of rejecting every record as ``missing_text_field`` (or replacing every id)."""
    opts = read_options(src)
    problems = []
    # the default `id` is optional (rows without one get file:line ids); another name is the user's own
    check_id = src.id_field not in (None, "id")
    for f in files[:max_files]:
        msg = check_fields(f, opts, where="text_field", check_id=check_id)
        if msg:
            problems.append(f"source {src.name!r}: {msg}")
    return problems


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


def input_sources(patterns: list[str], text_field: str | list[str] = "text") -> list[dict]:
    """Source dicts for ``jazari corpus build --input``: one per pattern, each with its own text field
    (``text_field`` is one name for all, or one per pattern); files of a pattern whose extension tells no format
    (``notes.md``) are read as plain text, one document per line, in a ``<name>_txt`` source.

    Example: ``input_sources(["a.jsonl", "t.csv"], ["text", "tweet"])`` →
    ``[{"name": "input0", "paths": ["a.jsonl"], "text_field": "text"}, {"name": "input1", ..., "text_field": "tweet"}]``
    """
    fields = [text_field] * len(patterns) if isinstance(text_field, str) else list(text_field)
    if len(fields) == 1 and len(patterns) > 1:
        fields = fields * len(patterns)
    if len(fields) != len(patterns):
        raise ValueError(f"--text-field: give one for all inputs or one per --input ({len(patterns)} inputs, "
                         f"{len(fields)} fields)")
    out = []
    for i, (pat, fld) in enumerate(zip(patterns, fields, strict=True)):
        files, _, _ = expand_inputs([str(Path(pat).expanduser().absolute())])
        unknown = [f for f in files if not f.is_dir() and detect_format(f, default="") == ""]
        known = [f for f in files if f not in unknown]
        base = {"text_field": fld}
        if not unknown:
            out.append({"name": f"input{i}", "paths": [pat], **base})
            continue
        if known:
            out.append({"name": f"input{i}", "paths": [str(f) for f in known], **base})
        out.append({"name": f"input{i}_txt", "paths": [str(f) for f in unknown], "format": "txt", **base})
    return out


def resolve_source_files(src: SourceConfig, notes: list[str] | None = None) -> tuple[list[Path], list[str]]:
    """Files (and ``save_to_disk`` folders) of a source, and the patterns that matched nothing. A plain folder
    is read recursively (files of a known format; see :func:`jazari_nlp.readers.expand_inputs`); what it leaves
    out (files of an unknown format) is appended to ``notes`` when given."""
    files, empty, skipped = expand_inputs(list(src.paths))
    if notes is not None:
        notes += skipped
    if src.format not in ("auto", "arrow"):
        files = [f for f in files if not is_dataset_folder(f)]
    return files, empty


def _common_root(paths: list[Path]) -> Path:
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path(".")
    except ValueError:
        return Path("/")


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


def _fields(item: Item, src: SourceConfig) -> dict[str, str | None]:
    """Kept fields as strings (JSON for lists/dicts/numbers), None when the record does not have them."""
    import json

    out = {}
    for k in src.keep_fields:
        v = item.fields.get(k)
        out[k] = v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return out


def item_record(item: Item, src: SourceConfig, prefix: str, path: str) -> dict:
    """The corpus record of a reader item: the input's own id when it has one (else ``prefix:index``), the
    file and line kept apart (``metadata.file``, ``metadata.line``), the kept fields, the reader's error."""
    index = max(item.line - (2 if item.extra.get("_table") else 1), 0)
    doc_id = item.id if item.id is not None else f"{prefix}:{index}"
    extra = {k: v for k, v in item.extra.items() if not k.startswith("_")}
    extra["file"], extra["line"] = path, item.line
    if src.keep_fields:
        extra["fields"] = _fields(item, src)
    return _record(item.text, doc_id, src, item.error, extra)


# ------------------------------------------------------------------------------ splitting big files

SPLIT_MIN_BYTES = 4 * 2**20  # below this a file is not worth cutting


def splittable(src: SourceConfig, path: str) -> bool:
    """An uncompressed jsonl file, or a txt file with one document per line, read without a ``limit``."""
    if path == "hub:" or src.limit != -1 or is_compressed(path) or not os.path.isfile(path):
        return False
    try:
        fmt = detect_format(Path(path)) if src.format == "auto" else src.format
    except ValueError:
        return False
    if not (fmt == "jsonl" or (fmt == "txt" and src.document_per == "line")):
        return False
    with open(path, "rb") as f:  # UTF-16, a BOM or CR-only line endings: read whole, by the reader
        head = f.read(1 << 16)
    return sniff_encoding(head)[0] is None and not (b"\r" in head and b"\n" not in head)


def work_pieces(sources: list[SourceConfig], units: list[tuple[int, str]],
                world_size: int) -> list[tuple[int, ByteRange | None]]:
    """``(unit index, byte range or None)`` for every piece of work, so that a few big files still keep every
    task busy: a splittable file bigger than total/world_size bytes (and than SPLIT_MIN_BYTES) is cut into
    ranges of about that size. Tasks take ``pieces[rank::world_size]``. The line numbers where the ranges
    begin are counted here, in one pass over each cut file, so that a task reads its own range only.

    Example: one 200 MB jsonl file and 2 tasks → ``[(0, ByteRange(0, 100 MB, 0)), (0, ByteRange(100 MB, 200 MB,
    n))]``.
    """
    sizes = [os.path.getsize(p) if p != "hub:" and os.path.isfile(p) else 0 for _, p in units]
    target = max(SPLIT_MIN_BYTES, -(-sum(sizes) // max(world_size, 1)))
    pieces: list[tuple[int, ByteRange | None]] = []
    for ui, (si, path) in enumerate(units):
        size = sizes[ui]
        if world_size > 1 and size > target and splittable(sources[si], path):
            step = -(-size // -(-size // target))
            pieces += [(ui, r) for r in cut_ranges(Path(path), list(range(0, size, step)), size)]
        else:
            pieces.append((ui, None))
    return pieces


def iter_file(src: SourceConfig, path: Path, prefix: str | None = None,
              byte_range: ByteRange | tuple[int, int] | None = None) -> Iterator[dict]:
    """Raw records ``{text, id, metadata}`` of one file of a source (bad records carry ``_read_error``; a file
    that fails mid-way ends with one ``unreadable_file`` record, see :func:`jazari_nlp.readers.iter_items`).
    ``byte_range``: only the lines beginning in it (splittable files, see :func:`work_pieces`; a plain
    ``(start, end)`` without its first line number counts the lines before ``start`` first)."""
    prefix = prefix or f"{src.name}/{path.name}"
    opts = read_options(src)
    lines = None
    if byte_range is not None:
        lines = range_lines(path, byte_range, opts.on_invalid_utf8)
    where = str(path) if byte_range is None else f"{path}@{byte_range[0]}-{byte_range[1]}"
    table = (detect_format(path, default="txt") if src.format == "auto" else src.format) in ("csv", "tsv")
    for n, item in enumerate(iter_items(path, opts, lines)):
        if src.limit != -1 and n >= src.limit:
            break
        if item.error == "unreadable_file":
            unreadable_id = f"{prefix}:unreadable" + ("" if byte_range is None else f"@{byte_range[0]}")
            yield _record("", unreadable_id, src, "unreadable_file", {"path": where, **item.extra})
            continue
        if table:
            item.extra["_table"] = True
        yield item_record(item, src, prefix, str(path))


def iter_hub(src: SourceConfig) -> Iterator[dict]:
    """Rows of a Hub data set (only called when the experiment sets ``allow_network: true``)."""
    import datasets

    from jazari_nlp.readers import _row_item

    ds = datasets.load_dataset(src.hub, src.hub_config, split=src.hub_split, streaming=True)
    prefix = f"{src.name}/{src.hub}"
    opts = read_options(src)
    n = 0
    try:
        for n, row in enumerate(ds, 1):
            if src.limit != -1 and n > src.limit:
                break
            item = _row_item(row, n, opts, str(row)[:2000])
            yield item_record(item, src, prefix, f"hub:{src.hub}")
    except Exception as e:  # noqa: BLE001 - a stream that fails part-way is one reject, like a file
        yield _record("", f"{prefix}:unreadable", src, "unreadable_file",
                      {"path": f"hub:{src.hub}", "error": f"{type(e).__name__}: {e}"[:2000], "records_read_before": n})


def plan_units(sources: list[SourceConfig], allow_network: bool) -> tuple[list[tuple[int, str]], list[str]]:
    """The work units ``(source index, path or 'hub:')`` in a stable order, and warnings (globs matching nothing,
    empty files, files of an unknown format in a folder, a Hub source without network)."""
    units: list[tuple[int, str]] = []
    warnings: list[str] = []
    for si, src in enumerate(sources):
        skipped: list[str] = []
        files, empty = resolve_source_files(src, skipped)
        for pat in empty:
            warnings.append(f"source {src.name!r}: {pat!r} matches no file")
        for note in skipped:  # a file left out is named, never dropped without a word
            warnings.append(f"source {src.name!r}: {note}: list such files in `paths` with a `format` to read them")
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
