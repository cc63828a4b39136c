"""Learn new BPE tokens on top of an existing BPE tokenizer: BPE training continued from the base segmentation.

The texts are encoded with the base tokenizer (its normalizer, pre-tokenizer and merges), which gives every
word as the sequence of base tokens it becomes. Then, as in BPE training, the most frequent adjacent pair is
merged, again and again; each merge is appended after the base merges and its token gets the next free id.
Because every new merge ranks after every base merge and makes a string the base vocabulary does not have,
the extended tokenizer first segments a word exactly as the base did, then applies the new merges in order:
text in which no new pair occurs tokenizes exactly as before (that is how protected text is kept).

With byte fallback (sentencepiece-style BPE: Llama-2, Mistral, Gemma), a character missing from the base
vocabulary is encoded as its UTF-8 bytes (``<0xE2><0xB5><0xA3>``); adding the character itself is a candidate
too, worth ``occurrences × (bytes - 1)`` tokens, and the pairs it is part of wait until it is added.

Pair counts are kept up to date incrementally (only the words holding the merged pair are recounted) with a
lazy max-heap, so thousands of merges over 10^5 distinct words take seconds in pure Python.

:func:`extended_json` then appends the tokens to the base ``tokenizer.json``.

Example::

    words = segment_words(backend, ["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ"], marker=None)  # Counter({("â", "´", "°", ...): 1, ("Ġ", ...): 1})
    learned = learn_tokens(words, vocab=set(backend.get_vocab()), num_tokens=100, min_frequency=2)
"""

from __future__ import annotations

import functools
import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
METASPACE = "▁"
ENCODE_CHUNK = 10_000  # texts per encode_batch call: parallel in Rust, bounded in memory


@dataclass
class NewToken:
    """One learned token: its vocabulary string, the merge that makes it (None: a character added to the
    alphabet of a byte-fallback tokenizer) and the tokens it saved on the training words when learned."""

    content: str
    merge: tuple[str, str] | None
    gain: int


@dataclass
class Protection:
    """What new tokens must not touch: the adjacent base-token pairs of protected text, its characters that
    fall back to bytes, and its whole words (a tokenizer with ``ignore_merges`` maps a word in the vocabulary
    directly to its token)."""

    pairs: set[tuple[str, str]] = field(default_factory=set)
    chars: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)


@dataclass
class Learned:
    tokens: list[NewToken]
    tokens_before: int  # base tokens on the training words (frequency-weighted)
    tokens_after: int  # the same after the new merges, as simulated here
    distinct_words: int
    skipped_protected: int
    skipped_existing: int


def segment_words(backend: Any, texts: Iterable[str], *, marker: str | None, byte_fallback: bool = False,
                  unk_token: str | None = None) -> Counter[tuple[str, ...]]:
    """Count the words of ``texts`` as tuples of base token strings (the base segmentation).

    Words are the pre-tokenizer's words, cut again before each token that starts with ``marker`` (``▁``) so
    that a tokenizer without a splitting pre-tokenizer (Llama-2: one "word" per line) still yields words; added
    (special) tokens separate words and are never part of one. Byte-fallback tokens are regrouped into the
    character they encode (a symbol missing from the vocabulary); an unknown token becomes the text it covers."""
    # Added (special) tokens cut words; byte tokens are not cut even where a tokenizer lists them as added.
    added = {i for i, t in backend.get_added_tokens_decoder().items()
             if not (byte_fallback and BYTE_TOKEN.match(t.content))}
    counts: Counter[tuple[str, ...]] = Counter()
    chunk: list[str] = []

    def flush() -> None:
        for text, enc in zip(chunk, backend.encode_batch(chunk, add_special_tokens=False), strict=True):
            for word in _words(text, enc, added, marker, byte_fallback, unk_token):
                counts[word] += 1
        chunk.clear()

    for text in texts:
        chunk.append(text)
        if len(chunk) >= ENCODE_CHUNK:
            flush()
    if chunk:
        flush()
    return counts


def _words(text: str, enc: Any, added: set[int], marker: str | None, byte_fallback: bool,
           unk_token: str | None) -> Iterable[tuple[str, ...]]:
    word: list[str] = []
    pending: bytearray = bytearray()  # consecutive byte-fallback tokens of the current word
    last_wid: Any = object()
    for tid, tok, wid, (start, end) in zip(enc.ids, enc.tokens, enc.word_ids, enc.offsets, strict=True):
        byte = BYTE_TOKEN.match(tok) if byte_fallback else None
        cut = tid in added or wid != last_wid or (marker is not None and tok.startswith(marker))
        if pending and (cut or byte is None):
            word.extend(pending.decode("utf-8", errors="replace"))  # the characters the bytes encode
            pending.clear()
        if cut and word:
            yield tuple(word)
            word = []
        last_wid = wid
        if tid in added:
            continue
        if byte is not None:
            pending.append(int(byte.group(1), 16))
        elif unk_token is not None and tok == unk_token:
            word.extend(text[start:end] or tok)  # the unknown character(s) themselves
        else:
            word.append(tok)
    if pending:
        word.extend(pending.decode("utf-8", errors="replace"))
    if word:
        yield tuple(word)


