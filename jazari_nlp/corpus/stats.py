"""Counts of a built corpus: documents, words, characters and UTF-8 bytes per language and script.

Any parquet file with a ``text`` column can be counted; a file without jazari's ``lang``/``script`` columns is
counted under ``?`` for what it lacks, and ``missing_columns`` says which files lacked which column.

Example::

    table = corpus_stats(Path("runs/demo/corpus"))
    table["by_lang_script"]["ary_Arab/Arab"]["words"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

LABELS = ("lang", "script")
UNKNOWN = "?"


def shard_counts(path: Path, missing: dict[str, list[str]] | None = None) -> dict[str, dict[str, int]]:
    """Per ``lang/script`` counts of one parquet shard (vectorised with pyarrow, no Python loop over rows).

    A label column the file lacks counts as ``?`` and is recorded in ``missing`` (file → column names)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        # one file: ParquetFile, not read_table (that goes through pyarrow.dataset, ~0.5 s to import)
        with pq.ParquetFile(path) as pf:
            names = pf.schema_arrow.names
            absent = [c for c in LABELS if c not in names]
            if "text" not in names:
                raise InputError(f"{path}: no `text` column (it has {', '.join(names) or 'no columns'}): corpus "
                                 "stats counts parquet files with a `text` column, as `jazari corpus build` writes "
                                 "them")
            table = pf.read(columns=["text", *(c for c in LABELS if c in names)])
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"{path}: not a readable parquet file ({e}): remove it from the folder, or rebuild the "
                         "corpus") from None
    if absent and missing is not None:
        missing[str(path)] = absent
    if table.num_rows == 0:
        return {}
    text = table.column("text")
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        raise InputError(f"{path}: its `text` column holds {text.type}, not text")
    labels = [_label(table, c, path) for c in LABELS]
    # pyarrow splits "" into [""] and " a" into ["", "a"]: trim, and count no word in an empty text
    trimmed = pc.utf8_trim_whitespace(text)
    words = pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), 0, pc.list_value_length(pc.utf8_split_whitespace(trimmed)))
    # summed per key with numpy (Table.group_by runs on pyarrow's acero engine, ~0.5 s to import)
    import numpy as np

    keys = pc.binary_join_element_wise(*labels, "/").combine_chunks().dictionary_encode()
    index = keys.indices.to_numpy(zero_copy_only=False)
    sums = {"docs": np.bincount(index, minlength=len(keys.dictionary)).astype(np.int64)}
    for name, values in (("words", words), ("chars", pc.utf8_length(text)), ("bytes", pc.binary_length(text))):
        total = np.zeros(len(keys.dictionary), dtype=np.int64)
        np.add.at(total, index, np.asarray(pc.fill_null(pc.cast(values, pa.int64()), 0)))  # a null text adds 0
        sums[name] = total
    return {key: {c: int(sums[c][i]) for c in ("docs", "words", "chars", "bytes")}
            for i, key in enumerate(keys.dictionary.to_pylist())}


def _label(table: Any, column: str, path: Path) -> Any:
    """A label column as text with nulls as ``?``; ``?`` throughout when the file has no such column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column not in table.column_names:
        return pa.chunked_array([pa.array([UNKNOWN] * table.num_rows, pa.string())])
    try:
        values = pc.cast(table.column(column), pa.string())
    except pa.ArrowException as e:
        raise InputError(f"{path}: its `{column}` column cannot be read as text ({e})") from None
    return pc.fill_null(values, UNKNOWN)


def corpus_stats(run_dir: Path) -> dict[str, Any]:
    """Totals per split, language, script and language/script for every parquet shard under ``run_dir``."""
    run_dir = Path(run_dir)
    files = sorted(run_dir.rglob("*.parquet"))
    files = [f for f in files if "_work" not in f.parts and "rejects" not in f.parts]
    zero = {"docs": 0, "words": 0, "chars": 0, "bytes": 0}
    out: dict[str, Any] = {"total": dict(zero), "by_split": {}, "by_lang": {}, "by_script": {}, "by_lang_script": {}}
    missing: dict[str, list[str]] = {}
    for f, (counts, miss) in zip(files, _counted(files), strict=True):
        missing.update(miss)
        rel = f.relative_to(run_dir).parts
        split = rel[0] if len(rel) > 2 and rel[0] in ("train", "heldout") else "all"
        for key, c in counts.items():
            lang, _, script = key.partition("/")
            for table, k in ((out["by_split"], split), (out["by_lang"], lang), (out["by_script"], script),
                             (out["by_lang_script"], key), (out, "total")):
                row = table.setdefault(k, dict(zero))
                for m in zero:
                    row[m] += c[m]
    for k in ("by_split", "by_lang", "by_script", "by_lang_script"):
        out[k] = dict(sorted(out[k].items()))
    if missing:  # only for files jazari did not write
        out["missing_columns"] = missing
    return out


def _counted(files: list[Path]):
    """``(shard_counts, missing columns)`` per file, in order, a few files at a time in threads: pyarrow reads and
    computes without the GIL, so the counting of a build's shards (the serial end of ``jazari corpus build``)
    uses the machine's cores. Memory: at most that many shards' columns at once. The first file that fails
    raises, as in a loop."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    def one(f: Path):
        miss: dict[str, list[str]] = {}
        return shard_counts(f, miss), miss

    workers = min(len(files), os.cpu_count() or 1, 4)
    if workers <= 1:
        return map(one, files)
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, files))


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text table of ``corpus_stats`` (one row per language/script)."""
    head = f"{'lang/script':<22}{'docs':>12}{'words':>14}{'chars':>16}{'bytes':>16}"
    lines = [head, "-" * len(head)]
    for key, c in {**stats["by_lang_script"], "TOTAL": stats["total"]}.items():
        lines.append(f"{key:<22}{c['docs']:>12,}{c['words']:>14,}{c['chars']:>16,}{c['bytes']:>16,}")
    return "\n".join(lines)
