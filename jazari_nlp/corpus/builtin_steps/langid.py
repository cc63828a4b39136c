"""``langid``: tag ``lang``, ``lang_score`` and ``script``; drop languages not kept and low scores.

Example: ``LangId("03_langid", LangIdStep(keep=["ary_Arab"])).filter_batch(docs)`` → ``[True, (False,
'lang_not_kept'), ...]``.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field, ValidationInfo, field_validator

from jazari_nlp.corpus.common import LONG_MIN_WORDS, UNSAFE_CHARS, _language_keys, language_code
from jazari_nlp.corpus.filters import document_is_long
from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel
from jazari_nlp.text import UnknownLanguageError, canonical_code, dominant_script, load_identifier
from jazari_nlp.text.langid import LangIdConfig


class LangIdStep(StrictModel):
    """Tag `lang`, `lang_score` and `script`; drop languages not kept and scores under their threshold.

    ``thresholds`` apply to long documents (kind web/news/books, or auto with ``long_min_words`` words or
    more), ``short_thresholds`` to the others: FineWeb-2's values were fitted on web pages, and a tweet or a
    one-line sentence scores lower for any identifier without being less Darija.
    """

    identifier: LangIdConfig = Field(default_factory=LangIdConfig, description="jazari's LangIdConfig.")
    use_hint: bool = Field(False, description="Trust the source's `language` hint when it has one (score 1.0).")
    keep: list[str] | None = Field(None, description="Languages kept (None: all). Others: `lang_not_kept`.")
    min_score: float = Field(0.0, ge=0, le=1, description="Threshold for languages not in `thresholds` "
                             "(or `short_thresholds` for short documents).")
    # FineWeb-2's published language_score thresholds for these two languages (configs/<lang>.yml).
    thresholds: dict[str, float] = Field(default_factory=lambda: {"ary_Arab": 0.418, "zgh_Tfng": 0.3},
                                         description="Per-language minimum scores of long documents.")
    short_thresholds: dict[str, float] = Field(default_factory=dict, description="Per-language minimum scores "
                                               "of short documents (default none: `min_score`).")
    long_min_words: int = Field(LONG_MIN_WORDS, ge=1, description="Kind auto: documents with at least this many "
                                "words are long.")
    max_chars: int = Field(1000, gt=0, description="Identify on the first N characters (speed).")

    @field_validator("keep")
    @classmethod
    def _known_keep(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else list(dict.fromkeys(language_code(c, "langid.keep") for c in v))

    @field_validator("thresholds", "short_thresholds")
    @classmethod
    def _known_thresholds(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for code, t in v.items():
            if not 0 <= t <= 1:
                raise ValueError(f"langid.{info.field_name}.{code}: {t} is not a score between 0 and 1")
        return _language_keys(v, f"langid.{info.field_name}")



SCRIPT_CHARS = 5000  # `script` is the dominant script of the first 5,000 characters


class LangIdStepError(RuntimeError):
    """The language-id model failed on a text: the build stops (see ``build_corpus``)."""


def _canonical(code: str) -> str:
    """The registry's code for a label or hint (``tzm_Tfng`` → ``zgh_Tfng``); unknown codes are kept as given."""
    try:
        return canonical_code(code)
    except UnknownLanguageError:
        return code


@register_step("langid", LangIdStep, order=30)
class LangId(CorpusStep):
    """Tags lang / lang_score / script; drops languages not kept and scores under the language's threshold."""

    batch_size = 64

    def __init__(self, step_name: str, cfg: LangIdStep):
        super().__init__(step_name, cfg)
        self._model = None
        self._codes: list | None = None  # script codes of the last texts predicted (see _predict)
        self._langs: dict[str, str] = {}  # label -> the `lang` written for it

    def _predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """Label and score per text; ``self._codes`` is then the identifier's script codes of each text (jazari's
        identifier; None otherwise), for ``script``."""
        if self._model is None:
            self._model = load_identifier(self.cfg.identifier)
        from jazari_nlp.text.langid import FastTextIdentifier, LangIdError

        # errors="raise": a model that cannot predict must stop the build, not label every document `und`
        # (which a `keep:` list then drops whole, silently).
        try:
            if isinstance(self._model, FastTextIdentifier):
                codes: list = []
                preds = self._model.predict_batch(texts, errors="raise", codes=codes)
                self._codes = codes
            else:
                preds = self._model.predict_batch(texts, errors="raise")
        except LangIdError as e:
            model = self.cfg.identifier.model_path or "the shipped model"
            raise LangIdStepError(f"{self.name}: language identification failed ({e}); model: {model}. Check "
                                  "the model file (langid.identifier.model_path) or retrain it: jazari langid "
                                  "train") from None
        preds = [p[0] if isinstance(p, list) else p for p in preds]
        return [(str(p.label), float(p.score)) for p in preds]

    def filter_batch(self, batch: list) -> list[bool | tuple[bool, str]]:
        todo = [d for d in batch if not (self.cfg.use_hint and d.metadata.get("lang_hint"))]
        head = self.cfg.max_chars
        texts = [d.text[:head] for d in todo]
        self._codes = None
        preds = dict(zip(map(id, todo), self._predict(texts), strict=True)) if todo else {}
        # The identifier counted the scripts of text[:head] (its gate): `script` (over text[:SCRIPT_CHARS])
        # adds the rest to those counts instead of counting the head again.
        codes = self._codes if head <= SCRIPT_CHARS else None
        counted = dict(zip(map(id, todo), codes, strict=True)) if codes else {}
        out: list[bool | tuple[bool, str]] = []
        langs: Counter[str] = Counter()
        for d in batch:
            label, score = preds.get(id(d)) or (d.metadata["lang_hint"], 1.0)
            lang = self._langs.get(label) if type(label) is str else None
            if lang is None:  # the registry lookup and the sub, once per label (a pure function of it)
                lang = UNSAFE_CHARS.sub("_", _canonical(label)) or "und"
                if type(label) is str:
                    self._langs[label] = lang
            d.metadata["lang"], d.metadata["lang_score"] = lang, round(score, 4)
            n = counted.get(id(d))
            d.metadata["script"] = (dominant_script(d.text[:SCRIPT_CHARS]) if n is None
                                    else dominant_script(d.text[head:SCRIPT_CHARS], counted=n))
            langs[lang] += 1
            if self.cfg.keep is not None and lang not in self.cfg.keep:
                out.append((False, "lang_not_kept"))
            elif score < self._threshold(d, lang):
                out.append((False, "lang_low_score"))
            else:
                out.append(True)
        for lang, n in langs.items():  # one update per language and batch: the same totals
            self.stat_update(f"lang_{lang}", value=n)
        return out

    def _threshold(self, doc, lang: str) -> float:
        # FineWeb-2's thresholds were fitted on web pages: short items have their own (default: min_score)
        # remembered for the quality step, which asks the same of the same text
        table = (self.cfg.thresholds if document_is_long(doc, self.cfg.long_min_words) else self.cfg.short_thresholds)
        return table.get(lang, self.cfg.min_score)

    def filter(self, doc) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

