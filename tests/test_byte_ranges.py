"""Byte-range splitting of big line-based files (issue 11, item 2): each piece starts at its own offset, so the
reading of all the pieces together is linear in the file size (it was quadratic: every piece counted the lines
before it by reading the file from byte 0), and the pieces together are the whole file, line for line."""

from __future__ import annotations

import builtins
import bz2
import gzip
import io
import json
from pathlib import Path

import pytest

from jazari_nlp.corpus import sources
from jazari_nlp.corpus.passes import SourceReader
from jazari_nlp.corpus.sources import SourceConfig, iter_file, work_pieces
from jazari_nlp.readers import ByteRange, cut_ranges

BUFFER = io.DEFAULT_BUFFER_SIZE


class _Counted(io.FileIO):
    """A file whose bytes read from disk are added up in ``total``."""

    total = 0

    def readinto(self, b):
        n = super().readinto(b)
        _Counted.total += n or 0
        return n

    def readall(self):
        data = super().readall()
        _Counted.total += len(data)
        return data


@pytest.fixture
def counted_reads(monkeypatch):
    """Count every byte read from the files under test, whoever opens them (``open``, ``Path.open``)."""
    real_open = builtins.open
    watched: set[str] = set()

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, str | Path) and str(file) in watched and mode in ("rb", "br"):
            return io.BufferedReader(_Counted(str(file), "r"), buffer_size=BUFFER)
        return real_open(file, mode, *args, **kwargs)

    def start(path: Path) -> None:
        watched.add(str(path))
        _Counted.total = 0

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    return start


def _src(tmp_path: Path, name: str) -> SourceConfig:
    return SourceConfig.model_validate({"name": "s", "paths": [name]}, context={"base_dir": tmp_path})


def _lines(n: int) -> list[str]:
    """Lines of varied length with 2- and 3-byte characters (Arabic, Tifinagh), some blank, some long."""
    out = []
    for i in range(n):
        text = f"doc {i} " + "سلام ⴰⵣⵓⵍ é " * (i % 37) + ("x" * 900 if i % 101 == 0 else "")
        out.append("" if i % 53 == 7 else json.dumps({"text": text}, ensure_ascii=False))
    return out


def test_pieces_read_the_file_once_not_from_byte_zero_each(tmp_path: Path, monkeypatch, counted_reads):
    monkeypatch.setattr(sources, "SPLIT_MIN_BYTES", 1000)
    lines = _lines(3000)
    path = tmp_path / "big.jsonl"
    path.write_bytes(("\r\n".join(lines[:1500]) + "\n" + "\n".join(lines[1500:])).encode())  # no final newline
    size, longest = path.stat().st_size, max(len(ln.encode()) for ln in lines) + 2
    src, units, n = _src(tmp_path, "big.jsonl"), [(0, str(path))], 8

    counted_reads(path)
    pieces = work_pieces([src], units, world_size=n)
    planning = _Counted.total
    assert len(pieces) == n and all(isinstance(r, ByteRange) for _, r in pieces)
    assert planning <= size  # the line numbers of the cuts: one pass, up to the last cut

    counted_reads(path)
    reader = SourceReader([src], units, ["s/big.jsonl"], pieces, n)
    docs = [d for rank in range(n) for d in reader.run(rank=rank, world_size=n)]
    reading = _Counted.total
    # each piece reads its own bytes, plus the line across its end and one buffer
    assert reading <= size + n * (longest + BUFFER), (reading, size)

    whole = list(iter_file(src, path, "s/big.jsonl"))
    assert [(d.id, d.text, d.metadata["line"]) for d in docs] == [(r["id"], r["text"], r["metadata"]["line"])
                                                                   for r in whole]
    assert len(whole) == sum(1 for ln in lines if ln)

    # the measure catches the old way: ranges without their first line number count the lines before them
    counted_reads(path)
    old = [r for _, rng in pieces for r in iter_file(src, path, "s/big.jsonl", (rng.start, rng.end))]
    assert old == whole and _Counted.total > 3 * size


@pytest.mark.parametrize("name", ["a.jsonl", "a.txt"])
def test_every_cut_gives_the_whole_file_line_for_line(tmp_path: Path, name: str):
    # a 3-byte Tifinagh letter and a 2-byte Arabic one to cut inside, \r\n endings to cut between, a blank
    # line, and a last line without its newline
    rows = [json.dumps({"text": t}, ensure_ascii=False) for t in ("ⴰⵣⵓⵍ fellawen", "salam", "سلام عليكم", "é")]
    data = (rows[0] + "\r\n" + rows[1] + "\r\n\r\n" + rows[2] + "\n" + rows[3]).encode()
    path = tmp_path / name
    path.write_bytes(data)
    src = _src(tmp_path, name)
    whole = list(iter_file(src, path))
    assert [r["metadata"]["line"] for r in whole] == [1, 2, 4, 5]
    cuts_inside_a_character = [i for i in range(1, len(data)) if 0x80 <= data[i] < 0xC0]
    assert cuts_inside_a_character and b"\r\n" in data
    for cut in range(1, len(data)):
        pieces = cut_ranges(path, [0, cut], len(data))
        assert [r for rng in pieces for r in iter_file(src, path, byte_range=rng)] == whole, cut
        assert pieces[1].first_line == data[: cut - 1].count(b"\n") + 1
    starts = [0, 3, 4, 40, 41, 42, len(data) - 2, len(data) - 1]  # several pieces, some holding no line
    assert [r for rng in cut_ranges(path, starts, len(data)) for r in iter_file(src, path, byte_range=rng)] == whole


def test_compressed_and_wide_files_are_never_cut(tmp_path: Path, monkeypatch):
    import zstandard

    monkeypatch.setattr(sources, "SPLIT_MIN_BYTES", 100)
    body = b"".join(json.dumps({"text": f"line {i}"}).encode() + b"\n" for i in range(2000))
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body, compresslevel=0))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor(level=1).compress(body) + b"\0" * len(body))
    (tmp_path / "c.jsonl.bz2").write_bytes(bz2.compress(body) + b"\0" * len(body))
    (tmp_path / "d.jsonl").write_bytes(body.decode().encode("utf-16"))  # seeking cannot find its lines
    (tmp_path / "e.txt").write_bytes(body.replace(b"\n", b"\r"))  # CR-only line endings
    (tmp_path / "f.jsonl").write_bytes(body)
    names = ["a.jsonl.gz", "b.jsonl.zst", "c.jsonl.bz2", "d.jsonl", "e.txt", "f.jsonl"]
    src = _src(tmp_path, "*")
    units = [(0, str(tmp_path / n)) for n in names]
    pieces = work_pieces([src], units, world_size=len(names) * 3)
    assert [(u, r) for u, r in pieces if u < 5] == [(u, None) for u in range(5)]
    assert len([r for u, r in pieces if u == 5]) > 1  # the plain file of the same size is cut
