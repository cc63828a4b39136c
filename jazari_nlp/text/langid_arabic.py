"""The language identifier's Arabic stage: Darija, MSA or another Arabic variety, from the fastText scores, counts
of dialect marker words and a word-level naive Bayes model of the Arabic varieties.

fastText's character n-grams see spelling, not grammar: a formal Darija sentence (FLORES) shares most of its
words with MSA and is called MSA or "other Arabic". Function words tell them apart (ديال / الذي / بتاع / هيك
...). ``tables/arabic_dialect_markers.tsv`` lists such words by group (:func:`marker_features` counts them), and
a multinomial naive Bayes over whole words (:class:`WordModel`, one class per FLORES variety plus Darija tweets)
learns the rest from the training sentences. Two logistic regressions over fastText's Arabic log-scores + those
features (weights in ``<model>.arabic.json``, fit by the training recipe on scores of a fastText model that did
not see the sentences) re-decide Darija vs the rest, then MSA vs the other varieties. Text the word model calls
tweet-like (informal, the gate class) keeps fastText's own decision: the regressions are fit to formal text.

Example::

    >>> marker_features("واش كتعرف فين كاين الدار ديالو ؟")[:2]   # log1p(ary count), log1p(msa count)
    [1.6094..., 0.0]
"""

from __future__ import annotations

import json
import math
import operator
import re
from functools import cache
from pathlib import Path

TABLE = Path(__file__).parent / "tables" / "arabic_dialect_markers.tsv"
GROUPS = ("ary", "msa", "egy", "lev", "glf", "mgh")
LABELS = ("ary_Arab", "arb_Arab", "ar_other")
_HARAKAT = re.compile("[\u064b-\u0652\u0670]")


def fold(text: str) -> str:
    """Spelling variants that writers mix folded (أ إ آ ٱ -> ا, ى -> ي, ة -> ه), harakat dropped. A chain of
    str.replace is ~10x faster here than str.translate with a dict (measured 2 vs 20 us a sentence).

    Example::

        >>> fold("إلى الجامعةِ")
        'الي الجامعه'
    """
    text = (text.replace("أ", "ا").replace("إ", "ا").replace("آ", "ا").replace("ٱ", "ا").replace("ى", "ي")
            .replace("ة", "ه"))
    return _HARAKAT.sub("", text) if _HARAKAT.search(text) else text


_CLITICS = ("و", "ف", "ب", "ل")
# Darija verb prefixes: present ka-/ki- (كيدير كتقول كنمشي, also تيقول) and future gha- (غنمشي غتقدر); the
# exceptions are common MSA words and names with the same first letters.
_ARY_VERB = re.compile(r"(?:ك[يتن]|تي|غ[نتي])[\u0621-\u064a]{2,}$")
_NOT_ARY_VERB = re.compile(r"^(?:كتاب|كتب|كتل|كتف|كتيب|كتير|كنيس|كنائس|كندا|كنز|كنت|كنا|كيف|كيلو|كيمي|كيان|كيني"
                           r"|تيار|تين|تيم|تيس|غير|غني|غنى|غناء|غنائ|غيث|غيم|غيوم|غياب|غيظ|غنم|غيب)")


@cache
def markers() -> dict[str, str]:
    """Folded marker word -> group (``ary``, ``msa``...) from the table."""
    table: dict[str, str] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            group, word = line.split("\t")[:2]
            table.setdefault(fold(word.strip()), group)
    return table


@cache
def _lookup() -> dict[str, int]:
    """Every form to look up -> group index: the words, then (if longer than 3 letters and not a word
    themselves) the words behind one clitic و ف ب ل or the article ال. One dict probe per token."""
    index = {g: i for i, g in enumerate(GROUPS)}
    table = {w: index[g] for w, g in markers().items()}
    for prefix in (*_CLITICS, "ال"):
        for word, group in list(markers().items()):
            if len(prefix + word) > 3:
                table.setdefault(prefix + word, index[group])
    return table


