"""The built-in corpus steps, one module each: its config model (the YAML arguments) beside its step class,
registered with ``@register_step`` (see :mod:`jazari_nlp.corpus.registry`). Importing this package imports
every module in it, so a new step is one new module here and nothing else.

Example: ``from jazari_nlp.corpus.builtin_steps.quality import QualityFilter, QualityStep``.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
