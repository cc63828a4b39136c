"""No silent data loss (issue #7): one reader for every format, fields checked before work, provenance kept,
per-source accounting and loss alarms, decontamination and language id that fail loudly.

Fixtures are written here from the project's own sample sentences (jazari_nlp/data/samples), in the five
shapes a researcher brings: a CSV of tweets (`tweet` column), a folder of .txt files, a JSONL with `content`, a
TSV of news sentences with a header, a CSV of sentence pairs (`darija` column).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.corpus import corpus_files
from jazari_nlp.corpus.build import CorpusBuildError, CorpusLossError, build_corpus, estimate_documents
from jazari_nlp.corpus.config import CorpusConfig
from jazari_nlp.readers import ReadOptions, iter_items, iter_texts

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"
LIGHT = ["repair", "normalize", "exact_dedup"]


def sample(lang: str) -> list[str]:
    return [ln.strip() for ln in (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]


def five_shapes(tmp: Path) -> dict[str, Path]:
    """The five shapes of the issue, written from the samples. Returns name -> path."""
    tweets = tmp / "tweets.csv"
    with tweets.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tweet", "label"])
        for i, t in enumerate(sample("ary_Latn")[:120]):
            w.writerow([t, ("positive", "negative", "neutral")[i % 3]])
    kab = tmp / "kabyle"
    (kab / "sub").mkdir(parents=True)
    lines = sample("tzm_Latn")
    (kab / "a.txt").write_text("\n".join(lines[:60]) + "\n", encoding="utf-8")
    (kab / "sub" / "b.txt").write_text("\n".join(lines[60:120]) + "\n", encoding="utf-8")
    content = tmp / "posts.jsonl"
    content.write_text("".join(json.dumps({"id": f"post-{i}", "content": t, "topic": "news" if i % 2 else "sport"},
                                          ensure_ascii=False) + "\n" for i, t in enumerate(sample("ary_Arab")[:100])),
                       encoding="utf-8")
    news = tmp / "news.tsv"
    news.write_text("id\tsentence\ttopic\n" + "".join(f"n{i}\t{t}\tpolitics\n" for i, t in enumerate(sample("arb_Arab")[:80])),
                    encoding="utf-8")
    pairs = tmp / "pairs.csv"
    with pairs.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["english", "darija"])
        for fr, ary in zip(sample("fra_Latn")[:90], sample("ary_Latn")[120:210], strict=False):
            w.writerow([fr, ary])
    return {"tweets": tweets, "kabyle": kab, "posts": content, "news": news, "pairs": pairs}


def cfg(tmp: Path, sources: list[dict], steps=LIGHT, **kw) -> CorpusConfig:
    return CorpusConfig.model_validate({"sources": sources, "steps": steps, "executor": {"tasks": 1}, **kw},
                                       context={"base_dir": tmp})


def rows(out: Path) -> list[dict]:
    got = []
    for split in ("train", "heldout"):
        for f in corpus_files(out, split):
            got += pq.read_table(f).to_pylist()
    return got


def shape_sources(paths: dict[str, Path]) -> list[dict]:
    return [
        {"name": "tweets", "paths": [str(paths["tweets"])], "text_field": "tweet", "keep_fields": ["label"],
         "kind": "social"},
        {"name": "kabyle", "paths": [str(paths["kabyle"])], "kind": "sentences"},
        {"name": "posts", "paths": [str(paths["posts"])], "text_field": "content", "keep_fields": ["topic"]},
        {"name": "news", "paths": [str(paths["news"])], "text_field": "sentence", "kind": "news"},
        {"name": "pairs", "paths": [str(paths["pairs"])], "text_field": "darija", "kind": "sentences"},
    ]


# ------------------------------------------------------------------------------------------------ the five shapes


def test_five_shapes_read_right_ids_and_fields_kept(tmp_path):
    paths = five_shapes(tmp_path)
    out = tmp_path / "out"
    build_corpus(cfg(tmp_path, shape_sources(paths)), out, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    by = m["by_source"]
    assert {k: v["read"] for k, v in by.items()} == {"tweets": 120, "kabyle": 120, "posts": 100, "news": 80,
                                                     "pairs": 90}
    assert all(v["accounting_ok"] for v in by.values()) and m["accounting_ok"]
    assert sum(v["kept"] for v in by.values()) == m["documents_kept"]
    got = rows(out)
    texts = {r["text"] for r in got}
    assert "tweet" not in texts and "sentence" not in texts and "darija" not in texts  # no header read as text
    assert not any("\tpolitics" in t or t.endswith(",positive") for t in texts)  # columns not merged
    post = next(r for r in got if r["source"] == "posts" and r["id"] == "post-3")  # the input's own id
    assert post["topic"] == "news" and post["file"] == str(paths["posts"]) and post["line"] == 4
    news = next(r for r in got if r["source"] == "news" and r["id"] == "n0")
    assert news["line"] == 2 and news["text"] == sample("arb_Arab")[0]  # line 1 is the header
    tweet = next(r for r in got if r["source"] == "tweets" and r["line"] == 2)
    assert tweet["label"] == "positive" and tweet["id"].startswith("tweets/tweets.csv:")
    assert {r["file"] for r in got if r["source"] == "kabyle"} == {str(paths["kabyle"] / "a.txt"),
                                                                   str(paths["kabyle"] / "sub" / "b.txt")}


def test_wrong_field_fails_before_work_naming_the_source(tmp_path):
    paths = five_shapes(tmp_path)
    bad = shape_sources(paths)
    bad[0]["text_field"] = "text"
    with pytest.raises(ValidationError) as e:
        cfg(tmp_path, bad)
    msg = str(e.value)
    assert "source 'tweets'" in msg and "has no column 'text' (its columns: tweet, label)" in msg
    assert "text_field: tweet" in msg
    bad = shape_sources(paths)
    bad[2]["text_field"] = "text"
    with pytest.raises(ValidationError, match=r"posts.jsonl has no field 'text' \(its fields: id, content, topic\)"):
        cfg(tmp_path, bad)


def test_cli_input_takes_a_field_per_input(tmp_path, monkeypatch):
    paths = five_shapes(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    base = ["corpus", "build", "-i", str(paths["tweets"]), "-i", str(paths["posts"]), "-i", str(paths["news"]),
            "--set", f"steps={json.dumps(LIGHT)}", "--tasks", "1"]
    res = runner.invoke(app, [*base, "--output", "out1"])  # one default field for all: refused before any work
    assert res.exit_code == 2 and "has no column 'text' (its columns: tweet, label)" in res.output, res.output
    assert not (tmp_path / "out1" / "manifest.json").exists()
    res = runner.invoke(app, [*base, "--output", "out2", "--text-field", "tweet", "--text-field", "content",
                              "--text-field", "sentence"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "out2" / "manifest.json").read_text())
    assert {k: v["read"] for k, v in m["by_source"].items()} == {"input0": 120, "input1": 100, "input2": 80}
    assert m["rejected"].get("missing_text_field", 0) == 0
    res = runner.invoke(app, [*base, "--output", "out3", "--text-field", "tweet", "--text-field", "content"])
    assert res.exit_code == 2 and "one for all inputs or one per --input" in res.output


# ------------------------------------------------------------------------------------------------ alarms


def test_loss_alarm_fails_the_build_then_accept_without_rebuild(tmp_path):
    (tmp_path / "good.txt").write_text("\n".join(sample("fra_Latn")[:50]) + "\n", encoding="utf-8")
    # every line of this source is shorter than min_chars: it loses everything
    (tmp_path / "tiny.txt").write_text("".join(f"ok {i}\n" for i in range(30)), encoding="utf-8")
    sources = [{"name": "good", "paths": ["good.txt"]}, {"name": "tiny", "paths": ["tiny.txt"]}]
    steps = [{"repair": {"min_chars": 12}}]
    out = tmp_path / "out"
    with pytest.raises(CorpusLossError) as e:
        build_corpus(cfg(tmp_path, sources, steps), out, progress=False)
    msg = str(e.value)
    assert "source 'tiny' lost everything: read 30, kept 0; top reasons: empty 30" in msg
    assert "corpus.alarms.accept: [tiny]" in msg and "good" not in msg.split("tiny")[0][-20:]
    m = json.loads((out / "manifest.json").read_text())  # written, with the alarm
    assert [(a["level"], a["source"]) for a in m["alarms"]] == [("error", "tiny")]
    assert m["by_source"]["tiny"] == {"read": 30, "kept": 0, "rejected": {"empty": 30}, "duplicates": 0,
                                      "lost": 30, "accounting_ok": True}
    # accepted: judged again on the manifest, no rebuild; the loss stays a warning in the manifest
    summary = build_corpus(cfg(tmp_path, sources, steps, alarms={"accept": ["tiny"]}), out, progress=False)
    assert summary["documents_kept"] == 50
    with pytest.raises(ValidationError, match=r"alarms.accept: \['tyni'\] name no source"):
        cfg(tmp_path, sources, steps, alarms={"accept": ["tyni"]})


def test_partial_loss_warns_then_fails_above_the_share(tmp_path):
    lines = sample("fra_Latn")[:40] + [f"x{i}" for i in range(20)]  # a third too short
    (tmp_path / "a.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sources = [{"name": "a", "paths": ["a.txt"]}]
    steps = [{"repair": {"min_chars": 5}}]
    out = tmp_path / "out"
    build_corpus(cfg(tmp_path, sources, steps), out, progress=False)  # 33% > warn 20%, < fail 50%
    m = json.loads((out / "manifest.json").read_text())
    assert [a["level"] for a in m["alarms"]] == ["warning"]
    assert any("source 'a' lost 33% of its non-duplicate documents: read 60, kept 40" in w for w in m["warnings"])
    from jazari_nlp.corpus.card import write_card

    card = write_card(out).read_text(encoding="utf-8")  # the card shows the loss too
    assert "## Warnings" in card and "source 'a' lost 33%" in card and "| 20 (empty: 20) |" in card
    with pytest.raises(CorpusLossError, match="source 'a' lost 33%"):
        build_corpus(cfg(tmp_path, sources, steps, alarms={"fail_above": 0.3}), out, progress=False)


def test_duplicates_are_not_losses(tmp_path):
    (tmp_path / "a.txt").write_text("\n".join(sample("fra_Latn")[:10] * 5) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    build_corpus(cfg(tmp_path, [{"name": "a", "paths": ["a.txt"]}], ["exact_dedup"]), out, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    assert m["by_source"]["a"]["duplicates"] == 40 and m["by_source"]["a"]["lost"] == 0 and m["alarms"] == []


def test_a_file_that_loses_everything_fails_even_when_its_source_is_fine(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "good.txt").write_text("\n".join(sample("fra_Latn")[:100]) + "\n", encoding="utf-8")
    (tmp_path / "d" / "bad.txt").write_text("".join(f"{i}\n" for i in range(10)), encoding="utf-8")
    with pytest.raises(CorpusLossError, match=r"file .*bad.txt \(source 'd'\) lost everything: read 10, kept 0"):
        build_corpus(cfg(tmp_path, [{"name": "d", "paths": ["d"]}], [{"repair": {"min_chars": 5}}]),
                     tmp_path / "out", progress=False)


# ------------------------------------------------------------------------------------------------ encodings


def test_utf16_cr_only_and_binary_lines(tmp_path):
    lines = sample("ary_Arab")[:3]
    (tmp_path / "u16.txt").write_bytes("\n".join(lines).encode("utf-16"))
    (tmp_path / "u16nobom.txt").write_bytes("\n".join(["salam", "labas"]).encode("utf-16-le"))
    (tmp_path / "mac.txt").write_bytes("\r".join(lines).encode("utf-8"))
    (tmp_path / "bin.txt").write_bytes(b"ok line\n\x00\x01\x02\x03\x04\x05\xff\xfe\x00\x10\n")
    opts = ReadOptions()
    assert [(i.text, i.extra.get("encoding")) for i in iter_items(tmp_path / "u16.txt", opts)] == \
        [(t, "utf-16-le") for t in lines]
    assert [i.text for i in iter_items(tmp_path / "u16nobom.txt", opts)] == ["salam", "labas"]
    assert [(i.text, i.line) for i in iter_items(tmp_path / "mac.txt", opts)] == [(t, n) for n, t in enumerate(lines, 1)]
    items = list(iter_items(tmp_path / "bin.txt", opts))
    assert [i.error for i in items] == [None, "binary_data"] and "raw_b64" in items[1].extra


def test_stage_files_read_tsv_with_header_and_fail_on_wrong_field(tmp_path):
    from jazari_nlp.readers import ReadError

    (tmp_path / "news.tsv").write_text("id\tsentence\n1\tthe first one\n2\tthe second\n", encoding="utf-8")
    assert list(iter_texts([tmp_path / "news.tsv"], "sentence")) == ["the first one", "the second"]
    with pytest.raises(ReadError, match=r"no usable text .*2 missing_text_field .*is `text_field: text` right"):
        list(iter_texts([tmp_path / "news.tsv"], "text"))


def test_eval_and_tokenizer_files_fields_checked_at_validation(tmp_path):
    from jazari_nlp.evaluation.config import EvalConfig
    from jazari_nlp.tokenization.config import TokenizerConfig

    (tmp_path / "news.tsv").write_text("id\tsentence\n1\tthe first one\n", encoding="utf-8")
    for model, where in ((EvalConfig, "eval"), (TokenizerConfig, "tokenizer")):
        with pytest.raises(ValidationError, match=rf"has no column 'text' \(its columns: id, sentence\); set "
                                                   rf"{where}.text_field: sentence"):
            model.model_validate({"files": ["news.tsv"]}, context={"base_dir": tmp_path})
        model.model_validate({"files": ["news.tsv"], "text_field": "sentence"}, context={"base_dir": tmp_path})


# ------------------------------------------------------------------------------------------------ no silent failure


def test_decontamination_that_cannot_read_or_index_fails(tmp_path):
    (tmp_path / "a.txt").write_text("\n".join(sample("fra_Latn")[:20]) + "\n", encoding="utf-8")
    (tmp_path / "bench.jsonl").write_text('{"question": "a b c d e f g h i"}\n', encoding="utf-8")
    src = [{"name": "a", "paths": ["a.txt"]}]
    with pytest.raises(ValidationError, match=r"bench.jsonl has no field 'text' \(its fields: question\)"):
        cfg(tmp_path, src, [{"decontaminate": {"benchmarks": ["bench.jsonl"]}}])
    (tmp_path / "bench2.jsonl").write_text('{"text": "un deux trois quatre cinq six sept huit"}\n{"text": \n',
                                           encoding="utf-8")
    with pytest.raises(CorpusBuildError, match=r"bench2.jsonl: 1 benchmark record\(s\) cannot be read.*malformed_json"):
        build_corpus(cfg(tmp_path, src, [{"decontaminate": {"benchmarks": ["bench2.jsonl"]}}]), tmp_path / "o1",
                     progress=False)
    (tmp_path / "bench3.txt").write_text("oui\nnon\n", encoding="utf-8")  # shorter than min_item_words
    with pytest.raises(CorpusBuildError, match="give no n-gram to look for"):
        build_corpus(cfg(tmp_path, src, [{"decontaminate": {"benchmarks": ["bench3.txt"]}}]), tmp_path / "o2",
                     progress=False)


def test_a_language_id_model_that_cannot_predict_fails_the_build(tmp_path, monkeypatch):
    from jazari_nlp.corpus.builtin_steps import langid as steps
    from jazari_nlp.text.langid import LangIdError

    class Broken:
        def predict_batch(self, texts, top_k=1, errors="und"):
            if errors == "raise":
                raise LangIdError("model output could not be read")
            return []

    monkeypatch.setattr(steps, "load_identifier", lambda cfg: Broken())
    (tmp_path / "a.txt").write_text("\n".join(sample("fra_Latn")[:20]) + "\n", encoding="utf-8")
    c = cfg(tmp_path, [{"name": "a", "paths": ["a.txt"]}], [{"langid": {"keep": ["fra_Latn"]}}],
            executor={"tasks": 1, "workers": 1})
    with pytest.raises(CorpusBuildError, match="language identification failed .*model output could not be read"):
        build_corpus(c, tmp_path / "out", progress=False)


def test_near_dedup_estimate_counts_the_input(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"text": f"short tweet {i}"}) + "\n" for i in range(7142)),
                                      encoding="utf-8")
    c = cfg(tmp_path, [{"name": "a", "paths": ["a.jsonl"]}])
    n, how = estimate_documents(c.sources, [(0, str(tmp_path / "a.jsonl"))])
    assert n == 7142 and "counted" in how


def test_a_repeated_column_name_is_refused_not_hidden(tmp_path):
    (tmp_path / "d.csv").write_text("text,label,text\nsalam,pos,labas\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"d.csv: its header repeats column name\(s\) \['text'\]"):
        cfg(tmp_path, [{"name": "d", "paths": ["d.csv"]}])
    (item,) = iter_items(tmp_path / "d.csv", ReadOptions())
    assert item.error == "unreadable_file" and "repeats column name" in item.extra["error"]
