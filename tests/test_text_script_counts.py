"""script_counts' translate table gives exactly what the regex definition gives."""

from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.text.script import _LETTER, _SCRIPT_RES, script_counts


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
