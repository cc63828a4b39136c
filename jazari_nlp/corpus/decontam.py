"""Decontamination: find documents that share a word n-gram with benchmark text (under the ``match`` profile).

Benchmark items shorter than ``n`` words are matched whole (their full word sequence is the n-gram), so short
test sentences are still caught. Hashes (xxhash64) keep the index small.

Example::

    idx = build_index(["wach nta mzyan had nhar kamlo"], n=4)
    contaminated("... wach nta mzyan had nhar ...", idx)   # → True
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from jazari_nlp.text import normalize


@dataclass
class NgramIndex:
    n: int
    lengths: set[int] = field(default_factory=set)  # n, plus the lengths of whole short items
    hashes: set[int] = field(default_factory=set)
    items: int = 0


def _words(text: str) -> list[str]:
    return normalize(text, "match").split()


def _h(words: list[str]) -> int:
    return xxhash.xxh64_intdigest(" ".join(words))


def read_benchmark_texts(path: Path, text_field: str = "text") -> list[str]:
    """Texts of a benchmark file: txt (one per line), jsonl, csv/tsv (``text_field`` column) or parquet."""
    name = path.name.lower()
    if name.endswith(".jsonl") or name.endswith(".json"):
        out = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get(text_field), str):
                out.append(row[text_field])
        return out
    if name.endswith((".csv", ".tsv")):
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if name.endswith(".tsv") else ",")
            if reader.fieldnames and text_field in reader.fieldnames:
                return [r[text_field] for r in reader if r.get(text_field)]
            return []
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=[text_field])
        return [t for t in table.column(text_field).to_pylist() if isinstance(t, str)]
    return [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]


def build_index(texts: list[str], n: int = 8, min_item_words: int = 4) -> NgramIndex:
    """Hash every word n-gram of every benchmark item (short items: the whole item)."""
    idx = NgramIndex(n=n, lengths={n})
    for text in texts:
        words = _words(text)
        if len(words) < min_item_words:
            continue
        idx.items += 1
        if len(words) < n:
            idx.lengths.add(len(words))
            idx.hashes.add(_h(words))
            continue
        for i in range(len(words) - n + 1):
            idx.hashes.add(_h(words[i : i + n]))
    return idx


def contaminated(text: str, idx: NgramIndex, words: list[str] | None = None) -> bool:
    """True when the document contains any indexed n-gram. ``words``: the text's ``match`` words when the
    caller already has them."""
    if not idx.hashes:
        return False
    words = _words(text) if words is None else words
    for k in idx.lengths:
        for i in range(len(words) - k + 1):
            if _h(words[i : i + k]) in idx.hashes:
                return True
    return False
