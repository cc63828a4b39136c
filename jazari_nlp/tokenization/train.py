"""Train a tokenizer (``tokenizer.kind``) and save it so that ``AutoTokenizer.from_pretrained`` loads it.

Kinds:

- ``byte_bpe``: byte-level BPE (HF tokenizers). No character is ever unknown. Words are split before BPE by a
  regex that keeps letters, combining marks and digits together (``3lach``, ``m7al``, vowelled Arabic, ⵯ).
- ``sentencepiece_unigram`` / ``sentencepiece_bpe``: the sentencepiece library (see ``sp.py``), converted to
  a fast ``tokenizer.json``; ``tokenizer.model`` is kept beside it and gives the same ids on normalized text.
- ``wordpiece``: HF tokenizers' WordPiece, with a Metaspace pre-tokenizer (a word starts with "▁") and no
  ``##`` continuation prefix, so that decoding gives the text back exactly. **Its limit**: WordPiece has no
  byte fallback, so a character never seen in training cannot be encoded: the piece holding it becomes one
  ``unk_token`` (punctuation, symbols and emoji are pieces of their own, so usually only that character is
  lost; a letter unseen in training takes its whole word with it), and so does a word longer than
  ``tokenizer.max_sentence_length`` characters. Round trips are exact for text made of characters seen in
  training or in ``WORDPIECE_ALPHABET`` (always in the vocabulary: Tifinagh, the Arabic and Darija letters,
  printable ASCII, tab, newline, CR, the joiners and bidi marks).

Every kind: the normalizer is ``tokenizer.normalizer`` (``nfc`` or ``train``, never NFKC: it rewrites ⵯ
U+2D6F), the training text gets the same normalization first; pad/bos/eos/unk, ``extra_special_tokens`` and
the chat template's tokens are special tokens inside ``vocab_size``; ``user_defined_symbols`` are one token
each but decode as text; ``split_digits`` true splits every digit, ``numbers`` (byte_bpe, wordpiece) only the
digits of numbers, not those of Arabizi words such as 3lach.

Example::

    tok, n_docs = train_tokenizer(TokenizerConfig(vocab_size=2000), ["ⴰⵣⵓⵍ", "salam 3likom"], Path("tok"))
    AutoTokenizer.from_pretrained("tok")
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import (
    SENTENCEPIECE_KINDS,
    WORDPIECE_ALPHABET,
    TokenizerConfig,
    special_tokens,
)

log = logging.getLogger("jazari_nlp.tokenization")

# byte_bpe's split before BPE: a word is letters, marks and digits together (Arabizi 3lach, Arabic with its
# vowel marks); GPT-2's regex would cut 3|lach and split at every Arabic mark. A leading space stays on the word.
_WORD = r" ?[\p{L}\p{M}\p{N}]+"
# split_digits "numbers": a word holding a letter keeps its digits; a number is split into single digits.
_WORD_OR_DIGIT = r" ?\p{N}*[\p{L}\p{M}][\p{L}\p{M}\p{N}]*| ?\p{N}"
_REST = r"| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+"
# wordpiece, "numbers": a digit run with no letter, mark or digit next to it is isolated, then cut into digits
# (\G continues where the previous digit ended, inside that run only).
_NUMBER_RUN = r"(?<![\p{L}\p{M}\p{N}])\p{N}+(?![\p{L}\p{M}\p{N}])"
_EACH_DIGIT_OF_RUN = r"\A\p{N}(?=\p{N}*\z)|\G\p{N}"
# wordpiece: each punctuation mark, symbol, emoji or non-space whitespace is a piece of its own, so that an
# unseen one becomes unk alone instead of taking its word with it.
_ISOLATED = r"[^\p{L}\p{M}\p{N}▁ ]"
_CHUNK = 1 << 20


def train_tokenizer(
    cfg: TokenizerConfig, texts: Iterable[str], out_dir: Path, progress: bool = True, source: str = "",
    text_file: Path | None = None, threads: int | None = None, sample_lines: int | None = None,
) -> tuple[Any, int]:
    """Train ``cfg.kind`` on ``texts`` (or directly on ``text_file``, one sentence per line) and save it to
    ``out_dir``; returns the ``PreTrainedTokenizerFast`` and the number of texts (lines of ``text_file``) it
    was trained on. ``source`` names where the texts came from, for the error when there are none;
    ``threads`` is sentencepiece's thread count (default: all cores). ``sample_lines``: ``text_file`` is a
    jazari sample (NFC, that many non-empty lines, none over ``sample.max_line_bytes`` ≤
    ``max_sentence_length``), so with the ``nfc`` normalizer it is not read again before training.

    Example: ``tok, n = train_tokenizer(cfg, [], out, text_file=Path("sample.txt"))``.
    """
    out_dir = Path(out_dir)
    where = f" in {source or text_file}" if (source or text_file) else ""
    with tempfile.TemporaryDirectory(prefix="jazari_tok_") as tmp:
        if cfg.kind in SENTENCEPIECE_KINDS:
            from jazari_nlp.tokenization import sp

            sp.sentencepiece_ids(cfg, special_tokens(cfg))  # refuses unusable special tokens before any work
            if text_file is not None and sample_lines is not None and cfg.normalizer == "nfc":
                train_file, n = Path(text_file), sample_lines  # checked while it was drawn
            elif text_file is not None:
                train_file, n = _normalized_copy(cfg, Path(text_file), Path(tmp) / "train.txt")
            else:
                train_file, n = _write_lines(cfg, texts, Path(tmp) / "train.txt")
            _fail_if_empty(n, where)
            out_dir.mkdir(parents=True, exist_ok=True)
            model = sp.train_sentencepiece(cfg, train_file, out_dir / "tokenizer", threads=threads, progress=progress)
            (out_dir / "tokenizer.vocab").unlink(missing_ok=True)  # the same pieces as tokenizer.json
            tokenizer = sp.sentencepiece_to_tokenizer(model, cfg)
        else:
            tokenizer, trainer = _hf_tokenizer(cfg, progress)
            if text_file is not None:
                n = _count_lines(Path(text_file))
                _fail_if_empty(n, where)
                tokenizer.train([str(text_file)], trainer=trainer)
            else:
                counter = _Counted(texts, cfg.normalizer)
                first = counter.peek()
                _fail_if_empty(int(first), where)
                tokenizer.train_from_iterator(counter, trainer=trainer)
                n = counter.n
            (out_dir / "tokenizer.model").unlink(missing_ok=True)  # a sentencepiece model from an earlier run
    fast = _save(tokenizer, cfg, out_dir)
    if len(fast) < cfg.vocab_size:
        log.warning("tokenizer: the vocabulary has %d tokens, fewer than tokenizer.vocab_size %d: the training "
                    "text is too small for more", len(fast), cfg.vocab_size)
    return fast, n


def _fail_if_empty(n: int, where: str) -> None:
    if n == 0:
        raise InputError(f"tokenizer: no text to train on{where}: point tokenizer.files / tokenizer.text_field at "
                         "text, or check that the corpus stage kept documents")


class _Counted:
    """The training texts, normalized as the tokenizer will see them, counted as they stream by (empty ones
    are skipped)."""

    def __init__(self, texts: Iterable[str], normalizer: str) -> None:
        self._it = iter(texts)
        self._normalizer = normalizer
        self._first: str | None = None
        self.n = 0

    def _next(self) -> str | None:
        from jazari_nlp.tokenization.normalizers import normalize_for_training

        for text in self._it:
            # nfc: the tokenizer's own normalizer does it while training; train: normalize() does more
            # (controls, mojibake, spacing) than the normalizer's tables.
            text = normalize_for_training(text, "train") if self._normalizer == "train" else text
            if text.strip():
                self.n += 1
                return text
        return None

    def peek(self) -> bool:
        self._first = self._next()
        return self._first is not None

    def __iter__(self) -> Iterator[str]:
        if self._first is not None:
            yield self._first
        while (text := self._next()) is not None:
            yield text


def _cut(line: str, max_bytes: int) -> Iterator[str]:
    """``line`` in pieces of at most ``max_bytes`` UTF-8 bytes, cut at a space where there is one."""
    while len(line.encode("utf-8")) > max_bytes:
        head = line.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
        cut = head.rfind(" ")
        head = head[:cut] if cut > 0 else head
        yield head
        line = line[len(head):]
    if line.strip():
        yield line


def _write_lines(cfg: TokenizerConfig, texts: Iterable[str], path: Path) -> tuple[Path, int]:
    """Write the texts, normalized, one line per line of text (sentencepiece reads lines); a line longer than
    ``max_sentence_length`` is cut at a space so that none is skipped. Returns the file and the text count."""
    from jazari_nlp.tokenization.normalizers import normalize_for_training

    n = 0
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            text = normalize_for_training(text, cfg.normalizer)
            lines = [piece for line in text.split("\n") for piece in _cut(line, cfg.max_sentence_length)]
            if lines:
                n += 1
                f.write("\n".join(lines) + "\n")
    return path, n


def _normalized_copy(cfg: TokenizerConfig, text_file: Path, path: Path) -> tuple[Path, int]:
    """One streaming pass over ``text_file``: count its non-empty lines, refuse a line longer than
    ``max_sentence_length`` bytes (sentencepiece would skip it), and check it is normalized as the tokenizer's
    normalizer would make it (in chunks of many lines: no per-line Python work). Returns ``text_file`` itself
    when it is (the usual case: no copy), else a normalized copy written to ``path`` by a second pass."""
    from jazari_nlp.tokenization.normalizers import normalize_chunk

    limit = cfg.max_sentence_length
    n = line_no = 0
    changed = False
    with _open_text(text_file) as src:
        for chunk in _line_chunks(src):
            lines = chunk.split(b"\n")
            longest = max(lines, key=len)
            if len(longest) > limit:
                at = line_no + lines.index(longest) + 1
                raise InputError(f"{text_file}: line {at} has {len(longest):,} bytes, more than "
                                 f"tokenizer.max_sentence_length ({limit:,}); sentencepiece would skip it: raise "
                                 "tokenizer.max_sentence_length, or cut the lines (the tokenizer sample does)")
            line_no += len(lines) - 1
            n += len(lines) - 1 - sum(1 for line in lines[:-1] if not line.strip())
            if not changed:
                text = chunk.decode("utf-8", errors="replace")
                changed = normalize_chunk(text, cfg.normalizer) != text
    if not changed:
        return text_file, n
    with _open_text(text_file) as src, path.open("wb") as dst:
        for chunk in _line_chunks(src):
            dst.write(normalize_chunk(chunk.decode("utf-8", errors="replace"), cfg.normalizer).encode("utf-8"))
    return path, n


def _open_text(path: Path):
    try:
        return path.open("rb")
    except OSError as e:
        raise InputError(f"tokenizer: cannot read the training text {path}: {e.strerror}") from None


def _line_chunks(f) -> Iterator[bytes]:
    """Chunks of about 1 MiB of ``f``, each ending with a newline (the last one gets one added)."""
    rest = b""
    while block := f.read(_CHUNK):
        block = rest + block
        end = block.rfind(b"\n")
        if end < 0:
            rest = block
            continue
        rest = block[end + 1:]
        yield block[: end + 1]
    if rest:
        yield rest + b"\n"


def _count_lines(text_file: Path) -> int:
    n = 0
    with _open_text(text_file) as f:
        for chunk in _line_chunks(f):
            lines = chunk.split(b"\n")[:-1]
            n += len(lines) - sum(1 for line in lines if not line.strip())
    return n


def _hf_tokenizer(cfg: TokenizerConfig, progress: bool) -> tuple[Any, Any]:
    """The untrained byte_bpe or wordpiece tokenizer and its trainer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    from jazari_nlp.tokenization.normalizers import tokenizer_normalizer
    from jazari_nlp.tokenization.sp import metaspace_decoder, metaspace_normalizer

    reserved = special_tokens(cfg) + [s for s in cfg.user_defined_symbols if s not in special_tokens(cfg)]
    digits = [pre_tokenizers.Digits(individual_digits=True)] if cfg.split_digits is True else []
    if cfg.kind == "byte_bpe":
        words = _WORD_OR_DIGIT if cfg.split_digits == "numbers" else _WORD
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(words + _REST), "isolated"), *digits,
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
                                      special_tokens=reserved, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=progress)
    else:
        if cfg.split_digits == "numbers":
            digits = [pre_tokenizers.Split(Regex(_NUMBER_RUN), "isolated"),
                      pre_tokenizers.Split(Regex(_EACH_DIGIT_OF_RUN), "isolated")]
        tok = Tokenizer(models.WordPiece(unk_token=cfg.unk_token, continuing_subword_prefix="",
                                         max_input_chars_per_word=cfg.max_sentence_length))
        # As for sentencepiece: "▁" before the text and for each space; a word never crosses a "▁".
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(_ISOLATED), "isolated"), *digits])
        tok.decoder = metaspace_decoder(byte_fallback=False)
        # No "##" prefix: a piece is the same string wherever it stands, so decoding is concatenation.
        trainer = trainers.WordPieceTrainer(vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
                                            special_tokens=reserved, continuing_subword_prefix="",
                                            initial_alphabet=WORDPIECE_ALPHABET, show_progress=progress)
    tok.normalizer = tokenizer_normalizer(cfg.normalizer) if cfg.kind == "byte_bpe" else metaspace_normalizer(
        cfg.normalizer)
    return tok, trainer


