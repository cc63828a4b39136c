"""Decontamination: find documents that share a word n-gram with benchmark text (under the ``match`` profile).

Benchmark items shorter than ``n`` words are matched whole (their full word sequence is the n-gram), so short
test sentences are still caught. Hashes (xxhash64) keep the index small.

Example::

    idx = build_index(["wach nta mzyan had nhar kamlo"], n=4)
    contaminated("... wach nta mzyan had nhar ...", idx)   # → True
"""

from __future__ import annotations

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
    owners: dict[int, list[int]] = field(default_factory=dict)  # hash -> item positions (build_index(owners=True))


def _words(text: str) -> list[str]:
    return normalize(text, "match").split()


def _h(words: list[str]) -> int:
    return xxhash.xxh64_intdigest(" ".join(words))


def read_benchmark_texts(path: Path, text_field: str = "text") -> list[str]:
    """Texts of a benchmark file of any format the project reads (txt one per line, JSONL, CSV/TSV with a
    header, parquet; :mod:`jazari_nlp.readers`). A record that cannot be read is a ``ReadError``: a benchmark
    item that is silently missing from the index is contamination that is never found."""
    from jazari_nlp.readers import ReadError, ReadOptions, iter_items

    texts, bad = [], []
    for item in iter_items(path, ReadOptions(text_field=text_field, id_field=None)):
        if item.error:
            bad.append(f"line {item.line}: {item.error}")
        elif item.text.strip():
            texts.append(item.text)
    if bad:
        hint = f" (is `text_field: {text_field}` right?)" if any("missing_text_field" in b for b in bad) else ""
        raise ReadError(f"decontaminate: {path}: {len(bad)} benchmark record(s) cannot be read{hint}: "
                        + "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""))
    return texts


def benchmark_index(patterns: list[str], text_field: str, n: int, min_item_words: int) -> NgramIndex:
    """The index of every benchmark file, refusing to be empty: an index with no n-gram flags nothing."""
    from jazari_nlp.readers import ReadError, expand_inputs

    files, empty, _ = expand_inputs(patterns)
    if empty:
        raise ReadError(f"decontaminate: benchmark pattern(s) match no file: {empty}")
    texts = [t for f in files for t in read_benchmark_texts(Path(f), text_field)]
    idx = build_index(texts, n, min_item_words)
    if not idx.hashes:
        raise ReadError(f"decontaminate: the benchmark files give no n-gram to look for ({len(texts)} texts read, "
                        f"none with at least min_item_words={min_item_words} words) in "
                        f"{', '.join(map(str, files))}: check `benchmarks`, `text_field` and `min_item_words`")
    return idx


def item_hashes(words: list[str], n: int) -> list[int]:
    """What an item is indexed under: the hashes of its word n-grams, or of the whole item when shorter than n."""
    if len(words) < n:
        return [_h(words)] if words else []
    return [_h(words[i : i + n]) for i in range(len(words) - n + 1)]


def text_hashes(words: list[str], lengths: set[int]):
    """The hashes of a document's word k-grams, for every length k an index holds."""
    for k in lengths:
        for i in range(len(words) - k + 1):
            yield _h(words[i : i + k])


def build_index(texts: list[str], n: int = 8, min_item_words: int = 4, owners: bool = False) -> NgramIndex:
    """Hash every word n-gram of every benchmark item (short items: the whole item). ``owners``: also map each
    hash to the positions of the items that have it (the contamination report needs which items matched)."""
    idx = NgramIndex(n=n, lengths={n})
    for pos, text in enumerate(texts):
        words = _words(text)
        if len(words) < min_item_words:
            continue
        idx.items += 1
        if len(words) < n:
            idx.lengths.add(len(words))
        for h in item_hashes(words, n):
            idx.hashes.add(h)
            if owners:
                idx.owners.setdefault(h, []).append(pos)
    return idx


def contaminated(text: str, idx: NgramIndex, words: list[str] | None = None) -> bool:
    """True when the document contains any indexed n-gram. ``words``: the text's ``match`` words when the
    caller already has them."""
    if not idx.hashes:
        return False
    words = _words(text) if words is None else words
    return any(h in idx.hashes for h in text_hashes(words, idx.lengths))
