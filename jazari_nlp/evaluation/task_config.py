"""The schema of a task YAML file: lm-evaluation-harness's keys, plus jazari's declarative extras.

A task file written for lm-eval that uses these keys and a local data set is read unchanged. Python hooks
(``!function``) are refused: jazari never runs code from a task folder; ``rename_fields``, ``filter_rows``,
``choices_from`` and ``target_offset`` (and Jinja2 templates) do the usual jobs of those hooks. Unknown keys are
errors with the nearest valid key, as in experiment configs.

Example::

    cfg = read_task_file(Path("tasks/darija_mc.yaml"))   # TaskConfig or GroupConfig; TaskError if invalid
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jazari_nlp.errors import InputError

OUTPUT_TYPES = ("multiple_choice", "loglikelihood", "loglikelihood_rolling", "generate_until")
BUILDERS = ("json", "csv", "parquet", "text", "arrow")
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's HFLM default
DECLARATIVE = ("rename_fields: {new: old}, filter_rows: {field: value}, choices_from: [field, ...], "
               "target_offset: -1, or a Jinja2 template such as doc_to_text: \"{{question | trim}}\"")
# lm-eval keys jazari knows but does not run, with the reason and what to do instead.
UNSUPPORTED = {
    "process_docs": f"is a Python hook; use {DECLARATIVE}",
    "process_results": "is a Python hook; use metric_list (the metrics jazari ships)",
    "custom_dataset": "is a Python hook; point dataset_path / dataset_kwargs.data_files at the data",
    "class": "names a Python task class; write the task with doc_to_text / doc_to_choice / doc_to_target",
    "use_prompt": "needs promptsource prompts; write the prompt as a doc_to_text template",
    "doc_to_image": "multimodal tasks are not supported",
    "doc_to_audio": "multimodal tasks are not supported",
    "unsafe_code": "tasks that execute model-written code are not supported",
}


class TaskError(InputError):
    """A task file (or task name) that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, file: str | Path, problems: list[str]):
        self.file = str(file)
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{self.file}: {problems[0]}")
        else:
            super().__init__(f"{self.file}: invalid task\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


Template = str  # a field name, a Jinja2 template, or a constant


class DatasetKwargs(_Strict):
    """Arguments of ``datasets.load_dataset``; paths relative to the task file's folder, ``${JAZARI_DATA}`` (the
    benchmarks' data root) and other ``${NAME}`` environment variables expanded."""

    data_files: str | list[str] | dict[str, str | list[str] | dict[str, str]] | None = Field(
        None, description="A file, a list, or {split: file(s)}; with dataset_path: text, also {split: {column: "
        "file}}: parallel text files read line by line, line i of each file one row (FLORES-style data).")
    data_dir: str | None = None
    revision: str | None = Field(None, description="Hub data sets only: the commit/tag to read (required).")
    field: str | None = Field(None, description="json: the key holding the list of rows.")
    delimiter: str | None = None
    sep: str | None = None
    column_names: list[str] | None = None
    keep_in_memory: bool | None = None
    trust_remote_code: bool = False

    @field_validator("trust_remote_code")
    @classmethod
    def _no_code(cls, v: bool) -> bool:
        if v:
            raise ValueError("jazari never runs a data set's loading script; set it to false and read the "
                             "data files directly (json, csv, parquet, text, arrow)")
        return v


class FewshotConfig(_Strict):
    """How few-shot examples are drawn and written (unset keys inherit the task's own)."""

    sampler: Literal["default", "first_n"] = Field(
        "default", description="default: lm-eval's seeded random sampling; first_n: the first rows in order.")
    split: str | None = None
    fewshot_indices: list[int] | None = Field(None, description="Read, but without effect (as in lm-eval 0.4).")
    samples: list[dict[str, Any]] | None = Field(None, description="Few-shot examples written in the YAML.")
    doc_to_text: Template | int | None = None
    doc_to_choice: Template | list[str] | dict[str, str] | None = None
    doc_to_target: Template | int | list | None = None
    gen_prefix: str | None = None
    fewshot_delimiter: str | None = None
    target_delimiter: str | None = None


class GenerationKwargs(_Strict):
    """Greedy decoding settings of a ``generate_until`` task."""

    until: str | list[str] | None = None
    max_gen_toks: int = Field(DEFAULT_MAX_GEN_TOKS, ge=1)
    do_sample: bool = False
    temperature: float = 0.0
    top_p: float | None = None
    top_k: int | None = None

    @field_validator("do_sample")
    @classmethod
    def _greedy(cls, v: bool) -> bool:
        if v:
            raise ValueError("jazari decodes greedily (reproducible scores); set do_sample: false")
        return v


class MetricSpec(BaseModel):
    """One ``metric_list`` entry; other keys (``ignore_case``, ...) are passed to the metric."""

    model_config = ConfigDict(extra="allow")
    metric: str
    aggregation: str | None = None
    higher_is_better: bool | None = None

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


FilterFunction = Literal["regex", "take_first", "remove_whitespace", "lowercase", "uppercase", "map"]


class FilterStep(BaseModel):
    model_config = ConfigDict(extra="allow")
    function: FilterFunction


class FilterSpec(_Strict):
    name: str
    filter: list[FilterStep]


class TaskConfig(_Strict):
    """One task. Keys and defaults are lm-evaluation-harness's (output_type defaults to generate_until there too)."""

    task: str
    task_alias: str | None = None
    tag: str | list[str] | None = None
    group: str | list[str] | None = Field(None, description="In a task file: an old-style tag (as lm-eval reads it).")
    dataset_path: str = Field(description="json, csv, parquet, text, arrow, a local folder, or a Hub id.")
    dataset_name: str | None = None
    dataset_kwargs: DatasetKwargs | None = None
    training_split: str | None = None
    validation_split: str | None = None
    test_split: str | None = None
    fewshot_split: str | None = None
    output_type: Literal[OUTPUT_TYPES] = "generate_until"  # type: ignore[valid-type]
    doc_to_text: Template | int | None = None
    doc_to_choice: Template | list[str] | dict[str, str] | None = None
    doc_to_target: Template | int | list | None = None
    gen_prefix: str | None = None
    description: str = ""
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    num_fewshot: int | None = Field(None, ge=0)
    fewshot_config: FewshotConfig | None = None
    generation_kwargs: GenerationKwargs | None = None
    metric_list: list[MetricSpec] | None = None
    metadata: dict[str, Any] | None = None
    repeats: int = 1
    filter_list: list[FilterSpec] | None = None
    should_decontaminate: bool = False
    doc_to_decontamination_query: str | None = None
    # jazari's declarative extras (instead of !function hooks)
    rename_fields: dict[str, str] = Field(default_factory=dict, description="{new_name: field_in_the_data}.")
    filter_rows: dict[str, Any] = Field(default_factory=dict, description="Keep rows whose field equals the "
                                        "value (or is one of a list of values).")
    choices_from: list[str] | None = Field(None, description="Build the choice list from these fields (empty "
                                           "ones left out).")
    target_offset: int = Field(0, description="Added to an integer answer: -1 for 1-based answers.")
    apply_chat_template: bool = False
    system_instruction: str | None = None
    fewshot_as_multiturn: bool = True

    @field_validator("task")
    @classmethod
    def _file_name(cls, v: str) -> str:
        # the name is part of the samples file's name (samples_<task>.jsonl): it must not be a path
        if not v.strip() or any(c in v for c in '/\\:*?"<>|') or v in (".", ".."):
            raise ValueError(f"{v!r} cannot name a task: the samples file is samples_<task>.jsonl, so no / \\ : * ? "
                             '" < > | (use _ or -, e.g. darija_mc)')
        return v

    @field_validator("repeats")
    @classmethod
    def _one_repeat(cls, v: int) -> int:
        if v != 1:
            raise ValueError("must be 1: jazari decodes greedily, so repeats would give the same output")
        return v

    @field_validator("doc_to_choice")
    @classmethod
    def _non_empty(cls, v):
        if isinstance(v, list | dict) and not v:
            raise ValueError("empty choice list: give at least two choices")
        return v

    @model_validator(mode="after")
    def _needs(self) -> TaskConfig:
        problems = []
        if self.output_type != "loglikelihood_rolling" and self.doc_to_text is None:
            problems.append(f"doc_to_text is required for output_type {self.output_type}")
        if self.doc_to_target is None:
            problems.append("doc_to_target is required (the answer, or the text to score)")
        if self.output_type == "multiple_choice" and self.doc_to_choice is None and not self.choices_from:
            problems.append("multiple_choice needs doc_to_choice (or choices_from: [field, ...])")
        if self.doc_to_choice is not None and self.choices_from:
            problems.append("give doc_to_choice or choices_from, not both")
        if not (self.test_split or self.validation_split):
            problems.append("set test_split (or validation_split): the split to evaluate on")
        files = self.dataset_kwargs.data_files if self.dataset_kwargs else None
        if isinstance(files, dict) and any(isinstance(v, dict) for v in files.values()) and (
                self.dataset_path != "text" or not all(isinstance(v, dict) for v in files.values())):
            problems.append("dataset_kwargs.data_files: parallel text files ({split: {column: file}}) need "
                            "dataset_path: text, and every split written that way")
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line of the error
        return self

    # -- lm-eval's derived settings --------------------------------------------------------------------------

    def tags(self) -> list[str]:
        out: list[str] = []
        for v in (self.tag, self.group):
            out += [v] if isinstance(v, str) else list(v or [])
        return out

    def eval_split(self) -> str:
        return self.test_split or self.validation_split  # type: ignore[return-value]

    def fewshot(self) -> FewshotConfig:
        """The few-shot settings with the task's values filled in where unset (lm-eval's FewshotConfig.from_dict)."""
        own = self.fewshot_config.model_dump(exclude_unset=True) if self.fewshot_config else {}
        base = {
            "split": self.fewshot_split, "fewshot_delimiter": self.fewshot_delimiter,
            "target_delimiter": self.target_delimiter, "gen_prefix": self.gen_prefix,
            "doc_to_text": self.doc_to_text, "doc_to_choice": self.doc_to_choice,
            "doc_to_target": self.doc_to_target,
        }
        return FewshotConfig.model_validate({**base, **own})

    def generation(self) -> dict[str, Any]:
        """generation_kwargs as lm-eval completes them: ``until`` defaults to the few-shot delimiter, as a list."""
        gen = (self.generation_kwargs.model_dump(exclude_none=True) if self.generation_kwargs
               else {"temperature": 0.0, "do_sample": False, "max_gen_toks": DEFAULT_MAX_GEN_TOKS})
        until = gen.get("until", self.fewshot_delimiter)
        gen["until"] = [until] if isinstance(until, str) else list(until)
        return gen


class AggMetric(_Strict):
    metric: str
    aggregation: Literal["mean"] = "mean"
    weight_by_size: bool = True
    filter_list: str | list[str] | None = None


class GroupConfig(_Strict):
    """A group file: ``group`` + ``task: [names or inline task mappings]``, scored by size-weighted means."""

    group: str
    group_alias: str | None = None
    task: list[str | dict[str, Any]]
    aggregate_metric_list: list[AggMetric] | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("task", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str | dict) else v

    @field_validator("aggregate_metric_list", mode="before")
    @classmethod
    def _listify_agg(cls, v):
        return [v] if isinstance(v, dict) else v


# ---------------------------------------------------------------------------------------------------------------
# Reading YAML: `include:`, refusing `!function`


class FunctionTag:
    """What ``!function module.name`` becomes: refused with its line."""

    def __init__(self, target: str, line: int):
        self.target, self.line = target, line


def _yaml_loader():
    import yaml

    class TaskLoader(yaml.SafeLoader):
        pass

    def _function(loader, node):
        return FunctionTag(loader.construct_scalar(node), node.start_mark.line + 1)

    TaskLoader.add_constructor("!function", _function)
    return TaskLoader


def read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A task file's mapping with its ``include:`` files merged under it (the file wins, as in lm-eval)."""
    import yaml

    from jazari_nlp.config import MAX_YAML_NODES, _expanded_size

    path = path.resolve()
    if path in _seen:
        raise TaskError(path, [f"include loop: {' -> '.join(map(str, _seen + (path,)))}"])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f" (included from {_seen[-1]})" if _seen else ""
        raise TaskError(path, [f"task file not found{where}"]) from None
    except UnicodeDecodeError as e:
        raise TaskError(path, [f"not valid UTF-8 (byte {e.start}); save the file as UTF-8"]) from None
    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}, set()) > MAX_YAML_NODES:
            raise TaskError(path, [f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes"])
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise TaskError(path, [f"not valid YAML: {' '.join(str(e).split())}"]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise TaskError(path, [f"a task file is a mapping of keys (task, dataset_path, ...); found "
                               f"{type(data).__name__}"])
    includes = data.pop("include", None)
    if includes is None:
        return data
    merged: dict[str, Any] = {}
    for inc in includes if isinstance(includes, list) else [includes]:
        inc_path = Path(str(inc)).expanduser()
        inc_path = inc_path if inc_path.is_absolute() else path.parent / inc_path
        sub = read_yaml(inc_path, _seen + (path,))
        sub.pop("task_list", None)
        merged.update(sub)
    merged.update(data)
    return merged


def _functions(value: Any, loc: str) -> list[str]:
    """Key paths holding a ``!function`` tag."""
    if isinstance(value, FunctionTag):
        return [f"{loc}: `!function {value.target}` (line {value.line}) runs Python code from the task folder, "
                f"which jazari never does; use {DECLARATIVE}"]
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _functions(v, f"{loc}.{k}" if loc else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _functions(v, f"{loc}.{i}")
    return out


def is_group(data: dict[str, Any]) -> bool:
    """lm-eval's rule: a ``group`` with a list of tasks (a ``task`` string with ``group`` is a tagged task)."""
    return "group" in data and not isinstance(data.get("task"), str)


def validate(data: dict[str, Any], file: str | Path) -> TaskConfig | GroupConfig:
    """Validate a raw mapping; every problem (unknown keys with did-you-mean, hooks, types) in one TaskError."""
    problems = _functions(data, "")
    hooked = {k for k, v in data.items() if _functions(v, k)}
    data = {k: v for k, v in data.items() if k not in hooked}
    if isinstance(data.get("fewshot_config"), dict):
        data["fewshot_config"] = {k: v for k, v in data["fewshot_config"].items() if not _functions(v, k)}
    for key, why in UNSUPPORTED.items():
        if key in data and not (key == "unsafe_code" and data[key] is False):
            problems.append(f"{key}: {why}")
            data.pop(key)
    model = GroupConfig if is_group(data) else TaskConfig
    try:
        cfg = model.model_validate(data)
    except ValidationError as e:
        problems += [line for err in e.errors() for line in _describe(err, model).split("\n")
                     if not any(line.startswith(f"{k} is required") for k in hooked)]  # said above: a hook
        raise TaskError(file, problems) from None
    if problems:
        raise TaskError(file, problems)
    return cfg


def read_task_file(path: Path) -> TaskConfig | GroupConfig:
    return validate(read_yaml(path), path)


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    from jazari_nlp.config import _clean_loc, _show, _valid_keys

    loc = _clean_loc([str(p) for p in err["loc"]])
    key_path = ".".join(loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        valid = _valid_keys(model, loc[:-1])
        hint = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
        msg = f"{key_path}: unknown key {key!r}"
        if hint:
            msg += f"; did you mean {hint[0]!r}?"
        return msg + (f" Valid keys here: {', '.join(sorted(valid))}" if valid else "")
    if kind == "missing":
        return f"{key_path}: required key is missing; add it to the task file"
    msg = err.get("msg", "invalid value")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        return msg if not loc else f"{key_path}: {msg}"
    if kind == "literal_error":
        found = err.get("input")
        hint = difflib.get_close_matches(str(found), _literal_values(msg), n=1, cutoff=0.5)
        return f"{key_path}: {msg}; found {_show(found)}" + (f"; did you mean {hint[0]!r}?" if hint else "")
    return f"{key_path}: {msg}; found {_show(err.get('input'))}"


def _literal_values(msg: str) -> list[str]:
    import re

    return re.findall(r"'([^']+)'", msg)


__all__ = [
    "TaskConfig", "GroupConfig", "FewshotConfig", "GenerationKwargs", "MetricSpec", "FilterSpec", "AggMetric",
    "DatasetKwargs", "TaskError", "read_yaml", "read_task_file", "validate", "is_group", "OUTPUT_TYPES", "BUILDERS",
]
