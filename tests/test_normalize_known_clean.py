"""normalize() on a text the corpus normalize step produced (``remember=True``) skips the steps proven to change
nothing on it (text.normalize._known_clean): the result must equal the full computation, for every profile and
option the pipeline uses (langid's ``newlines="space"``, the match text) and the others."""

import importlib
import unicodedata
from pathlib import Path

import pytest
from datatrove.data import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from jazari_nlp.corpus.builtin_steps.normalize import Normalize, NormalizeStep
from jazari_nlp.corpus.match import match_text
from jazari_nlp.text.langid import prepare, sample_text

N = importlib.import_module("jazari_nlp.text.normalize")  # the module (the package exports the function)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# What the pipeline and the other callers ask of a remembered text.
CALLS = [{}, {"newlines": "space"}, {"profile": "match"}, {"unify_g": True}, {"strip_diacritics": True},
         {"ascii_digits": True}, {"repair": False}, {"profile": "match", "newlines": "keep"},
         {"profile": "match", "unify_g": False, "strip_diacritics": False, "ascii_digits": False}]

# Characters that exercise every step: Arabic letters, look-alikes, hamza forms, diacritics, tatweel, Darija
# letters, digits, Tifinagh (+ labialization mark, joiner), Latin with accents, combining marks, Greek ε γ Γ
# and other Greek, mojibake leads, zero-width and bidi characters, controls, every kind of whitespace.
ALPHABET = list("سلامكيفداربزافۀۂةىأإآٱڭݣگڤپكیي٠١٢۳۴0123ⴰⵣⵓⵍⵯ⵿ⴻⵜabcéèàçÉƐɛɣεγΓαβ.,!?؟،«»-")
ALPHABET += ["\u064b", "\u064e", "\u0651", "\u0652", "\u0654", "\u0655", "\u0670", "\u0640", "\u0301", "\u0300",
             "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202b", "\u2066", "\ufeff", "\u00ad",
             "\u00c3", "\u00c2", "\u00d8", "\u00d9", "\u00a9", "\u00a7", "\u0161", "\u2122", "\u0152", "\u00e2",
             "\u00a0", "\u2028", "\u2029", "\r", "\n", "\t", " ", "\x0b", "\x0c", "\x85", "\x00", "\x1f", "\x7f",
             "\ufffe", "\ud83d", "\u3000", "\u2003", "\u1680"]
TEXTS = st.text(alphabet=st.sampled_from(ALPHABET) | st.characters(), max_size=60)


def full(text: str, **kwargs) -> str:
    """``normalize(text, **kwargs)`` with ``text`` not remembered: every step runs. (Removing it rather than
    copying: the empty and the one-character strings are shared objects.)"""
    held = N._CLEAN.pop(id(text), None)
    try:
        return N.normalize(text, **kwargs)
    finally:
        if held is not None:
            N._CLEAN[id(text)] = held


def check_all_calls(text: str) -> int:
    """Normalize ``text`` as the normalize step does; when remembered, every call on it equals the full one."""
    y = N.normalize(text, remember=True)
    if N._CLEAN.get(id(y)) is not y:
        return 0
    for kwargs in CALLS:
        assert N.normalize(y, **kwargs) == full(y, **kwargs), (y, kwargs)
    sample = sample_text(y, 40)  # the identifier's view of a long text: a new string, normalized in full
    assert N.normalize(sample, newlines="space") == full(sample, newlines="space")
    return 1


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_known_clean_equals_full_computation(text):
    check_all_calls(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=40))
def test_known_clean_long_texts_numpy_paths(parts):
    check_all_calls(" ".join(parts) * 8)  # >= 256 characters: the numpy translate and mark-drop paths


def test_zero_width_between_mojibake_is_repaired_the_second_time():
    # the run removes U+200B only after repair, leaving a fresh mojibake pair: the shortcut must not skip repair
    y = N.normalize("caf\u00c3\u200b\u00a9 \u00c3\u200b\u00a9t\u00c3\u200b\u00a9", remember=True)
    assert y == "caf\u00c3\u00a9 \u00c3\u00a9t\u00c3\u00a9" and N._CLEAN.get(id(y)) is y
    assert N.normalize(y) == full(y) == "café été"
    assert N.normalize(y, "match") == "cafe ete"


