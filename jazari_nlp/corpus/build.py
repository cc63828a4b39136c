"""Turn a ``CorpusConfig`` into a chain of datatrove executors, run it, and write ``manifest.json``.

The ordered step list is cut at the two global steps (exact and near dedup), which need every document's
signature before any can be dropped:

    pass 0: read → read-check → steps … → [save docs → signature]      (tasks in parallel)
    dedup:  find duplicates (exact: 1 task; near: one task per bucket, then 1 clustering task)
    pass 1: read saved docs → drop duplicates → steps … → write parquet shards

Each executor has its own datatrove logging folder under ``_work/logs``; its completion markers are the resume
mechanism (a killed build, run again, skips finished tasks). A changed config or ``force=True`` wipes ``_work``
and the outputs first, so a stale folder never silently does nothing. Once ``manifest.json`` is written the
intermediate data (``_work/pass*``, dedup signatures and clusters: two uncompressed copies of the corpus) is
deleted; ``_work/logs`` and ``_work/fingerprint`` stay, so running the same build again does nothing.

Example::

    summary = build_corpus(cfg, Path("out/corpus"), seed=0)
    summary["documents_kept"]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from jazari_nlp.corpus.builtin_steps.dedup import NearDedup, near_dedup_estimate, signature_docs
from jazari_nlp.corpus.config import STEP_SPECS, CorpusConfig
from jazari_nlp.corpus.quiet import quiet_datatrove as _quiet_datatrove  # noqa: F401 - older imports
from jazari_nlp.errors import JazariError

OUTPUTS = ("train", "heldout", "rejects", "_work", "manifest.json")
KEEP_IN_WORK = ("logs", "fingerprint")  # what a finished build needs to be recognized as finished


class CorpusBuildError(JazariError, RuntimeError):
    """A problem found before any work starts (no input, missing optional dependency...)."""


# --------------------------------------------------------------------------------------------- planning


def _fingerprint(cfg: CorpusConfig, seed: int, units: list[tuple[int, str]]) -> str:
    """What the outputs depend on: the config (less the loss alarms, judged after every build), seed, files."""
    files = []
    for _, p in units:
        st = os.stat(p) if p != "hub:" and os.path.exists(p) else None
        files.append([p, st.st_size if st else None, st.st_mtime_ns if st else None])
    payload = json.dumps({"cfg": cfg.model_dump(mode="json", exclude={"alarms"}), "seed": seed, "files": files},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _blocks(cfg: CorpusConfig) -> list[dict[str, Any]]:
    """Cut the step list into passes: each pass may start with a global step's filter (dedup) and end with its
    signature. Entries are ``(name, kind, step config, step object)``."""
    blocks, cur = [], {"filter": None, "steps": [], "sig": None}
    for i, (kind, step_cfg) in enumerate(cfg.step_list()):
        name = f"{i + 1:02d}_{kind}"
        spec = STEP_SPECS[kind]
        entry = (name, kind, step_cfg, spec.step(name, step_cfg))
        if spec.is_global:
            cur["sig"] = entry
            blocks.append(cur)
            cur = {"filter": entry, "steps": [], "sig": None}
        else:
            cur["steps"].append(entry)
    blocks.append(cur)
    return blocks


def _needs_match(blocks: list[dict[str, Any]]) -> bool:
    """Whether a later pass uses the ``match`` text (decontaminate, near dedup, exact dedup on ``match``). A
    block's filter is not counted: a dedup filter drops by document index and reads no text."""
    return any(entry and STEP_SPECS[entry[1]].step.uses_match(entry[2])
               for block in blocks for entry in (*block["steps"], block["sig"]))


def _rejects(folder: str, name: str, write: bool, default_reason: str | None = None):
    from jazari_nlp.corpus.writers import RejectWriter

    return RejectWriter(folder, name, default_reason, write=write)


def _owned(step):
    """Point the step's reject writer at the step, so that its per-source counts land in the step's stats."""
    if getattr(step, "exclusion_writer", None) is not None:
        step.exclusion_writer.owner_stats = step.stats
    return step


