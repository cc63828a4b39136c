"""The ``corpus:`` section: sources, the ordered step list, the held-out split and the executor.

The YAML maps one to one onto step classes: ``- quality: {min_words: 20}`` becomes ``QualityFilter`` with
those arguments (see ``jazari_nlp.corpus.steps``). Steps run in the order written.

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

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from jazari_nlp.schema import InputGlob, StrictModel, TextFilesSection
from jazari_nlp.text.langid import LangIdConfig

FORMATS = ("auto", "txt", "jsonl", "parquet", "csv", "tsv", "arrow", "warc", "wet", "hub")
# What a source's text is: long documents (web, news, books) or short items (the rest). See corpus/filters.py.
SOURCE_KINDS = ("auto", "web", "news", "books", "social", "sentences", "lexicon", "transcripts")
LONG_KINDS = ("web", "news", "books")


def language_code(code: str, where: str) -> str:
    """The registry code for a code or alias (``english`` → ``eng_Latn``); a ValueError with a did-you-mean
    for an unknown one, so a typo fails at validation instead of silently dropping every document.
    Codes added by an experiment's ``languages:`` section are known (they are registered first).

    Example: ``language_code("ENG", "langid.keep")`` → ``'eng_Latn'``.
    """
    import difflib

    from jazari_nlp.text import UnknownLanguageError, canonical_code, languages

    try:
        return canonical_code(code)
    except UnknownLanguageError:
        pass
    known = [lang.code for lang in languages()]
    names = {c.lower(): c for c in known}
    for lang in languages():
        names.update({a.lower(): lang.code for a in lang.aliases})
    near = difflib.get_close_matches(str(code).lower(), list(names), n=1, cutoff=0.6)
    hint = f" (did you mean {names[near[0]]!r}?)" if near else ""
    raise ValueError(f"{where}: unknown language {code!r}{hint}; known codes: {', '.join(known)} "
                     "(an experiment can add codes in its `languages:` section)")


def _language_keys(v: dict, where: str) -> dict:
    out: dict = {}
    for code, value in v.items():
        canon = language_code(code, where)
        if canon in out:
            raise ValueError(f"{where}: {code!r} and another key both mean {canon!r}")
        out[canon] = value
    return out


class SourceConfig(StrictModel):
    """One input: local files (globs), a ``save_to_disk`` folder or a Hub data set (needs ``allow_network``)."""

    name: str = Field(description="Short name stored in every row's `source` column.")
    paths: list[InputGlob] = Field(default_factory=list, description="Files or globs, relative to the config.")
    hub: str | None = Field(None, description="Hub data set id (read only when the experiment allows network).")
    hub_config: str | None = None
    hub_split: str = "train"
    format: Literal[FORMATS] = Field("auto", description="auto: from the file extension (.gz/.zst stripped).")
    kind: Literal[SOURCE_KINDS] = Field(
        "auto", description="What the text is, which picks the quality rules: web, news, books (long documents: "
        "repetition and line-structure rules), social, sentences, lexicon, transcripts (short items: junk, spam, "
        "link-only and length rules); auto: chosen per document by its length.")
    text_field: str = "text"
    id_field: str | None = Field("id", description="Field/column with the input's own id, kept as the row id "
                                 "(as datatrove does); rows without it get `source/file:line`. None: always that.")
    keep_fields: list[str] = Field(default_factory=list, description="Input fields carried into the output rows "
                                   "(labels, topics, dates), as string columns.")
    language: str | None = Field(None, description="Language hint, e.g. ary_Arab (used by langid `use_hint`).")
    license: str = "unknown"
    weight: float = Field(1.0, ge=0, description="Sampling weight recorded in rows and the manifest.")
    delimiter: str | None = Field(None, description="CSV delimiter (default: sniffed among , ; TAB |); TSV: TAB.")
    document_per: Literal["line", "paragraph", "file"] = Field("line", description="txt files: what a document is.")
    on_invalid_utf8: Literal["decode", "reject", "replace"] = Field(
        "decode", description="decode: bytes that are not UTF-8 are read as Windows-1256 (Arabic) or cp1252 "
        "(jazari_nlp.text.decode_bytes), `invalid_utf8` if still unreadable; reject: always `invalid_utf8`; "
        "replace: U+FFFD and keep.")
    limit: int = Field(-1, description="Read at most this many documents per file (-1: all).")

    @field_validator("language")
    @classmethod
    def _known_language(cls, v: str | None, info: ValidationInfo) -> str | None:
        # skip_exists: a worker re-validating a config already checked (where experiment codes are unknown)
        if v is None or (info.context or {}).get("skip_exists"):
            return v
        return language_code(v, "language")

    @model_validator(mode="after")
    def _has_input(self) -> SourceConfig:
        if not self.paths and not self.hub:
            raise ValueError(f"source {self.name!r}: give `paths` (files/globs) or `hub` (a Hub data set id)")
        return self

    @model_validator(mode="after")
    def _fields_exist(self, info: ValidationInfo) -> SourceConfig:
        # A text_field the files do not have would reject every record as missing_text_field: say it now.
        if not self.paths or (info.context or {}).get("skip_exists"):
            return self
        from jazari_nlp.corpus.sources import check_source_fields, resolve_source_files

        problems = check_source_fields(self, resolve_source_files(self)[0])
        if problems:
            more = f" (and {len(problems) - 3} more files)" if len(problems) > 3 else ""
            raise ValueError("; ".join(problems[:3]) + more)
        return self


# ---------------------------------------------------------------------------------------------------------
# Steps. Each class below is the whole configuration of one step in jazari_nlp/corpus/steps.py.


class RepairStep(StrictModel):
    """Fix mojibake (ftfy), drop control characters and lone surrogates, reject empty or oversized documents."""

    fix_mojibake: bool = True
    max_chars: int = Field(1_000_000, gt=0, description="Longer documents are rejected as `too_long`.")
    min_chars: int = Field(1, ge=0, description="Shorter documents (after repair) are rejected as `empty`.")


class NormalizeStep(StrictModel):
    """Apply a jazari text normalization profile (``train`` keeps meaning, ``match`` is aggressive)."""

    profile: Literal["train", "match"] = "train"


# Documents with at least this many words are "long" when their source's kind is auto (see QualityStep).
LONG_MIN_WORDS = 100


class LangIdStep(StrictModel):
    """Tag `lang`, `lang_score` and `script`; drop languages not kept and scores under their threshold.

    ``thresholds`` apply to long documents (kind web/news/books, or auto with ``long_min_words`` words or
    more), ``short_thresholds`` to the others: FineWeb-2's values were fitted on web pages, and a tweet or a
    one-line sentence scores lower for any identifier without being less Darija.
    """

    identifier: LangIdConfig = Field(default_factory=LangIdConfig, description="jazari's LangIdConfig.")
    use_hint: bool = Field(False, description="Trust the source's `language` hint when it has one (score 1.0).")
    keep: list[str] | None = Field(None, description="Languages kept (None: all). Others: `lang_not_kept`.")
    min_score: float = Field(0.0, ge=0, le=1, description="Threshold for languages not in `thresholds` "
                             "(or `short_thresholds` for short documents).")
    # FineWeb-2's published language_score thresholds for these two languages (configs/<lang>.yml).
    thresholds: dict[str, float] = Field(default_factory=lambda: {"ary_Arab": 0.418, "zgh_Tfng": 0.3},
                                         description="Per-language minimum scores of long documents.")
    short_thresholds: dict[str, float] = Field(default_factory=dict, description="Per-language minimum scores "
                                               "of short documents (default none: `min_score`).")
    long_min_words: int = Field(LONG_MIN_WORDS, ge=1, description="Kind auto: documents with at least this many "
                                "words are long.")
    max_chars: int = Field(1000, gt=0, description="Identify on the first N characters (speed).")

    @field_validator("keep")
    @classmethod
    def _known_keep(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else list(dict.fromkeys(language_code(c, "langid.keep") for c in v))

    @field_validator("thresholds", "short_thresholds")
    @classmethod
    def _known_thresholds(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for code, t in v.items():
            if not 0 <= t <= 1:
                raise ValueError(f"langid.{info.field_name}.{code}: {t} is not a score between 0 and 1")
        return _language_keys(v, f"langid.{info.field_name}")


class _Overrides(StrictModel):
    """Threshold sets are overrides: only the keys a user wrote count (``model_fields_set``), and only those
    are written back by ``model_dump`` (``None`` included: it switches a check off), so a resolved config
    that is saved and loaded again means the same thing."""

    @model_serializer(mode="wrap")
    def _written_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        return {k: out.get(k) for k in type(self).model_fields if k in self.model_fields_set}

    def written(self) -> dict[str, Any]:
        """The keys set explicitly, nested sets included. Example: ``ShortThresholds(min_words=3).written()``."""
        return {k: v.written() if isinstance(v, _Overrides) else v
                for k, v in self.__dict__.items() if k in self.model_fields_set}


class ShortThresholds(_Overrides):
    """Rules for short documents: posts, comments, sentences, lexicon entries, transcript turns (see
    corpus/filters.py ``short_reason``). ``None`` switches a check off."""

    min_words: int | None = Field(2, description="Fewer words: `quality_too_few_words` (links not counted).")
    lexicon_min_words: int | None = Field(1, description="The same for sources of kind `lexicon`.")
    max_replacement_ratio: float | None = Field(
        0.001, description="Share of U+FFFD among the characters (bytes no decoding could read): "
        "`quality_replacement_chars`.")
    max_link_ratio: float | None = Field(
        0.5, description="Share of URL/@mention/#hashtag tokens: `quality_mostly_links` (none of words: "
        "`quality_links_only`).")
    min_letter_ratio: float | None = Field(
        0.5, description="Letters among letters, digits and symbols, emoji not counted, Arabizi digits (2 3 5 7 8 "
        "9 in mostly-letter words) counted as letters: `quality_few_letters` (no letter: `quality_no_letters`).")
    max_boilerplate_ratio: float | None = Field(
        0.5, description="Share of words in navigation/cookie/'read more' segments: `quality_boilerplate`.")
    min_repeats_one_token: int | None = Field(
        3, description="A document that is one token repeated this many times or more: `quality_repeated_token`.")
    max_dup_line_frac: float | None = Field(
        0.5, description="Share of lines that repeat an earlier line: `quality_repeated_lines`.")


class QualityThresholds(_Overrides):
    """Gopher / FineWeb heuristics for long documents, and ``short`` for short ones. ``None`` switches a check
    off. Defaults are Gopher's (Rae et al. 2021)."""

    max_replacement_ratio: float | None = Field(
        0.001, description="jazari: share of U+FFFD (bytes no decoding could read): `quality_replacement_chars`.")
    min_words: int | None = 50
    max_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_digit_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: list[tuple[int, float]] | None = [(2, 0.2), (3, 0.18), (4, 0.16)]
    dup_n_grams: list[tuple[int, float]] | None = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11),
                                                   (10, 0.10)]
    min_line_punct_ratio: float | None = Field(0.12, description="FineWeb: share of lines ending in punctuation.")
    max_short_line_ratio: float | None = Field(0.67, description="FineWeb: share of lines under 30 characters.")
    short: ShortThresholds = Field(default_factory=ShortThresholds, description="Rules for short documents.")


