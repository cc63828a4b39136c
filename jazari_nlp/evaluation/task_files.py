"""What is wrong with a task's data file, said by file and line: a split with no rows, a JSON-lines row that is
not valid JSON (skipped with its reason, the other rows kept), a CSV quote that is never closed. ``datasets``
says ``StopIteration``, a byte offset, or logs a line; these checks run around it (see
:meth:`jazari_nlp.evaluation.task_data.TaskData._load`).

Example::

    bad_json_lines(Path("mc.jsonl"))   # [JsonReject(line=2, good_before=1, reason='...', text='{"q": ...')]
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NO_ROWS_FIX = "add rows or point data_files at the right file"


@dataclass
class JsonReject:
    """A line of a JSON-lines file that is not a JSON object: its number, how many good rows come before it in
    the file, why, and its text (cut)."""

    line: int
    good_before: int
    reason: str
    text: str


def split_files(files: Any) -> dict[str, list[str]]:
    """``{split: [file, ...]}`` of a resolved ``data_files``; a plain list is ``datasets``' ``train`` split.

    Example: ``split_files({"test": ["a.jsonl"]})`` → ``{"test": ["a.jsonl"]}``
    """
    if files is None:
        return {}
    if isinstance(files, dict):
        return {s: list(v.values()) if isinstance(v, dict) else ([v] if isinstance(v, str) else list(v))
                for s, v in files.items()}
    return {"train": [files] if isinstance(files, str) else list(files)}


def map_files(files: Any, fn: Any) -> Any:
    """A resolved ``data_files`` (a list, or {split: list}) with each file replaced by ``fn(file)``."""
    if isinstance(files, dict):
        return {split: [fn(f) for f in v] for split, v in files.items()}
    return [fn(f) for f in files]


def _lines(path: Path) -> io.TextIOBase:
    from jazari_nlp.readers import open_binary

    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="replace", newline="")


def has_rows(path: Path, builder: str, kwargs: dict) -> bool:
    """False when ``path`` surely gives no row: nothing but blank lines (json, text: a 0-byte file) or a CSV
    header alone (no ``column_names``). Reads only up to the first rows."""
    if builder not in ("json", "csv", "text"):
        return True
    needed = 2 if builder == "csv" and not kwargs.get("column_names") else 1  # the header is not a row
    seen = 0
    with _lines(path) as f:
        for line in f:
            if builder == "text" or line.strip():
                seen += 1
                if seen >= needed:
                    return True
    return False


def no_rows_message(split: str, files: list[str]) -> str:
    """``"empty.jsonl has no rows (split 'test'): add rows or point data_files at the right file"``."""
    what = files[0] if len(files) == 1 else f"the files of split {split!r} ({', '.join(files)})"
    return f"{what} {'has' if len(files) == 1 else 'have'} no rows (split {split!r}): {NO_ROWS_FIX}"


def is_json_lines(path: Path) -> bool:
    """A JSON-lines file (one object a line), not one JSON document (an array, a pretty-printed object): the
    name says so (.jsonl, .ndjson), or its first non-blank line is a whole JSON object."""
    name = path.name.lower()
    for ext in (".gz", ".bz2", ".xz", ".zst", ".zstd"):
        name = name.removesuffix(ext)
    if name.endswith((".jsonl", ".ndjson")):
        return True
    with _lines(path) as f:
        for line in f:
            if line.strip():
                try:
                    return isinstance(json.loads(line), dict)
                except ValueError:
                    return False
    return False


def bad_json_lines(path: Path) -> tuple[list[JsonReject], list[str]]:
    """The lines of a JSON-lines file that are not JSON objects, and the good lines (as written).

    Example: ``bad_json_lines(Path("mc.jsonl"))[0][0].reason`` →
    ``"mc.jsonl line 2: not valid JSON (Expecting value at column 55): fix or remove the line"``
    """
    bad, good = [], []
    with _lines(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line.rstrip())  # the column counted on the line as written
                why = None if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"
            except ValueError as e:
                why = f"not valid JSON ({e.msg} at column {e.colno})" if isinstance(e, json.JSONDecodeError) \
                    else f"not valid JSON ({e})"
            if why is None:
                good.append(line if line.endswith("\n") else line + "\n")
            else:
                bad.append(JsonReject(n, len(good), f"{path.name} line {n}: {why}: fix or remove the line",
                                      line.strip()[:200]))
    return bad, good


def json_document_problem(path: Path) -> str | None:
    """``"FILE line 3 column 1: not valid JSON (Expecting value): fix the file"`` for one JSON document."""
    with _lines(path) as f:
        text = f.read()
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return f"{path} line {e.lineno} column {e.colno}: not valid JSON ({e.msg}): fix the file"
    return None


def csv_quote_problem(path: Path, kwargs: dict) -> str | None:
    """``"FILE line 3: a quoted field starts here and is never closed: ..."`` (the rest of the file would be
    one field), or None. Read with Python's csv module, which counts lines as a person does."""
    delimiter = kwargs.get("sep") or kwargs.get("delimiter") or ("\t" if path.name.lower().endswith(".tsv") else ",")
    with _lines(path) as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error as e:
            if "end of data" in str(e) or "EOF" in str(e):
                return (f"{path} line {start}: a quoted field starts here and is never closed (the rest of the file "
                        "would be one field): close the quote, double a quote inside a field (\"\"), or remove the "
                        "line")
            return f"{path} line {reader.line_num}: not valid CSV ({e}): fix the line"
    return None


def utf8_problem(path: Path) -> str | None:
    """``"FILE: line N is not valid UTF-8 (byte B)"``, or None for a clean file (read in 1 MiB pieces)."""
    from jazari_nlp.readers import open_binary

    dec = codecs.getincrementaldecoder("utf-8")("strict")
    line, offset = 1, 0
    with open_binary(path) as f:
        while chunk := f.read(1 << 20):
            pending = len(dec.getstate()[0])  # bytes of a character cut by the previous piece
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                start = max(0, e.start - pending)
                where = line + chunk[:start].count(b"\n")
                return f"{path}: line {where} is not valid UTF-8 (byte {offset + start})"
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return f"{path}: line {line} ends in a cut UTF-8 character (byte {offset})"
    return None
