"""Gopher's word n-gram repetition counts (Rae et al. 2021, table A1), exactly as datatrove counts them.

Two counts: the characters of the most frequent n-gram (``top``, n = 2..4: datatrove's ``find_top_duplicate``
of ``get_n_grams``, n-grams joined with spaces) and the characters of duplicated n-grams (``chars``, n = 5..10:
``find_all_duplicate``, n-grams joined WITHOUT a separator, so "ab c" and "a bc" are the same n-gram).

Nothing approximate: ``top`` counts tuples of words (space-joined words without spaces are equal exactly when
the words are), and a smaller n's count often bounds it well enough to skip it (``top_bound``); ``chars`` first
finds the only positions where an n-gram can repeat (``_repeat_candidates``) and compares joins there only.
Example::

    >>> _Grams("a b a b".split()).top(2), _Grams(("one two three four five " * 2).split()).chars(5)
    (6, 19)
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from itertools import accumulate, compress, repeat
from operator import add, mul, ne, sub


class _Grams:
    """The word n-grams of one document, shared by every n: ``top(n)`` (Gopher's top n-gram characters) and
    ``chars(n)`` (Gopher's duplicate n-gram characters; the repeat candidates are found once, for the smallest
    n of ``dup_ns``), and cheap upper bounds of both. ``top_by_strings``/``chars_by_strings`` are the plain
    string versions (fallbacks, and the tests' oracles)."""

    def __init__(self, words: list[str], dup_ns=(5, 6, 7, 8, 9, 10)):
        self.words, self.full = words, "".join(words)
        self.off = list(accumulate(map(len, words), initial=0))  # word i is full[off[i]:off[i + 1]]
        self.dup_ns = tuple(dup_ns)
        self._m = min((k for k in self.dup_ns if k >= 1), default=None)
        self._top: dict[int, tuple[int, int | None]] = {}
        self._chars: dict[int, int] = {}
        self._cands: dict[int, list[int]] = {}
        self._slices: dict[int, list[int]] = {}  # m -> _repeated_slices for it, when a block computed it
        self._longest: list[int] | None = None
        self._freq: tuple[int, int] | None = None  # (max of word length x count, max word count)

    def spaced(self, n: int) -> list[str]:
        text = " ".join(self.words)
        off = [o + i for i, o in enumerate(self.off)]  # word i starts at off[i] + i in the space-joined text
        return [text[off[i]:off[i + n] - 1] for i in range(len(self.words) - n + 1)]

    def top(self, n: int) -> int:
        """Characters of the most frequent space-joined n-gram times its count (the first such n-gram on a tie,
        as ``Counter.most_common(1)``). Example: ``_Grams("a b a b".split()).top(2)`` → 6."""
        if n not in self._top:
            self._top[n] = self._top_one(n)
        return self._top[n][0]

    def top_bound(self, n: int) -> int | None:
        """An upper bound of ``top(n)`` at almost no cost once a smaller n was counted, else ``None``: an n-gram
        occurs at most as often as the most frequent m-gram, m < n (its m-gram prefix occurs wherever it does),
        and is at most as long as the n longest words. Example: after ``top(2)``, ``top_bound(3)``."""
        if n in self._top:
            return self._top[n][0]
        counts = [c for m, (_, c) in self._top.items() if c is not None and 1 <= m < n]
        if not counts or n < 1:
            return None
        if self._longest is None:
            self._longest = sorted(map(len, self.words), reverse=True)
        return min(counts) * (sum(self._longest[:n]) + n - 1)

    def freq_bound(self, n: int) -> int | None:
        """An upper bound of ``top(n)`` from word frequencies alone (``None`` where words hold spaces or are
        empty): an n-gram occurring c times holds n words, each occurring at least c times, so its characters
        times c are at most n x the largest (word length x word count) plus (n - 1) spaces x the largest word
        count. Example: ``_Grams("a b a b".split()).freq_bound(2)`` → ``2 * 2 + 1 * 2`` = 6."""
        if n < 1 or len(self.words) < n or " " in self.full or "" in self.words:
            return None
        if self._freq is None:
            counts = Counter(self.words)
            self._freq = (max(map(mul, map(len, counts), counts.values())), max(counts.values()))
        most_chars, most = self._freq
        return n * most_chars + (n - 1) * most

    def _top_one(self, n: int) -> tuple[int, int | None]:
        """(``top(n)``, the count of the most frequent n-gram, or ``None`` when it may not bound larger n).
        The n-grams are counted as tuples of words: space-joined words without spaces are equal exactly when
        the words are (and tuples of strings hash faster than fresh joins)."""
        w, off, words = len(self.words), self.off, self.words
        if n < 1 or w < n or " " in self.full or "" in words:  # else equal joins need not be equal words
            return self.top_by_strings(n), None
        grams = list(zip(*(words[k:] for k in range(n)), strict=False))  # the shorter tails end it
        ((best, count),) = Counter(grams).most_common(1)  # insertion order = text order: the first on a tie
        p = grams.index(best) if count > 1 else 0
        return (off[p + n] - off[p] + n - 1) * count, count

    def top_by_strings(self, n: int) -> int:
        if len(self.words) < n:
            return 0
        gram, count = Counter(self.spaced(n)).most_common(1)[0]
        return len(gram) * count

    def chars(self, n: int) -> int:
        """datatrove's ``find_all_duplicate(words, n)``. Example: ``_Grams(["ab", "c", "a", "bc"]).chars(2)`` → 3."""
        if n not in self._chars:
            self._chars[n] = self._chars_one(n)
        return self._chars[n]

    def chars_bound(self, n: int) -> int:
        """An upper bound of ``chars(n)``: the characters the n-grams at ``_repeat_candidates`` positions cover
        together (the walk counts disjoint n-grams at such positions only). Most repeats are short (a phrase
        said twice), so the bound often shows a check passes without grouping n-grams. Example:
        ``_Grams("a b c a b c".split()).chars_bound(2)`` → 6."""
        if n in self._chars or n < 1:
            return self.chars(n)
        off = self.off
        pos = self._candidates(n)
        if not pos:  # most documents: nothing can repeat
            return 0
        ends = list(map(off.__getitem__, map(add, pos, repeat(n))))
        starts = list(map(max, map(off.__getitem__, pos), [0, *ends[:-1]]))  # n-grams overlap: count once
        return sum(ends) - sum(starts)

    def chars_bound_upto(self, n_max: int) -> int | None:
        """One upper bound of ``chars(n)`` for every n of ``dup_ns`` up to ``n_max`` (``None`` when there is
        none of them): the characters that n_max-grams (cut at the end) at the repeat candidates cover
        together, which hold every smaller n's bound. Most documents pass all n with it at once. Example:
        ``_Grams("a b c a b c".split(), (2, 3)).chars_bound_upto(3)`` → 6."""
        if self._m is None or n_max < self._m:
            return None
        pos, off, last = self._candidates(self._m), self.off, len(self.words)
        if not pos:
            return 0
        ends = [off[min(p + n_max, last)] for p in pos]  # non-decreasing: pos is sorted
        return sum(ends) - sum(map(max, map(off.__getitem__, pos), [0, *ends[:-1]]))

    def _candidates(self, n: int) -> list[int]:
        """``_repeat_candidates`` positions that hold an n-gram, for the smallest m <= n of ``dup_ns``."""
        m = self._m if self._m is not None and self._m <= n else n
        if m not in self._cands:
            self._cands[m] = _repeat_candidates(self.full, self.off, m, self._slices.get(m))
        cand = self._cands[m]
        return cand[:bisect_right(cand, len(self.words) - n)]

    def _chars_one(self, n: int) -> int:
        if n < 1:
            return self.chars_by_strings(n)
        full, off = self.full, self.off
        pos = self._candidates(n)
        grams = [full[off[i]:off[i + n]] for i in pos]
        first = dict(zip(reversed(grams), reversed(pos), strict=True))  # gram -> its first position
        pairs = [(i, f) for i, f in zip(pos, map(first.__getitem__, grams), strict=True) if i != f]
        return _walk(pairs, n, off)

    def chars_by_strings(self, n: int) -> int:
        full, off, end = self.full, self.off, len(self.words) - n + 1
        if end <= 0:
            return 0
        grams = [full[off[i]:off[i + n]] for i in range(end)]
        first = dict(zip(reversed(grams), range(end - 1, -1, -1), strict=True))  # gram -> its first position
        if len(first) == end:  # no n-gram occurs twice: nothing repeated (in C only)
            return 0
        maybe = compress(range(end), map(ne, map(first.__getitem__, grams), range(end)))
        return _walk([(i, first[grams[i]]) for i in maybe], n, off)


def _repeat_candidates(full: str, off: list[int], m: int, maybe: list[int] | None = None) -> list[int]:
    """The positions (sorted) where an n-gram, n >= m, joined without a separator, may occur twice: every
    other position holds an n-gram that occurs once, for every n >= m.

    Why: if the n-grams at i and j are one string G, the m-grams at i and j (joined) are both prefixes of G, so
    the shorter is a prefix of the longer, and their first k characters are equal, k the length of the
    shortest m-gram. So first the positions whose k characters occur twice (a set, in C); among them, in
    sorted order the m-grams having a prefix p follow p in one run: a position is kept when its m-gram starts
    such a run or lies in one. ``maybe``: ``_repeated_slices`` of these arguments, when known (``slices_args``).
    Example: ``_repeat_candidates("abcab", [0, 1, 2, 3, 4, 5], 2)`` → ``[0, 3]``.
    """
    if maybe is None:
        args = slices_args(full, off, m)
        maybe = _repeated_slices(*args) if args else []
    if not maybe:  # many documents: nothing can repeat
        return []
    heads = [full[off[i]:off[i + m]] for i in maybe]
    order = sorted(range(len(maybe)), key=heads.__getitem__)
    ordered = list(map(heads.__getitem__, order))
    follows = list(map(str.startswith, ordered[1:], ordered[:-1]))  # ordered[j + 1] extends ordered[j]
    cand: list[int] = []
    reach = 0
    for j in compress(range(len(maybe) - 1), follows):
        if j < reach:  # inside an earlier run: the strings extending ordered[j] are in that run too
            continue
        prefix, e = ordered[j], j + 2
        while e < len(maybe) and ordered[e].startswith(prefix):
            e += 1
        cand.extend(order[j:e])
        reach = e
    return sorted(map(maybe.__getitem__, cand))


def slices_args(full: str, off: list[int], m: int) -> tuple[str, list[int], int] | None:
    """The arguments of ``_repeated_slices`` for ``_repeat_candidates(full, off, m)`` (``None``: fewer than two
    m-grams, nothing can repeat): the first k characters at each m-gram start, k the shortest m-gram's length.
    Example: ``slices_args("abcab", [0, 1, 2, 3, 4, 5], 2)`` → ``('abcab', [0, 1, 2, 3], 2)``."""
    end = len(off) - m  # number of m-grams
    if end <= 1:
        return None
    return full, off[:end], min(map(sub, off[m:], off))


def _repeated_slices(full: str, starts: list[int], k: int) -> list[int]:
    """The indexes i (sorted) where ``full[starts[i]:starts[i] + k]`` occurs at another start too."""
    heads = [full[o:o + k] for o in starts]
    end = len(heads)
    first = dict(zip(reversed(heads), range(end - 1, -1, -1), strict=True))  # slice -> its first index
    if len(first) == end:
        return []
    # the slices seen again (a few), then every index holding one: C loops, cheaper than a Counter
    again = set(compress(heads, map(ne, map(first.__getitem__, heads), range(end))))
    return list(compress(range(end), map(again.__contains__, heads)))


def _walk(pairs: list[tuple[int, int]], n: int, off: list[int]) -> int:
    """datatrove's walk (a repeated n-gram counts its characters and jumps n positions, a new one is added and
    steps one) visited only at ``pairs``: (position, first position of its n-gram) where the n-gram occurred
    before; every other position is new. Such an n-gram was seen when its first position was not jumped over,
    or a visited position had it since."""
    jumped: set[int] = set()
    seen_again: set[int] = set()
    idx = repeated = 0
    for i, f in pairs:
        if i < idx:
            continue
        if f not in jumped or f in seen_again:
            repeated += off[i + n] - off[i]
            jumped.update(range(i + 1, i + n))
            idx = i + n
        else:
            seen_again.add(f)
            idx = i + 1
    return repeated


def top_ngram_chars(words: list[str], n: int, grams: _Grams | None = None) -> int:
    """Characters covered by the most frequent word n-gram (datatrove's ``find_top_duplicate`` of
    ``get_n_grams``, same result). Example: ``top_ngram_chars("a b a b".split(), 2)`` → 6.
    """
    return (grams or _Grams(words)).top(n)