def protection(words: Iterable[tuple[str, ...]], vocab: set[str]) -> Protection:
    """The :class:`Protection` of protected text segmented by :func:`segment_words`."""
    prot = Protection()
    for word in words:
        prot.words.add("".join(word))
        prot.pairs.update(zip(word, word[1:], strict=False))
        prot.chars.update(s for s in word if s not in vocab)
    return prot


def learn_tokens(
    words: Counter[tuple[str, ...]],
    *,
    vocab: set[str],
    num_tokens: int,
    min_frequency: int = 2,
    byte_fallback: bool = False,
    protect: Protection | None = None,
    taken: set[str] = frozenset(),  # type: ignore[assignment]
    on_token: Callable[[NewToken], None] | None = None,
) -> Learned:
    """Greedily learn up to ``num_tokens`` tokens that most reduce the token count of ``words``.

    ``vocab``: the base vocabulary strings (a symbol not in it is a character that falls back to bytes, or to
    the unknown token without ``byte_fallback``); ``taken``: more strings no new token may be (added tokens).
    A pair or character is a candidate while it occurs at least ``min_frequency`` times.

    >>> learn_tokens(Counter({("a", "b", "c"): 3}), vocab={"a", "b", "c"}, num_tokens=5).tokens[0].content
    'ab'
    """
    protect = protect or Protection()
    taken = set(taken) | set(vocab)
    sym: list[str] = []
    sid: dict[str, int] = {}

    def symbol(s: str) -> int:
        if s not in sid:
            sid[s] = len(sym)
            sym.append(s)
        return sid[s]

    wsyms = [[symbol(s) for s in w] for w in words]
    wfreq = list(words.values())
    known = [s in vocab for s in sym]
    # Tokens a symbol costs: 1, or its UTF-8 bytes when it falls back to bytes.
    cost = [1 if k or not byte_fallback else len(s.encode("utf-8")) for s, k in zip(sym, known, strict=True)]
    tokens_before = sum(f * sum(cost[s] for s in w) for w, f in zip(wsyms, wfreq, strict=True))

    pair_count: defaultdict[tuple[int, int], int] = defaultdict(int)
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
    char_occ: Counter[int] = Counter()
    for wi, (w, f) in enumerate(zip(wsyms, wfreq, strict=True)):
        for p in zip(w, w[1:], strict=False):
            pair_count[p] += f
            where[p].add(wi)
        for s in w:
            if not known[s]:
                char_occ[s] += f
    # Heap entries: (-gain, kind, a, b); kind 0 = merge of the pair (a, b), kind 1 = add the character a.
    # Lazy: an entry may be stale (the pair's count fell since); it is checked, and re-pushed, when popped.
    heap = [(-c, 0, a, b) for (a, b), c in pair_count.items() if c >= min_frequency]
    for s, occ in char_occ.items():
        if occ >= min_frequency:
            heap.append((-(occ * (cost[s] - 1) if byte_fallback else occ), 1, s, -1))
    heapq.heapify(heap)
    blocked: set[tuple[int, int]] = set()
    deferred: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)  # pairs waiting for a character
    out: list[NewToken] = []
    skipped_protected = skipped_existing = 0

    def push(p: tuple[int, int]) -> None:
        c = pair_count.get(p, 0)
        if c >= min_frequency and p not in blocked:
            heapq.heappush(heap, (-c, 0, *p))

    while heap and len(out) < num_tokens:
        neg, kind, a, b = heapq.heappop(heap)
        if kind == 1:  # a character missing from the vocabulary
            if sym[a] in protect.chars:
                skipped_protected += 1
                continue
            known[a], cost[a] = True, 1
            out.append(NewToken(sym[a], None, -neg))
            for p in deferred.pop(a, []):
                push(p)
        else:
            p = (a, b)
            if p in blocked:
                continue
            c = pair_count.get(p, 0)
            if c != -neg:  # stale entry
                push(p)
                continue
            if not (known[a] and known[b]):
                deferred[a if not known[a] else b].append(p)
                continue
            s = sym[a] + sym[b]
            if (sym[a], sym[b]) in protect.pairs or s in protect.words:
                skipped_protected += 1
                blocked.add(p)
                continue
            if s in taken:  # the base has this string already (reached by another path), or an added token
                skipped_existing += 1
                blocked.add(p)
                continue
            taken.add(s)
            new = symbol(s)
            known.append(True)
            cost.append(1)
            _merge(p, new, wsyms, wfreq, pair_count, where, push)
            out.append(NewToken(s, (sym[a], sym[b]), c))
        if on_token is not None:
            on_token(out[-1])
    tokens_after = sum(f * sum(cost[s] for s in w) for w, f in zip(wsyms, wfreq, strict=True))
    return Learned(out, tokens_before, tokens_after, len(wsyms), skipped_protected, skipped_existing)


