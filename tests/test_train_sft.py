"""Chat SFT data (jazari_nlp.training.chat_data): rows validated with a reason per reject, labels on the
tokens of every assistant turn and nothing else (checked token by token, with and without {% generation %}
markers), truncation counted, clear errors for template-less tokenizers and unusable files. Conversations
written for these tests."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("datasets")

from pydantic import ValidationError  # noqa: E402

from jazari_nlp.errors import InputError  # noqa: E402
from jazari_nlp.tokenization.chat import CHATML  # noqa: E402
from jazari_nlp.training import chat_data  # noqa: E402
from jazari_nlp.training.chat_data import (  # noqa: E402
    IGNORE,
    SFTConfig,
    collate_sft,
    has_generation_markers,
    read_chat_rows,
    render_example,
    render_full,
    sft_dataset,
)

SAMPLE = Path(chat_data.__file__).resolve().parents[1] / "data" / "chat" / "darija_chat_sample.jsonl"
CARD = Path(__file__).resolve().parents[1] / "data_cards" / "chat_sample.md"

# ChatML without its {% generation %} markers: the labels must come out the same from rendered prefixes
CHATML_PLAIN = CHATML.replace("{% generation %}", "").replace("{% endgeneration %}", "")
# another marker-less template, whose end-of-turn token is the eos token and whose turns end with a newline
HEADERS = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}### Assistant:\n"
           "{{ m['content'] }}{{ eos_token }}\n{% elif m['role'] == 'user' %}### User:\n{{ m['content'] }}\n"
           "{% else %}{{ m['content'] }}\n\n{% endif %}{% endfor %}"
           "{% if add_generation_prompt %}### Assistant:\n{% endif %}")
# not prefix-stable: the generation prompt says "assistant", the rendered turn says "bot"
RENAMES = ("{% for m in messages %}<|im_start|>{{ 'bot' if m['role'] == 'assistant' else m['role'] }}\n"
           "{{ m['content'] }}<|im_end|>\n{% endfor %}"
           "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# not prefix-stable: only the last assistant turn is rendered in full (as templates that drop old reasoning)
DROPS = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
         "{% if m['role'] == 'assistant' and not loop.last %}...{% else %}{{ m['content'] }}{% endif %}"
         "<|im_end|>\n"
         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

CONVERSATION = [
    {"role": "system", "content": "Nta m3awen kayjawb b darija."},
    {"role": "user", "content": "salam, kidayr?"},
    {"role": "assistant", "content": "labas, l7amdulillah."},
    {"role": "user", "content": "chno smitek?"},
    {"role": "assistant", "content": "smiti Jazari, w nta?"},
    {"role": "user", "content": "ⵎⴰⵏ ⵉⵙⵎ ⵏⵏⴽ?"},
    {"role": "assistant", "content": "ⴰⵣⵓⵍ! ⵉⵙⵎ ⵉⵏⵓ ⵊⴰⵣⴰⵔⵉ."},
]


def _train_tok(folder: Path, chat_template: str | None):
    from transformers import AutoTokenizer

    from jazari_nlp.modeling.tiny import sample_lines
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    cfg = TokenizerConfig(vocab_size=400, min_frequency=2, chat_template=chat_template)
    train_tokenizer(cfg, sample_lines(), folder, progress=False)
    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sft") / "tok"
    _train_tok(folder, "chatml")
    return folder


def _tok(folder: Path, template: str | None = None):
    """A fresh copy of the tokenizer (tests change its template), with ``template`` when given."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if template is not None:
        tok.chat_template = template
    return tok


