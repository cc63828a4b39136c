"""Language identification for the varieties of Morocco: ``identify``, ``tag_words``, code-switching.

The default backend is a fastText supervised model (word and character n-grams) shipped in
``jazari_nlp/text/models/langid_default.ftz`` and trained by ``configs/langid.yaml`` (see
:mod:`jazari_nlp.text.langid_train`). A GlotLID or OpenLID ``.bin`` can be selected instead
(``LangIdConfig(backend="fasttext", model_path=...)``); its labels are mapped onto the registry.

Around the model sit a few rules that cost nothing and never hurt: text without letters is ``und``; the
labels allowed are those whose script is the text's dominant script (an Arabic-script sentence is never
``fra_Latn``); a text mostly in another script (Cyrillic, CJK, ...) is ``und``; a best score under
``threshold`` gives ``und``. Arabic-script text then goes through the Arabic stage
(:mod:`jazari_nlp.text.langid_arabic`, ``<model>.arabic.json``): Darija vs the rest re-decided from fastText's
Arabic scores plus dialect marker words. Long texts are identified on a bounded sample: the first ``max_chars // 2``
characters plus two slices of ``max_chars // 4`` from the middle and the end (text preparation:
:mod:`jazari_nlp.text.langid_prepare`).

Example::

    >>> identify("wach nta mezyan? ana bikhir")
    Prediction(label='ary_Latn', score=0.9...)
"""

from __future__ import annotations

import math
import operator
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field, ValidationInfo, field_validator

from jazari_nlp.errors import JazariError
from jazari_nlp.schema import ExistingPath, StrictModel
from jazari_nlp.text.fasttext_file import ModelFileError, check_fasttext_file
from jazari_nlp.text.langid_prepare import _prepare_sample, prepare, sample_text
from jazari_nlp.text.registry import LANGUAGES, UnknownLanguageError, canonical_code
from jazari_nlp.text.script import codes_counts, script_codes, script_counts

DEFAULT_MODEL = Path(__file__).parent / "models" / "langid_default.ftz"
UND = "und"


class Prediction(NamedTuple):
    """A label from the registry (``ary_Arab``, ``und``...) and a score in [0, 1]."""

    label: str
    score: float


class LangIdConfig(StrictModel):
    """Which identifier to use. ``model_path=None`` is the shipped default model.

    ``label_map`` maps external labels (``__label__tzm_Tfng``) to registry codes before the built-in alias
    table; labels still unknown become ``und`` (or are kept as is with ``unknown_as_und=False``).
    ``arabic_stage`` applies the model's Arabic stage (``<model>.arabic.json``, if there is one).
    ``backend``: ``jazari`` for models trained by ``jazari langid train``; ``fasttext`` for an external model
    (GlotLID, OpenLID): its labels go through ``label_map`` and the registry, and no Arabic stage is applied
    (the stage's weights are fit to a jazari model's scores).
    """

    backend: Literal["jazari", "fasttext"] = "jazari"
    model_path: ExistingPath | None = None
    label_map: dict[str, str] = {}
    threshold: float = Field(0.3, ge=0.0, le=1.0)
    min_letters: int = 2
    max_chars: int = 4096
    unknown_as_und: bool = True
    arabic_stage: bool = True

    @field_validator("model_path")
    @classmethod
    def _complete_model(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        # A truncated model makes fastText hang while loading: refuse it when the config is read.
        if v is not None and v.is_file() and not (info.context or {}).get("skip_exists"):
            try:
                check_fasttext_file(v)
            except ModelFileError as e:
                raise ValueError(str(e)) from None
        return v


class LangIdError(JazariError, RuntimeError):
    """The model failed on a text (raised by ``predict``/``predict_batch`` with ``errors="raise"``)."""


def _not_text(name: str, value: object) -> TypeError:
    return TypeError(f"{name}() argument 'text' must be str, not {type(value).__name__}")


# ---------------------------------------------------------------- identifiers

_SCORE = operator.itemgetter(1)
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))


def _label_script(label: str) -> str:
    lang = LANGUAGES.get(label)
    return lang.script if lang else (label.rsplit("_", 1)[-1] if "_" in label else "Zyyy")


