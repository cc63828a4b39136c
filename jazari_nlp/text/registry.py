"""The varieties the toolkit knows: one table of codes, scripts, names and aliases.

Codes follow the FLORES-200 / GlotLID style ``<iso639-3>_<Script>``. A few codes are groups
(``ar_other``: every Arabic variety that is neither Moroccan nor MSA) because no public identifier tells
them apart reliably and the corpus builder only needs to keep them out of Darija. ``und`` is returned
when nothing can be told. Configs add varieties with :func:`register_language`.

Example::

    >>> canonical_code("tzm_Tfng")   # FLORES-200 labels Standard Moroccan Tamazight as tzm_Tfng
    'zgh_Tfng'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jazari_nlp.schema import StrictModel

log = logging.getLogger("jazari_nlp")


@dataclass(frozen=True)
class Language:
    """One registry entry. ``family`` groups varieties (arabic, amazigh, romance, germanic, none)."""

    code: str
    script: str
    name: str
    aliases: tuple[str, ...] = ()
    family: str = ""
    notes: str = ""


class LanguageSpec(StrictModel):
    """A variety added from config, e.g. ``{code: rif_Arab, script: Arab, name: Tarifit (Arabic script)}``."""

    code: str
    script: str
    name: str
    aliases: list[str] = []
    family: str = ""
    notes: str = ""


class UnknownLanguageError(KeyError):
    """Raised by :func:`get_language` for a code or alias the registry does not know."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return str(self.args[0]) if self.args else "unknown language"


_ARABIC_OTHERS = ("aeb", "arz", "acm", "acq", "ajp", "apc", "ars", "arq", "afb", "ayl", "acw", "ayp",
                  "abv", "shu", "ssh", "apd", "ayh", "ayn", "aec", "pga", "abh", "acx", "adf", "auz")

_BUILTIN: list[Language] = [
    Language("ary_Arab", "Arab", "Moroccan Arabic (Darija), Arabic script",
             ("ary", "darija", "moroccan_arabic", "ary_arab"), "arabic"),
    Language("ary_Latn", "Latn", "Moroccan Arabic (Darija), Latin script (Arabizi)",
             ("arabizi", "darija_latn", "ary_latn"), "arabic"),
    Language("arb_Arab", "Arab", "Modern Standard Arabic",
             ("arb", "ar", "ara", "ara_Arab", "msa", "arabic"), "arabic"),
    Language("ar_other", "Arab", "Other Arabic varieties (Algerian, Tunisian, Egyptian, Levantine, Gulf, Iraqi...)",
             tuple(f"{c}_Arab" for c in _ARABIC_OTHERS) + _ARABIC_OTHERS, "arabic",
             "a group label: the other dialects are negatives for Darija, not told apart"),
    Language("ar_other_Latn", "Latn", "Other Arabic in Latin script (Algerian/Tunisian Arabizi, romanized MSA)",
             tuple(f"{c}_Latn" for c in _ARABIC_OTHERS) + ("arb_Latn", "qaf_Latn"), "arabic",
             "hard negatives for Moroccan Arabizi"),
    Language("zgh_Tfng", "Tfng", "Standard Moroccan Tamazight (Tifinagh)",
             ("zgh", "tzm_Tfng", "tamazight", "tifinagh", "shi_Tfng", "rif_Tfng"), "amazigh",
             "FLORES-200 labels this text tzm_Tfng"),
    Language("kab_Latn", "Latn", "Kabyle (Latin script)", ("kab",), "amazigh"),
    Language("shi_Latn", "Latn", "Tachelhit (Latin script)", ("shi",), "amazigh"),
    Language("tzm_Latn", "Latn", "Central Atlas Tamazight (Latin script)", ("tzm",), "amazigh"),
    Language("rif_Latn", "Latn", "Tarifit (Latin script)", ("rif",), "amazigh"),
    Language("ber_Arab", "Arab", "Amazigh in Arabic script",
             ("shi_Arab", "tzm_Arab", "rif_Arab", "zgh_Arab", "kab_Arab"), "amazigh"),
    Language("taq_Tfng", "Tfng", "Tamasheq (Tuareg Tifinagh)", ("taq",), "amazigh",
             "Tuareg Tifinagh, not the Moroccan standard; kept apart so it is not counted as zgh_Tfng"),
    Language("taq_Latn", "Latn", "Tamasheq (Latin script)", (), "amazigh"),
    Language("fra_Latn", "Latn", "French", ("fra", "fr", "fre", "french"), "romance"),
    Language("eng_Latn", "Latn", "English", ("eng", "en", "english"), "germanic"),
    Language("spa_Latn", "Latn", "Spanish", ("spa", "es", "spanish"), "romance"),
    Language("und", "Zyyy", "Undetermined", ("und_Zyyy", "unknown", "zxx"), "none",
             "returned when nothing can be told (empty, emoji, too short, low score)"),
]

