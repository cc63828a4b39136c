"""Benchmark jazari's train stage (packed blocks, no padding) against a plain transformers ``Trainer`` on padded,
unpacked batches of the same documents, same model shape, same optimizer settings and the same number of steps.

Both sides are timed from the end of the last warm-up step to the end of the last step (a ``TrainerCallback``;
setup, tokenizing, packing and saving are outside), and both count **real** tokens only: every token of a packed
block is a real token; a padded batch counts its attention mask. The runs alternate (jazari, plain, jazari,
plain, ...) and each side reports its best run, so that a busy machine hurts both alike. The issue's bar
(issue 10, "Speed") is a ratio ≥ 1.3 on CPU.

Usage::

    python scripts/bench_train.py                          # 2-layer Llama, hidden 128, block 256, batch 8, 20 steps
    python scripts/bench_train.py --data shared --steps 50 # real text from ../shared/data
    python scripts/bench_train.py --device cuda --shape issue   # the issue's 134M GPU shape, bf16 autocast, MFU

From Python::

    from bench_train import Shape, bench, documents
    report = bench(documents("samples"), Shape(hidden=64, layers=1, block=64, batch=4), steps=5)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

for _k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_k, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PEAK_FLOPS = 989e12  # H200 dense bf16, as the issue counts MFU
BAR = 1.3


@dataclass(frozen=True)
class Shape:
    """A Llama shape and the batch geometry. ``vocab=None``: the tokenizer's size. ``mlp=None``: 4 × hidden."""

    hidden: int = 128
    layers: int = 2
    heads: int = 4
    mlp: int | None = None
    vocab: int | None = None
    block: int = 256
    batch: int = 8
    tie: bool = True


# the issue's GPU shape: a 134M-parameter Llama (untied embeddings), blocks of 1024, batch 32
ISSUE_SHAPE = Shape(hidden=768, layers=12, heads=12, mlp=2048, vocab=32000, block=1024, batch=32, tie=False)


# ------------------------------------------------------------------------------------------------ data


def documents(source: str = "samples", *, seed: int = 0, max_docs: int = 4000) -> list[str]:
    """Documents of varied length. ``samples``: the bundled sample sentences, shuffled and joined in runs of 1 to
    24 sentences (log-uniform, so short and long documents both occur); ``shared``: the lines of
    ``../shared/data`` (Kabyle Wikipedia paragraphs, Darija tweets, FLORES Darija sentences), shuffled.
    Example: ``len(documents("samples"))`` → about 250."""
    rng = random.Random(seed)
    if source == "shared":
        lines = _shared_lines()
        rng.shuffle(lines)
        return lines[:max_docs]
    from jazari_nlp.modeling.tiny import sample_lines

    lines = sample_lines()
    rng.shuffle(lines)
    docs, i = [], 0
    while i < len(lines) and len(docs) < max_docs:
        k = int(math.exp(rng.uniform(0, math.log(25))))
        docs.append("\n".join(lines[i : i + k]))
        i += k
    return docs


def _shared_lines() -> list[str]:
    if not SHARED.is_dir():
        raise SystemExit(f"--data shared: {SHARED} does not exist; use --data samples (the bundled samples)")
    lines: list[str] = []
    for f in sorted((SHARED / "kabyle_cc0").glob("wiki_*.txt")):
        lines += [t.strip() for t in f.read_text(encoding="utf-8").splitlines() if len(t.strip()) > 1]
    for f, col in ((SHARED / "afrisenti" / "ary" / "train.tsv", 0), (SHARED / "sib200" / "ary_Arab" / "train.tsv", 2)):
        if f.is_file():
            rows = f.read_text(encoding="utf-8").splitlines()[1:]
            lines += [r.split("\t")[col].strip() for r in rows if len(r.split("\t")) > col and r.split("\t")[col].strip()]
    if not lines:
        raise SystemExit(f"--data shared: no text found under {SHARED}; use --data samples")
    return lines


def make_tokenizer(texts: list[str], out_dir: Path, vocab_size: int = 2000) -> Path:
    """A byte-level BPE trained on ``texts`` (jazari's tokenizer stage), saved in ``out_dir``."""
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    train_tokenizer(TokenizerConfig(vocab_size=vocab_size, min_frequency=2, chat_template=None), texts, out_dir,
                    progress=False)
    return out_dir


