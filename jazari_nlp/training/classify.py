"""Sequence classification (sentiment, topic, dialect): labelled rows → label map → held-out split → Trainer.

Rows are read with :mod:`jazari_nlp.readers` (TSV/CSV/JSONL/parquet/``save_to_disk``), a text column and a label
column. The label map is ``labels:`` when given (its order is the id order), else the sorted labels of the
train rows. A row that cannot be used (a read error, empty text, no label, a label not in the map) is counted
and written with its reason to ``rejects.jsonl``; nothing is dropped silently, and a file whose every row is
rejected is an error. Without ``heldout_files`` a seeded, stratified share of the rows is held out. The model is
``AutoModelForSequenceClassification`` from a local checkpoint (a causal LM gets a new score head) or from a new
spec, in fp32, with ``id2label``/``label2id``/``pad_token_id`` saved in its config; accuracy and macro-F1 on the
held-out rows every ``eval_steps``, the best checkpoint (``metric_for_best``) kept at the end.

Example::

    cfg = ClassificationConfig(text_field="text", label_field="label", eval_steps=20)
    summary = train_classifier(Path("runs/q/model"), Path("runs/q/tokenizer"), cfg,
                               [Path("sentiment.tsv")], Path("runs/q/classifier"), max_steps=100)
    summary["metrics"]  # {'accuracy': 0.81, 'macro_f1': 0.8, 'loss': 0.52}
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
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


# ------------------------------------------------------------------------------------------------ metrics


def classification_metrics(golds: Sequence[int], preds: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (mean over the labels present in golds or predictions, as scikit-learn's
    ``f1_score(average="macro")``), per-label F1 (None for a label in neither), support and the confusion
    matrix (rows: gold, columns: predicted).

    Example: ``classification_metrics([0, 0, 1], [0, 1, 1], ["neg", "pos"])["macro_f1"]`` → ``0.6667``."""
    from jazari_nlp.evaluation.metrics import macro_f1

    golds, preds = [int(g) for g in golds], [int(p) for p in preds]
    if len(golds) != len(preds) or not golds:
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold labels")
    n = len(labels)
    confusion = [[0] * n for _ in range(n)]
    for g, p in zip(golds, preds, strict=True):
        confusion[g][p] += 1
    per_label: dict[str, float | None] = {}
    for i, name in enumerate(labels):
        tp = confusion[i][i]
        fn = sum(confusion[i]) - tp
        fp = sum(row[i] for row in confusion) - tp
        per_label[name] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {
        "accuracy": sum(g == p for g, p in zip(golds, preds, strict=True)) / len(golds),
        "macro_f1": macro_f1(list(zip(golds, preds, strict=True))),
        "per_label_f1": per_label,
        "support": {name: sum(confusion[i]) for i, name in enumerate(labels)},
        "confusion": confusion,
    }


# ------------------------------------------------------------------------------------------------ model


