"""Corpus building: sources → ordered datatrove steps → per-language parquet shards, rejects and a manifest.

Light on purpose: importing this package loads pydantic only (datatrove and datasets load when a build runs).

Example::

    from jazari_nlp.corpus import CorpusConfig, corpus_files
    files = corpus_files(Path("runs/demo/corpus"), "train")   # [.../train/ary_Arab/00000.parquet, ...]
"""

from __future__ import annotations

from pathlib import Path

from jazari_nlp.corpus.config import CorpusConfig, SourceConfig

__all__ = ["CorpusConfig", "SourceConfig", "corpus_files"]


def corpus_files(stage_dir: Path, split: str) -> list[Path]:
    """Parquet shards of one split (``train`` or ``heldout``) of a built corpus, sorted.

    Example: ``corpus_files(Path("runs/x/corpus"), "heldout")`` → ``[.../heldout/ary_Arab/00000.parquet]``.
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    root = Path(stage_dir) / split
    return sorted(p for p in root.glob("*/*.parquet") if p.is_file()) if root.is_dir() else []
