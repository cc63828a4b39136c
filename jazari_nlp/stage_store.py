"""Shared stages: corpus and tokenizer outputs addressed by the hash of what made them, reused across runs.

A sweep changes training settings (``--set train.learning_rate=... --set name=lr3e-4``): the new run directory
must not rebuild the corpus and the tokenizer. Their outputs therefore live once in a *stage store*, each in a
folder named by the stage and the sha256 of its **key**: its own config section, the seed, the upstream stage's
key and the size and modification time of every input file it reads. The run directory holds a relative
symbolic link to that folder, so ``runs/lr3e-4/corpus/train/...`` reads as before::

    runs/_stages/                         .jazari-output.json (kind "store")
      corpus-3fa2c1d9e0ab4f12/            train/ heldout/ manifest.json _SUCCESS.json
      corpus-3fa2c1d9e0ab4f12.json        its key: what it was built from
      tokenizer-9c0d51e2aa0b3c77/         tokenizer.json ...            _SUCCESS.json
      tokenizer-9c0d51e2aa0b3c77.json
    runs/quickstart/corpus  -> ../_stages/corpus-3fa2c1d9e0ab4f12
    runs/lr3e-4/corpus      -> ../_stages/corpus-3fa2c1d9e0ab4f12     (reused: not rebuilt)

Training and evaluation stay inside each run directory (they are what a sweep varies). ``share_stages: false``
keeps every stage inside the run directory, as before; a run directory made before the store existed keeps its
own stage folders. A link is only ever made, read or removed by jazari inside its own marked folders; nothing is
followed out of them except into the store. Entries are never deleted by jazari (``rm -rf runs/_stages/X``
frees one; runs linking to it then rebuild it).

Example::

    keys = stage_keys(cfg)                  # {"corpus": {...}, "tokenizer": {...}}
    store = StageStore.open(Path("runs/_stages"))
    path = store.entry("corpus", key_hash(keys["corpus"]))
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from jazari_nlp.safety import (
    LOCK_NAME,
    MARKER_NAME,
    OutputLocked,
    UnsafeOutput,
    output_lock,
    prepare_output_dir,
    read_marker,
    remove_outputs,
    write_atomic,
)

log = logging.getLogger("jazari_nlp")

SHARED = ("corpus", "tokenizer")
STORE_NAME = "_stages"
KEY_FORMAT = 1  # bumped when the meaning of a key changes, so that old entries are not reused by mistake
MAX_FILES = 200_000  # input files fingerprinted per stage (beyond: their count and the folder's own stat)


def stage_keys(cfg: Any) -> dict[str, dict[str, Any]]:
    """The key of each shared stage the config has: what its outputs depend on, and nothing else (not the run's
    name, output folder nor the later stages). Example: ``stage_keys(cfg)["corpus"]["section"]``."""
    common = {"format": KEY_FORMAT, "seed": cfg.seed,
              "languages": [spec.model_dump(mode="json") for spec in cfg.languages]}
    keys: dict[str, dict[str, Any]] = {}
    if cfg.corpus is not None:
        section = cfg.corpus.model_dump(mode="json")
        keys["corpus"] = {"stage": "corpus", **common, "allow_network": cfg.allow_network, "section": section,
                          "inputs": fingerprint(section)}
    if cfg.tokenizer is not None:
        section = cfg.tokenizer.model_dump(mode="json")
        keys["tokenizer"] = {"stage": "tokenizer", **common, "section": section, "inputs": fingerprint(section),
                             # the tokenizer samples the corpus train split and reports on its heldout split
                             "corpus": key_hash(keys["corpus"]) if "corpus" in keys else None}
    return keys


def key_hash(key: dict[str, Any]) -> str:
    payload = json.dumps(key, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def fingerprint(section: Any) -> list[list[Any]]:
    """``[path, size, mtime_ns]`` for every existing file that an absolute path (or glob) in ``section`` names,
    folders walked (symbolic links not followed). Config loading makes every path absolute, so other strings
    (labels, codes) never match. ``LANG=path`` values (``tokenizer.evaluate_files``) count by their path."""
    paths: set[str] = set()
    for text in _strings(section):
        candidate = text.split("=", 1)[1] if "=" in text and not text.startswith("/") else text
        if not candidate.startswith("/"):
            continue
        if any(ch in candidate for ch in "*?["):
            paths.update(glob.glob(candidate, recursive=True))
        elif os.path.lexists(candidate):
            paths.add(candidate)
    out: list[list[Any]] = []
    for p in sorted(paths):
        _stat_tree(Path(p), out)
        if len(out) >= MAX_FILES:
            out.append(["...", len(out), None])
            break
    return out


def _strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _stat_tree(path: Path, out: list[list[Any]]) -> None:
    try:
        st = path.lstat()
    except OSError:
        return
    if path.is_dir() and not path.is_symlink():
        try:
            children = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for child in children:
            if len(out) >= MAX_FILES:
                return
            _stat_tree(Path(child.path), out)
    else:
        out.append([str(path), st.st_size, st.st_mtime_ns])


def default_store(run_dir: Path) -> Path:
    """The store beside the run directory: ``runs/_stages`` for ``runs/NAME``."""
    return Path(run_dir).parent / STORE_NAME


class StageStore:
    """A marked folder of shared stage outputs, one sub-folder per (stage, key hash)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def open(cls, root: Path) -> StageStore:
        prepare_output_dir(Path(root), "store", ())  # refuses a folder jazari did not make
        return cls(Path(root))

    def entry(self, stage: str, sha: str) -> Path:
        return self.root / f"{stage}-{sha[:16]}"

    def prepare(self, stage: str, key: dict[str, Any]) -> Path:
        """Create the entry of ``key`` (if new) and its key file beside it (``corpus-<hash>.json``: the entry
        itself holds only the stage's outputs); an entry whose recorded key differs (a 16-hex-digit prefix
        collision, or a file written by hand) is refused."""
        sha = key_hash(key)
        path = self.entry(stage, sha)
        path.mkdir(exist_ok=True)
        key_file = key_path(path)
        if key_file.is_file():
            try:
                recorded = json.loads(key_file.read_text(encoding="utf-8")).get("sha256")
            except (OSError, ValueError, AttributeError):
                recorded = None
            if recorded != sha:
                raise UnsafeOutput(f"the shared {stage} stage folder {path} records another key ({recorded}), "
                                   f"not {sha}: move it away (jazari then rebuilds it)")
        else:
            text = json.dumps({"stage": stage, "sha256": sha, "key": key}, indent=2, ensure_ascii=False, default=str)
            write_atomic(key_file, text + "\n")
        return path

    def reset(self, path: Path, keep: tuple[str, ...] = ()) -> None:
        """Delete an entry's outputs (not its key file, nor ``keep``): a forced or unfinished shared stage."""
        if not path.is_dir():
            return
        names = [f"{path.name}/{c.name}" for c in sorted(path.iterdir())
                 if c.name not in (*keep, MARKER_NAME) and not c.name.startswith(LOCK_NAME)]
        remove_outputs(self.root, names)

    def lock(self, path: Path, what: str, poll: float = 5.0, timeout: float = 24 * 3600):
        """The entry's lock: while another run builds the same shared stage, wait for it (then reuse its
        outputs) rather than fail; a lock left by a killed run is taken over. The lock file lies in the store
        (``.jazari-lock.corpus-<hash>``), not in the entry, whose own builder (the corpus build) locks it too."""
        lock = output_lock(self.root, what=what)
        lock.file = self.root / f"{LOCK_NAME}.{path.name}"
        waited, announced = 0.0, False
        while True:
            try:
                return lock.acquire()
            except OutputLocked as e:
                if waited >= timeout:
                    raise
                if not announced:
                    log.warning("%s: waiting: %s", what, e)
                    announced = True
                time.sleep(poll)
                waited += poll


