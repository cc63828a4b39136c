"""The Moroccan text layer: language registry, normalization, script and language identification, Arabizi.

Import-light: fastText is loaded on the first ``identify`` call and cached.

Example::

    >>> from jazari_nlp.text import normalize, identify
    >>> identify(normalize("واش نتا مزيان؟")).label
    'ary_Arab'
"""

from jazari_nlp.text.arabizi import transliterate
from jazari_nlp.text.langid import (
    LangIdConfig,
    Prediction,
    code_switching_ratio,
    identify,
    load_identifier,
    tag_words,
)
from jazari_nlp.text.normalize import decode_bytes, normalize
from jazari_nlp.text.registry import (
    LANGUAGES,
    Language,
    LanguageSpec,
    UnknownLanguageError,
    canonical_code,
    get_language,
    languages,
    register_language,
)
from jazari_nlp.text.script import dominant_script, script_shares, word_scripts

__all__ = [
    "normalize", "decode_bytes", "identify", "Prediction", "tag_words", "code_switching_ratio",
    "script_shares", "dominant_script", "word_scripts", "transliterate", "get_language", "canonical_code",
    "LANGUAGES", "Language", "languages", "LanguageSpec", "UnknownLanguageError", "register_language",
    "LangIdConfig", "load_identifier",
]
