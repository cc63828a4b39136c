"""The language identifier's training recipe: which labelled files, how to read them, which rows go to which split.

The recipe is a YAML file (``configs/langid.yaml``) whose keys are exactly :class:`LangIdTrainConfig`: a list of
sources (files, how to read them, which label), the held-out test share and dev shares, the Arabic stage's rows,
per-label balancing and the fastText knobs. :mod:`jazari_nlp.text.langid_train` trains from it.

Example::

    >>> cfg = load_train_config("configs/langid.yaml")
    >>> collect(cfg, "test")[0]            # a held-out (label, text) row: never trained on
    ('ar_other', '...')
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from jazari_nlp.schema import ConfigPath, InputGlob, StrictModel, expand_globs
from jazari_nlp.text.registry import LanguageSpec, canonical_code, register_language
from jazari_nlp.text.script import dominant_script

csv.field_size_limit(sys.maxsize)


class LangIdSource(StrictModel):
    """One labelled source. The label is ``label`` (fixed), or read from ``label_field``, the parent
    folder (``label_from: parent_dir``, sib200/<lang>/train.tsv) or the file stem (``label_from: stem``);
    ``by_script`` overrides it per dominant script (tweets: ``{Arab: ary_Arab, Latn: ary_Latn}``).

    ``test_holdout`` (the held-out test share, default: the recipe's ``test_holdout``) and ``holdout`` (dev
    share) hash ``holdout_key`` (``index_id``: parallel FLORES rows held out together) or the text, each with its
    own salt. A test row is in no other split: it is never trained on, never fits the Arabic stage and never
    counts as dev, so settings chosen on dev say nothing about it.

    ``stage: true``: the source's Arabic-script rows (labels ary_Arab, arb_Arab, ar_other) also fit the Arabic
    stage (:class:`ArabicStageConfig`), in the word model's class ``stage_class`` (default: the label before
    registry aliasing, so ``aeb_Arab`` stays its own class). ``split: stage``: the rows fit only the stage, never
    fastText.

    ``drop_words``: rows with 3+ of these words making ``drop_share`` or more of their words are dropped from
    every split (another language's function words: the French quotes and references in Kabyle Wikipedia)."""

    files: list[InputGlob]
    exclude: list[InputGlob] = []
    format: Literal["auto", "tsv", "csv", "jsonl", "txt"] = "auto"
    text_field: str = "text"
    label: str | None = None
    label_field: str | None = None
    label_from: Literal["parent_dir", "stem"] | None = None
    by_script: dict[str, str] = {}
    where: dict[str, str] = {}
    holdout: float = 0.0
    holdout_key: str | None = None
    test_holdout: float | None = None
    stage: bool = False
    stage_class: str | None = None
    drop_words: list[str] = []
    drop_share: float = 0.2
    max_rows: int | None = None
    min_chars: int = 2
    split: Literal["train", "dev", "stage"] = "train"
    repeat: int = 1


class FastTextParams(StrictModel):
    """fastText supervised knobs; defaults give a ~2 MB quantized model that trains in about a minute."""

    dim: int = 32
    epoch: int = 20
    lr: float = 0.5
    minn: int = 2
    maxn: int = 5
    word_ngrams: int = 2
    bucket: int = 400_000
    min_count: int = 1
    loss: Literal["softmax", "ova", "hs"] = "softmax"
    quantize: bool = True
    cutoff: int = 150_000
    seed: int = 0


class ArabicStageConfig(StrictModel):
    """The Arabic stage (:mod:`jazari_nlp.text.langid_arabic`), written beside the model as
    ``<model>.arabic.json``. Cross-fitted: the stage rows (sources with ``stage: true`` or ``split: stage``) are
    cut into ``folds`` by their key; for each fold a fastText model is trained without that fold's rows and
    scores them, so the regressions learn from scores of text the model did not see, as at run time.

    ``alpha``: the word model's smoothing; ``gate_class``: a word-model class (the Darija tweets) whose rows do
    not fit the regressions, and text whose posterior for it is over ``gate_posterior`` keeps fastText's
    decision; ``arb_threshold``: the MSA probability (among what is not Darija) above which text is MSA."""

    folds: int = Field(5, ge=2)
    l2: float = 0.01
    steps: int = 3000
    alpha: float = 0.1
    gate_class: str | None = None
    gate_posterior: float = 0.5
    arb_threshold: float = Field(0.5, gt=0.0, lt=1.0)


class LangIdTrainConfig(StrictModel):
    """The whole recipe (``configs/langid.yaml``). ``test_holdout``: the share of every train or stage source
    (hashed by its ``holdout_key`` or text, salt ``test:``) kept as the held-out test split, unless a source
    sets its own ``test_holdout``. ``prefer_labels``: which label a text met under several labels keeps in the
    training and stage rows (the first of them it has); its other copies, or all of them when it has none of
    these labels, are dropped."""

    sources: list[LangIdSource]
    test_holdout: float = 0.0
    prefer_labels: list[str] = []
    output: ConfigPath
    languages: list[LanguageSpec] = []
    max_per_label: int | None = 20_000
    min_per_label: int = 0
    fasttext: FastTextParams = FastTextParams()
    arabic_stage: ArabicStageConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_test_share(cls, data):
        # Each source carries its own share so that iter_examples(source, split) needs nothing else.
        if isinstance(data, dict) and isinstance(data.get("sources"), list):
            share = data.get("test_holdout", 0.0)
            data = {**data, "sources": [{**src, "test_holdout": share}
                                        if isinstance(src, dict) and src.get("test_holdout") is None else src
                                        for src in data["sources"]]}
        return data


def load_train_config(path: str | Path) -> LangIdTrainConfig:
    """Read a recipe; relative paths resolve against the YAML file's folder."""

    path = Path(path)
    from jazari_nlp.config import safe_load_bounded

    data = safe_load_bounded(path.read_text(encoding="utf-8")) or {}  # aliases bounded, like experiment configs
    return LangIdTrainConfig.model_validate(data, context={"base_dir": path.resolve().parent})


def _held_out(text: str, share: float, salt: str = "") -> bool:
    return share > 0 and (zlib.crc32((salt + text).encode("utf-8", "replace")) % 10_000) < share * 10_000


def _rows(path: Path, fmt: str, text_field: str = "text") -> Iterator[dict[str, str]]:
    """Rows of a labelled file, read by :mod:`jazari_nlp.readers` (txt, JSONL, CSV/TSV with a header, parquet);
    a headerless two-column TSV is ``label<TAB>text``. Unusable rows are counted and reported on stderr."""
    from jazari_nlp.readers import ReadOptions, file_fields, format_of, iter_items

    opts = ReadOptions(format=fmt, text_field=text_field, id_field=None, keep_fields=("*",))
    header = file_fields(path, opts) or []
    if format_of(path, opts, default="txt") == "tsv" and not {"text", "label", text_field} & set(header) \
            and len(header) == 2:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:  # headerless "label<TAB>text"
            for values in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                yield dict(zip(["label", "text"], values, strict=False))
        return
    bad = 0
    for item in iter_items(path, opts):
        if item.error:
            bad += 1
            continue
        row = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in item.fields.items()}
        row[text_field] = item.text
        yield row
    if bad:
        print(f"langid train: {path}: {bad} unusable rows skipped (malformed or without {text_field!r})",
              file=sys.stderr)


