"""The datatrove steps that make a pass: reading the sources (or the previous pass's documents), running the
registered steps, saving the documents for the next pass. Imported when a build assembles its passes.

Example::

    pipe = [SourceReader(cfg.sources, units, prefixes), ReadCheck("00_read"),
            StepFilter(QualityFilter("04_quality", QualityStep()))]
"""

from __future__ import annotations

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


class JazariFilter(BaseFilter):
    """A named filter: the name (``03_quality``) labels its counters and its rejects folder."""

    type = "jazari"

    def __init__(self, step_name: str, exclusion_writer=None, batch_size: int = 1):
        self.name = step_name
        super().__init__(exclusion_writer, batch_size=batch_size)


class StepFilter(JazariFilter):
    """Runs a registered :class:`~jazari_nlp.corpus.registry.CorpusStep` as a datatrove filter: datatrove counts
    its documents and drop reasons, its ``exclusion_writer`` writes the drops, its stats hold the step's counters."""

    def __init__(self, step: CorpusStep, exclusion_writer=None):
        super().__init__(step.name, exclusion_writer, batch_size=step.batch_size)
        self.step = step
        step.counters = self

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.step.filter(doc)

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


def _add_ones(metric, n: int) -> None:
    """``metric.update(1)`` ``n`` times, at once: the same total, count, mean, min, max and variance (datatrove's
    parallel merge of two stats, exact here: every value is 1), so the task stats files stay as they were."""
    from datatrove.utils.stats import MetricStats

    try:  # datatrove's merge of two MetricStats (its private running variance included)
        merged = metric + MetricStats(total=n, n=n, mean=1.0, min=1, max=1)
        fields = (merged.total, merged.n, merged.mean, merged.min, merged.max, merged._running_variance)
    except (AttributeError, TypeError):  # another datatrove release: one update per document, as before
        for _ in range(n):
            metric.update(1)
        return
    metric.total, metric.n, metric.mean, metric.min, metric.max, metric._running_variance = fields


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
        for doc in data:
            with self.track_time():
                match_text(doc)
            yield doc


class InterWriter(JsonlWriter):
    """Saves this task's documents for the next pass (uncompressed jsonl: written once, read once, deleted)."""

    def __init__(self, folder: str, keep_match: bool):
        super().__init__(folder, output_filename="${rank}.jsonl", compression=None)
        _rename(self, "pass_writer")
        self.keep_match = keep_match  # the next passes still dedup or decontaminate: carry the match text

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        return f"{str(rank).zfill(5)}.jsonl"  # datatrove's template, without a substitution per document

    def _default_adapter(self, document: Document) -> dict:
        meta = document.metadata
        if not self.keep_match and MATCH in meta:
            meta = {k: v for k, v in meta.items() if k not in (MATCH, MATCH_OF)}
        return {"text": document.text, "id": document.id, "metadata": meta}


def inter_writer(folder: str, keep_match: bool = True) -> InterWriter:
    return InterWriter(folder, keep_match)