def _merge(p: tuple[int, int], new: int, wsyms: list[list[int]], wfreq: list[int],
           pair_count: defaultdict[tuple[int, int], int], where: defaultdict[tuple[int, int], set[int]],
           push: Callable[[tuple[int, int]], None]) -> None:
    """Merge ``p`` into ``new`` in every word holding it (left to right, as the BPE model applies a merge),
    updating only those words' pair counts; pairs whose count grew are pushed."""
    a, b = p
    delta: defaultdict[tuple[int, int], int] = defaultdict(int)
    for wi in where.pop(p, ()):
        old, f = wsyms[wi], wfreq[wi]
        merged: list[int] = []
        i = 0
        while i < len(old):
            if i + 1 < len(old) and old[i] == a and old[i + 1] == b:
                merged.append(new)
                i += 2
            else:
                merged.append(old[i])
                i += 1
        if len(merged) == len(old):
            continue  # stale index entry: the pair left this word
        old_pairs = list(zip(old, old[1:], strict=False))
        new_pairs = list(zip(merged, merged[1:], strict=False))
        for q in old_pairs:
            delta[q] -= f
        for q in new_pairs:
            delta[q] += f
        for q in set(old_pairs) - set(new_pairs):
            if q != p:
                where[q].discard(wi)
        for q in new_pairs:
            where[q].add(wi)
        wsyms[wi] = merged
    for q, d in delta.items():
        if d == 0:
            continue
        pair_count[q] += d
        if pair_count[q] <= 0:
            del pair_count[q]
            where.pop(q, None)
        elif d > 0:
            push(q)
    pair_count.pop(p, None)


def extended_json(tj: dict[str, Any], tokens: list[NewToken], new_ids: list[int]) -> dict[str, Any]:
    """``tj`` (a parsed tokenizer.json, changed in place and returned) with ``tokens`` appended: each one in the
    vocabulary at its new id, its merge (if any) after the base merges, in the base's merges format."""
    model = tj["model"]
    merges = model.setdefault("merges", [])
    as_strings = bool(merges) and isinstance(merges[0], str)
    if as_strings and any(" " in s for t in tokens if t.merge for s in t.merge):
        merges[:] = [m.split(" ", 1) for m in merges]  # "a b" cannot hold a token with a space
        as_strings = False
    for added in tj.get("added_tokens", []):
        # tokenizers gives an added token outside the model's vocabulary the id len(vocab) when it loads the
        # file: with new entries, that would be a new id. Inside the vocabulary it keeps its id.
        model["vocab"].setdefault(added["content"], added["id"])
    for i, t in zip(new_ids, tokens, strict=True):
        model["vocab"][t.content] = i
        if t.merge is not None:
            merges.append(f"{t.merge[0]} {t.merge[1]}" if as_strings else list(t.merge))
    return tj


def word_marker(tj: dict[str, Any]) -> str | None:
    """``▁`` when the tokenizer marks word starts with it (Metaspace, or sentencepiece's Replace(" ", "▁"))."""
    parts = json.dumps([tj.get("normalizer"), tj.get("pre_tokenizer")], ensure_ascii=False)
    return METASPACE if METASPACE in parts else None


def token_text(content: str, tj: dict[str, Any], marker: str | None) -> str:
    """What a token stands for, readable: byte-level strings back to text (a partial UTF-8 character as
    ``\\xd8``), ``▁`` as a space."""
    if "ByteLevel" in json.dumps([tj.get("pre_tokenizer"), tj.get("decoder")]):
        inverse = {c: b for b, c in _bytes_to_unicode().items()}
        if all(c in inverse for c in content):
            return bytes(inverse[c] for c in content).decode("utf-8", errors="backslashreplace")
    return content.replace(marker, " ") if marker else content


@functools.cache
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table (the alphabet of byte-level BPE)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


__all__ = ["NewToken", "Protection", "Learned", "segment_words", "protection", "learn_tokens", "extended_json",
           "word_marker", "token_text"]