def model_config(shape: Shape) -> Any:
    from jazari_nlp.training.config import ModelConfig

    overrides = {"vocab_size": shape.vocab} if shape.vocab else {}
    return ModelConfig(architecture="llama", hidden_size=shape.hidden, num_layers=shape.layers, num_heads=shape.heads,
                       intermediate_size=shape.mlp, max_position_embeddings=max(2048, shape.block),
                       tie_word_embeddings=shape.tie, config_overrides=overrides)


# ------------------------------------------------------------------------------------------------ timing


def _timer_class() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Wall time from the end of optimizer step ``warmup`` to the end of the last step (synchronized on GPU)."""

        def __init__(self, warmup: int) -> None:
            self.warmup, self.start, self.end, self.model = warmup, None, None, None

        def _now(self) -> float:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return time.perf_counter()

        def on_train_begin(self, args, state, control, model=None, **kw):
            self.model = model
            if self.warmup == 0:
                self.start = self._now()

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == self.warmup:
                self.start = self._now()
            if state.global_step == state.max_steps:
                self.end = self._now()

    return StepTimer


@contextlib.contextmanager
def _with_callback(callback: Any):
    """While inside, every ``transformers.Trainer`` built (the one ``train_causal_lm`` builds) carries ``callback``:
    the train stage takes no callbacks, and timing must not include its setup or saving."""
    import transformers

    base = transformers.Trainer

    class Timed(base):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.add_callback(callback)

    transformers.Trainer = Timed
    try:
        yield
    finally:
        transformers.Trainer = base


def _result(name: str, timer: Any, real: int, total: int, steps: int, loss: float | None, model: Any,
            shape: Shape) -> dict[str, Any]:
    seconds = timer.end - timer.start
    return {"name": name, "steps": steps, "seconds": seconds, "real_tokens": real, "batch_tokens": total,
            "pad_share": 1 - real / total if total else 0.0, "tokens_per_s": real / seconds, "loss": loss,
            "matmul_parameters": matmul_parameters(model), "shape": shape}


# ------------------------------------------------------------------------------------------------ the two runs


def run_jazari(docs: list[str], tokenizer_dir: Path, shape: Shape, work: Path, *, steps: int, warmup: int,
               lr: float = 3e-4, seed: int = 0, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``train_causal_lm`` on ``docs`` (packed blocks, position ids restarting per document, no padding);
    ``options``: more ``train:`` keys (``{"compile": True, "fused_kernels": True}``)."""
    from jazari_nlp.training.config import TrainConfig
    from jazari_nlp.training.lm import train_causal_lm

    total = warmup + steps
    cfg = TrainConfig(max_steps=total, per_device_batch_size=shape.batch, block_size=shape.block, learning_rate=lr,
                      logging_steps=10, save_steps=total + 1, lr_scheduler="cosine", **(options or {}))
    timer = _timer_class()(warmup)
    with _with_callback(timer):
        summary = train_causal_lm(model_config(shape), cfg, tokenizer_dir, docs, work, seed=seed, progress=False)
    tokens = steps * shape.batch * shape.block  # every token of a packed block is a real token
    return _result("jazari train_causal_lm (packed)", timer, tokens, tokens, summary["steps"], summary["final_loss"],
                   timer.model, shape)


class PaddedBatches:
    """A collator: rows padded to the longest of the batch (``pad``: ``DataCollatorWithPadding``), labels -100 on
    the pads; ``counts`` keeps (real tokens, padded tokens) of each batch, in order.
    Example: ``PaddedBatches(DataCollatorWithPadding(tok))([{"input_ids": [5, 6]}, {"input_ids": [7]}])``."""

    def __init__(self, pad: Any) -> None:
        self.pad, self.counts = pad, []

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.pad(rows)
        batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        self.counts.append((int(batch["attention_mask"].sum()), batch["input_ids"].numel()))
        return batch


