"""Chat data for supervised fine-tuning (SFT): rows read and validated, rendered with the tokenizer's chat
template, loss on the tokens of **every** assistant turn and nowhere else.

1. :func:`read_chat_rows`: JSONL / JSON / parquet / CSV / ``save_to_disk`` rows (through
   :mod:`jazari_nlp.readers`) holding a ``messages`` list of ``{role, content}`` or a prompt/response pair
   (turned into ``[system?, user, assistant]``). A row that cannot be trained on is a counted reject with its
   reason (``REASONS``), written to a rejects JSONL when asked; when no row is usable, :class:`InputError`.
2. :func:`render_example`: ``input_ids`` from ``tokenizer.apply_chat_template``; ``labels`` equal to them on
   each assistant turn's content and its end-of-turn token, -100 on the system and user turns, the role
   headers and the generation prompt. A template with ``{% generation %}`` markers (jazari's ``chatml``) gives
   the spans itself (``return_assistant_tokens_mask``); any other is rendered prefix by prefix: turn *i* is
   what ``messages[:i+1]`` adds to ``messages[:i]`` rendered with ``add_generation_prompt=True``, cut after
   the first special token following the content (``<|im_end|>``, ``<|eot_id|>``, ``<end_of_turn>``,
   ``</s>``), so that the newline between turns is scaffolding as it is with the markers. A template for
   which these prefixes do not hold is an :class:`InputError` rather than wrong labels.
3. :func:`sft_dataset`: a ``datasets.Dataset`` of rendered rows (cached as Arrow files in ``cache_dir`` when
   given), truncated to ``max_length`` (counted; a row left with no assistant token is a counted skip) and its
   statistics; :func:`collate_sft` pads a batch on the right (labels with -100).

Example::

    rows, rejects = read_chat_rows(["chat.jsonl"], system="Jawb b darija.")
    ds, stats = sft_dataset(rows, tokenizer, max_length=1024)
    loader = DataLoader(ds, batch_size=8, collate_fn=lambda b: collate_sft(b, tokenizer.pad_token_id))
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from jazari_nlp.errors import InputError
from jazari_nlp.schema import ConfigPath, StrictModel

log = logging.getLogger("jazari_nlp.train")

ROLES = ("system", "user", "assistant")
# Why a row is not trained on. The first five are the chat rules; the others: the row's shape, the reader, the
# template, truncation.
REASONS = {
    "no_assistant_turn": "the conversation has no assistant turn (nothing to learn)",
    "unknown_role": f"a message's role is not one of {', '.join(ROLES)}",
    "roles_out_of_order": "roles out of order: a system turn only first, then user and assistant "
                          "alternating, starting with user",
    "empty_content": "a message's content is empty",
    "content_not_a_string": "a message's content is not a string",
    "no_messages": "the row has neither a messages list nor a prompt/response pair",
    "message_not_an_object": "a message is not a {role, content} object",
    "template_error": "the chat template refused the conversation",
    "assistant_truncated": "every assistant token lies beyond max_length",
    "no_assistant_tokens": "the chat template marks no assistant token",
}
IGNORE = -100
_GENERATION_TAG = re.compile(r"{%-?\s*generation\s*-?%}")
CACHE_VERSION = "sft-v1"  # bump when the rendering changes: older caches are ignored, never misread


class SFTConfig(StrictModel):
    """Chat data for ``mode: sft`` (mounted as ``train.sft``).

    Example::

        sft: {messages_field: conversation, system_prompt: "Nta m3awen kayjawb b darija.", max_length: 2048}
    """

    messages_field: str = Field("messages", description="Field of a row holding the list of {role, content} "
                                "messages (roles system, user, assistant).")
    prompt_field: str = Field("prompt", description="Field of the user turn of a row without messages "
                              "(a prompt/response pair).")
    response_field: str = Field("response", description="Field of the assistant turn of a prompt/response "
                                "row.")
    system_prompt: str | None = Field(None, description="System message put first in every prompt/response "
                                      "row (rows with a messages list keep theirs).")
    max_length: int = Field(1024, ge=8, description="Tokens per conversation; longer ones are truncated "
                            "(counted), and skipped when no assistant token is left.")
    rejects: ConfigPath | None = Field(None, description="JSONL file receiving the rows not trained on, each "
                                       "with its file, line and reason (None: only counted).")


# ------------------------------------------------------------------------------------------------ reading


def read_chat_rows(
    files: Iterable[str | Path],
    *,
    messages_field: str = "messages",
    prompt_field: str = "prompt",
    response_field: str = "response",
    system: str | None = None,
    rejects_path: str | Path | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The usable conversations of ``files`` and the rejected rows.

    A row is ``{"messages": [{"role", "content"}...], "file", "line"}``; a reject is ``{"file", "line",
    "reason", "detail", "row"}`` (``reason`` a key of ``REASONS``, or the reader's: ``malformed_json``...).
    Rejects are logged per reason and written to ``rejects_path`` (JSONL) when given. When no row of the files
    is usable: :class:`InputError` naming the files and the most common reasons.

    Example: ``rows, rejects = read_chat_rows(["sft/*.jsonl"], system="Jawb b darija.")``
    """
    from jazari_nlp.readers import ReadOptions, expand_inputs, iter_items

    paths, empty, _ = expand_inputs(files)
    if empty:
        raise InputError(f"chat data: no file matches {', '.join(empty)}: check the path (relative to the "
                         "config file)")
    opts = ReadOptions(text_field=messages_field, id_field=None, keep_fields=("*",))
    fields = (messages_field, prompt_field, response_field, system)
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for path in paths:
        for item in iter_items(path, opts):
            # a row whose messages are a list (not a string) is a reader "missing_text_field": ours to read
            if item.error and item.error != "missing_text_field":
                rejects.append({"file": str(path), "line": item.line, "reason": item.error,
                                "detail": str(item.extra.get("error", "")), "row": item.text})
                continue
            row = item.fields if item.error else {**item.fields, messages_field: item.text}
            messages, reason, detail = chat_messages(row, *fields)
            if reason:
                rejects.append({"file": str(path), "line": item.line, "reason": reason, "detail": detail,
                                "row": _jsonable(row)})
            else:
                rows.append({"messages": messages, "file": str(path), "line": item.line})
    if rejects:
        counts = Counter(r["reason"] for r in rejects)
        log.warning("chat data: %d of %d rows not usable (%s)%s", len(rejects), len(rows) + len(rejects),
                    ", ".join(f"{n} {k}" for k, n in counts.most_common()),
                    f", written to {rejects_path}" if rejects_path else "")
        if rejects_path:
            write_rejects(rejects, Path(rejects_path))
    if not rows:
        names = ", ".join(map(str, paths)) or "(no files)"
        if not rejects:
            raise InputError(f"chat data: {names} holds no rows: give JSONL/parquet rows with a "
                             f"`{messages_field}` list or `{prompt_field}`/`{response_field}` fields")
        raise InputError(f"chat data: no usable conversation in {names}: every row was rejected "
                         f"({_top_reasons(rejects)}); rows need a `{messages_field}` list of "
                         f"{{role, content}} with an assistant turn, or `{prompt_field}`/`{response_field}` "
                         "fields"
                         + (f"; rejects written to {rejects_path}" if rejects_path else ""))
    return rows, rejects


