"""Vocabulary extension (`extend_model`): learned tokens appended after every old id, protected text unchanged,
new embedding rows = mean of their pieces, Auto classes load the result, the report, and the bad inputs.

The base models are trained here on English (written for this test) and the project's French sample, without
any Darija or Tamazight; they are extended on the project's Darija and Tifinagh samples."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.modeling.tiny import SAMPLES, build_tiny_llama
from jazari_nlp.tokenization.extend import REPORT_FILE, extend_model
from jazari_nlp.tokenization.extend_learn import learn_tokens

ENGLISH = """The weather is nice today and we are going to the park.
My brother works in a hospital near the river.
We bought fresh bread, milk and eggs at the market this morning.
The children are playing football in the garden after school.
She reads a book every evening before she goes to sleep.
The bus was late again, so I walked to the office.
Our teacher explained the lesson twice because it was difficult.
They are planning a trip to the mountains next summer.
Please close the window, it is getting cold in here.
He cooked rice with vegetables and chicken for dinner.
The library opens at nine and closes at six in the evening.
I called my grandmother to ask how she was feeling.
The new road between the two towns will open next year.
Farmers are worried because it has not rained for weeks.
We watched a film about the history of the city.
The shop on the corner sells newspapers, coffee and sweets.
My sister is learning to play the piano with a friend.
The doctor told him to drink more water and to rest.
There are many old houses with blue doors in this street.
The students finished their exams and went to the beach.
Can you help me carry these boxes to the car?
The price of vegetables has gone up since last month.
He writes letters to his friends in other countries.
The meeting was moved to Thursday afternoon.
We planted olive trees and lemon trees behind the house.
The museum has a large collection of paintings and old coins.
It takes two hours to reach the capital by train.
She works as an engineer for a company that builds bridges.
The football match ended in a draw after extra time.
I forgot my umbrella at home and got wet in the rain.""".splitlines()


def _lines(name: str) -> list[str]:
    return [line for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


FRENCH = _lines("fra_Latn.txt")
ARY, ZGH, ARY_LATN = _lines("ary_Arab.txt"), _lines("zgh_Tfng.txt"), _lines("ary_Latn.txt")
MOROCCAN = ARY[:100] + ZGH[:100] + ARY_LATN[:100]
HELDOUT = ARY[250:] + ZGH[250:]
PROTECT = ENGLISH + FRENCH
N = 120


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("ext") / "base", texts=ENGLISH + FRENCH, vocab_size=400,
                            train_steps=30)


@pytest.fixture(scope="module")
def extended(base: Path) -> tuple[Path, dict]:
    out = base.parent / "extended"
    report = extend_model(base, MOROCCAN, out, num_tokens=N, protect_texts=PROTECT, heldout_texts=HELDOUT,
                          report_texts={"ary_Arab": ARY[200:], "zgh_Tfng": ZGH[200:], "eng_Latn": ENGLISH},
                          progress=False)
    return out, report


def _tok(path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)


def _model(path: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, trust_remote_code=False,
                                                use_safetensors=True)


def test_old_ids_kept_and_n_tokens_appended(base, extended):
    out, report = extended
    old, new = _tok(base).get_vocab(), _tok(out).get_vocab()
    assert old.items() <= new.items()
    added = {t: i for t, i in new.items() if t not in old}
    assert sorted(added.values()) == list(range(max(old.values()) + 1, max(old.values()) + 1 + N))
    assert report["tokens_added"] == report["merges_added"] == N and report["fewer_because"] is None
    assert report["new_ids"] == [400, 400 + N - 1]
    merges_old = json.loads((base / "tokenizer.json").read_text())["model"]["merges"]
    merges_new = json.loads((out / "tokenizer.json").read_text())["model"]["merges"]
    assert merges_new[: len(merges_old)] == merges_old and len(merges_new) == len(merges_old) + N


def test_fertility_drops_on_darija_and_tifinagh(base, extended):
    from jazari_nlp.tokenization.train import fertility

    out, report = extended
    old, new = _tok(base), _tok(out)
    for lang, texts in (("ary_Arab", ARY[200:]), ("zgh_Tfng", ZGH[200:])):
        row = report["fertility"][lang]
        assert row["after"] < row["before"]
        assert row["before"] == round(fertility(old, texts), 4) and row["after"] == round(fertility(new, texts), 4)
    assert report["fertility"]["eng_Latn"]["after"] == report["fertility"]["eng_Latn"]["before"]
    # The simulated segmentation of the learner is exactly what the saved tokenizer does.
    counts = report["tokens_on_texts"]
    assert counts["expected"] == counts["extended"] < counts["base"]


def test_protected_text_tokenizes_as_before(base, extended):
    out, report = extended
    old, new = _tok(base), _tok(out)
    for text in PROTECT:
        assert new(text)["input_ids"] == old(text)["input_ids"], text
    assert report["protected_changed_share"] == 0.0 and report["protected_texts"] == len(PROTECT)
    assert report["skipped"]["protected"] > 0


def test_protection_is_what_keeps_french_unchanged(base, tmp_path):
    # The same extension without protect_texts changes French (Arabizi shares its Latin letters).
    report = extend_model(base, MOROCCAN, tmp_path / "free", num_tokens=N, progress=False)
    assert report["protected_changed_share"] is None and report["skipped"]["protected"] == 0
    old, new = _tok(base), _tok(tmp_path / "free")
    changed = sum(old(t)["input_ids"] != new(t)["input_ids"] for t in FRENCH)
    assert changed > 0


def test_new_rows_are_the_mean_of_their_pieces_and_old_rows_unchanged(base, extended):
    import torch

    out, report = extended
    m0, m1 = _model(base), _model(out)
    pieces_of = _tok(base).backend_tokenizer.model
    added = {t: i for t, i in _tok(out).get_vocab().items() if i >= 400}
    for get in ("get_input_embeddings", "get_output_embeddings"):
        w0, w1 = getattr(m0, get)().weight, getattr(m1, get)().weight
        assert w1.shape == (400 + N, w0.shape[1])
        assert torch.equal(w1[:400], w0)
        for token, i in added.items():
            ids = [p.id for p in pieces_of.tokenize(token)]
            assert len(ids) >= 2 and max(ids) < 400
            assert torch.allclose(w1[i], w0[ids].mean(dim=0), atol=1e-6), token
    assert report["tied_embeddings"] is False and report["embedding_rows"] == {"before": 400, "after": 400 + N}


def test_auto_classes_load_and_round_trip(extended):
    import torch

    out, _ = extended
    tok, model = _tok(out), _model(out)
    assert model.config.vocab_size == 400 + N
    for text in ARY[200:230] + ZGH[200:230] + ["ⴰⵣⵓⵍ ⵯ ⵜⴰⵎⴰⵣⵉⵖⵜ", "ڭ ݣ گ ڤ پ", "3lach 7na 9rib 2 5 8"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
    ids = tok(ZGH[200], add_special_tokens=False)["input_ids"]
    assert max(ids) >= 400  # the Tifinagh line uses new tokens
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), 400 + N)


def test_report(base, extended):
    out, report = extended
    assert json.loads((out / REPORT_FILE).read_text(encoding="utf-8")) == json.loads(json.dumps(report))
    assert {"base", "tokens_requested", "tokens_added", "fewer_because", "added_tokens_sample", "fertility",
            "protected_changed_share", "probe_changed_share", "heldout", "init"} <= set(report)
    assert report["base"] == str(base) and report["tokens_requested"] == N and report["init"] == "mean"
    sample = report["added_tokens_sample"]
    assert len(sample) == 50 and [t["id"] for t in sample] == list(range(400, 450))
    assert all(t["saved"] >= 2 for t in sample) and sample[0]["saved"] >= sample[-1]["saved"]
    assert any(t["text"].strip() in ("ⴰ", "ⵉ", "ⵏ", "ا", "ل") for t in sample)  # letters are readable
    held = report["heldout"]
    assert held["texts"] == len(HELDOUT)
    assert held["base"]["bytes"] == held["extended"]["bytes"] == sum(len(t.encode()) for t in HELDOUT)
    assert held["extended"]["tokens"] < held["base"]["tokens"]
    for side in ("base", "extended"):
        assert held[side]["nll_per_token"] > 0 and held[side]["bits_per_byte"] > 0
    assert 0.0 <= report["probe_changed_share"] <= 1.0


def test_fewer_candidates_than_requested_is_reported(base, tmp_path):
    pieces = _tok(base)("ⵣ", add_special_tokens=False)["input_ids"]  # its 3 UTF-8 bytes
    report = extend_model(base, ["ⵣ", "ⵣ"], tmp_path / "few", num_tokens=1000, progress=False)
    # One word of len(pieces) byte tokens seen twice: len(pieces) - 1 merges make it one token, then nothing.
    assert report["tokens_added"] == len(pieces) - 1 == 2
    assert report["tokens_requested"] == 1000
    assert "min_frequency=2" in report["fewer_because"]
    assert _tok(tmp_path / "few")("ⵣ", add_special_tokens=False)["input_ids"] == [401]
    with pytest.raises(InputError, match="no pair of tokens occurs 3 times or more.*min_frequency"):
        extend_model(base, ["ⵣ", "ⵣ"], tmp_path / "none", num_tokens=10, min_frequency=3, progress=False)


def test_resize_init_uses_transformers_default(base, tmp_path):
    import torch

    report = extend_model(base, MOROCCAN, tmp_path / "r", num_tokens=20, init="resize", progress=False)
    w0, w1 = _model(base).get_input_embeddings().weight, _model(tmp_path / "r").get_input_embeddings().weight
    assert report["init"] == "resize" and torch.equal(w1[:400], w0)
    token = next(t for t, i in _tok(tmp_path / "r").get_vocab().items() if i == 400)
    ids = [p.id for p in _tok(base).backend_tokenizer.model.tokenize(token)]
    assert not torch.allclose(w1[400], w0[ids].mean(dim=0))  # sampled around the mean, not the pieces' mean


def test_added_special_tokens_outside_the_vocabulary_keep_their_ids(base, tmp_path):
    # Special tokens added after training sit outside the BPE vocabulary, where tokenizers would renumber them
    # after the new entries when it loads the file, unless extend pins them.
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "tools"
    shutil.copytree(base, folder)
    tok = _tok(folder)
    tok.add_special_tokens({"additional_special_tokens": ["<tool>", "</tool>"]})
    tok.chat_template = "{% for m in messages %}<tool>{{ m['content'] }}</tool>{% endfor %}"
    tok.save_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    model.resize_token_embeddings(len(tok))
    model.save_pretrained(str(folder))
    assert "<tool>" not in json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]
    assert tok.convert_tokens_to_ids(["<tool>", "</tool>"]) == [400, 401]
    report = extend_model(folder, MOROCCAN, tmp_path / "out", num_tokens=30, progress=False)
    new = _tok(tmp_path / "out")
    assert report["new_ids"] == [402, 431] and report["embedding_rows"] == {"before": 402, "after": 432}
    assert new.convert_tokens_to_ids(["<tool>", "</tool>"]) == [400, 401]
    assert tok.get_vocab().items() <= new.get_vocab().items() and len(new) == 432
    chat = new.apply_chat_template([{"role": "user", "content": "ⴰⵣⵓⵍ"}], tokenize=True)
    chat = chat["input_ids"] if hasattr(chat, "keys") else chat
    assert chat[0] == 400 and chat[-1] == 401 and max(chat[1:-1]) >= 402
    assert new.decode(chat) == "<tool>ⴰⵣⵓⵍ</tool>"


# ------------------------------------------------------------------------------------------------ bad input

def _model_only(base: Path, folder: Path) -> Path:
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(base / name, folder / name)
    return folder


def test_folder_without_tokenizer(base, tmp_path):
    folder = _model_only(base, tmp_path / "bare")
    with pytest.raises(InputError) as e:
        extend_model(folder, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)
    assert str(e.value) == (f"tokenizer.extend.model: {folder} has no tokenizer files (tokenizer.json, "
                            f"tokenizer_config.json): save the base model's tokenizer into it with "
                            f"tokenizer.save_pretrained('{folder}')")
    assert not (tmp_path / "out").exists()


def test_folder_with_a_slow_tokenizer_only(base, tmp_path):
    folder = _model_only(base, tmp_path / "slow")
    shutil.copyfile(base / "tokenizer_config.json", folder / "tokenizer_config.json")
    with pytest.raises(InputError, match=r"has no tokenizer.json \(only a slow, Python tokenizer\).*save_pretrained"):
        extend_model(folder, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)


@pytest.mark.parametrize("kind, what", [("WordPiece", "WordPiece (BERT-style encoders)"),
                                        ("Unigram", "Unigram (T5, XLM-R, ALBERT)")])
def test_tokenizer_kinds_that_cannot_be_extended(base, tmp_path, kind, what):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(getattr(models, kind)(unk_token="[UNK]") if kind == "WordPiece" else models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = getattr(trainers, f"{kind}Trainer")(vocab_size=200, special_tokens=["[UNK]"], show_progress=False,
                                                  **({"unk_token": "[UNK]"} if kind == "Unigram" else {}))
    tok.train_from_iterator(ENGLISH, trainer=trainer)
    folder = _model_only(base, tmp_path / kind)
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(str(folder))
    with pytest.raises(InputError) as e:
        extend_model(folder, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)
    msg = str(e.value)
    assert msg.startswith(f"tokenizer.extend.model: {folder / 'tokenizer.json'} is a {what} tokenizer, which "
                          "cannot be extended: extend learns new BPE merges, so it needs a BPE tokenizer: "
                          "byte-level BPE (GPT-2, Llama-3, Qwen) or sentencepiece-style BPE with byte fallback")
    assert not (tmp_path / "out").exists()


def test_not_a_model_folder_and_a_tokenizer_bigger_than_the_model(base, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"^tokenizer.extend.model: .*empty: not a model folder, no config.json"):
        extend_model(empty, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)
    small = tmp_path / "small"
    shutil.copytree(base, small)
    cfg = json.loads((small / "config.json").read_text())
    (small / "config.json").write_text(json.dumps({**cfg, "vocab_size": 300}))
    with pytest.raises(InputError, match=r"has token id 399 but the model has only 300 embedding rows: give the "
                                         r"tokenizer saved with this model, or resize the model"):
        extend_model(small, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)
    (small / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(InputError, match=r"small is a 'vit' model, which has no causal language-model head"):
        extend_model(small, MOROCCAN, tmp_path / "out", num_tokens=5, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"num_tokens": 0}, r"tokenizer.extend.num_tokens: 0 is not a positive integer"),
    ({"num_tokens": 5, "init": "zeros"}, r"tokenizer.extend.init: unknown value 'zeros'; use mean or resize"),
])
def test_bad_options(base, tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        extend_model(base, MOROCCAN, tmp_path / "out", progress=False, **kwargs)


def test_no_text_and_output_over_the_base(base, tmp_path):
    with pytest.raises(InputError, match="tokenizer.extend: no text to learn new tokens from"):
        extend_model(base, ["", "  "], tmp_path / "out", num_tokens=5, progress=False)
    with pytest.raises(InputError, match="is the base model's folder; extending would overwrite the base"):
        extend_model(base, MOROCCAN, base, num_tokens=5, progress=False)


# ------------------------------------------------------------------ sentencepiece-style BPE with byte fallback

def _llama2_style_base(folder: Path) -> Path:
    """A BPE with byte fallback saved the way Llama-2's converted tokenizer.json is (Prepend + Replace
    normalizer, no pre-tokenizer: a whole line is one "word"), and a tiny random Llama with tied embeddings."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    t = Tokenizer(models.BPE(unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    t.train_from_iterator(ENGLISH + FRENCH, trainer=trainers.BpeTrainer(vocab_size=500, special_tokens=specials,
                                                                        show_progress=False))
    model = json.loads(t.to_str())["model"]
    vocab = dict(model["vocab"])
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   clean_up_tokenization_spaces=False)
    fast.chat_template = "{% for m in messages %}{{ m['content'] }}</s>{% endfor %}"
    fast.save_pretrained(str(folder))
    return _random_llama(folder, len(vocab))


