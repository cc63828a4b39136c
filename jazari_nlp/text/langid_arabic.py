"""The language identifier's Arabic stage: Darija, MSA or another Arabic variety, from the fastText scores
plus counts of dialect marker words.

fastText's character n-grams see spelling, not grammar: a formal Darija sentence (FLORES) shares most of its
words with MSA and is called MSA or "other Arabic". Function words tell them apart (ديال / الذي / بتاع / هيك
...). ``tables/arabic_dialect_markers.tsv`` lists such words by group; :func:`marker_features` counts them,
and a Darija-vs-rest logistic regression (12 x 2 weights in ``<model>.arabic.json``, fit by the training
recipe on a held-out share that its first fastText model did not see) combines them with fastText's
Arabic-label log-scores.

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
    toks = _ARABIC_TOKEN.findall(fold(prepared))  # the words that start with an Arabic letter, found in C
    counts[-1] = len(toks)
    for tok in toks:
        group = table.get(tok)
        if group is not None:
            counts[group] += 1
        elif tok[0] in "كتغ" and _ARY_VERB.match(tok) and not _NOT_ARY_VERB.match(tok):
            counts[-2] += 1  # a Darija ka-/ki-/gha- verb
    return [_LOG1P[c] if c < 64 else math.log1p(c) for c in counts]


_LOG1P = [math.log1p(i) for i in range(64)]
_ARABIC_TOKEN = re.compile(r"(?<!\S)[\u0621-\u064a]\S*")


def features(probs: dict[str, float], prepared: str) -> list[float]:
    """Stage input: fastText log-scores of ``LABELS`` (floored at 1e-4), marker features, and a bias of 1."""
    return [math.log(max(probs.get(lab, 0.0), 1e-4)) for lab in LABELS] + marker_features(prepared) + [1.0]


def load_stage(path: str | Path) -> list[float] | None:
    """The stage as one weight vector (Darija logit minus the other one, in :func:`features` order), or None
    when the file is absent or unusable. The file keeps both rows (ary, not ary) as fit."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = [[float(v) for v in row] for row in data["weights"]]
        if tuple(data.get("labels", ())) != LABELS or len(rows) != 2 or len(rows[0]) != len(rows[1]):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [a - b for a, b in zip(rows[0], rows[1], strict=True)]


def rescore(direction: list[float], probs: dict[str, float], prepared: str) -> dict[str, float]:
    """New scores: ``ary_Arab`` gets the stage's Darija probability of the Arabic labels' total mass; the rest
    of that mass is shared by ``arb_Arab`` and ``ar_other`` in fastText's proportions (other labels untouched)."""
    ary, arb, other = probs.get("ary_Arab", 0.0), probs.get("arb_Arab", 0.0), probs.get("ar_other", 0.0)
    mass = ary + arb + other
    if mass <= 0:
        return probs
    log = math.log
    z = (direction[0] * log(max(ary, 1e-4)) + direction[1] * log(max(arb, 1e-4))
         + direction[2] * log(max(other, 1e-4)) + direction[-1]
         + sum(map(operator.mul, direction[3:-1], marker_features(prepared))))  # = features() . direction
    p_ary = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
    out = dict(probs)
    out["ary_Arab"] = mass * p_ary
    rest = arb + other
    out["arb_Arab"] = mass * (1.0 - p_ary) * (arb / rest if rest > 0 else 0.5)
    out["ar_other"] = mass * (1.0 - p_ary) * (other / rest if rest > 0 else 0.5)
    return out


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


__all__ = ["GROUPS", "LABELS", "fold", "markers", "marker_features", "features", "load_stage", "rescore", "fit"]