def build_classifier(model_source: Any, tokenizer: Any, labels: list[str], *, allow_network: bool = False) -> Any:
    """``AutoModelForSequenceClassification`` in fp32 from a local checkpoint folder (a ``Path``, or a
    ``ModelConfig`` with ``path``; a causal LM gets a new score head) or a new model from a ``ModelConfig`` spec,
    with ``num_labels``, ``id2label``/``label2id`` and the tokenizer's ``pad_token_id`` (the last non-pad token is
    the one classified). Example: ``build_classifier(Path("runs/q/model"), tok, ["neg", "pos"])``."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from jazari_nlp.training.config import ModelConfig, checkpoint_problem

    id2label = dict(enumerate(labels))
    label2id = {name: i for i, name in id2label.items()}
    head = {"num_labels": len(labels), "id2label": id2label, "label2id": label2id,
            "pad_token_id": tokenizer.pad_token_id}
    path = model_source.path if isinstance(model_source, ModelConfig) else model_source
    if path is not None:
        path = Path(path)
        problem = checkpoint_problem(path)
        if problem:
            raise InputError(f"model.path: {problem}")
        old = json.loads((path / "config.json").read_text(encoding="utf-8")).get("id2label") or {}
        old_names = [old[k] for k in sorted(old, key=int)] if old else []
        if old_names and not all(x.startswith("LABEL_") for x in old_names) and old_names != labels:
            log.warning("%s is a classifier of labels %s; its score head is trained again for %s", path,
                        old_names, labels)
        try:
            # a classifier checkpoint of another label count gets a new head instead of a size error
            model = AutoModelForSequenceClassification.from_pretrained(
                str(path), trust_remote_code=False, use_safetensors=True, local_files_only=not allow_network,
                dtype=torch.float32, ignore_mismatched_sizes=True, **head)
        except (OSError, ValueError, KeyError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise InputError(f"model.path: transformers cannot load {path} as a sequence classifier ({first}): give "
                             "a checkpoint folder of an architecture with a sequence-classification head "
                             "(llama, mistral, qwen2, gemma, bert, ...)") from None
        if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        return model
    from jazari_nlp.training.lm import spec_config

    config = spec_config(model_source, tokenizer, **head)
    try:
        return AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    except ValueError as e:
        first = (str(e).strip().splitlines() or ["ValueError"])[0]
        raise InputError(f"model.architecture: {model_source.architecture!r} gives no sequence classifier "
                         f"({first})") from None


def _max_positions(model: Any) -> int | None:
    c = model.config
    return getattr(c, "max_position_embeddings", None) or getattr(c, "n_positions", None)


# ------------------------------------------------------------------------------------------------ training


def train_classifier(
    model_source: Any,
    tokenizer_dir: Path,
    cfg: ClassificationConfig,
    train_files: Sequence[Path | str],
    out_dir: Path,
    *,
    seed: int = 0,
    max_steps: int = 200,
    learning_rate: float = 5e-5,
    per_device_batch_size: int = 16,
    gradient_accumulation_steps: int = 1,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    lr_scheduler: str = "linear",
    max_grad_norm: float = 1.0,
    logging_steps: int = 10,
    precision: str = "auto",
    dataloader_workers: int = 0,
    gradient_checkpointing: bool = False,
    optimizer: str = "adamw_torch_fused",
    compile: bool = False,
    fused_kernels: bool = False,
    allow_network: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a sequence classifier; save model + tokenizer + ``label_map.json`` (and ``rejects.jsonl`` when a
    row was rejected) to ``out_dir``. Returns the final held-out metrics of the kept model, per-label F1, the
    counts of rows used and rejected. The keyword arguments are named as the ``train:`` keys.

    Example: ``train_classifier(Path("ckpt"), Path("ckpt"), ClassificationConfig(), ["a.tsv"], Path("out"))``."""
    from jazari_nlp.hf_logging import quiet_transformers

    with quiet_transformers(not progress):
        return _train(model_source, Path(tokenizer_dir), cfg, train_files, Path(out_dir), seed=seed,
                      allow_network=allow_network, progress=progress, hp={
                          "max_steps": max_steps, "learning_rate": learning_rate,
                          "per_device_train_batch_size": per_device_batch_size,
                          "per_device_eval_batch_size": per_device_batch_size,
                          "gradient_accumulation_steps": gradient_accumulation_steps, "warmup_steps": warmup_steps,
                          "weight_decay": weight_decay, "lr_scheduler_type": lr_scheduler,
                          "max_grad_norm": max_grad_norm, "logging_steps": logging_steps,
                          "dataloader_num_workers": dataloader_workers, "optim": optimizer,
                          "torch_compile": compile, "logging_nan_inf_filter": False,
                          "use_liger_kernel": fused_kernels,
                      }, precision=precision, gradient_checkpointing=gradient_checkpointing)


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


def _tokenized(rows: list[tuple[str, str]], tokenizer: Any, label2id: dict[str, int], max_length: int) -> tuple[Any, int]:
    """A ``datasets.Dataset`` of input_ids/attention_mask/labels, and how many texts were cut at max_length."""
    from datasets import Dataset

    ids: list[list[int]] = []
    truncated = 0
    texts = [t for t, _ in rows]
    for start in range(0, len(texts), 1000):
        for x in tokenizer(texts[start:start + 1000])["input_ids"]:
            truncated += len(x) > max_length
            ids.append(x[:max_length])
    return Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids],
                              "labels": [label2id[y] for _, y in rows]}), truncated


def _precision(choice: str, torch: Any) -> dict[str, bool]:
    # weights stay fp32 (build_classifier); bf16/fp16 here is autocast, on a GPU only
    cuda = torch.cuda.is_available()
    if choice == "auto":
        choice = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if choice in ("bf16", "fp16") and not cuda:
        log.warning("precision=%s needs a GPU; training in fp32 on the CPU", choice)
        choice = "fp32"
    return {"bf16": choice == "bf16", "fp16": choice == "fp16"}


