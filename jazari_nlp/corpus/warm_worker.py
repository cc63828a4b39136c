"""Imported once in the fork server that starts the local executor's worker processes (see
:func:`jazari_nlp.corpus.passes.preload_fork_server`): the corpus modules, pyarrow (and pandas, ftfy when
installed) and the default language identifier are then in memory before any worker is forked, so no worker
imports or loads them again (about 1.5 s of CPU per worker process, 4 passes × 2 workers in a default build).

Loading the identifier can fail (a damaged model file): then nothing is loaded here and the langid step reports
the error itself, as it would without this module.

Example: ``multiprocess.get_context("forkserver").set_forkserver_preload(["jazari_nlp.corpus.warm_worker"])``.
"""

from __future__ import annotations

import jazari_nlp.corpus.builtin_steps  # noqa: F401  (the registered steps the pipelines unpickle)
import jazari_nlp.corpus.dedup_stages  # noqa: F401
import jazari_nlp.corpus.passes  # noqa: F401
import jazari_nlp.corpus.writers  # noqa: F401

# Imported by the workers' steps when installed: pandas by pyarrow's RecordBatch.from_pylist (the corpus
# writer's batches), ftfy by the repair step.
OPTIONAL = ("pandas", "ftfy")


def _warm() -> None:
    import importlib

    for name in OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:  # not installed: the worker does without it, as it would without this module
            pass
    try:
        import pyarrow.parquet  # noqa: F401  (the corpus writer's)

        from jazari_nlp.text.langid import LangIdConfig, load_identifier

        load_identifier(LangIdConfig())  # the cache key the langid step's default config looks up
    except Exception:  # noqa: BLE001 - the worker that needs it raises the real error with its context
        pass


_warm()
