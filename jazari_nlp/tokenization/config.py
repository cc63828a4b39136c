"""The ``tokenizer:`` section of an experiment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jazari_nlp.schema import InputGlob, StrictModel


class TokenizerConfig(StrictModel):
    """Train a tokenizer on the corpus stage's train split (or on ``files``).

    Example::

        tokenizer:
          kind: byte_bpe
          vocab_size: 4000
    """

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
