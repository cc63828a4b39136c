"""The fixed cost that saving adds to every tokenizer training: the wrapper takes the built tokenizer without
a deep copy (``train._handed_over``), and chat specials are looked up without copying the vocabulary."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("transformers")

from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402

from jazari_nlp.tokenization.config import TokenizerConfig  # noqa: E402
from jazari_nlp.tokenization.train import _handed_over, _save, train_tokenizer  # noqa: E402

TEXT = ["ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵡⴰⵢⵜ", "wach nta mzyan? 3lach la", "ڭال ليا بلي غادي يجي دابا", "the cat sat on the mat"] * 20


def _tiny() -> Tokenizer:
    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def test_handed_over_object_is_not_copied_and_others_are():
    mine, other = _tiny(), _tiny()
    with _handed_over(mine):
        assert copy.deepcopy(mine) is mine
        twin = copy.deepcopy(other)
        assert twin is not other
        twin.add_tokens(["zzz"])
        assert other.token_to_id("zzz") is None and twin.token_to_id("zzz") is not None
        assert copy.deepcopy({"k": [mine]})["k"][0] is mine
    assert Tokenizer not in copy._deepcopy_dispatch  # the table is as it was
    assert copy.deepcopy(mine) is not mine


def test_handed_over_restores_the_table_on_error():
    with pytest.raises(RuntimeError), _handed_over(_tiny()):
        raise RuntimeError("boom")
    assert Tokenizer not in copy._deepcopy_dispatch


def test_handed_over_leaves_an_existing_entry_alone(monkeypatch):
    def marker(x, memo):
        return "mine"

    monkeypatch.setitem(copy._deepcopy_dispatch, Tokenizer, marker)
    tok = _tiny()
    with _handed_over(tok):
        assert copy.deepcopy(tok) == "mine"
    assert copy._deepcopy_dispatch[Tokenizer] is marker


@pytest.mark.parametrize("kind", ["sentencepiece_bpe", "byte_bpe"])
def test_saved_tokenizer_wraps_the_built_one_and_round_trips(tmp_path, kind):
    cfg = TokenizerConfig(kind=kind, vocab_size=400, chat_template="chatml")
    fast, n = train_tokenizer(cfg, TEXT, tmp_path / "tok", progress=False)
    assert n == len(TEXT)
    assert Tokenizer not in copy._deepcopy_dispatch
    for text in TEXT[:4]:
        assert fast.decode(fast(text, add_special_tokens=False)["input_ids"]) == text
    for special in ("<|im_start|>", "<|im_end|>"):
        assert fast.convert_tokens_to_ids(special) != fast.unk_token_id


def test_save_uses_the_given_tokenizer_object(tmp_path):
    built = _tiny()  # no added tokens: _save registers the specials on this very object
    fast = _save(built, TokenizerConfig(kind="byte_bpe", vocab_size=300), tmp_path / "t")
    assert fast.backend_tokenizer is built
    assert fast.convert_tokens_to_ids(["a", "b"]) == [0, 1]
