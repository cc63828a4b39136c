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
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.training.classify_data import (  # noqa: F401 (the config and the rows, re-exported from here)
    SAMPLE,
    SECTION,
    ClassificationConfig,
    _inputs,
    _load_rows,
    field_problems,
    label_text,
    read_labelled,
    stratified_split,
)

log = logging.getLogger("jazari_nlp.train")


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
