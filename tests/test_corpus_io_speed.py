"""The I/O-side fast paths give exactly what the plain computations give (issue 11 item 1: speed, same outputs)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def test_shipped_marks_punctuation_ranges_equal_the_unicode_scan():
    import sys

    from jazari_nlp.text import normalize as _  # noqa: F401 - the package re-exports a function of that name

    N = sys.modules["jazari_nlp.text.normalize"]
    head = N.MARKS_PUNCTUATION_FILE.read_text(encoding="utf-8").splitlines()[0]
    if not head.startswith(f"# unicodedata {unicodedata.unidata_version}:"):
        pytest.skip(f"the shipped ranges are for another Unicode version ({head[:30]}); the scan is used")
    old = {cp for cp in range(0x110000)  # the construction the file replaces, verbatim
           if not 0x2D30 <= cp <= 0x2D7F and unicodedata.category(chr(cp))[0] in "MP"}
    assert N._marks_and_punctuation() == dict.fromkeys(sorted(old), None)
    assert tuple(N.scan_marks_and_punctuation()) == N._marks_and_punctuation_ranges()
    keep = N._marks_and_punctuation_mask()
    assert int((~keep).sum()) == len(old) and not (~keep)[0x2D30:0x2D80].any()


def test_ranges_of_another_unicode_version_are_not_used(tmp_path, monkeypatch):
    import sys

    N = sys.modules["jazari_nlp.text.normalize"]
    stale = tmp_path / "marks.ranges"
    stale.write_text("# unicodedata 1.0.0: old\n0021\t0021\n", encoding="utf-8")
    monkeypatch.setattr(N, "MARKS_PUNCTUATION_FILE", stale)
    N._marks_and_punctuation_ranges.cache_clear()
    try:
        assert N._marks_and_punctuation_ranges() == tuple(N.scan_marks_and_punctuation())
    finally:
        N._marks_and_punctuation_ranges.cache_clear()


_ARABIC = st.sampled_from(list("أإآٱاىيةهڭݣگکیۀ٠١٩۴ـ\u064e\u0651\u200d\u200f ⴰⵣ") + ["ab", "Ω", "\n"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_ARABIC, max_size=400))
def test_numpy_translate_equals_str_translate(chars):
    import sys

    N = sys.modules["jazari_nlp.text.normalize"]
    text = "".join(chars) * 2  # often over the length where numpy takes over
    for names in (("bidi_controls", "zero_width", "tatweel", "arabic_lookalikes"),
                  ("arabic_lookalikes", "darija_g", "arabic_match", "digits", "arabic_diacritics")):
        table = N._table(*names)
        assert N._translate(text, table, N._table_gate(*names)) == text.translate(table)
    assert N._translate(text, N._CONTROL, N._CONTROL_GATE) == text.translate(N._CONTROL)


def test_a_table_with_a_longer_target_keeps_str_translate():
    import sys

    N = sys.modules["jazari_nlp.text.normalize"]
    table = {ord("a"): "xy", ord("b"): None}
    text = "ab" * 300
    assert N._table_array(table) is None
    assert N._translate(text, table, N._char_class(table)) == "xy" * 300


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 2000), st.sampled_from([32, 64]))
def test_minhash_signature_equals_datatrove_expression(n, precision):
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature, WhitespaceWords

    cfg = MinhashConfig(hash_config=HashConfig(precision=precision))
    rng = np.random.default_rng(n)
    # the largest values too: the Mersenne reduction must hold up to 2**64 - 1
    shingles = np.concatenate([rng.integers(0, 2**64 - 1, size=(n, 1), dtype=np.uint64, endpoint=True),
                               np.array([[2**64 - 1], [0], [2**61 - 1], [2**61]], dtype=np.uint64)])
    ours = JazariMinhashSignature("/nonexistent/a", config=cfg)
    theirs = MinhashDedupSignature("/nonexistent/b", config=cfg, language=WhitespaceWords())
    assert ours.get_signature(shingles) == theirs.get_signature(shingles)


def test_minhash_shingles_use_xxhash_values():
    import xxhash
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature

    sig = JazariMinhashSignature("/nonexistent/a", config=MinhashConfig(n_grams=2))
    assert sig.get_shingles("Salam, labas? Salam").ravel().tolist() == [
        xxhash.xxh64_intdigest("salam labas"), xxhash.xxh64_intdigest("labas salam")]


def test_distribution_check_answers_like_datatrove():
    from datatrove.utils import _import_utils

    import jazari_nlp.corpus.passes  # noqa: F401 - installs the direct lookup

    fast = _import_utils._is_distribution_available
    assert fast._jazari
    assert fast("orjson") is True and fast("pyarrow") is True
    assert fast("no-such-distribution-jazari") is None


def test_reader_counts_per_piece_equal_per_document_counts(tmp_path):
    from datatrove.utils.stats import MetricStats

    from jazari_nlp.corpus.common import FILE_READ_PREFIX, READ_PREFIX
    from jazari_nlp.corpus.passes import SourceReader
    from jazari_nlp.corpus.sources import SourceConfig, plan_units, unit_prefixes

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one\ntwo\nthree\n", encoding="utf-8")
    b.write_bytes("ص\n".encode("cp1256") + b"x\n")
    src = SourceConfig.model_validate({"name": "s", "paths": [str(tmp_path / "*.txt")]})
    units, _ = plan_units([src], False)
    reader = SourceReader([src], units, unit_prefixes([src], units))
    docs = list(reader.run())
    stats = {k: v.total for k, v in reader.stats.stats.items()}
    assert len(docs) == 5
    assert stats["documents"] == 5 and stats[f"{READ_PREFIX}s"] == 5 and stats["input_units"] == 2
    # the same stats object as five updates of 1 (so the task stats files read as before: a plain count)
    reference = MetricStats()
    for _ in range(5):
        reference.update(1)
    assert reader.stats.stats["documents"] == reference and reader.stats.stats["documents"].to_dict() == 5
    files = {k: v for k, v in stats.items() if k.startswith(FILE_READ_PREFIX)}
    # one key per file, in reading order, with the documents the reader yielded for it
    assert list(files) == [f"{FILE_READ_PREFIX}s\t{d.metadata['file']}" for d in (docs[0], docs[3])]
    assert list(files.values()) == [3, 2]
    # the line in Windows-1256 (the other line of b.txt is ASCII, valid UTF-8)
    assert {k: v for k, v in stats.items() if k.startswith("encoding_")} == {"encoding_cp1256": 1}
    assert [d.metadata.get("encoding") for d in docs] == [None, None, None, "cp1256", None]



_WARM_CHECK = '''
import json, sys
from pathlib import Path

from jazari_nlp.corpus.passes import LocalExecutor

out = Path(sys.argv[1])


def probe(data, rank=0, world_size=1):
    # runs in a worker forked from the fork server: what is already in memory there?
    import sys as s
    from jazari_nlp.text import langid

    (out / f"{rank}.json").write_text(json.dumps({
        "warm_module": "jazari_nlp.corpus.warm_worker" in s.modules,
        "identifier_loaded": langid._load.cache_info().currsize > 0,
    }))
    yield from data or ()


if __name__ == "__main__":
    LocalExecutor([probe], tasks=2, workers=2, logging_dir=str(out / "logs"), quiet=True).run()
'''


def test_fork_server_workers_start_with_the_modules_and_identifier_loaded(tmp_path):
    """The fork server imports the corpus modules and loads the default identifier once, so the workers forked
    from it do not import or load them again (a fresh interpreter: a fork server started earlier by another
    test would keep its own preload)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "warm_check.py"
    script.write_text(_WARM_CHECK)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for rank in (0, 1):
        seen = json.loads((tmp_path / f"{rank}.json").read_text())
        assert seen == {"warm_module": True, "identifier_loaded": True}, (rank, seen)


