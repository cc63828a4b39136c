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
    split_words,
    thresholds_for,
)
from jazari_nlp.corpus.match import WORDS, text_hash
from jazari_nlp.corpus.ngram_block import prepare_block
from jazari_nlp.corpus.ngrams import _Grams
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

    batch_size = 64  # the repetition checks' costliest part is computed for the whole batch at once

    def filter_batch(self, batch: list) -> list[bool | tuple[bool, str]]:
        """Per document as ``filter`` would decide, with the word n-grams' repeat search (``prepare_block``)
        done for all long documents of the batch in one go: numpy pays only over many documents."""
        plans = []
        for doc in batch:
            t, stopwords = self._for(doc.metadata.get("lang") or doc.metadata.get("lang_hint"))
            grams = None
            if document_is_long(doc, self.cfg.long_min_words, keep=False):  # langid may have asked already
                tokens = split_words(doc.text)
                words = list(filter(None, tokens))
                grams = (tokens, _Grams(words, [k for k, _ in t.dup_n_grams or ()]))
                doc.metadata[WORDS] = [len(words), text_hash(doc.text)]  # the writer's count_words, if unchanged
            plans.append((doc, t, stopwords, grams))
        prepare_block([grams[1] for *_, grams in plans if grams is not None])
        out: list[bool | tuple[bool, str]] = []
        for doc, t, stopwords, grams in plans:
            if grams is not None:
                self.stat_update("long_documents")
                if stopwords is None and t.min_stop_words:
                    self.stat_update("stopword_check_skipped_no_list")
                reason = quality_reason(doc.text, t, stopwords, grams)
            else:
                self.stat_update("short_documents")
                reason = short_reason(doc.text, t.short, doc.metadata.get("source_kind") or "auto")
            out.append((False, reason) if reason else True)
        return out

    def filter(self, doc) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