def chat_messages(row: Any, messages_field: str = "messages", prompt_field: str = "prompt",
                  response_field: str = "response", system: str | None = None
                  ) -> tuple[list[dict[str, str]] | None, str | None, str]:
    """``(messages, None, "")`` for a usable row, ``(None, reason, detail)`` otherwise.

    Example: ``chat_messages({"prompt": "salam", "response": "wa 3alikom salam"})[0]`` →
    ``[{"role": "user", "content": "salam"}, {"role": "assistant", "content": "wa 3alikom salam"}]``
    """
    if not isinstance(row, dict):
        return None, "no_messages", f"the row is a {type(row).__name__}, not an object"
    raw = row.get(messages_field)
    if raw is None and (prompt_field in row or response_field in row):
        raw = [{"role": "system", "content": system}] if system is not None else []
        raw.append({"role": "user", "content": row.get(prompt_field)})
        if row.get(response_field) is not None:
            raw.append({"role": "assistant", "content": row.get(response_field)})
    if isinstance(raw, str):  # a messages list stored as a JSON string (a CSV/TSV cell)
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, "no_messages", f"`{messages_field}` is a string that is not a JSON list"
    if not isinstance(raw, (list, tuple)):
        found = "missing" if raw is None else f"a {type(raw).__name__}"
        return None, "no_messages", (f"`{messages_field}` is {found} and there is no "
                                     f"`{prompt_field}`/`{response_field}` pair")
    return validate_messages(raw)