def test_repaired_text_is_not_remembered():
    y = N.normalize("Ã˜Â³Ã™â€žÃ˜Â§Ã™â€¦", remember=True)  # double mojibake: repair changes it
    assert N._CLEAN.get(id(y)) is not y
    assert N._CLEAN.get(id(N.normalize("salam\u200f", remember=True))) is not None
    assert N._CLEAN.get(id(N.normalize("salam", "match", remember=True))) is None  # only the train profile


def test_remembered_texts_are_bounded(monkeypatch):
    monkeypatch.setattr(N, "_CLEAN", {})
    monkeypatch.setattr(N, "_CLEAN_CHARS", [0])
    monkeypatch.setattr(N, "_CLEAN_MAX", 3)
    kept = [N.normalize(f"word{i} x\u200b", remember=True) for i in range(5)]
    assert list(N._CLEAN.values()) == kept[2:]
    assert N._CLEAN_CHARS[0] == sum(map(len, kept[2:]))
    monkeypatch.setattr(N, "_CLEAN_MAX_CHARS", 20)
    big = N.normalize("y" * 15 + "\u200b", remember=True)
    assert list(N._CLEAN.values()) == [big] and N._CLEAN_CHARS[0] == 15


def test_tables_never_output_what_the_skipped_steps_remove():
    """The proof's table facts: one pass of the train tables reaches their fixed point, and nothing the tables,
    NFC, the Greek fix or the collapse output is a control, a surrogate or a ZWJ."""
    sets = [("bidi_controls", "zero_width", "tatweel", "arabic_lookalikes"),
            ("bidi_controls", "zero_width", "tatweel", "arabic_lookalikes", "darija_g", "arabic_diacritics",
             "digits", "arabic_match"), ("amazigh_latin",)]
    bad = set(N._CONTROL) | {ord(N._ZWJ)}
    for names in sets:
        table = N._table(*names)
        for src, dst in table.items():
            assert not any(ord(c) in bad for c in dst), (names, src)
            if names != sets[1]:  # the match tables chain (ۃ -> ة -> ه): only the train ones must not
                assert dst != chr(src) and not any(ord(c) in table for c in dst), (names, src)
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in dst)
    train_keys = set(N._table(*sets[0]))
    greek = N._table("amazigh_latin")
    assert not any(ord(c) in train_keys for dst in greek.values() for c in dst)
    # the Greek fix swaps starters that no canonical composition uses, so NFC text stays NFC
    used = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            used.update(int(h, 16) for h in decomposition.split())
    assert not used & bad
    assert not used & ({*greek, *(ord(c) for c in greek.values())} - {0x03B5, 0x03B3, 0x0393})


def test_normalize_step_remembers_and_match_text_reuses():
    doc = Document(text="Salam  ⵣ\u200dⵣ كـــبير!", id="1")
    assert Normalize("normalize", NormalizeStep()).filter(doc) is True
    assert N._CLEAN.get(id(doc.text)) is doc.text
    assert match_text(doc) == full(doc.text, profile="match") == "salam ⵣ\u200dⵣ كبير"


def test_identifier_view_of_a_remembered_text():
    text = "Salam  3likom\u200b!!\n\n\nⵣ\u200dⵣ  وا٣ـــر  \u00c3\u200b\u00a9  γ ε"
    y = N.normalize(text, remember=True)
    assert N._CLEAN.get(id(y)) is y
    held = N._CLEAN.pop(id(y))
    expected = prepare(y)
    N._CLEAN[id(y)] = held
    assert prepare(y) == expected == "salam 3likom ! ! ⵣ \u200d ⵣ وا٣ر é ɣ ε"


def test_real_lines_known_clean_equals_full():
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is absent (the shared third-party data): no real lines to check")
    checked = 0
    for path in sorted(DATA.rglob("*")):
        if path.suffix not in {".txt", ".csv", ".tsv", ".jsonl", ".conllu"} or not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f):
                if i >= 300:
                    break
                checked += check_all_calls(line)
    assert checked > 1000
