"""Run directories: the resolved config, its hash, the environment, the log and one folder per stage.

A stage is complete only when its ``_SUCCESS.json`` marker exists; the marker is written (atomically) after the
stage's outputs. Re-running the same config skips complete stages; a run directory made by another config is
refused rather than mixed.

Layout::

    runs/quickstart/
      .jazari-output.json (jazari made this folder: see jazari_nlp.safety)  .jazari-lock (while a run works here)
      config.yaml  config.sha256  env.json  log.txt
      corpus/      train/ heldout/ rejects/ manifest.json  _SUCCESS.json
      tokenizer/   tokenizer.json tokenizer_config.json ... _SUCCESS.json
      model/       model.safetensors config.json ...        _SUCCESS.json
      eval/        results.json                             _SUCCESS.json
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from jazari_nlp.safety import UnsafeOutput, prepare_output_dir, remove_outputs, write_atomic
from jazari_nlp.stage_store import is_stage_link

STAGE_DIRS = {"corpus": "corpus", "tokenizer": "tokenizer", "train": "model", "eval": "eval"}
# Everything jazari writes at the top of a run directory (anything else there is never touched).
RUN_OUTPUTS = ("config.yaml", "config.sha256", "env.json", "log.txt", "summary.json", *STAGE_DIRS.values())
MARKER = "_SUCCESS.json"
TRACKED_PACKAGES = (
    "jazari-nlp", "torch", "transformers", "tokenizers", "datasets", "accelerate", "sentencepiece", "evaluate",
    "peft", "datatrove", "pyarrow", "numpy", "pydantic", "fasttext-numpy2", "sacrebleu",
)


class RunDirConflict(UnsafeOutput):
    """The run directory belongs to a different config (or holds files jazari did not write)."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in 1 MB blocks (shard checksums, data and model hashes in results)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


class RunDir:
    """A run directory bound to one config hash.

    Example::

        run = RunDir.open(Path("runs/quickstart"), config_yaml, sha)
        if not run.is_done("tokenizer"): ...
    """

    def __init__(self, path: Path, sha256: str):
        self.path = path
        self.sha256 = sha256
        # stages whose outputs live in the stage store (jazari_nlp.stage_store): stage -> entry folder
        self.shared: dict[str, Path] = {}
        self.store: Any = None

    @classmethod
    def open(cls, path: Path, config_yaml: str, sha256: str, seed: int = 0, config_dir: Path | None = None,
             allow_existing: bool = False) -> RunDir:
        """Create (and mark) or reopen the run directory of this config; refuse a folder jazari did not make
        (``allow_existing``: use it, touching nothing that was there) and one made by another config."""
        # the links jazari made to shared stage outputs are its own; any other link is refused
        names = [n for n in RUN_OUTPUTS if not is_stage_link(path / n)]
        prepare_output_dir(path, "run", names, allow_existing=allow_existing, details={"config_sha256": sha256})
        hash_file = path / "config.sha256"
        if hash_file.exists():
            old = hash_file.read_text().strip()
            if old != sha256:
                raise RunDirConflict(
                    f"run directory {path} was made by a different config (sha256 {old[:12]}… there, "
                    f"{sha256[:12]}… now). Results of different configs are never mixed: give this experiment "
                    f"another `name` (e.g. --set name=NEW), another `output_dir`, or delete {path}."
                )
        elif any(p.name in STAGE_DIRS.values() for p in path.iterdir()):
            raise RunDirConflict(
                f"{path} already holds stage folders but no config.sha256: it is not a jazari run directory "
                f"of this config. Choose another `name`/`output_dir` or delete it."
            )
        elif (path / "config.yaml").is_file() and (path / "config.yaml").read_text(errors="replace") != config_yaml:
            raise RunDirConflict(
                f"{path} holds a config.yaml that jazari did not write (there is no config.sha256 beside it); "
                f"it is not overwritten. Move it away, or choose another `name`/`output_dir`/`run_dir`."
            )
        write_atomic(path / "config.yaml", config_yaml)
        write_atomic(hash_file, sha256 + "\n")
        run = cls(path, sha256)
        if not (path / "env.json").exists():  # rewritten by the pipeline only when a stage actually runs
            write_json(path / "env.json", environment(seed, cwd=config_dir))
        return run

    def link_path(self, stage: str) -> Path:
        """Where the stage's folder (or its link into the stage store) sits in the run directory."""
        return self.path / STAGE_DIRS[stage]

    @staticmethod
    def complete_at(folder: Path) -> bool:
        return (Path(folder) / MARKER).is_file()

    def stage_dir(self, stage: str) -> Path:
        return self.shared.get(stage) or self.path / STAGE_DIRS[stage]

    def is_done(self, stage: str) -> bool:
        return (self.stage_dir(stage) / MARKER).is_file()

    def marker(self, stage: str) -> dict[str, Any]:
        try:
            return json.loads((self.stage_dir(stage) / MARKER).read_text())
        except (OSError, ValueError):
            return {}

    def mark_done(self, stage: str, summary: dict[str, Any], seconds: float) -> None:
        write_json(
            self.stage_dir(stage) / MARKER,
            {
                "stage": stage,
                "config_sha256": self.sha256,
                "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(seconds, 2),
                "versions": package_versions(),  # of the code that produced this stage's outputs
                "summary": summary,
            },
        )

    def reset(self, stage: str, keep: tuple[str, ...] = ()) -> None:
        """Forget a stage: drop its marker and outputs (``keep`` names sub-paths kept for resuming).

        Only inside this marked run directory and never through a symbolic link (a linked stage folder is
        refused: see :func:`jazari_nlp.safety.remove_outputs`)."""
        if stage in self.shared:  # inside the store entry, under its lock (see the pipeline)
            self.store.reset(self.shared[stage], keep)
            return
        d = self.stage_dir(stage)
        if not d.is_dir() and not d.is_symlink():
            return
        # a linked stage folder is refused there (every name is checked before anything is deleted)
        remove_outputs(self.path, [d.name] if d.is_symlink() else
                       [f"{d.name}/{c.name}" for c in sorted(d.iterdir()) if c.name not in keep])


def package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _git_commit(cwd: Path) -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def _accelerators() -> dict[str, Any]:
    """GPU facts, read from torch only if something already imported it (keeps skips fast)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {"checked": False}
    try:
        if torch.cuda.is_available():
            return {
                "checked": True,
                "cuda": torch.version.cuda,
                "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
            }
    except Exception:  # a broken driver must not stop a run
        pass
    return {"checked": True, "cuda": None, "devices": []}


def environment(seed: int, cwd: Path | None = None) -> dict[str, Any]:
    """What is needed to reproduce a result: versions, platform, hardware, seed, source commit."""
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "accelerators": _accelerators(),
        "seed": seed,
        # The experiment's repository (where the config lives) and jazari_nlp's own, when either is a git checkout.
        "git_commit": _git_commit(cwd) if cwd else None,
        "jazari_git_commit": _git_commit(Path(__file__).resolve().parent),
        "argv": sys.argv,
        "unix_time": time.time(),
    }
