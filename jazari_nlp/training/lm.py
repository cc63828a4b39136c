"""Train a causal language model, readable top to bottom: setup → pack → train → save.

The model comes from a spec in YAML (``architecture: llama`` plus sizes) or from a local Hugging Face
checkpoint (``path:``; loaded as safetensors, ``trust_remote_code`` off). Text is packed into fixed-length
blocks separated by the EOS token. Training is transformers' ``Trainer`` (accelerate underneath: multi-GPU
with ``accelerate launch``/``torchrun``, bf16 on GPUs that support it). A killed run resumes from its last
checkpoint. Held-out loss and perplexity every ``train.eval_steps`` (and at the end); beside the model:
``log.jsonl``, ``loss_curve.png`` and the model card ``README.md`` (see :mod:`jazari_nlp.training.reporting`).

Example::

    summary = train_causal_lm(model_cfg, train_cfg, tokenizer_dir, texts, out_dir, seed=0)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.hf_logging import quiet_transformers
from jazari_nlp.runs import write_json
from jazari_nlp.training.config import ModelConfig, TrainConfig
from jazari_nlp.training.packing import collate_packed, enable_packed_attention

log = logging.getLogger("jazari_nlp.train")


def build_model(cfg: ModelConfig, tokenizer: Any, allow_network: bool = False) -> Any:
    """A new model from the spec, or the local checkpoint; the embeddings fit the tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = _torch_dtype(cfg.dtype, torch)
    if cfg.path is not None:
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(cfg.path),
                trust_remote_code=False,
                use_safetensors=True,
                local_files_only=not allow_network,
                dtype=dtype,
            )
        except (OSError, ValueError, KeyError) as e:  # an unknown model_type, weights that do not fit the config
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise InputError(f"model.path: transformers cannot load {cfg.path} as a causal language model ({first}): "
                             "give a checkpoint folder of an architecture transformers knows, saved with "
                             "save_pretrained") from None
        if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        return model
    config = spec_config(cfg, tokenizer)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model


def spec_config(cfg: ModelConfig, tokenizer: Any, **extra: Any) -> Any:
    """The transformers config of a new model from the spec (sizes, the tokenizer's vocabulary and special ids,
    ``config_overrides``); ``extra`` adds keys (a classifier's labels). Example: ``spec_config(model_cfg, tok)``."""
    from transformers import AutoConfig

    sizes: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if cfg.architecture != "gpt2":
        sizes["num_key_value_heads"] = cfg.num_kv_heads or cfg.num_heads
        sizes["intermediate_size"] = cfg.intermediate_size or 4 * cfg.hidden_size
    sizes.update(cfg.config_overrides)
    sizes.update(extra)
    try:
        return AutoConfig.for_model(cfg.architecture, **sizes)
    except ValueError as e:
        raise InputError(f"model.architecture: {cfg.architecture!r} is not a transformers model type ({e})") from None


def _torch_dtype(name: str, torch: Any) -> Any:
    # auto: fp32 master weights; the GPU speed comes from bf16 autocast (train.precision), not from bf16 weights,
    # which AdamW would update in bf16 (updates below bf16's resolution are lost)
    if name == "auto":
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def mixed_blocks(sources: dict[str, Iterable[str]], tokenizer: Any, train_cfg: TrainConfig, cache_dir: Path, *,
                 seed: int) -> tuple[Any, dict[str, Any]]:
    """``train.mix``: each source tokenized on its own, drawn with its weight and temperature up to the token
    budget (:func:`jazari_nlp.training.mixing.mix_datasets`), then packed like any training text."""
    from jazari_nlp.training.mixing import mix_datasets
    from jazari_nlp.training.packing import pack_blocks, tokenize_documents

    mix = train_cfg.mix
    if not sources:
        raise InputError("train.mix: no source to mix: train on the corpus train split (one source per language) or "
                         "list the sources in train.files")
    unknown = sorted(set(mix.weights) - set(sources))
    if unknown:
        raise InputError(f"train.mix.weights: {', '.join(unknown)} is not a source (sources: "
                         f"{', '.join(sorted(sources))}): use those names")
    docs = {name: tokenize_documents(texts, tokenizer, cache_dir, num_proc=train_cfg.dataloader_workers or 1)
            for name, texts in sources.items()}
    mixed, report = mix_datasets(docs, mix.weights or None, mix.alpha, mix.token_budget,
                                 mix.seed if mix.seed is not None else seed, max_repeat=mix.max_repeat)
    try:
        return pack_blocks(mixed, train_cfg.block_size, cache_dir), report
    except InputError as e:
        raise InputError(f"{e} (train.block_size, train.mix.token_budget)") from None


