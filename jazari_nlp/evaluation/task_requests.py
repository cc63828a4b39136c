"""A task's prompts and requests: each evaluation row rendered into a :class:`Request` (the full prompt, the
continuations to score, the gold answer), byte-identical to lm-eval 0.4's ``ConfigurableTask`` for the same YAML
and data; a row that cannot be used becomes a Request with ``skipped`` set to the reason, never dropped.

Split from :mod:`jazari_nlp.evaluation.tasks` (which re-exports these names). Example::

    task = load_task("jazari_example_mc")          # a Task (load_task is in task_registry)
    task.build_requests(num_fewshot=3, limit=2)[0].context
"""

from __future__ import annotations

import ast
import logging
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jazari_nlp.evaluation.task_config import FewshotConfig
from jazari_nlp.evaluation.task_data import TaskData, _did_you_mean, _fields_note, _flat
from jazari_nlp.evaluation.task_files import no_rows_message, split_files
from jazari_nlp.evaluation.task_prompts import (
    _apply_filters,
    _gold_index,
    _gold_text,
    _maybe_delimit,
    _Message,
    _qa_turn,
    _sample,
    _singleturn,
    _Skip,
    render,
    template_fields,
)

log = logging.getLogger("jazari_nlp.evaluation.tasks")  # the name users filter on, from before the split


@dataclass
class Request:
    """One example, ready for the model.

    ``context`` is the whole prompt. ``continuations``: for multiple_choice, target_delimiter + each choice; for
    loglikelihood, the target as written (lm-eval adds no delimiter there); for loglikelihood_rolling, the text
    to score (``context`` is empty); for generate_until, empty (``generation_kwargs`` has ``until`` and
    ``max_gen_toks``). ``gold``: the index (or list of indexes) of the right choice for multiple_choice, the
    reference text (or texts) otherwise. ``skipped``: why the row cannot be used (then the rest is empty).
    """

    doc_id: int
    doc: dict
    context: str
    kind: str
    continuations: list[str]
    gold: int | str | list | None
    choices: list[str] = field(default_factory=list)
    generation_kwargs: dict = field(default_factory=dict)
    skipped: str | None = None
    messages: list[dict] | None = None  # with a chat template: the turns the context was rendered from