def is_stage_link(link: Path) -> bool:
    """True for a symbolic link jazari made from a run directory to an entry of a marked stage store."""
    if not link.is_symlink():
        return False
    target = Path(os.path.realpath(link))
    marker = read_marker(target.parent)
    return marker is not None and marker.get("kind") == "store" and key_path(target).is_file()


def key_path(entry: Path) -> Path:
    """The key file of a store entry: ``_stages/corpus-<hash>.json`` beside ``_stages/corpus-<hash>/``."""
    return entry.with_name(entry.name + ".json")


def link_stage(link: Path, target: Path) -> None:
    """Point ``link`` (``runs/NAME/corpus``) at ``target`` with a relative link (the runs folder can move as a
    whole). Replaces only a link jazari made; a real folder there is never touched (the caller keeps using it)."""
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink():
        if os.readlink(link) == rel:
            return
        if not is_stage_link(link) and os.path.exists(link):
            raise UnsafeOutput(f"{link} is a symbolic link jazari did not make (→ {os.readlink(link)}): remove the "
                               f"link (`rm {link}` removes the link, not what it points to)")
        link.unlink()
    tmp = link.with_name(f".{link.name}.link.tmp")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(rel, tmp)
    os.replace(tmp, link)  # atomic: a reader sees the old link or the new one


def attach_shared_stages(cfg: Any, run: Any, *, forced: set[str], rank: int = 0) -> None:
    """Point the run's shared stages at their store entries (``run.shared``), making the links (rank 0 only).

    A run directory's stage that is a real folder (made before the store, or with ``share_stages: false``)
    stays where it is. A link to a complete entry whose key no longer matches (its input files changed since)
    is kept, with a warning, unless the stage is forced: a run's complete stages are never swapped under its
    later stages silently; ``--force STAGE`` re-points it at the entry of the current key and rebuilds that."""
    if not getattr(cfg, "share_stages", True):
        return
    keys = stage_keys(cfg)
    if not keys:
        return
    store_root = cfg.stage_store or default_store(run.path)
    store = StageStore.open(store_root) if rank == 0 else StageStore(store_root)
    run.store = store
    for stage, key in keys.items():
        link = run.link_path(stage)
        if link.exists() and not link.is_symlink():
            continue  # the run's own folder: kept as it is
        target = store.entry(stage, key_hash(key))
        if link.is_symlink() and is_stage_link(link):
            current = Path(os.path.realpath(link))
            if current != target.resolve() and stage not in forced and run.complete_at(current):
                log.warning("stage %s: its input files changed since this run's %s was built (%s); the run keeps "
                            "using it: `--force %s` rebuilds it from the current files", stage, stage, current.name,
                            stage)
                run.shared[stage] = current
                continue
        if rank == 0:
            store.prepare(stage, key)
            link_stage(link, target)
        run.shared[stage] = target
