"""The ``match`` text of a document (exact dedup, near dedup and decontamination compare it), computed once.

Example: ``match_text(Document("Salam!", "1"))`` → ``'salam'``.
"""

from __future__ import annotations

import xxhash

from jazari_nlp.text import normalize

# Metadata keys that carry the `match` text between steps and passes; never written to shards or rejects.
MATCH, MATCH_OF = "_match", "_match_of"


def match_text(doc) -> str:
    """The document's text under the ``match`` profile, computed once per version of the text.

    Exact dedup, near dedup and decontamination all need it; the result rides along in the metadata (through
    the intermediate files too) with a hash of the text it was computed from, so a step that rewrites the text
    (pii, normalize) simply causes one recomputation. Example: ``match_text(Document("Salam!", "1"))`` → ``'salam'``.
    """
    m = doc.metadata
    h = xxhash.xxh3_64_intdigest(doc.text.encode("utf-8", "surrogatepass"))
    if m.get(MATCH_OF) == h and MATCH in m:
        return m[MATCH]
    key = normalize(doc.text, "match")
    m[MATCH], m[MATCH_OF] = key, h
    return key


def key_match(doc) -> str:
    return match_text(doc)


def key_train(doc) -> str:
    return normalize(doc.text, "train")


def key_raw(doc) -> str:
    return doc.text


# exact_dedup's `key`: which text of a document must be equal
DEDUP_KEYS = {"match": key_match, "train": key_train, "raw": key_raw}
