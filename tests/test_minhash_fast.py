"""The MinHash stage hashes many n-grams in one numpy call (xxh64 of byte spans) and still gives xxhash's
values and datatrove's bucket files (issue 11 item 1)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WORDS = ["salam", "labas", "wach", "nta", "mzyan", "khoya", "daba", "safi", "سلام", "عليكم", "كيداير", "لباس",
         "ⴰⵣⵓⵍ", "ⴼⵍⴰⵡⵏ", "ⵎⴰⵏⵣⴰ", "ⴽⵉⵏ", "3lach", "9ra", "café", "😀", "x" * 300]
TEXTS = ["", "!!! ... ؟", "salam", "salam labas", "wach nta mzyan a sahbi", "wach nta mzyan a sahbi dyali",
         "سلام  عليكم\n\tا خويا   كيداير  لباس عليك", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ ⵎⴰⵏⵣⴰ ⴽⵉⵏ ⵜⵉⵏⵎⵍ ⴰⵎⵇⵔⴰⵏ ⵏ ⵓⵎⵓⵔ",
         "café émoji 😀 3lach  la 9ra f dar", "khoya\u00a0sahbi\u2003ana hna daba\u200csafi", "bla " * 400,
         ("y" * 290 + " ") * 7, "ab " + "c" * 260 + " d e f g"]


def _texts(n_docs: int, seed: int) -> list[str]:
    """Documents of 0 to ~3,000 words (more shingles than ``chunk_rows``) from WORDS, TEXTS among them."""
    rng = random.Random(seed)
    docs = [" ".join(rng.choices(WORDS, k=rng.choice([0, 1, 4, 5, 6, 30, 200, 3000]))) for _ in range(n_docs)]
    return TEXTS + docs


def _reference_shingles(sig, text: str):
    """The n-grams of the match text's words joined by a space (all the words when fewer than n), each hashed
    by datatrove's ``_hash_func``."""
    import numpy as np

    from jazari_nlp.text import normalize

    words = normalize(text, "match").split()
    n = sig.config.n_grams
    grams = [" ".join(words)] if 0 < len(words) < n else [" ".join(words[i:i + n])
                                                          for i in range(len(words) - n + 1)]
    return np.array([sig._hash_func(g) for g in grams], dtype=np.uint64).reshape((-1, 1))


def _pieces(column, ends: list[int]) -> list:
    return [column[i:j] for i, j in zip([0, *ends[:-1]], ends, strict=True)]


def _expected(data: bytes, spans) -> list[int]:
    import xxhash

    return [xxhash.xxh64_intdigest(data[s:e]) for s, e in spans]


def test_xxh64_spans_every_length_0_to_200_in_one_call():
    from jazari_nlp.corpus.dedup_stages import _xxh64_spans

    rng = random.Random(0)
    data = rng.randbytes(1000)
    spans = [(s, s + n) for n in range(201) for s in (0, rng.randrange(1000 - n), 1000 - n)]
    rng.shuffle(spans)  # lengths mixed, as the n-grams of a document are
    got = _xxh64_spans(data, [s for s, _ in spans], [e for _, e in spans]).tolist()
    assert got == _expected(data, spans)
    assert len(got) == 603


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=800), st.lists(st.tuples(st.integers(0, 800), st.integers(0, 600)), max_size=30))
def test_xxh64_spans_equals_xxhash_on_random_bytes(data, raw):
    """Random bytes and spans, over 256 bytes too (hashed by xxhash's C function)."""
    from jazari_nlp.corpus.dedup_stages import _xxh64_spans

    spans = [(min(s, len(data)), min(s + n, len(data))) for s, n in raw]
    got = _xxh64_spans(data, [s for s, _ in spans], [e for _, e in spans])
    assert got.dtype.name == "uint64" and got.tolist() == _expected(data, spans)


def test_xxh64_spans_around_the_long_span_limit():
    from jazari_nlp.corpus.dedup_stages import _LONG_SPAN, _xxh64_spans

    data = random.Random(1).randbytes(5000)
    spans = [(7, 7 + n) for n in (_LONG_SPAN - 1, _LONG_SPAN, _LONG_SPAN + 1, 31, 4000, 0, 32)]
    assert _xxh64_spans(data, *zip(*spans, strict=True)).tolist() == _expected(data, spans)


def test_only_the_space_is_a_printable_whitespace_character():
    """The check behind ``_joined_words``: every other character that ``str.split()`` splits on is not
    printable, over all of Unicode."""
    every = "".join(map(chr, range(0x110000)))
    spaces = [c for c in every if c.isspace()]
    assert "".join(every.split()) == "".join(c for c in every if not c.isspace())  # split() drops just these
    assert [c for c in spaces if c.isprintable()] == [" "]
    assert len(spaces) == 29


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ج ⴰ") + ["\t", "\n", "\u00a0", "\u2003", "\x85", "\u200c",
                                                                "\x1f", "\u3000"]), max_size=30))
def test_joined_words_equals_split_and_join(text):
    from jazari_nlp.corpus.dedup_stages import _joined_words

    assert _joined_words(text) == " ".join(text.split())