class _Plan:
    """The executors of one build, in order, each with its logging folder."""

    def __init__(self, cfg: CorpusConfig, out: Path, seed: int, units, prefixes):
        from jazari_nlp.corpus import passes as P
        from jazari_nlp.corpus.writers import CorpusWriter

        self.cfg, self.out, self.units = cfg, out, units
        self.quiet = True  # datatrove logs warnings only on the console (its task logs keep everything)
        work = out / "_work"
        rejects, write = str(out / "rejects"), cfg.output.write_rejects  # counted per source even when not written
        self.stages: list[tuple[str, list, int, Path]] = []  # (label, pipeline, tasks, logging_dir)
        self.near: tuple | None = None
        tasks = cfg.executor.tasks
        blocks = _blocks(cfg)
        for p, block in enumerate(blocks):
            pipe: list = []
            if p == 0:
                self.reader = P.SourceReader(cfg.sources, units, prefixes)
                pipe += [self.reader, _owned(P.ReadCheck("00_read", exclusion_writer=_rejects(rejects, "00_read", write)))]
            else:
                pipe.append(P.InterReader(str(work / f"pass{p - 1}")))
            if block["filter"]:
                name, _, _, step = block["filter"]
                pipe.append(_owned(step.pass_filter(work, _rejects(rejects, name, write, step.default_reason))))
            pipe += [_owned(P.StepFilter(step, exclusion_writer=_rejects(rejects, name, write)))
                     for name, _, _, step in block["steps"]]
            if block["sig"] is None:
                pipe.append(CorpusWriter(str(out), seed=seed, heldout_fraction=cfg.heldout_fraction,
                                         max_file_size=cfg.output.shard_max_mb * 2**20,
                                         compression=None if cfg.output.compression == "none"
                                         else cfg.output.compression, extra_columns=cfg.kept_fields()))
                self.stages.append((f"pass {p}", pipe, tasks, work / "logs" / f"pass{p}"))
                continue
            name, kind, step_cfg, step = block["sig"]
            if step.uses_match(step_cfg):
                pipe.append(P.MatchKey())
            pipe.append(P.inter_writer(str(work / f"pass{p}"), keep_match=_needs_match(blocks[p + 1:])))
            pipe += step.signature(work)
            self.stages.append((f"pass {p}", pipe, tasks, work / "logs" / f"pass{p}"))
            if isinstance(step, NearDedup):
                self.near = (name, step_cfg, len(self.stages) - 1)
            for label, stage_pipe, stage_tasks, logname in step.stages(work):
                self.stages.append((f"{name}: {label}", stage_pipe, stage_tasks, work / "logs" / logname))

    def cut_pieces(self) -> None:
        """Cut the big line-based files into byte ranges for the tasks of pass 0, counting their line numbers in
        one pass over each such file (done once here rather than in every task: see ``sources.work_pieces``)."""
        from jazari_nlp.corpus.sources import work_pieces

        tasks = self.cfg.executor.tasks
        self.reader.pieces, self.reader.pieces_world_size = work_pieces(self.cfg.sources, self.units, tasks), tasks

    def executor(self, i: int, depends=None):
        label, pipe, tasks, logdir = self.stages[i]
        ex = self.cfg.executor
        if ex.type == "local":
            from jazari_nlp.corpus.passes import LocalExecutor

            return LocalExecutor(pipe, tasks=tasks, workers=min(ex.workers, tasks), logging_dir=str(logdir),
                                 start_method=ex.start_method, skip_completed=True, quiet=self.quiet)
        if ex.type == "slurm":
            from datatrove.executor import SlurmPipelineExecutor

            s = ex.slurm
            return SlurmPipelineExecutor(pipe, tasks=tasks, time=s.time, partition=s.partition,
                                         cpus_per_task=s.cpus_per_task, mem_per_cpu_gb=s.mem_per_cpu_gb,
                                         workers=ex.workers if tasks > 1 else 1, job_name=f"{s.job_name}_{i}",
                                         qos=s.qos or "normal", venv_path=s.venv_path, sbatch_args=s.sbatch_args,
                                         depends=depends, logging_dir=str(logdir))
        from datatrove.executor.ray import RayPipelineExecutor

        return RayPipelineExecutor(pipe, tasks=tasks, workers=ex.workers, depends=depends, logging_dir=str(logdir),
                                   cpus_per_task=ex.ray.cpus_per_task, mem_per_cpu_gb=ex.ray.mem_per_cpu_gb)


# --------------------------------------------------------------------------------------------- running


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _say(progress: bool, msg: str) -> None:
    if progress:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(msg)


