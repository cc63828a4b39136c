"""What every corpus module shares: language-code checks, the kinds of source, the shards' columns and the keys
of the per-source accounting. Imports nothing heavy and no other corpus module (the bottom layer).

Example: ``language_code("darija", "langid.keep")`` → ``'ary_Arab'``.
"""

from __future__ import annotations

import re

FORMATS = ("auto", "txt", "jsonl", "parquet", "csv", "tsv", "arrow", "warc", "wet", "hub")
# What a source's text is: long documents (web, news, books) or short items (the rest). See corpus/filters.py.
SOURCE_KINDS = ("auto", "web", "news", "books", "social", "sentences", "lexicon", "transcripts")
LONG_KINDS = ("web", "news", "books")
# Documents with at least this many words are "long" when their source's kind is auto (see QualityStep).
LONG_MIN_WORDS = 100

# The shards' columns after `text` (and the sources' keep_fields, first): see writers.parquet_schema.
ROW_FIELDS = ("id", "lang", "lang_score", "script", "source", "license", "weight", "lang_hint", "pii_replaced",
              "contaminated", "duplicate_count", "words", "chars", "encoding", "file", "line")

# Stats keys of the per-source / per-file accounting (read by the reader, kept by the writer, dropped by
# every reject writer with its reason): the manifest's `by_source` and the loss alarms come from them.
READ_PREFIX, KEPT_PREFIX, FILE_READ_PREFIX, FILE_KEPT_PREFIX = "src_read:", "src_kept:", "file_read:", "file_kept:"
DROP_PREFIX = "src_drop:"  # src_drop:<source>\t<reason>
FILE_DROP_PREFIX = "file_lost:"  # rejected for a reason other than duplication
DUPLICATE_REASONS = ("exact_duplicate", "near_duplicate")
# characters a language label may not carry into a folder name (train/<lang>/) or a stats key
UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_\-]")


def language_code(code: str, where: str) -> str:
    """The registry code for a code or alias (``english`` → ``eng_Latn``); a ValueError with a did-you-mean
    for an unknown one, so a typo fails at validation instead of silently dropping every document.
    Codes added by an experiment's ``languages:`` section are known (they are registered first).

    Example: ``language_code("ENG", "langid.keep")`` → ``'eng_Latn'``.
    """
    import difflib

    from jazari_nlp.text import UnknownLanguageError, canonical_code, languages

    try:
        return canonical_code(code)
    except UnknownLanguageError:
        pass
    known = [lang.code for lang in languages()]
    names = {c.lower(): c for c in known}
    for lang in languages():
        names.update({a.lower(): lang.code for a in lang.aliases})
    near = difflib.get_close_matches(str(code).lower(), list(names), n=1, cutoff=0.6)
    hint = f" (did you mean {names[near[0]]!r}?)" if near else ""
    raise ValueError(f"{where}: unknown language {code!r}{hint}; known codes: {', '.join(known)} "
                     "(an experiment can add codes in its `languages:` section)")


def _language_keys(v: dict, where: str) -> dict:
    out: dict = {}
    for code, value in v.items():
        canon = language_code(code, where)
        if canon in out:
            raise ValueError(f"{where}: {code!r} and another key both mean {canon!r}")
        out[canon] = value
    return out
