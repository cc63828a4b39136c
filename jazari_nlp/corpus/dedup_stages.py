"""The datatrove classes of the two dedup steps (imported when a build assembles its passes, never with the
config): datatrove's exact-dedup and MinHash stages under jazari step names, on the ``match`` text, the MinHash
signature and bucket stages with fewer Python steps per document (datatrove's numbers and files).

Example: ``JazariMinhashSignature("_work/minhash_sig", config=MinhashConfig())``.
"""

from __future__ import annotations

import re

import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.dedup.exact_dedup import ExactDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import _mersenne_prime as _MERSENNE
from datatrove.utils.typeshelper import StatHints
from datatrove.utils.word_tokenizers import WordTokenizer

from jazari_nlp.corpus.match import match_text
from jazari_nlp.corpus.passes import _add_ones, _rename
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


class JazariMinhashBuckets(MinhashDedupBuckets):
    """datatrove's MinHash stage 2 (one task per bucket): the same ``.dups`` file, with the bucket's sorted
    signature files merged by one numpy sort instead of a heap of Python objects (one per signature). Falls back
    to datatrove's streaming merge with an index, several tasks per bucket, or more than ``max_bytes`` of
    signatures (the sort holds them all in memory)."""

    max_bytes = 256 << 20

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        if self.index_folder is not None or world_size != self.config.num_buckets or data is not None:
            return super().run(data, rank, world_size)
        files = self.input_folder.list_files(subdirectory=f"bucket_{rank:03d}")
        if sum(self.input_folder.size(f) for f in files) > self.max_bytes:
            return super().run(data, rank, world_size)
        with self.track_time():
            self._write_dups(files, rank, world_size)

    def _write_dups(self, files: list[str], rank: int, world_size: int) -> None:
        """Every pair of consecutive equal signatures in datatrove's merge order (signature, file, document):
        ``<4I`` records (file stem, document) of the earlier one, then of the later one."""
        import numpy as np

        c, h = self.config, self.config.hashes_per_bucket
        dtype = np.dtype([("sig", f"<{c.hash_config.struct_format}", (h,)), ("doc", "<u4")])
        _, hash_max = self.get_worker_hash_range(files, rank, world_size)
        sigs, docs, stems = [], [], []
        for name in files:
            with self.input_folder.open(name, mode="rb") as f:
                records = np.frombuffer(f.read(), dtype=dtype)
            # datatrove stops reading a file at the first signature whose first hash reaches the range's end
            records = records[:np.searchsorted(records["sig"][:, 0] >= hash_max, True)] if len(records) else records
            sigs.append(records["sig"].astype(np.uint64))
            docs.append(records["doc"])
            stems.append(np.full(len(records), int(name.rsplit("/", 1)[-1].removesuffix(".minhash.sig")), "<u4"))
        with self.output_folder.open(f"{rank:05d}_00.dups", mode="wb") as out:
            if not files or not sum(map(len, docs)):
                return
            sig, doc, stem = np.concatenate(sigs), np.concatenate(docs), np.concatenate(stems)
            reader = np.repeat(np.arange(len(files)), list(map(len, docs)))
            order = np.lexsort((doc, reader, *sig.T[::-1]))  # the heap's order: signature, file, document
            sig, doc, stem = sig[order], doc[order], stem[order]
            same = np.flatnonzero((sig[1:] == sig[:-1]).all(axis=1))  # the later one of each equal pair: same + 1
            if len(same):
                pairs = np.stack([stem[same], doc[same], stem[same + 1], doc[same + 1]], axis=1).astype("<u4")
                out.write(pairs.tobytes())
                _add_ones(self.stats["total_matches"], len(same))


