"""The writers of a build: the kept documents to parquet shards (train / heldout per language), the dropped
ones to ``rejects/<step>/`` with their reason, both counted per source and file (the loss alarms).

Example: ``CorpusWriter("out", seed=0, heldout_fraction=0.05, max_file_size=512 << 20, compression="snappy")``.
"""

from __future__ import annotations

import gzip
from time import perf_counter

import orjson
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.pipeline.writers.parquet import ParquetWriter

from jazari_nlp.corpus.common import (
    DROP_PREFIX,
    DUPLICATE_REASONS,
    FILE_DROP_PREFIX,
    FILE_KEPT_PREFIX,
    KEPT_PREFIX,
    ROW_FIELDS,  # noqa: F401 - the columns of _row, re-exported
    UNSAFE_CHARS,
)
from jazari_nlp.corpus.filters import split_words
from jazari_nlp.corpus.match import MATCH, MATCH_OF, WORDS, text_hash
from jazari_nlp.corpus.passes import _json_default, _rename
from jazari_nlp.corpus.tally import BLOCK, Tallied, Tally, _timed
from jazari_nlp.text import dominant_script


def heldout(doc_id: str, seed: int, fraction: float) -> bool:
    """Deterministic split: hash of seed and id, below ``fraction`` → held out. Example: ``heldout('a', 0, 0.5)``."""
    return xxhash.xxh64_intdigest(f"{seed}:{doc_id}") / 2**64 < fraction


def count_words(text: str) -> int:
    """How many of :func:`~jazari_nlp.corpus.filters.split_words`'s tokens are words (not punctuation only).
    Example: ``count_words("salam , khoya!")`` → ``2``."""
    tokens = split_words(text)  # stripped in C
    return len(tokens) - tokens.count("")


def _words(doc: Document) -> int:
    """``count_words(doc.text)``: the quality step's count when it counted this very text (its hash, see
    :data:`~jazari_nlp.corpus.match.WORDS`; a later step such as pii may have changed the text), else counted."""
    carried = doc.metadata.get(WORDS)
    if carried and carried[1] == text_hash(doc.text):
        return carried[0]
    return count_words(doc.text)


def _row(doc: Document, extra_columns: tuple[str, ...] = ()) -> dict:
    m = doc.metadata
    fields = m.get("fields") or {}
    return {**{c: fields.get(c) for c in extra_columns},
        "text": doc.text,
        "id": doc.id,
        "lang": m.get("lang") or m.get("lang_hint") or "und",
        "lang_score": float(m.get("lang_score", 0.0)),
        "script": m.get("script") or dominant_script(doc.text[:5000]),
        "source": m.get("source", ""),
        "license": m.get("license", "unknown"),
        "weight": float(m.get("weight", 1.0)),
        "lang_hint": m.get("lang_hint"),
        "pii_replaced": int(m.get("pii_replaced", 0)),
        "contaminated": bool(m.get("contaminated", False)),
        "duplicate_count": int(m.get("duplicate_count", 0)),
        "words": _words(doc),
        "chars": len(doc.text),
        "encoding": m.get("encoding"),  # None: the input was UTF-8
        "file": m.get("file"),  # provenance: the input file and its line (or row), apart from the id
        "line": m.get("line"),
    }


def parquet_schema(extra_columns: tuple[str, ...] = ()):
    """The shards' columns; ``extra_columns``: the sources' ``keep_fields`` (strings), first."""
    import pyarrow as pa

    return pa.schema([*((c, pa.string()) for c in extra_columns),
        ("text", pa.string()), ("id", pa.string()), ("lang", pa.string()), ("lang_score", pa.float64()),
        ("script", pa.string()), ("source", pa.string()), ("license", pa.string()), ("weight", pa.float64()),
        ("lang_hint", pa.string()), ("pii_replaced", pa.int64()), ("contaminated", pa.bool_()),
        ("duplicate_count", pa.int64()), ("words", pa.int64()), ("chars", pa.int64()), ("encoding", pa.string()),
        ("file", pa.string()), ("line", pa.int64()),
    ])


class CorpusWriter(Tallied, ParquetWriter):
    """Writes kept documents to ``{train|heldout}/<lang>/<rank>.parquet`` (rotating at ``max_file_size``).
    Its stats (its own and DiskWriter's) are counted per block of documents (:class:`~jazari_nlp.corpus.tally.
    Tally`), its time too (datatrove: per document)."""

    def __init__(self, output_folder: str, *, seed: int, heldout_fraction: float, max_file_size: int,
                 compression: str | None, extra_columns: tuple[str, ...] = ()):
        super().__init__(output_folder, output_filename="${split}/${lang}/${rank}.parquet",
                         compression=compression, max_file_size=max_file_size,
                         schema=parquet_schema(tuple(extra_columns)), use_content_defined_chunking=False)
        _rename(self, "writer")
        self.seed, self.heldout_fraction = seed, heldout_fraction
        self.extra_columns = tuple(extra_columns)
        self._file_id_names: dict = {}

    def _get_filename_with_file_id(self, filename):
        # DiskWriter's name ("train/ary_Arab/000_00000.parquet"), computed twice per document: once per file here
        key = (filename, self.file_id_counter[filename])
        name = self._file_id_names.get(key)
        if name is None:
            name = self._file_id_names[key] = super()._get_filename_with_file_id(filename)
        return name

    def _default_adapter(self, document: Document) -> dict:
        return _row(document, self.extra_columns)

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        # "${split}/${lang}/${rank}.parquet" without datatrove's substitution (and metadata copy) per document
        return f"{kwargs['split']}/{document.metadata['lang']}/{str(rank).zfill(5)}.parquet"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tally = self._tally = Tally(self.stats)
        seconds, n = 0.0, 0
        try:
            with self:
                for document in data:
                    start = perf_counter()
                    self.write(document, rank)
                    seconds += perf_counter() - start
                    n += 1
                    if n == BLOCK:
                        _timed(self.stats, seconds, "block")
                        tally.flush()
                        seconds, n = 0.0, 0
                    yield document
        finally:
            _timed(self.stats, seconds, "block")
            tally.flush()
            self._tally = None

    def write(self, document: Document, rank: int = 0, **kwargs):
        m = document.metadata
        m["lang"] = UNSAFE_CHARS.sub("_", m.get("lang") or m.get("lang_hint") or "und")
        split = "heldout" if heldout(document.id, self.seed, self.heldout_fraction) else "train"
        self.stat_update(f"{split}_docs")
        self.stat_update(f"{KEPT_PREFIX}{m.get('source', '')}")  # per-source and per-file accounting (alarms)
        self.stat_update(f"{FILE_KEPT_PREFIX}{m.get('source', '')}\t{m.get('file', '')}")
        self.stat_update(f"{split}_bytes", value=len(document.text.encode("utf-8", "replace")))
        super().write(document, rank, split=split)


