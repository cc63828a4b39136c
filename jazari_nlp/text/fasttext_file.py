"""Check a fastText model file before fastText loads it.

fastText reads a truncated file without noticing: its dictionary loop reads words up to a NUL byte that never
comes (memory grows by gigabytes, the process hangs), and matrix sizes come from whatever bytes are left. So the
file is walked here first, following fastText's own reader (``FastText::loadModel``: magic and version,
``Args::load``, ``Dictionary::load``, then the input and output matrices, each ``DenseMatrix::load`` or
``QuantMatrix::load`` with its ``ProductQuantizer::load``), and it must be at least as long as what that header
says follows. The file is memory-mapped: only the header and the dictionary are read (a few milliseconds for the
shipped model), never the matrices.

Example::

    check_fasttext_file(Path("jazari_nlp/text/models/langid_default.ftz"))   # returns the header fields
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

from jazari_nlp.errors import JazariError

MAGIC = 793712314  # FASTTEXT_FILEFORMAT_MAGIC_INT32
VERSION = 12  # FASTTEXT_VERSION: the newest format fastText reads (11 is read too)
_HEAD = struct.Struct("<ii")  # magic, version
_BOOL = struct.Struct("<?")
_ARGS = struct.Struct("<12id")  # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate, t
_DICT = struct.Struct("<iiiqq")  # size nwords nlabels ntokens pruneidx_size (-1: not pruned)
_DENSE = struct.Struct("<qq")  # m n, then m*n float32
_QUANT = struct.Struct("<?qqi")  # qnorm m n codesize, then codesize bytes and a product quantizer
_PQ = struct.Struct("<iiii")  # dim nsubq dsub lastdsub, then dim*256 float32 centroids
_KSUB = 256  # centroids per sub-quantizer (8 bits)


class ModelFileError(JazariError, ValueError):
    """A language-id model file that fastText cannot load (truncated, damaged, not a fastText model)."""


def check_fasttext_file(path: str | Path) -> dict[str, Any]:
    """Raise :class:`ModelFileError` naming ``path`` unless it is a complete fastText model; else its header."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size < 8:
            _fail(path, f"{size} bytes, too short to be a fastText model")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _Walk(path, data, size).run()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the language-id model ({e.strerror or e})") from None


class _Walk:
    """One pass over the header, in the order fastText reads it; ``off`` is the next byte to read."""

    def __init__(self, path: Path, data: Any, size: int):
        self.path, self.data, self.size, self.off = path, data, size, 0

    def read(self, fmt: struct.Struct) -> tuple:
        if self.off + fmt.size > self.size:
            self.truncated()
        values = fmt.unpack_from(self.data, self.off)
        self.off += fmt.size
        return values

    def truncated(self) -> None:
        _fail(self.path, f"truncated: the file has {self.size:,} bytes and its header says more follow")

    def run(self) -> dict[str, Any]:
        magic, version = self.read(_HEAD)
        if magic != MAGIC:
            _fail(self.path, "not a fastText model (wrong magic number)")
        if not 1 <= version <= VERSION:
            _fail(self.path, f"fastText format version {version}; fastText reads versions up to {VERSION}")
        args = self.read(_ARGS)
        dim, bucket = args[0], args[8]
        n_entries, nwords, nlabels, _, n_pruned = self.read(_DICT)
        if dim <= 0 or bucket < 0 or n_pruned < -1 or nwords < 0 or nlabels < 0 or nwords + nlabels != n_entries:
            _fail(self.path, f"damaged: its header makes no sense (dimension {dim}, {n_entries} dictionary entries "
                             f"for {nwords} words + {nlabels} labels)")
        for _ in range(n_entries):  # each entry: the word's bytes, NUL, int64 count, int8 type
            end = self.data.find(b"\0", self.off)
            if end < 0:
                self.truncated()
            self.off = end + 10
        self.off += 8 * max(n_pruned, 0)  # (int32, int32) pairs; -1 = never pruned
        quant = self.read(_BOOL)[0]
        self.matrix(quant, dim)
        qout = self.read(_BOOL)[0]
        self.matrix(quant and qout, dim)
        if self.off > self.size:
            _fail(self.path, f"truncated: the file has {self.size:,} bytes, its header says {self.off:,}")
        return {"version": version, "dim": dim, "words": nwords, "labels": nlabels, "quantized": quant,
                "bytes": self.off}

    def matrix(self, quant: bool, dim: int) -> None:
        """Skip one matrix: its header is read, its data only counted."""
        if not quant:
            m, n = self.read(_DENSE)
            self.expect(m >= 0 and n == dim, f"a dense matrix of {m} x {n} in a model of dimension {dim}")
            self.off += 4 * m * n
            return
        qnorm, m, n, codesize = self.read(_QUANT)
        self.expect(m >= 0 and n == dim and codesize >= 0,
                    f"a quantized matrix of {m} x {n} ({codesize} code bytes) in a model of dimension {dim}")
        self.off += codesize
        self.quantizer()
        if qnorm:
            self.off += m  # one norm code per row
            self.quantizer()

    def quantizer(self) -> None:
        pq_dim = self.read(_PQ)[0]
        self.expect(pq_dim >= 0, f"a product quantizer of dimension {pq_dim}")
        self.off += 4 * pq_dim * _KSUB

    def expect(self, ok: bool, what: str) -> None:
        if self.off > self.size:  # ran past the end already: the numbers just read are not the writer's
            self.truncated()
        if not ok:
            _fail(self.path, f"damaged: the header describes {what}")


def _fail(path: Path, reason: str) -> None:
    raise ModelFileError(f"{path}: not a usable fastText model: {reason}. Copy the file again, or train one "
                         "with `jazari langid train`")


__all__ = ["check_fasttext_file", "ModelFileError"]
