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

    datatrove's numbers and files, computed with fewer Python steps: the n-grams of ~50 documents are hashed
    by one numpy xxh64 over byte spans of their words joined once, and the bucket records are packed in blocks
    of documents (datatrove packs and writes 14 records per document); datatrove's own code then sorts and
    verifies the bucket files."""

    block_docs = 1024  # documents whose records are packed and written at once (~1 MB per block)
    chunk_rows = 2048  # shingles per step of the signature arithmetic (4 buffers of ~1.8 MB at 112 hashes)
    hash_bytes = 1 << 16  # match text whose n-grams are hashed by one numpy call (~50 documents)
    group_rows = 1024  # shingles of consecutive documents whose signature arithmetic runs at once

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
        bucket, records of ``hashes_per_bucket`` little-endian hashes and the uint32 document index. The
        n-grams of ``hash_bytes`` of match text are hashed (:meth:`_block_shingles`) and signed
        (:meth:`_block_signatures`) at once unless a subclass has its own ``get_shingles`` or the hash function
        does not hash bytes."""
        import numpy as np

        c = self.config
        width = np.dtype(c.hash_config.np_dtype).itemsize * c.hashes_per_bucket
        sigs = np.empty((self.block_docs, self.num_hashes), dtype=np.dtype(c.hash_config.np_dtype).newbyteorder("<"))
        idx = np.empty(self.block_docs, dtype="<u4")
        record = np.empty((self.block_docs, width + 4), dtype=np.uint8)
        buckets = [self.output_folder.open(f"bucket_{bi:03d}/{rank:05d}.minhash.sig", mode="wb")
                   for bi in range(c.num_buckets)]
        blocked = (type(self).get_shingles is JazariMinhashSignature.get_shingles
                   and _direct_hash(self._hash_func) in _BYTES_HASHES)

        def flush(k: int) -> None:
            for bi, bucket in enumerate(buckets):
                record[:k, :width] = sigs[:k, bi * c.hashes_per_bucket:(bi + 1) * c.hashes_per_bucket].view(np.uint8)
                record[:k, width:] = idx[:k].view(np.uint8).reshape(k, 4)
                bucket.write(record[:k].tobytes())

        k = written = n_docs = size = 0
        pending_idx, pending = [], []  # documents (index, UTF-8 of their words joined) not hashed yet

        def sign(doc_ids, signatures) -> None:
            nonlocal k, written
            for doc_idx, signature in zip(doc_ids, signatures, strict=True):
                sigs[k], idx[k] = signature, doc_idx
                k, written = k + 1, written + 1
                if k == self.block_docs:
                    flush(k)
                    k = 0

        try:
            for doc_idx, doc in enumerate(data):
                n_docs += 1
                if not blocked:
                    self._current = doc
                    shingles = self.get_shingles(doc.text)
                    if shingles.size:
                        sign((doc_idx,), (self._signature(shingles),))
                    continue
                joined = _joined_words(match_text(doc)).encode("utf-8")  # xxhash's error on a lone surrogate
                if joined:
                    pending_idx.append(doc_idx)
                    pending.append(joined)
                    size += len(joined)
                    if size >= self.hash_bytes:
                        sign(pending_idx, self._block_signatures(*self._block_shingles(pending)))
                        pending_idx, pending, size = [], [], 0
            if pending:
                sign(pending_idx, self._block_signatures(*self._block_shingles(pending)))
            flush(k)
        finally:
            self._current = None
            for bucket in buckets:
                bucket.close()
        _add_ones(self.stats[StatHints.total], n_docs)  # datatrove's StatHints.total, once per document
        return written

    def _block_shingles(self, texts: list[bytes]):
        """The shingles (``get_shingles``'s values) of several documents, each given as the UTF-8 of its words
        joined by one space (not empty), hashed in one numpy call (:func:`_xxh64_spans`) with xxhash64: the
        documents joined by a space are one sequence of words, and document d's n-gram i spans its words
        i .. min(i + n, words) - 1. Returns one (shingles, 1) column and the end row of each document's.
        Example: ``_block_shingles([b"a b", b"c"])`` → ``(column of 2 rows, [1, 2])`` at n=5."""
        import numpy as np

        n = self.config.n_grams
        data = b" ".join(texts)
        spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
        words = np.fromiter(map(bytes.count, texts, [b" "] * len(texts)), dtype=np.int64, count=len(texts)) + 1
        grams = np.maximum(words - (n - 1), 1)  # a document of fewer than n words is one shingle
        first_word = np.cumsum(words) - words
        gram_start = np.cumsum(grams) - grams
        first = np.arange(int(grams.sum())) + np.repeat(first_word - gram_start, grams)  # first word of each gram
        last = np.minimum(first + (n - 1), np.repeat(first_word + words - 1, grams))
        starts = np.concatenate([[0], spaces + 1])[first]
        ends = np.concatenate([spaces, [len(data)]])[last]
        func = _direct_hash(self._hash_func)
        if func is xxhash.xxh64_intdigest:
            hashes = _xxh64_spans(data, starts, ends)
        else:  # xxhash32 (32-bit precision): its C function on each n-gram's bytes
            hashes = np.fromiter(map(func, map(data.__getitem__, map(slice, starts.tolist(), ends.tolist()))),
                                 dtype=np.uint64, count=len(starts))
        return hashes.reshape((-1, 1)), np.cumsum(grams).tolist()

    def _block_signatures(self, column, ends: list[int]):
        """``_signature`` of each document's rows ``ends[d - 1]:ends[d]`` of ``column``, one row each, with the
        arithmetic on up to ``group_rows`` rows of consecutive documents at once (8 numpy calls for several
        short documents, then one min per document). Example: ``_block_signatures(*_block_shingles(texts))``."""
        import bisect

        import numpy as np

        out = np.empty((len(ends), self.num_hashes), dtype=np.uint64)
        group, d, start = min(self.group_rows, self.chunk_rows), 0, 0
        while d < len(ends):
            last = bisect.bisect_right(ends, start + group, lo=d)  # documents d .. last - 1 fit in one group
            if last == d:  # a document of more than group_rows shingles
                out[d], start, d = self._signature(column[start:ends[d]]), ends[d], d + 1
                continue
            phv, row = self._reduced(column[start:ends[last - 1]]), 0
            for j in range(d, last):
                np.minimum.reduce(phv[row:ends[j] - start], axis=0, out=out[j])
                row = ends[j] - start
            start, d = ends[last - 1], last
        return out.astype(self.config.hash_config.np_dtype, copy=False)

    def get_signature(self, shingles):
        """datatrove's ``get_signature``: the minima cut into ``num_buckets`` lists of ``hashes_per_bucket``."""
        return self._signature(shingles).reshape(self.config.num_buckets, -1).tolist()

    def _signature(self, shingles):
        """datatrove's ``(shingles * a + b) % (2**61 - 1)``, min per hash: the same numbers, with the remainder
        by the Mersenne prime computed from shifts and masks (no 64-bit division: x = q·2**61 + r ≡ q + r, and
        q + r < 2·(2**61 - 1) for any uint64 x). q + r >= 2**61 - 1 needs r within 7 of 2**61 - 1: one check of
        the largest value (a read) instead of a comparison and a masked subtraction of every value. Computed in
        two reused buffers of ``chunk_rows`` shingles at most (no new arrays per document, bounded memory), with
        ``a`` and ``b`` repeated on every row once (numpy's loops over two full arrays are ~3x faster than over
        a row broadcast to each of a few hundred rows)."""
        import numpy as np

        n = shingles.shape[0]
        if n > self.chunk_rows:
            parts = [self._signature(shingles[i:i + self.chunk_rows]) for i in range(0, n, self.chunk_rows)]
            return np.minimum.reduce(parts)
        return self._reduced(shingles).min(axis=0).astype(self.config.hash_config.np_dtype)

    def _reduced(self, shingles):
        """``(shingles * a + b) % (2**61 - 1)`` (and the 32-bit mask) of at most ``chunk_rows`` shingles, in
        the reused buffer (valid until the next call): :meth:`_signature` before its min."""
        import numpy as np

        n = shingles.shape[0]
        scratch = getattr(self, "_scratch", None)
        if scratch is None or scratch[0].shape[0] < n:
            rows = min(self.chunk_rows, max(n, 256, 2 * (scratch[0].shape[0] if scratch else 0)))
            a, b = self.parameters
            self._scratch = scratch = (np.empty((rows, self.num_hashes), dtype=np.uint64),
                                       np.empty((rows, self.num_hashes), dtype=np.uint64),
                                       np.repeat(a, rows, axis=0), np.repeat(b, rows, axis=0))
        phv, high, a, b = scratch[0][:n], scratch[1][:n], scratch[2][:n], scratch[3][:n]
        np.multiply(shingles, a, out=phv)  # wraps modulo 2**64 like datatrove's expression
        phv += b
        np.right_shift(phv, np.uint64(61), out=high)
        phv &= _MERSENNE
        phv += high
        if phv.max() >= _MERSENNE:
            np.subtract(phv, _MERSENNE, out=phv, where=phv >= _MERSENNE)
        if self.config.hash_config.precision == 32:
            phv &= np.uint64(self.config.hash_config.max)
        return phv

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


