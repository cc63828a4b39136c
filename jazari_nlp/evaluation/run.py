"""Evaluate a saved causal LM on held-out files and write ``results.json`` with its provenance."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.hf_logging import quiet_transformers
from jazari_nlp.runs import package_versions, write_json


def _load_texts(files: list[Path], text_field: str, lang_column: str | None, limit: int | None, seed: int = 0):
    """Texts (and their languages, from ``lang_column`` of parquet shards); with ``limit``, a seeded random
    sample rather than the first rows, so that every language of a per-language split is represented."""
    import random

    from jazari_nlp.textio import iter_rows, iter_texts

    groups: list[str] | None = None
    if lang_column and all(f.suffix == ".parquet" for f in files):
        texts, groups = [], []
        for row in iter_rows(files, [text_field, lang_column]):
            if isinstance(row[text_field], str) and row[text_field].strip():
                texts.append(row[text_field])
                groups.append(row[lang_column] or "und")
    else:
        texts = list(iter_texts(files, text_field))
    if limit is not None and len(texts) > limit:
        keep = sorted(random.Random(seed).sample(range(len(texts)), limit))
        texts = [texts[i] for i in keep]
        groups = [groups[i] for i in keep] if groups is not None else None
    return texts, groups


def heldout_tasks(scores: dict) -> dict:
    """The held-out scores as harness task entries (``heldout_perplexity``, and ``heldout_perplexity/<lang>`` per
    language), aggregated by the metrics package (token perplexity, bits per byte), so that reports and
    leaderboards treat held-out perplexity as one more task."""
    from jazari_nlp.evaluation.metrics import aggregate

    out = {}
    for name, s in sorted(scores.items(), key=lambda kv: kv[0] != "all"):
        if not s.tokens:
            continue
        task = "heldout_perplexity" if name == "all" else f"heldout_perplexity/{name}"
        metrics = {}
        for metric, count in (("token_perplexity", s.tokens), ("bits_per_byte", s.bytes)):
            value, stderr = aggregate(metric, [(-s.nll, count)])
            metrics[metric] = {"value": value, "stderr": stderr}
        out[task] = {"metrics": metrics, "n": s.documents, "n_skipped": 0, "num_fewshot": 0,
                     "output_type": "loglikelihood_rolling", "tokens": s.tokens, "bytes": s.bytes,
                     "higher_is_better": {"token_perplexity": False, "bits_per_byte": False}}
    return out


def evaluate_perplexity(
    model_dir: Path,
    files: list[Path],
    out_dir: Path,
    *,
    text_field: str = "text",
    lang_column: str | None = "lang",
    block_size: int = 512,
    batch_size: int = 8,
    max_documents: int | None = None,
    seed: int = 0,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Perplexity and bits-per-byte, overall and per language; written to ``out_dir/results.json``.

    Example: ``evaluate_perplexity(Path("runs/q/model"), [Path("heldout.parquet")], Path("runs/q/eval"))``

    ``progress=False`` (``-q``): no progress bar, transformers' messages below errors off.
    """
    with quiet_transformers(not progress):
        return _evaluate(model_dir, files, out_dir, text_field=text_field, lang_column=lang_column,
                         block_size=block_size, batch_size=batch_size, max_documents=max_documents, seed=seed,
                         progress=progress, provenance=provenance)


def _evaluate(model_dir: Path, files: list[Path], out_dir: Path, *, text_field: str, lang_column: str | None,
              block_size: int, batch_size: int, max_documents: int | None, seed: int, progress: bool,
              provenance: dict[str, Any] | None) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jazari_nlp.evaluation.perplexity import score_documents

    texts, groups = _load_texts(files, text_field, lang_column, max_documents, seed)
    if not texts:
        names = ", ".join(str(f) for f in files)
        raise InputError(f"eval: no text to evaluate in {names} (no non-empty `{text_field}` value): point "
                         "eval.files / eval.text_field at text, or give the corpus a held-out split "
                         "(corpus.heldout_fraction)")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, trust_remote_code=False)
    if tokenizer.eos_token_id is None:
        raise InputError(f"{model_dir}: its tokenizer has no EOS token (each evaluation window starts with it): set "
                         f"`eos_token` in {Path(model_dir) / 'tokenizer_config.json'}")
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True, trust_remote_code=False, use_safetensors=True
    )
    if torch.cuda.is_available():
        model = model.to("cuda")
    block = min(block_size, getattr(model.config, "max_position_embeddings", block_size) or block_size)
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("eval: scoring held-out text", total=None)
            scores = score_documents(
                model, tokenizer, texts, groups=groups, block_size=block, batch_size=batch_size,
                progress=lambda n: bar.advance(task, n), on_total=lambda n: bar.update(task, total=n),
            )
    else:
        scores = score_documents(model, tokenizer, texts, groups=groups, block_size=block, batch_size=batch_size)
    results = {
        "task": "perplexity",
        "metrics": {name: s.as_dict() for name, s in sorted(scores.items(), key=lambda kv: kv[0] != "all")},
        "block_size": block,
        "files": [str(f) for f in files],
        "versions": package_versions(),
        "python": platform.python_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(provenance or {}),
    }
    results["tasks"] = heldout_tasks(scores)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "results.json", results)
    return results