def _preflight(cfg: CorpusConfig, allow_network: bool):
    from jazari_nlp.corpus.sources import plan_units, unit_prefixes

    if cfg.executor.type == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise CorpusBuildError("executor.type=ray needs Ray: pip install 'ray[default]'") from None
    if cfg.executor.type == "slurm" and not shutil.which("sbatch"):
        raise CorpusBuildError("executor.type=slurm needs `sbatch` on PATH (run on a Slurm login node)")
    units, warnings = plan_units(cfg.sources, allow_network)
    if not units:
        raise CorpusBuildError("no input: " + ("; ".join(warnings) or "the sources list no files"))
    from jazari_nlp.corpus.sources import check_formats

    problems = check_formats(cfg.sources, units)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CorpusBuildError("; ".join(problems[:5]) + more)
    for kind, step_cfg in cfg.step_list():
        try:  # e.g. decontaminate reads its benchmarks once here: an unreadable or empty one stops the build first
            STEP_SPECS[kind].step.preflight(step_cfg)
        except JazariError as e:
            raise CorpusBuildError(str(e)) from None
    return units, unit_prefixes(cfg.sources, units), warnings


def build_corpus(cfg: CorpusConfig, output_dir: Path, *, seed: int = 0, allow_network: bool = False,
                 progress: bool = True, force: bool = False, verbose: bool = False,
                 allow_existing: bool = False) -> dict[str, Any]:
    """Build the corpus into ``output_dir`` (resuming a partial build of the same config) and return the summary.

    ``output_dir`` must be new, empty or made by jazari; ``allow_existing`` uses a folder holding other files
    (never deleted nor overwritten). One build at a time per folder (a lock; a killed build's lock is taken over).

    Example: ``build_corpus(CorpusConfig(sources=[...]), Path("out"), seed=0)["documents_kept"]``.
    """
    from jazari_nlp.safety import check_inputs_outside, output_lock, prepare_output_dir

    out = Path(output_dir).resolve()
    units, prefixes, warnings = _preflight(cfg, allow_network)  # config/input problems surface before any work
    # Before any work too: a folder jazari did not make, a symlinked train/, an input inside what --force deletes.
    prepare_output_dir(out, "corpus", OUTPUTS, allow_existing=allow_existing)
    check_inputs_outside(out, OUTPUTS, [p for _, p in units if p != "hub:"])
    with output_lock(out, what="corpus build"):
        return _build_locked(cfg, out, units, prefixes, warnings, seed=seed, progress=progress, force=force,
                             verbose=verbose)