def run_plain_trainer(docs: list[str], tokenizer_dir: Path, shape: Shape, work: Path, *, steps: int, warmup: int,
                      lr: float = 3e-4, seed: int = 0) -> dict[str, Any]:
    """A plain ``Trainer``: one document per row (EOS appended, truncated to ``shape.block``), padded to the
    longest of its batch by ``DataCollatorWithPadding``, labels -100 on the pads; same model and optimizer."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    from jazari_nlp.training.lm import build_model

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    ids = [x + [tok.eos_token_id] for x in tok([d for d in docs if d.strip()], add_special_tokens=False)["input_ids"]]
    dataset = Dataset.from_dict({"input_ids": [x[: shape.block] for x in ids]})
    collate = PaddedBatches(DataCollatorWithPadding(tok))
    set_seed(seed)
    model = build_model(model_config(shape), tok)
    model.config.use_cache = False  # as the train stage does: no KV cache built in a training forward
    total = warmup + steps
    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(work), max_steps=total, per_device_train_batch_size=shape.batch, learning_rate=lr,
        warmup_steps=0, weight_decay=0.0, lr_scheduler_type="cosine", max_grad_norm=1.0, logging_steps=10,
        save_strategy="no", seed=seed, data_seed=seed, report_to=[], disable_tqdm=True, dataloader_num_workers=0,
        use_cpu=not cuda, bf16=cuda and torch.cuda.is_bf16_supported(),
    )
    timer = _timer_class()(warmup)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[timer])
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    result = trainer.train()
    timed = collate.counts[warmup:total]  # batch k is step k+1's (batches are collated in order)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return _result("plain Trainer (padded, unpacked)", timer, sum(r for r, _ in timed), sum(n for _, n in timed),
                   result.global_step, round(losses[-1], 4) if losses else None, model, shape)


# ------------------------------------------------------------------------------------------------ MFU


def matmul_parameters(model: Any) -> int:
    """Parameters that take part in matrix products: all but the input embedding (a lookup), the output
    projection counted even when it is tied to the input embedding."""
    emb = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    total = sum(p.numel() for p in model.parameters())
    tied = out is not None and out.weight is emb
    return total - emb.numel() + (emb.numel() if tied else 0)


def flops_per_token(matmul_params: int, shape: Shape) -> float:
    """Training FLOPs per token: 6·N (forward and backward of the matrix products) + 12·layers·hidden·block
    (attention scores and values, forward and backward). With the issue's 134M shape (N = 109.6M): 7.71e8."""
    return 6 * matmul_params + 12 * shape.layers * shape.hidden * shape.block


def mfu(tokens_per_s: float, matmul_params: int, shape: Shape, peak: float = PEAK_FLOPS) -> float:
    """Model FLOPs utilization against ``peak`` FLOP/s (the issue's 989 TFLOP/s of an H200 in bf16).
    Example: the issue's 450k tokens/s on its 134M shape → 0.35."""
    return tokens_per_s * flops_per_token(matmul_params, shape) / peak


def issue_shape_matmul_parameters(vocab: int = 32000) -> int:
    """N of the issue's GPU shape, from a model built on the meta device (no memory)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    s = ISSUE_SHAPE
    config = LlamaConfig(vocab_size=vocab, hidden_size=s.hidden, intermediate_size=s.mlp, num_hidden_layers=s.layers,
                         num_attention_heads=s.heads, num_key_value_heads=s.heads, tie_word_embeddings=s.tie)
    with torch.device("meta"):
        return matmul_parameters(LlamaForCausalLM(config))


# ------------------------------------------------------------------------------------------------ the bench


def bench(docs: list[str], shape: Shape = Shape(), *, steps: int = 20, warmup: int = 3, repeats: int = 2,
          vocab_size: int = 2000, seed: int = 0, work: Path | None = None,
          options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Alternate the two runs ``repeats`` times on ``docs``; returns each run and each side's best.
    Example: ``bench(documents(), Shape(hidden=64, layers=1, block=64, batch=4), steps=5)["ratio"]``."""
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the tokenizing bars of each run
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_train-")))
        tok_dir = make_tokenizer(docs, work / "tokenizer", vocab_size)
        runs: list[dict[str, Any]] = []
        for r in range(repeats):
            kw = {"steps": steps, "warmup": warmup, "seed": seed}
            runs.append(run_jazari(docs, tok_dir, shape, work / f"jazari-{r}", options=options, **kw))
            runs.append(run_plain_trainer(docs, tok_dir, shape, work / f"plain-{r}", **kw))
        lengths = _doc_lengths(docs, tok_dir)
    best = {side: max((x for x in runs if x["name"].startswith(side)), key=lambda x: x["tokens_per_s"])
            for side in ("jazari", "plain")}
    return {"runs": runs, "best": best, "ratio": best["jazari"]["tokens_per_s"] / best["plain"]["tokens_per_s"],
            "documents": len(docs), "doc_tokens": lengths, "shape": shape, "steps": steps, "warmup": warmup}


