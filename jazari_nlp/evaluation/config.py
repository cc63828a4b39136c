"""The ``eval:`` section of an experiment: held-out perplexity and benchmark tasks."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from jazari_nlp.schema import InputGlob, TextFilesSection


class EvalConfig(TextFilesSection):
    """Evaluation of the trained (or given) model: perplexity and bits-per-byte on held-out text, and benchmark
    tasks (names of shipped tasks, or task YAML paths relative to this file).

    Example::

        eval:
          max_documents: 500
          tasks: [jazari_quick_mc, tasks/my_task.yaml]
          num_fewshot: 0
    """

    section: ClassVar[str] = "eval"

    files: list[InputGlob] = Field(
        default_factory=list,
        description="Evaluate on these txt/jsonl/parquet files instead of the corpus stage's held-out split.",
    )
    text_field: str = "text"
    max_documents: int | None = Field(
        None, ge=1, description="Evaluate on a seeded random sample of this many documents (None: all)."
    )
    batch_size: int = Field(8, ge=1)
    block_size: int | None = Field(None, ge=8, description="Window length (None: train.block_size or 512).")
    per_language: bool = Field(True, description="Also report each language (the corpus `lang` column).")
    perplexity: bool = Field(True, description="Score held-out perplexity and bits-per-byte (the corpus split or "
                             "`files`).")
    tasks: list[str] = Field(default_factory=list, description="Benchmark tasks: shipped names (`jazari eval "
                             "tasks` lists them) or task YAML files/folders (relative to this file).")
    num_fewshot: int | None = Field(None, ge=0, description="Shots for every task (None: each task's own).")
    limit: int | None = Field(None, ge=1, description="Score at most this many examples per task (a quick look; "
                              "not a reportable figure).")
    task_batch_size: int | Literal["auto"] = Field("auto", description="Batch size of the task requests (auto: "
                                                   "the largest that fits on a GPU, a fixed size on CPU).")
    fewshot_seed: int = Field(1234, ge=0, description="Seed of few-shot sampling (lm-eval's default 1234).")

    @field_validator("tasks")
    @classmethod
    def _task_paths(cls, v: list[str], info: ValidationInfo) -> list[str]:
        """A value that names a file or folder (a path separator or a .yaml suffix) is resolved against the
        config's folder; bare names are looked up in the registry when the stage runs."""
        base = Path((info.context or {}).get("base_dir") or Path.cwd())
        out = []
        for t in v:
            if "/" in t or t.endswith((".yaml", ".yml")):
                p = Path(t).expanduser()
                p = p if p.is_absolute() else base / p
                if not p.exists() and not (info.context or {}).get("skip_exists"):
                    raise ValueError(f"task file not found: {p}")
                out.append(str(p))
            else:
                out.append(t)
        return out

