"""The ``eval:`` section of an experiment."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, model_validator

from jazari_nlp.schema import InputGlob, StrictModel


class EvalConfig(StrictModel):
    """Intrinsic evaluation of the trained model on held-out text.

    Example::

        eval:
          max_documents: 500
    """

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

    @model_validator(mode="after")
    def _files_have_field(self, info: ValidationInfo) -> EvalConfig:
        # A text_field the files lack would read nothing (or every row as an error): say it at validation.
        if self.files and not (info.context or {}).get("skip_exists"):
            from jazari_nlp.readers import files_field_problems

            problems = files_field_problems(self.files, self.text_field, "eval")
            if problems:
                raise ValueError("; ".join(problems[:3]))
        return self
