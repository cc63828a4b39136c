"""What a causal-LM training leaves beside its model: ``log.jsonl`` (every Trainer log event, appended as it
happens), TensorBoard events when tensorboard is installed, ``loss_curve.png`` and the model card ``README.md``.

The log survives a killed run and a resumed run continues it: records past the checkpoint the run resumes from
are dropped (that stretch is trained again), and a record is never appended twice for the same step and event.

Example::

    trainer.add_callback(log_callback(model_dir / LOG_NAME, tokens_per_step=8 * 128))
    plot_loss_curve(trainer.state.log_history, model_dir / PNG_NAME, title="tiny")
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("jazari_nlp.train")

LOG_NAME = "log.jsonl"
PNG_NAME = "loss_curve.png"
CARD_NAME = "README.md"
TENSORBOARD_DIR = "tensorboard"


def perplexity(loss: float | None) -> float | None:
    """``exp(loss)`` rounded, or None (no loss, or too large to be a number JSON can hold).
    Example: ``perplexity(2.0)`` → ``7.3891``."""
    if loss is None or not math.isfinite(loss) or loss > 700:
        return None
    return round(math.exp(loss), 4)


def sample_texts(texts: Iterable[Any], limit: int | None, seed: int = 0) -> list[Any]:
    """At most ``limit`` items of ``texts``, a seeded uniform sample in their original order (reservoir: memory
    for ``limit`` items only), so every language of a held-out split sorted by language is represented.
    Example: ``sample_texts(["a", "b", "c"], 2, seed=0)`` → two of them, in order."""
    if limit is None:
        return list(texts)
    rng = random.Random(seed)
    keep: list[tuple[int, Any]] = []
    for i, t in enumerate(texts):
        if i < limit:
            keep.append((i, t))
        else:
            j = rng.randint(0, i)
            if j < limit:
                keep[j] = (i, t)
    return [t for _, t in sorted(keep, key=lambda p: p[0])]


def tensorboard_available() -> bool:
    """True when ``import tensorboard`` works (never a dependency: TensorBoard events only when it is there)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def tensorboard_callback(log_dir: Path) -> Any | None:
    """transformers' TensorBoard callback writing to ``log_dir`` (beside the model, not in the checkpoints that
    are deleted at the end), or None when tensorboard is not installed."""
    if not tensorboard_available():
        return None
    from transformers.integrations import TensorBoardCallback

    cb = TensorBoardCallback()
    cb.logging_dir = str(log_dir)
    return cb


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a ``log.jsonl`` (a line cut by a kill mid-write is skipped).
    Example: ``[r["eval_loss"] for r in read_log(p) if r["event"] == "eval"]``."""
    if not Path(path).is_file():
        return []
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            out.append(rec)
    return out


def _event(logs: dict[str, Any]) -> str:
    if "eval_loss" in logs or any(k.startswith("eval_") for k in logs):
        return "eval"
    if "train_loss" in logs:  # the Trainer's closing record (runtime, mean loss); step records carry "loss"
        return "end"
    return "train"


def log_callback(path: Path, tokens_per_step: int | None = None) -> Any:
    """A ``TrainerCallback`` appending one JSON object per Trainer log event to ``path``: ``step``, ``event``
    (``train`` / ``eval`` / ``end``), ``time``, the Trainer's figures (``loss``, ``learning_rate``, ``grad_norm``,
    ``epoch``, ``eval_loss``...), ``eval_perplexity`` and ``tokens_seen`` (``tokens_per_step × step`` for packed
    blocks, else the Trainer's ``num_input_tokens_seen`` when it counts them). Main process only.
    Example: ``trainer.add_callback(log_callback(out / "log.jsonl", tokens_per_step=8 * 128))``."""
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        def __init__(self) -> None:
            self.path = Path(path)
            self.seen: set[tuple[int, str]] = set()

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            # records past the step training (re)starts from belong to a stretch that is trained again
            records = read_log(self.path)
            kept = [r for r in records if r["step"] <= state.global_step]
            raw = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
            if len(kept) != len(records) or len(raw.splitlines()) != len(records):  # or a line cut by a kill
                tmp = self.path.with_suffix(".jsonl.tmp")
                tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
                os.replace(tmp, self.path)
                log.info("%s: %d records after step %d dropped (training resumes from that step)", self.path.name,
                         len(records) - len(kept), state.global_step)
            self.seen = {(r["step"], r.get("event", "train")) for r in kept}

        def on_step_end(self, args, state, control, **kwargs):
            # a checkpoint step is also a log step: the Trainer's logged loss averages the steps since the last
            # log, and a run resumed from a checkpoint starts a new average there; logging at each checkpoint
            # makes a resumed run's loss curve the one an uninterrupted run logs
            if control.should_save:
                control.should_log = True
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            step, event = int(state.global_step), _event(logs)
            if (step, event) in self.seen:
                return  # already logged by the run that was resumed
            rec: dict[str, Any] = {"step": step, "event": event, "time": round(time.time(), 3)}
            rec.update({k: v for k, v in logs.items() if isinstance(v, int | float | str | bool) or v is None})
            if "eval_loss" in logs:
                rec["eval_perplexity"] = perplexity(logs["eval_loss"])
            if tokens_per_step is not None:
                rec["tokens_seen"] = tokens_per_step * step
            elif "num_input_tokens_seen" in logs:
                rec["tokens_seen"] = logs["num_input_tokens_seen"]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:  # one write per event: a kill loses at most a line
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.seen.add((step, event))

    return JsonlLog()


def plot_loss_curve(history: list[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """``loss_curve.png``: training loss and held-out loss against the optimizer step (matplotlib Agg). None
    when the history holds no loss at all. Example: ``plot_loss_curve(trainer.state.log_history, out / PNG_NAME)``."""
    train = sorted({h["step"]: h["loss"] for h in history if "loss" in h and "step" in h}.items())
    held = sorted({h["step"]: h["eval_loss"] for h in history if "eval_loss" in h and "step" in h}.items())
    if not train and not held:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    try:
        if train:
            ax.plot(*zip(*train, strict=True), marker="o", markersize=3, label="training loss")
        if held:
            ax.plot(*zip(*held, strict=True), marker="s", markersize=4, label="held-out loss")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("cross-entropy (nats per token)")
        ax.set_title(f"{title}: training and held-out loss" if title else "training and held-out loss")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Path(path)


# ------------------------------------------------------------------------------------------------ model card


def corpus_facts(corpus_dir: Path | None) -> dict[str, Any]:
    """Languages (ISO 639 codes, ``und`` left out) and licenses (lower case) of a corpus run, from its
    ``manifest.json``; ``{}`` when there is none. Example: ``corpus_facts(run / "corpus")["languages"]`` → ``["ary"]``."""
    if corpus_dir is None:
        return {}
    try:
        manifest = json.loads((Path(corpus_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    langs = sorted({str(k).split("_")[0] for k in (manifest.get("languages") or {}) if k != "und"})
    licenses = sorted({str(s.get("license") or "unknown").lower() for s in manifest.get("sources") or []})
    return {"languages": langs, "licenses": licenses, "documents": manifest.get("splits", {}).get("train", {})
            .get("documents")}


def card_facts(cfg: Any, *, corpus_dir: Path | None, config_sha256: str | None = None) -> dict[str, Any]:
    """What an experiment knows for the model card: name, base model, training data, languages and licenses
    (from the corpus run when the model trains on it; else unknown), the config hash.
    Example: ``card_facts(cfg, corpus_dir=run.stage_dir("corpus"), config_sha256=run.sha256)``."""
    tcfg, mcfg = cfg.train, cfg.model
    facts: dict[str, Any] = {"name": cfg.name, "config_sha256": config_sha256}
    facts["base_model"] = str(mcfg.path) if mcfg.path is not None else f"new {mcfg.architecture}"
    if cfg.tokenizer is not None and cfg.tokenizer.extend is not None:
        facts["vocabulary"] = f"extended by tokenizer.extend from {cfg.tokenizer.extend.model}"
    if tcfg.files:
        facts["datasets"] = [str(f) for f in tcfg.files]
        facts["data"] = "train.files: " + ", ".join(str(f) for f in tcfg.files)
    elif corpus_dir is not None:
        corpus = corpus_facts(corpus_dir)
        facts["datasets"] = [str(corpus_dir)]
        docs = corpus.get("documents")
        facts["data"] = f"the train split of the corpus run {corpus_dir}" + (f" ({docs:,} documents)" if docs else "")
        if corpus.get("languages"):
            facts["languages"] = corpus["languages"]
            facts["languages_from"] = f"the languages identified in the corpus, {Path(corpus_dir) / 'manifest.json'}"
        if corpus.get("licenses"):
            facts["licenses"] = corpus["licenses"]
    return facts


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def render_model_card(facts: dict[str, Any], summary: dict[str, Any], model_cfg: Any, train_cfg: Any) -> str:
    """The model card: YAML front matter (``base_model``, ``language``, ``license``, ``datasets``, ``metrics``,
    ``model-index`` with the figures, ``library_name``, ``tags``) and a body with the run's figures, its data,
    how to load it and the resolved ``model:`` / ``train:`` config. A fact nobody knows is ``unknown``.
    Example: ``render_model_card({"name": "tiny"}, summary, cfg.model, cfg.train).startswith("---")``."""
    name = facts.get("name") or "model"
    licenses = facts.get("licenses") or ["unknown"]
    tags = ["jazari_nlp", summary.get("mode") or train_cfg.mode] + (["lora"] if train_cfg.lora is not None else [])
    figures = [("final train loss", "loss", "train", summary.get("final_loss")),
               ("held-out loss", "loss", "heldout", summary.get("eval_loss")),
               ("held-out perplexity", "perplexity", "heldout", summary.get("eval_perplexity"))]
    results = []
    for split, data_name in (("train", facts.get("data")), ("heldout", summary.get("eval_data"))):
        metrics = [{"type": kind, "name": label, "value": value}
                   for label, kind, where, value in figures if where == split and value is not None]
        if metrics:
            results.append({"task": {"type": "text-generation", "name": "causal language modeling"},
                            "dataset": {"name": data_name or "unknown", "type": split}, "metrics": metrics})
    front: dict[str, Any] = {
        "base_model": facts.get("base_model") or "unknown",
        "language": facts.get("languages") or "unknown",
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "datasets": facts.get("datasets") or ["unknown"],
        "metrics": sorted({kind for _, kind, _, value in figures if value is not None}) or ["unknown"],
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": tags,
    }
    if results:
        front["model-index"] = [{"name": name, "results": results}]

    def fmt(v: Any) -> str:
        return "unknown" if v is None else f"{v:,}" if isinstance(v, int) else str(v)

    rows = [("mode", summary.get("mode") or train_cfg.mode), ("base model", facts.get("base_model")),
            ("vocabulary", facts.get("vocabulary") or "the tokenizer saved in this folder"),
            ("parameters", summary.get("parameters")), ("optimizer steps", summary.get("steps")),
            ("tokens seen", summary.get("tokens_seen")), ("training tokens (one pass)", summary.get("train_tokens")),
            ("final training loss (last log)", summary.get("final_loss")),
            ("training loss (mean over the run)", summary.get("train_loss")),
            ("held-out loss", summary.get("eval_loss")), ("held-out perplexity", summary.get("eval_perplexity")),
            ("held-out data", summary.get("eval_data")), ("config sha256", facts.get("config_sha256"))]
    table = "\n".join(f"| {k} | {fmt(v)} |" for k, v in rows)
    languages = ", ".join(facts["languages"]) + f" (from {facts['languages_from']})" if facts.get("languages") \
        else "unknown"
    config = _yaml({"model": model_cfg.model_dump(mode="json"), "train": train_cfg.model_dump(mode="json")})
    return f"""---
{_yaml(front)}---

# {name}

A causal language model trained with jazari_nlp (`train.mode: {train_cfg.mode}`{
    ", LoRA adapters merged into the weights" if train_cfg.lora is not None else ""}).

| | |
|---|---|
{table}

## Data

- training data: {facts.get("data") or "unknown"}
- languages: {languages}
- license of the data: {", ".join(licenses)}

## How to load

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")
model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")
```

The loss of every logged step and evaluation is in `{LOG_NAME}` (one JSON object per line), the curve in
`{PNG_NAME}`, the Trainer's arguments in `training_args.json`.

## Configuration

```yaml
{config}```
"""


def write_model_card(out_dir: Path, facts: dict[str, Any], summary: dict[str, Any], model_cfg: Any,
                     train_cfg: Any) -> Path:
    """Write ``out_dir/README.md`` (see :func:`render_model_card`). Example:
    ``write_model_card(run / "model", facts, summary, cfg.model, cfg.train)``."""
    path = Path(out_dir) / CARD_NAME
    path.write_text(render_model_card(facts, summary, model_cfg, train_cfg), encoding="utf-8")
    return path


def read_card(path: Path) -> tuple[dict[str, Any], str]:
    """``(front matter, body)`` of a model card. Example: ``read_card(run / "model" / "README.md")[0]["license"]``."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}, text
    head, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(head) or {}, body
