"""The ``corpus:`` section: sources, the ordered step list, the held-out split and the executor.

The YAML maps one to one onto step classes: ``- quality: {min_words: 20}`` becomes ``QualityFilter`` with
those arguments. Each step's config model sits beside its step class in ``jazari_nlp/corpus/builtin_steps/``,
found here through the registry (:mod:`jazari_nlp.corpus.registry`). Steps run in the order written.

Example::

    corpus:
      sources:
        - {name: darija_news, paths: ["data/news/*.jsonl.gz"], language: ary_Arab, license: CC-BY-4.0}
      steps:
        - repair: {}
        - normalize: {profile: train}
        - langid: {keep: [ary_Arab, arb_Arab, zgh_Tfng]}
        - quality: {}
        - exact_dedup: {}
        - near_dedup: {num_buckets: 14, hashes_per_bucket: 8}
        - pii: {}
      executor: {type: local, tasks: 2, workers: 1}
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from jazari_nlp.corpus import builtin_steps  # noqa: F401 - importing it registers every built-in step
from jazari_nlp.corpus.builtin_steps.decontaminate import DecontaminateStep
from jazari_nlp.corpus.builtin_steps.dedup import ExactDedupStep, NearDedupStep
from jazari_nlp.corpus.builtin_steps.langid import LangIdStep
from jazari_nlp.corpus.builtin_steps.normalize import NormalizeStep
from jazari_nlp.corpus.builtin_steps.pii import PiiStep
from jazari_nlp.corpus.builtin_steps.quality import QualityStep
from jazari_nlp.corpus.builtin_steps.repair import RepairStep
from jazari_nlp.corpus.common import (
    FORMATS,
    LONG_KINDS,
    LONG_MIN_WORDS,
    ROW_FIELDS,
    SOURCE_KINDS,
    _language_keys,
    language_code,
)
from jazari_nlp.corpus.registry import step_specs
from jazari_nlp.corpus.sources import SourceConfig, input_sources
from jazari_nlp.corpus.thresholds import QualityThresholds, ShortThresholds, _check_keys, _Overrides
from jazari_nlp.overrides import apply_override, parse_override
from jazari_nlp.schema import StrictModel

# Older imports of the step models and helpers from here keep working.
__all__ = [
    "FORMATS", "LONG_KINDS", "LONG_MIN_WORDS", "SOURCE_KINDS", "STEP_ENTRIES", "STEP_SPECS", "STEP_TYPES",
    "AlarmConfig", "CorpusConfig", "DecontaminateStep", "ExactDedupStep", "ExecutorConfig", "LangIdStep",
    "NearDedupStep", "NormalizeStep", "OutputConfig", "PiiStep", "QualityStep", "QualityThresholds", "RayOptions",
    "RepairStep", "ShortThresholds", "SlurmOptions", "SourceConfig", "StepEntry", "_Overrides", "_check_keys",
    "_language_keys", "default_steps", "input_corpus_config", "language_code", "step_kind_and_config",
]

# Every registered step, in default-pipeline order: its YAML key → (config model, step class, order).
STEP_SPECS = step_specs()
STEP_TYPES: dict[str, type[StrictModel]] = {name: spec.config for name, spec in STEP_SPECS.items()}


def _entry(kind: str) -> type[StrictModel]:
    model = STEP_TYPES[kind]
    entry = type(f"{model.__name__}Entry", (StrictModel,), {"__annotations__": {kind: model}, "__module__": __name__})
    return entry


STEP_ENTRIES = {kind: _entry(kind) for kind in STEP_TYPES}

def _step_tag(v: Any) -> str | None:
    if isinstance(v, dict):
        return next(iter(v)) if len(v) == 1 and next(iter(v)) in STEP_TYPES else None
    for kind, entry in STEP_ENTRIES.items():
        if isinstance(v, entry):
            return kind
    return None


def _steps_before(v: Any) -> Any:
    if not isinstance(v, list):
        return v
    out = []
    for i, item in enumerate(v):
        if isinstance(item, str):  # `- exact_dedup` without arguments
            item = {item: {}}
        if isinstance(item, dict):
            if len(item) != 1:
                raise ValueError(f"steps[{i}] must have exactly one key (one of {', '.join(STEP_TYPES)}), got {list(item)}")
            (kind, args), = item.items()
            if kind not in STEP_TYPES:
                import difflib

                near = difflib.get_close_matches(str(kind), STEP_TYPES, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(f"steps[{i}]: unknown step {kind!r}{hint}; known: {', '.join(STEP_TYPES)}")
            item = {kind: {} if args is None else args}
        out.append(item)
    return out


StepEntry = Annotated[
    typing.Union[tuple(Annotated[entry, Tag(kind)] for kind, entry in STEP_ENTRIES.items())],  # noqa: UP007
    Discriminator(_step_tag),
]


def step_kind_and_config(entry: StrictModel) -> tuple[str, StrictModel]:
    """``(kind, step config)`` of one validated step entry. Example: ``('quality', QualityStep(...))``."""
    kind = _step_tag(entry)
    return kind, getattr(entry, kind)


def default_steps() -> list[dict[str, dict]]:
    """The shipped default pipeline: every registered step, in the order jazari recommends (their ``order``)."""
    return [{k: {}} for k in STEP_SPECS]


class SlurmOptions(StrictModel):
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    qos: str | None = None
    job_name: str = "jazari_corpus"
    venv_path: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)


class RayOptions(StrictModel):
    """Where the Ray tasks run. ``address`` None: the cluster of ``RAY_ADDRESS`` if set, else a Ray started on this
    machine for the build (``num_cpus`` of it) and stopped after it; ``auto``: the Ray already running here
    (``ray start --head``); ``ray://host:10001``: a remote cluster, whose workers need jazari_nlp installed and the
    input and output folders on a shared file system. Ray's usage statistics are switched off."""

    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    address: str | None = None
    num_cpus: int | None = Field(None, ge=1, description="CPUs of a Ray started for the build (default: all).")


