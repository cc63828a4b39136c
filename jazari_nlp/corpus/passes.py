"""The datatrove steps that make a pass: reading the sources (or the previous pass's documents), running the
registered steps, saving the documents for the next pass. Imported when a build assembles its passes.

Example::

    pipe = [SourceReader(cfg.sources, units, prefixes), ReadCheck("00_read"),
            StepFilter(QualityFilter("04_quality", QualityStep()))]
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from time import perf_counter

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.stats import Stats

from jazari_nlp.corpus.common import FILE_READ_PREFIX, READ_PREFIX
from jazari_nlp.corpus.match import MATCH, MATCH_OF, match_text
from jazari_nlp.corpus.quiet import quiet_datatrove
from jazari_nlp.corpus.registry import CorpusStep
from jazari_nlp.corpus.sources import SourceConfig, iter_file, iter_hub, work_pieces
from jazari_nlp.corpus.tally import BLOCK, Tallied, Tally, _add_ones, _add_values, _timed


def _fast_distribution_check() -> None:
    """datatrove checks its steps' pip distributions (orjson, pyarrow, xxhash) in every process by reading the
    metadata of every installed distribution (~70 ms per name). Look the name up directly first; when that
    does not find it under exactly that name, datatrove's own scan answers (so the answers are datatrove's)."""
    import functools
    import importlib.metadata

    try:  # a private function of datatrove: if a release renames it, its own (slower) check stays
        from datatrove.utils import _import_utils

        scan = _import_utils._is_distribution_available
    except (ImportError, AttributeError):
        return
    if getattr(scan, "_jazari", False):
        return

    @functools.cache
    def available(name: str):
        try:
            if (importlib.metadata.distribution(name).metadata.get("Name") or "").lower() == name:
                return True
        except (importlib.metadata.PackageNotFoundError, ValueError):
            pass
        return scan(name)

    available._jazari = True
    _import_utils._is_distribution_available = available


_fast_distribution_check()  # before any step of this module is built or unpickled (worker processes too)


def _rename(step: PipelineStep, name: str) -> None:
    """Give a datatrove step a jazari step name: it labels its stats (and so the manifest's counts)."""
    step.name = name
    step.stats = Stats(str(step))


class JazariFilter(Tallied, BaseFilter):
    """A named filter: the name (``03_quality``) labels its counters and its rejects folder.

    ``run`` does what datatrove's ``BaseFilter.run`` does (each document flows on as soon as its batch is
    filtered; the exclusion writer gets every dropped document with ``filter_reason``) with the same stats,
    counted in locals and added once per block (:class:`Tally`). The time is measured per batch, and per
    block of :data:`BLOCK` documents when ``batch_size`` is 1 (datatrove: per document).
    """

    type = "jazari"

    def __init__(self, step_name: str, exclusion_writer=None, batch_size: int = 1):
        self.name = step_name
        super().__init__(exclusion_writer, batch_size=batch_size)

    def _filter_one(self):
        """The function that filters one document as ``filter_batch([doc])[0]`` would."""
        if type(self).filter_batch is BaseFilter.filter_batch:
            return self.filter
        return lambda doc: self.filter_batch([doc])[0]

    def _filtered(self, data: DocumentsPipeline, tally: Tally):
        """``(documents, their filter results)`` per batch (per document when ``batch_size`` is 1), timed."""
        size, stats = self.batch_size, self.stats
        if size > 1:
            it = iter(data)
            for batch in iter(lambda: list(itertools.islice(it, size)), []):
                tally.add("batches")
                start = perf_counter()
                results = self.filter_batch(batch)
                _timed(stats, perf_counter() - start, "batch")
                yield batch, results
            return
        one, seconds, n = self._filter_one(), 0.0, 0
        try:
            for doc in data:
                start = perf_counter()
                result = one(doc)
                seconds += perf_counter() - start
                yield (doc,), (result,)
                n += 1
                if n == BLOCK:
                    _timed(stats, seconds, "block")
                    seconds, n = 0.0, 0
        finally:
            _timed(stats, seconds, "block")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        stats, writer_cm = self.stats, self.exclusion_writer or contextlib.nullcontext()
        tally = self._tally = Tally(stats)
        # the counters of every document in plain ints (each created in the stats when first seen)
        counts, lens = {"total": 0, "forwarded": 0, "dropped": 0}, []

        def first(key: str) -> None:
            stats[key]  # noqa: B018 - creates the key where datatrove's first update would have

        def flush() -> None:
            for key, n in counts.items():
                if n:
                    _add_ones(stats[key], n)
                    counts[key] = 0
            if lens:
                _add_values(stats["doc_len"], lens, "doc")
                lens.clear()
            tally.flush()

        try:
            with writer_cm as writer:
                for batch, results in self._filtered(data, tally):
                    for doc, result in zip(batch, results, strict=False):
                        counts["total"] or first("total")
                        counts["total"] += 1
                        reason = None
                        if result.__class__ is tuple:
                            result, reason = result
                        if result:
                            counts["forwarded"] or first("forwarded")
                            counts["forwarded"] += 1
                            lens or first("doc_len")
                            lens.append(len(doc.text))
                            if token_count := doc.metadata.get("token_count", None):
                                tally.add("doc_len_tokens", token_count, "doc")
                            yield doc
                        else:
                            counts["dropped"] or first("dropped")
                            counts["dropped"] += 1
                            if reason:
                                tally.add(f"dropped_{reason}")
                            if self.exclusion_writer:
                                if reason:
                                    doc.metadata["filter_reason"] = reason
                                writer.write(doc, rank)
                    if counts["total"] >= BLOCK:
                        flush()
        finally:
            flush()
            self._tally = None


class StepFilter(JazariFilter):
    """Runs a registered :class:`~jazari_nlp.corpus.registry.CorpusStep` as a datatrove filter: datatrove counts
    its documents and drop reasons, its ``exclusion_writer`` writes the drops, its stats hold the step's counters."""

    def __init__(self, step: CorpusStep, exclusion_writer=None):
        super().__init__(step.name, exclusion_writer, batch_size=step.batch_size)
        self.step = step
        step.counters = self

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.step.filter(doc)

    def _filter_one(self):
        if type(self.step).filter_batch is CorpusStep.filter_batch:
            return self.step.filter
        return lambda doc: self.step.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return self.step.filter_batch(batch)


class LocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor; ``quiet=True`` also quiets datatrove's console logging in the worker
    processes (they import datatrove afresh, so the parent's settings do not reach them)."""

    def __init__(self, *args, quiet: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.quiet = quiet
        if self.start_method == "forkserver" and self.workers != 1:
            preload_fork_server()

    def _launch_run_for_rank(self, rank: int, ranks_q, completed=None, completed_lock=None):
        if self.quiet:
            quiet_datatrove()
        return super()._launch_run_for_rank(rank, ranks_q, completed, completed_lock)


def preload_fork_server() -> None:
    """Have the fork server (started by the first pool of this process) import the corpus modules and load the
    default language identifier once (:mod:`jazari_nlp.corpus.warm_worker`), so that the workers forked from it
    start warm instead of each paying ~1.5 s of imports and model loading. No effect once the server runs."""
    import multiprocess.forkserver as fs

    server = getattr(fs, "_forkserver", None)
    modules = list(getattr(server, "_preload_modules", None) or ["__main__"])
    if "jazari_nlp.corpus.warm_worker" not in modules:
        fs.set_forkserver_preload([*modules, "jazari_nlp.corpus.warm_worker"])


def start_fork_server() -> None:
    """Start the fork server now, with the preload of :func:`preload_fork_server`: its imports and model load
    (~1.5 s of one core) then overlap the build's planning instead of delaying the first pass's workers. It does
    not wait for the server: the server preloads, then serves the first pool. No effect once the server runs."""
    import multiprocess.forkserver as fs

    preload_fork_server()
    fs.ensure_running()


class SourceReader(PipelineStep):
    """Reads this task's share of the work units (files, Hub sources): ``pieces[rank::world_size]``, the pieces
    of :func:`~jazari_nlp.corpus.sources.work_pieces` (cut once by the build, ``pieces``, or here)."""

    type = "jazari"
    name = "reader"

    def __init__(self, sources: list[SourceConfig], units: list[tuple[int, str]], prefixes: list[str],
                 pieces: list | None = None, world_size: int | None = None):
        super().__init__()
        self.sources = [s.model_dump(mode="json") for s in sources]
        self.units = units
        self.prefixes = prefixes
        self.pieces, self.pieces_world_size = pieces, world_size

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from pathlib import Path

        sources = [SourceConfig.model_validate(s, context={"skip_exists": True}) for s in self.sources]
        pieces = self.pieces
        if pieces is None or self.pieces_world_size != world_size:
            pieces = work_pieces(sources, self.units, world_size)  # big line-based files are cut into byte ranges
        for ui, byte_range in pieces[rank::world_size]:
            si, path = self.units[ui]
            src = sources[si]
            if byte_range is None or byte_range[0] == 0:
                self.stat_update("input_units")
            records = iter_hub(src) if path == "hub:" else iter_file(src, Path(path), self.prefixes[ui], byte_range)
            # Counted here and added to the stats once per piece (a stats update per document and key cost more
            # than the reading); in first-seen order, so the stats keys keep their order. A file's key is a
            # (file,) tuple until then: no string built per document.
            counts: dict = {}
            read_key = f"{READ_PREFIX}{src.name}"
            try:
                for rec in records:
                    meta = rec["metadata"]
                    for key in ("documents", read_key, (meta.get("file") or meta.get("path") or path,)):
                        counts[key] = counts.get(key, 0) + 1
                    if "encoding" in meta:  # decoded from a legacy encoding (or with replacement characters)
                        key = f"encoding_{meta['encoding']}"
                        counts[key] = counts.get(key, 0) + 1
                    if meta.get("lone_surrogates_removed"):  # a value per document: replayed one by one
                        counts.setdefault("lone_surrogates_removed", []).append(meta["lone_surrogates_removed"])
                    if meta.get("_read_error") == "unreadable_file":
                        counts["unreadable_files"] = counts.get("unreadable_files", 0) + 1
                    yield Document(text=rec["text"], id=rec["id"], metadata=meta)
            finally:
                for key, n in counts.items():
                    key = f"{FILE_READ_PREFIX}{src.name}\t{key[0]}" if isinstance(key, tuple) else key
                    if isinstance(n, list):
                        for value in n:
                            self.stat_update(key, value=value)
                    else:
                        _add_ones(self.stats[key], n)


class ReadCheck(JazariFilter):
    """Drops the records the reader could not parse, with the reader's reason (malformed_json, invalid_utf8...)."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        err = doc.metadata.pop("_read_error", None)
        return (False, err) if err else True


class InterReader(PipelineStep):
    """Reads back this task's documents from the previous pass (same rank, same order: dedup ids rely on it)."""

    type = "jazari"
    name = "pass_reader"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os

        path = os.path.join(self.folder, f"{rank:05d}.jsonl")
        if not os.path.exists(path):
            return
        with open(path, "rb") as f:
            for line in f:
                row = orjson.loads(line)
                yield Document(text=row.get("text", ""), id=row["id"], metadata=row.get("metadata", {}))


class MatchKey(PipelineStep):
    """Computes the ``match`` text before a pass ends, so the dedup signature here and the steps of the next
    passes reuse it instead of normalizing again (see :func:`~jazari_nlp.corpus.match.match_text`)."""

    type = "jazari"
    name = "match_key"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        seconds, n = 0.0, 0
        try:
            for doc in data:
                start = perf_counter()
                match_text(doc)
                seconds += perf_counter() - start
                yield doc
                n += 1
                if n == BLOCK:  # timed per block of documents, not per document
                    _timed(self.stats, seconds, "block")
                    seconds, n = 0.0, 0
        finally:
            _timed(self.stats, seconds, "block")


class InterWriter(Tallied, JsonlWriter):
    """Saves this task's documents for the next pass (uncompressed jsonl: written once, read once, deleted).

    ``run`` writes the bytes JsonlWriter would (one orjson line per document, in order) in blocks of
    :data:`BLOCK` lines, one file write each; each document flows on once its line is made; the stats are
    DiskWriter's (file key, total, doc_len) counted per block (:class:`Tally`), the time per block.
    """

    def __init__(self, folder: str, keep_match: bool):
        super().__init__(folder, output_filename="${rank}.jsonl", compression=None)
        _rename(self, "pass_writer")
        self.keep_match = keep_match  # the next passes still dedup or decontaminate: carry the match text

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        return f"{str(rank).zfill(5)}.jsonl"  # datatrove's template, without a substitution per document

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        filename, key = self._get_output_filename(None, rank), self._get_output_filename(None, "XXXXX")
        tally = self._tally = Tally(self.stats)
        lines, seconds = [], 0.0
        dumps, option, default, adapter = orjson.dumps, orjson.OPT_APPEND_NEWLINE, _json_default(), self.adapter

        def write() -> None:
            if lines:  # the file is opened by its first write, as datatrove's writer does (no documents: none)
                self._get_output_file_with_retry(filename).write(b"".join(lines))
                lines.clear()

        try:
            with self:
                try:
                    for doc in data:
                        start = perf_counter()
                        lines.append(dumps(adapter(doc), option=option, default=default))
                        tally.add(key)  # DiskWriter.write's stats
                        tally.add("total")
                        self.update_doc_stats(doc)
                        if len(lines) == BLOCK:
                            write()
                            _timed(self.stats, seconds + perf_counter() - start, "block")
                            seconds = 0.0
                            tally.flush()
                        else:
                            seconds += perf_counter() - start
                        yield doc
                finally:  # before the file is closed
                    start = perf_counter()
                    write()
                    _timed(self.stats, seconds + perf_counter() - start if seconds else 0.0, "block")
                    tally.flush()
        finally:
            self._tally = None

    def _default_adapter(self, document: Document) -> dict:
        meta = document.metadata
        if not self.keep_match and MATCH in meta:
            meta = {k: v for k, v in meta.items() if k not in (MATCH, MATCH_OF)}
        return {"text": document.text, "id": document.id, "metadata": meta}


@functools.cache
def _json_default():
    """datatrove's JsonlWriter's ``default`` for orjson (numpy scalars, dates); none in a release without it."""
    try:
        from datatrove.pipeline.writers.jsonl import _json_default as default
    except ImportError:
        return None
    return default


def inter_writer(folder: str, keep_match: bool = True) -> InterWriter:
    return InterWriter(folder, keep_match)
