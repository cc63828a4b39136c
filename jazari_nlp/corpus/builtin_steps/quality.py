"""``quality``: Gopher/FineWeb rules for long documents, short-text rules for short ones, per language.

The rules are in :mod:`jazari_nlp.corpus.filters`, their thresholds in :mod:`jazari_nlp.corpus.thresholds`.

Example: ``QualityFilter("04_quality", QualityStep()).filter(doc)`` → ``True`` or ``(False, 'quality_...')``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from jazari_nlp.corpus.common import LONG_MIN_WORDS, _language_keys
from jazari_nlp.corpus.filters import (
    document_is_long,
    quality_reason,
    shipped_stopwords,
    short_reason,
    thresholds_for,
)
from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.corpus.thresholds import QualityThresholds, _check_keys
from jazari_nlp.schema import StrictModel


class QualityStep(StrictModel):
    """Quality filters by document length and source kind, with per-language thresholds.

    Long documents (source kind web/news/books, or kind auto with ``long_min_words`` words or more) get the
    Gopher/FineWeb rules of ``QualityThresholds``; short ones (kinds social, sentences, lexicon, transcripts, or
    auto under ``long_min_words``) get ``QualityThresholds.short``. Each threshold comes from, last one winning:
    (a) the class defaults and jazari's shipped per-language table, (b) the keys written in ``defaults``,
    (c) the keys written in ``per_language.<lang>``.
    """

    defaults: QualityThresholds = Field(default_factory=QualityThresholds, description="Thresholds for every "
                                        "language: the keys written here win over the shipped table.")
    per_language: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-language thresholds (QualityThresholds keys, `short` included): "
        "win over `defaults` and the shipped table.")
    use_shipped_table: bool = Field(True, description="Start from jazari's FineWeb-2-derived per-language table.")
    long_min_words: int = Field(LONG_MIN_WORDS, ge=1, description="Kind auto: documents with at least this many "
                                "words get the long-document rules.")
    stopwords: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra/replacement stopword lists (default: corpus/stopwords/<lang>.txt)."
    )

    @field_validator("per_language")
    @classmethod
    def _check_overrides(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from pydantic import ValidationError

        for lang, over in v.items():
            _check_keys(over, QualityThresholds, str(lang))  # typo'd keys fail here, before any work
            try:
                QualityThresholds.model_validate(over)
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(map(str, (lang, *err["loc"])))
                raise ValueError(f"{where}: {err['msg']}; found {err.get('input')!r}") from None
        return _language_keys(v, "quality.per_language")

    @field_validator("stopwords")
    @classmethod
    def _known_stopword_languages(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return _language_keys(v, "quality.stopwords")


@register_step("quality", QualityStep, order=40)
class QualityFilter(CorpusStep):
    """Gopher/FineWeb rules for long documents, short-text rules for short ones (``filters.is_long``: the
    source's kind, else the length), with the thresholds and stopwords of the document's language."""

    def __init__(self, step_name: str, cfg: QualityStep):
        super().__init__(step_name, cfg)
        self._cache: dict = {}

    def _for(self, lang: str | None):
        if lang not in self._cache:
            t = thresholds_for(lang, self.cfg.defaults, self.cfg.per_language, self.cfg.use_shipped_table)
            custom = self.cfg.stopwords.get(lang or "")
            words = frozenset(w.lower() for w in custom) if custom is not None else shipped_stopwords(lang or "")
            self._cache[lang] = (t, words or None)
        return self._cache[lang]

    def filter(self, doc) -> bool | tuple[bool, str]:
        lang = doc.metadata.get("lang") or doc.metadata.get("lang_hint")
        t, stopwords = self._for(lang)
        kind = doc.metadata.get("source_kind") or "auto"
        if document_is_long(doc, self.cfg.long_min_words, keep=False):  # langid may have asked already
            self.stat_update("long_documents")
            if stopwords is None and t.min_stop_words:
                self.stat_update("stopword_check_skipped_no_list")
            reason = quality_reason(doc.text, t, stopwords)
        else:
            self.stat_update("short_documents")
            reason = short_reason(doc.text, t.short, kind)
        return (False, reason) if reason else True