LANGUAGES: dict[str, Language] = {}
_ALIASES: dict[str, str] = {}


def register_language(spec: LanguageSpec | Language | dict) -> None:
    """Add (or replace) a variety; its code and aliases resolve through :func:`canonical_code`.

    Example::

        >>> register_language(LanguageSpec(code="rif_Arab", script="Arab", name="Tarifit (Arabic script)"))
    """
    if isinstance(spec, dict):
        spec = LanguageSpec(**spec)
    if isinstance(spec, LanguageSpec):
        spec = Language(spec.code, spec.script, spec.name, tuple(spec.aliases), spec.family, spec.notes)
    if not isinstance(spec, Language):
        raise TypeError(f"register_language() takes a LanguageSpec, Language or dict, not {type(spec).__name__}")
    # Another variety's code is never taken over (every lookup of it, identify's labels too, would silently
    # change); an alias may move to a finer variety (rif_Arab out of the coarse ber_Arab), and says so.
    # Re-registering the same code (to add aliases, say) is fine.
    codes = {c.lower(): c for c in LANGUAGES}
    for key in (spec.code, *spec.aliases):
        owner = _ALIASES.get(key.lower())
        if owner is None or owner == spec.code:
            continue
        if key.lower() in codes:
            raise ValueError(f"register_language: {key!r} is the code of {codes[key.lower()]!r} (codes and aliases "
                             f"are case-insensitive); choose another code or alias for {spec.code!r}")
        log.warning("register_language: alias %r now names %r (it named %r)", key, spec.code, owner)
    LANGUAGES[spec.code] = spec
    _ALIASES[spec.code.lower()] = spec.code
    for alias in spec.aliases:
        _ALIASES[alias.lower()] = spec.code


for _lang in _BUILTIN:
    register_language(_lang)


def canonical_code(code_or_alias: str) -> str:
    """Registry code for a code or alias (case-insensitive; ``__label__`` prefixes are dropped).

    Example::

        >>> canonical_code("__label__arz_Arab")
        'ar_other'
    """
    key = str(code_or_alias).strip()
    if key.startswith("__label__"):
        key = key[len("__label__"):]
    found = _ALIASES.get(key.lower())
    if found is None:
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguageError(
            f"unknown language {code_or_alias!r}; known codes: {known} "
            "(add one with register_language or a `languages:` config entry)"
        )
    return found


def get_language(code_or_alias: str) -> Language:
    """The registry entry for a code or alias; :class:`UnknownLanguageError` (a KeyError) if unknown.

    Example::

        >>> get_language("darija").code
        'ary_Arab'
    """
    return LANGUAGES[canonical_code(code_or_alias)]


def languages() -> list[Language]:
    """All registry entries, in registration order."""
    return list(LANGUAGES.values())


__all__ = ["Language", "LanguageSpec", "UnknownLanguageError", "LANGUAGES", "register_language",
           "canonical_code", "get_language", "languages"]
