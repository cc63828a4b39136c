"""jazari's corpus steps as datatrove pipeline steps: the names older code imports from here.

The steps themselves are in ``builtin_steps/`` (each YAML step: its config model beside its step class,
registered in :mod:`jazari_nlp.corpus.registry`); the datatrove pieces of a pass in :mod:`~jazari_nlp.corpus.passes`
(readers, the step adapter, the local executor), :mod:`~jazari_nlp.corpus.writers` (shards, rejects) and
:mod:`~jazari_nlp.corpus.dedup_stages`. Importing this module imports datatrove.

Example::

    step = StepFilter(QualityFilter("04_quality", QualityStep()))
    kept = list(step.run(iter([Document(text="...", id="1", metadata={"lang": "ary_Arab"})])))
"""

from __future__ import annotations

from jazari_nlp.corpus.builtin_steps.decontaminate import Decontaminate
from jazari_nlp.corpus.builtin_steps.dedup import ExactDedup, NearDedup
from jazari_nlp.corpus.builtin_steps.langid import LangId, LangIdStepError, _canonical
from jazari_nlp.corpus.builtin_steps.normalize import Normalize
from jazari_nlp.corpus.builtin_steps.pii import Pii
from jazari_nlp.corpus.builtin_steps.quality import QualityFilter
from jazari_nlp.corpus.builtin_steps.repair import Repair, _mojibake_hint
from jazari_nlp.corpus.common import (
    DROP_PREFIX,
    DUPLICATE_REASONS,
    FILE_DROP_PREFIX,
    FILE_KEPT_PREFIX,
    FILE_READ_PREFIX,
    KEPT_PREFIX,
    READ_PREFIX,
    ROW_FIELDS,
)
from jazari_nlp.corpus.dedup_stages import (
    ExactDuplicateFilter,
    JazariMinhashSignature,
    NearDuplicateFilter,
    WhitespaceWords,
)
from jazari_nlp.corpus.match import DEDUP_KEYS, MATCH, MATCH_OF, key_match, key_raw, key_train, match_text
from jazari_nlp.corpus.passes import (
    InterReader,
    InterWriter,
    JazariFilter,
    LocalExecutor,
    MatchKey,
    ReadCheck,
    SourceReader,
    StepFilter,
    _rename,
    inter_writer,
)
from jazari_nlp.corpus.writers import REJECT_FIELDS, CorpusWriter, RejectWriter, _row, heldout, parquet_schema

__all__ = [
    "DEDUP_KEYS", "DROP_PREFIX", "DUPLICATE_REASONS", "FILE_DROP_PREFIX", "FILE_KEPT_PREFIX", "FILE_READ_PREFIX",
    "KEPT_PREFIX", "MATCH", "MATCH_OF", "READ_PREFIX", "REJECT_FIELDS", "ROW_FIELDS", "CorpusWriter",
    "Decontaminate", "ExactDedup", "ExactDuplicateFilter", "InterReader", "InterWriter", "JazariFilter",
    "JazariMinhashSignature", "LangId", "LangIdStepError", "LocalExecutor", "MatchKey", "NearDedup",
    "NearDuplicateFilter", "Normalize", "Pii", "QualityFilter", "ReadCheck", "RejectWriter", "Repair",
    "SourceReader", "StepFilter", "WhitespaceWords", "_canonical", "_mojibake_hint", "_rename", "_row", "heldout",
    "inter_writer", "key_match", "key_raw", "key_train", "match_text", "parquet_schema",
]
