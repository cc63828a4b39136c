"""``decontaminate``: drop (or tag) documents sharing a word n-gram with benchmark files.

The index is :mod:`jazari_nlp.corpus.decontam`'s (``match``-normalized words, xxhash64), read once before any
work (``preflight``) so that an unreadable or empty benchmark stops the build first.

Example: ``Decontaminate("05_decontaminate", DecontaminateStep(benchmarks=["test.tsv"])).filter(doc)``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from jazari_nlp.corpus.match import match_text
from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import InputGlob, TextFilesSection


class DecontaminateStep(TextFilesSection):
    """Drop (or tag) documents sharing a word n-gram with benchmark files (txt/jsonl/tsv/csv/parquet)."""

    section: ClassVar[str] = "decontaminate"
    files_key: ClassVar[str] = "benchmarks"

    benchmarks: list[InputGlob] = Field(default_factory=list)
    text_field: str = Field("text", description="Field/column holding benchmark text (jsonl/csv/parquet).")
    n: int = Field(8, ge=1, description="Word n-gram length; shorter benchmark items are matched whole.")
    min_item_words: int = Field(4, ge=1, description="Benchmark items with fewer words are ignored.")
    mode: Literal["drop", "tag"] = "drop"


@register_step("decontaminate", DecontaminateStep, order=50)
class Decontaminate(CorpusStep):
    """Drops (or tags ``contaminated``) documents that share an n-gram with the benchmark files."""

    def __init__(self, step_name: str, cfg: DecontaminateStep):
        super().__init__(step_name, cfg)
        self._index = None

    @classmethod
    def uses_match(cls, cfg: DecontaminateStep) -> bool:
        return True

    @classmethod
    def preflight(cls, cfg: DecontaminateStep) -> None:
        if cfg.benchmarks:  # a ReadError naming the file when a benchmark is unreadable or gives no n-gram
            cls._build_index(cfg)

    @staticmethod
    def _build_index(cfg: DecontaminateStep):
        from jazari_nlp.corpus.decontam import benchmark_index

        return benchmark_index(list(cfg.benchmarks), cfg.text_field, cfg.n, cfg.min_item_words)

    def _idx(self):
        if self._index is None:
            self._index = self._build_index(self.cfg)
        return self._index

    def filter(self, doc) -> bool | tuple[bool, str]:
        from jazari_nlp.corpus.decontam import contaminated

        if not self.cfg.benchmarks or not contaminated(doc.text, self._idx(), words=match_text(doc).split()):
            return True
        if self.cfg.mode == "tag":
            doc.metadata["contaminated"] = True
            self.stat_update("contaminated_tagged")
            return True
        return False, "contaminated"