@pytest.mark.parametrize("precision,n_grams", [(64, 5), (64, 1), (64, 2), (32, 5)])
def test_block_shingles_equal_get_shingles(precision, n_grams):
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, _joined_words
    from jazari_nlp.text import normalize

    sig = JazariMinhashSignature("/nonexistent/a", config=MinhashConfig(
        n_grams=n_grams, hash_config=HashConfig(precision=precision)))
    all_texts = _texts(30, precision + n_grams)
    texts = [t for t in all_texts if normalize(t, "match").split()]
    assert len(texts) == len(all_texts) - 2 - all_texts[len(TEXTS):].count("")  # "" and "!!! ... ؟"
    blocks = _pieces(*sig._block_shingles([_joined_words(normalize(t, "match")).encode("utf-8") for t in texts]))
    assert len(blocks) == len(texts)
    for text, got in zip(texts, blocks, strict=True):
        assert got.shape[1] == 1 and got.tolist() == _reference_shingles(sig, text).tolist(), text[:40]


def test_block_shingles_of_real_text():
    """Arabic-script Darija, Tifinagh and Latin-script Amazigh/French sentences, a few per document."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, _joined_words
    from jazari_nlp.text import normalize

    names = ["ary_Arab", "tzm_Tfng", "kab_Latn", "fra_Latn"]
    if not all((DATA / "sib200" / n / "dev.tsv").is_file() for n in names):
        pytest.skip(f"the real-text corpus {DATA} is absent (it sits next to the project checkout)")
    sig = JazariMinhashSignature("/nonexistent/a", config=MinhashConfig())
    for name in names:
        lines = (DATA / "sib200" / name / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
        sentences = [line.split("\t")[2] for line in lines]
        docs = [" ".join(sentences[i:i + 1 + i % 4]) for i in range(0, len(sentences), 3)]
        texts = [_joined_words(normalize(d, "match")).encode("utf-8") for d in docs]
        blocks = _pieces(*sig._block_shingles(texts))
        assert len(blocks) == len(docs) > 30
        for doc, got in zip(docs, blocks, strict=True):
            assert got.tolist() == sig.get_shingles(doc).tolist(), (name, doc[:30])


@pytest.mark.parametrize("precision", [64, 32])
def test_block_signatures_in_groups_equal_datatrove(precision):
    """Groups of at most 7 rows of consecutive documents, documents of more rows (in chunks of 5 too)."""
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    cfg = MinhashConfig(hash_config=HashConfig(precision=precision))
    ours = JazariMinhashSignature("/nonexistent/a", config=cfg)
    ours.group_rows, ours.chunk_rows = 7, 5
    theirs = MinhashDedupSignature("/nonexistent/b", config=cfg, language=WhitespaceWords())
    rng = np.random.default_rng(precision)
    sizes = [1, 2, 3, 1, 7, 8, 1, 12, 4, 4, 1, 30, 6, 1]
    column = rng.integers(0, 2**64 - 1, size=(sum(sizes), 1), dtype=np.uint64, endpoint=True)
    ends = np.cumsum(sizes).tolist()
    got = ours._block_signatures(column, ends)
    assert got.shape == (14, 112) and got.dtype == cfg.hash_config.np_dtype
    for row, piece in zip(got, _pieces(column, ends), strict=True):
        assert row.reshape(14, 8).tolist() == theirs.get_signature(piece)


def _run_both(tmp_path, cfg, texts, ours):
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    from jazari_nlp.corpus.dedup_stages import WhitespaceWords

    class Reference(MinhashDedupSignature):
        def get_shingles(self, text):
            return _reference_shingles(self, text)

    theirs = Reference(str(tmp_path / "theirs"), config=cfg, language=WhitespaceWords())
    for step in (ours, theirs):
        step.run(iter([Document(text=t, id=str(i)) for i, t in enumerate(texts)]), rank=0, world_size=1)
    files = sorted(p.relative_to(tmp_path / "theirs") for p in (tmp_path / "theirs").rglob("*.sig"))
    assert len(files) == cfg.num_buckets
    for f in files:
        assert (tmp_path / "ours" / f).read_bytes() == (tmp_path / "theirs" / f).read_bytes(), f
    return (tmp_path / "ours" / files[0]).stat().st_size


@pytest.mark.parametrize("precision,hash_fc", [(64, "xxhash"), (32, "xxhash"), (64, "sha1")])
def test_bucket_files_equal_datatrove_on_long_short_and_empty_documents(tmp_path, precision, hash_fc):
    """Blocks of a few hundred bytes of text (``hash_bytes``), documents over ``chunk_rows`` shingles, of fewer
    than 5 words, of exactly 5 (one shingle), with an empty match text, words over 256 bytes; sha1 (a hash of
    str, not bytes) one document at a time."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature
    from jazari_nlp.text import normalize

    cfg = MinhashConfig(num_buckets=4, hashes_per_bucket=3, hash_config=HashConfig(precision, hash_fc))
    ours = JazariMinhashSignature(str(tmp_path / "ours"), config=cfg)
    ours.hash_bytes, ours.block_docs = 300, 3
    texts = _texts(40, precision)
    size = _run_both(tmp_path, cfg, texts, ours)
    kept = sum(1 for t in texts if normalize(t, "match"))
    assert size == kept * (3 * precision // 8 + 4)
    assert kept < len(texts) and ours.stats["total"].total == len(texts)


def test_a_subclass_with_its_own_shingles_is_hashed_one_document_at_a_time(tmp_path):
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature

    calls = []

    class Own(JazariMinhashSignature):
        def get_shingles(self, text):
            calls.append(text)
            return _reference_shingles(self, text)

    cfg = MinhashConfig(num_buckets=2, hashes_per_bucket=2)
    texts = _texts(5, 3)
    _run_both(tmp_path, cfg, texts, Own(str(tmp_path / "ours"), config=cfg))
    assert calls == texts
