"""Model wrappers: load a local causal LM and score, generate and chat with lm-evaluation-harness's numbers.

:func:`load_lm` reads a model folder (or a jazari run directory's ``model/``): safetensors only, no remote code,
nothing fetched. :class:`LM` gives what an evaluation needs, with the conventions of lm-eval's ``hf`` backend
(``HFLM``): ``loglikelihood`` (trailing spaces of the context moved to the continuation, continuation tokens =
``encode(context + continuation)[len(encode(context)):]``, the prefix token for an empty context, left truncation,
BOS as the tokenizer adds it), ``loglikelihood_rolling`` (disjoint windows of ``max_length``), greedy ``generate``
with stop sequences, and ``chat`` with the tokenizer's chat template. It is faster than lm-eval: requests sorted
by length and batched, the context shared by the choices of an item computed once (``prefix_reuse``), only the
scored positions through the output layer. Heavy libraries (torch, transformers) are imported on first use.

Example::

    >>> from jazari_nlp import load_lm
    >>> lm = load_lm("runs/quickstart")                       # the run's model/ folder
    >>> lm.loglikelihood([("Salam, kif", " dayr?"), ("Salam, kif", " ntuma?")])
    [(-9.81, False), (-12.4, False)]
    >>> lm.generate(["ⴰⵣⵓⵍ"], until=["\\n"], max_gen_toks=20)
    [' ⴼⵍⵍⴰⵡⵏ']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.modeling.loading import (
    load_error,
    load_tokenizer,
    model_folder,
    resolve_max_length,
    torch_dtype,
    with_adapter,
)
from jazari_nlp.modeling.scoring import Pair, Scorer, rolling_windows

log = logging.getLogger("jazari_nlp.models")

Progress = bool | Callable[[int], None] | None


# ------------------------------------------------------------------------------------------------ loading


def load_lm(
    path: str | Path,
    *,
    dtype: Any = "auto",
    device: str = "auto",
    adapter: str | Path | None = None,
    max_length: int | None = None,
    add_bos_token: bool | None = None,
    attn_implementation: str | None = None,
) -> LM:
    """Load a local causal LM and its tokenizer (same folder; a run directory's ``tokenizer/`` if the model folder
    has none). ``dtype="auto"``: bf16 on a CUDA GPU that supports it, else fp32; ``device="auto"``: cuda if
    available, else cpu; ``adapter``: a peft (LoRA) adapter folder; ``max_length``: the config's
    ``max_position_embeddings``/``n_positions`` unless given; ``add_bos_token``: as lm-eval's argument (None: the
    tokenizer's default). Example: ``lm = load_lm("runs/quickstart", dtype="float32", device="cpu")``."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = model_folder(path)
    tokenizer = load_tokenizer(folder, add_bos_token)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
    dtype_ = torch_dtype(dtype, dev)
    kwargs: dict[str, Any] = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=dtype_, local_files_only=True, trust_remote_code=False, use_safetensors=True,
            **kwargs,
        )
    except (ValueError, KeyError, OSError) as e:
        raise load_error(folder, e) from None
    if adapter is not None:
        model = with_adapter(model, Path(adapter), tokenizer)
    model.to(dev)
    model.eval()
    lm = LM(model, tokenizer, max_length=max_length, add_bos_token=add_bos_token, path=folder)
    lm.adapter = Path(adapter) if adapter is not None else None  # hashed into results.json and the request cache
    return lm


# ------------------------------------------------------------------------------------------------- the LM


