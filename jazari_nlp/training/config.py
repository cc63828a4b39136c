"""The ``model:`` and ``train:`` sections of an experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from jazari_nlp.modeling.checkpoints import checkpoint_problem, safetensors_problem  # noqa: F401 (re-exported)
from jazari_nlp.schema import ExistingPath, InputGlob, StrictModel, TextFilesSection
from jazari_nlp.training.chat_data import SFTConfig
from jazari_nlp.training.classify_data import ClassificationConfig
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
    embeddings_only_steps: int = Field(0, ge=0, description="The first N optimizer steps update only the input and "
                                       "output embeddings (after `tokenizer extend`: the new rows learn before the "
                                       "rest of the model moves), then every weight trains.")
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
        if self.embeddings_only_steps and self.lora is not None:
            raise ValueError("train.embeddings_only_steps trains the full embeddings, train.lora only adapters: use "
                             "train.lora.train_new_tokens for the new rows with LoRA, or remove one of them")
        if self.embeddings_only_steps and self.mode == "classification":
            raise ValueError("train.embeddings_only_steps is for causal LMs (pretrain, sft): remove it")
        if self.embeddings_only_steps >= self.max_steps:
            raise ValueError(f"train.embeddings_only_steps ({self.embeddings_only_steps}) must be below "
                             f"train.max_steps ({self.max_steps}), or nothing but the embeddings ever trains")
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