def _save(tokenizer: Any, cfg: TokenizerConfig, out_dir: Path) -> Any:
    """Register the special tokens and user symbols (one token each, in the vocabulary, the symbols decoding
    as text), wrap as ``PreTrainedTokenizerFast`` with the chat template and save to ``out_dir``."""
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from jazari_nlp.tokenization.chat import set_chat_template, write_portable_config

    specials = special_tokens(cfg)
    user = [s for s in cfg.user_defined_symbols if s not in specials]
    if tokenizer.get_added_tokens_decoder():  # the HF trainers register every reserved token as special
        data = json.loads(tokenizer.to_str())
        data["added_tokens"] = []  # registered again below, each with its own flags
        tokenizer = Tokenizer.from_str(json.dumps(data))
    # Metaspace kinds match them in normalized text (see sp.metaspace_normalizer): no "▁" invented after them.
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=cfg.kind != "byte_bpe") for t in specials])
    tokenizer.add_tokens([AddedToken(s, special=False, normalized=cfg.kind != "byte_bpe") for s in user])
    if cfg.kind == "byte_bpe":
        # The byte-level decoder reads a token made only of its 256 alphabet characters as bytes ("é" is byte
        # 0xE9): give it such a symbol's byte-level spelling, so that "café" decodes as "café".
        alphabet = set(pre_tokenizers.ByteLevel.alphabet())
        spell = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        fixes = [decoders.Replace(s, "".join(p for p, _ in spell.pre_tokenize_str(s)))
                 for s in user if set(s) <= alphabet and not s.isascii()]
        if fixes:
            tokenizer.decoder = decoders.Sequence([*fixes, decoders.ByteLevel()])
    chat = [t for t in specials if t not in (cfg.pad_token, cfg.bos_token, cfg.eos_token, cfg.unk_token)]
    with _handed_over(tokenizer):
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tokenizer,
            bos_token=cfg.bos_token,
            eos_token=cfg.eos_token,
            pad_token=cfg.pad_token,
            unk_token=cfg.unk_token,
            additional_special_tokens=chat or None,
            model_max_length=cfg.model_max_length,
            clean_up_tokenization_spaces=False,
        )
    set_chat_template(fast, cfg.chat_template)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    write_portable_config(out_dir)
    return fast