class FastTextIdentifier:
    """A fastText model plus the script rules; labels mapped onto the registry."""

    def __init__(self, cfg: LangIdConfig):
        import fasttext

        path = cfg.model_path or DEFAULT_MODEL
        if not Path(path).exists():
            raise FileNotFoundError(f"language-id model not found: {path} (train one: jazari langid train)")
        check_fasttext_file(path)  # fastText itself hangs on a truncated file
        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
        self.cfg = cfg
        self.path = Path(path)
        self.model = fasttext.load_model(str(path))
        self.raw_labels = list(self.model.get_labels())
        self.labels = [self._map(lab) for lab in self.raw_labels]
        self._mapped = dict(zip(self.raw_labels, self.labels, strict=False))
        self._script = {lab: _label_script(lab) for lab in self.labels}
        # raw label -> (registry label, its script), computed once: mapping per call cost ~20% of identify.
        self._info = {raw: (lab, self._script[lab]) for raw, lab in self._mapped.items()}
        # Per script, raw label -> registry label for the labels kept, when no two of them merge (the shipped
        # model): _merge is then one dict comprehension over fastText's pairs, already in descending order.
        self._keep: dict[str, dict[str, str]] = {}
        for script in ("Arab", "Latn", "Tfng"):
            keep = {raw: lab for raw, (lab, lab_script) in self._info.items() if lab_script == script or lab == UND}
            if len(set(keep.values())) == len(keep):
                self._keep[script] = keep
        self._lock = threading.Lock()
        # The binding's own predict skips the wrapper's per-call checks (a prepared text has no newline;
        # the wrapper's appended "\n", fastText's end-of-line token </s>, is added by _model_pairs).
        self._raw_predict = getattr(getattr(self.model, "f", None), "predict", None)
        # Darija / MSA / other Arabic rescoring of Arabic-script text (langid_arabic); None without a stage file.
        self._arabic = None
        if cfg.arabic_stage and cfg.backend == "jazari":  # its weights are fit to the shipped model
            from jazari_nlp.text.langid_arabic import load_stage

            self._arabic = load_stage(Path(path).with_suffix(".arabic.json"))

    def _map(self, raw: str) -> str:
        for key in (raw, raw.removeprefix("__label__")):
            if key in self.cfg.label_map:
                return self.cfg.label_map[key]
        try:
            return canonical_code(raw)
        except UnknownLanguageError:
            return UND if self.cfg.unknown_as_und else raw.removeprefix("__label__")

    def _gate(self, text: str) -> tuple[str, str | Prediction]:
        """Either ('ok', script) or ('und', Prediction) before the model runs."""
        return self._gate_sample(text if len(text) <= self.cfg.max_chars else sample_text(text, self.cfg.max_chars))

    def _gate_sample(self, sample: str) -> tuple[str, str | Prediction]:
        return self._gate_codes(sample)[:2]

    def _gate_codes(self, sample: str) -> tuple[str, str | Prediction, list[int]]:
        """:meth:`_gate_sample` plus the sample's :func:`script_codes` (a caller may add to them)."""
        if sample.isascii():  # (a flag, no scan) its letters are A-Z a-z: Latin, counted in C
            raw = sample.encode("ascii")
            latin = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
            codes = [len(raw) - latin, 0, 0, latin, 0, 0, 0, 0]  # ASCII letters are code 3 (Latin letter)
            if latin < self.cfg.min_letters:
                return "und", Prediction(UND, 1.0), codes
            return "ok", "Latn", codes
        codes = script_codes(sample)
        counts = codes_counts(codes)
        letters = sum(counts.values())
        if letters < self.cfg.min_letters:
            return "und", Prediction(UND, 1.0), codes
        script = max(("Arab", "Latn", "Tfng", "other"), key=counts.__getitem__)
        if script == "other":
            return "und", Prediction(UND, round(counts["other"] / letters, 4)), codes
        return "ok", script, codes

    def _model_pairs(self, prepared: str) -> list[tuple[float, str]]:
        """``(probability, raw label)`` for every label of the model."""
        if self._raw_predict is not None:
            return self._raw_predict(prepared + "\n", -1, 0.0, "strict")  # "\n": fastText's end-of-line token
        labels, probs = self.model.predict(prepared, k=-1, threshold=0.0)
        return list(zip(probs, labels, strict=False))

    def _merge(self, pairs, script: str, prepared: str = "", top_k: int = 0) -> list[Prediction]:
        """Keep the labels of ``script`` (and ``und``), merge those mapped together, apply the Arabic stage to
        Arabic-script text, renormalize; best first (only the best one when ``top_k`` is 1)."""
        keep = self._keep.get(script)
        if keep is not None:
            merged = {keep[raw]: float(p) for p, raw in pairs if raw in keep}
        else:
            merged = {}
            info = self._info
            for p, raw in pairs:
                lab, lab_script = info[raw] if raw in info else (self._map(raw), _label_script(self._map(raw)))
                if lab_script == script or lab == UND:
                    merged[lab] = merged.get(lab, 0.0) + float(p)
        if script == "Arab" and self._arabic is not None and prepared:
            merged = self._arabic.rescore(merged, prepared)
        total = sum(merged.values())
        if total <= 0:
            return [Prediction(UND, 1.0)]
        if top_k == 1:  # max() keeps the first of equal scores, as the stable sort below does
            best = max(merged, key=merged.__getitem__)
            return [Prediction(best, min(1.0, merged[best] / total))]
        preds = [Prediction(k, min(1.0, v / total)) for k, v in merged.items()]
        preds.sort(key=_SCORE, reverse=True)  # stable: ties keep fastText's order
        return preds

    def _scores(self, prepared: str, script: str, top_k: int = 0) -> list[Prediction]:
        return self._merge(self._model_pairs(prepared), script, prepared, top_k)

    def _route(self, text) -> tuple[Prediction | None, str, str, list[int] | None]:
        """``(early answer, prepared text, script, script codes)``: the early answer is set when the model is not
        needed; the codes (:func:`script_codes`) are those of the whole text, None when only a sample was seen."""
        sample = sample_text(text, self.cfg.max_chars)
        state, value, codes = self._gate_codes(sample)
        if sample is not text:
            codes = None
        if state == "und":
            return value, "", "", codes
        prepared = _prepare_sample(sample)
        if not prepared:
            return Prediction(UND, 1.0), "", "", codes
        return None, prepared, value, codes

    def _finish(self, preds: list[Prediction], top_k: int) -> list[Prediction]:
        if preds[0].score < self.cfg.threshold:
            preds = [Prediction(UND, round(1.0 - preds[0].score, 4)), *preds]
        return preds[: max(1, top_k)]

    def predict(self, text: str, top_k: int = 1, errors: Literal["und", "raise"] = "und") -> list[Prediction]:
        """The ``top_k`` best labels, best first (``und`` alone when nothing can be told).

        ``errors``: what a failure of the model on a text gives: ``"und"`` (score 0.0; the default: a corpus
        run is never stopped by one text) or ``"raise"`` (:class:`LangIdError`: a model that cannot predict
        fails the run instead of labelling everything ``und``). A non-string ``text`` is a ``TypeError``."""
        if not isinstance(text, str):
            raise _not_text("predict", text)
        try:
            early, prepared, script, _ = self._route(text)
            if early is not None:
                return [early]
            preds = self._scores(prepared, script, top_k)
        except Exception as e:  # identification must never take down a corpus run, unless asked to
            return self._failed(e, errors)
        return self._finish(preds, top_k)

    def _failed(self, error: Exception, errors: str) -> list[Prediction]:
        if errors == "raise":
            raise LangIdError(f"language identification failed with the model {self.path}: "
                              f"{type(error).__name__}: {error}") from error
        if errors != "und":
            raise ValueError(f"errors must be 'und' or 'raise', not {errors!r}")
        return [Prediction(UND, 0.0)]

    def predict_batch(self, texts: list[str], top_k: int = 1, errors: Literal["und", "raise"] = "und",
                      codes: list | None = None) -> list[Prediction] | list[list[Prediction]]:
        """Top-1 prediction for each text (a list of ``top_k`` per text when ``top_k > 1``); one call into
        fastText for the whole batch. Same answers as :meth:`predict`, ``errors`` as there.

        ``codes``: a list to which the :func:`~jazari_nlp.text.script.script_codes` of each text are appended
        (None for a text longer than ``max_chars``, identified on a sample): the script counts the gate made,
        for a caller that needs them too (the corpus step's ``script``)."""
        if errors not in ("und", "raise"):
            raise ValueError(f"errors must be 'und' or 'raise', not {errors!r}")
        if isinstance(texts, str):  # iterating it would identify each character
            raise TypeError("predict_batch() takes a list of texts, not one str: use predict(text)")
        out: list[list[Prediction] | None] = []
        todo: list[tuple[int, str, str]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"predict_batch() texts[{i}] must be str, not {type(text).__name__}")
            try:
                early, prepared, script, counted = self._route(text)
            except Exception as e:
                early, prepared, script, counted = self._failed(e, errors)[0], "", "", None
            if codes is not None:
                codes.append(counted)
            out.append([early] if early is not None else None)
            if early is None:
                todo.append((i, prepared, script))
        if todo:
            try:
                labels, probs = self.model.f.multilinePredict([p + "\n" for _, p, _ in todo], -1, 0.0,
                                                              "strict")
                for (i, prepared, script), labs, ps in zip(todo, labels, probs, strict=True):
                    out[i] = self._finish(self._merge(zip(ps, labs, strict=False), script, prepared, top_k), top_k)
            except Exception:
                for i, prepared, script in todo:  # one by one: a failure is then one text's, not the batch's
                    try:
                        out[i] = self._finish(self._scores(prepared, script, top_k), top_k)
                    except Exception as e:
                        out[i] = self._failed(e, errors)
        return [preds[0] for preds in out] if top_k == 1 else out

    def word_probs(self, word: str, script: str) -> dict[str, float]:
        """Label distribution for one word, restricted to its script."""
        prepared = prepare(word, 256)
        if not prepared:
            return {}
        return {p.label: p.score for p in self._scores(prepared, script)}