def _build_locked(cfg: CorpusConfig, out: Path, units, prefixes, warnings, *, seed: int, progress: bool,
                  force: bool, verbose: bool) -> dict[str, Any]:
    """The build itself, in a prepared, marked and locked ``out``."""
    from jazari_nlp.safety import remove_outputs

    for w in warnings:
        _say(progress, f"[yellow]warning:[/] {_escape(w)}")
    fp = _fingerprint(cfg, seed, units)
    fp_file = out / "_work" / "fingerprint"
    previous = fp_file.read_text() if fp_file.exists() else None
    if force or (previous is not None and previous != fp) or (previous is None and (out / "_work").exists()):
        if previous not in (None, fp) and not force:
            _say(progress, "[yellow]config or inputs changed since the last build: starting fresh[/]")
        remove_outputs(out, OUTPUTS)  # only jazari's own outputs, never through a link
    fp_file.parent.mkdir(parents=True, exist_ok=True)
    fp_file.write_text(fp)
    if not verbose:
        _quiet_datatrove()

    ex = cfg.executor
    if ex.type == "local" and ex.start_method == "forkserver" and min(ex.workers, ex.tasks) > 1:
        from jazari_nlp.corpus.passes import start_fork_server

        start_fork_server()  # warms up while the build plans (see start_fork_server)
    plan = _Plan(cfg, out, seed, units, prefixes)
    plan.quiet = not verbose
    done = _finished_manifest(out) if previous == fp and not force and _all_complete(plan) else None
    if done is not None:
        clean_work(out)  # in case an earlier run stopped between the manifest and the clean-up
        _say(progress, f"[green]✓[/] corpus already built (same config and inputs) → {out}")
        _check_alarms(done, cfg, out, progress)  # the alarm settings may have changed: judged again
        return summary_of(done)
    plan.cut_pieces()
    if plan.near:
        in_bytes = sum(os.path.getsize(p) for _, p in units if p != "hub:" and os.path.isfile(p))
        n_docs, how = estimate_documents(cfg.sources, units)
        est = near_dedup_estimate(plan.near[1], max(1, n_docs))
        _say(progress, f"near_dedup: before it starts, for ~{est['docs']:,} documents ({how}, input "
                       f"{in_bytes / 2**20:.1f} MB): signatures ~{est['signature_disk_mb']} MB on disk, buckets stage "
                       f"~{est['bucket_memory_mb']} MB RAM, clustering ≤ {est['cluster_memory_mb_upper']} MB RAM")
    t0 = time.time()
    executors = []
    for i, (label, _, tasks, _) in enumerate(plan.stages):
        ex = plan.executor(i, depends=executors[-1] if executors and cfg.executor.type != "local" else None)
        executors.append(ex)
        if cfg.executor.type != "local":
            continue
        if plan.near and i == plan.near[2] + 1:
            n_sig = signature_docs(out / "_work" / "minhash_sig", plan.near[1])
            est = near_dedup_estimate(plan.near[1], n_sig)
            _say(progress, f"near_dedup: {n_sig:,} signatures, {est['signature_disk_mb']} MB on disk; "
                           f"clustering needs ≤ {est['cluster_memory_mb_upper']} MB RAM")
        t = time.time()
        _run_stage(ex, label)
        _say(progress, f"[green]✓[/] corpus {label} ({tasks} task{'s' * (tasks > 1)}) {time.time() - t:.1f}s")
    if cfg.executor.type == "ray":
        with ray_session(cfg.executor.ray):
            _run_stage(executors[-1], "pipeline (ray)")  # launches the whole dependency chain
    elif cfg.executor.type != "local":
        executors[-1].run()  # launches the whole dependency chain
        if not _all_complete(plan):
            return {"submitted": True, "stages": len(plan.stages), "output_dir": str(out),
                    "note": "run the same command again when the jobs have finished to write the manifest"}
    from jazari_nlp.corpus.manifest import write_manifest

    manifest = write_manifest(plan, out, seed=seed, warnings=warnings, seconds=time.time() - t0)
    clean_work(out)
    _say(progress, f"[bold]corpus[/]: read {manifest['documents_read']:,}, kept {manifest['documents_kept']:,}, "
                   f"rejected {sum(manifest['rejected'].values()):,} → {out}")
    if progress:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(source_table(manifest))
    _check_alarms(manifest, cfg, out, progress)
    return summary_of(manifest)