def validate_messages(raw: list | tuple) -> tuple[list[dict[str, str]] | None, str | None, str]:
    """Check a messages list against the chat rules; keeps only ``role`` and ``content`` of each message.

    Example: ``validate_messages([{"role": "assistant", "content": "ahlan"}])[1]`` → ``'roles_out_of_order'``
    """
    messages = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            return None, "message_not_an_object", f"message {i} is a {type(m).__name__}"
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            return None, "unknown_role", f"message {i} has role {role!r}; known roles: {', '.join(ROLES)}"
        if not isinstance(content, str):
            found = "missing" if content is None else f"a {type(content).__name__}"
            return None, "content_not_a_string", f"message {i} ({role}): content is {found}"
        if not content.strip():
            return None, "empty_content", f"message {i} ({role}) has empty content"
        messages.append({"role": role, "content": content})
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        return None, "no_assistant_turn", f"roles {roles}"
    start = 1 if roles[0] == "system" else 0
    for i, role in enumerate(roles[start:], start):
        expected = "user" if (i - start) % 2 == 0 else "assistant"
        if role != expected:
            return None, "roles_out_of_order", f"message {i} is {role}, expected {expected} (roles {roles})"
    return messages, None, ""


def write_rejects(rejects: list[dict[str, Any]], path: Path) -> None:
    """One JSON object per rejected row (file, line, reason, detail, row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rejects:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def _jsonable(row: Any) -> Any:
    return json.loads(json.dumps(row, ensure_ascii=False, default=str))


def _top_reasons(rejects: list[dict[str, Any]], n: int = 3) -> str:
    counts = Counter(r["reason"] for r in rejects)
    return ", ".join(f"{k}: {c}" for k, c in counts.most_common(n))


# ------------------------------------------------------------------------------------------------ rendering


def chat_template_of(tokenizer: Any) -> str:
    """The tokenizer's chat template; without one, an :class:`InputError` saying how to add one."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # several named templates: the one apply_chat_template uses
        template = template.get("default")
    if not template:
        raise InputError(
            "tokenizer.chat_template: the tokenizer has no chat template, so SFT cannot render conversations"
            ": set `chat_template: chatml` in the tokenizer section of the config (and retrain or extend the "
            "tokenizer), or give the tokenizer one in Python with "
            "jazari_nlp.tokenization.chat.set_chat_template(tokenizer, 'chatml') and save it")
    if not getattr(tokenizer, "is_fast", False):
        raise InputError("tokenizer: SFT needs a fast tokenizer (a folder with tokenizer.json) to find the "
                         "assistant tokens; convert it with AutoTokenizer.from_pretrained(...)"
                         ".save_pretrained()")
    return template


def has_generation_markers(template: str) -> bool:
    """True when the template wraps assistant content in ``{% generation %}`` (the assistant mask)."""
    return bool(_GENERATION_TAG.search(template))


def render_example(tokenizer: Any, messages: list[dict[str, str]], *,
                   max_length: int) -> dict[str, list[int]]:
    """``{"input_ids", "labels", "attention_mask"}`` of one conversation, cut to ``max_length`` tokens;
    ``labels`` = ``input_ids`` on every assistant turn (content + end-of-turn token), -100 elsewhere.

    Example: ``render_example(tok, [{"role": "user", "content": "salam"}, {"role": "assistant",
    "content": "ahlan"}], max_length=512)["labels"]`` → ``[-100, ..., id("ahlan"), id("<|im_end|>"), -100]``
    """
    ids, labels = render_full(tokenizer, messages)
    ids, labels = ids[:max_length], labels[:max_length]
    return {"input_ids": ids, "labels": labels, "attention_mask": [1] * len(ids)}


