"""Causal-LM training: a model from a YAML spec or a local checkpoint, trained with transformers' Trainer."""

from jazari_nlp.training.config import ModelConfig, TrainConfig

__all__ = ["ModelConfig", "TrainConfig"]
