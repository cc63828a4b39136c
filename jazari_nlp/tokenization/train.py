"""Train a byte-level BPE tokenizer with Hugging Face tokenizers and save it for ``AutoTokenizer``.

Normalization is NFC only: NFKC would rewrite the Tifinagh labialization mark U+2D6F (ⵯ → ⵡ). Byte-level
pre-tokenization means no character is ever unknown, whatever the script.

Example::

    tok, n_docs = train_tokenizer(TokenizerConfig(vocab_size=2000), ["ⴰⵣⵓⵍ", "salam 3likom"], Path("tok"))
    AutoTokenizer.from_pretrained("tok")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import TokenizerConfig


def special_tokens(cfg: TokenizerConfig) -> list[str]:
    seen: list[str] = []
    for tok in [cfg.pad_token, cfg.bos_token, cfg.eos_token, cfg.unk_token, *cfg.extra_special_tokens]:
        if tok not in seen:
            seen.append(tok)
    return seen


def train_tokenizer(
    cfg: TokenizerConfig, texts: Iterable[str], out_dir: Path, progress: bool = True, source: str = ""
) -> tuple[Any, int]:
    """Train on ``texts`` and save to ``out_dir``; returns the ``PreTrainedTokenizerFast`` and the number of
    documents it was trained on. ``source`` names where the texts came from, for the error when there are none."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=special_tokens(cfg),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=progress,
    )
    n_docs = 0

    def counted() -> Iterable[str]:
        nonlocal n_docs
        for text in texts:
            n_docs += 1
            yield text

    tokenizer.train_from_iterator(counted(), trainer=trainer)
    if n_docs == 0:
        where = f" in {source}" if source else ""
        raise InputError(f"tokenizer: no text to train on{where}: point tokenizer.files / tokenizer.text_field at "
                         "text, or check that the corpus stage kept documents")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=cfg.bos_token,
        eos_token=cfg.eos_token,
        pad_token=cfg.pad_token,
        unk_token=cfg.unk_token,
        additional_special_tokens=list(cfg.extra_special_tokens) or None,
        model_max_length=cfg.model_max_length,
        clean_up_tokenization_spaces=False,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    return fast, n_docs


def fertility(tokenizer: Any, texts: Iterable[str]) -> float:
    """Tokens per whitespace word (lower is better): a quick check of how well a tokenizer fits a language."""
    from jazari_nlp.hf_logging import without_length_warning

    without_length_warning(tokenizer)  # only counted, never fed to a model
    words = tokens = 0
    for text in texts:
        words += len(text.split())
        tokens += len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return tokens / words if words else 0.0
