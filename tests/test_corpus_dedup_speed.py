"""The faster pass-1/pass-2 code gives datatrove's numbers and files and the same rows (issue 11 item 1)."""

from __future__ import annotations

import pytest

TEXTS = ["", "   ", "salam", "salam labas", "wach nta mzyan a sahbi", "wach nta mzyan a sahbi dyali",
         "سلام  عليكم\n\tا خويا   كيداير  لباس عليك", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ ⵎⴰⵏⵣⴰ ⴽⵉⵏ ⵜⵉⵏⵎⵍ ⴰⵎⵇⵔⴰⵏ ⵏ ⵓⵎⵓⵔ",
         "café émoji 😀 3lach  la 9ra f dar", "bla " * 400, "khoya\u00a0sahbi\u2003ana hna daba safi"]


def _reference_shingles(sig, text: str):
    """datatrove's n-grams: the words joined by a space, each hashed by its `_hash_func`."""
    import numpy as np

    from jazari_nlp.text import normalize

    words = normalize(text, "match").split()
    n = sig.config.n_grams
    grams = [" ".join(words)] if 0 < len(words) < n else [" ".join(words[i:i + n])
                                                          for i in range(len(words) - n + 1)]
    return np.array([sig._hash_func(g) for g in grams], dtype=np.uint64).reshape((-1, 1))


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_shingles_hashed_as_byte_slices_equal_the_joined_grams(n):
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature

    sig = JazariMinhashSignature("/nonexistent/a", config=MinhashConfig(n_grams=n))
    for text in TEXTS:
        assert sig.get_shingles(text).tolist() == _reference_shingles(sig, text).tolist(), text


