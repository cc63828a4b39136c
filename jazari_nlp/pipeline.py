"""Run an experiment: the stages present in the config, in order, inside one run directory.

Example::

    results = run_experiment("configs/quickstart.yaml", overrides=["train.max_steps=10"])
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.checks import check_consistency  # noqa: F401 - re-exported: jazari_nlp.pipeline.check_consistency
from jazari_nlp.config import STAGES, ConfigError, ExperimentConfig, dump_yaml, load_config
from jazari_nlp.offline import apply_network_policy
from jazari_nlp.runs import RunDir, environment, write_json
from jazari_nlp.safety import output_lock
from jazari_nlp.stage_store import attach_shared_stages

log = logging.getLogger("jazari_nlp")


@dataclass
class StageResult:
    stage: str
    status: str  # "ran" | "skipped"
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    run_dir: Path
    config_sha256: str
    stages: list[StageResult]


def _files_or_fail(patterns: list[str], what: str, split: str = "train") -> list[Path]:
    """The files of ``patterns``; a corpus output folder or a run directory among them gives its corpus
    ``split`` (train for training, heldout for evaluation), never its other split nor its bookkeeping files."""
    from jazari_nlp.corpus_layout import resolve
    from jazari_nlp.readers import expand_inputs

    rest, missing = resolve(list(patterns), split)
    if missing:
        raise FileNotFoundError(f"{what}: {', '.join(missing)} is a corpus run with no {split} shards: build its "
                                "corpus first, or give its files")
    files, empty, notes = expand_inputs(rest)  # folders are read recursively
    for pat in empty:
        log.warning("%s: %s matched no file", what, pat)
    for note in notes:
        log.warning("%s: %s", what, note)
    if not files:
        raise FileNotFoundError(f"{what}: no file matched {patterns}")
    return files


def _inputs(section: Any, name: str, run: RunDir, split: str) -> tuple[list[Path], str]:
    """A stage's input files and text field: its own ``files`` if set, else the corpus stage's ``split``."""
    if section.files:
        return _files_or_fail(section.files, f"{name}.files", split), section.text_field
    return _corpus_split(run, split), "text"


def _corpus_split(run: RunDir, split: str) -> list[Path]:
    from jazari_nlp.corpus import corpus_files

    files = corpus_files(run.stage_dir("corpus"), split)
    if not files:
        raise FileNotFoundError(f"the corpus stage wrote no {split} shards in {run.stage_dir('corpus')}")
    return files


# ----------------------------------------------------------------------------------------------------------------
# The four stages. Each takes the config, the run directory and the stage's own folder, writes its outputs there
# and returns a flat summary for the table.


def stage_corpus(cfg: ExperimentConfig, run: RunDir, out: Path, progress: bool) -> dict[str, Any]:
    from jazari_nlp.corpus.build import run_corpus_stage

    return run_corpus_stage(cfg.corpus, out, seed=cfg.seed, allow_network=cfg.allow_network, progress=progress)


def stage_tokenizer(cfg: ExperimentConfig, run: RunDir, out: Path, progress: bool) -> dict[str, Any]:
    from jazari_nlp.tokenization.stage import run_tokenizer_stage

    corpus_dir = run.stage_dir("corpus") if cfg.corpus is not None else None
    return run_tokenizer_stage(cfg.tokenizer, out, corpus_dir=corpus_dir, seed=cfg.seed,
                               allow_network=cfg.allow_network, progress=progress)


def stage_train(cfg: ExperimentConfig, run: RunDir, out: Path, progress: bool) -> dict[str, Any]:
    from jazari_nlp.textio import iter_texts
    from jazari_nlp.training.lm import train_causal_lm

    tcfg = cfg.train
    files, field_name = _inputs(tcfg, "train", run, "train")
    tokenizer_dir = run.stage_dir("tokenizer") if cfg.tokenizer is not None else cfg.model.path
    model_cfg = cfg.model
    if cfg.tokenizer is not None and cfg.tokenizer.extend is not None:
        # the tokenizer stage wrote the extended model (new embedding rows) beside its tokenizer
        model_cfg = cfg.model.model_copy(update={"path": tokenizer_dir})
    if tcfg.mode == "classification":
        from jazari_nlp.training.classify import train_classifier

        keys = ("max_steps", "learning_rate", "per_device_batch_size", "gradient_accumulation_steps", "warmup_steps",
                "weight_decay", "lr_scheduler", "max_grad_norm", "logging_steps", "precision", "dataloader_workers",
                "gradient_checkpointing", "optimizer", "compile", "fused_kernels")
        summary = train_classifier(model_cfg, tokenizer_dir, tcfg.classification, files, out, seed=cfg.seed,
                                   allow_network=cfg.allow_network, progress=progress,
                                   **{k: getattr(tcfg, k) for k in keys})
        return {k: v for k, v in summary.items() if not isinstance(v, dict | list)} | {
            f"heldout.{k}": v for k, v in (summary.get("metrics") or {}).items() if isinstance(v, int | float)}
    from jazari_nlp.training.reporting import card_facts

    texts = iter_texts(files, field_name, tcfg.max_train_documents)
    corpus_dir = run.stage_dir("corpus") if cfg.corpus is not None else None
    eval_files, eval_field = [], tcfg.text_field
    if tcfg.eval_files:
        eval_files = _files_or_fail(tcfg.eval_files, "train.eval_files", "heldout")
    elif tcfg.mode == "pretrain" and corpus_dir is not None:
        from jazari_nlp.corpus import corpus_files

        eval_files, eval_field = corpus_files(corpus_dir, "heldout"), "text"
        if not eval_files and tcfg.eval_steps is not None:
            raise FileNotFoundError(f"train.eval_steps: the corpus stage wrote no heldout shards in {corpus_dir}: "
                                    "raise corpus.heldout_fraction or set train.eval_files")
    eval_texts = iter_texts(eval_files, eval_field) if eval_files and tcfg.mode == "pretrain" else None
    sources = _mix_sources(tcfg, files, field_name) if tcfg.mix is not None else None
    return train_causal_lm(
        model_cfg, tcfg, tokenizer_dir, texts, out, seed=cfg.seed, allow_network=cfg.allow_network, progress=progress,
        sources=sources,
        files=files, eval_texts=eval_texts, eval_files=eval_files if tcfg.mode == "sft" else None,
        card=card_facts(cfg, corpus_dir=None if tcfg.files else corpus_dir, config_sha256=run.sha256),
    )


def _mix_sources(tcfg: Any, files: list[Path], field_name: str) -> dict[str, Any]:
    """``train.mix`` sources: one per entry of ``train.files`` (named by its file or folder stem), or one per
    language of the corpus train split (its ``<lang>/`` folders). Each is a stream of its texts."""
    from jazari_nlp.textio import iter_texts

    groups: dict[str, list[Path]] = {}
    if tcfg.files:
        for pattern in tcfg.files:
            found = _files_or_fail([pattern], "train.files")  # a corpus run: its train split only
            name = Path(pattern.rstrip("/*")).stem or Path(pattern).name
            groups.setdefault(name, []).extend(found)
    else:
        for f in files:
            groups.setdefault(f.parent.name, []).append(f)
    return {name: iter_texts(fs, field_name, tcfg.max_train_documents) for name, fs in groups.items() if fs}


def stage_eval(cfg: ExperimentConfig, run: RunDir, out: Path, progress: bool) -> dict[str, Any]:
    from jazari_nlp.runs import write_json

    model_dir = run.stage_dir("train") if cfg.train is not None else cfg.model.path
    ecfg = cfg.eval
    provenance = {"config_sha256": run.sha256, "run_dir": str(run.path), "model": str(model_dir), "seed": cfg.seed}
    results: dict[str, Any] = dict(provenance)
    summary: dict[str, Any] = {}
    if ecfg.perplexity:
        from jazari_nlp.evaluation.run import evaluate_perplexity

        files, field_name = _inputs(ecfg, "eval", run, "heldout")
        lang_column = None if ecfg.files else "lang"  # the corpus shards carry each document's language
        block = ecfg.block_size or (cfg.train.block_size if cfg.train else 512)
        results = evaluate_perplexity(
            model_dir, files, out, text_field=field_name, lang_column=lang_column if ecfg.per_language else None,
            block_size=block, batch_size=ecfg.batch_size, max_documents=ecfg.max_documents, seed=cfg.seed,
            progress=progress, provenance=provenance,
        )
        overall = results["metrics"]["all"]
        summary = {"perplexity": overall["perplexity"], "bits_per_byte": overall["bits_per_byte"],
                   "tokens": overall["tokens"], "documents": overall["documents"]}
    if ecfg.tasks:
        from jazari_nlp.evaluation.harness import evaluate_tasks
        from jazari_nlp.evaluation.tasks import load_task
        from jazari_nlp.hf_logging import quiet_transformers
        from jazari_nlp.models import load_lm

        tasks = [load_task(t) for t in ecfg.tasks]  # groups stay groups: their aggregate is reported
        with quiet_transformers(not progress):  # -q: no "Loading weights" bar
            lm = load_lm(model_dir)
        doc = evaluate_tasks(lm, tasks, out, num_fewshot=ecfg.num_fewshot, limit=ecfg.limit,
                             seed=ecfg.fewshot_seed, batch_size=ecfg.task_batch_size, progress=progress,
                             write=False, provenance=provenance)
        results.update({k: v for k, v in doc.items() if k not in provenance and k != "tasks"})
        results["tasks"] = {**results.get("tasks", {}), **doc["tasks"]}  # held-out perplexity, then the tasks
        for name, r in doc["tasks"].items():
            first = next(iter(r["metrics"].items()), None)
            if first:
                summary[f"{name}.{first[0]}"] = round(first[1]["value"], 4)
    write_json(out / "results.json", results)
    return summary


STAGE_FUNCS: dict[str, Callable[[ExperimentConfig, RunDir, Path, bool], dict[str, Any]]] = {
    "corpus": stage_corpus,
    "tokenizer": stage_tokenizer,
    "train": stage_train,
    "eval": stage_eval,
}
# What a stage may keep from an unfinished attempt, so that a killed run resumes instead of starting over.
RESUMABLE = {"corpus": ("*",), "train": ("checkpoints", "log.jsonl", "tensorboard")}


def run_experiment(
    config: str | Path | ExperimentConfig,
    overrides: list[str] | None = None,
    stages: list[str] | None = None,
    force: list[str] | None = None,
    progress: bool = True,
    on_stage: Callable[[str, str], None] | None = None,
    allow_existing: bool = False,
) -> RunResult:
    """Validate the config, open (or create) its run directory and run the requested stages in order.

    ``stages``: a subset to run (default: every stage the config has). ``force``: stages to redo; a redone
    stage also redoes the later stages of this run, since their inputs changed. ``allow_existing``: use a run
    directory that holds files jazari did not make (they are never deleted nor overwritten).
    """
    source = config if isinstance(config, ExperimentConfig) else Path(config)
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config, overrides)
    config_dir = Path(source).resolve().parent if not isinstance(config, ExperimentConfig) else Path.cwd()
    # before the checks: they read task data with `datasets`, which fixes its offline switches when first imported
    apply_network_policy(cfg.allow_network)
    check_consistency(cfg, source if not isinstance(config, ExperimentConfig) else "<config>")
    present = cfg.stages()
    wanted = stages or present
    for s in [*wanted, *(force or [])]:
        if s not in STAGES:
            raise ConfigError(source, [f"unknown stage {s!r}; stages are {', '.join(STAGES)}"])
        if s not in present:
            raise ConfigError(source, [f"stage {s!r} has no `{'train' if s == 'train' else s}` section in this config"])
    run = RunDir.open(cfg.resolved_run_dir(), dump_yaml(cfg), cfg.sha256(), seed=cfg.seed, config_dir=config_dir,
                      allow_existing=allow_existing)
    handler = _attach_log(run.path / "log.txt")
    lock = output_lock(run.path, what="run", enabled=distributed_rank()[0] == 0)  # other ranks work beside it
    try:
        lock.acquire()  # a second run on this run directory fails here at once, naming the first
        redo: set[str] = set()
        for s in force or []:
            redo.update(present[present.index(s):])
        results = []
        rank, world = distributed_rank()
        started = time.time()
        # corpus and tokenizer outputs live in the stage store, found by their key: a sweep reuses them
        attach_shared_stages(cfg, run, forced=redo, rank=rank)
        if rank == 0:
            # A redone stage invalidates every later one, including those not run now (`jazari train --force`
            # leaves eval to be redone by the next `jazari run`, never marked complete on the old model).
            for stage in redo:
                if stage not in run.shared:
                    run.reset(stage)
                elif stage not in wanted:
                    with _entry_lock(run, stage):
                        run.reset(stage)
        for stage in [s for s in present if s in wanted]:
            if rank != 0 and stage != "train":
                # Under `accelerate launch`/`torchrun` only rank 0 runs the single-process stages; the other
                # ranks wait for its marker (a forced stage: for a marker newer than this run's start).
                marker = _wait_for_marker(run, stage, started if stage in redo else 0.0)
                results.append(StageResult(stage, "skipped", 0.0, marker.get("summary", {})))
                continue
            with _entry_lock(run, stage):  # a shared stage: one builder; another run needing it waits, then reuses
                result = _run_stage(cfg, run, stage, redo, present, source, progress, on_stage, rank)
            results.append(result)
        if rank != 0:
            return RunResult(run.path, run.sha256, results)
        write_json(run.path / "summary.json", {"config_sha256": run.sha256, "stages": [r.__dict__ for r in results]})
        if any(r.status == "ran" for r in results):  # torch is loaded now: record the accelerators actually seen
            write_json(run.path / "env.json", environment(cfg.seed, cwd=config_dir))
        return RunResult(run.path, run.sha256, results)
    finally:
        lock.release()
        _detach_log(handler)


def _run_stage(cfg: ExperimentConfig, run: RunDir, stage: str, redo: set[str], present: list[str], source: Any,
               progress: bool, on_stage: Callable[[str, str], None] | None, rank: int) -> StageResult:
    if stage in redo:
        if stage in run.shared:
            run.reset(stage)  # the others were reset before the loop; a shared one under its entry lock
    elif run.is_done(stage):
        marker = run.marker(stage)
        # "reused": a shared stage another run built (the marker names the config that made it)
        status = "reused" if stage in run.shared and marker.get("config_sha256") != run.sha256 else "skipped"
        log.info("stage %s: already complete (%s), %s", stage, run.stage_dir(stage), status)
        if on_stage:
            on_stage(stage, "skipped")
        return StageResult(stage, status, 0.0, marker.get("summary", {}))
    elif rank == 0:
        run.reset(stage, keep=_keep(stage, run))
    _require_upstream(stage, present, run, source)
    if on_stage:
        on_stage(stage, "start")
    log.info("stage %s: start", stage)
    t0 = time.perf_counter()
    out = run.stage_dir(stage)
    out.mkdir(parents=True, exist_ok=True)
    summary = STAGE_FUNCS[stage](cfg, run, out, progress)
    seconds = time.perf_counter() - t0
    if rank == 0:
        run.mark_done(stage, summary, seconds)
    log.info("stage %s: done in %.1fs %s", stage, seconds, summary)
    if on_stage:
        on_stage(stage, "done")
    return StageResult(stage, "ran", seconds, summary)


def _entry_lock(run: RunDir, stage: str) -> Any:
    """The store entry's lock for a shared stage (waits for another run building it), else nothing."""
    import contextlib

    if stage not in run.shared or distributed_rank()[0] != 0:
        return contextlib.nullcontext()
    return run.store.lock(run.shared[stage], what=f"{stage} stage (shared, for run {run.path})")