def _joined_words(text: str) -> str:
    """``" ".join(text.split())``: the match text already is that (normalize's last step), so it is checked
    (no whitespace but single spaces between characters; every whitespace character other than the space is
    not printable) rather than split and joined again. Example: ``_joined_words(" a  b")`` → ``'a b'``."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


# XXH64's primes (xxhash's spec, https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md)
_P1, _P2, _P3, _P4, _P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                           9650029242287828579, 2870177450012600261)
_LONG_SPAN = 256  # longer n-grams (rare) are hashed by xxhash's C function: the stripe loop is one step per 32 bytes


def _xxh64_spans(data: bytes, starts, ends):
    """``xxhash.xxh64_intdigest(data[s:e])`` (seed 0) of every span, as numpy uint64 arithmetic over all spans
    at once (uint64 wraps modulo 2**64 like XXH64's; a rotation is two shifts). Spans of 32 bytes and more
    run the 4-lane stripe loop, longest first, so that the spans still in the loop at stripe k are a prefix;
    the tails (8-, 4- and 1-byte steps) run on every span with a mask. Bytes are read as 32-byte items at any
    offset (a 1-byte-strided view of the data padded with zeros: one gather per stripe, one for the whole
    tail, never past the end). Example: ``_xxh64_spans(b"ab cd", [0, 3], [2, 5])`` → ``[xxh64(b"ab"),
    xxh64(b"cd")]``."""
    import numpy as np

    u = np.uint64
    p1, p2, p3, p4, p5 = (u(p) for p in (_P1, _P2, _P3, _P4, _P5))
    starts = np.asarray(starts, dtype=np.int64)
    lens = np.asarray(ends, dtype=np.int64) - starts
    n = len(starts)
    if not n:
        return np.empty(0, dtype=np.uint64)
    big = np.flatnonzero(lens > _LONG_SPAN)
    if len(big):
        spans = map(slice, starts[big].tolist(), (starts[big] + lens[big]).tolist())
        big_hashes = list(map(xxhash.xxh64_intdigest, map(data.__getitem__, spans)))
        lens = lens.copy()
        lens[big] = 0
    buf = np.zeros(len(data) + 32, dtype=np.uint8)
    buf[:len(data)] = np.frombuffer(data, dtype=np.uint8)
    blocks = np.ndarray((len(buf) - 31,), dtype="V32", buffer=buf, strides=(1,))  # the 32 bytes at each offset

    def rotl(x, r: int):
        return (x << u(r)) | (x >> u(64 - r))

    def lane_round(x):  # XXH64_round(0, x) in place: x * P2, rotated by 31, * P1
        x *= p2
        np.bitwise_or(x << u(31), x >> u(33), out=x)
        x *= p1
        return x

    nst = lens >> 5  # stripes of 32 bytes
    h = np.full(n, p5, dtype=np.uint64)
    top = int(nst.max())
    if top:
        order = np.argsort(-nst.astype(np.int16), kind="stable")  # a radix sort (a few distinct small keys)
        counts = np.searchsorted(-nst[order], -np.arange(1, top + 1), side="right")
        long = order[:counts[0]]
        p, v = starts[long], np.empty((4, len(long)), dtype=np.uint64)  # the 4 accumulators, lane-major
        v[0], v[1], v[2], v[3] = (_P1 + _P2) % 2**64, _P2, 0, -_P1 % 2**64  # at seed 0
        for k, m in enumerate(counts.tolist()):
            x = v[:, :m]
            x += blocks[p[:m] + 32 * k].view("<u8").reshape(m, 4).T * p2  # XXH64_round(acc, lane)
            np.bitwise_or(x << u(31), x >> u(33), out=x)
            x *= p1
        acc = rotl(v[0], 1)
        acc += rotl(v[1], 7)
        acc += rotl(v[2], 12)
        acc += rotl(v[3], 18)
        lane_round(v)
        for j in range(4):
            acc ^= v[j]
            acc *= p1
            acc += p4
        h[long] = acc
    h += lens.astype(np.uint64)
    rem = lens & 31
    tail = blocks[starts + (nst << 5)].view("<u8").reshape(n, 4)  # every tail lies in these 32 bytes
    r8 = rem >> 3
    steps = int(r8.max())
    if steps:
        k1 = lane_round(tail[:, :steps].T.copy())
        for t in range(steps):
            x = rotl(h ^ k1[t], 27)
            x *= p1
            x += p4
            np.copyto(h, x, where=r8 > t)
    last = tail.ravel()[np.arange(0, 4 * n, 4) + r8]  # the 8 bytes after the 8-byte steps
    x = last & u(0xFFFFFFFF)
    x *= p1
    x = rotl(x ^ h, 23)
    x *= p2
    x += p3
    four = (rem & 4) != 0
    np.copyto(h, x, where=four)
    last >>= four.astype(np.uint64) << u(5)  # the 1-byte steps read on from there
    rem &= 3
    for t in range(int(rem.max())):
        x = last & u(0xFF)
        x *= p5
        x = rotl(x ^ h, 11)
        x *= p1
        np.copyto(h, x, where=rem > t)
        last >>= u(8)
    h ^= h >> u(33)
    h *= p2
    h ^= h >> u(29)
    h *= p3
    h ^= h >> u(32)
    if len(big):
        h[big] = big_hashes
    return h