@pytest.mark.parametrize("precision,n_grams", [(64, 5), (32, 5), (64, 1)])
def test_minhash_bucket_files_equal_datatrove_run(tmp_path, precision, n_grams):
    """Our packed blocks of records, then datatrove's sort: the same bytes as datatrove's own loop."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    cfg = MinhashConfig(n_grams=n_grams, num_buckets=3, hashes_per_bucket=4, hash_config=HashConfig(precision))

    class Reference(MinhashDedupSignature):
        def get_shingles(self, text):
            return _reference_shingles(self, text)

    ours = JazariMinhashSignature(str(tmp_path / "ours"), config=cfg)
    ours.block_docs = 4  # several blocks and a partial last one
    theirs = Reference(str(tmp_path / "theirs"), config=cfg, language=WhitespaceWords())
    texts = [f"{t} {i % 3}" if i % 4 else t for i, t in enumerate(TEXTS * 2)]
    for step in (ours, theirs):
        step.run(iter([Document(text=t, id=str(i)) for i, t in enumerate(texts)]), rank=0, world_size=1)
    files = sorted(p.relative_to(tmp_path / "theirs") for p in (tmp_path / "theirs").rglob("*.sig"))
    assert len(files) == 3
    empty = sum(1 for t in texts if not t.split())
    record = 4 * precision // 8 + 4
    for f in files:
        data = (tmp_path / "ours" / f).read_bytes()
        assert data == (tmp_path / "theirs" / f).read_bytes()
        assert len(data) == (len(texts) - empty) * record
    assert ours.stats["total"].total == theirs.stats["total"].total == len(texts)


def test_signature_reduction_when_the_sum_reaches_the_prime():
    """q + r >= 2**61 - 1 (a product whose 64 bits are all ones): the rare branch gives datatrove's value."""
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    cfg = MinhashConfig()
    ours = JazariMinhashSignature("/nonexistent/a", config=cfg)
    theirs = MinhashDedupSignature("/nonexistent/b", config=cfg, language=WhitespaceWords())
    a, b = (int(x) for x in ours.parameters[0][0]), (int(x) for x in ours.parameters[1][0])
    j, (aj, bj) = next((j, ab) for j, ab in enumerate(zip(a, b, strict=True)) if ab[0] % 2)
    s = ((2**64 - 1 - bj) * pow(aj, -1, 2**64)) % 2**64  # s * a + b = 2**64 - 1 (mod 2**64) in column j
    shingles = np.array([[s], [12345]], dtype=np.uint64)
    sig = ours.get_signature(shingles)
    assert sig == theirs.get_signature(shingles)
    assert sig[j // 8][j % 8] == 7  # (2**64 - 1) mod (2**61 - 1)


@pytest.mark.parametrize("precision", [32, 64])
def test_signature_in_chunks_and_reused_buffers_equals_datatrove(precision):
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    cfg = MinhashConfig(hash_config=HashConfig(precision=precision))
    ours = JazariMinhashSignature("/nonexistent/a", config=cfg)
    ours.chunk_rows = 7  # 50 shingles: 8 chunks, the last one short
    theirs = MinhashDedupSignature("/nonexistent/b", config=cfg, language=WhitespaceWords())
    rng = np.random.default_rng(precision)
    for n in (50, 3, 7, 1, 20):  # buffers grown, then reused for fewer rows
        shingles = rng.integers(0, 2**64 - 1, size=(n, 1), dtype=np.uint64, endpoint=True)
        assert ours.get_signature(shingles) == theirs.get_signature(shingles)
    assert ours._scratch[0].shape == (7, 112)


def test_near_dedup_filter_does_not_make_the_pass_carry_the_match_text(tmp_path):
    from jazari_nlp.corpus.build import _blocks, _needs_match
    from jazari_nlp.corpus.config import CorpusConfig

    src = tmp_path / "a.txt"
    src.write_text("salam\n", encoding="utf-8")
    blocks = _blocks(CorpusConfig.model_validate({"sources": [{"name": "s", "paths": [str(src)]}]}))
    # the default steps: ... exact_dedup | exact filter, near_dedup signature | near filter, pii, writer
    assert [b["sig"][1] if b["sig"] else None for b in blocks] == ["exact_dedup", "near_dedup", None]
    assert _needs_match(blocks[1:]) is True  # pass 1 computes the MinHash signature on it
    assert _needs_match(blocks[2:]) is False  # pass 2 only drops by document index, then pii and the writer


def test_count_words_equals_the_split_words_count():
    from jazari_nlp.corpus.filters import split_words
    from jazari_nlp.corpus.writers import count_words

    texts = [*TEXTS, "salam , khoya ! ...", "« wach » -- (nta) …", "a.b c؟ ؟ ،", "<PHONE> <EMAIL>"]
    assert [count_words(t) for t in texts] == [len([w for w in split_words(t) if w]) for t in texts]
    assert count_words("salam , khoya ! ...") == 2


def test_ip_without_seven_colons_matches_like_the_full_pattern():
    from jazari_nlp.corpus import pii

    texts = ["server 10.0.0.1 w 192.168.1.255.", "1.2.3.4:80 a:b 1.2.3", "٣.٢.١.٠ ok", "256.1.1.1 1.1.1.1",
             "fe80:0:0:0:0:0:0:1 w 8.8.8.8", "a:b:c:d:e:f:1:2", "12.3.4.5.6"]
    for text in texts:
        full = pii._sub_on_ascii_digits(pii.PATTERNS["IP"], "<IP>", text)
        assert pii.scrub(text, ("IP",)) == (full[0], {"IP": full[1]} if full[1] else {}), text
    assert pii.scrub("server 10.0.0.1 w 192.168.1.255 !", ("IP",)) == ("server <IP> w <IP> !", {"IP": 2})
    assert pii.scrub("fe80:0:0:0:0:0:0:1 w 8.8.8.8", ("IP",)) == ("<IP> w <IP>", {"IP": 2})


@pytest.mark.parametrize("precision", [64, 32])
def test_bucket_stage_writes_datatrove_dups(tmp_path, precision):
    """Signatures of 3 tasks with duplicates inside and across them: the numpy merge writes datatrove's pairs."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashBuckets, JazariMinhashSignature

    cfg = MinhashConfig(n_grams=2, num_buckets=4, hashes_per_bucket=2, hash_config=HashConfig(precision))
    base = ["wach nta mzyan a sahbi", "salam labas 3lik khoya", "ana ghadi l dar daba", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ ⵎⴰⵏⵣⴰ ⴽⵉⵏ"]
    for rank in range(3):  # the same texts (and variants) in every task, some twice within one task
        docs = [f"{t} {'w safi' if (i + rank) % 3 else ''}" for i, t in enumerate(base * 3)]
        JazariMinhashSignature(str(tmp_path / "sig"), config=cfg).run(
            iter([Document(text=t, id=str(i)) for i, t in enumerate(docs)]), rank=rank, world_size=3)
    for bucket in range(4):
        JazariMinhashBuckets(str(tmp_path / "sig"), str(tmp_path / "ours"), config=cfg,
                             only_dedup_in_index=False).run(rank=bucket, world_size=4)
        MinhashDedupBuckets(str(tmp_path / "sig"), str(tmp_path / "theirs"), config=cfg,
                            only_dedup_in_index=False).run(rank=bucket, world_size=4)
    dups = sorted(p.name for p in (tmp_path / "theirs").iterdir())
    assert dups == sorted(p.name for p in (tmp_path / "ours").iterdir()) == [f"{b:05d}_00.dups" for b in range(4)]
    sizes = [(tmp_path / "theirs" / d).stat().st_size for d in dups]
    assert all(s > 0 and s % 16 == 0 for s in sizes)  # pairs were found in every bucket
    for d in dups:
        assert (tmp_path / "ours" / d).read_bytes() == (tmp_path / "theirs" / d).read_bytes()
