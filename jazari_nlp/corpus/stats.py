"""Counts of a built corpus: documents, words, characters and UTF-8 bytes per language and script.

Example::

    table = corpus_stats(Path("runs/demo/corpus"))
    table["by_lang_script"]["ary_Arab/Arab"]["words"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def shard_counts(path: Path) -> dict[str, dict[str, int]]:
    """Per ``lang/script`` counts of one parquet shard (vectorised with pyarrow, no Python loop over rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["text", "lang", "script"])
    if table.num_rows == 0:
        return {}
    text = table.column("text")
    words = pc.list_value_length(pc.utf8_split_whitespace(text))
    t = pa.table({
        "key": pc.binary_join_element_wise(table.column("lang"), table.column("script"), "/"),
        "docs": pa.array([1] * table.num_rows, pa.int64()),
        "words": pc.cast(words, pa.int64()),
        "chars": pc.cast(pc.utf8_length(text), pa.int64()),
        "bytes": pc.cast(pc.binary_length(text), pa.int64()),
    })
    g = t.group_by("key").aggregate([(c, "sum") for c in ("docs", "words", "chars", "bytes")]).to_pylist()
    return {r["key"]: {c: int(r[f"{c}_sum"]) for c in ("docs", "words", "chars", "bytes")} for r in g}


def corpus_stats(run_dir: Path) -> dict[str, Any]:
    """Totals per split, language, script and language/script for every parquet shard under ``run_dir``."""
    run_dir = Path(run_dir)
    files = sorted(run_dir.rglob("*.parquet"))
    files = [f for f in files if "_work" not in f.parts and "rejects" not in f.parts]
    zero = {"docs": 0, "words": 0, "chars": 0, "bytes": 0}
    out: dict[str, Any] = {"total": dict(zero), "by_split": {}, "by_lang": {}, "by_script": {}, "by_lang_script": {}}
    for f in files:
        rel = f.relative_to(run_dir).parts
        split = rel[0] if len(rel) > 2 and rel[0] in ("train", "heldout") else "all"
        for key, c in shard_counts(f).items():
            lang, _, script = key.partition("/")
            for table, k in ((out["by_split"], split), (out["by_lang"], lang), (out["by_script"], script),
                             (out["by_lang_script"], key), (out, "total")):
                row = table.setdefault(k, dict(zero))
                for m in zero:
                    row[m] += c[m]
    for k in ("by_split", "by_lang", "by_script", "by_lang_script"):
        out[k] = dict(sorted(out[k].items()))
    return out


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text table of ``corpus_stats`` (one row per language/script)."""
    head = f"{'lang/script':<22}{'docs':>12}{'words':>14}{'chars':>16}{'bytes':>16}"
    lines = [head, "-" * len(head)]
    for key, c in {**stats["by_lang_script"], "TOTAL": stats["total"]}.items():
        lines.append(f"{key:<22}{c['docs']:>12,}{c['words']:>14,}{c['chars']:>16,}{c['bytes']:>16,}")
    return "\n".join(lines)