@contextmanager
def _handed_over(obj: Any) -> Iterator[None]:
    """Within the block, ``copy.deepcopy(obj)`` returns ``obj`` itself; every other object of its type is copied
    as before.

    ``PreTrainedTokenizerFast(tokenizer_object=obj)`` deep-copies ``obj``, a JSON round trip of the whole
    vocabulary and merges (~0.2 s at 32k pieces, a third of the fixed cost that every training adds to
    sentencepiece's own time). ``_save`` builds ``obj`` for the wrapper and never uses it after, so the copy is
    not needed. This goes through ``copy``'s per-type table (``copy._deepcopy_dispatch``, present in every
    CPython 3); where it is missing or already has an entry for the type, the copy is made as before.
    """
    import copy

    table = getattr(copy, "_deepcopy_dispatch", None)
    reconstruct = getattr(copy, "_reconstruct", None)
    cls = type(obj)
    if not isinstance(table, dict) or cls in table or reconstruct is None:
        yield
        return

    def copier(x: Any, memo: dict) -> Any:
        return x if x is obj else reconstruct(x, memo, *x.__reduce_ex__(4))

    table[cls] = copier
    try:
        yield
    finally:
        del table[cls]


def fertility(tokenizer: Any, texts: Iterable[str]) -> float:
    """Tokens per whitespace word (lower is better): a quick check of how well a tokenizer fits a language."""
    from jazari_nlp.hf_logging import without_length_warning

    without_length_warning(tokenizer)  # only counted, never fed to a model
    words = tokens = 0
    for text in texts:
        words += len(text.split())
        tokens += len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return tokens / words if words else 0.0
