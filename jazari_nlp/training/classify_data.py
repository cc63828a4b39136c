"""Labelled rows for sequence classification: the ``train.classification`` section, reading the text and label
columns, the rejects (counted, with their reasons) and the seeded, stratified held-out split.

Split from :mod:`jazari_nlp.training.classify` (the model and the Trainer), which re-exports these names; this
module imports nothing of the training layer, so that the ``train:`` section can hold this one.

Example::

    rejects: list[dict] = []
    rows = read_labelled([SAMPLE], ClassificationConfig(), "train", None, rejects)  # [(text, label), ...]
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from jazari_nlp.errors import InputError
from jazari_nlp.schema import InputGlob, StrictModel

log = logging.getLogger("jazari_nlp.train")

SECTION = "train.classification"  # where the lead mounts this section; named in every message
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "classification" / "darija_sentiment_sample.tsv"
_LABEL_GUESSES = ("label", "labels", "sentiment", "class", "category", "topic", "dialect", "target")


class ClassificationConfig(StrictModel):
    """Sequence classification on labelled rows.

    Example::

        classification:
          text_field: tweet
          label_field: sentiment
          labels: [negative, neutral, positive]   # optional: the label map, in id order
          heldout_fraction: 0.1
          eval_steps: 50
          metric_for_best: macro_f1
    """

    text_field: str = Field("text", description="Column holding the text to classify.")
    label_field: str = Field("label", description="Column holding the label.")
    labels: list[str] | None = Field(
        None, description="The label map, in id order. Default: the sorted labels found in the train rows. "
        "Rows with another label are rejected (counted, written to rejects.jsonl).")
    heldout_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the rows held out (seeded, stratified per label) when "
        "heldout_files is not set.")
    heldout_files: list[InputGlob] = Field(
        default_factory=list, description="Evaluate on these labelled files instead of a split of the train rows.")
    max_length: int = Field(128, ge=2, description="Tokens per text; longer texts are cut (and counted).")
    eval_steps: int = Field(50, ge=1, description="Held-out accuracy and macro-F1 every N optimizer steps.")
    metric_for_best: Literal["accuracy", "macro_f1"] = Field(
        "macro_f1", description="Held-out metric that picks the checkpoint kept at the end.")

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_text(cls, v: Any) -> Any:
        # YAML reads `labels: [0, 1]` as integers; rows read from files give their labels as text
        if isinstance(v, list):
            return [label_text(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in v]
        return v

    @field_validator("labels")
    @classmethod
    def _labels_usable(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        v = [x.strip() for x in v]
        if any(not x for x in v):
            raise ValueError("an empty label: every label must be a non-empty string")
        dup = sorted(x for x, n in Counter(v).items() if n > 1)
        if dup:
            raise ValueError(f"label(s) listed twice: {', '.join(dup)}; list each label once")
        if len(v) < 2:
            raise ValueError(f"{len(v)} label ({', '.join(v)}): a classifier needs at least 2 labels")
        return v

    @model_validator(mode="after")
    def _one_heldout(self, info: ValidationInfo) -> ClassificationConfig:
        if self.heldout_files and "heldout_fraction" in self.model_fields_set:
            raise ValueError("set heldout_fraction (a split of the train rows) or heldout_files, not both")
        if self.text_field == self.label_field:
            raise ValueError(f"text_field and label_field are both {self.text_field!r}: name two columns")
        if self.heldout_files and not (info.context or {}).get("skip_exists"):
            from jazari_nlp.readers import expand_inputs

            files, empty, _ = expand_inputs(self.heldout_files)
            if empty:
                raise ValueError(f"heldout_files: no file matches {', '.join(empty)}; check the path or glob")
            problems = field_problems(files, self, "heldout_files")
            if problems:
                raise ValueError("; ".join(problems[:3]))
        return self


# ------------------------------------------------------------------------------------------------ reading


def label_text(value: Any) -> str | None:
    """A label cell as text (``1`` and ``1.0`` → ``"1"``, ``" pos "`` → ``"pos"``), None when it is no label
    (missing, empty, a list...). Example: ``label_text(2.0)`` → ``'2'``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def field_problems(files: Sequence[Path], cfg: ClassificationConfig, where: str = "files") -> list[str]:
    """One message per file that cannot hold labelled rows: a txt/WARC file (no columns), or a table without
    the text or label column. Example: ``field_problems([Path("a.tsv")], cfg)`` → ``[]``."""
    from jazari_nlp.readers import ReadOptions, check_fields, file_fields, format_of

    problems = []
    for f in files:
        try:
            fmt = format_of(Path(f), ReadOptions())
        except InputError as e:
            problems.append(f"{where}: {e}")
            continue
        if fmt not in ("csv", "tsv", "jsonl", "parquet", "arrow"):
            problems.append(f"{f} is a {fmt} file, which has no label column: give a TSV/CSV/JSONL/parquet file with "
                            f"a {cfg.text_field!r} and a {cfg.label_field!r} column")
            continue
        msg = check_fields(Path(f), ReadOptions(text_field=cfg.text_field), where=f"{SECTION}.text_field")
        if msg:
            problems.append(msg)
            continue
        names = file_fields(Path(f), ReadOptions())
        if names and cfg.label_field not in names:
            guess = next((g for g in _LABEL_GUESSES if g in names and g != cfg.text_field), None)
            fix = f"set {SECTION}.label_field: {guess}" if guess else f"set {SECTION}.label_field to one of them"
            problems.append(f"{f} has no column {cfg.label_field!r} (its columns: {', '.join(names[:12])}); {fix}")
    return problems