def render_full(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of the whole conversation, untruncated (see :func:`render_example`)."""
    template = chat_template_of(tokenizer)
    if has_generation_markers(template):
        out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids = list(out["input_ids"])
        mask = out["assistant_masks"]
    else:
        ids, mask = _prefix_mask(tokenizer, messages)
    return ids, [t if m else IGNORE for t, m in zip(ids, mask, strict=True)]


def _prefix_mask(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Assistant spans found by rendering prefixes, for templates without ``{% generation %}``."""
    def render(msgs: list[dict[str, str]], prompt: bool) -> str:
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=prompt)

    full = render(messages, False)
    specials = sorted({t for t in _special_strings(tokenizer) if t}, key=len, reverse=True)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before, upto = render(messages[:i], True), render(messages[: i + 1], False)
        if not (upto.startswith(before) and full.startswith(upto)):
            where = "messages[:i] with add_generation_prompt=True is not a prefix of messages[:i+1]" \
                if not upto.startswith(before) else "messages[:i+1] is not a prefix of the whole conversation"
            raise InputError(
                "tokenizer.chat_template: the chat template is not prefix-stable, so the assistant tokens "
                f"cannot be found (turn {i}: rendering {where}; it rewrites earlier turns or its generation "
                "prompt differs from the assistant header): wrap the assistant content in {% generation %}..."
                "{% endgeneration %} (as jazari's chatml does) or use `chat_template: chatml`")
        start, turn = len(before), upto[len(before):]
        content = m["content"].strip()
        at = turn.find(content)
        search = at + len(content) if at >= 0 else 0
        # the turn ends with the first special token after the content (its end-of-turn token); what follows
        # it (a newline before the next turn) is scaffolding. No such token: the whole rendered turn.
        ends = [turn.find(s, search) + len(s) for s in specials if turn.find(s, search) >= 0]
        spans.append((start, start + (min(ends) if ends else len(turn))))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    mask = [0] * len(enc["input_ids"])
    k = 0
    # a token overlapping a span is in it, as transformers' assistant mask does
    for t, (a, b) in enumerate(enc["offset_mapping"]):
        while k < len(spans) and a >= spans[k][1]:
            k += 1
        if k == len(spans):
            break
        if b > spans[k][0]:
            mask[t] = 1
    return list(enc["input_ids"]), mask


def _special_strings(tokenizer: Any) -> list[str]:
    out = list(getattr(tokenizer, "all_special_tokens", []) or [])
    for added in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values():
        if getattr(added, "special", False):
            out.append(added.content)
    return out


# ------------------------------------------------------------------------------------------------ data sets


