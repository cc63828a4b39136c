"""Nothing destroyed: ownership markers, refusal of foreign folders, no symbolic links followed, one run per folder.

jazari writes a marker (``.jazari-output.json``) into every output folder it creates (corpus output folders,
run directories). It deletes or overwrites only inside folders that carry that marker, and there only the paths
it makes itself (the ``names`` of the folder's kind). A folder that already holds other files is refused unless
the caller allows it explicitly (``--allow-existing``); what was there is then recorded in the marker and never
touched. The paths jazari writes or deletes are never symbolic links. A lock file makes a second run on the same
folder fail at once; the lock of a killed run (its pid is gone on this host) is reported and taken over.

Example::

    prepare_output_dir(Path("out/corpus"), "corpus", names=("train", "heldout", "manifest.json"))
    with output_lock(Path("out/corpus"), what="corpus build"):
        remove_outputs(Path("out/corpus"), ["train", "heldout"])
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jazari_nlp.errors import JazariError

MARKER_NAME = ".jazari-output.json"
LOCK_NAME = ".jazari-lock"
KINDS = {"corpus": "corpus output folder", "run": "run directory", "report": "report folder",
         "model": "model folder", "store": "stage store (shared corpus and tokenizer outputs)"}
ALLOW_HINT = "--allow-existing (Python: allow_existing=True)"
# Files a desktop drops into any folder: they do not make a folder "not empty" (and jazari never deletes them).
DESKTOP_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

log = logging.getLogger("jazari_nlp.safety")

class UnsafeOutput(JazariError):
    """jazari refuses to write into, or delete from, a folder; the message says why and what to do."""


class OutputLocked(UnsafeOutput):
    """Another jazari process holds the folder's lock."""


# --------------------------------------------------------------------------------------------- checks


def not_a_folder(path: Path) -> str | None:
    """Why ``path`` cannot be (or become) a folder, or None. Example: ``not_a_folder(Path("notes.txt"))``."""
    p = Path(os.path.abspath(path))
    for q in (p, *p.parents):
        if q.is_symlink() and not q.exists():
            return f"{q} is a symbolic link to a missing target"
        if q.exists():
            if q.is_dir():
                return None
            return f"{p} is a file, not a folder" if q == p else f"{q} is a file, so {p} cannot be a folder in it"
    return None


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker of a folder jazari made, or None. Example: ``read_marker(Path("out/corpus"))["kind"]``."""
    f = Path(path) / MARKER_NAME
    if f.is_symlink() or not f.is_file():
        return None
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    return data if isinstance(data, dict) else {"kind": None, "unreadable": True}


def find_symlinks(root: Path, names: Iterable[str], limit: int = 5) -> list[Path]:
    """Symbolic links at or below ``root/name`` (none followed), at most ``limit``.

    Example: ``find_symlinks(Path("out"), ["train"])`` → ``[Path("out/train")]`` when train/ is a link.
    """
    found: list[Path] = []

    def walk(p: Path) -> None:
        try:
            with os.scandir(p) as it:
                for e in it:
                    if len(found) >= limit:
                        return
                    if e.is_symlink():
                        found.append(Path(e.path))
                    elif e.is_dir(follow_symlinks=False):
                        walk(Path(e.path))
        except (NotADirectoryError, FileNotFoundError):
            return

    for name in names:
        link = _link_on_way(root, name)
        if link is not None:
            found.append(link)
        else:
            walk(Path(root) / name)
        if len(found) >= limit:
            break
    return found[:limit]


def _link_on_way(root: Path, rel: str) -> Path | None:
    """The first symbolic link on the way from ``root`` to ``root/rel`` (``_work`` of ``_work/logs``), or None."""
    parts = Path(rel).parts
    for i in range(1, len(parts) + 1):
        q = Path(root).joinpath(*parts[:i])
        if q.is_symlink():
            return q
    return None


def check_inputs_outside(root: Path, names: Iterable[str], files: Iterable[str | Path]) -> None:
    """Refuse input files that lie inside a path jazari deletes or rewrites (``root/name``)."""
    targets = {n: os.path.realpath(Path(root) / n) for n in names}
    for f in files:
        real = os.path.realpath(f)
        for name, t in targets.items():
            if real == t or real.startswith(t + os.sep):
                raise UnsafeOutput(
                    f"input file {f} lies inside {Path(root) / name}, which jazari deletes and rewrites in its "
                    f"output folder {root}: move the input out of that folder, or choose another output folder"
                )


def _link_message(root: Path, links: list[Path]) -> str:
    shown = ", ".join(f"{p} (→ {os.readlink(p)})" for p in links)
    return (
        f"refusing to use {root}: {shown} {'is a symbolic link' if len(links) == 1 else 'are symbolic links'}; "
        f"jazari never writes or deletes through links in its output folders, so that nothing outside {root} is "
        f"touched. Remove the link (`rm {links[0]}` removes the link, not what it points to) or choose another folder."
    )


def _bookkeeping(name: str, names: tuple[str, ...]) -> bool:
    """jazari's own marker, lock and temporary files (and desktop litter): they do not count as content."""
    if name in (MARKER_NAME, LOCK_NAME) or name in DESKTOP_FILES or name.startswith(LOCK_NAME + "."):
        return True
    if name.endswith(".tmp"):  # write_atomic's `.NAME.xxxx.tmp`, the manifest's `manifest.json.tmp`
        return any(name == f"{n}.tmp" or name.startswith(f".{n}.") for n in (*names, MARKER_NAME))
    return False