def read_labelled(files: Sequence[Path], cfg: ClassificationConfig, split: str,
                  label_set: set[str] | None, rejects: list[dict]) -> list[tuple[str, str]]:
    """``(text, label)`` of every usable row of ``files``; each unusable row is appended to ``rejects`` with
    its reason (a reader error, ``empty_text``, ``missing_label``, ``unknown_label`` when ``label_set`` is
    given and lacks the label). Example: ``read_labelled([SAMPLE], cfg, "train", None, rejects)``."""
    from jazari_nlp.readers import ReadOptions, iter_items

    opts = ReadOptions(text_field=cfg.text_field, id_field=None, keep_fields=(cfg.label_field,))
    rows: list[tuple[str, str]] = []
    for path in files:
        for item in iter_items(Path(path), opts):
            if item.error:
                _reject(rejects, split, path, item, item.error, item.extra.get("error"))
                continue
            raw = item.fields.get(cfg.label_field)
            label = label_text(raw)
            if not item.text.strip():
                _reject(rejects, split, path, item, "empty_text", label=label)
            elif label is None:
                _reject(rejects, split, path, item, "missing_label",
                        f"no usable value in column {cfg.label_field!r} (found {raw!r})")
            elif label_set is not None and label not in label_set:
                _reject(rejects, split, path, item, "unknown_label",
                        f"label {label!r} is not in the label map ({', '.join(sorted(label_set))})", label)
            else:
                rows.append((item.text, label))
    return rows


def _reject(rejects: list[dict], split: str, path: Path, item: Any, reason: str, detail: str | None = None,
            label: str | None = None) -> None:
    rec = {"split": split, "file": str(path), "line": item.line, "reason": reason, "text": item.text[:1000]}
    if label is not None:
        rec["label"] = label
    if detail:
        rec["detail"] = detail
    rejects.append(rec)


def _no_rows_error(split: str, files: Sequence[Path], rejects: list[dict], rejects_file: Path,
                   cfg: ClassificationConfig) -> InputError:
    mine = [r for r in rejects if r["split"] == split]
    counts = Counter(r["reason"] for r in mine)
    reasons = ", ".join(f"{n} {k}" for k, n in counts.most_common()) or "no rows"
    fixes = []
    if counts["unknown_label"]:
        found = sorted({r["label"] for r in mine if r["reason"] == "unknown_label"})
        if cfg.labels:
            fixes.append(f"the files' labels ({', '.join(found[:10])}) are not in {SECTION}.labels: add them "
                         "there, or fix the label column")
        else:
            fixes.append(f"the files' labels ({', '.join(found[:10])}) are none of the train rows' labels: fix the "
                         f"label column, or list every label in {SECTION}.labels")
    if counts["missing_label"]:
        fixes.append(f"is `label_field: {cfg.label_field}` right?")
    if counts["missing_text_field"] or counts["empty_text"]:
        fixes.append(f"is `text_field: {cfg.text_field}` right?")
    where = "heldout_files" if split == "heldout" else "train files"
    return InputError(f"{SECTION}: no usable labelled row in the {where} ({', '.join(map(str, files))}): "
                      f"{reasons}; every reject is in {rejects_file}" + (f"; {'; '.join(fixes)}" if fixes else ""))