def marker_features(prepared: str) -> list[float]:
    """``log1p`` counts of marker words per group (``GROUPS`` order), then of Darija ka-/ki-/gha- verbs, then
    ``log1p`` of the number of Arabic-script words; ``prepared`` is :func:`jazari_nlp.text.langid.prepare` output."""
    table = _lookup()
    counts = [0] * (len(GROUPS) + 2)
    toks = _ARABIC_TOKEN.findall(" " + fold(prepared))  # the words that start with an Arabic letter, found in C
    counts[-1] = len(toks)
    for tok in toks:
        group = table.get(tok)
        if group is not None:
            counts[group] += 1
        elif tok[0] in "كتغ" and _ARY_VERB.match(tok) and not _NOT_ARY_VERB.match(tok):
            counts[-2] += 1  # a Darija ka-/ki-/gha- verb
    return [_LOG1P[c] if c < 64 else math.log1p(c) for c in counts]


_LOG1P = [math.log1p(i) for i in range(64)]
# The whitespace-separated tokens that start with an Arabic letter, in text with a space put in front: the pattern
# starts with a character class, which the regex engine scans for in C (a lookbehind (?<!\S) is tried at
# every position, ~2x slower).
_ARABIC_TOKEN = re.compile(r"\s([\u0621-\u064a]\S*)")
_FLOOR = -30.0  # word-model log-posteriors are clipped here: one long sentence must not dominate the fit


class WordModel:
    """Multinomial naive Bayes over the whitespace tokens of prepared text; ``counts`` maps a word to its count
    per class (``classes`` order), ``docs`` is the number of training texts per class.

    Example::

        >>> m = WordModel(["a", "b"], [1, 1], {"ديال": [3, 0], "الذي": [0, 3]})
        >>> [round(x, 3) for x in m.log_posteriors("ديال")]
        [-0.032, -3.466]
    """

    def __init__(self, classes: list[str], docs: list[int], counts: dict[str, list[int]], alpha: float = 0.1):
        self.classes, self.alpha, self.docs, self._counts = list(classes), alpha, list(docs), counts
        k = len(self.classes)
        totals = [sum(row[i] for row in counts.values()) for i in range(k)]
        denom = [math.log(totals[i] + alpha * len(counts)) for i in range(k)]
        # One tuple of log P(word | class) per word; the words a class never saw share its smoothed floor.
        self.logp = {w: tuple(math.log(row[i] + alpha) - denom[i] for i in range(k)) for w, row in counts.items()}
        self.prior = [math.log(max(d, 1) / max(sum(docs), 1)) for d in docs]

    @property
    def counts(self) -> dict[str, list[int]]:
        """Word -> count per class (built on first use for a model read by :meth:`from_json`)."""
        if self._counts is None:
            self._counts = _dense(self._sparse, len(self.classes))
        return self._counts

    def log_posteriors(self, prepared: str) -> list[float]:
        """``log P(class | words)`` per class, clipped at -30; unknown words are ignored."""
        # map/filter in C: every row is a non-empty tuple, so filter(None) drops exactly the unknown words
        rows = list(filter(None, map(self.logp.get, prepared.split())))
        if rows:  # column sums over the known words (all rows have one value per class)
            scores = [sum(col) + p for col, p in zip(zip(*rows, strict=True), self.prior, strict=True)]
        else:
            scores = list(self.prior)
        top = max(scores)
        z = top + math.log(sum([math.exp(s - top) for s in scores]))
        return [s - z if s - z > _FLOOR else _FLOOR for s in scores]

    def to_json(self) -> dict:
        """Counts kept sparse (``[[class index, count], ...]`` per word): most words occur in one class."""
        return {"classes": self.classes, "alpha": self.alpha, "docs": self.docs,
                "counts": {w: [[i, c] for i, c in enumerate(row) if c] for w, row in sorted(self.counts.items())}}

    @classmethod
    def from_json(cls, data: dict) -> WordModel:
        """The model of :meth:`to_json`'s dict; the same ``logp`` floats as ``cls(classes, docs, counts, alpha)``
        (the same expressions), built ~5x faster: most words are seen in one class only, and their rows are
        one shared tuple per (class, count) instead of a tuple of fresh logs per word."""
        classes, alpha, sparse = list(data["classes"]), float(data["alpha"]), data["counts"]
        k = len(classes)
        rows: dict[str, tuple[tuple[int, int], ...]] = {}  # word -> its (class, count) pairs, classes in range
        totals = [0] * k
        for w, pairs in sparse.items():
            if len(pairs) == 1:  # most words: one class
                ((i, c),) = pairs
                i, c = int(i), int(c)
                if not -k <= i < k:  # as a dense row's row[i] = c would fail
                    raise IndexError(f"word {w!r}: class index {i} out of range")
                i %= k
                rows[w] = ((i, c),)
                totals[i] += c
                continue
            dense: dict[int, int] = {}  # a class listed twice: the last count wins, as in a dense row
            for i, c in pairs:
                i, c = int(i), int(c)
                if not -k <= i < k:
                    raise IndexError(f"word {w!r}: class index {i} out of range")
                dense[i % k] = c
            rows[w] = tuple(dense.items())
            for i, c in rows[w]:
                totals[i] += c
        self = cls.__new__(cls)
        self.classes, self.alpha, self.docs = classes, alpha, [int(d) for d in data["docs"]]
        self._counts, self._sparse = None, sparse
        denom = [math.log(totals[i] + alpha * len(sparse)) for i in range(k)]
        # The words a class never saw get its floor; each (class, count) value is computed once, with the
        # expression of __init__ (so the floats are the same), and one-class rows are shared tuples.
        floor = [math.log(0 + alpha) - denom[i] for i in range(k)]
        value: dict[tuple[int, int], float] = {}
        shared: dict[tuple[int, int], tuple[float, ...]] = {}
        logp = {}
        for w, row in rows.items():  # the JSON's word order, as the dense dict had
            if len(row) == 1:
                key = row[0]
                out = shared.get(key)
                if out is None:
                    i, c = key
                    out = shared[key] = (*floor[:i], math.log(c + alpha) - denom[i], *floor[i + 1:])
            else:
                vals = floor.copy()
                for key in row:
                    v = value.get(key)
                    if v is None:
                        i, c = key
                        v = value[key] = math.log(c + alpha) - denom[i]
                    vals[key[0]] = v
                out = tuple(vals)
            logp[w] = out
        self.logp = logp
        self.prior = [math.log(max(d, 1) / max(sum(self.docs), 1)) for d in self.docs]
        return self