class LM:
    """A causal LM and its tokenizer, with lm-eval's scoring and generation conventions.

    Build it with :func:`load_lm`, or wrap a model already in memory: ``LM(model, tokenizer)``.
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = None,
                 add_bos_token: bool | None = None, prefix_token_id: int | None = None,
                 path: str | Path | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.path = Path(path) if path is not None else None
        self.add_bos_token = add_bos_token
        self.max_length = int(max_length) if max_length else resolve_max_length(model.config, tokenizer)
        self._custom_prefix = prefix_token_id
        if getattr(tokenizer, "pad_token_id", None) is None:
            # lm-eval's configure_pad_token, without adding a token the embeddings lack.
            pad = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.eos_token_id
            if pad is not None:
                tokenizer.pad_token_id = pad
        config = getattr(model, "config", None)
        window = getattr(config, "sliding_window", None) if getattr(config, "use_sliding_window", True) else None
        self._scorer = Scorer(model, self.max_length, sliding_window=window if isinstance(window, int) else None)
        self._prefix_text: str | None = None
        self.adapter: Path | None = None  # the peft adapter folder load_lm applied, if any

    # ------------------------------------------------------------------------------------------ properties

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    @property
    def eot_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        """The token that stands for an empty context: BOS, else EOS (lm-eval's ``prefix_token_id``)."""
        if self._custom_prefix is not None:
            return self._custom_prefix
        if self.tokenizer.bos_token_id is not None:
            return self.tokenizer.bos_token_id
        if self.tokenizer.eos_token_id is None:
            raise InputError(f"{self.path or 'the tokenizer'}: the tokenizer has neither a BOS nor an EOS token, "
                             "needed to score text with no context: set bos_token or eos_token in "
                             "tokenizer_config.json")
        return self.tokenizer.eos_token_id

    # ---------------------------------------------------------------------------------------- tokenization

    def tok_encode(self, string: str, add_special_tokens: bool | None = None) -> list[int]:
        """lm-eval's ``tok_encode``: special tokens as the tokenizer adds them (or ``add_bos_token``), none when
        the text already starts with the prefix token. Example: ``lm.tok_encode("salam")``."""
        return self.encode_many([string], add_special_tokens)[0]

    def encode_many(self, strings: Sequence[str], add_special_tokens: bool | None = None) -> list[list[int]]:
        """:meth:`tok_encode` of many strings in one batched tokenizer call (distinct strings encoded once)."""
        if self._prefix_text is None:
            self._prefix_text = self.tokenizer.decode(self.prefix_token_id)
        by_flag: dict[bool, list[str]] = {}
        for s in dict.fromkeys(strings):
            by_flag.setdefault(self._special_flag(s, add_special_tokens), []).append(s)
        enc: dict[tuple[bool, str], list[int]] = {}
        for flag, group in by_flag.items():
            for s, ids in zip(group, self.tokenizer(group, add_special_tokens=flag)["input_ids"], strict=True):
                enc[(flag, s)] = list(ids)
        return [enc[(self._special_flag(s, add_special_tokens), s)] for s in strings]

    def _special_flag(self, s: str, add_special_tokens: bool | None) -> bool:
        if add_special_tokens is not None:
            return add_special_tokens
        if s.startswith(self._prefix_text):  # type: ignore[arg-type]  (lm-eval's has_bos_prefix, quirks included)
            return False
        return True if self.add_bos_token is None else self.add_bos_token

    def encode_pairs(self, requests: Sequence[tuple[str, str]]) -> list[Pair]:
        """``(context, continuation)`` strings → token lists, as lm-eval's ``loglikelihood`` + ``_encode_pair``."""
        ctxs, conts = [], []
        for context, continuation in requests:
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces:  # the spaces belong to the continuation's first word
                continuation = context[-n_spaces:] + continuation
                context = context[:-n_spaces]
            ctxs.append(context)
            conts.append(continuation)
        full = [c + k for c, k in zip(ctxs, conts, strict=True) if c]
        encoded = dict(zip(full + [c for c in ctxs if c], self.encode_many(full + [c for c in ctxs if c]),
                           strict=True))
        bare = [k for c, k in zip(ctxs, conts, strict=True) if not c]
        bare_enc = dict(zip(bare, self.encode_many(bare, add_special_tokens=False), strict=True))
        pairs: list[Pair] = []
        for c, k in zip(ctxs, conts, strict=True):
            ctx_enc = encoded[c] if c else []
            if ctx_enc:
                pairs.append((ctx_enc, encoded[c + k][len(ctx_enc):]))
                continue
            cont = bare_enc[k] if not c else self.encode_many([k], add_special_tokens=False)[0]
            prefix = self.prefix_token_id
            if not cont or cont[0] != prefix:
                pairs.append(([prefix], cont))  # empty context: the prefix token (BOS, else EOS) stands for it
            else:
                pairs.append((cont[:1], cont[1:]))
        return pairs

    # ------------------------------------------------------------------------------------------- scoring

    def loglikelihood(self, requests: Sequence[tuple[str, str]], batch_size: int | str = "auto",
                      progress: Progress = None, prefix_reuse: bool = True) -> list[tuple[float, bool]]:
        """``(sum of log-probs of the continuation given the context, is it the greedy continuation)`` for each
        ``(context, continuation)``, as lm-eval's ``HFLM.loglikelihood``. ``prefix_reuse=False``: one sequence
        per request (lm-eval's way, for comparison). Example: ``lm.loglikelihood([("Salam", " 3likom")])``."""
        return self.loglikelihood_tokens(self.encode_pairs(requests), batch_size=batch_size, progress=progress,
                                         prefix_reuse=prefix_reuse)

    def score(self, context: str, continuations: Sequence[str], batch_size: int | str = "auto") -> list[float]:
        """Log-probabilities of each continuation after one context (a multiple-choice item), the way the harness
        scores choices. Example: ``lm.score("Salam, kif", [" dayr?", " ntuma?"])`` → ``[-9.8, -12.4]``."""
        return [ll for ll, _ in self.loglikelihood([(context, c) for c in continuations], batch_size=batch_size)]

    def loglikelihood_tokens(self, pairs: Sequence[Pair], batch_size: int | str = "auto",
                             progress: Progress = None, prefix_reuse: bool = True) -> list[tuple[float, bool]]:
        """:meth:`loglikelihood` of already tokenized ``(context_tokens, continuation_tokens)`` pairs."""
        with _progress_bar(progress, len(pairs), "scoring") as tick:
            try:
                return self._scorer.score(list(pairs), batch_size=batch_size, prefix_reuse=prefix_reuse,
                                          progress=tick)
            except ValueError as e:
                raise InputError(f"{self.path or 'model'}: {e}") from None

    def loglikelihood_rolling(self, texts: Sequence[str], batch_size: int | str = "auto",
                              progress: Progress = None, prefix_reuse: bool = True) -> list[float]:
        """Log-likelihood of each whole text (perplexity), in disjoint windows of ``max_length`` tokens, the first
        conditioned on the prefix token: lm-eval's ``loglikelihood_rolling``. Example:
        ``lm.loglikelihood_rolling(["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ"])``."""
        owners, pairs = [], []
        for t, toks in enumerate(self.encode_many(list(texts))):
            for w in rolling_windows(toks, self.prefix_token_id, self.max_length, context_len=1):
                owners.append(t)
                pairs.append(w)
        totals = [0.0] * len(texts)
        for t, (lp, _) in zip(owners, self.loglikelihood_tokens(pairs, batch_size, progress, prefix_reuse),
                              strict=True):
            totals[t] += lp
        return totals

    # ---------------------------------------------------------------------------------------- generation

    def generate(self, contexts: Sequence[str], *, until: Sequence[str] | str | None = None,
                 max_gen_toks: int = 256, batch_size: int | str = "auto", progress: Progress = None) -> list[str]:
        """Greedy continuations, batched with left padding, each cut at the first stop sequence (``until`` and the
        EOS): the same strings as lm-eval's ``generate_until``. The context is left-truncated to leave room for
        ``max_gen_toks`` new tokens. Example: ``lm.generate(["Salam,"], until=["\\n"], max_gen_toks=32)``."""
        import torch

        if not contexts:
            return []
        stops = [until] if isinstance(until, str) else list(until or [])
        eos = self.tokenizer.decode(self.eot_token_id, skip_special_tokens=False) if self.eot_token_id is not None \
            else None
        if eos is not None and eos not in stops:
            stops.append(eos)
        max_ctx = self.max_length - int(max_gen_toks)
        if max_ctx <= 0:
            raise InputError(f"max_gen_toks={max_gen_toks} leaves no room for a context: the model reads at most "
                             f"{self.max_length} tokens; lower max_gen_toks")
        encs = [e[-max_ctx:] or [self.prefix_token_id] for e in self.encode_many(list(contexts))]
        order = sorted(range(len(contexts)), key=lambda i: (-len(encs[i]), contexts[i]))  # lm-eval's order
        out: list[str] = [""] * len(contexts)
        device = self.device
        auto = batch_size == "auto"
        bs = (64 if device.type == "cuda" else 16) if auto else int(batch_size)
        pos = 0
        with _progress_bar(progress, len(contexts), "generating") as tick:
            while pos < len(order):
                chunk = order[pos : pos + bs]
                try:
                    texts = self._generate_batch([encs[i] for i in chunk], stops, int(max_gen_toks))
                except torch.cuda.OutOfMemoryError:
                    if not auto or bs == 1:
                        raise
                    bs //= 2
                    torch.cuda.empty_cache()
                    continue
                for i, t in zip(chunk, texts, strict=True):
                    out[i] = t
                pos += len(chunk)
                if tick is not None:
                    tick(len(chunk))
        return out

    def _generate_batch(self, encs: list[list[int]], stops: list[str], max_gen_toks: int) -> list[str]:
        import torch
        from transformers import StoppingCriteriaList

        width = max(len(e) for e in encs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(encs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encs), width), dtype=torch.long)
        for b, e in enumerate(encs):  # left padding: every row's next token comes at the same position
            ids[b, width - len(e):] = torch.tensor(e)
            mask[b, width - len(e):] = 1
        kwargs: dict[str, Any] = {}
        if getattr(getattr(self.model, "generation_config", None), "eos_token_id", None) is None \
                and self.eot_token_id is not None:
            kwargs["eos_token_id"] = self.eot_token_id
        device = self.device
        with torch.inference_mode():
            seqs = self.model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_gen_toks,
                do_sample=False, num_beams=1, pad_token_id=pad, use_cache=True,
                stopping_criteria=StoppingCriteriaList([_stop_on(self.tokenizer, stops, width)]), **kwargs,
            )
        texts = self.tokenizer.batch_decode(seqs[:, width:].tolist(), skip_special_tokens=True)
        return [_cut(t, stops) for t in texts]

    # ---------------------------------------------------------------------------------------------- chat

    def apply_chat_template(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The prompt text of a conversation (``[{"role": "user", "content": ...}, ...]``) by the tokenizer's chat
        template, as lm-eval's ``HFLM.apply_chat_template``. Example:
        ``lm.apply_chat_template([{"role": "user", "content": "Salam!"}])``."""
        import jinja2

        if not getattr(self.tokenizer, "chat_template", None):
            where = self.path or "the tokenizer"
            raise InputError(f"{where}: the tokenizer has no chat template (chat_template in tokenizer_config.json "
                             "or chat_template.jinja): use a chat/instruct model, or set tokenizer.chat_template")
        kwargs = {"tokenize": False, "add_generation_prompt": add_generation_prompt,
                  "continue_final_message": not add_generation_prompt}
        try:
            return self.tokenizer.apply_chat_template(messages, **kwargs)
        except jinja2.exceptions.TemplateError:
            # Templates that refuse a system turn: lm-eval drops it and retries.
            log.warning("the chat template failed; retrying without the system message")
            return self.tokenizer.apply_chat_template([m for m in messages if m.get("role") != "system"], **kwargs)

    def chat(self, messages: list[dict[str, str]] | list[list[dict[str, str]]], *,
             until: Sequence[str] | str | None = None, max_gen_toks: int = 256,
             batch_size: int | str = "auto") -> str | list[str]:
        """The model's reply to a conversation (or a list of conversations → a list of replies), greedy, by the
        chat template. Example: ``lm.chat([{"role": "user", "content": "Salam!"}], max_gen_toks=64)``."""
        many = bool(messages) and isinstance(messages[0], list)
        convs = messages if many else [messages]
        prompts = [self.apply_chat_template(c) for c in convs]  # type: ignore[arg-type]
        replies = self.generate(prompts, until=until, max_gen_toks=max_gen_toks, batch_size=batch_size)
        return replies if many else replies[0]


# ------------------------------------------------------------------------------------------------ helpers


def _cut(text: str, stops: Sequence[str]) -> str:
    """The text before the first stop sequence (lm-eval's ``postprocess_generated_text``)."""
    for s in stops:
        if s:
            text = text.split(s)[0]
    return text


def _stop_on(tokenizer: Any, stops: list[str], start: int) -> Any:
    """A stopping criterion that ends each row once its generated text holds a stop sequence."""
    import torch
    from transformers import StoppingCriteria

    class StopOnStrings(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            texts = tokenizer.batch_decode(input_ids[:, start:].tolist())
            done = [any(s and s in t for s in stops) for t in texts]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StopOnStrings()


@contextmanager
def _progress_bar(progress: Progress, total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """``progress``: True → a rich bar; a function → called with each number of requests done; else nothing."""
    if callable(progress):
        yield progress
        return
    if not progress or total == 0:
        yield None
        return
    from rich.progress import Progress as Bar

    with Bar(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


__all__ = ["LM", "load_lm", "model_folder", "resolve_max_length"]
