"""`jazari config validate configs/langid.yaml` says it is a `jazari langid train` recipe (not 9 "unknown key"
errors); `jazari langid train` on input without labelled records names the input and how to label it (not
fastText's "Empty vocabulary"). Never trains from configs/langid.yaml (that would overwrite the shipped model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app

runner = CliRunner()
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
HOWTO = "label each record: a .tsv with one `label<TAB>text` per line"


@pytest.mark.parametrize("command", [["config", "validate"], ["config", "show"], ["run"]])
def test_a_langid_recipe_is_named_as_such(command: list[str]):
    recipe = CONFIGS / "langid.yaml"
    before = (CONFIGS.parent / "jazari_nlp" / "text" / "models" / "langid_default.ftz").stat().st_mtime_ns
    res = runner.invoke(app, [*command, str(recipe)])
    assert res.exit_code == 2, res.output
    assert f"{recipe}: this is a language-ID training recipe (keys sources, " in res.output
    assert f"not an experiment config: run `jazari langid train {recipe}`" in res.output
    assert "unknown key" not in res.output
    assert (CONFIGS.parent / "jazari_nlp" / "text" / "models" / "langid_default.ftz").stat().st_mtime_ns == before


def test_experiment_configs_are_not_taken_for_recipes(tmp_path: Path):
    res = runner.invoke(app, ["config", "validate", str(CONFIGS / "tokenizer_samples.yaml")])
    assert res.exit_code == 0 and res.output.startswith("ok "), res.output
    stray = tmp_path / "stray.yaml"  # `sources` misplaced at the top of an experiment: the usual errors
    stray.write_text("name: x\nsources: [{path: a.txt}]\nfasttext: {dim: 8}\n", encoding="utf-8")
    res = runner.invoke(app, ["config", "validate", str(stray)])
    assert res.exit_code == 2 and "unknown key 'sources'" in res.output and "langid train" not in res.output


def test_langid_train_on_an_empty_folder_names_it_and_how_to_label(tmp_path: Path):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    res = runner.invoke(app, ["langid", "train", str(empty), "-o", str(tmp_path / "m.ftz")])
    assert res.exit_code == 2
    assert f"langid train: no labelled records found in {empty} (no file in it): {HOWTO}" in res.output
    assert "Empty vocabulary" not in res.output and not (tmp_path / "m.ftz").exists()


def test_langid_train_on_rows_without_labels(tmp_path: Path):
    rows = tmp_path / "rows.csv"
    rows.write_text("text\nwach labas\nsalam khoya\n", encoding="utf-8")
    res = runner.invoke(app, ["langid", "train", str(rows), "-o", str(tmp_path / "m.ftz")])
    assert res.exit_code == 2
    assert (f"no labelled records found in {rows} (none of the rows of its 1 file(s) has both a label and a "
            f"text): {HOWTO}") in res.output


def test_a_recipe_whose_sources_give_nothing(tmp_path: Path):
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    recipe = tmp_path / "lid.yaml"
    recipe.write_text("output: m.ftz\nsources:\n  - {files: [empty.txt], format: txt, label: ary_Latn}\n",
                      encoding="utf-8")
    res = runner.invoke(app, ["langid", "train", str(recipe)])
    assert res.exit_code == 2
    assert f"the recipe's 1 sources give no training record (check their files, text_field and label keys): " \
           f"{HOWTO}" in res.output
    assert not (tmp_path / "m.ftz").exists()


def test_records_with_no_text_left(tmp_path: Path):
    from jazari_nlp.text.langid_train import FastTextParams, train_fasttext

    with pytest.raises(ValueError, match=r"none of the 2 labelled records has text left to learn from"):
        train_fasttext([("ary_Latn", "   "), ("fra_Latn", "")], tmp_path / "m.ftz", FastTextParams())
