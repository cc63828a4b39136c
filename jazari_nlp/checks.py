"""Cross-section checks of an experiment config, made before any stage runs (``jazari config validate`` and
``jazari run`` call :func:`check_consistency`): what one section alone cannot check.

Example::

    check_consistency(load_config("configs/quickstart.yaml"), "configs/quickstart.yaml")   # raises ConfigError
"""

from __future__ import annotations

import logging
from pathlib import Path

from jazari_nlp.config import ConfigError, ExperimentConfig
from jazari_nlp.errors import JazariError

log = logging.getLogger("jazari_nlp")


def check_consistency(cfg: ExperimentConfig, source: str | Path) -> None:
    """Cross-section checks that one section alone cannot make; raised before any work starts."""
    problems = []
    has_corpus = cfg.corpus is not None
    if cfg.tokenizer is not None:
        if not has_corpus and not cfg.tokenizer.files and not cfg.tokenizer.sources:
            problems.append("tokenizer: needs text: add a `corpus` section or set `tokenizer.files` or "
                            "`tokenizer.sources`")
        problems.extend(_extend_problems(cfg))
    if cfg.train is not None:
        if cfg.model is None:
            problems.append("train: needs a `model` section (a new model spec or a local checkpoint path)")
        elif cfg.model.architecture is not None and cfg.tokenizer is None:
            problems.append("model.architecture: a new model needs a `tokenizer` section to train its vocabulary")
        if not has_corpus and not cfg.train.files:
            problems.append("train: needs text: add a `corpus` section or set `train.files`")
        if cfg.train.fused_kernels:  # before the corpus and tokenizer are built, not after
            import torch

            from jazari_nlp.training.lm import check_fused_kernels

            try:
                check_fused_kernels(torch)
            except JazariError as e:
                problems.append(str(e))
        if cfg.train.eval_steps is not None and cfg.train.mode == "pretrain" and not (has_corpus or cfg.train.eval_files):
            problems.append("train.eval_steps: there is no held-out text: set `train.eval_files`, or add a `corpus` "
                            "section (its heldout split)")
        if cfg.train.eval_files:
            problems.extend(_blank_eval_files(cfg.train.eval_files))
    if cfg.eval is not None and cfg.train is not None and cfg.train.mode == "classification":
        problems.append("eval: scores causal language models; a classifier's held-out accuracy and macro-F1 are in "
                        "the train stage's summary (model/classification_summary.json): remove the eval section")
    elif cfg.eval is not None:
        if cfg.train is None and (cfg.model is None or cfg.model.path is None):
            problems.append("eval: needs a model: add `model` + `train` sections, or `model.path` (a checkpoint)")
        if cfg.eval.perplexity and not has_corpus and not cfg.eval.files:
            problems.append("eval: needs text: add a `corpus` section (held-out split) or set `eval.files` "
                            "(or `eval.perplexity: false` to score tasks only)")
        if not cfg.eval.perplexity and not cfg.eval.tasks:
            problems.append("eval: nothing to evaluate: `perplexity` is false and `tasks` is empty")
        problems.extend(_task_problems(cfg.eval))
    if cfg.model is not None and (cfg.train is not None or cfg.eval is not None):
        problems.extend(_model_problems(cfg))
    if problems:
        raise ConfigError(source, problems)


def _blank_eval_files(patterns: list[str]) -> list[str]:
    """``train.eval_files`` whose text files are all empty or blank lines only: the held-out loss would never be
    computed (the train stage raises the same). Files of other formats are checked when read."""
    from jazari_nlp.corpus_layout import resolve
    from jazari_nlp.readers import expand_inputs, open_binary, strip_compression
    from jazari_nlp.training.lm import _no_eval_text

    files = expand_inputs(resolve(list(patterns), "heldout")[0])[0]
    kinds = [Path(strip_compression(f.name.lower())).suffix for f in files]
    if not files or any(k not in (".txt", ".jsonl", ".json", ".csv", ".tsv") for k in kinds):
        return []
    for f in files:
        with open_binary(f) as fh:
            while chunk := fh.read(1 << 16):
                if chunk.strip():
                    return []
    return [_no_eval_text(files, "text (empty files, or blank lines only)")]


