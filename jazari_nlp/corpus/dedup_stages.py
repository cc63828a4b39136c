"""The datatrove classes of the two dedup steps (imported when a build assembles its passes, never with the
config): datatrove's exact-dedup and MinHash stages under jazari step names, on the ``match`` text.

Example: ``JazariMinhashSignature("_work/minhash_sig", config=MinhashConfig())``.
"""

from __future__ import annotations

import re

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.dedup.exact_dedup import ExactDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashDedupFilter, MinhashDedupSignature
from datatrove.utils.word_tokenizers import WordTokenizer

from jazari_nlp.corpus.match import match_text
from jazari_nlp.corpus.passes import _rename
from jazari_nlp.text import normalize


class ExactDuplicateFilter(ExactDedupFilter):
    """datatrove's exact-dedup stage 3 under a jazari step name (drops are `exact_duplicate`)."""

    def __init__(self, step_name: str, **kwargs):
        super().__init__(**kwargs)
        _rename(self, step_name)


class NearDuplicateFilter(MinhashDedupFilter):
    """datatrove's MinHash stage 4 under a jazari step name (drops are `near_duplicate`)."""

    def __init__(self, step_name: str, **kwargs):
        super().__init__(**kwargs)
        _rename(self, step_name)


class WhitespaceWords(WordTokenizer):
    """Script-agnostic word split; datatrove's tokenizers for ar/ber codes need spaCy."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in text.split("\n") if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^\n]+", text)]


class JazariMinhashSignature(MinhashDedupSignature):
    """MinHash stage 1 on word n-grams of the ``match`` profile (script-agnostic, no spaCy/NLTK)."""

    def __init__(self, output_folder, config):
        super().__init__(output_folder, config=config, language=WhitespaceWords())

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        def tracked(docs):  # datatrove hands get_shingles the text only; remember whose it is
            for doc in docs:
                self._current = doc
                yield doc

        return super().run(tracked(data), rank, world_size)

    def get_signature(self, shingles):
        """datatrove's ``(shingles * a + b) % (2**61 - 1)``, min per hash, cut into buckets: the same numbers,
        with the remainder by the Mersenne prime computed from shifts and masks (no 64-bit division: x = q·2**61
        + r ≡ q + r, and q + r < 2·(2**61 - 1) for any uint64 x) and one reshape instead of ``np.split``."""
        import numpy as np
        from datatrove.pipeline.dedup.minhash import _mersenne_prime

        a, b = self.parameters
        phv = shingles * a  # wraps modulo 2**64 like datatrove's expression
        phv += b
        high = phv >> np.uint64(61)
        phv &= _mersenne_prime
        phv += high
        np.subtract(phv, _mersenne_prime, out=phv, where=phv >= _mersenne_prime)
        if self.config.hash_config.precision == 32:
            phv &= np.uint64(self.config.hash_config.max)
        return phv.min(axis=0).astype(self.config.hash_config.np_dtype).reshape(self.config.num_buckets, -1).tolist()

    def get_shingles(self, text: str):
        import numpy as np

        doc = getattr(self, "_current", None)
        words = (match_text(doc) if doc is not None and doc.text is text else normalize(text, "match")).split()
        n = self.config.n_grams
        if len(words) < n:  # a short document is one shingle (its whole word sequence), none when empty
            grams = [" ".join(words)] if words else []
        else:
            grams = map(" ".join, zip(*[words[i:] for i in range(n)], strict=False))
        return np.fromiter(map(_direct_hash(self._hash_func), grams), dtype=np.uint64).reshape((-1, 1))


def _direct_hash(func):
    """datatrove's xxhash wrappers are one call of xxhash's C function: call that directly (same values, one
    Python frame less per n-gram); any other hash function as it is."""
    import xxhash
    from datatrove.utils.hashes import xxhash as dt_xxhash

    return {dt_xxhash.xxhash64: xxhash.xxh64_intdigest, dt_xxhash.xxhash32: xxhash.xxh32_intdigest}.get(func, func)
