"""Perplexity and bits-per-byte against values computed by hand."""

import math

import pytest

torch = pytest.importorskip("torch")

from jazari_nlp.evaluation.perplexity import score_documents  # noqa: E402


class UniformLM(torch.nn.Module):
    """Equal logits everywhere: every token costs ln(V) nats."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        out = type("Out", (), {})()
        out.logits = torch.zeros(*input_ids.shape, self.vocab) + self.dummy
        return out


class CharTokenizer:
    eos_token_id = 0
    pad_token_id = 0

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [[1 + (ord(c) % 40) for c in t] for t in texts]}


def test_uniform_model_scores_are_exact():
    texts = ["abc", "ⴰⵣⵓⵍ", "salam 3likom"]
    scores = score_documents(UniformLM(50), CharTokenizer(), texts, groups=["x", "y", "x"], block_size=4)
    tokens = sum(len(t) for t in texts)
    nbytes = sum(len(t.encode()) for t in texts)
    total = scores["all"]
    assert total.tokens == tokens  # every character predicted once, across window cuts
    assert total.perplexity == pytest.approx(50.0)
    assert total.bits_per_byte == pytest.approx(tokens * math.log(50) / (math.log(2) * nbytes))
    assert scores["x"].documents == 2 and scores["y"].bytes == len("ⴰⵣⵓⵍ".encode())


def test_empty_documents_are_skipped():
    scores = score_documents(UniformLM(50), CharTokenizer(), ["", "ab"], block_size=8)
    assert scores["all"].documents == 1 and scores["all"].tokens == 2


