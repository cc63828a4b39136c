"""Tokenizer training. ``train_tokenizer(cfg, texts, out_dir)`` saves a folder AutoTokenizer can load."""

from jazari_nlp.tokenization.config import TokenizerConfig

__all__ = ["TokenizerConfig"]
