"""A tiny Llama + byte-level BPE tokenizer, trained for a few seconds on the bundled samples (tests, benchmarks).

The model is small enough to build on 2 CPU cores in seconds, and trained just enough that its predictions are
peaked (greedy continuations, stop sequences reached), which a random model's are not.

Example::

    path = build_tiny_llama(Path("/tmp/tiny"))   # a folder load_lm / AutoModelForCausalLM can read
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample_lines() -> list[str]:
    """The bundled sample sentences (all languages), in a fixed order."""
    lines: list[str] = []
    for f in sorted(SAMPLES.glob("*.txt")):
        lines += [line for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines


def build_tiny_llama(
    out_dir: Path,
    *,
    texts: list[str] | None = None,
    vocab_size: int = 600,
    hidden_size: int = 64,
    num_layers: int = 2,
    max_position_embeddings: int = 128,
    train_steps: int = 200,
    seed: int = 0,
    chat_template: str | None = None,
) -> Path:
    """Train a tokenizer and a tiny Llama on ``texts`` (default: the bundled samples) and save both to ``out_dir``
    (safetensors). Returns ``out_dir``. Example: ``build_tiny_llama(tmp_path / "m", train_steps=0)``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    texts = sample_lines() if texts is None else texts
    out_dir = Path(out_dir)
    tcfg = TokenizerConfig(vocab_size=vocab_size, min_frequency=2, chat_template=None)  # tests set their own
    tok, _ = train_tokenizer(tcfg, texts, out_dir, progress=False)
    if chat_template is not None:
        tok.chat_template = chat_template
        tok.save_pretrained(str(out_dir))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    if train_steps:
        _train(model, tok, texts, train_steps, block=min(64, max_position_embeddings), seed=seed)
    model.eval()
    model.save_pretrained(str(out_dir), safe_serialization=True)
    return out_dir


def _train(model: Any, tok: Any, texts: list[str], steps: int, block: int, seed: int) -> None:
    """A few AdamW steps on packed blocks (documents joined by EOS): enough to make the predictions peaked."""
    import torch

    ids: list[int] = []
    for enc in tok(texts, add_special_tokens=False)["input_ids"]:
        ids += enc + [tok.eos_token_id]
    blocks = torch.tensor(ids[: len(ids) // block * block]).view(-1, block)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        batch = blocks[torch.randint(len(blocks), (16,), generator=gen)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