_DEFAULT: FastTextIdentifier | None = None


@lru_cache(maxsize=8)
def _load(cfg_json: str) -> FastTextIdentifier:
    return FastTextIdentifier(LangIdConfig.model_validate_json(cfg_json, context={"skip_exists": True}))


def load_identifier(cfg: LangIdConfig | None = None) -> FastTextIdentifier:
    """The identifier for a config (default: the shipped model), loaded once and cached.

    Example::

        >>> load_identifier().predict_batch(["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "bonjour à tous"])
        [Prediction(label='zgh_Tfng', score=...), Prediction(label='fra_Latn', score=...)]
    """
    if cfg is None:  # the common case, kept off pydantic's serializer (it cost ~10% of identify)
        global _DEFAULT
        if _DEFAULT is None:
            _DEFAULT = _load(LangIdConfig().model_dump_json())
        return _DEFAULT
    return _load(cfg.model_dump_json())


def identify(text: str, top_k: int | None = None, model: FastTextIdentifier | LangIdConfig | None = None):
    """Language of ``text`` as a :class:`Prediction` (or a list of ``top_k``, best first). Never raises on a
    text (``und`` when nothing can be told); a model that cannot be loaded raises ``FileNotFoundError`` (no
    file) or :class:`ModelFileError` (truncated or damaged file); a ``text`` that is not a string (``None``)
    raises ``TypeError``.

    Example::

        >>> identify("شنو كدير دابا؟").label
        'ary_Arab'
    """
    # A model that cannot load is an error to report (a wrong model_path), not a text to call `und`;
    # predict() itself never raises on any text.
    if not isinstance(text, str):
        raise _not_text("identify", text)
    ident = model if isinstance(model, FastTextIdentifier) else load_identifier(model)
    preds = ident.predict(text, top_k or 1)
    return preds if top_k is not None else preds[0]


