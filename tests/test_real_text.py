"""On real text nobody here wrote (../shared/data): skipped, with the reason, where that folder is absent."""

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path

from jazari_nlp.text import normalize


def tsv_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]


def test_normalize_keeps_every_tifinagh_letter_of_real_text(shared_data):
    for text in tsv_texts(shared_data / "sib200" / "tzm_Tfng" / "dev.tsv"):
        out = normalize(text)
        tif = [c for c in text if "\u2d30" <= c <= "\u2d7f"]
        assert [c for c in out if "\u2d30" <= c <= "\u2d7f"] == tif
        assert normalize(out) == out


def test_byte_bpe_round_trips_real_darija_and_tifinagh(shared_data, tmp_path):
    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import train_tokenizer

    texts = tsv_texts(shared_data / "sib200" / "ary_Arab" / "train.tsv")
    texts += tsv_texts(shared_data / "sib200" / "tzm_Tfng" / "train.tsv")
    tok, _ = train_tokenizer(TokenizerConfig(vocab_size=1000), texts, tmp_path / "tok", progress=False)
    for text in tsv_texts(shared_data / "sib200" / "tzm_Tfng" / "dev.tsv")[:50]:
        assert tok.decode(tok(text)["input_ids"]) == unicodedata.normalize("NFC", text)  # NFC only, never NFKC


def test_default_corpus_pipeline_on_real_files_accounts_for_everything(shared_data, tmp_path):
    from jazari_nlp.corpus.build import build_corpus
    from jazari_nlp.corpus.config import CorpusConfig

    cfg = CorpusConfig.model_validate(
        {
            "sources": [
                {"name": "kabyle", "paths": [str(shared_data / "kabyle_cc0" / "wiki_00.txt")],
                 "document_per": "paragraph", "license": "CC0-1.0"},
                {"name": "flores_zgh", "paths": [str(shared_data / "sib200" / "tzm_Tfng" / "dev.tsv")],
                 "license": "CC-BY-SA-4.0"},
                {"name": "flores_ary", "paths": [str(shared_data / "sib200" / "ary_Arab" / "dev.tsv")],
                 "license": "CC-BY-SA-4.0"},
            ],
            # real sentences are short: quality thresholds for web pages would drop them all
            "steps": ["repair", "normalize", "langid", "exact_dedup", "pii"],
            "heldout_fraction": 0.1,
        }
    )
    build_corpus(cfg, tmp_path / "out", progress=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["documents_read"] == manifest["documents_kept"] + sum(manifest["rejected"].values())
    assert manifest["documents_read"] > 1000
    from jazari_nlp.corpus import corpus_files
    from jazari_nlp.textio import iter_rows

    rows = list(iter_rows(corpus_files(tmp_path / "out", "train") + corpus_files(tmp_path / "out", "heldout"),
                          ["lang", "source"]))
    by_source = {src: Counter(r["lang"] for r in rows if r["source"] == src) for src in ("kabyle", "flores_zgh")}
    # FLORES-200's tzm_Tfng is recognised as Standard Moroccan Tamazight, the Kabyle wiki as Kabyle
    assert by_source["flores_zgh"].most_common(1)[0][0] == "zgh_Tfng"
    assert by_source["kabyle"].most_common(1)[0][0] == "kab_Latn"