def in_test(source: LangIdSource, key: str) -> bool:
    """Whether the row with this key (``index_id`` or text) is in the source's held-out test share."""
    return source.split != "dev" and _held_out(key, source.test_holdout or 0.0, "test:")


def fold_of(key: str, folds: int) -> int:
    """The cross-fitting fold of a stage row (by its key, so parallel FLORES rows share a fold)."""
    return zlib.crc32(("fold:" + key).encode("utf-8", "replace")) % folds


def _in_split(source: LangIdSource, key: str, split: str) -> bool:
    """Whether a row that is not a test row belongs to ``split`` (train, dev, stage)."""
    if split == "stage":
        return source.split == "stage" or (source.stage and source.split == "train"
                                           and not _held_out(key, source.holdout))
    if source.split != "train":
        return split == source.split
    return _held_out(key, source.holdout) == (split == "dev")


_WORDS = re.compile(r"\w+")


@cache
def _word_set(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w.lower() for w in words)


def _foreign(text: str, source: LangIdSource) -> bool:
    """Whether a row is mostly ``drop_words`` (see :class:`LangIdSource`)."""
    drop = _word_set(tuple(source.drop_words))
    words = _WORDS.findall(text.lower())
    hits = sum(w in drop for w in words)
    return hits >= 3 and hits >= source.drop_share * len(words)


def iter_rows(source: LangIdSource, split: str = "train",
              exclude_fold: tuple[int, int] | None = None) -> Iterator[tuple[str, str, str, str]]:
    """``(label, label before aliasing, key, text)`` for each row of ``split`` (once, no ``repeat``); see
    :func:`iter_examples`. ``exclude_fold=(k, folds)`` drops a stage source's rows of fold ``k``."""
    files, _ = expand_globs(source.files)
    skip = set(expand_globs(source.exclude)[0]) if source.exclude else set()
    files = [f for f in files if f not in skip]
    count = 0
    for path in files:
        for row in _rows(path, source.format, source.text_field):
            if any(row.get(k) != v for k, v in source.where.items()):
                continue
            text = (row.get(source.text_field) or "").strip()
            if len(text) < source.min_chars or (source.drop_words and _foreign(text, source)):
                continue
            key = row.get(source.holdout_key, text) if source.holdout_key else text
            if in_test(source, key) != (split == "test") or (split != "test" and not _in_split(source, key, split)):
                continue
            if exclude_fold and source.stage and fold_of(key, exclude_fold[1]) == exclude_fold[0]:
                continue
            if source.label_field:
                label = row.get(source.label_field, "")
            elif source.label_from == "parent_dir":
                label = path.parent.name
            elif source.label_from == "stem":
                label = path.stem
            else:
                label = source.label or ""
            if source.by_script:
                label = source.by_script.get(dominant_script(text), label)
            if not label:
                continue
            yield canonical_code(label), label, key, text
            count += 1
            if source.max_rows and count >= source.max_rows:
                return