def _train(model_source: Any, tokenizer_dir: Path, cfg: ClassificationConfig, train_files: Sequence[Path | str],
           out_dir: Path, *, seed: int, allow_network: bool, progress: bool, hp: dict[str, Any], precision: str,
           gradient_checkpointing: bool) -> dict[str, Any]:
    import numpy as np
    import torch
    from transformers import (
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from jazari_nlp.hf_logging import without_length_warning

    files = _inputs(train_files, cfg, f"{SECTION}: train files")
    data = _load_rows(cfg, files, out_dir, seed)
    labels, label2id = data["labels"], data["label2id"]
    set_seed(seed)
    tokenizer = without_length_warning(AutoTokenizer.from_pretrained(
        str(tokenizer_dir), local_files_only=True, trust_remote_code=False))
    if tokenizer.pad_token is None:
        # batches are padded, and the classified token is the last one that is not padding
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise InputError(f"{tokenizer_dir}: its tokenizer has no pad, EOS or UNK token to pad batches with: set "
                             f"`pad_token` in {tokenizer_dir / 'tokenizer_config.json'} (a token of its vocabulary)")
        tokenizer.pad_token = fallback
    train_ds, cut_train = _tokenized(data["train"], tokenizer, label2id, cfg.max_length)
    held_ds, cut_held = _tokenized(data["heldout"], tokenizer, label2id, cfg.max_length)
    model = build_classifier(model_source, tokenizer, labels, allow_network=allow_network)
    positions = _max_positions(model)
    if positions and cfg.max_length > positions:
        raise InputError(f"{SECTION}.max_length: {cfg.max_length} is longer than the model's "
                         f"{positions} positions: set max_length to {positions} or less")
    if gradient_checkpointing:
        model.gradient_checkpointing_enable()

    def compute_metrics(pred: Any) -> dict[str, float]:
        logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
        m = classification_metrics(pred.label_ids, np.asarray(logits).argmax(-1), labels)
        return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                **{f"f1_{k}": v for k, v in m["per_label_f1"].items() if v is not None}}

    if hp.get("use_liger_kernel"):
        from jazari_nlp.training.lm import check_fused_kernels

        check_fused_kernels(torch)
    ckpt_dir = out_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir), eval_strategy="steps", eval_steps=cfg.eval_steps, save_strategy="steps",
        save_steps=cfg.eval_steps, save_total_limit=1, load_best_model_at_end=True,
        metric_for_best_model=cfg.metric_for_best, greater_is_better=True, seed=seed, data_seed=seed,
        report_to=[], disable_tqdm=not progress, use_cpu=not torch.cuda.is_available(),
        **hp, **_precision(precision, torch))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=held_ds,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    if not progress:
        trainer.remove_callback(PrinterCallback)  # with tqdm off, Trainer prints every log line instead
    resume = _last_checkpoint(ckpt_dir)
    if resume:
        log.info("resuming training from %s", resume)
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    final = trainer.predict(held_ds)  # the kept (best) model on the held-out rows
    logits = final.predictions[0] if isinstance(final.predictions, tuple) else final.predictions
    m = classification_metrics(final.label_ids, np.asarray(logits).argmax(-1), labels)
    best = trainer.state.best_model_checkpoint
    trainer.save_model(str(out_dir))
    history = trainer.state.log_history
    counts = Counter(y for _, y in data["train"])
    majority = max(labels, key=lambda y: (counts[y], -label2id[y]))  # a tie goes to the first label of the map
    summary = {
        "labels": labels,
        "train_rows": len(train_ds),
        "heldout_rows": len(held_ds),
        "rejected": dict(Counter(f"{r['split']}:{r['reason']}" for r in data["rejects"]).most_common()),
        "rejects_file": str(data["rejects_file"]) if data["rejects"] else None,
        "truncated": {"train": cut_train, "heldout": cut_held},
        "labels_without_train_rows": data["labels_without_train_rows"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": result.global_step,
        "best_step": int(best.rsplit("-", 1)[-1]) if best else None,
        "metrics": {"accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
                    "loss": round(float(final.metrics["test_loss"]), 4)},
        "per_label_f1": {k: (round(v, 4) if v is not None else None) for k, v in m["per_label_f1"].items()},
        "support": m["support"],
        "confusion": m["confusion"],
        "majority_label": majority,
        "majority_baseline_accuracy": round(sum(y == majority for _, y in data["heldout"]) / len(held_ds), 4),
        "evaluations": [{"step": h["step"], "accuracy": h["eval_accuracy"], "macro_f1": h["eval_macro_f1"],
                         "loss": h["eval_loss"]} for h in history if "eval_accuracy" in h],
        "resumed_from": resume.name if resume else None,
    }
    if trainer.is_world_process_zero():
        (out_dir / "training_args.bin").unlink(missing_ok=True)  # pickled; the JSON copy below is readable
        (out_dir / "training_args.json").write_text(args.to_json_string())
        tokenizer.save_pretrained(str(out_dir))
        (out_dir / "label_map.json").write_text(json.dumps({
            "labels": labels, "label2id": label2id, "id2label": {str(i): y for i, y in enumerate(labels)},
            "text_field": cfg.text_field, "label_field": cfg.label_field}, ensure_ascii=False, indent=1))
        (out_dir / "train_log.json").write_text(json.dumps(history, indent=1))
        (out_dir / "classification_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
        shutil.rmtree(ckpt_dir, ignore_errors=True)  # the kept model is saved; checkpoints only served resuming
    return summary


def _last_checkpoint(ckpt_dir: Path) -> Path | None:
    # the train stage's rule: the newest complete checkpoint (one killed while it was written is skipped)
    from jazari_nlp.training.lm import _last_checkpoint as last_complete

    return last_complete(ckpt_dir)