def _extend_problems(cfg: ExperimentConfig) -> list[str]:
    """``tokenizer.extend`` makes the model the train stage starts from: ``model.path`` must name the same base."""
    from jazari_nlp.tokenization.stage import check_stage

    problems = check_stage(cfg.tokenizer)
    ext = cfg.tokenizer.extend
    if ext is not None and cfg.model is not None and cfg.train is not None:
        if cfg.model.architecture is not None:
            problems.append(f"model.architecture: tokenizer.extend extends the model {ext.model}, so training "
                            f"starts from it: replace `architecture` with `path: {ext.model}`")
        elif cfg.model.path is not None and Path(cfg.model.path).resolve() != Path(ext.model).resolve():
            problems.append(f"model.path: {cfg.model.path} is not tokenizer.extend.model ({ext.model}); training "
                            "starts from the extended model: set both to the same base model")
    return problems


def _model_problems(cfg: ExperimentConfig) -> list[str]:
    """Block sizes the model cannot take, and a checkpoint tokenizer without the EOS token training packs with."""
    import json

    problems: list[str] = []
    model, checkpoint = cfg.model, None
    if model.path is not None:
        try:
            checkpoint = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            return [f"model.path: cannot read {model.path / 'config.json'} ({e}): give a Hugging Face checkpoint folder"]
        limit = checkpoint.get("max_position_embeddings") or checkpoint.get("n_positions") or checkpoint.get("n_ctx")
        where, fix = f"the checkpoint's max_position_embeddings ({model.path / 'config.json'})", ""
    else:
        over = model.config_overrides
        limit = over.get("max_position_embeddings") or over.get("n_positions") or model.max_position_embeddings
        where, fix = "model.max_position_embeddings", " or raise model.max_position_embeddings"
    for key, size in (("train.block_size", cfg.train.block_size if cfg.train else None),
                      ("eval.block_size", cfg.eval.block_size if cfg.eval else None)):
        if isinstance(limit, int) and size is not None and size > limit:
            problems.append(f"{key}: {size} is more than {where}, {limit}: the model has no position for the "
                            f"tokens past it; lower {key} to {limit} or less{fix}")
    if checkpoint is not None and cfg.tokenizer is None and _eos_token(model.path) is None:
        problems.append(
            f"model.path: the tokenizer in {model.path} has no EOS token (training packs documents separated by "
            f"EOS; evaluation starts each window with it): set \"eos_token\" in {model.path / 'tokenizer_config.json'}"
            " to a token of its vocabulary (e.g. \"</s>\"), or add a `tokenizer` section to train a new tokenizer"
        )
    return problems


def _eos_token(folder: Path) -> str | None:
    """The EOS token a checkpoint's tokenizer files declare (tokenizer_config.json, special_tokens_map.json)."""
    import json

    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        eos = data.get("eos_token") if isinstance(data, dict) else None
        if isinstance(eos, dict):  # AddedToken serialised as {"content": "</s>", ...}
            eos = eos.get("content")
        if isinstance(eos, str) and eos:
            return eos
    return None


def _task_problems(ecfg) -> list[str]:
    """Each eval task must load (a known name, a valid task YAML with its data files) before any stage runs."""
    if not ecfg.tasks:
        return []
    from jazari_nlp.errors import JazariError
    from jazari_nlp.evaluation.tasks import load_tasks

    problems = []
    for t in ecfg.tasks:
        try:
            for task in load_tasks([t]):
                task.check(ecfg.num_fewshot)  # data files, splits, fields: before any stage runs
        except (JazariError, ValueError, FileNotFoundError) as e:  # a task file's error starts with its path
            problems.append(f"eval.tasks: {e}" if str(e).startswith(f"{t}:") else f"eval.tasks: {t}: {e}")
    return problems
