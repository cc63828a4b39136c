"""Byte ranges of a big line-based file, so that several tasks share one file and each reads only its part.

A piece holds the lines that *begin* in ``[start, end)``: its reader seeks to ``start - 1`` and skips to the
next line start (the rest of a line that began earlier belongs to the piece before), then reads until a line
begins at or after ``end``. Line numbers count from the file's start, so ids are the ones one task reading the
whole file gives. They are counted once, in one pass over the file, when the pieces are cut
(:func:`cut_ranges`), so that the reading of all the pieces together is linear in the file size.

Example::

    pieces = cut_ranges(Path("big.jsonl"), [0, 100 << 20, 200 << 20], size)
    for number, text, error, extra in range_lines(Path("big.jsonl"), pieces[1]):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from jazari_nlp.readers.decoding import decode_line

CHUNK = 16 * 2**20  # the newline count reads this much at a time (bounded memory)


class ByteRange(NamedTuple):
    """The lines beginning in ``[start, end)``; ``first_line``: the 0-based number of the first of them (None:
    counted when the range is read, which reads the file from byte 0)."""

    start: int
    end: int
    first_line: int | None = None


def newlines_before(path: Path, offsets: list[int]) -> list[int]:
    """The number of ``\\n`` bytes in ``[0, offset)`` for each of the sorted ``offsets``, in one pass that reads
    the file up to the last offset. Example: ``newlines_before(p, [0, 10])`` → ``[0, 2]``."""
    out, n, pos = [], 0, 0
    with open(path, "rb") as f:
        for off in offsets:
            while pos < off:
                chunk = f.read(min(CHUNK, off - pos))
                if not chunk:
                    break
                n += chunk.count(b"\n")
                pos += len(chunk)
            out.append(n)
    return out


def cut_ranges(path: Path, starts: list[int], size: int) -> list[ByteRange]:
    """The pieces that begin at the sorted ``starts`` (the first is 0) and end at the next start (the last at
    ``size``), with their first line numbers. Example: ``cut_ranges(p, [0, 50], 100)`` →
    ``[ByteRange(0, 50, 0), ByteRange(50, 100, 4)]``."""
    # a piece's first line is the one after the newline at or after start - 1 (see line_range)
    counts = iter(newlines_before(path, [s - 1 for s in starts if s > 0]))
    firsts = [0 if s == 0 else next(counts) + 1 for s in starts]
    ends = [*starts[1:], size]
    return [ByteRange(a, b, n) for a, b, n in zip(starts, ends, firsts, strict=True)]


def line_range(path: Path, rng: ByteRange | tuple[int, int]) -> Iterator[tuple[int, bytes]]:
    """``(0-based line number, line with its ending)`` for the lines that begin in the range."""
    rng = ByteRange(*rng)
    with open(path, "rb") as f:
        index = 0
        if rng.start > 0:
            f.seek(rng.start - 1)
            f.readline()  # the rest of a line that began before `start` belongs to the previous piece
            index = rng.first_line if rng.first_line is not None else newlines_before(path, [f.tell()])[0]
        pos = f.tell()
        while pos < rng.end:
            line = f.readline()
            if not line:
                return
            yield index, line
            index += 1
            pos += len(line)


def range_lines(path: Path, rng: ByteRange | tuple[int, int],
                policy: str = "decode") -> Iterator[tuple[int, str, str | None, dict]]:
    """``(1-based line number, text, error, extra)`` for every non-blank line beginning in the range, decoded
    like :func:`jazari_nlp.readers.decoding.text_lines` decodes a whole file."""
    for i, raw in line_range(path, rng):
        if raw.strip():
            yield (i + 1, *decode_line(raw.rstrip(b"\r\n"), policy))
