"""Sentencepiece training (``sentencepiece_unigram``, ``sentencepiece_bpe``) and conversion to a fast tokenizer.

The trainer runs on a file (one sentence per line) with sentencepiece's ``identity`` normalization (the text
is NFC-normalized, or normalized with the ``train`` profile, before: never ``nmt_nfkc``), spaces kept as they
are, byte fallback, and ``hard_vocab_limit`` off so that a small corpus gives a smaller vocabulary instead of a
crash. The ``.model`` is then rebuilt as a ``tokenizers`` Unigram or BPE model (pieces and scores; BPE merges
derived from the pieces) with a Metaspace pre-tokenizer and a decoder that gives the text back exactly. The
fast tokenizer produces the ids that ``SentencePieceProcessor.encode`` gives on normalized text, except where
sentencepiece itself is not a tokenizer of text: special tokens written in the text (the fast tokenizer
matches them, sentencepiece spells them out), a literal "▁", a literal byte-piece name such as ``<0x41>``
whose ``<`` was never seen, a user symbol at the very start (sentencepiece puts a lone "▁" before it), and
ties closer than float32 on lines of tens of thousands of tokens.

Example::

    model = train_sentencepiece(cfg, Path("sample.txt"), Path("tok/tokenizer"))   # writes tok/tokenizer.model
    fast = sentencepiece_to_tokenizer(model, cfg)                                   # a tokenizers.Tokenizer
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import TokenizerConfig, special_tokens

# Pieces sentencepiece never produces from text (control symbols, bytes, user symbols matched before the
# model): kept in the vocabulary but scored so that the Unigram lattice never prefers them.
_NEVER = -1e6
_REQUIRED = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def sentencepiece_ids(cfg: TokenizerConfig, specials: list[str]) -> dict[str, Any]:
    """Trainer options for the special tokens: pad/bos/eos/unk at their index in ``specials`` (a token that
    repeats an earlier one gets no id of its own), the other specials as control symbols."""
    named = {"pad": cfg.pad_token, "bos": cfg.bos_token, "eos": cfg.eos_token, "unk": cfg.unk_token}
    if cfg.unk_token in (cfg.pad_token, cfg.bos_token, cfg.eos_token):
        raise InputError(f"tokenizer.unk_token: {cfg.unk_token!r} is also the pad/bos/eos token; sentencepiece "
                         "needs an unknown token of its own: set tokenizer.unk_token to e.g. '<unk>'")
    opts: dict[str, Any] = {"control_symbols": [t for t in specials if t not in named.values()]}
    taken: set[str] = set()
    for role in ("unk", "eos", "bos", "pad"):
        token = named[role]
        if token in taken:  # e.g. pad_token == eos_token: one piece, known to sentencepiece as eos
            opts[f"{role}_id"] = -1
            continue
        taken.add(token)
        opts[f"{role}_id"] = specials.index(token)
        opts[f"{role}_piece"] = token
    return opts


def train_sentencepiece(cfg: TokenizerConfig, text_file: Path, prefix: Path, *, threads: int | None = None,
                        progress: bool = True) -> Path:
    """Train ``cfg.kind`` on ``text_file`` (normalized, one sentence per line); returns ``<prefix>.model``."""
    import sentencepiece as spm

    specials = special_tokens(cfg)
    opts = sentencepiece_ids(cfg, specials)
    try:
        spm.SentencePieceTrainer.train(
            input=str(text_file), model_prefix=str(prefix),
            model_type="unigram" if cfg.kind == "sentencepiece_unigram" else "bpe",
            vocab_size=cfg.vocab_size, normalization_rule_name="identity", remove_extra_whitespaces=False,
            byte_fallback=cfg.byte_fallback, character_coverage=cfg.character_coverage,
            # false: digits are learned like letters (3lach, m7al are pieces); true: each digit its own piece
            split_digits=bool(cfg.split_digits), split_by_number=bool(cfg.split_digits),
            max_sentence_length=cfg.max_sentence_length, user_defined_symbols=list(cfg.user_defined_symbols),
            num_threads=threads or os.cpu_count() or 1,
            input_sentence_size=0, hard_vocab_limit=False, minloglevel=0 if progress else 2, **opts,
        )
    except RuntimeError as e:
        raise _user_error(e, cfg) from None
    return prefix.with_name(prefix.name + ".model")


def _user_error(e: RuntimeError, cfg: TokenizerConfig) -> Exception:
    m = _REQUIRED.search(str(e))
    if m:
        need = int(m.group(2))
        extra = " (256 of them are the byte-fallback pieces)" if cfg.byte_fallback else ""
        return InputError(f"tokenizer.vocab_size: {cfg.vocab_size} is smaller than the {need} pieces {cfg.kind} needs "
                          f"for the alphabet of the training text and the special tokens{extra}: set "
                          f"tokenizer.vocab_size to at least {need} (or lower tokenizer.character_coverage)")
    return InputError(f"tokenizer: sentencepiece could not train ({cfg.kind}): {e}")


def _merges(pieces: list[str], first_normal: int) -> list[tuple[str, str]]:
    """BPE merges from sentencepiece's pieces: every split of a normal piece into two normal pieces, ranked by
    the merged piece's id (sentencepiece merges the adjacent pair whose result scores highest, and its BPE
    scores fall with the id), then by the ids of the two halves."""
    ids = {p: i for i, p in enumerate(pieces) if i >= first_normal}
    get = ids.get
    merges: list[tuple[str, str]] = []
    for piece in ids:  # in id order
        local = []
        for cut in range(1, len(piece)):
            j = get(piece[:cut])
            if j is not None and (k := get(piece[cut:])) is not None:
                local.append((j, k, cut))
        if len(local) > 1:
            local.sort()
        merges += [(piece[:cut], piece[cut:]) for _, _, cut in local]
    return merges


def sentencepiece_to_tokenizer(model_file: Path, cfg: TokenizerConfig) -> Any:
    """The ``tokenizers.Tokenizer`` equivalent of a sentencepiece ``.model`` trained by
    :func:`train_sentencepiece` (special and user-defined tokens are registered by the caller)."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, models, pre_tokenizers

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    pieces = sp.id_to_piece(list(range(sp.get_piece_size())))
    # The trainer writes the meta pieces (special, user-defined, byte pieces) first, then the learned ones.
    user = set(cfg.user_defined_symbols)
    first_normal = 0
    while first_normal < len(pieces) and (pieces[first_normal] in user or sp.is_control(first_normal)
                                          or sp.is_unknown(first_normal) or sp.is_byte(first_normal)):
        first_normal += 1
    if cfg.kind == "sentencepiece_unigram":
        scores = [sp.get_score(i) if i >= first_normal else _NEVER for i in range(len(pieces))]
        model = models.Unigram(list(zip(pieces, scores, strict=True)), unk_id=sp.unk_id(),
                               byte_fallback=cfg.byte_fallback)
    else:
        model = models.BPE({p: i for i, p in enumerate(pieces)}, _merges(pieces, first_normal),
                           unk_token=pieces[sp.unk_id()], byte_fallback=cfg.byte_fallback, fuse_unk=True)
    tok = Tokenizer(model)
    tok.normalizer = metaspace_normalizer(cfg.normalizer)
    # One "▁" before the text (none after a special token or user symbol) and one for each space; sentencepiece
    # never merges pieces across a "▁".
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tok.decoder = metaspace_decoder(byte_fallback=True)
    return tok