def _random_llama(folder: Path, vocab_size: int) -> Path:
    """A tiny random Llama with tied embeddings, saved beside the tokenizer in ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                      tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(cfg).save_pretrained(str(folder))
    return folder


def test_byte_fallback_bpe_base(tmp_path):
    import torch

    base = _llama2_style_base(tmp_path / "spbase")
    out = tmp_path / "spext"
    report = extend_model(base, MOROCCAN, out, num_tokens=80, protect_texts=PROTECT, heldout_texts=HELDOUT,
                          report_texts={"zgh_Tfng": ZGH[200:], "ary_Arab": ARY[200:]}, progress=False)
    old_tok, new_tok = _tok(base), _tok(out)
    old, new = old_tok.get_vocab(), new_tok.get_vocab()
    assert old.items() <= new.items() and len(new) == len(old) + 80 == len(old) + report["tokens_added"]
    # Tifinagh and Arabic letters are not in the base vocabulary (they fell back to bytes): added as characters.
    assert report["tokenizer_model"] == "BPE, byte fallback" and report["characters_added"] > 0
    assert "ⴰ" in new and "ⴰ" not in old and "ا" in new
    for lang in ("zgh_Tfng", "ary_Arab"):
        assert report["fertility"][lang]["after"] < report["fertility"][lang]["before"]
    assert report["tokens_on_texts"]["expected"] == report["tokens_on_texts"]["extended"]
    for text in PROTECT:
        assert new_tok(text)["input_ids"] == old_tok(text)["input_ids"], text
    assert report["protected_changed_share"] == 0.0
    for text in ZGH[200:220] + ARY[200:220] + ["ⴰⵣⵓⵍ ⵯ", "ڭ ݣ گ ڤ پ", "3lach 7na 9rib"]:
        assert new_tok.decode(new_tok(text, add_special_tokens=False)["input_ids"]) == text
    assert new_tok.chat_template == old_tok.chat_template and new_tok.eos_token == "</s>"
    # Tied embeddings: one matrix; a character's row is the mean of its UTF-8 byte tokens' rows.
    m0, m1 = _model(base), _model(out)
    w0, w1 = m0.get_input_embeddings().weight, m1.get_input_embeddings().weight
    assert torch.equal(w1[: len(old)], w0) and report["tied_embeddings"] is True
    assert torch.equal(m1.get_output_embeddings().weight, w1)
    byte_rows = [old[f"<0x{b:02X}>"] for b in "ⴰ".encode()]
    assert torch.allclose(w1[new["ⴰ"]], w0[byte_rows].mean(dim=0), atol=1e-6)
    assert report["heldout"]["extended"]["tokens"] < report["heldout"]["base"]["tokens"]


def test_sentencepiece_bpe_kind_of_this_project(tmp_path):
    # The project's own `sentencepiece_bpe` tokenizers (Metaspace, byte fallback, .model kept beside) extend too.
    pytest.importorskip("sentencepiece")
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    base = tmp_path / "spm"
    tok, _ = train_tokenizer(TokenizerConfig(kind="sentencepiece_bpe", vocab_size=500), ENGLISH + FRENCH, base,
                             progress=False)
    _random_llama(base, len(tok))
    report = extend_model(base, MOROCCAN, tmp_path / "out", num_tokens=60, protect_texts=PROTECT, progress=False)
    new = _tok(tmp_path / "out")
    assert tok.get_vocab().items() <= new.get_vocab().items() and len(new) == len(tok) + 60
    assert report["characters_added"] > 0 and not (tmp_path / "out" / "tokenizer.model").exists()
    assert report["tokens_on_texts"]["expected"] == report["tokens_on_texts"]["extended"]
    assert report["protected_changed_share"] == 0.0
    for text in ZGH[200:210] + ARY[200:210] + ["ⴰⵣⵓⵍ ⵯ", "ڭ ݣ گ ڤ پ", "3lach 7na 9rib"]:
        assert new.decode(new(text, add_special_tokens=False)["input_ids"]) == text
    assert new.chat_template == tok.chat_template


# -------------------------------------------------------------------------------------- the learner itself

def _naive(words: Counter, vocab: set[str], num_tokens: int, min_frequency: int) -> list[tuple[str, int]]:
    """Plain BPE: every pair recounted before every merge; ties broken as the learner does (the pair whose
    symbols appeared first)."""
    order: dict[str, int] = {}
    for w in words:
        for s in w:
            order.setdefault(s, len(order))
    segs = {w: list(w) for w in words}
    out: list[tuple[str, int]] = []
    taken = set(vocab)
    blocked: set[tuple[str, str]] = set()
    while len(out) < num_tokens:
        counts: Counter = Counter()
        for w, f in words.items():
            for p in zip(segs[w], segs[w][1:], strict=False):
                if p not in blocked:
                    counts[p] += f
        best = min((p for p, c in counts.items() if c >= min_frequency),
                   key=lambda p: (-counts[p], order[p[0]], order[p[1]]), default=None)
        if best is None:
            break
        s = best[0] + best[1]
        if s in taken:
            blocked.add(best)
            continue
        taken.add(s)
        order[s] = len(order)
        for w in words:
            seg, i, merged = segs[w], 0, []
            while i < len(seg):
                if i + 1 < len(seg) and (seg[i], seg[i + 1]) == best:
                    merged.append(s)
                    i += 2
                else:
                    merged.append(seg[i])
                    i += 1
            segs[w] = merged
        out.append((s, counts[best]))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_incremental_counts_match_plain_bpe(seed):
    rng = random.Random(seed)
    words = Counter({tuple(rng.choice("aabcd") for _ in range(rng.randint(1, 9))): rng.randint(1, 5)
                     for _ in range(300)})
    vocab = {"a", "b", "c", "d", "cd"}  # "cd" exists already: its pair must be skipped, never re-added
    learned = learn_tokens(words, vocab=vocab, num_tokens=40, min_frequency=2)
    assert [(t.content, t.gain) for t in learned.tokens] == _naive(words, vocab, 40, 2)
    assert "cd" not in [t.content for t in learned.tokens] and learned.skipped_existing == 1
    # A gain is the pair's count (as BPE trainers count), which overlapping runs ("aaa") make an upper bound.
    assert 0 < learned.tokens_before - learned.tokens_after <= sum(t.gain for t in learned.tokens)