def stratified_split(label_ids: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train indices, held-out indices)``: per label, a seeded ``round(n × fraction)`` of its rows held out,
    at least one and never all of them (a label with one row stays in train).

    >>> stratified_split([0, 0, 0, 0, 1, 1], 0.25, seed=0)
    ([0, 1, 3, 5], [2, 4])
    """
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = {}
    for i, y in enumerate(label_ids):
        by_label.setdefault(y, []).append(i)
    held: list[int] = []
    for y in sorted(by_label):
        idx = by_label[y]
        rng.shuffle(idx)
        k = min(max(round(len(idx) * fraction), 1), len(idx) - 1)
        held += idx[:k]
    held_set = set(held)
    return [i for i in range(len(label_ids)) if i not in held_set], sorted(held)


def _inputs(patterns: Sequence[Path | str], cfg: ClassificationConfig, where: str) -> list[Path]:
    from jazari_nlp.readers import expand_inputs

    files, empty, _ = expand_inputs([str(p) for p in patterns])
    if not files or empty:
        raise InputError(f"{where}: no file matches {', '.join(empty or map(str, patterns)) or '(none given)'}; "
                         "check the path or glob")
    problems = field_problems(files, cfg, where)
    if problems:
        raise InputError("; ".join(problems[:3]))
    return files


def _load_rows(cfg: ClassificationConfig, train_files: list[Path], out_dir: Path, seed: int) -> dict[str, Any]:
    """Read, map and split the rows; write ``rejects.jsonl``; raise when a split has no usable row."""
    rejects: list[dict] = []
    rejects_file = out_dir / "rejects.jsonl"
    label_set = set(cfg.labels) if cfg.labels else None
    train = read_labelled(train_files, cfg, "train", label_set, rejects)
    labels = list(cfg.labels) if cfg.labels else sorted({y for _, y in train})
    heldout: list[tuple[str, str]] | None = None
    held_files: list[Path] = []
    if cfg.heldout_files:
        held_files = _inputs(cfg.heldout_files, cfg, f"{SECTION}.heldout_files")
        heldout = read_labelled(held_files, cfg, "heldout", set(labels), rejects)
    out_dir.mkdir(parents=True, exist_ok=True)
    rejects_file.unlink(missing_ok=True)  # a rerun's rejects replace the last ones, never add to them
    if rejects:
        with open(rejects_file, "w", encoding="utf-8") as f:
            for r in rejects:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        counts = Counter(f"{r['split']}:{r['reason']}" for r in rejects)
        log.warning("classification: %d row(s) rejected (%s), listed in %s", len(rejects),
                    ", ".join(f"{n} {k}" for k, n in counts.most_common()), rejects_file)
    if not train:
        raise _no_rows_error("train", train_files, rejects, rejects_file, cfg)
    if heldout is not None and not heldout:
        raise _no_rows_error("heldout", held_files, rejects, rejects_file, cfg)
    if len(labels) < 2:
        raise InputError(f"{SECTION}: the train rows have a single label ({', '.join(labels)}): a classifier "
                         f"needs at least 2; check label_field ({cfg.label_field!r}) or add rows of other labels")
    label2id = {name: i for i, name in enumerate(labels)}
    if heldout is None:
        train_idx, held_idx = stratified_split([label2id[y] for _, y in train], cfg.heldout_fraction, seed)
        if not held_idx:
            raise InputError(f"{SECTION}: {len(train)} train row(s) leave none for a held-out split: add rows "
                             f"(2 or more of a label) or give {SECTION}.heldout_files")
        heldout = [train[i] for i in held_idx]
        train = [train[i] for i in train_idx]
    empty_labels = [name for name in labels if not any(y == name for _, y in train)]
    if empty_labels:
        log.warning("classification: label(s) %s have no train row", ", ".join(empty_labels))
    return {"labels": labels, "label2id": label2id, "train": train, "heldout": heldout, "rejects": rejects,
            "rejects_file": rejects_file, "labels_without_train_rows": empty_labels}