class WhitespaceWords(WordTokenizer):
    """Script-agnostic word split; datatrove's tokenizers for ar/ber codes need spaCy."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in text.split("\n") if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^\n]+", text)]


class JazariMinhashSignature(MinhashDedupSignature):
    """MinHash stage 1 on word n-grams of the ``match`` profile (script-agnostic, no spaCy/NLTK).

    datatrove's numbers and files, computed with fewer Python steps: each document's n-grams are hashed as
    slices of its words joined once, and the bucket records are packed in blocks of documents (datatrove packs
    and writes 14 records per document); datatrove's own code then sorts and verifies the bucket files."""

    block_docs = 1024  # documents whose records are packed and written at once (~1 MB per block)
    chunk_rows = 2048  # shingles per step of the signature arithmetic (2 buffers of ~1.8 MB at 112 hashes)

    def __init__(self, output_folder, config):
        super().__init__(output_folder, config=config, language=WhitespaceWords())

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        if self.skip_existing_sigs and self.check_can_skip_sig_writing(rank)[0]:
            return super().run(data, rank, world_size)  # datatrove's reuse of the files already written
        with self.track_time():
            written = self._write_buckets(data, rank)
        self._written = written  # datatrove's run then only sorts and verifies (check_can_skip_sig_writing)
        try:
            return super().run(data, rank, world_size)
        finally:
            self._written = None

    def check_can_skip_sig_writing(self, rank):
        written = getattr(self, "_written", None)
        return (True, written) if written is not None else super().check_can_skip_sig_writing(rank)

    def _write_buckets(self, data: DocumentsPipeline, rank: int) -> int:
        """Write every document's signature to the bucket files (unsorted, as datatrove's loop does): per
        bucket, records of ``hashes_per_bucket`` little-endian hashes and the uint32 document index."""
        import numpy as np

        c = self.config
        width = np.dtype(c.hash_config.np_dtype).itemsize * c.hashes_per_bucket
        sigs = np.empty((self.block_docs, self.num_hashes), dtype=np.dtype(c.hash_config.np_dtype).newbyteorder("<"))
        idx = np.empty(self.block_docs, dtype="<u4")
        record = np.empty((self.block_docs, width + 4), dtype=np.uint8)
        buckets = [self.output_folder.open(f"bucket_{bi:03d}/{rank:05d}.minhash.sig", mode="wb")
                   for bi in range(c.num_buckets)]

        def flush(k: int) -> None:
            for bi, bucket in enumerate(buckets):
                record[:k, :width] = sigs[:k, bi * c.hashes_per_bucket:(bi + 1) * c.hashes_per_bucket].view(np.uint8)
                record[:k, width:] = idx[:k].view(np.uint8).reshape(k, 4)
                bucket.write(record[:k].tobytes())

        k = written = n_docs = 0
        try:
            for doc_idx, doc in enumerate(data):
                n_docs += 1
                self._current = doc
                shingles = self.get_shingles(doc.text)
                if shingles.size == 0:
                    continue
                sigs[k], idx[k] = self._signature(shingles), doc_idx
                k, written = k + 1, written + 1
                if k == self.block_docs:
                    flush(k)
                    k = 0
            flush(k)
        finally:
            self._current = None
            for bucket in buckets:
                bucket.close()
        _add_ones(self.stats[StatHints.total], n_docs)  # datatrove's StatHints.total, once per document
        return written

    def get_signature(self, shingles):
        """datatrove's ``get_signature``: the minima cut into ``num_buckets`` lists of ``hashes_per_bucket``."""
        return self._signature(shingles).reshape(self.config.num_buckets, -1).tolist()

    def _signature(self, shingles):
        """datatrove's ``(shingles * a + b) % (2**61 - 1)``, min per hash: the same numbers, with the remainder
        by the Mersenne prime computed from shifts and masks (no 64-bit division: x = q·2**61 + r ≡ q + r, and
        q + r < 2·(2**61 - 1) for any uint64 x). q + r >= 2**61 - 1 needs r within 7 of 2**61 - 1: one check of
        the largest value (a read) instead of a comparison and a masked subtraction of every value. Computed in
        two reused buffers of ``chunk_rows`` shingles at most (no new arrays per document, bounded memory)."""
        import numpy as np

        n = shingles.shape[0]
        if n > self.chunk_rows:
            parts = [self._signature(shingles[i:i + self.chunk_rows]) for i in range(0, n, self.chunk_rows)]
            return np.minimum.reduce(parts)
        scratch = getattr(self, "_scratch", None)
        if scratch is None or scratch[0].shape[0] < n:
            rows = min(self.chunk_rows, max(n, 256, 2 * (scratch[0].shape[0] if scratch else 0)))
            self._scratch = scratch = (np.empty((rows, self.num_hashes), dtype=np.uint64),
                                       np.empty((rows, self.num_hashes), dtype=np.uint64))
        phv, high = scratch[0][:n], scratch[1][:n]
        a, b = self.parameters
        np.multiply(shingles, a, out=phv)  # wraps modulo 2**64 like datatrove's expression
        phv += b
        np.right_shift(phv, np.uint64(61), out=high)
        phv &= _MERSENNE
        phv += high
        if phv.max() >= _MERSENNE:
            np.subtract(phv, _MERSENNE, out=phv, where=phv >= _MERSENNE)
        if self.config.hash_config.precision == 32:
            phv &= np.uint64(self.config.hash_config.max)
        return phv.min(axis=0).astype(self.config.hash_config.np_dtype)

    def get_shingles(self, text: str):
        """The xxhash values of the word n-grams (words joined by one space), datatrove's ``_hash_func`` values:
        hashed as slices of the words joined once (UTF-8 never has a space byte inside a character)."""
        import numpy as np

        doc = getattr(self, "_current", None)
        words = (match_text(doc) if doc is not None and doc.text is text else normalize(text, "match")).split()
        if not words:
            return np.empty((0, 1), dtype=np.uint64)
        func = _direct_hash(self._hash_func)
        n = self.config.n_grams
        joined = " ".join(words)
        if len(words) <= n:  # one shingle: the whole word sequence (a short document too)
            return np.array([[func(joined)]], dtype=np.uint64)
        if func not in _BYTES_HASHES:
            grams = map(" ".join, zip(*[words[i:] for i in range(n)], strict=False))
            return np.fromiter(map(func, grams), dtype=np.uint64).reshape((-1, 1))
        data = joined.encode("utf-8")  # xxhash's own encoding of a str (and its error on a lone surrogate)
        spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
        starts = [0, *(spaces[:len(words) - n] + 1).tolist()]  # gram i: words i .. i + n - 1
        ends = [*spaces[n - 1:].tolist(), len(data)]
        grams = map(data.__getitem__, map(slice, starts, ends))
        return np.fromiter(map(func, grams), dtype=np.uint64, count=len(starts)).reshape((-1, 1))


def _direct_hash(func):
    """datatrove's xxhash wrappers are one call of xxhash's C function: call that directly (same values, one
    Python frame less per n-gram); any other hash function as it is."""
    from datatrove.utils.hashes import xxhash as dt_xxhash

    return {dt_xxhash.xxhash64: xxhash.xxh64_intdigest, dt_xxhash.xxhash32: xxhash.xxh32_intdigest}.get(func, func)


# xxhash hashes a str as its UTF-8 bytes: with these, n-grams may be hashed as slices of the encoded text
_BYTES_HASHES = {xxhash.xxh64_intdigest, xxhash.xxh32_intdigest}