def packed_blocks(texts: Iterable[str], tokenizer: Any, block_size: int, cache_dir: Path, *,
                  num_proc: int = 1) -> Any:
    """Documents tokenized (EOS after each) and packed into blocks of ``block_size`` tokens with
    ``position_ids`` restarting at each document, on disk in ``cache_dir`` (see :mod:`jazari_nlp.training.packing`).
    """
    from jazari_nlp.training.packing import pack_blocks, tokenize_documents

    docs = tokenize_documents(texts, tokenizer, cache_dir, num_proc=num_proc)
    if len(docs) == 0:
        raise InputError(f"not enough text for one training block of {block_size} tokens: lower train.block_size "
                         "or add data (train.files, or the corpus train split)")
    try:
        return pack_blocks(docs, block_size, cache_dir)
    except InputError as e:
        raise InputError(f"{e} (train.block_size, or train.files / the corpus train split)") from None


def embeddings_first(model: Any, steps: int) -> Any:
    """A callback: for the first ``steps`` optimizer steps, only the input and output embeddings are updated (the
    other gradients are dropped before the optimizer step, so AdamW neither moves nor decays those weights; the
    gradient clipping norm still counts them). Step-based, so a resumed run phases the same way."""
    from transformers import TrainerCallback

    keep = {id(model.get_input_embeddings().weight)}
    out = model.get_output_embeddings()
    if out is not None:
        keep.add(id(out.weight))
    others = [p for p in model.parameters() if id(p) not in keep]

    class EmbeddingsFirst(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            if state.global_step < steps:
                for p in others:
                    p.grad = None

    return EmbeddingsFirst()


def _liger(train_cfg: Any, torch: Any) -> bool:
    """``train.fused_kernels``: Liger's Triton kernels, which need CUDA and the liger-kernel package."""
    if not getattr(train_cfg, "fused_kernels", False):
        return False
    check_fused_kernels(torch)
    return True


def check_fused_kernels(torch: Any) -> None:
    import importlib.util

    if not torch.cuda.is_available():
        raise InputError("train.fused_kernels: Liger's kernels are Triton kernels for CUDA GPUs; this machine has "
                         "none: set train.fused_kernels to false")
    if importlib.util.find_spec("liger_kernel") is None:
        raise InputError("train.fused_kernels: the liger-kernel package is not installed: `pip install "
                         "liger-kernel`, or set train.fused_kernels to false")


def _precision(cfg: TrainConfig, torch: Any) -> dict[str, bool]:
    cuda = torch.cuda.is_available()
    choice = cfg.precision
    if choice == "auto":
        choice = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if choice in ("bf16", "fp16") and not cuda:
        log.warning("train.precision=%s needs a GPU; training in fp32 on the CPU", choice)
        choice = "fp32"
    return {"bf16": choice == "bf16", "fp16": choice == "fp16"}


def train_causal_lm(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    tokenizer_dir: Path,
    texts: Iterable[str],
    out_dir: Path,
    *,
    seed: int = 0,
    allow_network: bool = False,
    progress: bool = True,
    files: list[Path] | None = None,
    eval_texts: Iterable[str] | None = None,
    eval_files: list[Path] | None = None,
    card: dict[str, Any] | None = None,
    sources: dict[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """Train and save model + tokenizer to ``out_dir`` (safetensors). Returns a summary dict. ``train_cfg.mode``
    ``pretrain`` packs ``texts``; ``sft`` reads the chat rows of ``files``. With ``train_cfg.lora`` the adapter is
    saved in ``out_dir/adapter`` and merged into the model saved in ``out_dir``.

    Held-out data (``eval_texts`` for pretrain, packed like the training text; the chat rows of ``eval_files`` for
    sft) is scored every ``train_cfg.eval_steps`` and at the end: ``eval_loss`` and ``eval_perplexity`` of the
    last evaluation are in the summary. ``card``: the experiment's facts for the model card
    (:func:`jazari_nlp.training.reporting.card_facts`); without it the card says what this call knows.

    ``progress=False`` (``-q``): no progress bars, no loss lines, transformers' messages below errors off."""
    with quiet_transformers(not progress):
        return _train(model_cfg, train_cfg, tokenizer_dir, texts, out_dir, seed=seed, allow_network=allow_network,
                      progress=progress, files=files or [], eval_texts=eval_texts, eval_files=eval_files or [],
                      card=card, sources=sources)


def _train(model_cfg: ModelConfig, train_cfg: TrainConfig, tokenizer_dir: Path, texts: Iterable[str], out_dir: Path,
           *, seed: int, allow_network: bool, progress: bool, files: list[Path], eval_texts: Iterable[str] | None,
           eval_files: list[Path], card: dict[str, Any] | None,
           sources: dict[str, Iterable[str]] | None = None) -> dict[str, Any]:
    import torch
    from transformers import AutoTokenizer, PrinterCallback, Trainer, TrainingArguments, set_seed

    from jazari_nlp.training import reporting

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True, trust_remote_code=False)
    if tokenizer.eos_token_id is None:
        raise InputError(
            f"{tokenizer_dir}: its tokenizer has no EOS token, and training packs documents separated by EOS: set "
            f"`eos_token` in {Path(tokenizer_dir) / 'tokenizer_config.json'} (a token of its vocabulary, e.g. "
            "\"</s>\"), or add a `tokenizer` section to train a new tokenizer"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    ckpt_dir = out_dir / "checkpoints"
    data_stats: dict[str, Any] = {}
    with _main_process_first(torch):  # several processes: rank 0 writes the data cache, the others then read it
        if train_cfg.mode == "sft":
            dataset, collator, data_stats = _sft_data(train_cfg, tokenizer, files, ckpt_dir / "data_cache")
        else:
            # Tokenized and packed on disk (kept with the checkpoints, so a killed run does not tokenize again);
            # blocks carry per-document position ids, so packed documents never attend to each other.
            if train_cfg.mix is not None:
                dataset, mix_report = mixed_blocks(sources or {}, tokenizer, train_cfg, ckpt_dir / "data_cache",
                                                   seed=seed)
                out_dir.mkdir(parents=True, exist_ok=True)
                write_json(out_dir / "mix_report.json", mix_report)
            else:
                dataset = packed_blocks(texts, tokenizer, train_cfg.block_size, ckpt_dir / "data_cache",
                                        num_proc=train_cfg.dataloader_workers or 1)
            collator = collate_packed
            data_stats = {"train_blocks": len(dataset), "train_tokens": len(dataset) * train_cfg.block_size}
        eval_dataset, eval_stats = _eval_data(train_cfg, tokenizer, eval_texts, eval_files,
                                              ckpt_dir / "data_cache", seed=seed)
    eval_note = eval_stats.pop("eval_data", None)  # for the model card; the summary keeps figures
    data_stats.update(eval_stats)
    model = build_model(model_cfg, tokenizer, allow_network=allow_network)
    if train_cfg.mode == "pretrain":
        enable_packed_attention(model)
    n_params = sum(p.numel() for p in model.parameters())
    if train_cfg.lora is not None:
        from jazari_nlp.training.lora import apply_lora, lora_report

        model = apply_lora(model, train_cfg.lora)
        data_stats["lora_trainable_parameters"] = lora_report(model)["trainable_parameters"]
    if train_cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        max_steps=train_cfg.max_steps,
        per_device_train_batch_size=train_cfg.per_device_batch_size,
        gradient_accumulation_steps=train_cfg.gradient_accumulation_steps,
        learning_rate=train_cfg.learning_rate,
        warmup_steps=train_cfg.warmup_steps,
        weight_decay=train_cfg.weight_decay,
        lr_scheduler_type=train_cfg.lr_scheduler,
        max_grad_norm=train_cfg.max_grad_norm,
        logging_steps=train_cfg.logging_steps,
        save_strategy="steps",
        save_steps=train_cfg.save_steps,
        save_total_limit=1,
        eval_strategy="steps" if eval_dataset is not None and train_cfg.eval_steps else "no",
        eval_steps=train_cfg.eval_steps if eval_dataset is not None else None,
        per_device_eval_batch_size=train_cfg.per_device_batch_size,
        prediction_loss_only=True,  # the loss only: no logits gathered over the held-out set
        # packed blocks: tokens seen = steps x block tokens, counted without a device sync per step; SFT rows are
        # padded, so the Trainer counts their real tokens
        include_num_input_tokens_seen="non_padding" if train_cfg.mode == "sft" else "no",
        seed=seed,
        data_seed=seed,
        report_to=[],  # TensorBoard is added below when installed, writing beside the model
        disable_tqdm=not progress,
        dataloader_num_workers=train_cfg.dataloader_workers,
        use_cpu=not torch.cuda.is_available(),
        optim=train_cfg.optimizer,
        torch_compile=train_cfg.compile,
        use_liger_kernel=_liger(train_cfg, torch),
        # the NaN/inf filter reads the loss on the host every step (a device sync); a NaN loss is logged as NaN
        logging_nan_inf_filter=False,
        **_precision(train_cfg, torch),
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, eval_dataset=eval_dataset,
                      data_collator=collator)
    if not progress:
        trainer.remove_callback(PrinterCallback)  # with tqdm off, Trainer prints every log line instead
    tokens_per_step = None
    if train_cfg.mode == "pretrain":
        tokens_per_step = (train_cfg.per_device_batch_size * train_cfg.gradient_accumulation_steps * args.world_size
                           * train_cfg.block_size)
    # in the model folder, not the checkpoints (deleted at the end): a killed run's log survives and continues
    if train_cfg.embeddings_only_steps:
        trainer.add_callback(embeddings_first(model, train_cfg.embeddings_only_steps))
    trainer.add_callback(reporting.log_callback(out_dir / reporting.LOG_NAME, tokens_per_step))
    tensorboard = reporting.tensorboard_callback(out_dir / reporting.TENSORBOARD_DIR)
    if tensorboard is not None:
        trainer.add_callback(tensorboard)
    resume = _last_checkpoint(ckpt_dir)
    if resume:
        log.info("resuming training from %s", resume)
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    history = trainer.state.log_history
    if eval_dataset is not None and not any(h.get("step") == result.global_step and "eval_loss" in h
                                            for h in history):
        trainer.evaluate()  # the figures of the final weights (eval_steps None, or not a divisor of max_steps)
    if train_cfg.lora is not None:
        if trainer.is_world_process_zero():
            from jazari_nlp.training.lora import save_adapter

            save_adapter(model, out_dir / "adapter", tokenizer)
            # the merged model is what the eval stage and AutoModelForCausalLM load
            model.merge_and_unload().save_pretrained(str(out_dir), safe_serialization=True)
    else:
        trainer.save_model(str(out_dir))  # safetensors; writes on the main process only
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    evals = [h for h in history if "eval_loss" in h]
    tokens_seen = (tokens_per_step * result.global_step if tokens_per_step is not None
                   else trainer.state.num_input_tokens_seen or None)
    summary = {
        "mode": train_cfg.mode,
        "parameters": n_params,
        **data_stats,
        "steps": result.global_step,
        "tokens_seen": tokens_seen,
        "first_loss": round(losses[0], 4) if losses else None,
        "final_loss": round(losses[-1], 4) if losses else None,
        "train_loss": round(float(result.training_loss), 4) if not math.isnan(result.training_loss) else None,
        "eval_loss": round(evals[-1]["eval_loss"], 4) if evals else None,
        "eval_perplexity": reporting.perplexity(evals[-1]["eval_loss"]) if evals else None,
        "evaluations": len(evals),
        "resumed_from": str(resume.name) if resume else None,
    }
    if trainer.is_world_process_zero():
        # Trainer also pickles its arguments; keep a readable JSON copy instead (no pickles in a model folder).
        (out_dir / "training_args.bin").unlink(missing_ok=True)
        (out_dir / "training_args.json").write_text(args.to_json_string())
        tokenizer.save_pretrained(str(out_dir))
        (out_dir / "train_log.json").write_text(json.dumps(history, indent=1))
        facts = card or {"base_model": str(model_cfg.path) if model_cfg.path else f"new {model_cfg.architecture}"}
        reporting.plot_loss_curve(history, out_dir / reporting.PNG_NAME, title=facts.get("name") or "")
        reporting.write_model_card(out_dir, facts, summary | {"eval_data": eval_note}, model_cfg, train_cfg)
        shutil.rmtree(ckpt_dir, ignore_errors=True)  # the final model is saved; checkpoints only served resuming
    return summary


# How long the other processes of a multi-process run wait for rank 0 to tokenize and pack (the process group's
# timeout, set here because this is its first collective; torch's default of 30 minutes is too short for a corpus).
DATA_WAIT_TIMEOUT_S = 4 * 3600


@contextlib.contextmanager
def _main_process_first(torch: Any) -> Iterator[None]:
    """Under ``torchrun``/``accelerate launch``: rank 0 runs the block first while the other ranks wait, then they
    run it and find its cached files (the cache is content-addressed, so each rank gets the same data). A plain
    run: nothing to wait for."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    except ValueError:
        world = 1
    if world <= 1:
        yield
        return
    from datetime import timedelta

    from accelerate import PartialState

    # the Trainer's own TrainingArguments build the same state (cpu when there is no GPU) on this process group
    state = PartialState(cpu=not torch.cuda.is_available(), timeout=timedelta(seconds=DATA_WAIT_TIMEOUT_S))
    with state.main_process_first():
        yield


def _sft_data(train_cfg: TrainConfig, tokenizer: Any, files: list[Path], cache_dir: Path) -> tuple[Any, Any, dict]:
    """Chat rows rendered with the tokenizer's chat template, labels on every assistant turn only."""
    import functools

    from jazari_nlp.training.chat_data import collate_sft, read_chat_rows, sft_dataset

    sft = train_cfg.sft
    rows, rejects = read_chat_rows(files, messages_field=sft.messages_field, prompt_field=sft.prompt_field,
                                   response_field=sft.response_field, system=sft.system_prompt,
                                   rejects_path=sft.rejects)
    dataset, stats = sft_dataset(rows, tokenizer, sft.max_length, cache_dir=cache_dir)
    summary = {"sft_rows": len(rows) + len(rejects), "sft_rejected": len(rejects), "sft_kept": stats.get("kept"),
               "sft_skipped": sum((stats.get("skipped") or {}).values()),
               "assistant_tokens": stats.get("assistant_tokens"), "train_tokens": stats.get("total_tokens")}
    return dataset, functools.partial(collate_sft, pad_id=tokenizer.pad_token_id), summary


def _eval_data(train_cfg: TrainConfig, tokenizer: Any, texts: Iterable[str] | None, files: list[Path],
               cache_dir: Path, *, seed: int) -> tuple[Any, dict[str, Any]]:
    """The held-out set scored during training (None when there is none): a seeded sample of at most
    ``eval_max_documents`` documents packed into blocks like the training text (pretrain), or chat rows (sft)."""
    from jazari_nlp.training.reporting import sample_texts

    limit = train_cfg.eval_max_documents
    if train_cfg.mode == "sft":
        if not files:
            return None, {}
        from jazari_nlp.training.chat_data import read_chat_rows, sft_dataset

        sft = train_cfg.sft
        rows, rejects = read_chat_rows(files, messages_field=sft.messages_field, prompt_field=sft.prompt_field,
                                       response_field=sft.response_field, system=sft.system_prompt)
        if not rows:
            raise InputError(_no_eval_text(train_cfg.eval_files, "chat rows"))
        rows = sample_texts(rows, limit, seed)
        dataset, stats = sft_dataset(rows, tokenizer, sft.max_length, cache_dir=cache_dir)
        return dataset, {"eval_rows": stats.get("kept"), "eval_rejected": len(rejects),
                         "eval_data": f"{len(files)} file(s), {stats.get('kept')} chat rows"}
    if texts is None:
        return None, {}
    docs = sample_texts(texts, limit, seed)
    if not docs and train_cfg.eval_files:  # the user named held-out files: never train without their loss
        raise InputError(_no_eval_text(train_cfg.eval_files, f"text under text_field {train_cfg.text_field!r}"))
    if not docs:
        log.warning("no held-out text to evaluate on: training without held-out loss")
        return None, {}
    from jazari_nlp.training.packing import pack_blocks, tokenize_documents

    tokens = tokenize_documents(docs, tokenizer, cache_dir, num_proc=1)
    try:
        blocks = pack_blocks(tokens, train_cfg.block_size, cache_dir)
    except InputError as e:
        raise InputError(f"held-out data: {e} (train.eval_files or the corpus heldout split, train.block_size, "
                         "train.eval_max_documents)") from None
    return blocks, {"eval_blocks": len(blocks), "eval_tokens": len(blocks) * train_cfg.block_size,
                    "eval_data": f"{len(docs)} documents, {len(blocks)} blocks of {train_cfg.block_size} tokens"}


def _no_eval_text(files: list[Any], what: str) -> str:
    """The error for held-out files named in the config that give nothing to score (also a config check)."""
    return (f"train.eval_files: no {what} in {', '.join(map(str, files))}: the held-out loss could never be "
            "computed: add held-out text to it, or remove train.eval_files")


def _last_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest complete checkpoint. The Trainer writes ``trainer_state.json`` last, into the checkpoint folder
    itself: a run killed while saving leaves a newer folder without it (or with it cut short), and the previous
    checkpoint is still there (rotation comes after the save)."""
    if not ckpt_dir.is_dir():
        return None
    ckpts = [p for p in ckpt_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and _complete(p)]
    return max(ckpts, key=lambda p: int(p.name.split("-")[-1])) if ckpts else None


def _complete(ckpt: Path) -> bool:
    try:
        json.loads((ckpt / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("%s is incomplete (killed while it was written): not resuming from it", ckpt)
        return False
    return True
