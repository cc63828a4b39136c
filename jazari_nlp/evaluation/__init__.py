"""Evaluation: perplexity and bits-per-byte on held-out text (later: national benchmarks as YAML tasks)."""

from jazari_nlp.evaluation.config import EvalConfig

__all__ = ["EvalConfig"]