def _runs(labels: list[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of labelled positions."""
    runs, start = [], None
    for i, x in enumerate([*labels, IGNORE]):
        if x != IGNORE and start is None:
            start = i
        elif x == IGNORE and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _expected_chatml(tok, messages) -> tuple[list[int], list[int]]:
    """ChatML ids and labels built piece by piece, without chat_data: header, content + end, newline."""
    ids: list[int] = []
    labels: list[int] = []

    def add(text: str, trained: bool) -> None:
        piece = tok(text, add_special_tokens=False)["input_ids"]
        ids.extend(piece)
        labels.extend(piece if trained else [IGNORE] * len(piece))

    for m in messages:
        add(f"<|im_start|>{m['role']}\n", False)
        add(m["content"] + "<|im_end|>", m["role"] == "assistant")
        add("\n", False)
    return ids, labels


# ------------------------------------------------------------------------------------------------ labels


@pytest.mark.parametrize("template", ["chatml", "chatml_without_markers"])
def test_every_assistant_turn_labelled_token_by_token(tok_dir, template):
    tok = _tok(tok_dir, CHATML if template == "chatml" else CHATML_PLAIN)
    assert has_generation_markers(tok.chat_template) is (template == "chatml")
    ex = render_example(tok, CONVERSATION, max_length=4096)
    ids, labels = ex["input_ids"], ex["labels"]
    assert ex["attention_mask"] == [1] * len(ids)
    assert ids == tok.apply_chat_template(CONVERSATION, tokenize=True, return_dict=True)["input_ids"]

    want_ids, want_labels = _expected_chatml(tok, CONVERSATION)
    assert ids == want_ids  # the piece-by-piece tokenization is the template's
    for i, (token, got, want) in enumerate(zip(ids, labels, want_labels, strict=True)):
        assert got == want, f"token {i} {tok.decode([token])!r}: label {got}, expected {want}"

    spans = [tok.decode(ids[a:b]) for a, b in _runs(labels)]
    assistants = [m["content"] for m in CONVERSATION if m["role"] == "assistant"]
    assert spans == [c + "<|im_end|>" for c in assistants]  # three turns, the first two as well as the last
    for a, b in _runs(labels):
        assert tok.decode(ids[:a]).endswith("<|im_start|>assistant\n")  # the header is not trained on
        assert labels[a:b] == ids[a:b]
    unlabelled = tok.decode([t for t, x in zip(ids, labels, strict=True) if x == IGNORE])
    for m in CONVERSATION:
        if m["role"] != "assistant":
            assert m["content"] in unlabelled
    assert not any(m["content"] in "".join(spans) for m in CONVERSATION if m["role"] != "assistant")


def test_markers_and_prefixes_give_the_same_labels(tok_dir):
    marked, plain = _tok(tok_dir, CHATML), _tok(tok_dir, CHATML_PLAIN)
    rows, _ = read_chat_rows([SAMPLE])
    for row in [*rows, {"messages": CONVERSATION}]:
        assert render_full(marked, row["messages"]) == render_full(plain, row["messages"])


def test_prefix_method_finds_the_eos_end_token(tok_dir):
    tok = _tok(tok_dir, HEADERS)
    ex = render_example(tok, CONVERSATION, max_length=4096)
    ids, labels = ex["input_ids"], ex["labels"]
    assert ids[0] == tok.bos_token_id and labels[0] == IGNORE
    spans = [tok.decode(ids[a:b]) for a, b in _runs(labels)]
    assert spans == [m["content"] + "</s>" for m in CONVERSATION if m["role"] == "assistant"]
    for _, b in _runs(labels):
        assert tok.decode(ids[b:b + 1]) == "\n"  # the newline after the end token is scaffolding


@pytest.mark.parametrize("template, where", [(RENAMES, "with add_generation_prompt=True is not a prefix"),
                                             (DROPS, "is not a prefix of the whole conversation")])
def test_template_not_prefix_stable_is_an_error(tok_dir, template, where):
    tok = _tok(tok_dir, template)
    with pytest.raises(InputError) as e:
        render_example(tok, CONVERSATION, max_length=4096)
    msg = str(e.value)
    assert msg.startswith("tokenizer.chat_template: the chat template is not prefix-stable")
    assert where in msg and "turn 2" in msg and "{% generation %}" in msg and "chat_template: chatml" in msg


def test_template_less_tokenizer_is_an_error(tmp_path):
    tok = _train_tok(tmp_path / "plain", None)
    assert tok.chat_template is None
    for call in (lambda: render_example(tok, CONVERSATION, max_length=64),
                 lambda: sft_dataset([{"messages": CONVERSATION}], tok, 64)):
        with pytest.raises(InputError) as e:
            call()
        msg = str(e.value)
        assert msg.startswith("tokenizer.chat_template: the tokenizer has no chat template")
        assert "`chat_template: chatml` in the tokenizer section" in msg and "set_chat_template" in msg


def test_template_refusing_a_conversation_is_a_counted_skip(tok_dir):
    tok = _tok(tok_dir, "{% if messages | length > 3 %}{{ raise_exception('too many turns') }}{% endif %}"
               + CHATML_PLAIN)
    short = {"messages": CONVERSATION[1:3]}
    ds, stats = sft_dataset([short, {"messages": CONVERSATION}, short], tok, 256)
    assert (stats["rows"], stats["kept"], stats["skipped"]) == (3, 2, {"template_error": 1})
    assert len(ds) == 2
    with pytest.raises(InputError, match=r"none of the 1 conversations .*template_error: 1.*too many turns"):
        sft_dataset([{"messages": CONVERSATION}], tok, 256)


# ------------------------------------------------------------------------------------------------ rows


def _write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                            for x in lines), encoding="utf-8")
    return path


def _m(*pairs) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


BAD_ROWS = [
    (_m(("user", "salam"), ("assistant", "wa 3alikom salam")), None),
    (_m(("user", "salam"), ("user", "kidayr?")), "no_assistant_turn"),
    (_m(("user", "salam"), ("bot", "ahlan")), "unknown_role"),
    ({"messages": [{"content": "salam"}, {"role": "assistant", "content": "ahlan"}]}, "unknown_role"),
    (_m(("user", "salam"), ("user", "kidayr?"), ("assistant", "labas")), "roles_out_of_order"),
    (_m(("assistant", "ahlan"), ("user", "salam"), ("assistant", "labas")), "roles_out_of_order"),
    (_m(("user", "salam"), ("system", "jawb b darija"), ("assistant", "labas")), "roles_out_of_order"),
    (_m(("user", "salam"), ("assistant", "labas"), ("assistant", "w nta?")), "roles_out_of_order"),
    (_m(("user", "   "), ("assistant", "labas")), "empty_content"),
    (_m(("user", ["salam"]), ("assistant", "labas")), "content_not_a_string"),
    ({"messages": [{"role": "user"}, {"role": "assistant", "content": "labas"}]}, "content_not_a_string"),
    ({"messages": ["salam", {"role": "assistant", "content": "labas"}]}, "message_not_an_object"),
    ({"messages": "salam"}, "no_messages"),
    ({"text": "salam"}, "no_messages"),
    ('{"messages": [{"role": "user"', "malformed_json"),
    ("[1, 2]", "not_a_json_object"),
    (_m(("system", "jawb b darija"), ("user", "salam"), ("assistant", "labas"), ("user", "chokran")), None),
]


def test_each_bad_row_is_a_reported_reject(tmp_path, caplog):
    data = _write_jsonl(tmp_path / "chat.jsonl", [row for row, _ in BAD_ROWS])
    rejects_file = tmp_path / "out" / "rejects.jsonl"
    with caplog.at_level(logging.WARNING, logger="jazari_nlp.train"):
        rows, rejects = read_chat_rows([data], rejects_path=rejects_file)
    want = [(n, reason) for n, (_, reason) in enumerate(BAD_ROWS, 1) if reason]
    assert [(r["line"], r["reason"]) for r in rejects] == want
    assert [r["line"] for r in rows] == [n for n, (_, reason) in enumerate(BAD_ROWS, 1) if not reason]
    assert rows[1]["messages"][0] == {"role": "system", "content": "jawb b darija"}
    assert all(r["file"] == str(data) and r["detail"] for r in rejects if r["reason"] in chat_data.REASONS)
    written = [json.loads(x) for x in rejects_file.read_text(encoding="utf-8").splitlines()]
    assert [(w["line"], w["reason"]) for w in written] == want
    assert written[1]["row"] == BAD_ROWS[2][0]  # the row as read, to fix it
    assert f"chat data: {len(want)} of {len(BAD_ROWS)} rows not usable (4 roles_out_of_order" in caplog.text
    assert str(rejects_file) in caplog.text


def test_prompt_response_pairs(tmp_path):
    data = _write_jsonl(tmp_path / "pairs.jsonl", [
        {"question": "chno howa atay?", "answer": "atay howa chrab dyal nna3na3 w chay."},
        {"question": "salam"},  # no answer
        {"question": "", "answer": "labas"},
        {"question": 3, "answer": "labas"},
    ])
    rows, rejects = read_chat_rows([data], prompt_field="question", response_field="answer",
                                   system="Jawb b darija.")
    assert rows[0]["messages"] == [{"role": "system", "content": "Jawb b darija."},
                                   {"role": "user", "content": "chno howa atay?"},
                                   {"role": "assistant", "content": "atay howa chrab dyal nna3na3 w chay."}]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (2, "no_assistant_turn"), (3, "empty_content"), (4, "content_not_a_string")]
    rows, _ = read_chat_rows([data], prompt_field="question", response_field="answer")
    assert [m["role"] for m in rows[0]["messages"]] == ["user", "assistant"]

    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("prompt\tresponse\nkidayr?\tlabas\n", encoding="utf-8")
    rows, rejects = read_chat_rows([tsv])
    assert rows[0]["messages"] == [{"role": "user", "content": "kidayr?"},
                                   {"role": "assistant", "content": "labas"}] and rejects == []


def test_parquet_and_saved_datasets_read_like_jsonl(tmp_path):
    import datasets

    good = [_m(("user", "salam"), ("assistant", "ahlan")),
            _m(("system", "jawb b tamazight"), ("user", "ⴰⵣⵓⵍ"), ("assistant", "ⴰⵣⵓⵍ! ⵎⴰⵏⵥⴰⴽ?"))]
    bad = _m(("user", "salam"), ("user", "ahlan"))
    ds = datasets.Dataset.from_list([*good, bad])
    ds.to_parquet(str(tmp_path / "chat.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    for source in (tmp_path / "chat.parquet", tmp_path / "saved"):
        rows, rejects = read_chat_rows([source])
        assert [r["messages"] for r in rows] == [g["messages"] for g in good]
        assert [(r["line"], r["reason"]) for r in rejects] == [(3, "no_assistant_turn")]


def test_every_row_rejected_is_an_error(tmp_path):
    data = _write_jsonl(tmp_path / "bad.jsonl", [_m(("user", "a")), _m(("user", "b")),
                                                 _m(("user", "c"), ("robot", "d"))])
    with pytest.raises(InputError) as e:
        read_chat_rows([data], rejects_path=tmp_path / "rejects.jsonl")
    msg = str(e.value)
    assert msg.startswith(f"chat data: no usable conversation in {data}: every row was rejected "
                          "(no_assistant_turn: 2, unknown_role: 1)")
    assert "rejects written to" in msg and len((tmp_path / "rejects.jsonl").read_text().splitlines()) == 3
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.jsonl holds no rows"):
        read_chat_rows([empty])
    with pytest.raises(InputError, match=r"no file matches .*missing\*\.jsonl"):
        read_chat_rows([str(tmp_path / "missing*.jsonl")])


# ------------------------------------------------------------------------------------------------ data sets


def test_truncation_is_counted_and_cut_rows_skipped(tok_dir):
    tok = _tok(tok_dir)
    short = _m(("user", "salam"), ("assistant", "ahlan"))
    cut = {"messages": CONVERSATION}
    late = _m(("user", "salam " * 30), ("assistant", "ahlan"))  # its assistant turn starts late
    full = {k: render_full(tok, r["messages"]) for k, r in (("short", short), ("cut", cut), ("late", late))}
    limit = _runs(full["late"][1])[0][0]  # every assistant token of `late` lies beyond it
    assert len(full["short"][0]) <= limit < len(full["cut"][0]) and _runs(full["cut"][1])[0][1] <= limit

    ex = render_example(tok, cut["messages"], max_length=limit)
    assert len(ex["input_ids"]) == len(ex["labels"]) == len(ex["attention_mask"]) == limit
    ds, stats = sft_dataset([short, cut, late], tok, limit)
    kept = [full["short"], (full["cut"][0][:limit], full["cut"][1][:limit])]
    assert stats == {"rows": 3, "kept": 2, "skipped": {"assistant_truncated": 1}, "truncated": 2,
                     "assistant_tokens": sum(sum(x != IGNORE for x in lab) for _, lab in kept),
                     "total_tokens": sum(len(ids) for ids, _ in kept), "max_length": limit}
    assert [(r["input_ids"], r["labels"]) for r in ds] == [(list(i), list(la)) for i, la in kept]
    assert ds.column_names == ["input_ids", "labels", "attention_mask"]
    with pytest.raises(InputError, match=r"assistant_truncated: 1\); raise `train.sft.max_length`"):
        sft_dataset([late], tok, limit)


def test_cached_rendering_is_read_back(tok_dir, tmp_path, monkeypatch):
    tok = _tok(tok_dir)
    rows = [{"messages": CONVERSATION}, _m(("user", "salam"), ("assistant", "ahlan"))]
    first, stats = sft_dataset(rows, tok, 256, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("sft-*.arrow"))) == 1

    def fail(*_a, **_k):
        raise AssertionError("rendered again instead of read from the cache")

    monkeypatch.setattr(chat_data, "render_full", fail)
    again, stats2 = sft_dataset(rows, tok, 256, cache_dir=tmp_path / "cache")
    assert list(again) == list(first) and stats2 == stats
    with pytest.raises(AssertionError, match="rendered again"):  # another max_length is another cache
        sft_dataset(rows, tok, 128, cache_dir=tmp_path / "cache")


def test_collate_pads_right_and_padding_does_not_change_the_loss(tok_dir):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _tok(tok_dir)
    a = render_example(tok, CONVERSATION, max_length=512)
    b = render_example(tok, CONVERSATION[1:3], max_length=512)
    batch = collate_sft([a, b], tok.pad_token_id)
    n, width = len(b["input_ids"]), len(a["input_ids"])
    assert batch["input_ids"].shape == (2, width)
    assert batch["input_ids"][1, :n].tolist() == b["input_ids"]
    assert batch["input_ids"][1, n:].tolist() == [tok.pad_token_id] * (width - n)
    assert batch["labels"][1, n:].tolist() == [IGNORE] * (width - n)
    assert batch["attention_mask"][1].tolist() == [1] * n + [0] * (width - n)

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         max_position_embeddings=512, pad_token_id=tok.pad_token_id)).eval()
    with torch.no_grad():
        padded = model(**batch).loss
        sums = []
        for x in (a, b):  # each row alone, unpadded: the token-weighted mean is the padded batch's loss
            one = collate_sft([x], tok.pad_token_id)
            count = int((one["labels"][0, 1:] != IGNORE).sum())
            sums.append((model(**one).loss * count, count))
    assert padded.item() == pytest.approx(sum(s for s, _ in sums).item() / sum(c for _, c in sums), rel=1e-5)
    with pytest.raises(InputError, match="no pad token id"):
        collate_sft([a], None)


def test_sft_config_keys(tmp_path):
    cfg = SFTConfig.model_validate({"messages_field": "conversation", "rejects": "out/rejects.jsonl"},
                                   context={"base_dir": tmp_path})
    assert cfg.rejects == tmp_path / "out" / "rejects.jsonl" and cfg.max_length == 1024
    assert (cfg.prompt_field, cfg.response_field, cfg.system_prompt) == ("prompt", "response", None)
    with pytest.raises(ValidationError, match="max_lenght"):
        SFTConfig.model_validate({"max_lenght": 10})
    with pytest.raises(ValidationError, match="greater than or equal to 8"):
        SFTConfig(max_length=4)


# ------------------------------------------------------------------------------------------------ sample


def test_bundled_sample_reads_without_rejects_and_labels_every_turn(tok_dir):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    rows, rejects = read_chat_rows([SAMPLE])
    assert rejects == [] and len(rows) == len(lines)
    tok = _tok(tok_dir)
    ds, stats = sft_dataset(rows, tok, 4096)
    assert (stats["kept"], stats["skipped"], stats["truncated"]) == (len(rows), {}, 0)
    for row, ex in zip(rows, ds, strict=True):
        assistants = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        spans = [tok.decode(ex["input_ids"][a:b]) for a, b in _runs(ex["labels"])]
        assert spans == [c + "<|im_end|>" for c in assistants], row["line"]
    scripts = "".join(m["content"] for r in rows for m in r["messages"])
    assert any("\u2d30" <= ch <= "\u2d7f" for ch in scripts)  # Tifinagh
    assert any("\u0600" <= ch <= "\u06ff" for ch in scripts)  # Arabic script
    card = CARD.read_text(encoding="utf-8")
    assert "license: cc0-1.0" in card and f"{len(rows)} conversations" in card
