"""The ``tokenizer:`` section of an experiment."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from jazari_nlp.schema import InputGlob, TextFilesSection


class TokenizerConfig(TextFilesSection):
    """Train a tokenizer on the corpus stage's train split (or on ``files``).

    Example::

        tokenizer:
          kind: byte_bpe
          vocab_size: 4000
    """

    section: ClassVar[str] = "tokenizer"

    kind: Literal["byte_bpe"] = Field("byte_bpe", description="Tokenizer algorithm. byte_bpe: byte-level BPE (HF tokenizers).")
    vocab_size: int = Field(8000, ge=300, le=1_000_000, description="Target vocabulary size, special tokens included.")
    min_frequency: int = Field(2, ge=1, description="A pair must occur this often to be merged.")
    files: list[InputGlob] = Field(
        default_factory=list,
        description="Train on these txt/jsonl/parquet files instead of the corpus stage's train split.",
    )
    text_field: str = Field("text", description="Field holding the text in jsonl/parquet files.")
    max_documents: int | None = Field(None, ge=1, description="Use at most this many documents (None: all).")
    bos_token: str = "<s>"
    eos_token: str = "</s>"
    pad_token: str = "<pad>"
    unk_token: str = "<unk>"
    extra_special_tokens: list[str] = Field(default_factory=list, description="More special tokens to reserve.")
    model_max_length: int = Field(2048, ge=8, description="Longest sequence the tokenizer reports.")

    @field_validator("bos_token", "eos_token", "pad_token", "unk_token")
    @classmethod
    def _not_empty(cls, v: str, info) -> str:
        # An empty token cannot be a vocabulary entry: training packs documents separated by EOS, batches
        # are padded with PAD. Defaults: <s> </s> <pad> <unk>.
        if not v.strip():
            default = cls.model_fields[info.field_name].default
            raise ValueError(f"must not be empty; set it to a token such as {default!r} (the default)")
        return v

    @field_validator("extra_special_tokens")
    @classmethod
    def _no_empty_extra(cls, v: list[str]) -> list[str]:
        if any(not t.strip() for t in v):
            raise ValueError(f"an empty token in {v!r}: remove it")
        return v

