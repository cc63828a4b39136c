"""Perplexity and bits-per-byte of a causal LM on documents.

Perplexity depends on the tokenizer (more, shorter tokens give lower per-token loss); bits-per-byte divides
the total negative log-likelihood by the UTF-8 bytes of the text, so models with different tokenizers compare:

    bits_per_byte = sum(NLL in nats) / (ln 2 * bytes)

Each document is scored on its own, starting after an EOS token (the separator used in training); documents
longer than a window are cut into windows, each starting after EOS, so a little context is lost at the cuts.

Example::

    scores = score_documents(model, tokenizer, ["salam", "ⴰⵣⵓⵍ"], block_size=128)
    scores.perplexity, scores.bits_per_byte
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Scores:
    nll: float = 0.0  # nats
    tokens: int = 0
    bytes: int = 0
    documents: int = 0

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll / self.tokens) if self.tokens else float("nan")

    @property
    def bits_per_byte(self) -> float:
        return self.nll / (math.log(2) * self.bytes) if self.bytes else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "perplexity": round(self.perplexity, 4),
            "bits_per_byte": round(self.bits_per_byte, 4),
            "nll_nats": round(self.nll, 4),
            "tokens": self.tokens,
            "bytes": self.bytes,
            "documents": self.documents,
        }


@dataclass
class _Window:
    ids: list[int]
    group: str
    doc: int
    extras: dict = field(default_factory=dict)


def score_documents(
    model: Any,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    groups: Iterable[str] | None = None,
    block_size: int = 512,
    batch_size: int = 8,
    progress: Any = None,
    on_total: Any = None,
) -> dict[str, Scores]:
    """Score texts; returns ``{"all": Scores, <group>: Scores, ...}`` (groups: e.g. each text's language).

    ``on_total(n)`` is told the number of windows once they are built; ``progress(k)`` after each batch."""
    import torch

    from jazari_nlp.hf_logging import without_length_warning

    without_length_warning(tokenizer)  # long documents are cut into windows of block_size below
    texts = list(texts)
    group_list = list(groups) if groups is not None else ["all"] * len(texts)
    results: dict[str, Scores] = {"all": Scores()}
    eos = tokenizer.eos_token_id
    windows: list[_Window] = []
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    for i, (text, ids, group) in enumerate(zip(texts, encoded, group_list, strict=True)):
        if not ids:
            continue
        for bucket in {"all", group}:
            s = results.setdefault(bucket, Scores())
            s.bytes += len(text.encode("utf-8"))
            s.documents += 1
        step = block_size - 1
        for start in range(0, len(ids), step):
            windows.append(_Window([eos, *ids[start : start + step]], group, i))
    windows.sort(key=lambda w: len(w.ids))
    if on_total is not None:
        on_total(len(windows))
    device = next(model.parameters()).device
    model.eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    with torch.no_grad():
        for b in range(0, len(windows), batch_size):
            batch = windows[b : b + batch_size]
            width = max(len(w.ids) for w in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, w in enumerate(batch):
                input_ids[r, : len(w.ids)] = torch.tensor(w.ids)
                mask[r, : len(w.ids)] = 1
            input_ids, mask = input_ids.to(device), mask.to(device)
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            target = input_ids[:, 1:]
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask[:, 1:]
            per_row = nll.sum(dim=1).tolist()
            counts = mask[:, 1:].sum(dim=1).tolist()
            for w, value, count in zip(batch, per_row, counts, strict=True):
                for bucket in {"all", w.group}:
                    results[bucket].nll += value
                    results[bucket].tokens += int(count)
            if progress is not None:
                progress(len(batch))
    return results
