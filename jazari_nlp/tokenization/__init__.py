"""Tokenizers for the languages of Morocco: train (byte-level BPE, sentencepiece unigram/BPE, WordPiece) on a
balanced sample, compare with other tokenizers per language, and extend an existing model's vocabulary.

Example::

    from jazari_nlp.tokenization import TokenizerConfig, train_tokenizer, evaluate_tokenizers, read_parallel
    tok, n = train_tokenizer(TokenizerConfig(kind="sentencepiece_bpe", vocab_size=8000), lines, Path("tok"))
    report = evaluate_tokenizers(["tok", "peer:tekken"], read_parallel(["sib200/ary_Arab/dev.tsv"]))

The heavy functions are imported on first use, so that ``import jazari_nlp.tokenization`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from jazari_nlp.tokenization.config import ExtendConfig, SampleConfig, TokenizerConfig, TokenizerSource

_LAZY = {
    "train_tokenizer": "jazari_nlp.tokenization.train",
    "fertility": "jazari_nlp.tokenization.train",
    "draw_sample": "jazari_nlp.tokenization.sampling",
    "SampleInput": "jazari_nlp.tokenization.sampling",
    "inputs_from_config": "jazari_nlp.tokenization.sampling",
    "evaluate_tokenizers": "jazari_nlp.tokenization.evaluate",
    "read_parallel": "jazari_nlp.tokenization.evaluate",
    "load_any_tokenizer": "jazari_nlp.tokenization.evaluate",
    "write_report": "jazari_nlp.tokenization.report",
    "list_peers": "jazari_nlp.tokenization.peers",
    "extend_model": "jazari_nlp.tokenization.extend",
    "run_tokenizer_stage": "jazari_nlp.tokenization.stage",
    "set_chat_template": "jazari_nlp.tokenization.chat",
}

__all__ = ["TokenizerConfig", "SampleConfig", "TokenizerSource", "ExtendConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jazari_nlp.tokenization' has no attribute {name!r}")
