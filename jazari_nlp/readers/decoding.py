"""Bytes to text: encodings (BOMs, UTF-16/32 with or without a BOM, legacy single-byte encodings, binary data)
and the lines of a line-based file.

Example: ``decode_line("café".encode("cp1252"))`` → ``('café', None, {'encoding': 'cp1252'})``.
"""

from __future__ import annotations

import base64
import codecs
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from jazari_nlp.readers.formats import ReadOptions, open_binary

_SURROGATE = re.compile("[\ud800-\udfff]")
# cp1252 first: where both give the same text (French "café"), cp1252 is the honest name; Arabic text decoded
# as cp1256 is never what cp1252 gives.
LEGACY_ENCODINGS = ("cp1252", "cp1256", "latin-1")
SNIFF_BYTES = 1 << 16


# ------------------------------------------------------------------------------------------------ encodings


def sniff_encoding(head: bytes) -> tuple[str | None, int]:
    """``(encoding, BOM length)`` for UTF-16/32 and BOM'd UTF-8, ``(None, 0)`` for plain bytes (UTF-8 or a
    legacy single-byte encoding, decided line by line). UTF-16 without a BOM is recognised by its NULs: every
    other byte of ASCII-range text, or the NULs of the spaces of Arabic/Tifinagh text. Example: ``sniff_encoding("hi".encode("utf-16"))`` → ``('utf-16-le', 2)``."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                     (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return enc, len(bom)
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be", 0
    return _wide_non_latin(sample), 0


# the low byte of a UTF-16 code unit U+0000-U+00FF that text holds: tab, newlines, printable ASCII and Latin-1
_TEXT_LOW_BYTES = frozenset([9, 10, 13, *range(0x20, 0x7F), *range(0xA0, 0x100)])


def _wide_non_latin(sample: bytes) -> str | None:
    """UTF-16 without a BOM of Arabic or Tifinagh text: few NULs (only its spaces, digits and newlines), all on
    the same side of the code units, each beside a text byte; the other units in one Unicode block; and the bytes
    decode to text with spaces in it (a stray NUL in UTF-8 text decodes to CJK-like characters without spaces;
    binary fails the other tests)."""
    if b"\x00" not in sample or len(sample) < 4:
        return None
    for enc, nul_side in (("utf-16-le", 1), ("utf-16-be", 0)):
        units = range(0, len(sample) - 1, 2)
        if any(sample[i + 1 - nul_side] == 0 for i in units):  # a NUL on the other side: not this encoding
            continue
        if any(sample[i + nul_side] == 0 and sample[i + 1 - nul_side] not in _TEXT_LOW_BYTES for i in units):
            continue
        # the high bytes of the other units name one block (06 Arabic, 2D Tifinagh): misread UTF-8 or binary
        # bytes vary
        high = [b for b in sample[nul_side::2] if b]
        if len(high) < 3 or max(map(high.count, set(high))) < 0.8 * len(high):
            continue
        data = sample[: len(sample) - len(sample) % 2]
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as e:  # the sample may end inside a surrogate pair
            if e.start < len(data) - 4:
                continue
            text = data[: e.start].decode(enc)
        spaces = sum(c.isspace() for c in text)
        # private-use or unassigned code points: random bytes, not writing
        odd = sum(unicodedata.category(c) in ("Co", "Cn") for c in text)
        if text and spaces >= max(1, 0.05 * len(text)) and not odd and not _looks_binary(text):
            return enc
    return None


def legacy_encoding(raw: bytes, text: str) -> str | None:
    """Which single-byte encoding turned ``raw`` into ``text`` (None: none of LEGACY_ENCODINGS did)."""
    for enc in LEGACY_ENCODINGS:
        if raw.decode(enc, errors="replace") == text:
            return enc
    return None


def decode_line(raw: bytes, policy: str = "decode") -> tuple[str, str | None, dict]:
    """``(text, error or None, extra)`` for the bytes of one record. Valid UTF-8 passes untouched (no extra);
    NUL bytes mean binary (or UTF-16 pieces), never text. ``policy``: decode (legacy encodings when clean),
    reject, replace (U+FFFD)."""
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8"), None, {}
        except UnicodeDecodeError:
            pass
        if policy == "decode":
            from jazari_nlp.text.normalize import decode_bytes

            text = decode_bytes(raw)
            enc = legacy_encoding(raw, text)
            if enc is not None and "\ufffd" not in text and not _looks_binary(text):
                return text, None, {"encoding": enc}
    text = raw.decode("utf-8", errors="replace")
    if policy == "replace" and b"\x00" not in raw:
        return text, None, {"encoding": "utf-8-replace"}
    error = "binary_data" if b"\x00" in raw or _looks_binary(text) else "invalid_utf8"
    return text.replace("\x00", ""), error, {"raw_b64": base64.b64encode(raw).decode("ascii")}


_BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    """Control characters in more than 5% of the text: bytes of a binary file, not writing."""
    return len(_BINARY.findall(text[:4096])) > 0.05 * max(1, len(text[:4096]))


# ------------------------------------------------------------------------------------------------ lines


def _split_stream(f, sep: bytes) -> Iterator[bytes]:
    buf = b""
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(sep)
        yield from lines
    if buf:
        yield buf


def binary_lines(f, head: bytes) -> Iterator[bytes]:
    """Lines of a binary stream (without their ending): ``\\n`` / ``\\r\\n``, or ``\\r`` when the file has no
    ``\\n`` at all in its first 64 KB but has ``\\r`` (old Mac line endings)."""
    if b"\r" in head and b"\n" not in head:
        yield from _split_stream(f, b"\r")
        return
    for line in f:
        yield line.rstrip(b"\r\n")


def text_lines(path: Path, opts: ReadOptions) -> Iterator[tuple[int, str, str | None, dict]]:
    """``(1-based line number, text, error, extra)`` for every non-blank line of a line-based file."""
    with open_binary(path) as f:
        head = f.peek(SNIFF_BYTES)[:SNIFF_BYTES] if hasattr(f, "peek") else b""
        enc, bom = sniff_encoding(head)
        if enc is not None:
            yield from _wide_lines(f.read()[bom:], enc)
            return
        for n, raw in enumerate(binary_lines(f, head), 1):
            if raw.strip():
                text, err, extra = decode_line(raw, opts.on_invalid_utf8)
                yield n, text, err, extra


def _wide_lines(data: bytes, enc: str) -> Iterator[tuple[int, str, str | None, dict]]:
    """Lines of a UTF-16/32 (or BOM'd UTF-8) file; bytes after the first undecodable one are one
    ``invalid_encoding`` record with the bytes kept (a UTF-16 file is read whole: such files are small)."""
    try:
        text, bad = data.decode(enc), b""
    except UnicodeDecodeError as e:
        text, bad = data[: e.start].decode(enc), data[e.start:]
    extra = {"encoding": enc} if enc != "utf-8" else {}
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if line.strip():
            yield n, line, None, dict(extra)
    if bad:
        yield (len(lines) + 1, bad.decode(enc, errors="replace"), "invalid_encoding",
               {"encoding": enc, "raw_b64": base64.b64encode(bad).decode("ascii")})


def _whole_text(path: Path, opts: ReadOptions) -> tuple[str, str | None, dict]:
    with open_binary(path) as f:
        data = f.read()
    enc, bom = sniff_encoding(data[:SNIFF_BYTES])
    if enc is not None:
        return data[bom:].decode(enc), None, {"encoding": enc} if enc != "utf-8" else {}
    text, err, extra = decode_line(data, opts.on_invalid_utf8)
    return text.replace("\r\n", "\n").replace("\r", "\n"), err, extra
