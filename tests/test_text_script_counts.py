"""script_counts' translate table gives exactly what the regex definition gives."""

from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.text.script import _CLASSES, _LETTER, _SCRIPT_RES, _bmp_codes, _ScriptClasses, script_counts


def reference(text: str) -> dict[str, int]:
    total = sum(map(len, _LETTER.findall(text)))
    counts = {name: sum(map(len, rx.findall(text))) for name, rx in _SCRIPT_RES.items()}
    counts["other"] = max(total - sum(counts.values()), 0)
    return counts


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_equals_the_regex_definition(text):
    assert script_counts(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("salam 3likom سلام، ؟٣ ⴰⵣⵓⵍ ⵯ ڭ ε γ ² Ω 日本 _\u064e\u200d")), max_size=40))
def test_equals_on_mixed_scripts(text):
    assert script_counts(text) == reference(text)


def test_examples():
    assert script_counts("salam سلام ⴰⵣⵓⵍ 3") == {"Arab": 4, "Latn": 5, "Tfng": 4, "other": 0}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=64, max_size=300))
def test_long_text_table_path_equals_the_regex_definition(text):
    # 64+ non-ASCII characters take the numpy code-point table, astral characters the translate dict
    assert script_counts(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("سلام، ٣ⴰⵣⵓⵍⵯ ڭ ε γ Ω 日本 _\u064e😀𝐀𐤀\ud800a")), min_size=64, max_size=200))
def test_long_mixed_text_with_astral_and_lone_surrogates(text):
    # a lone surrogate is no letter; 𝐀 (U+1D400) is a letter of no listed script
    assert script_counts(text) == reference(text) == script_counts_by_translate(text)


def script_counts_by_translate(text: str) -> dict[str, int]:
    classes = text.translate(_CLASSES)
    counts = {"Arab": classes.count("A") + classes.count("a"), "Latn": classes.count("L") + classes.count("l"),
              "Tfng": classes.count("T") + classes.count("t")}
    total = len(classes) - classes.count("a") - classes.count("l") - classes.count("t")
    counts["other"] = max(total - sum(counts.values()), 0)
    return counts


def test_code_point_table_matches_the_translate_classes_on_the_whole_bmp():
    codes = _bmp_codes()
    symbols = {None: 0, "A": 1, "a": 2, "L": 3, "l": 4, "T": 5, "t": 6, "O": 7}
    wrong = [cp for cp in range(0x10000) if codes[cp] != symbols[_ScriptClasses().__missing__(cp)]]
    assert wrong == []


def test_long_examples():
    assert script_counts("سلام " * 20) == {"Arab": 80, "Latn": 0, "Tfng": 0, "other": 0}
    assert script_counts("ⴰⵣⵓⵍ 😀 日本 " * 10) == {"Arab": 0, "Latn": 0, "Tfng": 40, "other": 20}
