"""How lm-eval builds a prompt, reproduced: its Jinja2 environment, the plain-text and chat message pieces, the
few-shot samplers, the gold answer of a row and the declarative filters on a generation.

Split from :mod:`jazari_nlp.evaluation.tasks` (which re-exports the public names); used by
:class:`jazari_nlp.evaluation.task_requests.Task`. Example::

    render("Q: {{question}}", {"question": "شحال؟"})   # 'Q: شحال؟'
    template_fields("{{choices.text}}")               # frozenset({'choices'})
"""

from __future__ import annotations

import copy
import functools
import random
import re
from dataclasses import dataclass
from typing import Any


class _Skip(Exception):
    """A row that cannot be used; the message is the reason written to the samples file."""


# ---------------------------------------------------------------------------------------------------------------
# Templates: lm-eval's Jinja2 environment


def regex_replace(string, pattern, repl, count: int = 0):
    """The ``regex_replace`` filter lm-eval's templates may use: ``{{ text | regex_replace('\\s+', ' ') }}``."""
    return re.sub(pattern, repl, string, count=count)


@functools.cache
def _env():
    from jinja2 import BaseLoader, Environment, StrictUndefined

    env = Environment(loader=BaseLoader, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = regex_replace
    return env


@functools.lru_cache(maxsize=1024)
def _compiled(template: str):
    return _env().from_string(template)


def render(template: str, doc: dict) -> str:
    """Render a Jinja2 template on a row, as lm-eval's ``utils.apply_template``.

    Example: ``render("Q: {{question}}", {"question": "شحال؟"})`` → ``"Q: شحال؟"``
    """
    return _compiled(template).render(**doc)


@functools.lru_cache(maxsize=1024)
def template_fields(template: str) -> frozenset[str]:
    """The row fields a template reads (``{{choices.text}}`` → ``{"choices"}``); Jinja's globals excluded."""
    from jinja2 import meta

    env = _env()
    return frozenset(meta.find_undeclared_variables(env.parse(template)) - set(env.globals))


# lm-eval's plain-text / chat message pieces (lm_eval/api/utils.py)


@dataclass
class _Message:
    role: str
    content: str
    delimiter: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    def to_text(self) -> str:
        return self.content + self.delimiter


def _maybe_delimit(prefix: str | None, suffix: str | None, delimiter: str = " ") -> str:
    if not prefix:
        return suffix or ""
    if not suffix:
        return prefix or ""
    return prefix + suffix if (prefix[-1].isspace() or suffix[0].isspace()) else prefix + delimiter + suffix


def _requires_delimiter(prefix: str, suffix: str) -> bool:
    return prefix != "" and not (prefix[-1].isspace() or suffix[0].isspace())


def _singleturn(messages: list[_Message]) -> list[dict[str, str]]:
    """lm-eval's ``multiturn_to_singleturn``: few-shot examples folded into one user turn."""
    messages = [copy.copy(m) for m in messages]
    system, messages = (messages[0], messages[1:]) if messages[0].role == "system" else (None, messages)
    if messages[-1].role == "assistant":
        user = messages[:-1]
        user[-1].delimiter = ""
        res = [_Message("user", "".join(m.to_text() for m in user)).to_dict(), messages[-1].to_dict()]
    else:
        messages[-1].delimiter = ""
        res = [_Message("user", "".join(m.to_text() for m in messages)).to_dict()]
    return [system.to_dict()] + res if system else res


def _qa_turn(q: Any, c: list[str] | None = None, a: Any = None, gen_prefix: str | None = None,
             tgt_delim: str = " ", few_delim: str = "\n\n") -> list[_Message]:
    """lm-eval's ``build_qa_turn``: the question (and, for a few-shot example, its answer) as messages."""
    if not isinstance(q, str):
        raise _Skip(f"doc_to_text gave {q!r} ({type(q).__name__}), not text (a number there is lm-eval's "
                    "multiple-input form, which jazari does not support)")
    has_answer = a is not None and a != ""
    user_delim = tgt_delim if (has_answer and not gen_prefix) or (
        gen_prefix and _requires_delimiter(q, gen_prefix)) else ""
    msgs = [_Message("user", q, user_delim)]
    if has_answer:
        if c and isinstance(a, int):
            if not 0 <= a < len(c):
                raise _Skip(f"answer index {a} is out of range for {len(c)} choices")
            answer = c[a]
        else:
            answer = a[0] if isinstance(a, list) and a else a
        if not isinstance(answer, str):
            answer = str(answer)
        msgs.append(_Message("assistant", _maybe_delimit(gen_prefix, answer, " "), few_delim))
    elif gen_prefix:
        msgs.append(_Message("assistant", gen_prefix))
    return msgs


# ---------------------------------------------------------------------------------------------------------------
# Few-shot sampling: lm-eval's ContextSampler / FirstNSampler


def _sample(rnd: random.Random, pool: list[dict], n: int, eval_doc: dict | None, first_n: bool) -> list[dict]:
    if n == 0:
        return []
    if first_n:  # the first n rows other than the evaluated one (stops early: the pool can be the test split)
        res = []
        for x in pool:
            if len(res) == n:
                break
            if eval_doc is None or x != eval_doc:
                res.append(x)
        if len(res) < n:
            raise _Skip(f"{n}-shot needs {n} few-shot rows other than this one; the pool has {len(res)}")
        return res
    if not eval_doc:
        return rnd.sample(pool, n)
    res = [x for x in rnd.sample(pool, n + 1) if x != eval_doc][:n]
    if len(res) < n:  # several copies of the row were drawn: draw again from the pool without it
        res = rnd.sample([x for x in pool if x != eval_doc], n)
    return res


# ---------------------------------------------------------------------------------------------------------------
# Gold answers and filters


def _gold_index(target: Any, choices: list[str]) -> int | list[int]:
    """The right choice's index (lm-eval: an int, a choice's text, or a list of ints)."""
    if isinstance(target, list):
        return [_gold_index(t, choices) for t in target]  # type: ignore[misc]
    if isinstance(target, bool):
        target = int(target)
    if isinstance(target, int):
        if not 0 <= target < len(choices):
            raise _Skip(f"answer index {target} is out of range for {len(choices)} choices")
        return target
    if isinstance(target, str):
        if target in choices:
            return choices.index(target)
        raise _Skip(f"answer {target[:60]!r} is not one of the choices {choices[:6]} (for an index, write "
                    "doc_to_target as a template: \"{{answer}}\")")
    raise _Skip(f"doc_to_target gave {target!r} ({type(target).__name__}), not an index or a choice")


def _gold_text(target: Any, choices: list[str]) -> str | list[str]:
    if choices:
        if not isinstance(target, int) or not 0 <= target < len(choices):
            raise _Skip(f"answer {target!r} is not an index into the {len(choices)} choices")
        return choices[target]
    if isinstance(target, list):
        return [str(t) for t in target]
    return str(target)


def _apply_filters(steps, response: str) -> str:
    """lm-eval's declarative filters on one response (take_first is a no-op for one greedy generation)."""
    for step in steps:
        kw = step.model_extra or {}
        if step.function == "regex":
            found = re.findall(kw.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"), response)
            if found:
                match = found[kw.get("group_select", 0)]
                if isinstance(match, tuple):
                    match = next((m for m in match if m), kw.get("fallback", "[invalid]"))
                response = match.strip()
            else:
                response = kw.get("fallback", "[invalid]")
        elif step.function == "remove_whitespace":
            response = response.strip()
        elif step.function == "lowercase":
            response = response.lower()
        elif step.function == "uppercase":
            response = response.upper()
        elif step.function == "map":
            response = (kw.get("mapping_dict") or {}).get(response, kw.get("default_value"))
    return response
