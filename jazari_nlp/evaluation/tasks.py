"""Tasks are data: one YAML file is one task, in lm-evaluation-harness's format; prompts are built as lm-eval does.

``load_task`` reads a task (or group) by name from the shipped tasks (``jazari_nlp/evaluation/tasks/``) and any
folders the user names, or from a file path. ``Task.build_requests`` renders every example of the evaluation split
into a :class:`Request`: the full prompt (description, few-shot examples, the question) and the continuations to
score, byte-identical to lm-eval 0.4's ``ConfigurableTask`` for the same YAML and data. A row that cannot be used
(an empty field, an answer index out of range, an empty choice list) becomes a Request with ``skipped`` set to the
reason, never dropped; problems known before any work (a missing file, split or field) are a :class:`TaskError`.

Example::

    task = load_task("jazari_example_mc")
    for req in task.build_requests(num_fewshot=3, limit=2):
        print(req.context + req.continuations[req.gold])
"""

from __future__ import annotations

import ast
import codecs
import copy
import difflib
import functools
import hashlib
import json
import logging
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.evaluation.task_config import (
    BUILDERS,
    FewshotConfig,
    TaskConfig,
    TaskError,
)

log = logging.getLogger("jazari_nlp.evaluation.tasks")
PACKAGE_TASKS = Path(__file__).with_name("tasks")
TEXT_FORMATS = ("json", "csv", "text")  # checked for UTF-8 before `datasets` reads them (it does not)
DATA_ROOT_VAR = "JAZARI_DATA"  # `${JAZARI_DATA}` in a data path: where the benchmarks' local files are
DEFAULT_DATA_ROOT = "~/.cache/jazari_nlp/benchmarks"
_PATH_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Request:
    """One example, ready for the model.

    ``context`` is the whole prompt. ``continuations``: for multiple_choice, target_delimiter + each choice; for
    loglikelihood, the target as written (lm-eval adds no delimiter there); for loglikelihood_rolling, the text
    to score (``context`` is empty); for generate_until, empty (``generation_kwargs`` has ``until`` and
    ``max_gen_toks``). ``gold``: the index (or list of indexes) of the right choice for multiple_choice, the
    reference text (or texts) otherwise. ``skipped``: why the row cannot be used (then the rest is empty).
    """

    doc_id: int
    doc: dict
    context: str
    kind: str
    continuations: list[str]
    gold: int | str | list | None
    choices: list[str] = field(default_factory=list)
    generation_kwargs: dict = field(default_factory=dict)
    skipped: str | None = None
    messages: list[dict] | None = None  # with a chat template: the turns the context was rendered from


@dataclass
class TaskInfo:
    """A registry entry, as ``jazari eval tasks`` lists it."""

    name: str
    path: Path
    kind: str  # "task" or "group"
    output_type: str | None = None
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # its tags and the group files that list it
    source: str = "package"  # "package" or the folder it was found in
    description: str = ""
    error: str | None = None


class _Skip(Exception):
    """A row that cannot be used; the message is the reason written to the samples file."""


# ---------------------------------------------------------------------------------------------------------------
# Templates: lm-eval's Jinja2 environment


def regex_replace(string, pattern, repl, count: int = 0):
    """The ``regex_replace`` filter lm-eval's templates may use: ``{{ text | regex_replace('\\s+', ' ') }}``."""
    return re.sub(pattern, repl, string, count=count)