def _sha_file(p: Path) -> bool:
    if p.is_symlink() or not p.is_file():
        return False
    with open(p, "rb") as fh:
        head = fh.read(100)
    return re.fullmatch(rb"[0-9a-f]{64}\s*", head) is not None


# Folders made by jazari before markers existed: a corpus build wrote `_work/fingerprint` (a sha256) first, a run
# directory `config.sha256`. They are adopted (marked) so that existing builds and runs resume as before.
LEGACY = {
    "corpus": lambda p: _sha_file(p / "_work" / "fingerprint"),
    "run": lambda p: _sha_file(p / "config.sha256"),
}


def _listing(path: Path, entries: list[str], n: int = 5) -> str:
    shown = [e + "/" if (path / e).is_dir() and not (path / e).is_symlink() else e for e in entries[:n]]
    more = f" and {len(entries) - n} more" if len(entries) > n else ""
    return ", ".join(shown) + more


# --------------------------------------------------------------------------------------------- marking


def prepare_output_dir(path: Path, kind: str, names: Iterable[str], *, allow_existing: bool = False,
                       details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Make ``path`` a usable output folder of ``kind`` (``corpus`` or ``run``) and return its marker.

    A new or empty folder is created and marked; a marked folder (or one made by an earlier jazari version) is
    used; a folder holding anything else is refused unless ``allow_existing``, which records what is there
    (never deleted or overwritten). ``names`` are the paths jazari writes in it; none may be a symbolic link.

    Example: ``prepare_output_dir(Path("out/corpus"), "corpus", ("train", "heldout", "manifest.json"))``
    """
    path, names = Path(path), tuple(names)
    problem = not_a_folder(path)
    if problem:
        raise UnsafeOutput(f"cannot use {path} as a {KINDS[kind]}: {problem}. Choose a folder path "
                           f"(it is created if missing).")
    path.mkdir(parents=True, exist_ok=True)
    marker = read_marker(path)
    if marker is None:
        marker = _adopt(path, kind, names, allow_existing, details or {})
    elif marker.get("kind") not in (kind, None):
        other = KINDS.get(marker["kind"], str(marker["kind"]))
        raise UnsafeOutput(f"{path} is a jazari {other}, not a {KINDS[kind]}: choose another folder")
    links = find_symlinks(path, names)
    if links:
        raise UnsafeOutput(_link_message(path, links))
    return marker


def _adopt(path: Path, kind: str, names: tuple[str, ...], allow_existing: bool, details: dict[str, Any]) -> dict:
    with os.scandir(path) as it:
        entries = sorted(e.name for e in it if not _bookkeeping(e.name, names))
    how = "created"
    if entries:
        if kind in LEGACY and LEGACY[kind](path):  # report and model folders have no legacy form
            how = "made by an earlier jazari version"
        elif not allow_existing:
            raise UnsafeOutput(
                f"refusing to use {path} as a {KINDS[kind]}: it already holds {len(entries)} "
                f"entr{'y' if len(entries) == 1 else 'ies'} that jazari did not make ({_listing(path, entries)}) and "
                f"no {MARKER_NAME} marker; jazari only deletes or overwrites inside folders it made. Choose a new or "
                f"empty folder, or pass {ALLOW_HINT} to use this one: jazari then writes only its own "
                f"{', '.join(names)} and deletes nothing it did not make."
            )
        else:
            clash = [e for e in entries if e in names]
            if clash:
                raise UnsafeOutput(
                    f"cannot use {path} as a {KINDS[kind]}, even with --allow-existing: it already holds "
                    f"{_listing(path, clash, 8)}, which jazari did not make and would overwrite or delete (a "
                    f"{KINDS[kind]} writes {', '.join(names)}). Move {'it' if len(clash) == 1 else 'them'} away "
                    f"or choose a new or empty folder."
                )
            how = "existing folder used with --allow-existing"
    from jazari_nlp._version import __version__

    marker = {
        "kind": kind, "made_by": f"jazari_nlp {__version__}", "how": how,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(), "command": _command(),
        # never deleted nor overwritten by jazari, even with --force
        "preexisting": [e for e in entries if e not in names],
        **details,
    }
    _write_json_atomic(path / MARKER_NAME, marker)
    return marker


def remove_outputs(root: Path, names: Iterable[str]) -> list[str]:
    """Delete ``names`` (paths relative to ``root``, such as ``train`` or ``_work/pass0``) inside a folder that
    carries jazari's marker; never a path that was there before jazari, never through a symbolic link.

    Returns the names removed. Example: ``remove_outputs(Path("out/corpus"), ["train", "manifest.json"])``
    """
    root = Path(root)
    marker = read_marker(root)
    if marker is None:
        raise UnsafeOutput(f"refusing to delete anything in {root}: it has no {MARKER_NAME} marker, so jazari did "
                           f"not make it")
    preexisting = set(marker.get("preexisting") or [])
    targets: list[tuple[str, Path]] = []
    for rel in names:
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or any(p in ("..", ".") for p in parts):
            raise ValueError(f"not a path inside the output folder: {rel!r}")
        if parts[0] in preexisting or parts[0] == MARKER_NAME or parts[-1] == LOCK_NAME:
            continue  # what was there before jazari; a lock belongs to the process holding it
        link = _link_on_way(root, rel)
        if link is not None:  # checked for every name before anything is deleted
            raise UnsafeOutput(_link_message(root, [link]))
        if (root / rel).exists():
            targets.append((rel, root / rel))
    for _, p in targets:
        shutil.rmtree(p) if p.is_dir() else p.unlink()  # rmtree removes inner links, never what they point to
    return [rel for rel, _ in targets]


# --------------------------------------------------------------------------------------------- locking


def output_lock(path: Path, what: str, enabled: bool | None = None) -> OutputLock:
    """``with output_lock(Path("out/corpus"), what="corpus build"):`` one jazari process at a time per folder.

    ``enabled=None``: only rank 0 of a torchrun/accelerate launch (``RANK``) takes the lock; the other ranks
    work beside it.
    """
    return OutputLock(path, what, enabled)


class OutputLock:
    """A lock file (``.jazari-lock``, made with O_CREAT|O_EXCL) holding pid, host, start time and command line.

    A second process fails at once naming the first; a lock whose pid is gone on this host is reported and
    taken over. Released on exit, exceptions and KeyboardInterrupt included. ``stale`` holds the lock taken over.
    """

    def __init__(self, path: Path, what: str, enabled: bool | None = None):
        self.path = Path(path)
        self.file = self.path / LOCK_NAME
        self.what = what
        self.enabled = _rank() == 0 if enabled is None else enabled
        self.stale: dict[str, Any] | None = None
        self._token: str | None = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> OutputLock:
        if not self.enabled or self._token:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        if self.file.is_symlink():
            raise UnsafeOutput(_link_message(self.path, [self.file]))
        token = uuid.uuid4().hex
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": _command(), "what": self.what, "proc_start": _proc_start(os.getpid()), "token": token}
        for _ in range(20):
            try:
                fd = os.open(self.file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                raw, holder = self._holder()
                if raw is None:
                    continue  # released meanwhile: try again
                if _alive(holder):
                    raise OutputLocked(self._busy(holder)) from None
                self._take_over(raw, holder)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self._token = token
            return self
        raise OutputLocked(f"could not take the lock {self.file}: it keeps changing; is another jazari starting here?")

    def release(self) -> None:
        if not self._token:
            return
        raw, holder = self._read()
        if raw is not None and holder.get("token") == self._token:  # never someone else's lock
            self.file.unlink(missing_ok=True)
        self._token = None

    def _read(self) -> tuple[bytes | None, dict[str, Any]]:
        try:
            fd = os.open(self.file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None, {}
        except OSError as e:  # a link put there since: never followed
            raise UnsafeOutput(_link_message(self.path, [self.file])) from e
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(64 * 1024)
        try:
            info = json.loads(raw.decode("utf-8"))
        except ValueError:
            info = None
        return raw, info if isinstance(info, dict) else {}

    def _holder(self) -> tuple[bytes | None, dict[str, Any]]:
        """The lock's content; an empty one is being written right now: wait a moment for it."""
        for _ in range(20):
            raw, info = self._read()
            if raw is None or info:
                return raw, info
            time.sleep(0.05)
        try:
            age = time.time() - self.file.stat().st_mtime
        except FileNotFoundError:
            return None, {}
        # unreadable for a second: a process killed between creating and writing it, or one still writing
        return raw, {"unreadable": True, "young": age < 30}

    def _take_over(self, raw: bytes, holder: dict[str, Any]) -> None:
        with _dir_guard(self.path):  # two processes taking over the same stale lock: only one removes it
            now, _ = self._read()
            if now != raw:
                return
            self.file.unlink(missing_ok=True)
        self.stale = holder
        msg = (f"warning: {self.path}: taking over a stale lock: the jazari {holder.get('what', 'run')} that held it "
               f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started_at', '?')}, "
               f"command: {holder.get('command', '?')}) is no longer running")
        if log.hasHandlers():  # a run's log.txt; with no handler, logging's last resort would print it twice
            log.warning(msg)
        print(msg, file=sys.stderr)

    def _busy(self, holder: dict[str, Any]) -> str:
        if holder.get("unreadable"):
            return (f"{self.path} is in use: {self.file} was just created by another jazari process that is still "
                    f"writing it. Wait for that run to finish; if no jazari runs here, delete {self.file}.")
        where = "" if holder.get("host") == socket.gethostname() else (
            f" It runs on another machine, where jazari cannot check that it is still alive: if it is not, "
            f"delete {self.file}.")
        return (
            f"{self.path} is in use by another jazari {holder.get('what', 'run')}: pid {holder.get('pid')} on "
            f"{holder.get('host')}, started {holder.get('started_at')}, command: {holder.get('command')} "
            f"(lock file {self.file}). Wait for it to finish (or stop it), then run the same command again: it "
            f"resumes where that run stopped.{where}"
        )


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process that holds a lock may still be running (unknown: assume it is)."""
    if holder.get("unreadable"):
        return bool(holder.get("young"))
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) is not a probe on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    if state in ("Z", "X"):  # killed, not yet reaped
        return False
    started = holder.get("proc_start")
    return started is None or started == start  # another start time: the pid was reused


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process from /proc (Linux), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()  # the command name may hold spaces and parentheses
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _proc_start(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


@contextlib.contextmanager
def _dir_guard(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not on Unix: the O_EXCL create still makes one winner
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rank() -> int:
    try:
        return int(os.environ.get("RANK", "0") or 0)
    except ValueError:
        return 0


def _command() -> str:
    cmd = shlex.join(sys.argv) if sys.argv and sys.argv[0] else sys.executable
    return cmd if len(cmd) <= 500 else cmd[:497] + "..."


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see either the old or the whole new content, never a part; the file gets
    ordinary permissions (0644), not ``mkstemp``'s owner-only ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