# Reader facts about a reject, written as top-level fields: {reason: unreadable_file, path, error,
# records_read_before}; raw_b64 holds the original bytes of an `invalid_utf8` record (nothing is lost).
REJECT_FIELDS = ("path", "error", "records_read_before", "raw_b64")


# gzip level of the rejects: zlib's default; 9 (GzipFile's default) costs ~35% more CPU for ~1% smaller files.
REJECTS_GZIP_LEVEL = 6


class RejectWriter(Tallied, JsonlWriter):
    """Writes dropped documents with their reason to ``rejects/<step>/<rank>.jsonl.gz`` and counts them per
    source and reason (``write=False``: counts only, for ``output.write_rejects: false``).

    The lines are JsonlWriter's, gzipped at :data:`REJECTS_GZIP_LEVEL` in blocks of up to :data:`BLOCK` lines
    (one compressor call each); the counts are added to the stats per block (:class:`~jazari_nlp.corpus.tally.
    Tally`); everything is written and counted when the writer closes (the filter using it closes it).
    """

    def __init__(self, rejects_folder: str, step_name: str, default_reason: str | None = None, write: bool = True):
        # the files are opened plain and gzipped here (fsspec's GzipFile would take level 9)
        super().__init__(rejects_folder, output_filename=f"{step_name}/${{rank}}.jsonl.gz", compression=None)
        self.step_name, self.default_reason, self.write_files = step_name, default_reason, write
        # The stats of the step it writes for (set by the build): an exclusion writer's own stats are not saved.
        # Only the Stats object is held, not the step: datatrove serializes steps without their `stats`.
        self.owner_stats = None
        self._gz: dict = {}  # filename -> (its GzipFile, the lines not yet written)
        self._counts: Tally | None = None  # the owner's counts (drops per source and reason, per file)

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        return f"{self.step_name}/{str(rank).zfill(5)}.jsonl.gz"  # the template, without a substitution

    def write(self, document: Document, rank: int = 0, **kwargs):
        m = document.metadata
        reason = m.get("filter_reason") or self.default_reason or "unknown"
        if self._counts is None:
            self._counts = Tally(self.owner_stats if self.owner_stats is not None else self.stats)
            self._tally = Tally(self.stats)  # its own stats (DiskWriter's: file key, total, doc_len)
        counts = self._counts
        counts.add(f"{DROP_PREFIX}{m.get('source', '')}\t{reason}")
        if reason not in DUPLICATE_REASONS:
            counts.add(f"{FILE_DROP_PREFIX}{m.get('source', '')}\t{m.get('file') or m.get('path') or ''}")
        if self.write_files:
            name = self._get_output_filename(document, rank)
            entry = self._gz.get(name)
            if entry is None:
                raw = self._get_output_file_with_retry(name)
                entry = self._gz[name] = (gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=REJECTS_GZIP_LEVEL), [])
            entry[1].append(orjson.dumps(self.adapter(document), option=orjson.OPT_APPEND_NEWLINE,
                                         default=_json_default()))  # JsonlWriter's line
            if len(entry[1]) == BLOCK:
                self._write_lines(entry)
            tally = self._tally
            tally.add(self._get_output_filename(document, "XXXXX"))
            tally.add("total")
            tally.add("doc_len", len(document.text), "doc")

    @staticmethod
    def _write_lines(entry) -> None:
        gz, lines = entry
        gz.write(b"".join(lines))
        lines.clear()

    def close(self):
        try:
            for entry in self._gz.values():
                self._write_lines(entry)
                entry[0].close()  # the gzip trailer; the plain file is closed by datatrove's close below
        finally:
            self._gz = {}
            for tally in (self._counts, self._tally):
                if tally is not None:
                    tally.flush()
            self._counts = self._tally = None
            super().close()

    def _default_adapter(self, document: Document) -> dict:
        m = {k: v for k, v in document.metadata.items() if k not in (MATCH, MATCH_OF, WORDS)}
        reason = m.pop("filter_reason", None) or self.default_reason or "unknown"
        row = {"id": document.id, "reason": reason, "step": self.step_name, "source": m.pop("source", None),
               "license": m.pop("license", None), "lang": m.pop("lang", None), "text": document.text}
        row.update({k: m.pop(k) for k in REJECT_FIELDS if k in m})
        row["file"], row["line"] = m.pop("file", None), m.pop("line", None)
        row["metadata"] = m
        return row