@functools.cache
def _env():
    from jinja2 import BaseLoader, Environment, StrictUndefined

    env = Environment(loader=BaseLoader, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = regex_replace
    return env


@functools.lru_cache(maxsize=1024)
def _compiled(template: str):
    return _env().from_string(template)


def render(template: str, doc: dict) -> str:
    """Render a Jinja2 template on a row, as lm-eval's ``utils.apply_template``.

    Example: ``render("Q: {{question}}", {"question": "شحال؟"})`` → ``"Q: شحال؟"``
    """
    return _compiled(template).render(**doc)


@functools.lru_cache(maxsize=1024)
def template_fields(template: str) -> frozenset[str]:
    """The row fields a template reads (``{{choices.text}}`` → ``{"choices"}``); Jinja's globals excluded."""
    from jinja2 import meta

    env = _env()
    return frozenset(meta.find_undeclared_variables(env.parse(template)) - set(env.globals))


# lm-eval's plain-text / chat message pieces (lm_eval/api/utils.py)


@dataclass
class _Message:
    role: str
    content: str
    delimiter: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    def to_text(self) -> str:
        return self.content + self.delimiter


def _maybe_delimit(prefix: str | None, suffix: str | None, delimiter: str = " ") -> str:
    if not prefix:
        return suffix or ""
    if not suffix:
        return prefix or ""
    return prefix + suffix if (prefix[-1].isspace() or suffix[0].isspace()) else prefix + delimiter + suffix


def _requires_delimiter(prefix: str, suffix: str) -> bool:
    return prefix != "" and not (prefix[-1].isspace() or suffix[0].isspace())


def _singleturn(messages: list[_Message]) -> list[dict[str, str]]:
    """lm-eval's ``multiturn_to_singleturn``: few-shot examples folded into one user turn."""
    messages = [copy.copy(m) for m in messages]
    system, messages = (messages[0], messages[1:]) if messages[0].role == "system" else (None, messages)
    if messages[-1].role == "assistant":
        user = messages[:-1]
        user[-1].delimiter = ""
        res = [_Message("user", "".join(m.to_text() for m in user)).to_dict(), messages[-1].to_dict()]
    else:
        messages[-1].delimiter = ""
        res = [_Message("user", "".join(m.to_text() for m in messages)).to_dict()]
    return [system.to_dict()] + res if system else res


def _qa_turn(q: Any, c: list[str] | None = None, a: Any = None, gen_prefix: str | None = None,
             tgt_delim: str = " ", few_delim: str = "\n\n") -> list[_Message]:
    """lm-eval's ``build_qa_turn``: the question (and, for a few-shot example, its answer) as messages."""
    if not isinstance(q, str):
        raise _Skip(f"doc_to_text gave {q!r} ({type(q).__name__}), not text (a number there is lm-eval's "
                    "multiple-input form, which jazari does not support)")
    has_answer = a is not None and a != ""
    user_delim = tgt_delim if (has_answer and not gen_prefix) or (
        gen_prefix and _requires_delimiter(q, gen_prefix)) else ""
    msgs = [_Message("user", q, user_delim)]
    if has_answer:
        if c and isinstance(a, int):
            if not 0 <= a < len(c):
                raise _Skip(f"answer index {a} is out of range for {len(c)} choices")
            answer = c[a]
        else:
            answer = a[0] if isinstance(a, list) and a else a
        if not isinstance(answer, str):
            answer = str(answer)
        msgs.append(_Message("assistant", _maybe_delimit(gen_prefix, answer, " "), few_delim))
    elif gen_prefix:
        msgs.append(_Message("assistant", gen_prefix))
    return msgs


# ---------------------------------------------------------------------------------------------------------------
# Few-shot sampling: lm-eval's ContextSampler / FirstNSampler


def _sample(rnd: random.Random, pool: list[dict], n: int, eval_doc: dict | None, first_n: bool) -> list[dict]:
    if n == 0:
        return []
    if first_n:  # the first n rows other than the evaluated one (stops early: the pool can be the test split)
        res = []
        for x in pool:
            if len(res) == n:
                break
            if eval_doc is None or x != eval_doc:
                res.append(x)
        if len(res) < n:
            raise _Skip(f"{n}-shot needs {n} few-shot rows other than this one; the pool has {len(res)}")
        return res
    if not eval_doc:
        return rnd.sample(pool, n)
    res = [x for x in rnd.sample(pool, n + 1) if x != eval_doc][:n]
    if len(res) < n:  # several copies of the row were drawn: draw again from the pool without it
        res = rnd.sample([x for x in pool if x != eval_doc], n)
    return res


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
# The task


class Task:
    """A task read from a YAML file (or a mapping). Data is read on first use, with ``datasets``, offline."""

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
            out: Any = {split: {col: column(pat) for col, pat in v.items()} if isinstance(v, dict)
                        else [f for pat in ([v] if isinstance(v, str) else v) for f in one(pat)]
                        for split, v in files.items()}
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
        import datasets

        kind, target = self._source()
        files = self._data_files()
        flat = _flat(files)
        self._check_utf8(flat)
        kwargs = self.config.dataset_kwargs.model_dump(exclude_none=True) if self.config.dataset_kwargs else {}
        kwargs.pop("trust_remote_code", None)
        if files is not None:
            kwargs["data_files"] = files
        try:
            with _quiet_datasets():
                if kind == "disk":
                    data = datasets.load_from_disk(target)
                    data = data if isinstance(data, datasets.DatasetDict) else {"train": data}
                elif isinstance(files, dict) and files and all(isinstance(v, dict) for v in files.values()):
                    data = self._parallel(files)
                else:
                    data = datasets.load_dataset(target, name=self.config.dataset_name, **kwargs)
        except TaskError:
            raise
        except Exception as e:  # datasets' errors name neither the task nor, often, the file
            cause = e.__cause__ or e
            what = ", ".join(flat[:3]) or target
            raise self.error(f"cannot read the data ({what}): {type(cause).__name__}: "
                             f"{' '.join(str(cause).split())[:300]}{self._source_hint()}") from None
        self._data = data
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

    # -- one row (lm-eval's doc_to_text / doc_to_choice / doc_to_target) ---------------------------------------

    @property
    def columns(self) -> list[str]:
        if self._columns is None:
            docs = self.eval_docs()
            self._columns = list(docs[0]) if docs else []
        return self._columns

    def _has_choices(self) -> bool:
        return self.config.doc_to_choice is not None or bool(self.config.choices_from)

    def _field_or_template(self, doc: dict, spec: str, key: str, fields: list[str] | None = None) -> Any:
        """lm-eval's rule: a field name gives that field's value; any other string is a Jinja2 template."""
        if spec in (self.columns if fields is None else fields):
            value = doc.get(spec)
            if value is None:
                raise _Skip(f"{key}: field {spec!r} is empty in this row")
            return value
        for f in template_fields(spec):
            if f in doc and doc[f] is None:
                raise _Skip(f"{key}: field {f!r} is empty in this row")
        try:
            return render(spec, doc)
        except Exception as e:  # UndefinedError (a key missing in this row), TypeError, ...
            raise _Skip(f"{key}: the template failed on this row: {type(e).__name__}: {e}") from None

    def doc_to_text(self, doc: dict, spec: Any = None) -> Any:
        spec = self.config.doc_to_text if spec is None else spec
        if isinstance(spec, int):
            return spec
        text = self._field_or_template(doc, spec, "doc_to_text")
        if isinstance(text, str) and text.isdigit() and self._has_choices() and spec not in self.columns:
            return int(text)
        return text

    def doc_to_target(self, doc: dict, spec: Any = None) -> Any:
        spec = self.config.doc_to_target if spec is None else spec
        if isinstance(spec, int | list):
            target = spec
        elif spec in self.columns:
            target = self._field_or_template(doc, spec, "doc_to_target")
        else:
            target = self._field_or_template(doc, spec, "doc_to_target")
            if target.isdigit() and self._has_choices():
                target = int(target)
            elif len(target) >= 2 and target[0] == "[" and target[-1] == "]":
                try:
                    target = ast.literal_eval(target)
                except (SyntaxError, ValueError):
                    pass
        return self._offset(target)

    def _offset(self, target: Any) -> Any:
        off = self.config.target_offset
        if not off:
            return target
        if isinstance(target, str) and target.strip().lstrip("-").isdigit():
            target = int(target)
        if isinstance(target, list):
            return [self._offset(t) for t in target]
        if isinstance(target, bool) or not isinstance(target, int):
            raise _Skip(f"target_offset needs an integer answer; doc_to_target gave {target!r}")
        return target + off

    def doc_to_choice(self, doc: dict, spec: Any = None) -> list[str]:
        if self.config.choices_from:
            vals = [doc.get(f) for f in self.config.choices_from]
            choices = [str(v) for v in vals if v is not None and str(v) != ""]
        else:
            spec = self.config.doc_to_choice if spec is None else spec
            if isinstance(spec, dict):
                choices = list(spec.values())
            elif isinstance(spec, list):
                choices = spec
            elif spec in self.columns:
                choices = self._field_or_template(doc, spec, "doc_to_choice")
            else:
                text = self._field_or_template(doc, spec, "doc_to_choice")
                try:
                    choices = ast.literal_eval(text)
                except (SyntaxError, ValueError):
                    raise _Skip(f"doc_to_choice gave {text[:80]!r}, not a list (write a template that renders a "
                                "Python list, like \"{{choices}}\" or \"{{[a, b, c]}}\")") from None
        if isinstance(choices, dict):
            raise _Skip(f"doc_to_choice gave a mapping with keys {sorted(choices)}; point it at the list "
                        "(for example \"{{choices.text}}\")")
        if not isinstance(choices, list | tuple):
            raise _Skip(f"doc_to_choice gave {choices!r} ({type(choices).__name__}), not a list")
        if not choices:
            raise _Skip("empty choice list")
        return [c if isinstance(c, str) else str(c) for c in choices]

    def doc_to_prefix(self, doc: dict, spec: str | None = None) -> str | None:
        spec = self.config.gen_prefix if spec is None else spec
        if spec is None:
            return None
        return self._field_or_template(doc, spec, "gen_prefix")

    def _resolve_field(self, doc: dict, spec: str | None, key: str) -> Any:
        """lm-eval's ``resolve_field`` (description, few-shot gen_prefix): a key of the row, else a template."""
        if not spec:
            return None
        return self._field_or_template(doc, spec, key, fields=list(doc))

    def decontamination_query(self, doc: dict) -> str:
        """The text checked against a corpus for contamination (doc_to_decontamination_query, else the prompt)."""
        spec = self.config.doc_to_decontamination_query
        if spec is None:
            return str(self.doc_to_text(doc))
        return str(self._field_or_template(doc, spec, "doc_to_decontamination_query"))

    def filter_response(self, response: str) -> dict[str, str]:
        """A generation after each ``filter_list`` pipeline (lm-eval's regex, take_first, ... filters);
        ``{"none": response}`` without filters, as lm-eval names it."""
        if not self.config.filter_list:
            return {"none": response}
        return {spec.name: _apply_filters(spec.filter, response) for spec in self.config.filter_list}

    # -- checks before work ------------------------------------------------------------------------------------

    def check(self, num_fewshot: int | None = None) -> None:
        """Problems that can be known before scoring (data, splits, fields the templates use): one TaskError."""
        docs = self.eval_docs()
        if not docs:
            raise self.error(f"split {self.config.eval_split()!r} has no rows"
                             + (" left after filter_rows" if self.config.filter_rows else ""))
        cols = self.columns
        problems = []
        for key, spec in self._templates():
            for f in sorted(template_fields(spec) - set(cols)):
                problems.append(f"{key}: the template uses field {f!r}, which split {self.config.eval_split()!r} "
                                f"does not have{_fields_note(f, cols)}")
            if spec not in cols and not template_fields(spec) and re.fullmatch(r"\w+", spec) and \
                    key != "description":
                if _did_you_mean(spec, cols):  # a bare word that is not a field is a constant in lm-eval: a typo
                    problems.append(f"{key}: {spec!r} is not a field of the data{_fields_note(spec, cols)}")
        for f in self.config.choices_from or []:
            if f not in cols:
                problems.append(f"choices_from: split {self.config.eval_split()!r} has no field {f!r}"
                                f"{_fields_note(f, cols)}")
        fs = self.config.fewshot()
        if fs.split is not None and fs.split not in self.splits():
            problems.append(f"fewshot_split: split {fs.split!r} is not in the data (splits: "
                            f"{', '.join(self.splits())})")
        meta = self.config.metadata or {}
        if problems and (meta.get("source") or meta.get("download")):  # a benchmark: which file, and its origin
            files = self._data_files()
            read = files.get(self.config.eval_split(), []) if isinstance(files, dict) else _flat(files)
            read = list(read.values()) if isinstance(read, dict) else read  # parallel text: {column: file}
            problems.append(f"split {self.config.eval_split()!r} was read from {', '.join(read) or '?'}"
                            f"{self._source_hint()}")
        if problems:
            raise self.error(*problems)

    def _templates(self) -> Iterator[tuple[str, str]]:
        cfg = self.config
        specs = [("doc_to_text", cfg.doc_to_text), ("doc_to_target", cfg.doc_to_target),
                 ("doc_to_choice", cfg.doc_to_choice), ("gen_prefix", cfg.gen_prefix),
                 ("description", cfg.description), ("doc_to_decontamination_query", cfg.doc_to_decontamination_query)]
        own = cfg.fewshot_config.model_dump(exclude_unset=True) if cfg.fewshot_config else {}
        specs += [(f"fewshot_config.{k}", own[k]) for k in ("doc_to_text", "doc_to_target", "doc_to_choice",
                                                            "gen_prefix") if k in own]
        from jinja2 import TemplateSyntaxError

        for key, spec in specs:
            if isinstance(spec, str) and spec:
                try:
                    template_fields(spec)
                except TemplateSyntaxError as e:
                    raise self.error(f"{key}: not a valid Jinja2 template: {e.message} (line {e.lineno})") from None
                yield key, spec

    # -- requests ----------------------------------------------------------------------------------------------

    def shots(self, num_fewshot: int | None = None) -> int:
        """lm-eval's rule: the caller's shots, unless the task fixes num_fewshot: 0; default 0."""
        own = self.config.num_fewshot
        if num_fewshot is not None and own == 0:
            if num_fewshot:
                log.warning("%s: num_fewshot is 0 in the task file; %d shots asked for are ignored (as lm-eval)",
                            self.name, num_fewshot)
            return 0
        return num_fewshot if num_fewshot is not None else (own or 0)

    def build_requests(self, *, num_fewshot: int | None = None, limit: int | float | None = None, seed: int = 1234,
                       apply_chat_template: bool | None = None, system_instruction: str | None = None,
                       fewshot_as_multiturn: bool | None = None,
                       chat_template: Callable[..., str] | None = None) -> list[Request]:
        """One Request per evaluation row (the first ``limit`` rows; a float below 1 is a fraction, as lm-eval).

        Few-shot examples are drawn with one ``random.Random(seed)`` over the rows in order, as lm-eval's
        sampler with ``fewshot_random_seed``. With ``apply_chat_template`` (or the task's own), prompts are
        rendered by ``chat_template(messages, add_generation_prompt=...)`` (the model wrapper's
        ``apply_chat_template``), few-shot examples as turns unless ``fewshot_as_multiturn=False``.
        """
        self.check()
        cfg = self.config
        chat = cfg.apply_chat_template if apply_chat_template is None else apply_chat_template
        if chat and chat_template is None:
            raise ValueError(f"{self.name}: apply_chat_template needs chat_template= (the model's "
                             "apply_chat_template, e.g. lm.apply_chat_template)")
        system = cfg.system_instruction if system_instruction is None else system_instruction
        multiturn = cfg.fewshot_as_multiturn if fewshot_as_multiturn is None else fewshot_as_multiturn
        if limit is not None and limit <= 0:
            raise ValueError(f"limit must be positive (a count, or a fraction below 1); found {limit}")
        docs = self.eval_docs()
        n = len(docs) if limit is None else (math.ceil(len(docs) * limit) if limit < 1.0 else int(limit))
        shots = self.shots(num_fewshot) if cfg.output_type != "loglikelihood_rolling" else 0
        fs = cfg.fewshot()
        pool = self._pool(fs, shots)
        exclude = fs.split == cfg.test_split  # lm-eval leaves the row out of its own examples only then
        rnd = random.Random(seed)
        out = []
        for doc_id, doc in enumerate(docs[:n]):
            try:
                # drawn first, for every row, so that the random state follows lm-eval's row by row
                examples = _sample(rnd, pool, shots, doc if exclude else None, fs.sampler == "first_n")
                out.append(self._request(doc_id, doc, examples, fs, chat, chat_template, system, multiturn))
            except _Skip as e:
                out.append(Request(doc_id, doc, "", cfg.output_type, [], None, skipped=str(e)))
        if out and all(r.skipped for r in out):
            reasons = sorted({r.skipped for r in out})
            raise self.error(f"none of the {len(out)} rows can be used: " + "; ".join(reasons[:3]))
        return out

    def _pool(self, fs: FewshotConfig, shots: int) -> list[dict]:
        if not shots:
            return []
        pool = self.fewshot_docs()
        if not pool:
            raise self.error(f"{shots}-shot needs few-shot examples: set fewshot_split (or training_split / "
                             "validation_split), or num_fewshot: 0")
        if fs.fewshot_indices:  # lm-eval 0.4 reads the key but never hands it to its samplers
            log.warning("%s: fewshot_config.fewshot_indices has no effect (as in lm-eval 0.4, whose numbers jazari "
                        "reproduces); to choose the examples, put them in their own split (fewshot_split)", self.name)
        usable = []
        self.fewshot_problems = []
        for i, d in enumerate(pool):
            try:
                self._example_turn(d, fs)
                usable.append(d)
            except _Skip as e:
                self.fewshot_problems.append(f"few-shot row {i}: {e}")
        if self.fewshot_problems:
            log.warning("%s: %d few-shot row(s) left out of the pool: %s", self.name, len(self.fewshot_problems),
                        "; ".join(self.fewshot_problems[:3]))
        need = shots + (1 if fs.split == self.config.test_split and fs.sampler != "first_n" else 0)  # n + 1 drawn
        if len(usable) < need:
            raise self.error(f"{shots}-shot needs {need} usable few-shot rows; the pool has {len(usable)} "
                             f"(of {len(pool)})")
        return usable

    def _example_turn(self, d: dict, fs: FewshotConfig) -> list[_Message]:
        c = self.doc_to_choice(d, fs.doc_to_choice) if (fs.doc_to_choice or self.config.choices_from) else None
        return _qa_turn(self.doc_to_text(d, fs.doc_to_text), c, self.doc_to_target(d, fs.doc_to_target),
                        self._resolve_field(d, fs.gen_prefix, "fewshot_config.gen_prefix"),
                        fs.target_delimiter, fs.fewshot_delimiter)

    def _request(self, doc_id: int, doc: dict, examples: list[dict], fs: FewshotConfig, chat: bool,
                 chat_template: Callable[..., str] | None, system: str | None, multiturn: bool) -> Request:
        cfg = self.config
        kind = cfg.output_type
        if kind == "loglikelihood_rolling":
            text = self.doc_to_target(doc)
            return Request(doc_id, doc, "", kind, [str(text)], str(text))
        messages: list[_Message] = []
        description = self._resolve_field(doc, cfg.description, "description") or ""
        system_prompt = _maybe_delimit(system, description, cfg.fewshot_delimiter)
        if system_prompt:
            messages.append(_Message("system", system_prompt))
        for ex in examples:
            messages += self._example_turn(ex, fs)
        choices = self.doc_to_choice(doc) if self._has_choices() else []
        target = self.doc_to_target(doc)
        gen_prefix = self.doc_to_prefix(doc)
        messages += _qa_turn(self.doc_to_text(doc), choices or None, None, gen_prefix, cfg.target_delimiter, "")
        dicts = None
        if chat:
            dicts = [m.to_dict() for m in messages] if multiturn else _singleturn(messages)
            context = chat_template(dicts, add_generation_prompt=not gen_prefix)
        else:
            context = "".join(m.to_text() for m in messages)
        req = Request(doc_id, doc, context, kind, [], None, choices, messages=dicts)
        if kind == "multiple_choice":
            delim = cfg.target_delimiter
            if chat:
                delim = cfg.target_delimiter if cfg.gen_prefix and not cfg.gen_prefix[-1:].isspace() else ""
            req.continuations = [f"{delim}{c}" for c in choices]
            req.gold = _gold_index(target, choices)
        elif kind == "loglikelihood":
            req.continuations = [target if isinstance(target, str) else str(target)]
            req.gold = req.continuations[0]
        else:  # generate_until
            req.generation_kwargs = cfg.generation()
            req.gold = _gold_text(target, choices)
        return req


def _gold_index(target: Any, choices: list[str]) -> int | list[int]:
    """The right choice's index (lm-eval: an int, a choice's text, or a list of ints)."""
    if isinstance(target, list):
        return [_gold_index(t, choices) for t in target]  # type: ignore[misc]
    if isinstance(target, bool):
        target = int(target)
    if isinstance(target, int):
        if not 0 <= target < len(choices):
            raise _Skip(f"answer index {target} is out of range for {len(choices)} choices")
        return target
    if isinstance(target, str):
        if target in choices:
            return choices.index(target)
        raise _Skip(f"answer {target[:60]!r} is not one of the choices {choices[:6]} (for an index, write "
                    "doc_to_target as a template: \"{{answer}}\")")
    raise _Skip(f"doc_to_target gave {target!r} ({type(target).__name__}), not an index or a choice")


def _gold_text(target: Any, choices: list[str]) -> str | list[str]:
    if choices:
        if not isinstance(target, int) or not 0 <= target < len(choices):
            raise _Skip(f"answer {target!r} is not an index into the {len(choices)} choices")
        return choices[target]
    if isinstance(target, list):
        return [str(t) for t in target]
    return str(target)


def _apply_filters(steps, response: str) -> str:
    """lm-eval's declarative filters on one response (take_first is a no-op for one greedy generation)."""
    for step in steps:
        kw = step.model_extra or {}
        if step.function == "regex":
            found = re.findall(kw.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"), response)
            if found:
                match = found[kw.get("group_select", 0)]
                if isinstance(match, tuple):
                    match = next((m for m in match if m), kw.get("fallback", "[invalid]"))
                response = match.strip()
            else:
                response = kw.get("fallback", "[invalid]")
        elif step.function == "remove_whitespace":
            response = response.strip()
        elif step.function == "lowercase":
            response = response.lower()
        elif step.function == "uppercase":
            response = response.upper()
        elif step.function == "map":
            response = (kw.get("mapping_dict") or {}).get(response, kw.get("default_value"))
    return response


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
    ds_logging.set_verbosity_error()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        ds_logging.set_verbosity(level)
        if bars:
            ds_logging.enable_progress_bar()


# ---------------------------------------------------------------------------------------------------------------
# The registry lives in task_registry.py; its names are importable from here too (lazily: it imports this module).

_REGISTRY = ("TaskGroup", "load_task", "load_tasks", "list_tasks", "export_lm_eval")


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from jazari_nlp.evaluation import task_registry

        return getattr(task_registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Task", "TaskInfo", "Request", "TaskError", "render", "template_fields", "utf8_problem", "PACKAGE_TASKS",
           "data_root", "expand_path", "DATA_ROOT_VAR", "DEFAULT_DATA_ROOT"]  # and, lazily, the _REGISTRY names
