"""The balanced training sample of a tokenizer: temperature shares, caps, seeding, long lines, inputs, memory."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import SampleConfig, TokenizerConfig
from jazari_nlp.tokenization.sampling import (
    SampleInput,
    cut_line,
    draw_sample,
    inputs_from_config,
    plan_targets,
)

WORDS = {  # words written for these tests, one script per language
    "ary": ["salam", "wach", "labas", "bzaf", "daba", "wakha", "chwiya", "mzyan", "3lach", "fin"],
    "zgh": ["ⴰⵣⵓⵍ", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "ⴰⵎⵢⴰⵔ", "ⵜⵉⴼⵉⵏⴰⵖ", "ⴰⴳⵯⵎⴰⵔ", "ⴰⵙⵙ", "ⵉⴹ", "ⴰⵡⴰⵍ"],
    "kab": ["azul", "tameṭṭut", "argaz", "taddart", "aɣrum", "lqahwa", "tafat", "adrar"],
}


def lines_of(tag: str, n_bytes: int, seed: int = 0) -> list[str]:
    """Lines ``"<tag><i> word word ..."`` of about 40-120 bytes, ``n_bytes`` UTF-8 bytes in all (\\n included)."""
    rng, out, total = random.Random(f"{tag}{seed}"), [], 0
    words = WORDS[tag[:3]]
    while total < n_bytes:
        line = f"{tag}{len(out)} " + " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        out.append(line)
        total += len(line.encode()) + 1
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def three_languages(tmp_path: Path) -> list[SampleInput]:
    sizes = {"ary": 1_000_000, "zgh": 100_000, "kab": 10_000}
    codes = {"ary": "ary_Arab", "zgh": "tzm_Tfng", "kab": "kab_Latn"}  # tzm_Tfng: FLORES' name of zgh_Tfng
    return [SampleInput(files=[write_lines(tmp_path / f"{t}.txt", lines_of(t, n))], language=codes[t], name=t)
            for t, n in sizes.items()]


def sampled(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data and b"\n\n" not in data
    return data.decode("utf-8").split("\n")[:-1]


def bytes_by_tag(lines: list[str]) -> Counter:
    out: Counter = Counter()
    for line in lines:
        out[line[:3]] += len(line.encode())
    return out


@pytest.mark.parametrize("alpha", [0.3, 1.0, 0.0])
def test_shares_follow_the_temperature_formula(tmp_path: Path, alpha: float):
    inputs = three_languages(tmp_path)
    cfg = SampleConfig(alpha=alpha, max_bytes=200_000, max_repeat=4.0)
    s = draw_sample(inputs, cfg, tmp_path / "sample.txt", seed=7, progress=False)
    avail = {k: v.available_bytes for k, v in s.languages.items()}
    assert set(avail) == {"ary_Arab", "zgh_Tfng", "kab_Latn"}
    # the formula, written out: p ∝ bytes**alpha of the budget; the smallest language is capped at 4× its bytes
    # when its share asks for more (alpha 0: 1/3 of 200 KB > 4 × 10 KB), the others share what it cannot take
    weights = {k: b ** alpha for k, b in avail.items()}
    expected = {k: w / sum(weights.values()) * 200_000 for k, w in weights.items()}
    if expected["kab_Latn"] > 4 * avail["kab_Latn"]:
        assert alpha == 0.0
        expected = {"kab_Latn": 4 * avail["kab_Latn"], "ary_Arab": (200_000 - 4 * avail["kab_Latn"]) / 2,
                    "zgh_Tfng": (200_000 - 4 * avail["kab_Latn"]) / 2}
    longest = max(len(line) for i in inputs for line in i.files[0].read_bytes().split(b"\n"))
    for k, lang in s.languages.items():
        assert lang.share == pytest.approx(weights[k] / sum(weights.values()), abs=1e-6)
        assert lang.target_bytes == int(expected[k])
        assert lang.target_bytes - longest < lang.sampled_bytes <= lang.target_bytes  # short by less than a line
        assert lang.sampled_bytes / s.bytes == pytest.approx(expected[k] / 200_000, abs=0.005)
    # the file holds exactly what the report says, and the counts add up
    lines = sampled(s.path)
    by_tag = bytes_by_tag(lines)
    assert {k: by_tag[k[:3]] for k in s.languages} == {k: v.sampled_bytes for k, v in s.languages.items()}
    assert len(lines) == s.lines == sum(v.sampled_lines for v in s.languages.values())
    assert s.path.stat().st_size == s.bytes + s.lines <= 200_000 + s.lines
    assert json.loads(s.path.with_suffix(".json").read_text()) == json.loads(json.dumps(s.to_json()))


def test_max_repeat_caps_a_small_language_and_repeats_whole_lines(tmp_path: Path):
    small = lines_of("kab", 10_000)
    inputs = [SampleInput(files=[write_lines(tmp_path / "ary.txt", lines_of("ary", 400_000))], language="ary_Arab"),
              SampleInput(files=[write_lines(tmp_path / "kab.txt", small)], language="kab_Latn")]
    s = draw_sample(inputs, SampleConfig(alpha=0.0, max_bytes=100_000, max_repeat=2.5), tmp_path / "s.txt",
                    seed=1, progress=False)
    kab = s.languages["kab_Latn"]
    assert kab.target_bytes == int(2.5 * kab.available_bytes)
    assert s.languages["ary_Arab"].target_bytes == 100_000 - kab.target_bytes  # it takes what kab cannot
    counts = Counter(line for line in sampled(s.path) if line.startswith("kab"))
    assert set(counts) == set(small) and set(counts.values()) == {2, 3}  # all twice, a random half once more
    thrice = sum(len(line.encode()) for line, n in counts.items() if n == 3)
    assert 0.5 * kab.available_bytes - 130 < thrice <= 0.5 * kab.available_bytes
    assert kab.repeat == pytest.approx(2.5, abs=0.02) and kab.sampled_bytes == 2 * kab.available_bytes + thrice


def test_max_lines_bounds_the_lines_and_keeps_the_shares(tmp_path: Path):
    inputs = three_languages(tmp_path)
    free = draw_sample(inputs, SampleConfig(max_bytes=200_000), tmp_path / "a.txt", seed=0, progress=False)
    s = draw_sample(inputs, SampleConfig(max_bytes=200_000, max_lines=600), tmp_path / "b.txt", seed=0,
                    progress=False)
    assert free.lines > 2_000 and s.lines <= 600 and len(sampled(s.path)) == s.lines
    for k, lang in s.languages.items():  # one factor for every target: the shares stay where alpha put them
        assert lang.target_bytes == pytest.approx(free.languages[k].target_bytes * 600 / free.lines, rel=0.05)
        assert lang.sampled_bytes / s.bytes == pytest.approx(free.languages[k].sampled_bytes / free.bytes, abs=0.02)
    lenient = draw_sample(inputs, SampleConfig(max_bytes=200_000, max_lines=10 ** 6), tmp_path / "c.txt", seed=0,
                          progress=False)
    assert lenient.path.read_bytes() == free.path.read_bytes()  # a bound that does not bind changes nothing


def test_plan_targets_redistributes_what_capped_languages_cannot_take():
    shares, targets = plan_targets({"a": 1_000_000, "b": 10_000, "c": 1_000}, SampleConfig(
        alpha=0.0, max_bytes=100_000, max_repeat=3.0))
    assert shares == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    # c capped at 3 KB; b then asks (100 - 3) / 2 = 48.5 KB > 30 KB: capped too; a takes the rest
    assert targets == {"a": 67_000, "b": 30_000, "c": 3_000}
    # a budget larger than the text: everything once, shares do not matter
    assert plan_targets({"a": 5_000, "b": 2_000}, SampleConfig(alpha=1.0, max_bytes=1_000_000))[1] == {
        "a": 5_000, "b": 2_000}


def test_seeded_same_seed_same_file_other_seed_other_sample(tmp_path: Path):
    inputs = three_languages(tmp_path)
    cfg = SampleConfig(max_bytes=50_000)
    a = draw_sample(inputs, cfg, tmp_path / "a.txt", seed=3, progress=False)
    b = draw_sample(inputs, cfg, tmp_path / "b.txt", seed=3, progress=False)
    c = draw_sample(inputs, cfg, tmp_path / "c.txt", seed=4, progress=False)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert {k: v.sampled_bytes for k, v in a.languages.items()} == {k: v.sampled_bytes for k, v in b.languages.items()}
    assert a.path.read_bytes() != c.path.read_bytes()
    assert set(sampled(a.path)) != set(sampled(c.path))  # other lines, not only another order


def test_never_the_first_documents_of_a_sorted_folder(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        write_lines(folder / f"{letter}.txt", [f"{letter}-{i} " + line for i, line in enumerate(lines_of("ary", 4_000))])
    tcfg = TokenizerConfig(files=[str(folder)], sample=SampleConfig(max_bytes=10_000))
    inputs = inputs_from_config(tcfg)
    assert len(inputs) == 1 and len(inputs[0].files) == 26
    s = draw_sample(inputs, tcfg.sample, tmp_path / "s.txt", seed=0, progress=False)
    assert s.bytes <= 10_000 < s.languages["und"].available_bytes // 10
    letters = Counter(line.split("-")[0] for line in sampled(s.path))
    assert set(letters) == set("abcdefghijklmnopqrstuvwxyz")  # drawn from every file, z as much as a
    first_half = sum(n for letter, n in letters.items() if letter <= "m")
    assert 0.35 < first_half / sum(letters.values()) < 0.65


def test_long_lines_are_cut_at_spaces_or_characters_never_dropped(tmp_path: Path):
    spaced = " ".join(f"word{i}" for i in range(7_000))  # ~55 KB
    tifinagh = "ⴰⵣⵓⵍⵯ" * 3_400  # 51 KB, no space; 3 bytes a letter, so 4096 is not on a letter boundary
    for line in (spaced, tifinagh):
        pieces = cut_line(line, 4096)
        assert "".join(pieces) == line and len(line.encode()) > 50_000
        assert all(4096 - 12 < len(p.encode()) <= 4096 for p in pieces[:-1])  # as full as a word or letter allows
    assert all(p.endswith(" ") for p in cut_line(spaced, 4096)[:-1])  # cut after a space, not inside a word
    assert cut_line("ab cd", 4) == ["ab ", "cd"] and cut_line("abcdef", 4) == ["abcd", "ef"]
    src = write_lines(tmp_path / "long.txt", [spaced, "short line", tifinagh])
    s = draw_sample([SampleInput(files=[src], language="ary_Arab")], SampleConfig(max_line_bytes=4096),
                    tmp_path / "s.txt", seed=0, progress=False)
    out = sampled(s.path)
    assert Counter(out) == Counter([*cut_line(spaced, 4096), "short line", *cut_line(tifinagh, 4096)])
    assert s.bytes == len(spaced.encode()) + len("short line") + len(tifinagh.encode())
    assert s.inputs[0]["cut_lines"] == 2


def test_documents_are_split_into_lines_blank_ones_counted(tmp_path: Path):
    rows = [{"text": "first line\r\nsecond line\n\n   \nthird\u2028fourth"}, {"text": "  \n\t"}, {"text": "x"}]
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    s = draw_sample([SampleInput(files=[src], name="docs")], SampleConfig(), tmp_path / "s.txt", seed=0,
                    progress=False)
    assert sorted(sampled(s.path)) == ["first line", "fourth", "second line", "third", "x"]
    info = s.inputs[0]
    assert (info["documents"], info["lines"], info["blank_lines"]) == (3, 5, 4)
    assert info["errors"] == {"malformed_json": 1} and info["first_error"] == {"file": str(src), "line": 4}
    assert json.loads(s.path.with_suffix(".json").read_text())["inputs"][0]["errors"] == {"malformed_json": 1}


def test_languages_filter_and_a_language_without_text(tmp_path: Path):
    inputs = three_languages(tmp_path)
    s = draw_sample(inputs, SampleConfig(max_bytes=20_000, languages=["ary_Arab", "tzm_Tfng"]), tmp_path / "s.txt",
                    seed=0, progress=False)
    kab = inputs[2].files[0]
    assert set(s.languages) == {"ary_Arab", "zgh_Tfng"}
    assert s.excluded == {"kab_Latn": kab.stat().st_size - kab.read_bytes().count(b"\n")}
    assert {line[:3] for line in sampled(s.path)} == {"ary", "zgh"}
    with pytest.raises(InputError) as e:
        draw_sample(inputs[:2], SampleConfig(languages=["ary_Arab", "kab_Latn"]), tmp_path / "t.txt", seed=0,
                    progress=False)
    ary, zgh = (i.files[0].stat().st_size - i.files[0].read_bytes().count(b"\n") for i in inputs[:2])
    assert 1e5 < ary < 1e6 and 1e3 < zgh < 1e5  # both shown in KB, the larger first
    assert str(e.value) == (f"tokenizer.sample.languages: kab_Latn has no text in the inputs (found: ary_Arab "
                            f"{ary / 1e3:.1f} KB, zgh_Tfng {zgh / 1e3:.1f} KB): add a source for it or remove it")
    assert not (tmp_path / "t.txt").exists()


def test_no_text_and_unusable_inputs_are_errors_naming_them(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    blank = write_lines(tmp_path / "blank.txt", ["   ", "\t"])
    with pytest.raises(InputError, match=r"no text in the inputs \(empty; blank\)"):
        draw_sample([SampleInput(files=[empty], name="empty"), SampleInput(files=[blank], name="blank")],
                    SampleConfig(), tmp_path / "s.txt", seed=0, progress=False)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"body": "salam"}\n{"body": "labas"}\n')
    good = write_lines(tmp_path / "good.txt", ["salam"])
    with pytest.raises(InputError) as e:
        draw_sample([SampleInput(files=[good], name="good"), SampleInput(files=[wrong], name="tokenizer.sources[1]")],
                    SampleConfig(), tmp_path / "s.txt", seed=0, progress=False)
    assert str(e.value) == (f"tokenizer.sources[1]: none of its 2 records is usable (2 missing_text_field; first at "
                            f"{wrong} line 1); is text_field: text right?")
    with pytest.raises(InputError, match="no input to sample from"):
        draw_sample([], SampleConfig(), tmp_path / "s.txt", seed=0, progress=False)


def test_corpus_run_train_split_language_from_column_and_folder(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    train = tmp_path / "corpus" / "train"
    for lang, tag, col in (("ary_Arab", "ary", "ary_Arab"), ("tzm_Tfng", "zgh", "tzm_Tfng"), ("kab_Latn", "kab", None)):
        (train / lang).mkdir(parents=True)
        texts = lines_of(tag, 20_000)
        table = {"text": texts, "lang": [col] * len(texts)} if col else {"text": texts}
        pq.write_table(pa.table(table), train / lang / "00000.parquet")
    inputs = inputs_from_config(TokenizerConfig(), tmp_path / "corpus")  # the stage folder works as well
    assert [i.language for i in inputs] == ["ary_Arab", "kab_Latn", "zgh_Tfng"]
    assert inputs == inputs_from_config(TokenizerConfig(), train)
    s = draw_sample(inputs, SampleConfig(max_bytes=10_000, alpha=0.0), tmp_path / "s.txt", seed=0, progress=False)
    assert set(s.languages) == {"ary_Arab", "zgh_Tfng", "kab_Latn"}  # tzm_Tfng in the column: zgh_Tfng
    assert bytes_by_tag(sampled(s.path)) == {k[:3]: v.sampled_bytes for k, v in s.languages.items()}
    with pytest.raises(InputError, match="has no <lang>/\\*.parquet shard"):
        inputs_from_config(TokenizerConfig(), tmp_path / "nothing")


def test_local_datasets_folder_as_a_source(tmp_path: Path):
    import datasets

    dev = lines_of("zgh", 3_000, seed=1)
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"sentence": lines_of("zgh", 3_000)}),
                          "dev": datasets.Dataset.from_dict({"sentence": dev})}).save_to_disk(str(tmp_path / "hf"))
    tcfg = TokenizerConfig(sources=[{"dataset": str(tmp_path / "hf"), "split": "dev", "text_field": "sentence",
                                     "language": "tzm_Tfng"}])
    inputs = inputs_from_config(tcfg)
    assert inputs[0].language == "zgh_Tfng" and inputs[0].language_field is None
    s = draw_sample(inputs, tcfg.sample, tmp_path / "s.txt", seed=0, progress=False)
    assert sorted(sampled(s.path)) == sorted(dev) and s.languages["zgh_Tfng"].repeat == 1.0
    bad = TokenizerConfig(sources=[{"dataset": str(tmp_path / "hf"), "split": "test", "text_field": "sentence"}])
    with pytest.raises(InputError, match=r"split 'test' is not in .*hf \(its splits: dev, train\)"):
        draw_sample(inputs_from_config(bad), bad.sample, tmp_path / "s.txt", seed=0, progress=False)
    hub = TokenizerConfig(sources=[{"dataset": "someone/darija", "language": "ary_Arab"}])
    with pytest.raises(InputError, match=r"tokenizer.sources\[0\].dataset: 'someone/darija' is not a folder"):
        inputs_from_config(hub)


def test_csv_and_tsv_with_text_field_and_language_column(tmp_path: Path):
    import csv

    ary, kab = lines_of("ary", 2_000), lines_of("kab", 2_000)
    with open(tmp_path / "tweets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "tweet", "lang"])
        w.writerows([(i, t, "ary_Arab") for i, t in enumerate(ary)] + [(0, "a tweet, with a comma", "")])
    (tmp_path / "news.tsv").write_text("tweet\tlabel\n" + "".join(f"{t}\tx\n" for t in kab), encoding="utf-8")
    tcfg = TokenizerConfig(files=[str(tmp_path / "tweets.csv"), str(tmp_path / "news.tsv")], text_field="tweet",
                           sample={"alpha": 1.0})  # alpha 1 and a budget above the text: every line once
    s = draw_sample(inputs_from_config(tcfg), tcfg.sample, tmp_path / "s.txt", seed=0, progress=False)
    # the `lang` column gives a document's language; an empty cell and a file without the column: und
    assert {k: v.available_lines for k, v in s.languages.items()} == {"ary_Arab": len(ary), "und": len(kab) + 1}
    assert sorted(sampled(s.path)) == sorted([*ary, *kab, "a tweet, with a comma"])


def test_progress_bars_do_not_change_the_sample(tmp_path: Path):
    inputs = three_languages(tmp_path)
    a = draw_sample(inputs, SampleConfig(max_bytes=5_000), tmp_path / "a.txt", seed=0, progress=True)
    b = draw_sample(inputs, SampleConfig(max_bytes=5_000), tmp_path / "b.txt", seed=0, progress=False)
    assert a.path.read_bytes() == b.path.read_bytes()


def test_peak_memory_is_bounded_by_the_budget_not_the_corpus(tmp_path: Path):
    budget = 100_000
    big = tmp_path / "big.txt"
    with open(big, "w", encoding="utf-8") as f:
        for i in range(60):  # 60 × ~92 KB: 5.5 MB, 55× the budget
            f.write("\n".join(lines_of("ary", 92_000, seed=i)) + "\n")
    small = write_lines(tmp_path / "small.txt", lines_of("zgh", 2_000))
    inputs = [SampleInput(files=[big], language="ary_Arab"), SampleInput(files=[small], language="zgh_Tfng")]
    cfg = SampleConfig(max_bytes=budget)
    draw_sample(inputs, cfg, tmp_path / "warm.txt", seed=0, progress=False)  # imports happen outside the trace
    tracemalloc.start()
    try:
        s = draw_sample(inputs, cfg, tmp_path / "s.txt", seed=0, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert big.stat().st_size > 50 * budget and s.bytes <= budget
    assert s.languages["zgh_Tfng"].repeat == 4.0  # small: its whole text 4 times, held once
    assert peak < 3 * budget, f"peak {peak} bytes for a {budget}-byte sample of {big.stat().st_size} bytes"


def test_real_text_three_languages(shared_data: Path, tmp_path: Path):
    sib = shared_data / "sib200"
    tcfg = TokenizerConfig(sources=[{"path": str(sib / f"{lang}/train.tsv"), "language": lang}
                                    for lang in ("ary_Arab", "tzm_Tfng", "kab_Latn")],
                           sample=SampleConfig(max_bytes=100_000, alpha=0.3))
    s = draw_sample(inputs_from_config(tcfg), tcfg.sample, tmp_path / "s.txt", seed=0, progress=False)
    assert set(s.languages) == {"ary_Arab", "zgh_Tfng", "kab_Latn"}
    assert all(v.available_lines == 701 and v.sampled_bytes <= v.target_bytes for v in s.languages.values())
    assert s.bytes == sum(len(line.encode()) for line in sampled(s.path))
    assert all(not i["errors"] for i in s.inputs)


def test_when_everything_fits_no_text_is_given_up_and_small_languages_are_raised():
    # 1 MB + 100 KB + 10 KB fit in 10 MB: nothing is cut; with alpha 0.3 the bigger language keeps its 1 MB and
    # the smaller ones are raised toward p_l × (b_big / p_big), capped at max_repeat × their bytes.
    available = {"big": 1_000_000, "mid": 100_000, "small": 10_000}
    cfg = SampleConfig(alpha=0.3, max_bytes=10_000_000, max_repeat=4.0)
    shares, targets = plan_targets(available, cfg)
    scale = available["big"] / shares["big"]
    assert targets["big"] == 1_000_000
    assert targets["mid"] == int(min(4 * 100_000, shares["mid"] * scale))
    assert targets["small"] == 40_000  # p × scale ≈ 250 KB, capped at 4 × 10 KB
    assert all(targets[k] >= available[k] for k in available)
    # alpha 1: the text as found, once
    assert plan_targets(available, SampleConfig(alpha=1.0, max_bytes=10_000_000))[1] == available
