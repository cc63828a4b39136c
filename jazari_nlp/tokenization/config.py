"""The ``tokenizer:`` section of an experiment: which algorithm, its options, the balanced training sample,
the chat template, the report, and (instead of training) the extension of an existing model's vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from jazari_nlp.schema import ExistingPath, InputGlob, StrictModel, TextFilesSection

KINDS = ("byte_bpe", "sentencepiece_unigram", "sentencepiece_bpe", "wordpiece")
SENTENCEPIECE_KINDS = ("sentencepiece_unigram", "sentencepiece_bpe")
# wordpiece has no byte fallback: these characters are always in its alphabet, seen in training or not, so that
# they never become unk: every Tifinagh letter and ⵯ, the Arabic letters and Darija's ڭ ݣ گ ڤ پ, printable ASCII
# (Arabizi and its digits, chat template roles), the \r of CRLF text and the joiners and bidi marks nfc keeps.
WORDPIECE_ALPHABET = ["\n", "\t", "\r", "▁", *map(chr, range(0x21, 0x7F)),
                      *map(chr, [*range(0x2D30, 0x2D68), 0x2D6F, 0x2D70, 0x2D7F]),
                      *map(chr, [*range(0x0621, 0x063B), *range(0x0641, 0x064B)]), *"ڭݣگڤپ",
                      *map(chr, [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A)])]


def _resolve_parallel(value: str, info: ValidationInfo) -> str:
    """``LANG=path`` (as ``jazari tokenizer evaluate -i`` takes) or a path/glob, the path resolved relative to the
    config file and checked like every input."""
    from jazari_nlp.schema import _resolve_glob

    lang, sep, path = value.partition("=")
    if sep and lang and "/" not in lang and path:
        return f"{lang}={_resolve_glob(path, info)}"
    return _resolve_glob(value, info)


ParallelSpec = Annotated[str, AfterValidator(_resolve_parallel)]


class SampleConfig(StrictModel):
    """The training sample: lines drawn per language with temperature, seeded, bounded in bytes and lines.

    A language holding ``n_l`` bytes gets a share ``p_l ∝ n_l ** alpha`` of the budget (alpha 1: as found,
    0: uniform; 0.3 as in XLM-R/mT5), so that a small language such as Tamazight is not drowned. A language with
    less text than its share is repeated, at most ``max_repeat`` times. Lines longer than
    ``max_line_bytes`` are cut at a space, so that no line is ever skipped by the trainer.

    Example::

        sample: {alpha: 0.3, max_bytes: 50_000_000, languages: [ary_Arab, zgh_Tfng, kab_Latn]}
    """

    alpha: float = Field(0.3, ge=0.0, le=1.0, description="Temperature exponent: share ∝ bytes**alpha.")
    max_bytes: int = Field(100_000_000, ge=1_000, description="Budget of the sample in UTF-8 bytes (bounds memory).")
    max_lines: int | None = Field(None, ge=1, description="Budget of the sample in lines (None: bytes only).")
    max_repeat: float = Field(4.0, ge=1.0, description="A small language is repeated at most this many times.")
    max_line_bytes: int = Field(16_384, ge=64, description="Longer lines are cut at a space (sentencepiece skips "
                                "lines over its max_sentence_length, 4,192 bytes by default).")
    languages: list[str] | None = Field(None, description="Keep only these languages; one with no text is an error.")
    language_field: str = Field("lang", description="Column or JSON key holding a document's language, if any.")
    seed: int | None = Field(None, description="Seed of the sampling (None: the experiment's seed).")


def corpus_train_split(path: str) -> str:
    """A corpus stage folder (``runs/x/corpus``) or a run directory (``runs/x``) as its train split: the folder
    also holds the held-out split (text the tokenizer report must not have trained on) and work files.

    Example: ``corpus_train_split("runs/x")`` → ``"runs/x/corpus/train"`` (any other path is kept as it is).
    """
    for stage in (Path(path), Path(path) / "corpus"):
        if (stage / "manifest.json").is_file() and (stage / "train").is_dir():
            return str(stage / "train")
    return path


class TokenizerSource(TextFilesSection):
    """One input of the training sample: files/folders/globs (``path``) or a local HF dataset (``dataset``).

    Example::

        sources:
          - {path: data/tweets.tsv, text_field: tweet, language: ary_Arab}
          - {path: runs/national/corpus/train}          # a corpus run: its `lang` column gives the language
          - {dataset: data/flores_hf, split: dev, text_field: sentence, language: zgh_Tfng}
    """

    section: ClassVar[str] = "tokenizer.sources"
    files_key: ClassVar[str] = "files"

    path: list[InputGlob] = Field(default_factory=list, description="Files, folders or globs of text.")
    dataset: str | None = Field(None, description="A datasets.save_to_disk folder, or a Hub name (allow_network).")
    split: str = Field("train", description="Split of `dataset`.")
    text_field: str = Field("text", description="Field holding the text.")
    language: str | None = Field(None, description="Language of every text of this source (e.g. ary_Arab); "
                                 "None: the documents' `sample.language_field`, else `und`.")

    @property
    def files(self) -> list[str]:
        return self.path

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("path")
    @classmethod
    def _corpus_train_split(cls, v: list[str]) -> list[str]:
        return [corpus_train_split(p) for p in v]

    @model_validator(mode="after")
    def _one_kind(self) -> TokenizerSource:
        if bool(self.path) == (self.dataset is not None):
            raise ValueError("set exactly one of `path` (files, folders, globs) or `dataset` (a datasets folder)")
        return self


class ExtendConfig(StrictModel):
    """Extend an existing model's vocabulary instead of training a tokenizer from scratch.

    Example::

        extend: {model: models/base, num_tokens: 4000, init: mean, protect_files: [data/english.txt]}
    """

    model: ExistingPath = Field(..., description="Local model folder (config.json, safetensors, tokenizer files).")
    num_tokens: int = Field(..., ge=1, le=1_000_000, description="How many tokens to add.")
    init: Literal["mean", "resize"] = Field(
        "mean", description="New embedding rows: mean of the embeddings of the pieces the old tokenizer splits "
        "the token into (mean), or transformers' default mean-and-covariance sampling (resize).")
    min_frequency: int = Field(2, ge=1, description="A new token must occur this often in the sample.")
    protect_files: list[InputGlob] = Field(
        default_factory=list, description="Text in the base model's languages: new tokens that would change how "
        "it tokenizes are not added (its changed share is reported either way).")
    heldout_files: list[InputGlob] = Field(
        default_factory=list, description="Held-out text on which the step-0 loss of the base and extended "
        "models is compared (None: the corpus heldout split, if any).")


class TokenizerConfig(TextFilesSection):
    """Train a tokenizer on the corpus stage's train split, on ``files``, or on ``sources``; or extend a model.

    Example::

        tokenizer:
          kind: sentencepiece_unigram
          vocab_size: 32000
          sample: {alpha: 0.3}
    """

    section: ClassVar[str] = "tokenizer"

    kind: Literal["byte_bpe", "sentencepiece_unigram", "sentencepiece_bpe", "wordpiece"] = Field(
        "byte_bpe", description="byte_bpe: byte-level BPE (HF tokenizers); sentencepiece_unigram / "
        "sentencepiece_bpe: the sentencepiece library, saved as a fast tokenizer.json with the .model beside it; "
        "wordpiece: WordPiece for encoder models (HF tokenizers).")
    vocab_size: int = Field(8000, ge=300, le=1_000_000, description="Target vocabulary size, special tokens included.")
    min_frequency: int = Field(2, ge=1, description="byte_bpe/wordpiece: a pair must occur this often to be merged.")
    normalizer: Literal["nfc", "train"] = Field(
        "nfc", description="nfc: NFC only; train: NFC and the text layer's `train` character tables (bidi "
        "controls, zero-width, tatweel off; Persian look-alikes to Arabic letters). Never NFKC: it rewrites ⵯ.")
    byte_fallback: bool = Field(True, description="sentencepiece kinds: unknown characters become byte tokens "
                                "<0x..> instead of <unk> (byte_bpe is byte-level anyway).")
    split_digits: Literal[False, True, "numbers"] = Field(
        False, description="true: every digit its own token; numbers: only digits of numbers, not the Arabizi "
        "letters 2 3 5 7 8 9 inside words (byte_bpe, wordpiece); false: digits are learned like letters.")
    character_coverage: float = Field(
        1.0, gt=0.0, le=1.0, description="sentencepiece kinds: share of characters covered by the alphabet; 1.0 "
        "keeps every Tifinagh and Darija letter (the rest fall back to bytes).")
    max_sentence_length: int = Field(16_384, ge=64, description="sentencepiece kinds: longest line in bytes; the "
                                     "sample cuts longer lines at a space so that none is skipped.")
    user_defined_symbols: list[str] = Field(
        default_factory=list, description="Strings always kept as one token (not special: they decode as text).")
    files: list[InputGlob] = Field(
        default_factory=list,
        description="Train on these txt/jsonl/parquet files instead of the corpus stage's train split.",
    )
    text_field: str = Field("text", description="Field holding the text in jsonl/parquet files.")
    sources: list[TokenizerSource] = Field(
        default_factory=list, description="Train on these sources (each with its language) instead of `files`.")
    sample: SampleConfig = Field(default_factory=SampleConfig)
    max_documents: int | None = Field(None, ge=1, description="Read at most this many documents per source.")
    bos_token: str = "<s>"
    eos_token: str = "</s>"
    pad_token: str = "<pad>"
    unk_token: str = "<unk>"
    extra_special_tokens: list[str] = Field(default_factory=list, description="More special tokens to reserve.")
    model_max_length: int = Field(2048, ge=8, description="Longest sequence the tokenizer reports.")
    chat_template: str | None = Field(
        "chatml", description="Saved in tokenizer_config.json: chatml (default: <|im_start|>/<|im_end|> added as "
        "special tokens), a .jinja file, inline Jinja, or null for none.")
    evaluate_files: list[ParallelSpec] = Field(
        default_factory=list, description="Parallel files (one per language, aligned by id) for the tokenizer "
        "report; None: the corpus heldout split.")
    extend: ExtendConfig | None = Field(None, description="Extend this model's vocabulary instead of training.")

    @field_validator("files")
    @classmethod
    def _files_train_split(cls, v: list[str]) -> list[str]:
        return [corpus_train_split(p) for p in v]

    @field_validator("bos_token", "eos_token", "pad_token", "unk_token")
    @classmethod
    def _not_empty(cls, v: str, info) -> str:
        # An empty token cannot be a vocabulary entry: training packs documents separated by EOS, batches
        # are padded with PAD. Defaults: <s> </s> <pad> <unk>.
        if not v.strip():
            default = cls.model_fields[info.field_name].default
            raise ValueError(f"must not be empty; set it to a token such as {default!r} (the default)")
        return v

    @field_validator("extra_special_tokens", "user_defined_symbols")
    @classmethod
    def _no_empty_extra(cls, v: list[str]) -> list[str]:
        if any(not t.strip() for t in v):
            raise ValueError(f"an empty token in {v!r}: remove it")
        return v

    @field_validator("chat_template")
    @classmethod
    def _template(cls, v: str | None, info: ValidationInfo) -> str | None:
        from jazari_nlp.tokenization.chat import check_chat_template

        return check_chat_template(v, info)

    @model_validator(mode="after")
    def _kind_options(self) -> TokenizerConfig:
        if self.split_digits == "numbers" and self.kind in SENTENCEPIECE_KINDS:
            raise ValueError(f"split_digits: 'numbers' needs byte_bpe or wordpiece (sentencepiece can only split "
                             f"every digit, which cuts Arabizi words such as 3lach); kind is {self.kind}: set "
                             "split_digits to true or false")
        if self.kind in SENTENCEPIECE_KINDS and self.sample.max_line_bytes > self.max_sentence_length:
            raise ValueError(f"sample.max_line_bytes ({self.sample.max_line_bytes}) is above max_sentence_length "
                             f"({self.max_sentence_length}): sentencepiece would skip the longer lines; lower the "
                             "first or raise the second")
        if self.files and self.sources:
            raise ValueError("set `files` or `sources`, not both: put every input under `sources`")
        from jazari_nlp.tokenization.chat import NAMED

        chat_specials = NAMED[self.chat_template][1] if self.chat_template in NAMED else []
        n_special = len(set([self.pad_token, self.bos_token, self.eos_token, self.unk_token,
                             *self.extra_special_tokens, *self.user_defined_symbols, *chat_specials]))

        floor = {"byte_bpe": 256, "wordpiece": len(WORDPIECE_ALPHABET)}.get(self.kind, 0) + n_special
        if self.vocab_size < floor:
            raise ValueError(f"vocab_size: {self.vocab_size} is smaller than the {floor} tokens {self.kind} needs "
                             "before it learns anything (its alphabet and the special tokens): raise it")
        return self


def special_tokens(cfg: TokenizerConfig) -> list[str]:
    """pad, bos, eos, unk, ``extra_special_tokens`` and the chat template's tokens, without repeats: the
    special tokens a trained vocabulary starts with (ids 0, 1, 2, ...)."""
    from jazari_nlp.tokenization.chat import resolve_chat_template

    seen: list[str] = []
    chat = resolve_chat_template(cfg.chat_template)[1]
    for tok in [cfg.pad_token, cfg.bos_token, cfg.eos_token, cfg.unk_token, *cfg.extra_special_tokens, *chat]:
        if tok not in seen:
            seen.append(tok)
    return seen
