"""The quality step's thresholds: Gopher / FineWeb rules for long documents, short-text rules for short ones.

They are overrides: only the keys a user wrote count, so that a saved config means the same thing again (see
:class:`_Overrides`). ``corpus/filters.py`` applies them; ``builtin_steps/quality.py`` is the step.

Example: ``QualityThresholds(min_words=30, short={"min_words": 3}).written()`` →
``{'min_words': 30, 'short': {'min_words': 3}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from jazari_nlp.schema import StrictModel


class _Overrides(StrictModel):
    """Threshold sets are overrides: only the keys a user wrote count (``model_fields_set``), and only those
    are written back by ``model_dump`` (``None`` included: it switches a check off), so a resolved config
    that is saved and loaded again means the same thing."""

    @model_serializer(mode="wrap")
    def _written_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        return {k: out.get(k) for k in type(self).model_fields if k in self.model_fields_set}

    def written(self) -> dict[str, Any]:
        """The keys set explicitly, nested sets included. Example: ``ShortThresholds(min_words=3).written()``."""
        return {k: v.written() if isinstance(v, _Overrides) else v
                for k, v in self.__dict__.items() if k in self.model_fields_set}


class ShortThresholds(_Overrides):
    """Rules for short documents: posts, comments, sentences, lexicon entries, transcript turns (see
    corpus/filters.py ``short_reason``). ``None`` switches a check off."""

    min_words: int | None = Field(2, description="Fewer words: `quality_too_few_words` (links not counted).")
    lexicon_min_words: int | None = Field(1, description="The same for sources of kind `lexicon`.")
    max_replacement_ratio: float | None = Field(
        0.001, description="Share of U+FFFD among the characters (bytes no decoding could read): "
        "`quality_replacement_chars`.")
    max_link_ratio: float | None = Field(
        0.5, description="Share of URL/@mention/#hashtag tokens: `quality_mostly_links` (none of words: "
        "`quality_links_only`).")
    min_letter_ratio: float | None = Field(
        0.5, description="Letters among letters, digits and symbols, emoji not counted, Arabizi digits (2 3 5 7 8 "
        "9 in mostly-letter words) counted as letters: `quality_few_letters` (no letter: `quality_no_letters`).")
    max_boilerplate_ratio: float | None = Field(
        0.5, description="Share of words in navigation/cookie/'read more' segments: `quality_boilerplate`.")
    min_repeats_one_token: int | None = Field(
        3, description="A document that is one token repeated this many times or more: `quality_repeated_token`.")
    max_dup_line_frac: float | None = Field(
        0.5, description="Share of lines that repeat an earlier line: `quality_repeated_lines`.")


class QualityThresholds(_Overrides):
    """Gopher / FineWeb heuristics for long documents, and ``short`` for short ones. ``None`` switches a check
    off. Defaults are Gopher's (Rae et al. 2021)."""

    max_replacement_ratio: float | None = Field(
        0.001, description="jazari: share of U+FFFD (bytes no decoding could read): `quality_replacement_chars`.")
    min_words: int | None = 50
    max_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_digit_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: list[tuple[int, float]] | None = [(2, 0.2), (3, 0.18), (4, 0.16)]
    dup_n_grams: list[tuple[int, float]] | None = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11),
                                                   (10, 0.10)]
    min_line_punct_ratio: float | None = Field(0.12, description="FineWeb: share of lines ending in punctuation.")
    max_short_line_ratio: float | None = Field(0.67, description="FineWeb: share of lines under 30 characters.")
    short: ShortThresholds = Field(default_factory=ShortThresholds, description="Rules for short documents.")


def _check_keys(over: Any, model: type[StrictModel], where: str) -> None:
    """Unknown keys of a ``per_language`` entry, with a did-you-mean (they sit under a language code, where
    the generic config messages cannot tell which keys are valid)."""
    import difflib

    if not isinstance(over, dict):
        return  # pydantic says what it expected
    for key, value in over.items():
        field = model.model_fields.get(key)
        if field is None:
            near = difflib.get_close_matches(str(key), list(model.model_fields), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"{where}.{key}: unknown key {key!r}{hint} Valid keys here: "
                             f"{', '.join(sorted(model.model_fields))}")
        if key == "short":
            _check_keys(value, ShortThresholds, f"{where}.short")
