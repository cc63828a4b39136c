"""Where a built corpus keeps its splits, for the stages that take ``files:``: a corpus output folder (its
``manifest.json`` beside ``train/`` and ``heldout/``) or a run directory (its ``corpus/`` stage) named in
``train.files``, ``eval.files`` or ``tokenizer.files`` stands for its shards of one split, never for its other
split, manifest, logs or rejects. No imports beyond the standard library: config validation uses it too.

Example::

    split_shards(Path("runs/quickstart"), "heldout")   # [.../corpus/heldout/ary_Arab/000_00000.parquet, ...]
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "heldout")


def is_corpus_dir(path: Path) -> Path | None:
    """The corpus folder ``path`` stands for (itself, or a run directory's ``corpus/``), or None."""
    path = Path(path)
    if not path.is_dir():
        return None
    if (path / "config.sha256").is_file() and (path / "corpus").is_dir():
        path = path / "corpus"
    if (path / "manifest.json").is_file() and any((path / s).is_dir() for s in SPLITS):
        return path
    return None


def split_shards(path: Path, split: str) -> list[Path] | None:
    """The sorted ``<lang>/*.parquet`` shards of ``split`` when ``path`` is a corpus folder or run directory,
    else None (an ordinary file, folder or glob)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = is_corpus_dir(Path(path)) if "*" not in str(path) else None
    if root is None:
        return None
    d = root / split
    return sorted(p for p in d.glob("*/*.parquet") if p.is_file()) if d.is_dir() else []


def resolve(patterns: list[str], split: str) -> tuple[list[str], list[str]]:
    """``(patterns with every corpus folder replaced by its split's shards, the corpus folders without that
    split)``. Example: ``resolve(["runs/q", "extra.txt"], "train")``."""
    out: list[str] = []
    missing: list[str] = []
    for pattern in patterns:
        shards = split_shards(Path(pattern), split)
        if shards is None:
            out.append(pattern)
        elif not shards:
            missing.append(pattern)
        else:
            out.extend(str(p) for p in shards)
    return out, missing
