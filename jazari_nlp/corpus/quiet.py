"""datatrove's console logging, quieted: its task log files keep everything, the console shows warnings only.

Example: ``quiet_datatrove()`` before running executors (``LocalExecutor(quiet=True)`` does it in workers too).
"""

from __future__ import annotations


def quiet_datatrove() -> None:
    """datatrove re-adds an INFO console logger around every task; keep its task log files, print warnings only."""
    import functools
    import sys

    import datatrove.executor.base as base
    import datatrove.executor.local as local
    import datatrove.pipeline.dedup.exact_dedup as exact
    import datatrove.pipeline.dedup.minhash as minhash
    import datatrove.utils.logging as dlog
    from loguru import logger

    if getattr(base.add_task_logger, "_jazari_quiet", False):
        return
    _cache_loguru_lib_dirs()
    for mod in (exact, minhash):  # the dedup stages draw tqdm bars
        mod.tqdm = functools.partial(mod.tqdm, disable=True)

    def console() -> None:
        logger.remove()
        # one line per message: a failing task's traceback goes to its task log (the error itself is raised, and
        # reported once: a full disk as one `error:` line, a bug with its traceback)
        logger.add(sys.stderr, level="WARNING", format=lambda _: "datatrove | {level} | {message}\n",
                   filter=lambda r: "No .remove file" not in r["message"])  # normal: no near duplicates there

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        console()
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")

        def sink(message) -> None:
            try:
                logfile.write(message)
                logfile.flush()
            except (OSError, ValueError):  # a full disk (reported by the build) or a closed log: not a second error
                pass

        logger.add(sink, level="DEBUG", format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {message}")
        return logfile

    add_task_logger._jazari_quiet = True
    base.add_task_logger = add_task_logger
    dlog.setup_default_logger = console
    console()
    del local  # imported so that its module-level logger use sees the patched handlers


def _cache_loguru_lib_dirs() -> None:
    """loguru lists the interpreter's library folders (sysconfig, ~10 ms) for every handler it adds, to mark
    library frames in tracebacks; datatrove re-adds its handlers for every task: list them once per process."""
    import functools

    try:  # loguru's private helper: if a release renames it, nothing is cached (only slower)
        from loguru._better_exceptions import ExceptionFormatter

        lib_dirs = ExceptionFormatter.__dict__["_get_lib_dirs"].__func__
    except (ImportError, KeyError, AttributeError):
        return
    if not isinstance(lib_dirs, functools._lru_cache_wrapper):
        ExceptionFormatter._get_lib_dirs = staticmethod(functools.cache(lib_dirs))