def _dense_row(pairs: list, k: int) -> list[int]:
    row = [0] * k
    for i, c in pairs:
        row[int(i)] = int(c)
    return row


def _dense(sparse: dict[str, list], k: int) -> dict[str, list[int]]:
    return {w: _dense_row(pairs, k) for w, pairs in sparse.items()}


def count_words(texts: list[str], labels: list[str], classes: list[str]) -> tuple[dict[str, list[int]], list[int]]:
    """Word counts per class and texts per class, the inputs of :class:`WordModel` (prepared texts)."""
    index = {c: i for i, c in enumerate(classes)}
    counts: dict[str, list[int]] = {}
    docs = [0] * len(classes)
    for text, label in zip(texts, labels, strict=True):
        i = index[label]
        docs[i] += 1
        for w in text.split():
            row = counts.get(w)
            if row is None:
                row = counts[w] = [0] * len(classes)
            row[i] += 1
    return counts, docs


def features(probs: dict[str, float], prepared: str, words: WordModel | None = None) -> list[float]:
    """Stage input: fastText log-scores of ``LABELS`` (floored at 1e-4; renormalized over them when there is a word
    model, as version-2 stages are fit), marker features, the word model's log-posteriors and a bias of 1."""
    mass = (sum(probs.get(lab, 0.0) for lab in LABELS) or 1.0) if words is not None else 1.0
    out = [math.log(max(probs.get(lab, 0.0) / mass, 1e-4)) for lab in LABELS] + marker_features(prepared)
    return out + (words.log_posteriors(prepared) if words is not None else []) + [1.0]


