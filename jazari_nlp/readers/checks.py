"""Checks before any work (does the file have the configured field?) and the stages' plain text reader.

Example: ``check_fields(Path("tweets.csv"), ReadOptions(text_field="text"))`` → a message or None.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jazari_nlp.readers.decoding import _SURROGATE, text_lines
from jazari_nlp.readers.formats import Item, ReadError, ReadOptions, expand_inputs, format_of
from jazari_nlp.readers.records import _json_array, iter_items, loads_json
from jazari_nlp.readers.tables import _check_header, _csv_stream, _header, _unquote

# ------------------------------------------------------------------------------------------------ checks


def file_fields(path: Path, opts: ReadOptions = ReadOptions(), rows: int = 50) -> list[str] | None:
    """The field names a file offers: the CSV/TSV header, the parquet or ``save_to_disk`` columns, the keys of
    the first ``rows`` JSON lines; None for txt/WARC (no fields) or a file that cannot be read."""
    path = Path(path)
    try:
        fmt = format_of(path, opts)
        if fmt in ("csv", "tsv"):
            f, reader, _, _ = _csv_stream(path, fmt, opts)
            with f:
                header = _header(reader) or []
            return [_unquote(h.strip()) for h in header]
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        if fmt == "arrow":
            names: list[str] = []
            for info in path.rglob("dataset_info.json"):
                names += [k for k in json.loads(info.read_text()).get("features", {}) if k not in names]
            return names or None
        if fmt == "jsonl":
            rows_ = _json_array(path)
            keys: dict[str, None] = {}
            if rows_ is not None:
                for row in rows_[:rows]:
                    keys.update(dict.fromkeys(row) if isinstance(row, dict) else {})
                return list(keys)
            for i, (_, text, err, _) in enumerate(text_lines(path, opts)):
                if i >= rows:
                    break
                try:
                    row = loads_json(text) if not err else None
                except (ValueError, RecursionError):
                    row = None
                if isinstance(row, dict):
                    keys.update(dict.fromkeys(row))
            return list(keys)
    except Exception:  # noqa: BLE001 - unreadable files are reported when read, not here
        return None
    return None


def check_fields(path: Path, opts: ReadOptions, where: str = "text_field", check_id: bool = False) -> str | None:
    """A problem message when the file does not offer ``opts.text_field`` (or a kept field, or with ``check_id``
    the ``id_field`` a config names), else None.

    Example: ``check_fields(Path("tweets.csv"), ReadOptions(text_field="text"))`` →
    ``"tweets.csv has no column 'text' (its columns: tweet, label); set text_field: tweet"``."""
    names = file_fields(path, opts)
    if names is None:
        return None
    if len(set(names)) != len(names):
        try:
            _check_header(path, names)
        except ReadError as e:
            return str(e)
    if not names:
        if format_of(path, opts) == "jsonl" and os.path.getsize(path) > 0:
            return f"{path}: no JSON object in its first lines (is it JSON lines?)"
        return None
    wanted = [(opts.text_field, where), *[(k, where.replace("text_field", "keep_fields")) for k in opts.keep_fields
                                          if k != "*"]]
    if check_id and opts.id_field:
        wanted.append((opts.id_field, where.replace("text_field", "id_field")))
    missing = [(f, key) for f, key in wanted if f not in names]
    if not missing:
        return None
    name, key = missing[0]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    kind = "column" if format_of(path, opts) != "jsonl" else "field"
    if key == where:
        guess = _guess_text_field(names)
        fix = f"set {key}: {guess}" if guess else f"set {key} to one of them"
    else:  # a kept field or the id field: a likely spelling, else what to do instead
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        fix = (f"did you mean {close[0]!r}? fix {key}" if close else f"fix {key}, or " + (
            "remove that name" if "keep_fields" in key else "leave id_field out (rows then get file:line ids)"))
    return f"{path} has no {kind} {name!r} (its {kind}s: {shown}); {fix}"


def _guess_text_field(names: list[str]) -> str | None:
    for cand in ("text", "tweet", "content", "sentence", "darija", "body", "message", "document"):
        if cand in names:
            return cand
    return None


# ------------------------------------------------------------------------------------------------ texts


@dataclass
class ReadReport:
    """What a reader skipped, per file and reason, so that a caller can say it (or fail when nothing was read)."""

    used: int = 0
    bad: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> reason -> count
    first_bad: dict[str, int] = field(default_factory=dict)  # file -> line of the first bad record

    def add_bad(self, path: Path, item: Item) -> None:
        per = self.bad.setdefault(str(path), {})
        per[item.error] = per.get(item.error, 0) + 1
        self.first_bad.setdefault(str(path), item.line)

    def summary(self) -> str:
        parts = []
        for f, reasons in self.bad.items():
            r = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            parts.append(f"{f}: {r} (first at line {self.first_bad[f]})")
        return "; ".join(parts)


def iter_texts(files: Iterable[Path], text_field: str = "text", limit: int | None = None,
               report: ReadReport | None = None, what: str = "input") -> Iterator[str]:
    """Non-empty texts of files of any format (see :func:`iter_items`). Unusable records are counted in
    ``report`` and logged once per file; when not one record of the files is usable, :class:`ReadError`
    (naming the files, the reasons and the field) instead of an empty stream.

    Example: ``list(iter_texts([Path("news.tsv")], text_field="sentence", limit=10))``
    """
    import logging

    log = logging.getLogger("jazari_nlp.readers")
    report = report if report is not None else ReadReport()
    opts = ReadOptions(text_field=text_field, id_field=None)
    files = list(files)
    for path in files:
        bad_before = sum(report.bad.get(str(path), {}).values())
        for item in iter_items(path, opts):
            if item.error:
                report.add_bad(path, item)
                continue
            if not item.text.strip():
                continue
            yield _SURROGATE.sub("", item.text)
            report.used += 1
            if limit is not None and report.used >= limit:
                return
        bad = sum(report.bad.get(str(path), {}).values()) - bad_before
        if bad:
            reasons = report.bad[str(path)]
            log.warning("%s: %s: %d records not usable (%s), first at line %d", what, path, bad,
                        ", ".join(f"{n} {k}" for k, n in reasons.items()), report.first_bad[str(path)])
    if report.used == 0 and report.bad:
        raise ReadError(f"{what}: no usable text in {', '.join(map(str, files))}: {report.summary()}"
                        + (f"; is `text_field: {text_field}` right?" if any(
                            "missing_text_field" in r for r in report.bad.values()) else ""))


def files_field_problems(patterns: Iterable[str], text_field: str, where: str, max_files: int = 20) -> list[str]:
    """Config validation of a stage's ``files:`` + ``text_field``: one message per file (of the first
    ``max_files``) that does not have the field. Example: ``files_field_problems(["a.tsv"], "text", "eval")``."""
    files, _, _ = expand_inputs(patterns)
    problems = []
    for f in files[:max_files]:
        msg = check_fields(f, ReadOptions(text_field=text_field), where=f"{where}.text_field")
        if msg:
            problems.append(msg)
    return problems
