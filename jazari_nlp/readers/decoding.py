"""Bytes to text: encodings (BOMs, UTF-16/32 with or without a BOM, legacy single-byte encodings, binary data)
and the lines of a line-based file.

Example: ``decode_line("café".encode("cp1252"))`` → ``('café', None, {'encoding': 'cp1252'})``.
"""

from __future__ import annotations

import base64
import codecs
import io
import itertools
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
    reject, replace (U+FFFD). UTF-8 with a stray or cut byte is damaged UTF-8, not a legacy encoding
    (:func:`jazari_nlp.text.normalize.decode_bytes`): under ``decode`` it is an ``invalid_utf8`` reject with
    its bytes, like any bytes no encoding reads."""
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


def decode_wide(raw: bytes, enc: str, policy: str = "decode") -> tuple[str, str | None, dict]:
    """``decode_line`` for the bytes of one line of a UTF-16/32 file: a bad code unit (a lone surrogate, an odd
    byte) makes the line an ``invalid_encoding`` reject with its bytes (kept with U+FFFD under ``replace``).
    Example: ``decode_wide("hi".encode("utf-16-le"), "utf-16-le")`` → ``('hi', None, {'encoding': 'utf-16-le'})``."""
    try:
        return raw.decode(enc), None, {"encoding": enc}
    except UnicodeDecodeError:
        text = raw.decode(enc, errors="replace")
    if policy == "replace":
        return text, None, {"encoding": f"{enc}-replace"}
    return text, "invalid_encoding", {"encoding": enc, "raw_b64": base64.b64encode(raw).decode("ascii")}


def decode_unit(raw: bytes, enc: str | None, policy: str = "decode") -> tuple[str, str | None, dict]:
    """One line or paragraph: ``decode_line`` for UTF-8 / legacy bytes (``enc`` None), else ``decode_wide``."""
    return decode_line(raw, policy) if enc is None else decode_wide(raw, enc, policy)


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


def _wide_split(f, head: bytes, enc: str) -> Iterator[bytes]:
    """Lines of a UTF-16/32 stream (without their ending), split on the encoded ``\\n`` at code-unit boundaries
    (``\\r`` when the head has no ``\\n``), so that one bad unit costs its own line only; a trailing partial
    unit (an odd byte at the end) is a line of its own."""
    width = 4 if "32" in enc else 2
    start_text = head.decode(enc, errors="replace")
    nl = "\r" if "\r" in start_text and "\n" not in start_text else "\n"
    sep, cr = nl.encode(enc), "\r".encode(enc)

    def line(raw: bytes) -> bytes:
        return raw[:-width] if raw.endswith(cr) and len(raw) % width == 0 else raw

    buf, scan = b"", 0
    while True:
        chunk = f.read(1 << 20)
        buf += chunk
        pos = 0
        while (i := buf.find(sep, scan)) >= 0:
            if i % width:  # the bytes of a newline across two code units: not a newline
                scan = i + 1
                continue
            yield line(buf[pos:i])
            pos = scan = i + width
        buf = buf[pos:]
        scan = len(buf) // width * width  # an aligned newline wholly in what is left was already looked for
        if not chunk:
            break
    cut = len(buf) % width
    if buf[: len(buf) - cut]:
        yield line(buf[: len(buf) - cut])
    if cut:
        yield buf[-cut:]


def raw_lines(f) -> tuple[str | None, Iterator[bytes]]:
    """``(encoding, lines)`` of a binary stream: ``encoding`` is None for UTF-8 (a BOM dropped) and legacy
    encodings, whose lines :func:`decode_line` decodes one by one, else the UTF-16/32 encoding of
    :func:`decode_wide`. Example: ``raw_lines(io.BytesIO(b"a\\nb"))[0]`` → ``None``."""
    head = f.peek(SNIFF_BYTES)[:SNIFF_BYTES] if hasattr(f, "peek") else b""
    enc, bom = sniff_encoding(head)
    f.read(bom)
    if enc == "utf-8":  # a BOM'd UTF-8 file is read line by line like any UTF-8 file
        enc = None
    return enc, _split_lines(f, head[bom:], enc)


def _split_lines(f, head: bytes, enc: str | None) -> Iterator[bytes]:
    return binary_lines(f, head) if enc is None else _wide_split(f, head, enc)


def text_lines(path: Path, opts: ReadOptions) -> Iterator[tuple[int, str, str | None, dict]]:
    """``(1-based line number, text, error, extra)`` for every non-blank line of a line-based file."""
    with open_binary(path) as f:
        enc, lines = raw_lines(f)
        for n, raw in enumerate(lines, 1):
            if enc is None:
                if raw.strip():
                    yield (n, *decode_line(raw, opts.on_invalid_utf8))
                continue
            text, err, extra = decode_wide(raw, enc, opts.on_invalid_utf8)
            if err or text.strip():
                yield n, text, err, extra


def _paragraph_break(raw: bytes, enc: str | None) -> bool:
    """A line of spaces and tabs only (or empty) between two paragraphs."""
    return not (raw if enc is None else raw.decode(enc, errors="replace")).strip(b" \t" if enc is None else " \t")


def text_paragraphs(path: Path, opts: ReadOptions) -> Iterator[tuple[int, str, str | None, dict]]:
    """``(line number of its first line, text, error, extra)`` for every paragraph (lines between blank lines)
    of a txt file. The bytes are split first and each paragraph decoded on its own, like a line: one bad byte
    costs its own paragraph only."""
    with open_binary(path) as f:
        enc, lines = raw_lines(f)
        sep = b"\n" if enc is None else "\n".encode(enc)
        para: list[bytes] = []
        first = 0
        for n, raw in enumerate(itertools.chain(lines, [None]), 1):  # None: the end of the last paragraph
            if raw is not None and not _paragraph_break(raw, enc):
                first = first if para else n
                para.append(raw)
                continue
            if para:
                text, err, extra = decode_unit(sep.join(para), enc, opts.on_invalid_utf8)
                text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
                if err or text.strip():
                    yield first, text, err, extra
            para = []


def _whole_text(path: Path, opts: ReadOptions) -> tuple[str, str | None, dict]:
    """The text of a whole file (``document_per: file``). Not valid UTF-8 (or UTF-16/32) under ``decode``: its
    lines are decoded one by one like a line-based file's, and a damaged line (a stray byte) is kept with U+FFFD
    (``encoding`` names the encodings used, ``utf-8-replace`` among them), so one byte does not cost a book; a
    file whose lines are mostly unreadable is one reject with its bytes, as a line would be."""
    with open_binary(path) as f:
        data = f.read()
    enc, bom = sniff_encoding(data[:SNIFF_BYTES])
    policy = opts.on_invalid_utf8
    body = data[bom:]
    if enc == "utf-8":
        enc = None
    if enc is not None:
        try:
            return body.decode(enc), None, {"encoding": enc}
        except UnicodeDecodeError:
            if policy != "decode":
                return decode_wide(body, enc, policy)
    elif b"\x00" in body or policy != "decode" or _valid_utf8(body):
        text, err, extra = decode_line(body, policy)
        return text.replace("\r\n", "\n").replace("\r", "\n"), err, extra
    texts, used, bad, lines = [], set(), 0, 0
    for raw in _split_lines(io.BytesIO(body), body[:SNIFF_BYTES], enc):
        text, err, extra = decode_unit(raw, enc, "decode")
        if err:
            text = raw.decode(enc or "utf-8", errors="replace").replace("\x00", "")
            used.add(f"{enc or 'utf-8'}-replace")
        elif enc is None and extra.get("encoding"):
            used.add(extra["encoding"])
        lines += bool(text.strip())
        bad += bool(err)
        texts.append(text)
    if 2 * bad > lines:  # mostly unreadable: not a text with a few damaged bytes
        if enc is None:
            return decode_line(body, policy)
        return decode_wide(body, enc, policy)
    if enc is not None and not used:
        used.add(enc)
    return "\n".join(texts), None, {"encoding": ",".join(sorted(used))} if used else {}


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