def _check_keys(over: Any, model: type[StrictModel], where: str) -> None:
    """Unknown keys of a ``per_language`` entry, with a did-you-mean (they sit under a language code, where
    the generic config messages cannot tell which keys are valid)."""
    import difflib

    if not isinstance(over, dict):
        return  # pydantic says what it expected
    for key, value in over.items():
        field = model.model_fields.get(key)
        if field is None:
            near = difflib.get_close_matches(str(key), list(model.model_fields), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"{where}.{key}: unknown key {key!r}{hint} Valid keys here: "
                             f"{', '.join(sorted(model.model_fields))}")
        if key == "short":
            _check_keys(value, ShortThresholds, f"{where}.short")


class QualityStep(StrictModel):
    """Quality filters by document length and source kind, with per-language thresholds.

    Long documents (source kind web/news/books, or kind auto with ``long_min_words`` words or more) get the
    Gopher/FineWeb rules of ``QualityThresholds``; short ones (kinds social, sentences, lexicon, transcripts, or
    auto under ``long_min_words``) get ``QualityThresholds.short``. Each threshold comes from, last one winning:
    (a) the class defaults and jazari's shipped per-language table, (b) the keys written in ``defaults``,
    (c) the keys written in ``per_language.<lang>``.
    """

    defaults: QualityThresholds = Field(default_factory=QualityThresholds, description="Thresholds for every "
                                        "language: the keys written here win over the shipped table.")
    per_language: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-language thresholds (QualityThresholds keys, `short` included): "
        "win over `defaults` and the shipped table.")
    use_shipped_table: bool = Field(True, description="Start from jazari's FineWeb-2-derived per-language table.")
    long_min_words: int = Field(LONG_MIN_WORDS, ge=1, description="Kind auto: documents with at least this many "
                                "words get the long-document rules.")
    stopwords: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra/replacement stopword lists (default: corpus/stopwords/<lang>.txt)."
    )

    @field_validator("per_language")
    @classmethod
    def _check_overrides(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from pydantic import ValidationError

        for lang, over in v.items():
            _check_keys(over, QualityThresholds, str(lang))  # typo'd keys fail here, before any work
            try:
                QualityThresholds.model_validate(over)
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(map(str, (lang, *err["loc"])))
                raise ValueError(f"{where}: {err['msg']}; found {err.get('input')!r}") from None
        return _language_keys(v, "quality.per_language")

    @field_validator("stopwords")
    @classmethod
    def _known_stopword_languages(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return _language_keys(v, "quality.stopwords")


class PiiStep(StrictModel):
    """Replace personal data with typed placeholders (<EMAIL>, <PHONE>, <CIN>, <IBAN>, <IP>) and count them."""

    email: bool = True
    phone: bool = True
    cin: bool = True
    iban: bool = True
    ip: bool = True


class ExactDedupStep(StrictModel):
    """Keep one document per exact key (the text under a normalization profile); others: `exact_duplicate`."""

    key: Literal["match", "train", "raw"] = "match"


class NearDedupStep(StrictModel):
    """MinHash LSH (datatrove's 4 stages). Catches pairs above ~(1/b)^(1/r) Jaccard on word n-grams."""

    n_grams: int = Field(5, ge=1)
    num_buckets: int = Field(14, ge=1)
    hashes_per_bucket: int = Field(8, ge=1)
    seed: int = 1
    precision: Literal[32, 64] = 64


class DecontaminateStep(TextFilesSection):
    """Drop (or tag) documents sharing a word n-gram with benchmark files (txt/jsonl/tsv/csv/parquet)."""

    section: ClassVar[str] = "decontaminate"
    files_key: ClassVar[str] = "benchmarks"

    benchmarks: list[InputGlob] = Field(default_factory=list)
    text_field: str = Field("text", description="Field/column holding benchmark text (jsonl/csv/parquet).")
    n: int = Field(8, ge=1, description="Word n-gram length; shorter benchmark items are matched whole.")
    min_item_words: int = Field(4, ge=1, description="Benchmark items with fewer words are ignored.")
    mode: Literal["drop", "tag"] = "drop"



STEP_TYPES: dict[str, type[StrictModel]] = {
    "repair": RepairStep,
    "normalize": NormalizeStep,
    "langid": LangIdStep,
    "quality": QualityStep,
    "pii": PiiStep,
    "exact_dedup": ExactDedupStep,
    "near_dedup": NearDedupStep,
    "decontaminate": DecontaminateStep,
}


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


RepairEntry = STEP_ENTRIES["repair"]
NormalizeEntry = STEP_ENTRIES["normalize"]
LangIdEntry = STEP_ENTRIES["langid"]
QualityEntry = STEP_ENTRIES["quality"]
PiiEntry = STEP_ENTRIES["pii"]
ExactDedupEntry = STEP_ENTRIES["exact_dedup"]
NearDedupEntry = STEP_ENTRIES["near_dedup"]
DecontaminateEntry = STEP_ENTRIES["decontaminate"]

StepEntry = Annotated[
    Annotated[RepairEntry, Tag("repair")]
    | Annotated[NormalizeEntry, Tag("normalize")]
    | Annotated[LangIdEntry, Tag("langid")]
    | Annotated[QualityEntry, Tag("quality")]
    | Annotated[PiiEntry, Tag("pii")]
    | Annotated[ExactDedupEntry, Tag("exact_dedup")]
    | Annotated[NearDedupEntry, Tag("near_dedup")]
    | Annotated[DecontaminateEntry, Tag("decontaminate")],
    Discriminator(_step_tag),
]


def step_kind_and_config(entry: StrictModel) -> tuple[str, StrictModel]:
    """``(kind, step config)`` of one validated step entry. Example: ``('quality', QualityStep(...))``."""
    kind = _step_tag(entry)
    return kind, getattr(entry, kind)


def default_steps() -> list[dict[str, dict]]:
    """The shipped default pipeline: every step, in the order jazari recommends."""
    return [{k: {}} for k in
            ("repair", "normalize", "langid", "quality", "decontaminate", "exact_dedup", "near_dedup", "pii")]


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
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2


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
        from jazari_nlp.corpus.steps import ROW_FIELDS

        clash = [f for f in self.kept_fields() if f in (*ROW_FIELDS, "text")]
        if clash:
            raise ValueError(f"keep_fields: {clash} are columns jazari writes itself ({', '.join(ROW_FIELDS)}); "
                             "keep other fields, or rename them in the input")
        kinds = [step_kind_and_config(e)[0] for e in self.steps]
        for k in ("exact_dedup", "near_dedup"):
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

    from jazari_nlp.config import apply_override, parse_override
    from jazari_nlp.corpus.sources import input_sources

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
