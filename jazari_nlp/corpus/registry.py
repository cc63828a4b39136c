"""The corpus steps: each YAML step is one class with its config model, registered under its YAML key.

A step is added in one place: a module in ``jazari_nlp/corpus/builtin_steps/`` that defines its config model
(a ``StrictModel``: the YAML arguments, their defaults and checks) and its step class, decorated with
``@register_step``. The config section (``corpus.config``: the ``steps:`` schema, the default pipeline) and the
build (``corpus.build``: the passes) find it here. Two kinds of step:

- :class:`CorpusStep` runs inside a pass, one document (or one batch) at a time: ``filter(doc)`` returns
  ``True`` (kept, maybe rewritten) or ``(False, reason)``. The pass runs it as a datatrove filter
  (``passes.StepFilter``: counters, rejects), so this module and the step modules import no datatrove;
- :class:`GlobalStep` needs every document's signature before any can be dropped (dedup): it ends a pass
  with its signature steps, runs its own stages, and begins the next pass with its filter.

Example::

    @register_step("shout", ShoutStep, order=45)
    class Shout(CorpusStep):
        def filter(self, doc):
            doc.text = doc.text.upper()
            return True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class StepSpec:
    """One registered step: its YAML key, config model, step class and place in the default pipeline."""

    name: str
    config: type
    step: type
    order: int

    @property
    def is_global(self) -> bool:
        return issubclass(self.step, GlobalStep)


_REGISTRY: dict[str, StepSpec] = {}


def register_step(name: str, config: type, *, order: int):
    """Class decorator recording ``name`` (the YAML key), ``config`` (its arguments' model) and ``order`` (its
    place in the default pipeline, lowest first). A second, different class under the same name is an error."""

    def record(cls: type) -> type:
        known = _REGISTRY.get(name)
        if known is not None and (known.step.__module__, known.step.__qualname__) != (cls.__module__,
                                                                                        cls.__qualname__):
            raise ValueError(f"corpus step {name!r} is registered twice: {known.step.__module__}."
                             f"{known.step.__qualname__} and {cls.__module__}.{cls.__qualname__}")
        cls.kind = name
        _REGISTRY[name] = StepSpec(name, config, cls, order)
        return cls

    return record


def step_specs() -> dict[str, StepSpec]:
    """Every registered step by name, in default-pipeline order (``corpus.config`` imports the built-in ones)."""
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


class CorpusStep:
    """A step inside a pass. ``filter(doc)`` → ``True`` or ``(False, reason)``; ``batch_size`` > 1 hands
    ``filter_batch`` that many documents at once; ``stat_update`` counts into the step's stats (the pass that
    runs it sets ``counters``; without one, as in a unit test, counts go nowhere).

    Example: ``Normalize("02_normalize", NormalizeStep()).filter(doc)`` → ``True``.
    """

    kind: ClassVar[str] = ""
    batch_size: ClassVar[int] = 1

    def __init__(self, step_name: str, cfg: Any):
        self.name, self.cfg = step_name, cfg
        self.counters = None  # the datatrove step that runs this one (passes.StepFilter)

    def stat_update(self, *labels: str, value: int = 1) -> None:
        if self.counters is not None:
            self.counters.stat_update(*labels, value=value)

    def filter(self, doc) -> bool | tuple[bool, str]:
        raise NotImplementedError

    def filter_batch(self, batch: list) -> list[bool | tuple[bool, str]]:
        return [self.filter(d) for d in batch]

    @classmethod
    def uses_match(cls, cfg: Any) -> bool:
        """Whether the step reads the ``match`` text (passes before it then carry it in their files)."""
        return False

    @classmethod
    def preflight(cls, cfg: Any) -> None:
        """Checks before any work starts; raise a ``JazariError`` naming what to fix."""


class GlobalStep(CorpusStep):
    """A step over the whole corpus (dedup). The build calls, in order: ``signature(work)`` (datatrove steps
    that end the pass, after its documents are saved), ``stages(work)`` (``(label, pipeline, tasks, log folder)``
    run between the passes) and ``pass_filter(work, exclusion_writer)`` (the datatrove step that begins the next
    pass). ``default_reason`` names its drops (datatrove's dedup filters give none)."""

    default_reason: ClassVar[str] = ""

    def signature(self, work: Path) -> list:
        raise NotImplementedError

    def stages(self, work: Path) -> list[tuple[str, list, int, str]]:
        raise NotImplementedError

    def pass_filter(self, work: Path, exclusion_writer):
        raise NotImplementedError
