"""Issue 9 review: failures found by using the tokenizers as a demanding user would, each fixed.

- wordpiece turned every Tifinagh letter, ݣ گ, a CR or a bidi mark unseen in training into <unk>;
- `jazari tokenizer evaluate` ranked a tokenizer that writes most words as <unk> best, without a word;
- a corpus stage folder or a run directory as a tokenizer source failed validation (it read the work files);
- the step-0 held-out loss of an extended model was in neither the run summary nor the CLI table.

All text here is written for these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jazari_nlp.tokenization.config import TokenizerConfig

TIFINAGH = "".join(chr(c) for c in range(0x2D30, 0x2D68)) + "\u2d6f\u2d70\u2d7f"
LATIN_ONLY = [
    "the weather is nice today and we walk to the park",
    "we bought bread and milk at the market this morning",
    "nous allons au marche demain matin avec les amis",
    "she reads a book every evening before sleeping",
] * 20


def ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def test_wordpiece_keeps_tifinagh_darija_letters_cr_and_bidi_marks_it_never_saw(tmp_path: Path):
    from transformers import AutoTokenizer

    from jazari_nlp.tokenization.train import train_tokenizer

    train_tokenizer(TokenizerConfig(kind="wordpiece", vocab_size=400), LATIN_ONLY, tmp_path / "wp", progress=False)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "wp"), local_files_only=True)
    texts = [TIFINAGH, " ".join(TIFINAGH), "ⴰⵎⵣⵯⴰⵔ ⴽⵯⵍ ⵜ\u200dⵜ", "ڭالس ݣاع گولي ڤيديو پاپا", "3lach 7na 9alb 2ana 5ouya 8ir",
             "line one\r\nline two", "\u200fمرحبا\u200e ok \u202bx\u202c \u2067y\u2069", "SYSTEM: {json} [x] ~"]
    for text in texts:
        assert tok.unk_token_id not in ids(tok, text), (text, tok.tokenize(text))
        assert tok.decode(ids(tok, text)) == text
    msgs = [{"role": "system", "content": "ⴰⵣⵓⵍ"}, {"role": "user", "content": "ڭالس"}]
    chat = tok.apply_chat_template(msgs, tokenize=False)
    assert tok.decode(ids(tok, chat)) == chat == "<|im_start|>system\nⴰⵣⵓⵍ<|im_end|>\n<|im_start|>user\nڭالس<|im_end|>\n"


def test_wordpiece_vocab_floor_counts_its_fixed_alphabet():
    from jazari_nlp.tokenization.train import WORDPIECE_ALPHABET

    extra = [f"<x{i}>" for i in range(100)]
    floor = len(WORDPIECE_ALPHABET) + 4 + 2 + 100  # pad bos eos unk, the two ChatML tokens and the extras
    with pytest.raises(ValidationError, match=f"vocab_size: 300 is smaller than the {floor} tokens wordpiece needs"):
        TokenizerConfig(kind="wordpiece", vocab_size=300, extra_special_tokens=extra)
    TokenizerConfig(kind="wordpiece", vocab_size=floor, extra_special_tokens=extra)


def test_evaluate_notes_a_fertility_lowered_by_unknown_tokens(tmp_path: Path):
    from jazari_nlp.tokenization.evaluate import evaluate_tokenizers
    from jazari_nlp.tokenization.train import train_tokenizer

    train_tokenizer(TokenizerConfig(kind="wordpiece", vocab_size=400), LATIN_ONLY, tmp_path / "wp", progress=False)
    train_tokenizer(TokenizerConfig(kind="byte_bpe", vocab_size=400), LATIN_ONLY, tmp_path / "bpe", progress=False)
    texts = {"eng_Latn": {"1": "the park is nice", "2": "we walk"},
             "ell_Grek": {"1": "το πάρκο είναι ωραίο", "2": "περπατάμε"}}  # Greek: never seen, not in the alphabet
    report = evaluate_tokenizers([str(tmp_path / "wp"), str(tmp_path / "bpe")], texts, progress=False)
    wp = report["results"]["wp"]["ell_Grek"]
    assert wp["unk_rate"] == 1.0 and wp["fertility"] == 1.0  # 5 words, 5 unk: the "best" fertility
    assert report["notes"] == ["wp: unknown tokens (ell_Grek 100.0% of the tokens): each hides text it cannot "
                               "encode, so its fertility there is too low to compare with the others"]


def _fake_run(root: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = root / "runs" / "x" / "corpus"
    for split, texts in (("train", ["salam 3likom", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ"]), ("heldout", ["held out only"])):
        (corpus / split / "ary_Arab").mkdir(parents=True)
        pq.write_table(pa.table({"text": texts, "lang": ["ary_Arab"] * len(texts)}),
                       corpus / split / "ary_Arab" / "00000.parquet")
    (corpus / "_work" / "logs").mkdir(parents=True)
    (corpus / "_work" / "logs" / "executor.json").write_text('{\n  "a": 1\n}\n')  # not JSON lines
    (corpus / "_SUCCESS.json").write_text('{\n  "done": true\n}\n')
    (corpus / "manifest.json").write_text('{\n  "documents": 3\n}\n')
    return corpus.parent


@pytest.mark.parametrize("where", ["run", "corpus"])
def test_run_directory_or_corpus_folder_as_a_source_reads_only_its_train_split(tmp_path: Path, where: str):
    from jazari_nlp.tokenization.sampling import inputs_from_config

    run = _fake_run(tmp_path)
    given = run if where == "run" else run / "corpus"
    train = str(run / "corpus" / "train")
    cfg = TokenizerConfig.model_validate({"sources": [{"path": str(given)}]}, context={"base_dir": tmp_path})
    assert cfg.sources[0].path == [train]
    (inp,) = inputs_from_config(cfg)
    assert inp.files == [run / "corpus" / "train" / "ary_Arab" / "00000.parquet"]
    files_cfg = TokenizerConfig.model_validate({"files": [str(given)]}, context={"base_dir": tmp_path})
    assert files_cfg.files == [train]


def test_extend_summary_and_cli_table_show_the_step0_heldout_loss(tmp_path: Path, monkeypatch):
    from jazari_nlp.cli.tokenizer_cmd import extend_loss_line
    from jazari_nlp.tokenization import extend as extend_mod
    from jazari_nlp.tokenization import stage

    report = {"base": "base", "tokens_added": 3, "tokens_requested": 3,
              "fertility": {"ary_Arab": {"before": 4.0, "after": 2.0}}, "protected_changed_share": 0.0,
              "heldout": {"texts": 7, "base": {"nll_per_token": 6.0, "bits_per_byte": 8.7074},
                          "extended": {"nll_per_token": 7.9, "bits_per_byte": 2.1052}}}
    monkeypatch.setattr(extend_mod, "extend_model", lambda *a, **k: report)
    sample = tmp_path / "sample.txt"
    sample.write_text("salam\n", encoding="utf-8")
    tcfg = TokenizerConfig.model_validate({"extend": {"model": str(tmp_path), "num_tokens": 3}})
    summary = stage._extend(tcfg, tmp_path, sample, None, {}, progress=False)
    assert summary["heldout_bits_per_byte"] == "8.71→2.11"
    assert summary["fertility.ary_Arab"] == "4→2"
    assert extend_loss_line(report) == ("step-0 loss on 7 held-out texts: 8.707 → 2.105 bits per byte (base → "
                                        "extended); protected text changed: 0.00%")
    assert extend_loss_line({**report, "heldout": None, "protected_changed_share": None}) == (
        "no held-out text (--heldout): step-0 loss not measured")


def test_report_table_keeps_the_language_names_readable_with_many_tokenizers():
    from rich.console import Console

    from jazari_nlp.tokenization.evaluate import evaluate_tokenizers
    from jazari_nlp.tokenization.report import report_table

    texts = {"ary_Arab": {"1": "سلام عليكم"}, "zgh_Tfng": {"1": "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ"}, "eng_Latn": {"1": "hello there"}}
    report = evaluate_tokenizers(["peer:byt5"] * 8, texts, progress=False)
    console = Console(width=80, record=True)
    console.print(report_table(report))
    rows = console.export_text().splitlines()
    assert [lang for lang in texts if any(line.startswith(f"│ {lang} ") for line in rows)] == list(texts)