class ExecutorConfig(StrictModel):
    """Which datatrove executor runs the pipeline. ``local`` runs here; ``slurm``/``ray`` need those clusters."""

    type: Literal["local", "slurm", "ray"] = "local"
    tasks: int = Field(2, ge=1, description="Shards of the input (datatrove tasks).")
    workers: int = Field(1, ge=1, description="Tasks run at once (local). 1 runs them in this process.")
    start_method: Literal["forkserver", "spawn", "fork"] = "forkserver"
    slurm: SlurmOptions = Field(default_factory=SlurmOptions)
    ray: RayOptions = Field(default_factory=RayOptions)


class OutputConfig(StrictModel):
    shard_max_mb: int = Field(512, ge=1, description="Parquet shards rotate at about this size.")
    compression: Literal["snappy", "zstd", "gzip", "none"] = "snappy"
    write_rejects: bool = Field(True, description="Write every dropped document with its reason to rejects/.")


class AlarmConfig(StrictModel):
    """Loss alarms: how much of a source (or file) may be rejected before the build fails. Duplicates are not
    losses (their text is kept once) and are not counted; every other reason is.

    Example: ``alarms: {fail_above: 0.5, warn_above: 0.2, accept: [old_forum]}``
    """

    fail_above: float = Field(0.5, ge=0, le=1, description="A source or file losing more than this share of "
                              "its non-duplicate documents (or all of them) fails the build.")
    warn_above: float = Field(0.2, ge=0, le=1, description="Losses above this share are warnings (console "
                              "summary, manifest, card).")
    accept: list[str] = Field(default_factory=list, description="Sources whose losses are expected: reported as "
                              "warnings, never failures ('*': every source).")
    min_file_documents: int = Field(20, ge=1, description="Files with fewer documents are judged with their "
                                    "source only (a 3-line file losing 2 is noise), unless they lose everything.")


class CorpusConfig(StrictModel):
    """The corpus stage: sources → ordered steps → per-language parquet shards, rejects, manifest."""

    sources: list[SourceConfig] = Field(min_length=1)
    steps: Annotated[list[StepEntry], BeforeValidator(_steps_before)] = Field(
        default_factory=lambda: _steps_before(default_steps()), validate_default=True
    )
    heldout_fraction: float = Field(0.05, ge=0, lt=1, description="Deterministic held-out share (hash of id+seed).")
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    alarms: AlarmConfig = Field(default_factory=AlarmConfig)

    @model_validator(mode="after")
    def _unique_sources(self) -> CorpusConfig:
        names = [s.name for s in self.sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"source names must be unique, repeated: {sorted(dup)}")
        unknown = [a for a in self.alarms.accept if a != "*" and a not in names]
        if unknown:
            raise ValueError(f"alarms.accept: {unknown} name no source (sources: {', '.join(names)})")
        clash = [f for f in self.kept_fields() if f in (*ROW_FIELDS, "text")]
        if clash:
            raise ValueError(f"keep_fields: {clash} are columns jazari writes itself ({', '.join(ROW_FIELDS)}); "
                             "keep other fields, or rename them in the input")
        kinds = [step_kind_and_config(e)[0] for e in self.steps]
        for k in (name for name, spec in STEP_SPECS.items() if spec.is_global):  # dedup: one of each at most
            if kinds.count(k) > 1:
                raise ValueError(f"step {k!r} appears more than once")
        return self

    def kept_fields(self) -> tuple[str, ...]:
        """The sources' ``keep_fields``, in order of appearance: extra string columns of the shards."""
        return tuple(dict.fromkeys(f for s in self.sources for f in s.keep_fields))

    def step_list(self) -> list[tuple[str, StrictModel]]:
        return [step_kind_and_config(e) for e in self.steps]


def input_corpus_config(patterns: list[str], *, text_field: str | list[str] = "text", tasks: int = 2, workers: int = 1,
                        overrides: list[str] | None = None, base_dir=None) -> CorpusConfig:
    """The corpus config of ``jazari corpus build --input``: the default steps on the given files, then the
    ``--set`` overrides, written relative to the corpus section (a leading ``corpus.`` is accepted).
    Files whose extension tells no format are read as txt (see ``sources.input_sources``).

    Example: ``input_corpus_config(["data/*.jsonl"], overrides=["executor.tasks=4"]).executor.tasks`` → ``4``.
    """
    from pathlib import Path

    data: dict[str, Any] = {"sources": input_sources(patterns, text_field),
                            "executor": {"tasks": tasks, "workers": workers}}
    for text in overrides or []:
        parts, value = parse_override(text)
        if parts[0] == "corpus":
            parts = parts[1:]
        if not parts:
            raise ValueError(f"--set {text}: give a key inside the corpus section, e.g. executor.tasks=4")
        try:
            apply_override(data, parts, value, Path.cwd())
        except ValueError as e:
            raise ValueError(f"--set {text}: {e}") from None
    return CorpusConfig.model_validate(data, context={"base_dir": Path(base_dir) if base_dir else Path.cwd()})