def iter_examples(source: LangIdSource, split: str = "train",
                  exclude_fold: tuple[int, int] | None = None) -> Iterator[tuple[str, str]]:
    """``(label, text)`` pairs of one source for ``split``: ``train`` (each row ``repeat`` times), ``dev`` (the
    held-out share, or a dev source), ``stage`` (the rows that fit the Arabic stage) or ``test`` (the
    ``test_holdout`` share, in no other split)."""
    for label, _, _, text in iter_rows(source, split, exclude_fold):
        for _ in range(source.repeat if split == "train" else 1):
            yield label, text


def collect(cfg: LangIdTrainConfig, split: str = "train",
            exclude_fold: tuple[int, int] | None = None) -> list[tuple[str, str]]:
    """All examples of a split; for ``train``, balanced to ``min_per_label``..``max_per_label`` per label
    (``exclude_fold``: without one cross-fitting fold of the stage rows)."""
    for spec in cfg.languages:
        register_language(spec)
    examples = [ex for src in cfg.sources for ex in iter_examples(src, split, exclude_fold)]
    if split != "train":
        return examples
    examples = [examples[i] for i in _one_label_per_text([text for _, text in examples],
                                                         [label for label, _ in examples], cfg.prefer_labels)]
    rng = random.Random(cfg.fasttext.seed)
    by_label: dict[str, list[str]] = {}
    for label, text in examples:
        by_label.setdefault(label, []).append(text)
    out: list[tuple[str, str]] = []
    for label, texts in sorted(by_label.items()):
        rng.shuffle(texts)
        if cfg.max_per_label:
            texts = texts[: cfg.max_per_label]
        reps = texts * max(1, -(-cfg.min_per_label // max(1, len(texts))))
        out.extend((label, t) for t in reps[: max(len(texts), cfg.min_per_label)])
    rng.shuffle(out)
    return out


def _one_label_per_text(texts: list[str], labels: list[str], prefer: list[str]) -> list[int]:
    """Indices to keep: a text (compared as the model sees it) met under several labels keeps only the rows of
    the first ``prefer`` label it has, and none without one. Copies under one label all stay."""
    from jazari_nlp.text.langid import prepare

    seen: dict[str, set[str]] = {}
    keys = [prepare(text) for text in texts]
    for key, label in zip(keys, labels, strict=True):
        seen.setdefault(key, set()).add(label)
    chosen = {key: next((p for p in prefer if p in labs), None) for key, labs in seen.items() if len(labs) > 1}
    return [i for i, (key, label) in enumerate(zip(keys, labels, strict=True)) if chosen.get(key, label) == label]


def stage_rows(cfg: LangIdTrainConfig) -> list[tuple[str, str, str, str]]:
    """``(label, word-model class, key, text)`` of the rows that fit the Arabic stage: Arabic-script rows with an
    Arabic label from the stage sources, each text once. A text met under several labels (FLORES Najdi and some
    Ta'izzi-Adeni or Mesopotamian sentences are the MSA sentence verbatim) is kept under ``prefer_labels``' first
    label it has (MSA), else dropped: one text cannot teach two labels."""
    from jazari_nlp.text.langid import prepare
    from jazari_nlp.text.langid_arabic import LABELS

    for spec in cfg.languages:
        register_language(spec)
    rows = []
    for src in cfg.sources:
        if not (src.stage or src.split == "stage"):
            continue
        for label, raw, key, text in iter_rows(src, "stage"):
            if label in LABELS and dominant_script(text) == "Arab" and prepare(text):
                rows.append((label, src.stage_class or raw, key, text))
    keep = _one_label_per_text([text for *_, text in rows], [label for label, *_ in rows], cfg.prefer_labels)
    out, seen = [], set()
    for i in keep:
        prepared = prepare(rows[i][3])
        if prepared not in seen:
            seen.add(prepared)
            out.append(rows[i])
    return out


__all__ = ["LangIdSource", "FastTextParams", "ArabicStageConfig", "LangIdTrainConfig", "load_train_config",
           "in_test", "fold_of", "iter_rows", "iter_examples", "collect", "stage_rows"]
