"""Token-level scoring for :class:`jazari_nlp.models.LM`: lm-evaluation-harness's numbers, computed faster.

A request is a pair ``(context_tokens, continuation_tokens)``; its answer is ``(sum of the log-probabilities of
the continuation tokens, whether every one of them is the greedy choice)``, exactly as lm-eval's
``HFLM._loglikelihood_tokens``: the model reads ``(context + continuation)[-(max_length + 1):][:-1]`` (left
truncation) and the last ``len(continuation)`` positions are scored.

Two paths give the same numbers (within float rounding):

- *plain*: one sequence per request, right-padded, longest first (lm-eval's way); requests whose model input is
  identical (one-token choices of one context) are computed once.
- *prefix reuse* (packing): the requests that share a context (the choices of a multiple-choice item) become one
  sequence ``context + choice1[:-1] + choice2[:-1] + ...`` with a block attention mask (each choice sees the
  context and itself, never another choice) and position ids that restart after the context for every choice.
  The context is computed once instead of once per choice; one-token choices cost nothing. Only the logits of
  scored positions go through the output layer and the softmax.

Example::

    scorer = Scorer(model, max_length=2048)
    scorer.score([([5, 6, 7], [8, 9]), ([5, 6, 7], [10])], batch_size=16)   # [(-3.1, False), (-0.2, True)]
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("jazari_nlp.models")

Pair = tuple[list[int], list[int]]


def rolling_windows(tokens: list[int], prefix_token: int, max_seq_len: int, context_len: int = 1) -> list[Pair]:
    """lm-eval's ``get_rolling_token_windows`` + ``make_disjoint_window``: disjoint (context, prediction) windows
    in which every token is predicted exactly once, each with as much context as fits.

    >>> rolling_windows([1, 2, 3, 4, 5], prefix_token=0, max_seq_len=3)
    [([0], [1, 2, 3]), ([2, 3], [4, 5])]
    """
    if not 1 <= context_len <= max_seq_len:
        raise ValueError(f"context_len must be in [1, max_seq_len={max_seq_len}], got {context_len}")
    windows: list[Pair] = []
    if not tokens:
        return windows
    pred_len = max_seq_len - context_len + 1
    first = min(max_seq_len, len(tokens))
    windows.append(([prefix_token] + tokens[: first - 1], tokens[:first]))
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, pred_len)
        end = predicted + n
        windows.append((tokens[end - max_seq_len - 1 : end - 1], tokens[end - n : end]))
        predicted += n
    # make_disjoint_window: the context stops where the predicted tokens start.
    return [(a[: len(a) - (len(b) - 1)], b) for a, b in windows]


@dataclass
class _Row:
    """One model input: tokens, position ids (None: 0..n-1), segment ids (packed rows) and what it scores."""

    tokens: list[int]
    positions: list[int] | None = None
    segments: list[int] | None = None
    # (request index, scored positions, target tokens)
    targets: list[tuple[int, list[int], list[int]]] = field(default_factory=list)


class Scorer:
    """Scores token pairs with one model. Example: ``Scorer(model, 2048).score(pairs, batch_size=8)``."""

    def __init__(self, model: Any, max_length: int, *, sliding_window: int | None = None):
        self.model = model
        self.max_length = int(max_length)
        # A packed row must not be longer than the model's attention window: the block mask replaces the
        # model's own mask, so a sliding window would otherwise be lost.
        self.pack_limit = min(self.max_length, sliding_window or self.max_length)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.keeps_logits = "logits_to_keep" in inspect.signature(base.forward).parameters
        self.bool_mask = getattr(getattr(base, "config", None), "_attn_implementation", None) == "sdpa"
        self.packing_ok: bool | None = None  # probed on first use

    # ------------------------------------------------------------------------------------------ public

    def score(
        self,
        pairs: list[Pair],
        *,
        batch_size: int | str = 16,
        prefix_reuse: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[float, bool]]:
        """``(log-likelihood, is_greedy)`` of each pair, in order. An empty continuation scores ``(0.0, True)``."""
        results: list[tuple[float, bool] | None] = [None] * len(pairs)
        todo = []
        for i, (ctx, cont) in enumerate(pairs):
            if not cont:
                results[i] = (0.0, True)
            elif len(cont) > self.max_length:
                raise ValueError(f"a continuation of {len(cont)} tokens is longer than the model's max_length "
                                 f"({self.max_length}): it cannot be scored")
            elif not ctx:
                raise ValueError("a request has no context tokens (give the prefix token as context)")
            else:
                todo.append(i)
        if progress is not None and len(todo) < len(pairs):
            progress(len(pairs) - len(todo))
        packed_rows, plain = [], todo
        if prefix_reuse and todo and self._packing_works():
            packed_rows, plain = self._pack(pairs, todo)
        # Plain and packed rows never share a batch: a plain row in a masked batch would lose the model's own
        # mask (a sliding window). Each kind longest first: honest progress, little padding, OOM at once.
        for rows in (self._plain_rows(pairs, plain), packed_rows):
            rows.sort(key=lambda r: -len(r.tokens))
            for i, lp, greedy in self._run(rows, batch_size, progress):
                results[i] = (lp, greedy)
        return results  # type: ignore[return-value]

    # --------------------------------------------------------------------------------------- building rows

    def _plain_rows(self, pairs: list[Pair], idx: list[int]) -> list[_Row]:
        rows: dict[tuple[int, ...], _Row] = {}
        for i in idx:
            ctx, cont = pairs[i]
            inp = (ctx + cont)[-(self.max_length + 1):][:-1]
            # Same input (one-token choices of one context): one forward pass, each request reads its token.
            row = rows.setdefault(tuple(inp), _Row(tokens=inp))
            n = len(inp)
            row.targets.append((i, list(range(n - len(cont), n)), cont))
        return list(rows.values())

    def _pack(self, pairs: list[Pair], idx: list[int]) -> tuple[list[_Row], list[int]]:
        """Rows ``context + choice[:-1] + ...`` for the contexts shared by several requests; the others go plain."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in idx:
            groups.setdefault(tuple(pairs[i][0]), []).append(i)
        rows: list[_Row] = []
        plain: list[int] = []
        for key, members in groups.items():
            c = len(key)
            fits = [i for i in members if c + len(pairs[i][1]) - 1 <= self.pack_limit]
            plain += [i for i in members if c + len(pairs[i][1]) - 1 > self.pack_limit]
            if len(fits) < 2:
                plain += fits
                continue
            row = None
            for i in fits:
                cont = pairs[i][1]
                extra = len(cont) - 1
                if row is None or len(row.tokens) + extra > self.pack_limit:
                    row = _Row(tokens=list(key), positions=list(range(c)), segments=[0] * c)
                    rows.append(row)
                start = len(row.tokens)
                seg = len(row.targets) + 1
                row.tokens += cont[:-1]
                row.positions += list(range(c, c + extra))  # type: ignore[operator]
                row.segments += [seg] * extra  # type: ignore[operator]
                row.targets.append((i, [c - 1, *range(start, start + extra)], cont))
        return rows, plain

    # --------------------------------------------------------------------------------------------- running

    def _run(self, rows: list[_Row], batch_size: int | str, progress: Callable[[int], None] | None):
        import torch

        device = _device_of(self.model)
        auto = batch_size == "auto"
        if auto:
            bs = _auto_batch(device, len(rows[0].tokens)) if rows else 1
        else:
            bs = int(batch_size)
            if bs < 1:
                raise ValueError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}")
        pos = 0
        while pos < len(rows):
            chunk = rows[pos : pos + bs]
            try:
                out = self._forward(chunk, device)
            except torch.cuda.OutOfMemoryError:
                if not auto or bs == 1:
                    raise
                bs = max(1, bs // 2)
                log.info("out of GPU memory: batch size lowered to %d", bs)
                torch.cuda.empty_cache()
                continue
            pos += len(chunk)
            yield from out
            if progress is not None:
                progress(sum(len(r.targets) for r in chunk))

    def _forward(self, chunk: list[_Row], device: Any) -> list[tuple[int, float, bool]]:
        import torch

        width = max(len(r.tokens) for r in chunk)
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        for b, r in enumerate(chunk):
            ids[b, : len(r.tokens)] = torch.tensor(r.tokens)
        kwargs: dict[str, Any] = {"use_cache": False}
        if any(r.segments is not None for r in chunk):
            kwargs.update(self._block_mask(chunk, width, device))
        first = min(p[0] for r in chunk for _, p, _ in r.targets)
        if self.keeps_logits:
            kwargs["logits_to_keep"] = width - first  # only the scored positions go through the output layer
        else:
            first = 0
        rows_i, pos_i, tgt, req = [], [], [], []
        for b, r in enumerate(chunk):
            for i, positions, targets in r.targets:
                rows_i += [b] * len(positions)
                pos_i += [p - first for p in positions]
                tgt += targets
                req += [i] * len(positions)
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(device), **kwargs).logits
            picked = logits[torch.tensor(rows_i, device=device), torch.tensor(pos_i, device=device)]
            logp = torch.log_softmax(picked.float(), dim=-1)
            t = torch.tensor(tgt, device=device)
            tok_lp = logp.gather(1, t[:, None])[:, 0].double().cpu().tolist()
            hit = (logp.argmax(dim=-1) == t).cpu().tolist()
        sums: dict[int, float] = {}
        greedy: dict[int, bool] = {}
        for i, lp, h in zip(req, tok_lp, hit, strict=True):
            sums[i] = sums.get(i, 0.0) + lp
            greedy[i] = greedy.get(i, True) and bool(h)
        return [(i, sums[i], greedy[i]) for i in sums]

    def _block_mask(self, chunk: list[_Row], width: int, device: Any) -> dict[str, Any]:
        """4D mask (batch, 1, width, width), built on the model's device: a token sees earlier tokens of its own
        segment and the context (segment 0). Padding (segment -1) sees earlier padding and the context, so that
        no row is all-masked (that would give NaN)."""
        import torch

        seg = torch.full((len(chunk), width), -1, dtype=torch.long)
        pos = torch.zeros((len(chunk), width), dtype=torch.long)
        for b, r in enumerate(chunk):
            n = len(r.tokens)
            seg[b, :n] = torch.tensor(r.segments if r.segments is not None else [0] * n)
            pos[b, :n] = torch.tensor(r.positions if r.positions is not None else list(range(n)))
        seg = seg.to(device)
        causal = torch.ones((width, width), dtype=torch.bool, device=device).tril()
        mask = (causal & ((seg[:, :, None] == seg[:, None, :]) | (seg == 0)[:, None, :]))[:, None]
        if not self.bool_mask:  # eager attention adds the mask: 0 where allowed, the dtype's minimum elsewhere
            dtype = _dtype_of(self.model)
            mask = torch.zeros(mask.shape, dtype=dtype, device=device).masked_fill(~mask, torch.finfo(dtype).min)
        return {"attention_mask": mask, "position_ids": pos.to(device)}

    # ------------------------------------------------------------------------------------------- probing

    def _packing_works(self) -> bool:
        """Whether this model honours a custom 4D mask and position ids (most transformers decoders do; flash
        attention and some older architectures do not): checked once on a synthetic item against the plain path."""
        if self.packing_ok is None:
            vocab = int(self.model.get_input_embeddings().weight.shape[0])
            n = max(1, min(12, self.pack_limit // 2))
            room = self.pack_limit - n + 1  # the longest continuation a packed row can take
            ctx = [(7 * k + 3) % vocab for k in range(n)]
            pairs = [(ctx, [(5 * k + 1) % vocab for k in range(min(4, room))]),
                     (ctx, [(11 * k + 2) % vocab for k in range(min(3, room))]), (ctx, [4 % vocab])]
            idx = list(range(len(pairs)))
            try:
                packed_rows, _ = self._pack(pairs, idx)
                packed = {i: lp for i, lp, _ in self._run(packed_rows, 4, None)}
                plain = {i: lp for i, lp, _ in self._run(self._plain_rows(pairs, idx), 4, None)}
                tol = 1e-3 if _dtype_of(self.model).itemsize >= 4 else 0.25
                self.packing_ok = bool(packed) and max(abs(packed[i] - plain[i]) for i in packed) <= tol
            except (TypeError, ValueError, RuntimeError) as e:  # the model refuses the mask or position ids
                log.debug("prefix reuse unavailable: %s", e)
                self.packing_ok = False
            if not self.packing_ok:
                log.warning("this model does not support a block attention mask; scoring without prefix reuse")
        return self.packing_ok


def _device_of(model: Any) -> Any:
    return next(model.parameters()).device


def _dtype_of(model: Any) -> Any:
    return next(model.parameters()).dtype


def _auto_batch(device: Any, longest: int) -> int:
    """``batch_size: auto``: on a GPU, start from ~128k tokens per batch (halved on out-of-memory); on CPU a
    fixed 32 (larger batches stop paying off there)."""
    if getattr(device, "type", "cpu") == "cuda":
        return max(1, min(1024, 131072 // max(1, longest)))
    return 32