def metaspace_normalizer(name: str) -> Any:
    """``tokenizer_normalizer(name)``, and a text that starts with a space gets a "▁" before it.

    Sentencepiece puts one "▁" before every text (``add_dummy_prefix``), even before a leading space; the
    Metaspace pre-tokenizer (``prepend_scheme="first"``) skips a text that already starts with one, and the
    space would be lost on decoding. Special tokens and user symbols are matched after this normalizer
    (``normalized=True``), so it runs once on the whole text and no "▁" is invented after them.
    """
    from tokenizers import Regex, normalizers

    from jazari_nlp.tokenization.normalizers import tokenizer_normalizer

    return normalizers.Sequence([tokenizer_normalizer(name), normalizers.Replace(Regex(r"\A "), "▁ ")])


def metaspace_decoder(byte_fallback: bool) -> Any:
    """"▁" back to spaces, byte pieces back to characters, and the one leading space of the prefix dropped."""
    from tokenizers import decoders

    steps = [decoders.Replace("▁", " "), *([decoders.ByteFallback()] if byte_fallback else []), decoders.Fuse(),
             decoders.Strip(" ", 1, 0)]
    return decoders.Sequence(steps)


__all__ = ["train_sentencepiece", "sentencepiece_to_tokenizer", "sentencepiece_ids", "metaspace_normalizer",
           "metaspace_decoder"]