class Stage:
    """The fitted stage: ``ary`` (Darija-vs-rest weights over :func:`features`), ``arb`` (MSA-vs-other weights
    for what is not Darija; None: arb vs other stays fastText's call), the word model and its gate class."""

    def __init__(self, ary: list[float], arb: list[float] | None = None, words: WordModel | None = None,
                 gate: str | None = None, gate_posterior: float = 0.5):
        self.ary, self.arb, self.words = ary, arb, words
        self.gate = words.classes.index(gate) if words is not None and gate in words.classes else None
        self.gate_log = math.log(gate_posterior)

    def rescore(self, probs: dict[str, float], prepared: str) -> dict[str, float]:
        """New scores for the three Arabic labels, their total mass kept (other labels untouched)."""
        ary, arb, other = probs.get("ary_Arab", 0.0), probs.get("arb_Arab", 0.0), probs.get("ar_other", 0.0)
        mass = ary + arb + other
        if mass <= 0:
            return probs
        words = self.words.log_posteriors(prepared) if self.words is not None else []
        if self.gate is not None and words[self.gate] > self.gate_log:
            return probs  # tweet-like text: the regressions were fit to formal text, fastText decides
        log = math.log
        norm = mass if self.words is not None else 1.0  # version 1 stages were fit to raw scores
        x = [log(max(ary / norm, 1e-4)), log(max(arb / norm, 1e-4)), log(max(other / norm, 1e-4)),
             *marker_features(prepared), *words, 1.0]  # = features(probs, prepared, self.words)
        p_ary = _sigmoid(sum(map(operator.mul, self.ary, x)))
        rest = arb + other
        share = _sigmoid(sum(map(operator.mul, self.arb, x))) if self.arb else (arb / rest if rest > 0 else 0.5)
        out = dict(probs)
        out["ary_Arab"] = mass * p_ary
        out["arb_Arab"] = mass * (1.0 - p_ary) * share
        out["ar_other"] = mass * (1.0 - p_ary) * (1.0 - share)
        return out


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def load_stage(path: str | Path) -> Stage | None:
    """The stage of a model, or None when the file is absent or unusable. Version 2 files hold ``ary``/``arb``
    weight vectors and the word model; version 1 files (``weights``: the two rows ary, not ary over 12 features)
    give a Darija-only stage."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data.get("labels", ())) != LABELS:
            return None
        if data.get("version", 1) == 1:
            rows = [[float(v) for v in row] for row in data["weights"]]
            if len(rows) != 2 or {len(row) for row in rows} != {len(LABELS) + len(GROUPS) + 3}:
                return None
            return Stage([a - b for a, b in zip(rows[0], rows[1], strict=True)])
        words = WordModel.from_json(data["words"]) if data.get("words") else None
        size = len(LABELS) + len(GROUPS) + 3 + (len(words.classes) if words else 0)
        ary = [float(v) for v in data["ary"]]
        arb = [float(v) for v in data["arb"]] if data.get("arb") else None
        if len(ary) != size or (arb is not None and len(arb) != size):
            return None
        return Stage(ary, arb, words, data.get("gate"), float(data.get("gate_posterior", 0.5)))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def rescore(stage: Stage | list[float], probs: dict[str, float], prepared: str) -> dict[str, float]:
    """:meth:`Stage.rescore`; a plain weight list is a Darija-only stage over the 12 features without words."""
    return (stage if isinstance(stage, Stage) else Stage(list(stage))).rescore(probs, prepared)


def fit(rows: list[list[float]], gold: list[int], l2: float = 1e-3, steps: int = 3000, lr: float = 1.0,
        balanced: bool = False, classes: int = 2):
    """Multinomial logistic regression by full-batch gradient descent (numpy); returns the weight rows.

    ``balanced`` weights the classes to equal total weight (off: the held-out mix is the one to get right)."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    # Gradient descent on standardized columns (the last one is the bias), mapped back at the end.
    mu, sd = x[:, :-1].mean(axis=0), x[:, :-1].std(axis=0) + 1e-9
    xs = np.concatenate([(x[:, :-1] - mu) / sd, x[:, -1:]], axis=1)
    y = np.asarray(gold)
    k = classes
    onehot = np.eye(k)[y]
    cw = len(y) / (k * np.maximum(np.bincount(y, minlength=k), 1)) if balanced else np.ones(k)
    sw = cw[y][:, None] / len(y)
    w = np.zeros((k, xs.shape[1]))
    mask = np.ones_like(w)
    mask[:, -1] = 0  # no penalty on the bias
    for _ in range(steps):
        z = xs @ w.T
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * (((p - onehot) * sw).T @ xs + l2 * w * mask)
    w[:, :-1] /= sd
    w[:, -1] -= w[:, :-1] @ mu
    return [[round(float(v), 6) for v in row] for row in w]


def direction(rows: list[list[float]], gold: list[int], **kwargs) -> list[float]:
    """The logit of class 0 over class 1 of a binary :func:`fit` (the form :class:`Stage` uses)."""
    first, second = fit(rows, gold, **kwargs)
    return [round(a - b, 6) for a, b in zip(first, second, strict=True)]


__all__ = ["GROUPS", "LABELS", "fold", "markers", "marker_features", "features", "WordModel", "count_words",
           "Stage", "load_stage", "rescore", "fit", "direction"]