def test_preload_is_added_once_and_keeps_main(monkeypatch):
    import multiprocess.forkserver as fs

    from jazari_nlp.corpus.passes import preload_fork_server

    monkeypatch.setattr(fs._forkserver, "_preload_modules", ["__main__"])
    preload_fork_server()
    preload_fork_server()
    assert fs._forkserver._preload_modules == ["__main__", "jazari_nlp.corpus.warm_worker"]


_EARLY_CHECK = '''
import json, sys
from pathlib import Path

import multiprocess.forkserver as fs

import jazari_nlp.corpus.build as B
from jazari_nlp.corpus.build import build_corpus
from jazari_nlp.corpus.config import CorpusConfig


def main(tmp):
    seen = {}
    real_plan = B._Plan

    def plan(*a, **k):  # when the build starts planning, is the fork server already running, warm-up included?
        seen["server_running"] = fs._forkserver._forkserver_pid is not None
        seen["preload"] = "jazari_nlp.corpus.warm_worker" in (fs._forkserver._preload_modules or [])
        return real_plan(*a, **k)

    B._Plan = plan
    src = tmp / "a.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"salam khoya {i} labas"}) + "\\n" for i in range(8)))
    cfg = CorpusConfig.model_validate({"sources": [{"name": "s", "paths": [str(src)], "id_field": "id"}],
                                       "steps": ["normalize"], "executor": {"tasks": 2, "workers": 2}})
    build_corpus(cfg, tmp / "out", progress=False)
    (tmp / "seen.json").write_text(json.dumps(seen))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
'''


def test_build_starts_the_warm_fork_server_before_it_plans(tmp_path):
    """A local build with several workers starts the fork server (and its preload) first, so the warm-up
    overlaps the planning instead of delaying the first pass (a fresh interpreter: no server yet)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "early_check.py"
    script.write_text(_EARLY_CHECK)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "seen.json").read_text()) == {"server_running": True, "preload": True}
