"""The quality step's word count rides to the writer's `words` column (``_words``: the count and the hash of
the text it counted), used only while the text is unchanged; a later step that rewrites the text (pii) makes
the writer count again, and the key never reaches shards or rejects. Fixtures: the project's own samples."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document

from jazari_nlp.corpus import corpus_files
from jazari_nlp.corpus.build import build_corpus
from jazari_nlp.corpus.builtin_steps.quality import QualityFilter
from jazari_nlp.corpus.config import CorpusConfig
from jazari_nlp.corpus.match import WORDS, text_hash
from jazari_nlp.corpus.registry import step_specs
from jazari_nlp.corpus.writers import _words, count_words

SAMPLES = Path(__file__).resolve().parents[1] / "jazari_nlp" / "data" / "samples"


def _long_docs(lang: str, n: int, per_doc: int = 25) -> list[str]:
    lines = [ln.strip() for ln in (SAMPLES / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    return ["\n".join(lines[i * per_doc:(i + 1) * per_doc]) for i in range(n)]


def test_writer_uses_the_carried_count_only_for_the_text_it_counted():
    text = "salam , khoya ! labas 3lik"
    doc = Document(text=text, id="a", metadata={WORDS: [999, text_hash(text)]})
    assert _words(doc) == 999  # carried: not counted again
    doc = Document(text=text, id="b", metadata={WORDS: [999, text_hash(text + " changed")]})
    assert _words(doc) == count_words(text) == 4
    assert _words(Document(text=text, id="c", metadata={})) == 4


def test_text_hash_cache_never_answers_for_another_object_with_the_same_id():
    import xxhash

    from jazari_nlp.corpus import match

    text = "".join(["wach", " nta"])
    real = xxhash.xxh3_64_intdigest(text.encode("utf-8"))
    match._HASHED[id(text)] = ("an older text whose id was reused", real + 1)  # a stale entry under this id
    assert text_hash(text) == real
    assert match._HASHED[id(text)] == (text, real)  # replaced, and now answered from the cache
    long = "salam " * 5000  # over the per-text bound: hashed, never held
    assert text_hash(long) == xxhash.xxh3_64_intdigest(long.encode("utf-8")) and id(long) not in match._HASHED


def test_quality_step_carries_count_words_of_its_text():
    spec = step_specs()["quality"]
    step = spec.step("04_quality", spec.config())
    assert isinstance(step, QualityFilter)
    docs = [Document(text=t, id=str(i), metadata={"lang": "fra_Latn"}) for i, t in enumerate(_long_docs("fra_Latn", 4))]
    step.filter_batch(docs)
    carried = [d for d in docs if WORDS in d.metadata]
    assert carried, "the sample documents are long: the quality step counted their words"
    for d in carried:
        assert d.metadata[WORDS] == [count_words(d.text), text_hash(d.text)]


def test_build_words_column_equals_count_words_after_pii_rewrote_a_text(tmp_path):
    docs = _long_docs("fra_Latn", 6)
    docs[2] = docs[2] + "\nEcrivez a contact.test@example.ma ou appelez le 06 12 34 56 78 pour plus d'infos."
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(docs)), encoding="utf-8")
    cfg = CorpusConfig.model_validate({"sources": [{"name": "s", "paths": [str(src)], "id_field": "id"}],
                                       "steps": ["normalize", "quality", "exact_dedup", "pii"],
                                       "executor": {"tasks": 1}}, context={"base_dir": tmp_path})
    out = tmp_path / "corpus"
    build_corpus(cfg, out, progress=False)
    rows = [r for split in ("train", "heldout") for f in corpus_files(out, split) for r in pq.read_table(f).to_pylist()]
    assert {r["id"] for r in rows} >= {"d2"}
    scrubbed = next(r for r in rows if r["id"] == "d2")
    assert "<EMAIL>" in scrubbed["text"] and "<PHONE>" in scrubbed["text"]  # 5 words became one
    for r in rows:
        assert r["words"] == count_words(r["text"]), r["id"]
    for f in out.rglob("*.jsonl.gz"):  # rejects (if any) never hold the carried key
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            assert all(WORDS not in (json.loads(line).get("metadata") or {}) for line in fh)
