"""Tokenizer kinds (issue 9, items 1-2): byte_bpe, sentencepiece_unigram, sentencepiece_bpe, wordpiece.

Round trips on every kind, parity of the converted fast tokenizer with sentencepiece itself, the normalizer
against the text layer's tables, digit splitting, special tokens and the chat template, and bad input. All
training text is written here (plus the project's bundled samples); vocabularies are small so that it is fast.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.modeling.tiny import sample_lines
from jazari_nlp.tokenization.config import KINDS, TokenizerConfig

TIFINAGH = "".join(chr(c) for c in range(0x2D30, 0x2D68))
# What must survive encode -> decode on every kind (NFC input).
ROUND_TRIP = [
    TIFINAGH,
    " ".join(TIFINAGH),
    "ⴰⵎⵣⵯⴰⵔ ⴽⵯⵍ ⴰⵙⵙ \u2d70 ⵜ\u2d7fⵜ ⵜⴰⵎⴰⵣⵉⵖⵜ",
    "ڭالس ݣاع گولي ڤيديو پاپا ڭ ݣ گ ڤ پ",
    "3lach 7na 9alb 2ana 5ouya 8ir",
    "salam 3likom, خويا ⴰⵣⵓⵍ ça va très bien 😀👍 ok!",
    "a   b    c",
    "  salam  ",
    " leading",
    "trailing ",
    "salam\nⴰⵣⵓⵍ\n\nbye\n",
    "\nstarts with a newline",
    "tab\there",
    "l'école 2024: 12,5 DH",
]
# Training text written for these tests (no third-party sentences).
OWN_TEXT = [
    "3lach ma jitich lbare7? kan 3ndi chi khedma f dar.",
    "7na ghadi nmchiw l9ahwa m3a drari, 2ana w 5ouya.",
    "wach nta mzyan? ana bikhir l7amdolillah, 8ir chwiya3ya.",
    "كنبغي نمشي للدار ديالي دابا، راه الجو زوين بزاف.",
    "ڭالس فالقهوة كيشرب أتاي، و ݣاع الناس فرحانين.",
    "گولي ليا شنو بغيتي، عندي ڤيديو جديد و پاپا جا.",
    "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ, ⵎⴰⵏⵉⵎⴽ ⵜⵍⵍⴰ? ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴳⴰ ⵜⵓⵜⵍⴰⵢⵜ ⵏⵏⵖ.",
    "ⴰⵎⵣⵯⴰⵔ ⴷ ⴽⵯⵍ ⴰⵢⵍⵍⵉ ⵉⵍⵍⴰⵏ ⴳ ⵓⴷⵖⴰⵔ ⴰⴷ.",
    "Bonjour, je vais à l'école demain à 8h, ça te va ?",
    "Le prix est de 12,5 DH pour 2024 ou 2025. 😀👍",
]
USER = ["<x>", "café"]


def train_texts() -> list[str]:
    return sample_lines() + OWN_TEXT * 3 + ROUND_TRIP


def train(kind: str, out: Path, texts: list[str] | None = None, **kw):
    from jazari_nlp.tokenization.train import train_tokenizer

    cfg = TokenizerConfig(kind=kind, **{"vocab_size": 1200, **kw})
    return train_tokenizer(cfg, train_texts() if texts is None else texts, out, progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kinds")
    for kind in KINDS:
        train(kind, root / kind, user_defined_symbols=USER)
    return {kind: root / kind for kind in KINDS}


def load(path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


# ------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_tifinagh_darija_arabizi_and_spacing(trained, kind):
    tok = load(trained[kind])
    assert all(unicodedata.is_normalized("NFC", t) for t in ROUND_TRIP)
    for text in ROUND_TRIP:
        assert tok.decode(ids(tok, text)) == text, (kind, text, tok.tokenize(text))
    # ⵯ U+2D6F is a letter of its own: NFKC would turn it into ⵡ U+2D61
    assert tok.backend_tokenizer.normalizer.normalize_str("ⴽⵯⵍ").endswith("ⴽⵯⵍ")


@pytest.mark.parametrize("kind", ["byte_bpe", "sentencepiece_unigram", "sentencepiece_bpe"])
def test_text_never_seen_in_training_round_trips_through_bytes(trained, kind):
    tok = load(trained[kind])
    unseen = "漢字 𝔸𝔹 ✓ ж ⵯⵯⵯ"
    assert tok.decode(ids(tok, unseen)) == unseen
    assert tok.unk_token_id not in ids(tok, unseen)


def test_wordpiece_turns_an_unseen_character_into_unk_never_dropping_it(trained):
    tok = load(trained["wordpiece"])
    unk = tok.unk_token
    # a symbol is a piece of its own: only it becomes unk
    assert ids(tok, "salam ✓ 3lach").count(tok.unk_token_id) == 1
    assert tok.decode(ids(tok, "salam ✓ 3lach")) == f"salam {unk} 3lach"
    assert tok.decode(ids(tok, "sal✓am")) == f"sal{unk}am"
    # a letter never seen takes its whole word (the documented limit of WordPiece)
    assert tok.decode(ids(tok, "salжam ok")) == f"{unk} ok"


# --------------------------------------------------------------------------- parity with sentencepiece


def parity_strings(n: int = 800) -> list[str]:
    """Many strings: words of every script, runs of spaces, numbers, characters never seen, long words."""
    rng = random.Random(9)
    words = " ".join(sample_lines() + OWN_TEXT).split()
    unseen = ["漢字", "✓", "𝔸", "ж", "🙂", "Ω", "\u00a0", "\t"]
    # Not one string of the whole sample: sentencepiece sums a whole line's scores in float32, and over 40,000
    # tokens ties closer than its precision fall either way (the fast tokenizer scores word by word).
    out = [" ".join(words[:300]), "".join(words[:40]), TIFINAGH * 3, " ", "  ", "\n", "a\n\nb", "x" * 300]
    for _ in range(n):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 10))]
        if rng.random() < 0.3:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(unseen) + rng.choice(words))
        if rng.random() < 0.3:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 9))))
        if rng.random() < 0.2:
            parts.append("".join(rng.choice(words) for _ in range(6)))  # a long word
        text = rng.choice([" ", "  ", " "]).join(parts)
        text = rng.choice(["", " ", "   "]) + text + rng.choice(["", " ", "  ", "\n"])
        out.append(unicodedata.normalize("NFC", text))
    return out


@pytest.mark.parametrize("kind,opts", [
    ("sentencepiece_unigram", {}),
    ("sentencepiece_bpe", {}),
    ("sentencepiece_unigram", {"split_digits": True, "byte_fallback": False, "normalizer": "train"}),
    ("sentencepiece_bpe", {"split_digits": True, "byte_fallback": False, "normalizer": "train"}),
])
def test_fast_tokenizer_gives_sentencepiece_ids(tmp_path, kind, opts):
    import sentencepiece as spm

    train(kind, tmp_path / "tok", **opts)
    tok = load(tmp_path / "tok")
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tok" / "tokenizer.model"))
    assert sp.get_piece_size() == len(tok)
    strings = parity_strings()
    differ = [(t, sp.encode(t, out_type=str), tok.tokenize(t)) for t in strings if sp.encode(t) != ids(tok, t)]
    assert differ == []
    # user symbols inside the text, too
    tok2, _ = train(kind, tmp_path / "user", user_defined_symbols=USER, **opts)
    sp2 = spm.SentencePieceProcessor(model_file=str(tmp_path / "user" / "tokenizer.model"))
    for t in ["salam <x> ok", "x<x>y café", "3lach café<x> 2024", "a  <x>  b "]:
        assert sp2.encode(t) == ids(tok2, t), t


# ----------------------------------------------------------------------------------------- normalizer


def table_cases() -> list[tuple[str, str]]:
    from jazari_nlp.text.normalize import read_table
    from jazari_nlp.tokenization.normalizers import TRAIN_TABLES

    cases = []
    for name in TRAIN_TABLES:
        for cp in read_table(name):
            for ctx in ("ab{}cd", "سل{}ام", "ⴰⵣ{}ⵓⵍ", "{}x", "كـ{}ـبير"):
                cases.append((name, ctx.format(chr(cp))))
    zwj = "\u200d"
    cases += [("zwj", f"ⴰ{zwj}ⴱ"), ("zwj", f"a{zwj}b"), ("zwj", f"ⴰ{zwj}b"), ("zwj", f"ب{zwj}{zwj}ⴰ")]
    return cases


def test_train_normalizer_maps_every_table_row_like_the_text_layer():
    from jazari_nlp.text.normalize import normalize
    from jazari_nlp.tokenization.normalizers import normalize_chunk, tokenizer_normalizer

    norm = tokenizer_normalizer("train")
    cases = table_cases()
    assert len(cases) == 5 * (12 + 11 + 1 + 9) + 4  # every row of the four tables, in five contexts
    wrong = [(name, t) for name, t in cases if norm.normalize_str(t) != normalize(t, "train")]
    assert wrong == []
    block = "\n".join(t for _, t in cases)  # the sentencepiece training file is normalized in blocks
    assert normalize_chunk(block, "train") == norm.normalize_str(block)
    assert normalize("ⴰ\u200dⴱ") == norm.normalize_str("ⴰ\u200dⴱ") == "ⴰ\u200dⴱ"  # ZWJ kept in Tifinagh


def test_nfc_normalizer_composes_but_never_nfkc():
    from jazari_nlp.tokenization.normalizers import normalize_chunk, tokenizer_normalizer

    norm = tokenizer_normalizer("nfc")
    assert norm.normalize_str("e\u0301") == "é"
    for kept in ("ⵯ", "ﬁ", "²", "ⴽⵯⵍ", "ـ", "\u200f"):  # NFKC would change the first three
        assert norm.normalize_str(kept) == kept == normalize_chunk(kept, "nfc")
    with pytest.raises(ValueError, match="unknown normalizer 'nfkc'"):
        tokenizer_normalizer("nfkc")


@pytest.mark.parametrize("kind", ["sentencepiece_unigram", "byte_bpe"])
def test_train_normalizer_is_applied_to_the_training_text_and_the_tokenizer(tmp_path, kind):
    texts = ["كـــبير بزاااف و مـزيان"] * 30 + OWN_TEXT + ["ك\u200fلام ی\u200bکی"] * 30
    tok, _ = train(kind, tmp_path / "t", texts=texts, normalizer="train", vocab_size=700)
    vocab = "".join(tok.get_vocab())
    if kind == "sentencepiece_unigram":  # byte-level pieces spell tatweel as bytes
        assert not set("\u0640\u200f\u200b\u06cc\u06a9") & set(vocab)
    assert tok.decode(ids(tok, "كـــبير ی\u200fکی")) == "كبير يكي"


def test_text_file_is_normalized_without_rewriting_the_lines(tmp_path):
    from jazari_nlp.tokenization.train import train_tokenizer

    src = tmp_path / "sample.txt"
    src.write_text("\n".join(["كـــبير"] * 50 + [unicodedata.normalize("NFD", "écoute ça")] * 50 + [""] * 3
                             + OWN_TEXT) + "\n", encoding="utf-8")
    cfg = TokenizerConfig(kind="sentencepiece_bpe", vocab_size=500, normalizer="train")
    tok, n = train_tokenizer(cfg, [], tmp_path / "tok", progress=False, text_file=src)
    assert n == 100 + len(OWN_TEXT)  # non-empty lines
    pieces = set(tok.get_vocab())
    assert "\u0640" not in "".join(pieces) and "\u0301" not in "".join(pieces)
    assert any("é" in p for p in pieces)


# ------------------------------------------------------------------------------------------ options


def test_numbers_split_only_the_digits_of_numbers():
    from jazari_nlp.tokenization.train import _hf_tokenizer

    text = "3lach m7al 9ahwa ana3 2024 x1 12,5"
    pieces = {}
    for kind in ("byte_bpe", "wordpiece"):
        tok, _ = _hf_tokenizer(TokenizerConfig(kind=kind, split_digits="numbers"), progress=False)
        pieces[kind] = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text))]
    assert pieces["byte_bpe"] == ["3lach", "Ġm7al", "Ġ9ahwa", "Ġana3", "Ġ2", "0", "2", "4", "Ġx1", "Ġ1", "2", ",",
                                  "5"]
    assert pieces["wordpiece"] == ["▁3lach", "▁m7al", "▁9ahwa", "▁ana3", "▁", "2", "0", "2", "4", "▁x1", "▁", "1",
                                   "2", ",", "5"]


def _digit_tokens(tok, text: str) -> list[str]:
    return [t.lstrip("▁Ġ") for t in tok.tokenize(text) if any(c.isdigit() for c in t)]


@pytest.mark.parametrize("kind", KINDS)
def test_split_digits_true_makes_every_digit_its_own_token(tmp_path, kind):
    texts = ["3lach m7al 9ahwa 2024 1990"] * 200 + OWN_TEXT
    split, _ = train(kind, tmp_path / "split", texts=texts, split_digits=True, vocab_size=600)
    learned, _ = train(kind, tmp_path / "learned", texts=texts, split_digits=False, vocab_size=600)
    probe = "3lach m7al 9ahwa 2024 1990"
    assert _digit_tokens(split, probe) == list("37920241990")
    assert any(len(t) > 1 for t in _digit_tokens(learned, probe))  # digits learned like letters
    for tok in (split, learned):
        assert tok.decode(ids(tok, probe)) == probe


@pytest.mark.parametrize("kind", ["byte_bpe", "wordpiece"])
def test_split_digits_numbers_keeps_arabizi_words_whole(tmp_path, kind):
    texts = ["3lach m7al 9ahwa 2024 1990"] * 200 + OWN_TEXT
    tok, _ = train(kind, tmp_path / "n", texts=texts, split_digits="numbers", vocab_size=600)
    assert _digit_tokens(tok, "3lach m7al 9ahwa 2024 1990") == ["3lach", "m7al", "9ahwa", *"20241990"]


def test_config_refuses_numbers_for_sentencepiece():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="split_digits: 'numbers' needs byte_bpe or wordpiece"):
        TokenizerConfig(kind="sentencepiece_unigram", split_digits="numbers")


# ------------------------------------------------------------------------ specials, chat template, files


@pytest.mark.parametrize("kind", KINDS)
def test_special_tokens_chat_template_and_user_symbols(trained, kind):
    from jazari_nlp.tokenization.chat import CHATML

    tok = load(trained[kind])
    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>"]
    assert tok.convert_ids_to_tokens(list(range(6))) == specials  # inside the trained vocabulary, first
    assert len(tok) <= 1200
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.chat_template == CHATML
    messages = [{"role": "user", "content": "salam, kif dayr?"}, {"role": "assistant", "content": "ⴰⵣⵓⵍ, labas"}]
    rendered = tok.apply_chat_template(messages, tokenize=False)
    chat_ids = ids(tok, rendered)
    assert chat_ids.count(4) == 2 and chat_ids.count(5) == 2
    assert tok.decode(chat_ids) == rendered  # no space invented after a special token
    # user symbols: one token each, not special (they decode as text, even skipping specials)
    for sym in USER:
        assert sym not in tok.all_special_tokens
        assert tok.convert_ids_to_tokens(ids(tok, f"a {sym}b")).count(sym) == 1
    text = "<s>salam <x> café<x>!"
    assert tok.decode(ids(tok, text), skip_special_tokens=True) == "salam <x> café<x>!"
    assert (trained[kind] / "tokenizer.model").is_file() == kind.startswith("sentencepiece")


def test_sentencepiece_model_beside_the_fast_tokenizer_loads_alone(trained):
    import sentencepiece as spm

    for kind in ("sentencepiece_unigram", "sentencepiece_bpe"):
        sp = spm.SentencePieceProcessor(model_file=str(trained[kind] / "tokenizer.model"))
        assert (sp.pad_id(), sp.bos_id(), sp.eos_id(), sp.unk_id()) == (0, 1, 2, 3)
        assert not (trained[kind] / "tokenizer.vocab").exists()


def test_texts_longer_than_max_sentence_length_are_cut_at_a_space_not_skipped():
    from jazari_nlp.tokenization.train import _cut

    line = "ⴰⵣⵓⵍ salam " * 40
    pieces = list(_cut(line, 64))
    assert "".join(pieces) == line and len(pieces) > len(line.encode()) // 64
    assert all(len(p.encode()) <= 64 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])  # cut before a space
    assert list(_cut("x" * 130, 64)) == ["x" * 64, "x" * 64, "xx"]


def test_a_text_file_line_over_max_sentence_length_is_refused_before_training(tmp_path):
    from jazari_nlp.tokenization.train import train_tokenizer

    src = tmp_path / "sample.txt"
    src.write_text("salam\n" + "a" * 100 + "\nbye\n", encoding="utf-8")
    cfg = TokenizerConfig(kind="sentencepiece_unigram", vocab_size=400, max_sentence_length=64,
                          sample={"max_line_bytes": 64})
    with pytest.raises(InputError, match=r"sample\.txt: line 2 has 100 bytes, more than "
                                         r"tokenizer\.max_sentence_length \(64\)"):
        train_tokenizer(cfg, [], tmp_path / "tok", progress=False, text_file=src)
    assert not (tmp_path / "tok").exists()


# ----------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("texts", [[], ["", "  ", "\n"]])
def test_no_text_is_a_clear_error(tmp_path, kind, texts):
    from jazari_nlp.tokenization.train import train_tokenizer

    with pytest.raises(InputError, match=r"^tokenizer: no text to train on in data/a\.txt: point tokenizer\.files"):
        train_tokenizer(TokenizerConfig(kind=kind), texts, tmp_path / "tok", progress=False, source="data/a.txt")


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_text_file_is_a_clear_error(tmp_path, kind):
    from jazari_nlp.tokenization.train import train_tokenizer

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"no text to train on in {empty}"):
        train_tokenizer(TokenizerConfig(kind=kind), [], tmp_path / "tok", progress=False, text_file=empty)


@pytest.mark.parametrize("kind", ["sentencepiece_unigram", "sentencepiece_bpe"])
def test_vocabulary_smaller_than_the_alphabet_names_the_size_needed(tmp_path, kind):
    texts = sample_lines()
    alphabet = set("".join(texts).replace(" ", "▁")) | {"▁"}
    needed = len(alphabet) + 256 + 6  # characters, byte pieces, pad/bos/eos/unk and the two ChatML tokens
    with pytest.raises(InputError, match=rf"^tokenizer\.vocab_size: 300 is smaller than the {needed} pieces "
                                         rf"{kind} needs .* set tokenizer\.vocab_size to at least {needed}"):
        train(kind, tmp_path / "tok", texts=texts, vocab_size=300)