def sft_dataset(rows: list[dict[str, Any]], tokenizer: Any, max_length: int,
                cache_dir: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """``(dataset, stats)``: the rows rendered (``input_ids``, ``labels``, ``attention_mask``), truncated to
    ``max_length``, without the rows left with no assistant token. ``stats``: ``rows``, ``kept``, ``skipped``
    (reason → count), ``truncated`` (rows cut, skipped ones included), ``assistant_tokens``, ``total_tokens``
    (of the kept rows, after truncation). With ``cache_dir`` the rendered rows are Arrow files there, keyed by
    the rows, tokenizer and ``max_length``: a second call reads them back. No row kept: :class:`InputError`.

    Example: ``ds, stats = sft_dataset(rows, tok, 1024, cache_dir=run / "cache")``
    """
    import datasets
    from jinja2 import TemplateError

    template = chat_template_of(tokenizer)
    if not rows:
        raise InputError("chat data: no conversation to train on")

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        try:
            ids, labels = render_full(tokenizer, row["messages"])
        except TemplateError as e:
            return _encoded([], [], "template_error", False, str(e)[:500])
        if not any(x != IGNORE for x in labels):
            return _encoded([], [], "no_assistant_tokens", False, "")
        truncated = len(ids) > max_length
        ids, labels = ids[:max_length], labels[:max_length]
        if not any(x != IGNORE for x in labels):
            return _encoded([], [], "assistant_truncated", True, "")
        return _encoded(ids, labels, "", truncated, "")

    source = datasets.Dataset.from_list([{"messages": r["messages"]} for r in rows])
    kwargs: dict[str, Any] = {"keep_in_memory": True}
    if cache_dir is not None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        key = _sha(CACHE_VERSION, _tokenizer_key(tokenizer, template), str(max_length),
                   json.dumps([r["messages"] for r in rows], ensure_ascii=False, sort_keys=True))[:24]
        kwargs = {"cache_file_name": str(cache / f"sft-{key}.arrow"), "new_fingerprint": key}
    rendered = source.map(encode, remove_columns=["messages"], desc="rendering chat rows", **kwargs)
    skip, trunc = rendered["_skip"], rendered["_truncated"]
    kept_idx = [i for i, s in enumerate(skip) if not s]
    stats = {
        "rows": len(rows), "kept": len(kept_idx),
        "skipped": dict(Counter(s for s in skip if s).most_common()),
        "truncated": sum(bool(t) for t in trunc),
        "assistant_tokens": sum(rendered["_assistant_tokens"]),
        "total_tokens": sum(rendered["_length"]), "max_length": max_length,
    }
    if stats["skipped"] or stats["truncated"]:
        log.warning("chat data: %d of %d conversations truncated to %d tokens; %d skipped (%s)",
                    stats["truncated"], len(rows), max_length, len(rows) - len(kept_idx),
                    ", ".join(f"{n} {k}" for k, n in stats["skipped"].items()) or "none")
    if not kept_idx:
        detail = next((d for d in rendered["_detail"] if d), "")
        raise InputError(f"chat data: none of the {len(rows)} conversations can be trained on "
                         f"({', '.join(f'{k}: {n}' for k, n in stats['skipped'].items())})"
                         + (f": {detail}" if detail else "")
                         + ("; raise `train.sft.max_length`" if "assistant_truncated" in stats["skipped"]
                            else ""))
    # select keeps an indices mapping in memory over the (cached) rendered rows: no copy of the token ids
    dataset = rendered.select(kept_idx, keep_in_memory=True) if len(kept_idx) < len(rows) else rendered
    return dataset.remove_columns(["_skip", "_truncated", "_assistant_tokens", "_length", "_detail"]), stats


def _encoded(ids: list[int], labels: list[int], skip: str, truncated: bool, detail: str) -> dict[str, Any]:
    return {"input_ids": ids, "labels": labels, "attention_mask": [1] * len(ids), "_skip": skip,
            "_truncated": truncated, "_assistant_tokens": sum(x != IGNORE for x in labels),
            "_length": len(ids), "_detail": detail}


def collate_sft(batch: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Pad a batch of rendered rows on the right: ``input_ids`` with ``pad_id``, ``labels`` with -100,
    ``attention_mask`` with 0; returns torch tensors.

    Example: ``collate_sft([{"input_ids": [5, 6], "labels": [-100, 6], "attention_mask": [1, 1]}], 0)``
    """
    import torch

    if pad_id is None:
        raise InputError("tokenizer: no pad token id to pad SFT batches with: set `pad_token` in the "
                         "tokenizer section (or pass the eos token id)")
    width = max(len(x["input_ids"]) for x in batch)
    out = {"input_ids": [], "labels": [], "attention_mask": []}
    for x in batch:
        ids, labels = list(x["input_ids"]), list(x["labels"])
        pad = width - len(ids)
        out["input_ids"].append(ids + [pad_id] * pad)
        out["labels"].append(labels + [IGNORE] * pad)
        out["attention_mask"].append([1] * len(ids) + [0] * pad)
    return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}


def _tokenizer_key(tokenizer: Any, template: str) -> str:
    """sha256 of the template and of the files ``save_pretrained`` writes (vocabulary, special tokens)."""
    h = hashlib.sha256(template.encode())
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        for f in sorted(Path(tmp).iterdir()):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _sha(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


__all__ = ["SFTConfig", "REASONS", "read_chat_rows", "chat_messages", "validate_messages", "render_example",
           "render_full", "sft_dataset", "collate_sft", "chat_template_of", "has_generation_markers"]