# ---------------------------------------------------------------- words and code-switching

_WORD = re.compile(r"\S+")
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")
_FRENCH_ACCENT = re.compile("[àâçéèêëîïôûùœ]")


def _foreign_label(word: str) -> str | None:
    """French/English from the borrowed-word table, or French from its accents; else None."""
    from jazari_nlp.text.arabizi import foreign_words

    label = foreign_words().get(word)
    if label and label != "Zyyy":
        return label
    return "fra_Latn" if _FRENCH_ACCENT.search(word) and word.isalpha() else None


_ARABIZI_DIGIT = re.compile(r"[a-z][2-9]|[2-9][a-z]", re.IGNORECASE)


def tag_words(text: str, model: FastTextIdentifier | LangIdConfig | None = None,
              context_weight: float = 0.6) -> list[tuple[str, str]]:
    """A label for each whitespace-separated word: ``(word, label)``; words without letters get ``und``.

    A Tifinagh word is ``zgh_Tfng``; an Arabic-script word takes the sentence's best Arabic-script label
    (one word cannot tell Darija from MSA); a Latin word with a digit inside (``3la``, ``m7a``) is Arabizi;
    other Latin words combine their own scores with the sentence's (weight ``context_weight``), so
    ``cinema`` in a Darija sentence is French while ``l`` stays Darija.

    Example::

        >>> tag_words("ana ghadi l cinema demain")
        [('ana', 'ary_Latn'), ('ghadi', 'ary_Latn'), ('l', 'ary_Latn'), ('cinema', 'fra_Latn'), ('demain', 'fra_Latn')]
    """
    if not isinstance(text, str):
        raise _not_text("tag_words", text)
    ident = model if isinstance(model, FastTextIdentifier) else load_identifier(model)
    words = _WORD.findall(text)
    context: dict[str, dict[str, float]] = {}
    out: list[tuple[str, str]] = []
    for word in words:
        counts = script_counts(word)
        letters = sum(counts.values())
        if letters == 0:
            out.append((word, UND))
            continue
        script = max(("Arab", "Latn", "Tfng", "other"), key=counts.__getitem__)
        if script == "other":
            out.append((word, UND))
            continue
        if script not in context:
            part = " ".join(w for w in words if script_counts(w)[script] > 0)
            state, _ = ident._gate(part)
            context[script] = ({p.label: p.score for p in ident._scores(prepare(part, ident.cfg.max_chars), script)}
                               if state == "ok" and prepare(part) else {})
        ctx = context[script]
        if script != "Latn":
            out.append((word, max(ctx, key=ctx.get) if ctx else UND))
            continue
        if _ARABIZI_DIGIT.search(word) and "ary_Latn" in ident.labels:
            out.append((word, "ary_Latn"))
            continue
        bare = _EDGE_PUNCT.sub("", word).lower()
        fixed = _foreign_label(bare)
        if fixed and fixed in ident.labels:
            out.append((word, fixed))
            continue
        own = ident.word_probs(word, script)
        scores = {lab: math.log(own.get(lab, 0.0) + 1e-4) + context_weight * math.log(ctx.get(lab, 0.0) + 1e-4)
                  for lab in set(own) | set(ctx)}
        out.append((word, max(scores, key=scores.get) if scores else UND))
    return out


def code_switching_ratio(text: str, model: FastTextIdentifier | LangIdConfig | None = None) -> float:
    """Code-Mixing Index / 100 (Gambäck & Das 2014): ``1 - max_label_words / words_with_a_label``, 0 if none.

    Example::

        >>> code_switching_ratio("ana ghadi l cinema demain")
        0.4
    """
    if not isinstance(text, str):
        raise _not_text("code_switching_ratio", text)
    labels = [lab for _, lab in tag_words(text, model) if lab != UND]
    if not labels:
        return 0.0
    top = max(labels.count(lab) for lab in set(labels))
    return 1.0 - top / len(labels)


__all__ = ["Prediction", "LangIdConfig", "FastTextIdentifier", "load_identifier", "identify", "tag_words",
           "code_switching_ratio", "prepare", "sample_text", "DEFAULT_MODEL", "LangIdError", "ModelFileError"]