def distributed_rank() -> tuple[int, int]:
    """``(rank, world size)`` from the variables torchrun and accelerate set; ``(0, 1)`` for a plain run."""
    try:
        return int(os.environ.get("RANK", "0") or 0), int(os.environ.get("WORLD_SIZE", "1") or 1)
    except ValueError:
        return 0, 1


def _wait_for_marker(run: RunDir, stage: str, newer_than: float, poll: float = 1.0) -> dict[str, Any]:
    marker = run.stage_dir(stage) / "_SUCCESS.json"
    log.info("stage %s: waiting for rank 0", stage)
    while not (marker.is_file() and marker.stat().st_mtime >= newer_than):
        time.sleep(poll)
    return run.marker(stage)


def _keep(stage: str, run: RunDir) -> tuple[str, ...]:
    keep = RESUMABLE.get(stage, ())
    if keep == ("*",):
        d = run.stage_dir(stage)
        return tuple(p.name for p in d.iterdir()) if d.exists() else ()
    return keep


def _require_upstream(stage: str, present: list[str], run: RunDir, source: Any) -> None:
    for before in present[: present.index(stage)]:
        if not run.is_done(before):
            raise ConfigError(
                source, [f"stage {stage!r} needs stage {before!r} to be complete first: run `jazari run` on this config"]
            )


def _attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("jazari_nlp", "transformers", "datasets"):
        lg = logging.getLogger(name)
        lg.addHandler(handler)
    # Only our own logger is raised to INFO; the libraries keep their console verbosity.
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    return handler


def _detach_log(handler: logging.Handler) -> None:
    for name in ("jazari_nlp", "transformers", "datasets"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()