def _doc_lengths(docs: list[str], tok_dir: Path) -> dict[str, int]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    n = sorted(len(x) + 1 for x in tok(docs, add_special_tokens=False)["input_ids"])
    return {"min": n[0], "median": n[len(n) // 2], "p90": n[int(len(n) * 0.9)], "max": n[-1], "total": sum(n)}


def format_report(report: dict[str, Any], device: str = "cpu") -> str:
    """The table and the final ratio line."""
    s, d = report["shape"], report["doc_tokens"]
    lines = [f"shape: {asdict(s)}; {report['steps']} timed steps after {report['warmup']} warm-up steps; "
             f"device {device}",
             f"data: {report['documents']} documents, tokens per document min {d['min']} / median {d['median']} / "
             f"p90 {d['p90']} / max {d['max']} (the plain Trainer truncates at {s.block})", ""]
    head = f"{'run':<36} {'seconds':>8} {'real tokens':>12} {'pad share':>10} {'real tok/s':>11} {'loss':>7}"
    if device == "cuda":
        head += f" {'MFU':>6}"
    lines += [head, "-" * len(head)]
    for x in report["runs"] + [dict(report["best"]["jazari"], name="best jazari"),
                               dict(report["best"]["plain"], name="best plain Trainer")]:
        row = (f"{x['name']:<36} {x['seconds']:>8.2f} {x['real_tokens']:>12,} {x['pad_share']:>10.1%} "
               f"{x['tokens_per_s']:>11,.0f} {'-' if x['loss'] is None else format(x['loss'], '.3f'):>7}")
        if device == "cuda":
            row += f" {mfu(x['tokens_per_s'], x['matmul_parameters'], x['shape']):>6.3f}"
        lines.append(row)
    bar = BAR if device == "cpu" else None
    lines += ["", f"ratio jazari/plain Trainer (real tokens/s): {report['ratio']:.2f}"
              + (f" (bar {bar})" if bar else " (bar 1.3 is for the CPU; GPU goal: 450k tokens/s, MFU 0.35)")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", choices=["samples", "shared"], default="samples",
                   help="samples: the bundled samples; shared: ../shared/data text")
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per run")
    p.add_argument("--warmup", type=int, default=3, help="optimizer steps before timing starts")
    p.add_argument("--repeats", type=int, default=2, help="alternations of the two runs (best of each reported)")
    p.add_argument("--shape", choices=["tiny", "issue"], default="tiny",
                   help="tiny: the flags below; issue: the issue's 134M GPU shape (hidden 768, 12 layers, 12 heads, "
                        "MLP 2048, vocab 32k, block 1024, batch 32)")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--block-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--vocab-size", type=int, default=2000, help="the tokenizer trained on the data")
    p.add_argument("--max-docs", type=int, default=4000)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: bf16 autocast (fp32 weights) on both sides, and MFU against 989 TFLOP/s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="jazari side: train.compile (torch.compile)")
    p.add_argument("--fused-kernels", action="store_true", help="jazari side: train.fused_kernels (Liger, CUDA)")
    a = p.parse_args(argv)
    if a.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # both Trainers pick the GPU when one is visible
    else:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no GPU; run without --device (CPU)")
    shape = ISSUE_SHAPE if a.shape == "issue" else Shape(hidden=a.hidden, layers=a.layers, heads=a.heads,
                                                         block=a.block_size, batch=a.batch_size)
    if a.shape == "issue":
        shape = replace(shape, batch=a.batch_size if a.batch_size != 8 else shape.batch)
    if shape.hidden % shape.heads:
        raise SystemExit(f"--hidden {shape.hidden} is not divisible by --heads {shape.heads}")
    docs = documents(a.data, seed=a.seed, max_docs=a.max_docs)
    options = {k: True for k, on in (("compile", a.compile), ("fused_kernels", a.fused_kernels)) if on}
    report = bench(docs, shape, steps=a.steps, warmup=a.warmup, repeats=a.repeats, vocab_size=a.vocab_size,
                   seed=a.seed, options=options)
    print(format_report(report, a.device))
    if a.device == "cuda" and a.shape != "issue":
        n = issue_shape_matmul_parameters()
        print(f"(MFU of the issue's shape at 450k tokens/s: {mfu(450e3, n, ISSUE_SHAPE):.3f}; run --shape issue)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
