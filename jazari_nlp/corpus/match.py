"""The ``match`` text of a document (exact dedup, near dedup and decontamination compare it), computed once.

Example: ``match_text(Document("Salam!", "1"))`` → ``'salam'``.
"""

from __future__ import annotations

import xxhash

from jazari_nlp.text import normalize

# Metadata keys that carry the `match` text between steps and passes; never written to shards or rejects.
MATCH, MATCH_OF = "_match", "_match_of"
# [word count, text_hash(text)] of the quality step's words, for the writer's `words` column (same rules)
WORDS = "_words"


def match_text(doc) -> str:
    """The document's text under the ``match`` profile, computed once per version of the text.

    Exact dedup, near dedup and decontamination all need it; the result rides along in the metadata (through
    the intermediate files too) with a hash of the text it was computed from, so a step that rewrites the text
    (pii, normalize) simply causes one recomputation. Example: ``match_text(Document("Salam!", "1"))`` → ``'salam'``.
    """
    m = doc.metadata
    h = text_hash(doc.text)
    if m.get(MATCH_OF) == h and MATCH in m:
        return m[MATCH]
    key = normalize(doc.text, "match")
    m[MATCH], m[MATCH_OF] = key, h
    return key


_HASHED: dict[int, tuple[str, int]] = {}  # id(text) -> (text, its hash), the texts hashed last (bounded)
_HASHED_MAX, _HASHED_MAX_CHARS = 256, 20_000  # at most ~5M characters held; a longer text is hashed again


def text_hash(text: str) -> int:
    """xxh3 of the text's UTF-8 bytes (surrogates passed). The last texts' hashes are kept: the quality step,
    the match key, the dedup signature and the next steps of a pass ask for the same text objects. Each entry
    holds its text object, so an equal id can never be another text's."""
    entry = _HASHED.get(id(text))
    if entry is not None and entry[0] is text:
        return entry[1]
    h = xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))
    if len(text) <= _HASHED_MAX_CHARS:
        if len(_HASHED) >= _HASHED_MAX:
            del _HASHED[next(iter(_HASHED))]  # the oldest
        _HASHED[id(text)] = (text, h)
    return h


def key_match(doc) -> str:
    return match_text(doc)


def key_train(doc) -> str:
    return normalize(doc.text, "train")


def key_raw(doc) -> str:
    return doc.text


# exact_dedup's `key`: which text of a document must be equal
DEDUP_KEYS = {"match": key_match, "train": key_train, "raw": key_raw}
