"""The ``eval:`` section of an experiment."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jazari_nlp.schema import InputGlob, TextFilesSection


class EvalConfig(TextFilesSection):
    """Intrinsic evaluation of the trained model on held-out text.

    Example::

        eval:
          max_documents: 500
    """

    section: ClassVar[str] = "eval"

    files: list[InputGlob] = Field(
        default_factory=list,
        description="Evaluate on these txt/jsonl/parquet files instead of the corpus stage's held-out split.",
    )
    text_field: str = "text"
    max_documents: int | None = Field(
        None, ge=1, description="Evaluate on a seeded random sample of this many documents (None: all)."
    )
    batch_size: int = Field(8, ge=1)
    block_size: int | None = Field(None, ge=8, description="Window length (None: train.block_size or 512).")
    per_language: bool = Field(True, description="Also report each language (the corpus `lang` column).")