class Task(TaskData):
    """A task read from a YAML file (or a mapping). Data is read on first use, with ``datasets``, offline."""

    # -- one row (lm-eval's doc_to_text / doc_to_choice / doc_to_target) ---------------------------------------

    @property
    def columns(self) -> list[str]:
        if self._columns is None:
            docs = self.eval_docs()
            self._columns = list(docs[0]) if docs else []
        return self._columns

    def _has_choices(self) -> bool:
        return self.config.doc_to_choice is not None or bool(self.config.choices_from)

    def _field_or_template(self, doc: dict, spec: str, key: str, fields: list[str] | None = None) -> Any:
        """lm-eval's rule: a field name gives that field's value; any other string is a Jinja2 template."""
        if spec in (self.columns if fields is None else fields):
            value = doc.get(spec)
            if value is None:
                raise _Skip(f"{key}: field {spec!r} is empty in this row")
            return value
        for f in template_fields(spec):
            if f in doc and doc[f] is None:
                raise _Skip(f"{key}: field {f!r} is empty in this row")
        try:
            return render(spec, doc)
        except Exception as e:  # UndefinedError (a key missing in this row), TypeError, ...
            raise _Skip(f"{key}: the template failed on this row: {type(e).__name__}: {e}") from None

    def doc_to_text(self, doc: dict, spec: Any = None) -> Any:
        spec = self.config.doc_to_text if spec is None else spec
        if isinstance(spec, int):
            return spec
        text = self._field_or_template(doc, spec, "doc_to_text")
        if isinstance(text, str) and text.isdigit() and self._has_choices() and spec not in self.columns:
            return int(text)
        return text

    def doc_to_target(self, doc: dict, spec: Any = None) -> Any:
        spec = self.config.doc_to_target if spec is None else spec
        if isinstance(spec, int | list):
            target = spec
        elif spec in self.columns:
            target = self._field_or_template(doc, spec, "doc_to_target")
        else:
            target = self._field_or_template(doc, spec, "doc_to_target")
            if target.isdigit() and self._has_choices():
                target = int(target)
            elif len(target) >= 2 and target[0] == "[" and target[-1] == "]":
                try:
                    target = ast.literal_eval(target)
                except (SyntaxError, ValueError):
                    pass
        return self._offset(target)

    def _offset(self, target: Any) -> Any:
        off = self.config.target_offset
        if not off:
            return target
        if isinstance(target, str) and target.strip().lstrip("-").isdigit():
            target = int(target)
        if isinstance(target, list):
            return [self._offset(t) for t in target]
        if isinstance(target, bool) or not isinstance(target, int):
            raise _Skip(f"target_offset needs an integer answer; doc_to_target gave {target!r}")
        return target + off

    def doc_to_choice(self, doc: dict, spec: Any = None) -> list[str]:
        if self.config.choices_from:
            vals = [doc.get(f) for f in self.config.choices_from]
            choices = [str(v) for v in vals if v is not None and str(v) != ""]
        else:
            spec = self.config.doc_to_choice if spec is None else spec
            if isinstance(spec, dict):
                choices = list(spec.values())
            elif isinstance(spec, list):
                choices = spec
            elif spec in self.columns:
                choices = self._field_or_template(doc, spec, "doc_to_choice")
            else:
                text = self._field_or_template(doc, spec, "doc_to_choice")
                try:
                    choices = ast.literal_eval(text)
                except (SyntaxError, ValueError):
                    raise _Skip(f"doc_to_choice gave {text[:80]!r}, not a list (write a template that renders a "
                                "Python list, like \"{{choices}}\" or \"{{[a, b, c]}}\")") from None
        if isinstance(choices, dict):
            raise _Skip(f"doc_to_choice gave a mapping with keys {sorted(choices)}; point it at the list "
                        "(for example \"{{choices.text}}\")")
        if not isinstance(choices, list | tuple):
            raise _Skip(f"doc_to_choice gave {choices!r} ({type(choices).__name__}), not a list")
        if not choices:
            raise _Skip("empty choice list")
        return [c if isinstance(c, str) else str(c) for c in choices]

    def doc_to_prefix(self, doc: dict, spec: str | None = None) -> str | None:
        spec = self.config.gen_prefix if spec is None else spec
        if spec is None:
            return None
        return self._field_or_template(doc, spec, "gen_prefix")

    def _resolve_field(self, doc: dict, spec: str | None, key: str) -> Any:
        """lm-eval's ``resolve_field`` (description, few-shot gen_prefix): a key of the row, else a template."""
        if not spec:
            return None
        return self._field_or_template(doc, spec, key, fields=list(doc))

    def decontamination_query(self, doc: dict) -> str:
        """The text checked against a corpus for contamination (doc_to_decontamination_query, else the prompt)."""
        spec = self.config.doc_to_decontamination_query
        if spec is None:
            return str(self.doc_to_text(doc))
        return str(self._field_or_template(doc, spec, "doc_to_decontamination_query"))

    def filter_response(self, response: str) -> dict[str, str]:
        """A generation after each ``filter_list`` pipeline (lm-eval's regex, take_first, ... filters);
        ``{"none": response}`` without filters, as lm-eval names it."""
        if not self.config.filter_list:
            return {"none": response}
        return {spec.name: _apply_filters(spec.filter, response) for spec in self.config.filter_list}

    # -- checks before work ------------------------------------------------------------------------------------

    def check(self, num_fewshot: int | None = None) -> None:
        """Problems that can be known before scoring (data, splits, fields the templates use): one TaskError."""
        docs = self.eval_docs()
        if not docs and self.config.filter_rows:
            raise self.error(f"split {self.config.eval_split()!r} has no rows left after filter_rows")
        if not docs:
            split = self.config.eval_split()
            raise self.error(no_rows_message(split, split_files(self._data_files()).get(split) or [self.where]))
        cols = self.columns
        problems = []
        for key, spec in self._templates():
            for f in sorted(template_fields(spec) - set(cols)):
                problems.append(f"{key}: the template uses field {f!r}, which split {self.config.eval_split()!r} "
                                f"does not have{_fields_note(f, cols)}")
            if spec not in cols and not template_fields(spec) and re.fullmatch(r"\w+", spec) and \
                    key != "description":
                if _did_you_mean(spec, cols):  # a bare word that is not a field is a constant in lm-eval: a typo
                    problems.append(f"{key}: {spec!r} is not a field of the data{_fields_note(spec, cols)}")
        for f in self.config.choices_from or []:
            if f not in cols:
                problems.append(f"choices_from: split {self.config.eval_split()!r} has no field {f!r}"
                                f"{_fields_note(f, cols)}")
        fs = self.config.fewshot()
        if fs.split is not None and fs.split not in self.splits():
            problems.append(f"fewshot_split: split {fs.split!r} is not in the data (splits: "
                            f"{', '.join(self.splits())})")
        meta = self.config.metadata or {}
        if problems and (meta.get("source") or meta.get("download")):  # a benchmark: which file, and its origin
            files = self._data_files()
            read = files.get(self.config.eval_split(), []) if isinstance(files, dict) else _flat(files)
            read = list(read.values()) if isinstance(read, dict) else read  # parallel text: {column: file}
            problems.append(f"split {self.config.eval_split()!r} was read from {', '.join(read) or '?'}"
                            f"{self._source_hint()}")
        if problems:
            raise self.error(*problems)

    def _templates(self) -> Iterator[tuple[str, str]]:
        cfg = self.config
        specs = [("doc_to_text", cfg.doc_to_text), ("doc_to_target", cfg.doc_to_target),
                 ("doc_to_choice", cfg.doc_to_choice), ("gen_prefix", cfg.gen_prefix),
                 ("description", cfg.description), ("doc_to_decontamination_query", cfg.doc_to_decontamination_query)]
        own = cfg.fewshot_config.model_dump(exclude_unset=True) if cfg.fewshot_config else {}
        specs += [(f"fewshot_config.{k}", own[k]) for k in ("doc_to_text", "doc_to_target", "doc_to_choice",
                                                            "gen_prefix") if k in own]
        from jinja2 import TemplateSyntaxError

        for key, spec in specs:
            if isinstance(spec, str) and spec:
                try:
                    template_fields(spec)
                except TemplateSyntaxError as e:
                    raise self.error(f"{key}: not a valid Jinja2 template: {e.message} (line {e.lineno})") from None
                yield key, spec

    # -- requests ----------------------------------------------------------------------------------------------

    def shots(self, num_fewshot: int | None = None) -> int:
        """lm-eval's rule: the caller's shots, unless the task fixes num_fewshot: 0; default 0."""
        own = self.config.num_fewshot
        if num_fewshot is not None and own == 0:
            if num_fewshot:
                log.warning("%s: num_fewshot is 0 in the task file; %d shots asked for are ignored (as lm-eval)",
                            self.name, num_fewshot)
            return 0
        return num_fewshot if num_fewshot is not None else (own or 0)

    def build_requests(self, *, num_fewshot: int | None = None, limit: int | float | None = None, seed: int = 1234,
                       apply_chat_template: bool | None = None, system_instruction: str | None = None,
                       fewshot_as_multiturn: bool | None = None,
                       chat_template: Callable[..., str] | None = None) -> list[Request]:
        """One Request per evaluation row (the first ``limit`` rows; a float below 1 is a fraction, as lm-eval).

        Few-shot examples are drawn with one ``random.Random(seed)`` over the rows in order, as lm-eval's
        sampler with ``fewshot_random_seed``. With ``apply_chat_template`` (or the task's own), prompts are
        rendered by ``chat_template(messages, add_generation_prompt=...)`` (the model wrapper's
        ``apply_chat_template``), few-shot examples as turns unless ``fewshot_as_multiturn=False``.
        """
        self.check()
        cfg = self.config
        chat = cfg.apply_chat_template if apply_chat_template is None else apply_chat_template
        if chat and chat_template is None:
            raise ValueError(f"{self.name}: apply_chat_template needs chat_template= (the model's "
                             "apply_chat_template, e.g. lm.apply_chat_template)")
        system = cfg.system_instruction if system_instruction is None else system_instruction
        multiturn = cfg.fewshot_as_multiturn if fewshot_as_multiturn is None else fewshot_as_multiturn
        if limit is not None and limit <= 0:
            raise ValueError(f"limit must be positive (a count, or a fraction below 1); found {limit}")
        docs = self.eval_docs()
        n = len(docs) if limit is None else (math.ceil(len(docs) * limit) if limit < 1.0 else int(limit))
        shots = self.shots(num_fewshot) if cfg.output_type != "loglikelihood_rolling" else 0
        fs = cfg.fewshot()
        pool = self._pool(fs, shots)
        exclude = fs.split == cfg.test_split  # lm-eval leaves the row out of its own examples only then
        rnd = random.Random(seed)
        out = []
        for doc_id, doc in enumerate(docs[:n]):
            try:
                # drawn first, for every row, so that the random state follows lm-eval's row by row
                examples = _sample(rnd, pool, shots, doc if exclude else None, fs.sampler == "first_n")
                out.append(self._request(doc_id, doc, examples, fs, chat, chat_template, system, multiturn))
            except _Skip as e:
                out.append(Request(doc_id, doc, "", cfg.output_type, [], None, skipped=str(e)))
        for i, (before, file, bad) in enumerate(self.rejects.get(cfg.eval_split(), [])):
            if limit is None or before < n:  # a line that is not JSON, counted where it lies among the rows
                out.append(Request(len(docs) + i, {"file": file, "line": bad.line, "text": bad.text}, "",
                                   cfg.output_type, [], None, skipped=bad.reason))
        if out and all(r.skipped for r in out):
            reasons = sorted({r.skipped for r in out})
            raise self.error(f"none of the {len(out)} rows can be used: " + "; ".join(reasons[:3]))
        return out

    def _pool(self, fs: FewshotConfig, shots: int) -> list[dict]:
        if not shots:
            return []
        pool = self.fewshot_docs()
        if not pool:
            raise self.error(f"{shots}-shot needs few-shot examples: set fewshot_split (or training_split / "
                             "validation_split), or num_fewshot: 0")
        if fs.fewshot_indices:  # lm-eval 0.4 reads the key but never hands it to its samplers
            log.warning("%s: fewshot_config.fewshot_indices has no effect (as in lm-eval 0.4, whose numbers jazari "
                        "reproduces); to choose the examples, put them in their own split (fewshot_split)", self.name)
        usable = []
        self.fewshot_problems = []
        for i, d in enumerate(pool):
            try:
                self._example_turn(d, fs)
                usable.append(d)
            except _Skip as e:
                self.fewshot_problems.append(f"few-shot row {i}: {e}")
        if self.fewshot_problems:
            log.warning("%s: %d few-shot row(s) left out of the pool: %s", self.name, len(self.fewshot_problems),
                        "; ".join(self.fewshot_problems[:3]))
        need = shots + (1 if fs.split == self.config.test_split and fs.sampler != "first_n" else 0)  # n + 1 drawn
        if len(usable) < need:
            raise self.error(f"{shots}-shot needs {need} usable few-shot rows; the pool has {len(usable)} "
                             f"(of {len(pool)})")
        return usable

    def _example_turn(self, d: dict, fs: FewshotConfig) -> list[_Message]:
        c = self.doc_to_choice(d, fs.doc_to_choice) if (fs.doc_to_choice or self.config.choices_from) else None
        return _qa_turn(self.doc_to_text(d, fs.doc_to_text), c, self.doc_to_target(d, fs.doc_to_target),
                        self._resolve_field(d, fs.gen_prefix, "fewshot_config.gen_prefix"),
                        fs.target_delimiter, fs.fewshot_delimiter)

    def _request(self, doc_id: int, doc: dict, examples: list[dict], fs: FewshotConfig, chat: bool,
                 chat_template: Callable[..., str] | None, system: str | None, multiturn: bool) -> Request:
        cfg = self.config
        kind = cfg.output_type
        if kind == "loglikelihood_rolling":
            text = self.doc_to_target(doc)
            return Request(doc_id, doc, "", kind, [str(text)], str(text))
        messages: list[_Message] = []
        description = self._resolve_field(doc, cfg.description, "description") or ""
        system_prompt = _maybe_delimit(system, description, cfg.fewshot_delimiter)
        if system_prompt:
            messages.append(_Message("system", system_prompt))
        for ex in examples:
            messages += self._example_turn(ex, fs)
        choices = self.doc_to_choice(doc) if self._has_choices() else []
        target = self.doc_to_target(doc)
        gen_prefix = self.doc_to_prefix(doc)
        messages += _qa_turn(self.doc_to_text(doc), choices or None, None, gen_prefix, cfg.target_delimiter, "")
        dicts = None
        if chat:
            dicts = [m.to_dict() for m in messages] if multiturn else _singleturn(messages)
            context = chat_template(dicts, add_generation_prompt=not gen_prefix)
        else:
            context = "".join(m.to_text() for m in messages)
        req = Request(doc_id, doc, context, kind, [], None, choices, messages=dicts)
        if kind == "multiple_choice":
            delim = cfg.target_delimiter
            if chat:
                delim = cfg.target_delimiter if cfg.gen_prefix and not cfg.gen_prefix[-1:].isspace() else ""
            req.continuations = [f"{delim}{c}" for c in choices]
            req.gold = _gold_index(target, choices)
        elif kind == "loglikelihood":
            req.continuations = [target if isinstance(target, str) else str(target)]
            req.gold = req.continuations[0]
        else:  # generate_until
            req.generation_kwargs = cfg.generation()
            req.gold = _gold_text(target, choices)
        return req
