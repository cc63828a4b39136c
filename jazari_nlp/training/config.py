"""The ``model:`` and ``train:`` sections of an experiment."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from jazari_nlp.schema import ExistingPath, InputGlob, StrictModel, TextFilesSection
from jazari_nlp.training.chat_data import SFTConfig
from jazari_nlp.training.classify import ClassificationConfig
from jazari_nlp.training.lora import LoraSettings
from jazari_nlp.training.mixing import MixConfig


class ModelConfig(StrictModel):
    """A causal LM: either a new model from a spec, or a local Hugging Face checkpoint.

    Example (new 2-layer Llama)::

        model:
          architecture: llama
          hidden_size: 128
          num_layers: 2
          num_heads: 4
    """

    architecture: str | None = Field(
        None, description="transformers model_type for a new model (llama, mistral, qwen2, gpt2, ...)."
    )
    path: ExistingPath | None = Field(None, description="Local Hugging Face checkpoint folder to start from.")
    hidden_size: int = Field(256, ge=8)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    num_kv_heads: int | None = Field(None, ge=1, description="Grouped-query attention heads (None: num_heads).")
    intermediate_size: int | None = Field(None, ge=8, description="MLP width (None: 4 x hidden_size).")
    max_position_embeddings: int = Field(2048, ge=8)
    tie_word_embeddings: bool = True
    config_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Extra keys passed to the transformers config (rope_theta, ...)."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype while training; auto = float32 weights (with bf16 autocast on a GPU that "
        "supports it, see train.precision), so that AdamW never updates bf16 numbers; bfloat16 only when asked."
    )

    @field_validator("path")
    @classmethod
    def _a_checkpoint(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        if v is not None and not (info.context or {}).get("skip_exists"):
            problem = checkpoint_problem(v)
            if problem:
                raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        if (self.architecture is None) == (self.path is None):
            raise ValueError("set exactly one of `architecture` (a new model) or `path` (a local checkpoint)")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})")
        return self


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a checkpoint jazari can load (config.json + safetensors weights), or None.

    Example: ``checkpoint_problem(Path("runs/q/model"))`` → ``None``.
    """
    if not folder.is_dir():
        return f"{folder} is not a folder: give the folder of a Hugging Face checkpoint (config.json + *.safetensors)"
    if not (folder / "config.json").is_file():
        return (f"{folder} has no config.json, so it is not a Hugging Face checkpoint: give the folder that "
                "model.save_pretrained(...) wrote")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt"))
        found = f" (found {', '.join(pickled[:3])}: pickled weights, never loaded)" if pickled else ""
        return (f"{folder} has no *.safetensors weights{found}: jazari loads safetensors only; convert the "
                "checkpoint with model.save_pretrained(folder, safe_serialization=True)")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"{folder / 'config.json'} cannot be read as JSON ({e}): copy the checkpoint again"
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        return (f"{folder / 'config.json'} has no `model_type`, so transformers cannot tell the architecture: "
                "give the folder that model.save_pretrained(...) wrote")
    for weights in sorted(folder.glob("*.safetensors")):
        problem = safetensors_problem(weights)
        if problem:
            return problem
    return None


def safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file cannot be loaded (empty, truncated, not safetensors), from its header alone:
    8 bytes of header length, the JSON header, then the tensors, whose last end offset must fit in the file.

    Example: ``safetensors_problem(Path("runs/q/model/model.safetensors"))`` → ``None``.
    """
    size = path.stat().st_size
    fix = "copy the checkpoint again, or save it with model.save_pretrained(folder)"
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if n < 2 or n > min(size - 8, 100 * 2**20):
            return f"{path} ({size:,} bytes) is not a complete safetensors file (no valid header): {fix}"
        try:
            header = json.loads(f.read(n))
        except ValueError:
            header = None
    if not isinstance(header, dict):
        return f"{path} ({size:,} bytes) is not a safetensors file (its header is not JSON): {fix}"
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
            and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2]
    need = 8 + n + max(ends, default=0)
    if need > size:
        return f"{path} is truncated: {size:,} bytes, its header says {need:,}: {fix}"
    return None


class TrainConfig(TextFilesSection):
    """Causal-LM training with transformers' Trainer (accelerate underneath).

    Example::

        train:
          max_steps: 200
          learning_rate: 3.0e-4
          block_size: 128
    """

    section: ClassVar[str] = "train"

    files: list[InputGlob] = Field(
        default_factory=list,
        description="Train on these txt/jsonl/parquet files instead of the corpus stage's train split.",
    )
    text_field: str = "text"
    learning_rate: float = Field(3e-4, gt=0, description="Peak learning rate.")
    max_steps: int = Field(200, ge=1, description="Optimizer steps.")
    per_device_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    block_size: int = Field(128, ge=8, description="Tokens per packed training sequence.")
    warmup_steps: int = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0)
    logging_steps: int = Field(10, ge=1)
    save_steps: int = Field(100, ge=1, description="Checkpoint every N steps; a killed run resumes from the last.")
    eval_steps: int | None = Field(None, ge=1, description="Held-out loss and perplexity every N steps (pretrain, "
                                   "sft); None: once, at the end, when there is held-out data.")
    eval_files: list[InputGlob] = Field(
        default_factory=list, description="Held-out files for train.eval_steps (pretrain: text under text_field; "
        "sft: chat rows). Default: the corpus stage's heldout split in pretrain mode, none in sft mode.")
    eval_max_documents: int | None = Field(1000, ge=1, description="A seeded sample of at most this many held-out "
                                           "documents (or chat rows) is evaluated; None: all of them.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 on a GPU that supports it, fp32 on CPU."
    )
    gradient_checkpointing: bool = False
    compile: bool = Field(False, description="torch.compile the model (GPU throughput; the first steps compile, "
                          "CPU runs need a C++ compiler).")
    optimizer: Literal["adamw_torch_fused", "adamw_torch", "adafactor"] = Field(
        "adamw_torch_fused", description="The optimizer (transformers' `optim`): fused AdamW (one kernel for all "
        "parameters), plain AdamW or Adafactor.")
    fused_kernels: bool = Field(False, description="Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU, fused linear "
                                "cross-entropy) for Llama/Mistral/Qwen/Gemma: needs a CUDA GPU and `pip install "
                                "liger-kernel`.")
    max_train_documents: int | None = Field(None, ge=1)
    dataloader_workers: int = Field(0, ge=0)
    mode: Literal["pretrain", "sft", "classification"] = Field(
        "pretrain", description="pretrain: causal LM on raw text (continued pretraining from model.path); sft: chat "
        "data, loss on every assistant turn; classification: a sequence classifier (train.classification).")
    lora: LoraSettings | None = Field(None, description="Train LoRA adapters (peft) instead of every weight; "
                                      "the adapter is saved in model/adapter and merged into model/.")
    sft: SFTConfig = Field(default_factory=SFTConfig, description="mode sft: the chat data's fields.")
    mix: MixConfig | None = Field(None, description="mode pretrain: mix the sources (the corpus's languages, or "
                                  "each train.files entry) with weights, temperature and a token budget.")
    classification: ClassificationConfig | None = Field(None, description="mode classification: fields, labels.")

    def checked_field(self) -> str | None:
        # chat rows carry messages or prompt/response (checked row by row, rejects counted); labelled rows carry
        # the classification's text field
        if self.mode == "sft":
            return None
        if self.mode == "classification":
            return (self.classification or ClassificationConfig()).text_field
        return self.text_field

    @model_validator(mode="after")
    def _mode_needs(self) -> TrainConfig:
        if self.mode in ("sft", "classification") and not self.files:
            raise ValueError(f"mode {self.mode}: set train.files to the {'chat' if self.mode == 'sft' else 'labelled'} "
                             "data (jsonl/parquet/csv/tsv)")
        if self.mode == "classification" and self.classification is None:
            self.classification = ClassificationConfig()
        if self.mix is not None and self.mode != "pretrain":
            raise ValueError(f"mix: mixes raw-text sources for mode pretrain; mode is {self.mode}: remove train.mix")
        if self.mode == "classification" and self.lora is not None:
            raise ValueError("lora with mode classification is not supported yet: remove train.lora")
        if self.mode == "classification" and (self.eval_steps is not None or self.eval_files):
            raise ValueError("train.eval_steps / train.eval_files: mode classification evaluates on its own held-out "
                             "split: use train.classification.eval_steps and train.classification.heldout_files")
        if self.mode == "sft" and self.eval_steps is not None and not self.eval_files:
            raise ValueError("train.eval_steps: mode sft has no default held-out data (the corpus heldout split is "
                             "raw text): set train.eval_files to held-out chat rows (jsonl/parquet)")
        return self

    @field_validator("eval_files")
    @classmethod
    def _eval_files_exist(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if v and not (info.context or {}).get("skip_exists"):
            from jazari_nlp.readers import expand_inputs

            found, empty, _ = expand_inputs(v)
            if empty or not found:
                raise ValueError(f"no file matches {', '.join(empty or v)}; check the path or glob (relative to the "
                                 "config file)")
        return v

