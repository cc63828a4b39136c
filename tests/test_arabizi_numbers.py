"""Numbers in Arabizi text (times, prices, units, ordinals, codes) stay as written while digits inside Darija
words stay letters; ``jazari translit --raw`` writes one line per record."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.text.arabizi import _LATN_WORD, transliterate

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
runner = CliRunner()


@pytest.mark.parametrize("token", [
    "10h30", "23h59", "19h45", "8h30", "24h", "3h",          # times
    "50dh", "700dh", "25dhs", "2,5kg", "1.5km", "100km/h",  # prices and measures
    "5km", "2m", "2M", "5min", "3ans", "15j",
    "1er", "2eme", "3ème", "2e", "7th",                      # ordinals
    "mp3", "mp4", "h24", "3g", "4G", "5g", "4x4",            # codes
])
def test_number_tokens_are_kept_exactly_as_written(token):
    assert transliterate(token) == token


@pytest.mark.parametrize("latin, arabic", [
    ("3afak", "عافاك"), ("m7al", "محال"), ("9lbi", "قلبي"), ("sa7bi", "ساحبي"), ("2ana", "أنا"),
    ("t9dr", "تقدر"), ("bzzaf", "بزاف"), ("l3ers", "لعرس"), ("7ta", "حتا"), ("lma3qol", "لماعقول"),
    ("ch7al", "شحال"), ("5ouya", "خويا"), ("w9t", "وقت"),
    # a letter-digit and letters that look like a unit or an ordinal, but are Darija words
    ("3nd", "عند"), ("7da", "حدا"), ("3m", "عم"), ("3mm", "عم"), ("7km", "حكم"), ("8ml", "همل"),
    ("3ers", "عرس"), ("3rd", "عرد"), ("9m3", "قمع"), ("39t", "عقت"),
])
def test_digits_inside_darija_words_stay_letters(latin, arabic):
    assert transliterate(latin) == arabic


def test_numbers_in_a_sentence():
    assert transliterate("rah daba 10h30, 3afak") == "راه دابا 10h30، عافاك"
    # the comma of 2,5 is a decimal comma: only the one between words becomes ،
    assert transliterate("chrit 2,5kg b 50dh f 23h59, w 9lbi fer7an") == \
        "شريت 2,5kg ب 50dh ف 23h59، و قلبي فرحان"
    assert transliterate("tel3a b 100km/h; 3 - 0") == "تلعا ب 100km/h؛ 3 - 0"


def test_a_number_glued_to_a_word_keeps_its_digits():
    # 0, 1 and 6 are no Arabizi letter: a run of digits with one of them is a number, the letters around it
    # are still transliterated
    assert transliterate("le360") == "ل360"
    assert transliterate("fi2024") == "في2024"
    assert transliterate("1980's") == "1980س"


def test_no_darija_word_of_doda_is_read_as_a_number():
    folders = [SHARED / "doda_v1" / "semantic categories", SHARED / "doda_v1" / "syntactic categories"]
    if not all(f.is_dir() for f in folders):
        pytest.skip(f"DODa v1 word lists not found under {SHARED / 'doda_v1'} (../shared/data is absent)")
    words: set[str] = set()
    for path in sorted(p for f in folders for p in f.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                for key, cell in row.items():  # n1..n6: the Latin spellings of a word
                    if key and key.startswith("n") and cell:
                        words.update(w for w in _LATN_WORD.findall(cell)
                                     if w[0].isdigit() and any(c.isalpha() for c in w))
    lookalikes = {"3an", "5an", "7da", "5da", "7km", "8ml", "3mm", "3ers", "8ers", "9rd", "3rD", "7d"}
    assert lookalikes <= words  # the word lists hold the Darija words a looser rule would take for numbers
    kept = sorted(w for w in words if transliterate(w) == w)
    assert kept == [], f"{len(kept)} of {len(words)} DODa spellings kept as numbers: {kept[:20]}"


def test_translit_raw_writes_one_line_per_record(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b'id,text\n1,"multi\nline"\n2,wakha\n3,"a\r\nb"\n')
    res = runner.invoke(app, ["translit", str(path), "--raw", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.split("\n") == ["مولتي لين", "واخا", "أ ب", ""]
    # JSON output keeps the record's text and its line break, escaped
    res = runner.invoke(app, ["translit", str(path), "-q"])
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 3
    assert '"translit": "مولتي\\nلين"' in res.stdout


def test_translit_raw_replaces_unicode_line_separators(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "salam\\u2028khoya"}\n{"text": "bzaf\\u0085mzyan\\u2029daba"}\n', encoding="utf-8")
    res = runner.invoke(app, ["translit", str(path), "--raw", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.split("\n") == ["سلام خويا", "بزاف مزيان دابا", ""]
