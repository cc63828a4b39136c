"""``ngrams._repeated_slices`` for a block of documents at once: a few numpy calls for the whole block.

Per document, the Python version costs a slice and a dict entry per word; numpy's fixed cost per call is
about the same as the work of one ~170-word document, so the block (many documents per call) is what pays.
The result is exact: windows are compared by a polynomial hash first (unequal hashes mean unequal slices),
and equal hashes are checked by comparing the slices themselves.

Example::

    >>> repeated_slices_block([("abcab", [0, 1, 2, 3, 4], 2), ("xyz", [0, 1], 1)])
    [[0, 3], []]
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, compress

from jazari_nlp.corpus.ngrams import _Grams, _repeated_slices, slices_args

_BASE = 0x9E3779B97F4A7C15  # odd: it has an inverse modulo 2**64
_POWERS: list = []  # [B**i, B**-i] (uint64 arrays, wrapping), grown as needed


def _powers(n: int):
    """``(B**i, B**-i)`` modulo 2**64 for i < n, as uint64 arrays (cached, grown by doubling)."""
    import numpy as np

    if not _POWERS or len(_POWERS[0]) < n:
        size = max(n, 2 * len(_POWERS[0]) if _POWERS else 4096)
        pw = np.full(size, _BASE, dtype=np.uint64)
        pw[0] = 1
        ipw = np.full(size, pow(_BASE, -1, 1 << 64), dtype=np.uint64)
        ipw[0] = 1
        _POWERS[:] = [np.cumprod(pw), np.cumprod(ipw)]  # integer arrays wrap modulo 2**64
    return _POWERS[0], _POWERS[1]


def prepare_block(grams: list[_Grams]) -> None:
    """Compute the repeat candidates' first stage (``_repeated_slices``) of every ``_Grams`` at once, for its
    smallest duplicate n (the only one its checks ask for); each then uses it as its own would have been.
    Example: ``prepare_block([_Grams(words) for words in block])``."""
    todo = [(g, args) for g in grams if g._m is not None and (args := slices_args(g.full, g.off, g._m))]
    for (g, _), maybe in zip(todo, repeated_slices_block([a for _, a in todo]), strict=True):
        g._slices[g._m] = maybe


def repeated_slices_block(items: list[tuple[str, list[int], int]]) -> list[list[int]]:
    """``[_repeated_slices(full, starts, k) for full, starts, k in items]``, computed for all at once.

    Each item's windows ``full[s:s + k]`` are hashed from prefix sums of the code points (one UTF-32 encode
    of the joined block), then grouped by one sort of (document, hash); a document whose hashes are all
    distinct repeats no slice, and the few equal hashes are verified by comparing the slices. Items the
    hashes do not fit (k < 1, a window past the end, one start) take the Python function.
    """
    import numpy as np

    out: list[list[int] | None] = [None] * len(items)
    todo = []
    for i, (full, starts, k) in enumerate(items):
        if len(starts) < 2:
            out[i] = []
        elif k < 1:
            out[i] = _repeated_slices(full, starts, k)
        else:
            todo.append(i)
    if not todo:
        return out  # type: ignore[return-value]
    counts = np.array([len(items[i][1]) for i in todo], dtype=np.int64)
    local = np.array(list(chain.from_iterable(items[i][1] for i in todo)), dtype=np.int64)
    ks = np.repeat(np.array([items[i][2] for i in todo], dtype=np.int64), counts)
    lens = np.array([len(items[i][0]) for i in todo], dtype=np.int64)
    bad = (local < 0) | (local + ks > np.repeat(lens, counts))  # windows cut at the end: Python's slices
    if bad.any():
        drop = set(np.repeat(np.arange(len(todo)), counts)[bad].tolist())
        for j in drop:
            out[todo[j]] = _repeated_slices(*items[todo[j]])
        return [r if r is not None else [] for r in out] if len(drop) == len(todo) else _merge(
            out, repeated_slices_block([items[i] for j, i in enumerate(todo) if j not in drop]))
    fulls = [items[i][0] for i in todo]
    try:
        cps = np.frombuffer("".join(fulls).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    except UnicodeEncodeError:  # cannot happen with surrogatepass; the plain function always works
        return [_repeated_slices(*it) for it in items]
    pw, ipw = _powers(len(cps) + 1)
    prefix = np.zeros(len(cps) + 1, dtype=np.uint64)
    np.cumsum(cps * pw[:len(cps)], out=prefix[1:])  # prefix[j] = sum of c_i * B**i, i < j
    base = np.cumsum(lens) - lens  # each document's place in the joined block
    total = len(local)
    doc = np.repeat(np.arange(len(todo), dtype=np.uint64), counts)
    s = local + np.repeat(base, counts)
    h = (prefix[s + ks] - prefix[s]) * ipw[s]  # the window's hash, whatever its place in the block
    bits = max(1, int(len(todo) - 1).bit_length())
    key = (h >> np.uint64(bits)) | (doc << np.uint64(64 - bits))  # a run of equal keys is in one document
    order = np.argsort(key, kind="stable")
    sk = key[order]
    same = sk[1:] == sk[:-1]
    maybe = np.zeros(total, dtype=bool)
    maybe[1:] = same
    maybe[:-1] |= same
    cand = np.sort(order[maybe])  # global indexes whose key occurs twice: the only possible repeats
    cuts = np.searchsorted(cand, np.cumsum(counts)[:-1]).tolist()
    firsts = (np.cumsum(counts) - counts).tolist()  # each document's first global index
    for j, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(cand)], strict=True)):
        i = todo[j]
        if lo == hi:
            out[i] = []
            continue
        full, starts, k = items[i]
        idx = (cand[lo:hi] - firsts[j]).tolist()
        # every occurrence of a slice has its key, so it is among the candidates: counting there is exact
        heads = [full[starts[x]:starts[x] + k] for x in idx]
        seen = Counter(heads)
        out[i] = list(compress(idx, map((1).__lt__, map(seen.__getitem__, heads))))
    return out  # type: ignore[return-value]


def _merge(out: list, rest: list[list[int]]) -> list[list[int]]:
    """``out`` with its ``None`` places filled in order from ``rest``."""
    fill = iter(rest)
    return [next(fill) if r is None else r for r in out]
