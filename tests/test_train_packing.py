"""Streamed tokenization cached on disk, packing without cross-document attention, weighted mixing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.training.mixing import MixConfig, mix_datasets, mix_weights, plan_mix
from jazari_nlp.training.packing import (
    PackingConfig,
    collate_packed,
    count_tokens,
    enable_packed_attention,
    pack_blocks,
    pack_stats,
    tokenize_documents,
)

# Text written for these tests (Darija in Arabic script and Arabizi, Tamazight in Tifinagh, French).
TEXTS = [
    "السلام عليكم، كيداير لباس؟",
    "salam 3likom, labas 3lik?",
    "",
    "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵎⴰⵏⵉⴽ ⴰⵏⵏ ⵜⵍⵍⵉⵎ",
    "Bonjour, on se voit demain au marché.",
    "غادي نمشي للسوق غدا مع صحابي",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from jazari_nlp.modeling.tiny import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny"), vocab_size=300, train_steps=0)


@pytest.fixture(scope="module")
def tok(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)


def _docs(rows):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [np.asarray(r, np.int32) for r in rows]})


def _mtimes(ds):
    return {f["filename"]: os.stat(f["filename"]).st_mtime_ns for f in ds.cache_files}


# ------------------------------------------------------------------------------------------------ tokenizing


def test_tokenize_one_row_per_document_with_eos_cached_on_disk(tok, tmp_path):
    docs = tokenize_documents((t for t in TEXTS), tok, tmp_path)  # a generator: read once
    kept = [t for t in TEXTS if t.strip()]
    assert len(docs) == 5  # the empty document gives no row
    eos = [tok.eos_token_id]
    # each document starts with EOS, as evaluation scores it (its first word is predicted after EOS), and ends with it
    assert docs["input_ids"] == [eos + tok(t, add_special_tokens=False)["input_ids"] + eos for t in kept]
    assert docs.features["input_ids"].feature.dtype == "int32"
    assert count_tokens(docs) == sum(len(r) for r in docs["input_ids"])
    files = _mtimes(docs)
    assert all(Path(f).parent == tmp_path for f in files)

    again = tokenize_documents(list(TEXTS), tok, tmp_path)  # same texts, same tokenizer: the same file, untouched
    assert _mtimes(again) == files
    changed = tokenize_documents(TEXTS[:-1], tok, tmp_path)
    assert set(_mtimes(changed)) != set(files) and len(changed) == 4
    no_eos = tokenize_documents(TEXTS, tok, tmp_path, add_eos=False)
    assert no_eos[0]["input_ids"] == docs[0]["input_ids"][1:-1]
    no_lead = tokenize_documents(TEXTS, tok, tmp_path, lead_eos=False)
    assert no_lead[0]["input_ids"] == docs[0]["input_ids"][1:]


def test_the_first_word_of_every_document_is_trained_after_eos(tok, tmp_path):
    """Evaluation scores a document's first token after EOS; training must learn exactly that (only the leading
    EOS itself, which would be predicted from the previous document, is masked)."""
    docs = tokenize_documents(TEXTS, tok, tmp_path)
    blocks = pack_blocks(docs, 16, tmp_path)
    eos = tok.eos_token_id
    starts = 0
    for b in blocks:
        ids, pos, labels = b["input_ids"], b["position_ids"], b["labels"]
        for i in range(1, len(ids) - 1):
            if pos[i] == 0 and pos[i - 1] != -1 and ids[i] == eos and pos[i + 1] == 1:  # a document starts here
                starts += 1
                assert labels[i] == -100 and labels[i + 1] == ids[i + 1] != eos
    assert starts >= 3


def test_tokenizer_change_is_a_new_cache(tiny, tmp_path):
    from transformers import AutoTokenizer

    t1 = AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)
    t2 = AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)
    a = tokenize_documents(TEXTS, t1, tmp_path)
    assert _mtimes(tokenize_documents(TEXTS, t2, tmp_path)) == _mtimes(a)  # loaded twice: same files
    t2.add_tokens(["كيداير"])
    b = tokenize_documents(TEXTS, t2, tmp_path)
    assert set(_mtimes(b)).isdisjoint(_mtimes(a))
    assert len(b[0]["input_ids"]) < len(a[0]["input_ids"])


def test_tokenize_in_two_processes_matches_one(tok, tmp_path):
    from datasets import Dataset

    ds = Dataset.from_dict({"body": TEXTS * 40, "lang": ["x"] * len(TEXTS) * 40})
    one = tokenize_documents(ds, tok, tmp_path / "a", text_field="body")
    two = tokenize_documents(ds, tok, tmp_path / "b", text_field="body", num_proc=2)
    assert len(two.cache_files) == 2 and len(two) == 200
    assert two["input_ids"] == one["input_ids"]
    assert two.column_names == ["input_ids"]
    files = _mtimes(two)
    assert _mtimes(tokenize_documents(ds, tok, tmp_path / "b", text_field="body", num_proc=2)) == files


def test_tokenize_bad_input_is_a_clear_error(tok, tmp_path):
    from datasets import Dataset

    with pytest.raises(InputError, match=r"no column 'text' \(columns: body\): set text_field"):
        tokenize_documents(Dataset.from_dict({"body": ["a"]}), tok, tmp_path)
    with pytest.raises(InputError, match=r"row 1 of the data set: 'text' is NoneType, not text"):
        tokenize_documents(Dataset.from_dict({"text": ["azul", None]}), tok, tmp_path)
    with pytest.raises(InputError, match=r"text 1 is int, not a string"):
        tokenize_documents(["azul", 3], tok, tmp_path)
    assert not list(tmp_path.glob(".texts-*"))  # no half-written file left behind


# ------------------------------------------------------------------------------------------------ packing


def _reference(rows, block):
    """Packing written the slow, obvious way: one token at a time."""
    ids, pos, labels = [], [], []
    for r in rows:
        for j, t in enumerate(r):
            i = len(ids)
            ids.append(t)
            restart = j == 0 or i % block == 0
            pos.append(0 if restart else pos[-1] + 1)
            labels.append(-100 if j == 0 and i % block else t)
    n = len(ids) // block * block
    cut = lambda x: [x[k:k + block] for k in range(0, n, block)]  # noqa: E731
    return cut(ids), cut(pos), cut(labels), len(ids) - n


def test_pack_small_blocks_exactly(tmp_path):
    blocks = pack_blocks(_docs([[5, 6, 2], [7, 2], [8, 9, 2], [4, 4, 4, 4, 4, 2]]), 4, tmp_path)
    assert blocks["input_ids"] == [[5, 6, 2, 7], [2, 8, 9, 2], [4, 4, 4, 4]]
    assert blocks["position_ids"] == [[0, 1, 2, 0], [0, 0, 1, 2], [0, 1, 2, 3]]
    assert blocks["labels"] == [[5, 6, 2, -100], [2, -100, 9, 2], [4, 4, 4, 4]]
    assert pack_stats(blocks) == {"block_size": 4, "documents": 4, "tokens": 14, "blocks": 3,
                                  "dropped_tail_tokens": 2}


def test_pack_matches_reference_across_arrow_batches(tmp_path):
    rng = np.random.default_rng(0)
    rows = [list(rng.integers(3, 300, int(n))) + [2] for n in rng.integers(0, 40, 300)]
    rows[10] = list(range(3, 200))  # longer than two blocks
    ids, pos, labels, tail = _reference(rows, 16)
    for per_batch in (7, 1000):
        blocks = pack_blocks(_docs(rows), 16, tmp_path / str(per_batch), docs_per_batch=per_batch)
        assert blocks["input_ids"] == ids
        assert blocks["position_ids"] == pos
        assert blocks["labels"] == labels
        assert pack_stats(blocks)["dropped_tail_tokens"] == tail
    masked = sum(x == -100 for b in labels for x in b)
    starts_inside = sum(1 for k in np.cumsum([0] + [len(r) for r in rows[:-1]]) if k % 16 and k < len(ids) * 16)
    assert masked == starts_inside


def test_one_long_document_packs_like_many_short_ones(tmp_path):
    block = 1024
    one = pack_blocks(_docs([np.arange(1_000_000) % 297 + 3]), block, tmp_path)
    many = pack_blocks(_docs([np.arange(1000) % 297 + 3] * 1000), block, tmp_path)
    for b in (one, many):
        assert pack_stats(b)["tokens"] == 1_000_000
        assert len(b) == 976 and pack_stats(b)["dropped_tail_tokens"] == 576
    pos = np.asarray(one.with_format("numpy")["position_ids"])
    assert (pos == np.arange(block)).all()  # the long document restarts at 0 in every block
    assert not (np.asarray(one.with_format("numpy")["labels"]) == -100).any()
    labels = np.asarray(many.with_format("numpy")["labels"])
    # every document start is masked except those on a block boundary (k·1000 % 1024 == 0: k = 0, 128, 256, ...)
    assert int((labels == -100).sum()) == sum(1 for k in range(1000) if (k * 1000) % block and k * 1000 < 976 * 1024)


def test_pack_cache_and_too_little_text(tmp_path):
    docs = _docs([[5, 6, 2]] * 10)
    a = pack_blocks(docs, 8, tmp_path)
    assert _mtimes(pack_blocks(docs, 8, tmp_path)) == _mtimes(a)
    assert set(_mtimes(pack_blocks(docs, 4, tmp_path))).isdisjoint(_mtimes(a))
    with pytest.raises(InputError, match=r"one training block of 64 tokens \(30 tokens in 10 documents\)"):
        pack_blocks(docs, 64, tmp_path)
    assert not list(tmp_path.glob(".blocks-*"))


# ------------------------------------------------------------------------------------------------ isolation


def _model(tiny, impl="sdpa"):
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True, attn_implementation=impl)
    return m.eval()


def _one_block(tok, tmp_path):
    texts = [TEXTS[0], TEXTS[3], TEXTS[4]]
    docs = tokenize_documents(texts, tok, tmp_path)
    lens = [len(r) for r in docs["input_ids"]]
    blocks = pack_blocks(docs, sum(lens), tmp_path)  # exactly one block holding the three documents
    return docs, blocks, lens


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_packed_document_sees_only_itself(tiny, tok, tmp_path, impl):
    import torch

    docs, blocks, lens = _one_block(tok, tmp_path)
    batch = collate_packed([blocks[0]])
    assert set(batch) == {"input_ids", "position_ids", "labels"} and batch["input_ids"].dtype == torch.int64
    model = _model(tiny, impl)
    b0, b1 = lens[0], lens[0] + lens[1]
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([docs[1]["input_ids"]])).logits[0]
        model.config.use_cache = False
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0, b0:b1]
        no_positions = model(input_ids=batch["input_ids"]).logits[0, b0:b1]
        model.config.use_cache = True  # the config default: a KV cache is built, the packed mask is skipped
        with_cache = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0, b0:b1]
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=0)
    assert (no_positions - alone).abs().max() > 1e-3
    assert (with_cache - alone).abs().max() > 1e-3


def test_packed_loss_is_the_loss_of_the_documents_alone(tiny, tok, tmp_path):
    import torch

    docs, blocks, lens = _one_block(tok, tmp_path)
    model = enable_packed_attention(_model(tiny))
    batch = collate_packed([blocks[0]])
    with torch.no_grad():
        packed = model(**batch).loss
        total = sum(model(input_ids=torch.tensor([r]), labels=torch.tensor([r])).loss * (len(r) - 1)
                    for r in docs["input_ids"])
    # the first token of a document is never predicted from the EOS of the one before it
    torch.testing.assert_close(packed, total / (sum(lens) - len(lens)), atol=1e-5, rtol=0)


def test_enable_packed_attention_catches_a_leaking_model(tiny, monkeypatch):
    import transformers.masking_utils as mu

    model = _model(tiny)
    assert enable_packed_attention(model) is model and model.config.use_cache is False
    monkeypatch.setattr(mu, "find_packed_sequence_indices", lambda position_ids: None)  # as if not honoured
    with pytest.raises(InputError, match=r"LlamaForCausalLM model \(attention 'sdpa'\) lets packed documents "
                                         r"attend to each other"):
        enable_packed_attention(model)


def test_trainer_feeds_position_ids_without_cache(tiny, tok, tmp_path):
    from transformers import Trainer, TrainingArguments

    _, blocks, _ = _one_block(tok, tmp_path)
    model = _model(tiny)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), per_device_train_batch_size=1, report_to=[],
                             use_cpu=True, max_steps=1)
    trainer = Trainer(model=model, args=args, train_dataset=blocks, data_collator=collate_packed)
    batch = next(iter(trainer.get_train_dataloader()))
    assert set(batch) == {"input_ids", "position_ids", "labels"}
    assert model.config.use_cache is False  # Trainer turns the cache off: the packed mask is built


# ------------------------------------------------------------------------------------------------ mixing


def test_mix_weights_formula():
    sizes = {"a": 900, "b": 100}
    assert mix_weights(sizes, None, 1.0) == pytest.approx({"a": 0.9, "b": 0.1})
    assert mix_weights(sizes, None, 0.5) == pytest.approx({"a": 0.75, "b": 0.25})
    assert mix_weights(sizes, None, 0.0) == pytest.approx({"a": 0.5, "b": 0.5})
    assert mix_weights(sizes, {"b": 9.0}, 1.0) == pytest.approx({"a": 0.5, "b": 0.5})
    assert mix_weights({**sizes, "c": 0}, {"b": 0.0}, 0.0) == {"a": 1.0, "b": 0.0, "c": 0.0}
    with pytest.raises(InputError, match=r"train.packing.mix.weights.zgh: no source is named 'zgh' "
                                         r"\(sources: a, b\)"):
        mix_weights(sizes, {"zgh": 1.0}, 1.0)
    with pytest.raises(InputError, match=r"weights.a: weight -1.0 is negative"):
        mix_weights(sizes, {"a": -1.0}, 1.0)
    assert plan_mix({"a": 10, "b": 1000}, {"a": 0.5, "b": 0.5}, 100, 2.0) == {"a": 20, "b": 80}


def _source(sid, n_docs, length=10):
    return _docs([[sid, i % 250 + 3] + [sid] * (length - 2) for i in range(n_docs)])


def test_mix_draws_the_shares_of_the_budget(tmp_path):
    sources = {"ary": _source(1001, 1000), "zgh": _source(1002, 100), "kab": _source(1003, 20)}
    mixed, report = mix_datasets(sources, None, 0.5, 3000, seed=0)
    roots = np.sqrt([10_000, 1000, 200])
    expected = dict(zip(sources, roots / roots.sum() * 3000, strict=True))
    first = np.asarray([r[0] for r in mixed["input_ids"]])
    for sid, name in ((1001, "ary"), (1002, "zgh"), (1003, "kab")):
        r = report["sources"][name]
        assert abs(r["target_tokens"] - expected[name]) <= 1
        assert 0 <= r["drawn_tokens"] - r["target_tokens"] < 10  # stops at the document that reaches it
        assert int((first == sid).sum()) * 10 == r["drawn_tokens"] == r["drawn_documents"] * 10
    kab = report["sources"]["kab"]
    assert kab["repeat"] == pytest.approx(kab["drawn_tokens"] / 200) and kab["repeat"] > 1  # 291 of 200 tokens
    assert report["drawn_tokens"] == sum(r["drawn_tokens"] for r in report["sources"].values())
    # sources are interleaved, and the same seed draws the same documents in the same order
    assert len(set(first[:30].tolist())) > 1
    assert mix_datasets(sources, None, 0.5, 3000, seed=0)[0]["input_ids"] == mixed["input_ids"]
    assert mix_datasets(sources, None, 0.5, 3000, seed=1)[0]["input_ids"] != mixed["input_ids"]
    # packing the mix (a lazy index over the sources) is packing its rows
    assert pack_blocks(mixed, 64, tmp_path)["input_ids"] == pack_blocks(mixed.flatten_indices(), 64,
                                                                         tmp_path / "f")["input_ids"]


def test_mix_caps_repetition_and_gives_the_rest_to_the_others():
    sources = {"ary": _source(1001, 1000), "zgh": _source(1002, 100), "kab": _source(1003, 20)}
    _, report = mix_datasets(sources, {"kab": 5.0}, 0.0, 30_000, seed=3, max_repeat=4.0)
    got = {s: r["target_tokens"] for s, r in report["sources"].items()}
    assert got == {"ary": 30_000 - 4000 - 800, "zgh": 4000, "kab": 800}
    kab = report["sources"]["kab"]
    assert kab["drawn_tokens"] == 800 and kab["repeat"] == 4.0 and kab["drawn_documents"] == 80


def test_packing_config_keys():
    cfg = PackingConfig.model_validate({"block_size": 256, "num_proc": 2,
                                        "mix": {"weights": {"zgh_Tfng": 2.0}, "alpha": 0.3, "token_budget": 10**6}})
    assert cfg.mix == MixConfig(weights={"zgh_Tfng": 2.0}, alpha=0.3, token_budget=10**6)
    assert PackingConfig().mix.max_repeat == 4.0 and PackingConfig().cache_dir is None
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="temperature"):
        PackingConfig.model_validate({"mix": {"temperature": 2}})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        PackingConfig.model_validate({"mix": {"alpha": 2}})


# ------------------------------------------------------------------------------------------------ real text


def test_real_long_document_and_its_lines_pack_the_same_tokens(tok, tmp_path, shared_data):
    """A Kabyle Wikipedia dump as one long document and as one document per line."""
    text = (shared_data / "kabyle_cc0" / "wiki_00.txt").read_text(encoding="utf-8")[:300_000]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    whole = tokenize_documents([text], tok, tmp_path)
    per_line = tokenize_documents(lines, tok, tmp_path, num_proc=2)
    assert len(whole) == 1 and len(per_line) == len(lines)
    blocks = pack_blocks(whole, 512, tmp_path)
    stats = pack_stats(blocks)
    assert stats["tokens"] == count_tokens(whole) == stats["blocks"] * 512 + stats["dropped_tail_tokens"]
    assert (np.asarray(blocks.with_format("numpy")["position_ids"]) == np.arange(512)).all()
    lines_stats = pack_stats(pack_blocks(per_line, 512, tmp_path))
    assert lines_stats["documents"] == len(lines) and lines_stats["tokens"] == count_tokens(per_line)