@contextlib.contextmanager
def ray_session(opts: Any):
    """Connect to Ray (or start it on this machine) for a build, with usage statistics off; a Ray this function
    started is stopped afterwards, one that was running is left running."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry, ever, unless the user sets it
    import ray

    started = False
    if not ray.is_initialized():
        kw = {"address": opts.address} if opts.address else {"num_cpus": opts.num_cpus}
        ray.init(include_dashboard=False, log_to_driver=False, **kw)
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _run_stage(ex, label: str) -> None:
    """Run one executor; a model that cannot predict (raised in a task) is a CorpusBuildError naming the stage.
    datatrove marks a task complete only after it ran through, so running the build again redoes it."""
    from jazari_nlp.corpus.builtin_steps.langid import LangIdStepError

    try:
        ex.run()
    except LangIdStepError as e:
        raise CorpusBuildError(f"corpus {label}: {e}") from None
    except Exception as e:
        # worker processes: datatrove re-raises a generic failure; the task log has the cause
        if "LangIdStepError" in repr(e) or "language identification failed" in str(e):
            raise CorpusBuildError(f"corpus {label}: {e}") from None
        raise


class CorpusLossError(CorpusBuildError):
    """A source or file lost more than the alarms allow; the manifest (with ``alarms``) is written."""


def _check_alarms(manifest: dict, cfg: CorpusConfig, out: Path, progress: bool) -> None:
    from jazari_nlp.corpus.manifest import loss_alarms

    alarms = loss_alarms(manifest, cfg.alarms)
    for a in alarms:
        if a["level"] == "warning":
            _say(progress, f"[yellow]warning:[/] {_escape(a['message'])}")
    errors = [a["message"] for a in alarms if a["level"] == "error"]
    if errors:
        raise CorpusLossError("the corpus lost too much of its input (nothing is marked complete; the manifest "
                              f"with every count is {out / 'manifest.json'}):\n  - " + "\n  - ".join(errors))


def source_table(manifest: dict):
    """A rich table: per source, read / kept / duplicates / lost and the top reasons."""
    from rich.table import Table

    table = Table(title="corpus: per source", title_justify="left")
    for col in ("source", "read", "kept", "duplicates", "lost", "top reasons"):
        table.add_column(col, justify="left" if col in ("source", "top reasons") else "right")
    for name, s in manifest.get("by_source", {}).items():
        base = s["read"] - s["duplicates"]
        lost = f"{s['lost']:,} ({s['lost'] / base:.0%})" if base > 0 else f"{s['lost']:,}"
        top = ", ".join(f"{k} {v:,}" for k, v in list(s["rejected"].items())[:3])
        table.add_row(name, f"{s['read']:,}", f"{s['kept']:,}", f"{s['duplicates']:,}", lost, top)
    return table


def estimate_documents(sources, units) -> tuple[int, str]:
    """About how many documents the input holds, and how that was found: lines of line-based files (counted,
    up to 256 MB read, then extrapolated), rows of parquet files (their metadata), else ~2 KB per document."""
    from jazari_nlp.readers import detect_format, is_compressed

    docs, budget, guessed = 0, 256 * 2**20, 0
    for si, path in units:
        if path == "hub:" or not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        src = sources[si]
        try:
            fmt = detect_format(Path(path)) if src.format == "auto" else src.format
        except ValueError:
            fmt = "txt"
        compressed = is_compressed(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            try:
                docs += pq.ParquetFile(path).metadata.num_rows
                continue
            except Exception:  # noqa: BLE001 - a corrupt file is reported by the build itself
                pass
        if fmt in ("jsonl", "csv", "tsv") or (fmt == "txt" and src.document_per == "line"):
            if not compressed and budget > 0:
                with open(path, "rb") as f:
                    chunk = f.read(min(size, budget))
                budget -= len(chunk)
                lines = chunk.count(b"\n") or chunk.count(b"\r") or 1
                docs += lines if len(chunk) == size else int(lines * size / max(len(chunk), 1))
                continue
        guessed += size
    docs += guessed // 2000
    how = "counted from the input's lines and rows" + (", ~2 KB per document for the rest" if guessed else "")
    return docs, how


def _finished_manifest(out: Path) -> dict | None:
    """The manifest of a finished build whose accounting held (else None: write it again, or raise again)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("accounting_ok") else None


def clean_work(out: Path) -> list[str]:
    """Delete the intermediate data of a finished build (``_work/pass0``, ``exact_sig``, ``minhash_*``...),
    keeping ``_work/logs`` (completion markers, stats) and the fingerprint. Returns the names removed."""
    from jazari_nlp.safety import remove_outputs

    work = Path(out) / "_work"
    names = [p.name for p in sorted(work.iterdir()) if p.name not in KEEP_IN_WORK] if work.is_dir() else []
    # in the marked output folder only, refusing a symlinked _work (its links inside are removed, never followed)
    return [Path(rel).name for rel in remove_outputs(Path(out), [f"_work/{n}" for n in names])]


def _all_complete(plan: _Plan) -> bool:
    return all(len(list((logdir / "completions").glob("*"))) >= tasks for _, _, tasks, logdir in plan.stages)


def summary_of(manifest: dict) -> dict[str, Any]:
    """The flat dict for an experiment's summary table."""
    return {"documents_read": manifest["documents_read"], "documents_kept": manifest["documents_kept"],
            "rejected_total": sum(manifest["rejected"].values()), "train_docs": manifest["splits"]["train"]["documents"],
            "heldout_docs": manifest["splits"]["heldout"]["documents"], "bytes_kept": manifest["bytes_kept"],
            "words_kept": manifest["words_kept"], "languages": len(manifest["languages"])}


def run_corpus_stage(cfg: CorpusConfig, stage_dir: Path, *, seed: int, allow_network: bool = False,
                     progress: bool = True) -> dict[str, Any]:
    """The experiment's corpus stage (called by ``jazari_nlp.pipeline``): resumes a partial ``stage_dir``. Jobs
    submitted to Slurm stop the run here, the stage not complete: the later stages need the finished corpus."""
    summary = build_corpus(cfg, Path(stage_dir), seed=seed, allow_network=allow_network, progress=progress)
    if summary.get("submitted"):
        raise CorpusBuildError(f"corpus: the build's {summary['stages']} Slurm job(s) are submitted (not an error; "
                               f"`squeue -u $USER` shows them); run the same command again when they have finished: "
                               f"it writes the manifest of {summary['output_dir']} and goes on with the next stages")
    return summary
