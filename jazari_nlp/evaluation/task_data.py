"""A task's data: where its files are (``${JAZARI_DATA}`` and other variables in a path), checking them (UTF-8,
splits, fields) and reading them with ``datasets``, offline, with ``rename_fields`` and ``filter_rows`` applied.

Split from :mod:`jazari_nlp.evaluation.tasks` (which re-exports the public names). Example::

    expand_path("${JAZARI_DATA}/sib200")   # '/home/me/.cache/jazari_nlp/benchmarks/sib200'
    utf8_problem(Path("test.tsv"))         # None, or 'test.tsv: line 3 is not valid UTF-8 (byte 120)'
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jazari_nlp.evaluation.task_config import BUILDERS, TaskConfig, TaskError
from jazari_nlp.evaluation.task_files import (
    JsonReject,
    bad_json_lines,
    csv_quote_problem,
    has_rows,
    is_json_lines,
    json_document_problem,
    map_files,
    no_rows_message,
    split_files,
    utf8_problem,
)

PACKAGE_TASKS = Path(__file__).with_name("tasks")
TEXT_FORMATS = ("json", "csv", "text")  # checked for UTF-8 before `datasets` reads them (it does not)
DATA_ROOT_VAR = "JAZARI_DATA"  # `${JAZARI_DATA}` in a data path: where the benchmarks' local files are
DEFAULT_DATA_ROOT = "~/.cache/jazari_nlp/benchmarks"
_PATH_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
log = logging.getLogger("jazari_nlp.evaluation.tasks")  # the name users filter on


# ---------------------------------------------------------------------------------------------------------------
# Data paths: ${JAZARI_DATA} and other environment variables


def data_root() -> Path:
    """The folder holding the benchmarks' local files: ``$JAZARI_DATA``, else ``~/.cache/jazari_nlp/benchmarks``.

    Example: ``data_root() / "sib200" / "ary_Arab" / "test.tsv"``
    """
    return Path(os.environ.get(DATA_ROOT_VAR) or DEFAULT_DATA_ROOT).expanduser().resolve()


def expand_path(value: str) -> str:
    """``${NAME}`` in a data path replaced by the environment variable ``NAME``; ``${JAZARI_DATA}`` defaults to
    :func:`data_root`. A variable that starts the path and holds a relative one is read from the working
    directory (not from the task file's folder). ValueError names a variable that is not set.

    Example: ``expand_path("${JAZARI_DATA}/sib200")`` → ``"/home/me/.cache/jazari_nlp/benchmarks/sib200"``
    """
    def value_of(m: re.Match) -> str:
        name = m.group(1)
        if name == DATA_ROOT_VAR:
            return str(data_root())
        if not os.environ.get(name):
            raise ValueError(f"${{{name}}} in {value!r}: the environment variable {name} is not set")
        return str(Path(os.environ[name]).expanduser().resolve()) if m.start() == 0 else os.environ[name]

    return _PATH_VAR.sub(value_of, value)


def _data_root_note() -> str:
    if os.environ.get(DATA_ROOT_VAR):
        return f"the data root is {DATA_ROOT_VAR}={os.environ[DATA_ROOT_VAR]}"
    return (f"{DATA_ROOT_VAR} is not set, so the default data root {DEFAULT_DATA_ROOT} was used: set "
            f"{DATA_ROOT_VAR} to the folder that holds the benchmarks")


def _flat(files: Any) -> list[str]:
    """Every file of a resolved ``data_files`` (a list, or {split: list}, or {split: {column: file}})."""
    if files is None:
        return []
    if isinstance(files, str):
        return [files]
    if isinstance(files, dict):
        return [f for v in files.values() for f in (v.values() if isinstance(v, dict) else v)]
    return list(files)


# ---------------------------------------------------------------------------------------------------------------
# The task's data


class TaskData:
    """A task's configuration and its data, read on first use with ``datasets``, offline; the prompts and
    requests are :class:`jazari_nlp.evaluation.task_requests.Task`, which extends this class."""

    def __init__(self, config: TaskConfig, *, path: Path | None = None, base_dir: Path | None = None,
                 allow_network: bool = False, raw: dict | None = None):
        self.config = config
        self.path = path
        self.base_dir = Path(base_dir).resolve() if base_dir else (path.parent if path else Path.cwd())
        self.allow_network = allow_network
        self.raw = raw if raw is not None else config.model_dump(exclude_unset=True)  # the mapping as read
        self._data: Any = None
        self._docs: dict[str, list[dict]] = {}
        self._columns: list[str] | None = None
        self.rejects: dict[str, list[tuple[int, str, JsonReject]]] = {}  # split: (rows before, file, bad line)
        self.fewshot_problems: list[str] = []  # few-shot rows left out of the pool, with their reasons
        self.groups: list[str] = []  # the group files this task was loaded through, innermost first

    def __repr__(self) -> str:
        return f"Task({self.name!r}, {self.config.output_type}, {self.where})"

    @property
    def name(self) -> str:
        return self.config.task

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"task {self.name}"

    def error(self, *problems: str) -> TaskError:
        return TaskError(self.where, list(problems))

    def sha256(self) -> str:
        """Hash of the validated task (includes merged), for results.json."""
        payload = json.dumps(self.config.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    # -- data --------------------------------------------------------------------------------------------------

    def _source_hint(self, pattern: str | None = None) -> str:
        """`` (the data comes from X; get it: Y)`` from ``metadata.source`` / ``metadata.download`` (and where
        ``${JAZARI_DATA}`` pointed, for a ``pattern`` that uses it)."""
        meta = self.config.metadata or {}
        bits = [_data_root_note()] if pattern and f"${{{DATA_ROOT_VAR}}}" in pattern else []
        if meta.get("source"):
            bits.append(f"the data comes from {meta['source']}")
        if meta.get("download"):
            bits.append(f"get it: {meta['download']}")
        return f" ({'; '.join(bits)})" if bits else ""

    def _resolve(self, value: str) -> Path:
        try:
            value = expand_path(value)
        except ValueError as e:
            raise self.error(f"{e}; set it, or write the path out") from None
        p = Path(value).expanduser()
        if p.is_absolute():
            return p
        here = self.base_dir / p
        # relative to the task file's folder; lm-eval reads them from the working directory: accept both
        return here if here.exists() or not p.exists() else p.resolve()

    def _data_files(self) -> str | list[str] | dict[str, list[str] | dict[str, str]] | None:
        kw = self.config.dataset_kwargs
        if kw is None or kw.data_files is None:
            return None
        problems = []

        def one(pattern: str) -> list[str]:
            p = self._resolve(pattern)
            hint = "" if problems else self._source_hint(pattern)  # where the data comes from: said once
            if set("*?[") & set(str(p)):
                hits = sorted(str(h) for h in p.parent.glob(p.name)) if p.parent.exists() else []
                if not hits:
                    problems.append(f"dataset_kwargs.data_files: no file matches {p}{hint}")
                return hits
            if not p.is_file():
                problems.append(f"dataset_kwargs.data_files: file not found: {p}{hint}")
            return [str(p)]

        def column(pattern: str) -> str:  # parallel text: one file per column
            hits = one(pattern)
            if len(hits) > 1:
                problems.append(f"dataset_kwargs.data_files: {pattern} matches {len(hits)} files; a column of "
                                "parallel text is one file")
            return hits[0] if hits else pattern

        files = kw.data_files
        if isinstance(files, dict):
            c = self.config
            used = {c.test_split, c.validation_split, c.training_split, c.fewshot().split} - {None}
            out: Any = {}
            for split, v in files.items():
                before = len(problems)
                value = ({col: column(pat) for col, pat in v.items()} if isinstance(v, dict)
                         else [f for pat in ([v] if isinstance(v, str) else v) for f in one(pat)])
                if split not in used and len(problems) > before:
                    del problems[before:]  # a split the task never reads may be absent (a test split held back)
                    continue
                out[split] = value
        elif isinstance(files, str):
            out = one(files)
        else:
            out = [f for pat in files for f in one(pat)]
        if problems:
            raise self.error(*problems)
        return out

    def data_paths(self) -> list[Path]:
        """The local files (or folder) the task reads, for hashing in results.json."""
        files = self._data_files()
        if files is None:
            kind, target = self._source()
            return [Path(target)] if kind in ("disk", "folder") else []
        return [Path(f) for f in _flat(files)]

    def data_sha256(self) -> dict[str, str]:
        """``{file: sha256}`` of the local data files (a folder: each file in it), for results.json."""
        from jazari_nlp.runs import sha256_file

        out = {}
        for p in self.data_paths():
            for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
                if f.is_file():
                    out[str(f)] = sha256_file(f)
        return out

    def _source(self) -> tuple[str, str]:
        """("builder", "json") | ("disk", folder) | ("folder", folder) | ("hub", id)."""
        path = self.config.dataset_path
        if path in BUILDERS:
            return "builder", path
        local = self._resolve(path)
        if local.is_dir():
            from jazari_nlp.readers import is_dataset_folder

            return ("disk" if is_dataset_folder(local) else "folder"), str(local)
        if local.is_file():
            raise self.error(f"dataset_path: {local} is a file; write dataset_path: {_builder_for(local)} and "
                             f"dataset_kwargs: {{data_files: {{test: {path}}}}}")
        if path.startswith((".", "/", "~", "$")) or path.count("/") > 1:
            raise self.error(f"dataset_path: folder not found: {local}{self._source_hint()}")
        rev = self.config.dataset_kwargs.revision if self.config.dataset_kwargs else None
        if not self.allow_network or not rev:
            raise self.error(
                f"dataset_path: {path!r} is not {', '.join(BUILDERS)} nor a local folder (looked for {local}), so it "
                "would be a Hugging Face Hub data set: jazari reads the Hub only with allow_network: true (in the "
                "experiment) and a pinned dataset_kwargs.revision; or download the files and point "
                f"dataset_path: json / dataset_kwargs.data_files at them{self._source_hint()}")
        return "hub", path

    def _check_utf8(self, files: Iterable[str]) -> None:
        for f in files:
            if self.config.dataset_path in TEXT_FORMATS or Path(f).suffix.lower() in (".json", ".jsonl", ".csv",
                                                                                      ".tsv", ".txt"):
                problem = utf8_problem(Path(f))
                if problem:
                    raise self.error(f"{problem}; task data must be UTF-8: re-save the file as UTF-8 (for example "
                                     f"`iconv -f cp1256 -t utf-8`){self._source_hint()}")

    def _load(self) -> Any:
        if self._data is not None:
            return self._data
        kind, target = self._source()
        files = self._data_files()
        flat = _flat(files)
        self._check_utf8(flat)
        kwargs = self.config.dataset_kwargs.model_dump(exclude_none=True) if self.config.dataset_kwargs else {}
        kwargs.pop("trust_remote_code", None)
        builder = target if kind == "builder" else ""
        for split, split_list in split_files(files).items():  # datasets says StopIteration, or "no data"
            if split_list and not any(has_rows(Path(f), builder, kwargs) for f in split_list):
                raise self.error(no_rows_message(split, split_list) + self._source_hint())
        if files is not None:
            kwargs["data_files"] = files
        try:
            data = self._read(kind, target, files, kwargs)
        except TaskError:
            raise
        except Exception as e:  # datasets' errors name neither the task nor, often, the file
            data = self._recover(e, kind, target, files, kwargs)
        self._data = data
        return data

    def _read(self, kind: str, target: str, files: Any, kwargs: dict) -> Any:
        import datasets

        with _quiet_datasets():
            if kind == "disk":
                data = datasets.load_from_disk(target)
                return data if isinstance(data, datasets.DatasetDict) else {"train": data}
            if isinstance(files, dict) and files and all(isinstance(v, dict) for v in files.values()):
                return self._parallel(files)
            return datasets.load_dataset(target, name=self.config.dataset_name, **kwargs)

    def _recover(self, e: Exception, kind: str, target: str, files: Any, kwargs: dict) -> Any:
        """After datasets failed: the JSON-lines rows that are not JSON objects skipped (counted, with their
        reasons, in :attr:`rejects`) and the rest read; else an error naming the file and line."""
        cause = e.__cause__ or e
        flat = _flat(files)
        empty = re.search(r'Instruction "(.+?)" corresponds to no data', str(cause))
        if empty:
            split = empty.group(1)
            raise self.error(no_rows_message(split, split_files(files).get(split) or flat)
                             + self._source_hint()) from None
        if kind == "builder" and target == "json" and not kwargs.get("field"):
            lines = [f for f in dict.fromkeys(flat) if is_json_lines(Path(f))]
            bad = {f: bad_json_lines(Path(f)) for f in lines}
            if any(b for b, _ in bad.values()):
                return self._without_bad_lines(files, kwargs, bad)
            for f in flat:
                problem = None if f in lines else json_document_problem(Path(f))
                if problem:
                    raise self.error(problem + self._source_hint()) from None
        if kind == "builder" and target == "csv":
            for f in flat:
                problem = csv_quote_problem(Path(f), kwargs)
                if problem:
                    raise self.error(problem + self._source_hint()) from None
        what = ", ".join(flat[:3]) or target
        raise self.error(f"cannot read the data ({what}): {type(cause).__name__}: "
                         f"{' '.join(str(cause).split())[:300]}{self._source_hint()}") from None

    def _without_bad_lines(self, files: Any, kwargs: dict, scanned: dict[str, tuple[list, list[str]]]) -> Any:
        """The data read again with the bad lines left out of copies of their files (datasets then types the
        columns as for a clean file); each bad line kept in :attr:`rejects` at its place among the rows.
        ``scanned``: ``{file: (bad lines, good lines)}`` of every JSON-lines file."""
        import tempfile

        bad = {f: v for f, v in scanned.items() if v[0]}
        for split, split_list in split_files(files).items():
            if split_list and all(f in bad and not bad[f][1] for f in split_list):
                first = [r.reason for f in split_list for r in bad[f][0]]
                raise self.error(f"no line of split {split!r} ({', '.join(split_list)}) is a JSON object: "
                                 f"{'; '.join(first[:2])}{self._source_hint()}")
        with tempfile.TemporaryDirectory(prefix="jazari_task_") as tmp:
            copies = {}
            for i, (f, (_, good)) in enumerate(bad.items()):
                copies[f] = str(Path(tmp) / f"{i}.jsonl")
                Path(copies[f]).write_text("".join(good), encoding="utf-8")
            clean = map_files(files, lambda f: copies.get(f, f))
            try:  # read into memory: the copies and their cache go with the folder
                data = self._read("builder", "json", clean, {**kwargs, "data_files": clean, "cache_dir": tmp,
                                                             "keep_in_memory": True})
            except Exception as e:
                cause = e.__cause__ or e
                raise self.error(f"cannot read the data ({', '.join(_flat(files)[:3])}): {type(cause).__name__}: "
                                 f"{' '.join(str(cause).split())[:300]}{self._source_hint()}") from None
        for split, split_list in split_files(files).items():
            offset = 0  # rows of the split before this file (a JSON document's own rows are not counted)
            for f in split_list:
                for r in (bad[f][0] if f in bad else []):
                    self.rejects.setdefault(split, []).append((offset + r.good_before, f, r))
                offset += len(scanned[f][1]) if f in scanned else 0
        for f, (rejects, _) in bad.items():
            log.warning("%s: %d line(s) of %s skipped (%s%s)", self.name, len(rejects), f, rejects[0].reason,
                        "; ..." if len(rejects) > 1 else "")
        return data

    def _parallel(self, files: dict[str, dict[str, str]]) -> Any:
        """Parallel text files, one column per file, line i of every file one row (FLORES: dev.ary_Arab, ...)."""
        import datasets

        from jazari_nlp.readers import open_binary

        out = {}
        for split, columns in files.items():
            cols = {}
            for col, f in columns.items():
                with open_binary(Path(f)) as fh:
                    text = fh.read().decode("utf-8").removeprefix("\ufeff")
                lines = [line.removesuffix("\r") for line in text.split("\n")]  # not splitlines: U+2028 is text
                cols[col] = lines[:-1] if lines and lines[-1] == "" else lines
            counts = {f"{columns[c]}": len(v) for c, v in cols.items()}
            if len(set(counts.values())) > 1:
                raise self.error(f"dataset_kwargs.data_files.{split}: parallel files must have the same number of "
                                 "lines; found " + ", ".join(f"{n:,} in {f}" for f, n in counts.items())
                                 + self._source_hint())
            out[split] = datasets.Dataset.from_dict(cols)
        return datasets.DatasetDict(out)

    def splits(self) -> list[str]:
        return list(self._load().keys())

    def docs(self, split: str) -> list[dict]:
        """The rows of a split, with ``rename_fields`` and ``filter_rows`` applied."""
        if split in self._docs:
            return self._docs[split]
        data = self._load()
        if split not in data:
            raise self.error(f"split {split!r} is not in the data (splits: {', '.join(data.keys())}); set "
                             "test_split / validation_split / training_split / fewshot_split to one of them, or "
                             "name the files per split: dataset_kwargs: {data_files: {test: test.jsonl, train: ...}}")
        rows = data[split].to_list()
        cols = list(data[split].column_names)
        rows = self._rename(rows, cols, split)
        self._docs[split] = self._filter(rows, split)
        return self._docs[split]

    def _rename(self, rows: list[dict], cols: list[str], split: str) -> list[dict]:
        ren = self.config.rename_fields
        if not ren:
            return rows
        missing = [old for old in ren.values() if old not in cols]
        if missing:
            raise self.error(*[f"rename_fields: split {split!r} has no field {m!r}{_fields_note(m, cols)}"
                               for m in missing])
        olds = set(ren.values())
        return [{**{k: v for k, v in r.items() if k not in olds}, **{new: r[old] for new, old in ren.items()}}
                for r in rows]

    def _filter(self, rows: list[dict], split: str) -> list[dict]:
        want = self.config.filter_rows
        if not want:
            return rows
        cols = list(rows[0]) if rows else []
        missing = [f for f in want if rows and f not in rows[0]]
        if missing:
            raise self.error(*[f"filter_rows: split {split!r} has no field {m!r}{_fields_note(m, cols)}"
                               for m in missing])
        allowed = {f: (v if isinstance(v, list) else [v]) for f, v in want.items()}
        kept = [r for r in rows if all(r[f] in vals for f, vals in allowed.items())]
        if rows and not kept:
            seen = {f: sorted({repr(r[f]) for r in rows})[:8] for f in want}
            raise self.error(f"filter_rows kept none of the {len(rows)} rows of split {split!r}; values found: "
                             + "; ".join(f"{f}: {', '.join(v)}" for f, v in seen.items()))
        return kept

    def eval_docs(self) -> list[dict]:
        """The rows evaluated: the test split, else the validation split (as lm-eval)."""
        return self.docs(self.config.eval_split())

    def fewshot_docs(self) -> list[dict] | None:
        """lm-eval's pool: fewshot_split (or fewshot_config.samples), else training, validation, test."""
        cfg, fs = self.config, self.config.fewshot()
        if fs.split is not None:
            return self.docs(fs.split)
        if fs.samples is not None:
            return [dict(s) for s in fs.samples]
        for split in (cfg.training_split, cfg.validation_split, cfg.test_split):
            if split is not None:
                return self.docs(split)
        return None


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _builder_for(path: Path) -> str:
    ext = path.suffix.lower()
    return {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet",
            ".arrow": "arrow"}.get(ext, "text")


def _fields_note(word: str, cols: list[str]) -> str:
    """``"; did you mean 'question'? Its fields: a, b"`` (or ``". Its fields: a, b"``)."""
    hint = _did_you_mean(word, cols)
    return f"{hint} Its fields: {', '.join(cols)}" if hint else f". Its fields: {', '.join(cols)}"


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    hint = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """datasets' progress bars and info logs off while a task's data is read, then put back."""
    from datasets.utils import logging as ds_logging

    level, bars = ds_logging.get_verbosity(), ds_logging.is_progress_bar_enabled()
    ds_logging.set_verbosity(ds_logging.CRITICAL)  # "Failed to read file ...": jazari raises a clearer error
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        ds_logging.set_verbosity(level)
        if bars:
            ds_logging.enable_progress_bar()
