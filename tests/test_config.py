"""Experiment configs: validation errors, composition, overrides, paths, schema."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.config import ConfigError, load_config, parse_override

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write(tmp_path / "data" / "a.txt", "salam\nⴰⵣⵓⵍ\n")


def problems(path: Path, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(path, overrides)
    assert exc.value.file == str(path)
    return exc.value.problems


def test_misspelt_section_is_named_with_a_suggestion(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "name: x\ntrian:\n  max_steps: 3\n")
    (msg,) = problems(cfg)
    assert "trian" in msg and "did you mean 'train'?" in msg


def test_misspelt_nested_key_suggests_the_nearest_field(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "name: x\ntrain:\n  learning_rat: 0.1\n")
    (msg,) = problems(cfg)
    assert msg.startswith("train.learning_rat: unknown key")
    assert "did you mean 'learning_rate'?" in msg


def test_wrong_type_names_key_path_expected_and_found(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "name: x\ntrain:\n  learning_rate: fast\n")
    (msg,) = problems(cfg)
    assert msg.startswith("train.learning_rate:")
    assert "valid number" in msg and "'fast' (str)" in msg


def test_missing_data_file_names_the_resolved_path(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "name: x\ntokenizer:\n  files: [missing.txt]\n")
    (msg,) = problems(cfg)
    assert msg.startswith("tokenizer.files.0:")
    assert str(tmp_path / "missing.txt") in msg


def test_missing_required_key(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "seed: 3\n")
    (msg,) = problems(cfg)
    assert msg.startswith("name: required key is missing")


def test_model_needs_exactly_one_source(tmp_path):
    cfg = write(tmp_path / "exp.yaml", "name: x\nmodel: {hidden_size: 64}\n")
    (msg,) = problems(cfg)
    assert "exactly one of `architecture`" in msg


def test_paths_resolve_relative_to_the_config_file(tmp_path, data, monkeypatch):
    monkeypatch.chdir("/")
    cfg = load_config(write(tmp_path / "exp.yaml", "name: x\noutput_dir: out\ntokenizer: {files: [data/a.txt]}\n"))
    assert cfg.output_dir == tmp_path / "out"
    assert cfg.tokenizer.files == [str(data)]
    assert cfg.resolved_run_dir() == tmp_path / "out" / "x"


def test_extends_merges_recursively_and_keeps_base_relative_paths(tmp_path, data):
    write(tmp_path / "base" / "base.yaml",
          "name: base\nseed: 1\noutput_dir: runs\ntrain: {max_steps: 100, learning_rate: 0.001}\n"
          "tokenizer: {files: [../data/a.txt], vocab_size: 500}\n")
    child = write(tmp_path / "child.yaml", "extends: base/base.yaml\nname: child\ntrain: {max_steps: 7}\n")
    cfg = load_config(child)
    assert cfg.name == "child" and cfg.seed == 1
    assert cfg.train.max_steps == 7 and cfg.train.learning_rate == 0.001  # merged, not replaced
    assert cfg.output_dir == tmp_path / "base" / "runs"  # relative to the file that wrote it
    assert cfg.tokenizer.files == [str(data)]


def test_error_in_a_base_file_says_where_it_was_set(tmp_path):
    write(tmp_path / "base.yaml", "name: b\ntrain: {max_stepz: 3}\n")
    child = write(tmp_path / "child.yaml", "extends: base.yaml\n")
    (msg,) = problems(child)
    assert "train.max_stepz" in msg and f"set in {tmp_path / 'base.yaml'}" in msg


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    (msg,) = problems(tmp_path / "a.yaml")
    assert "cycle" in msg


def test_overrides_are_parsed_as_yaml_and_validated(tmp_path):
    cfg_file = write(tmp_path / "exp.yaml", "name: x\ntrain: {max_steps: 100}\n")
    cfg = load_config(cfg_file, ["train.learning_rate=3e-4", "train.max_steps=5", "seed=9"])
    assert cfg.train.learning_rate == pytest.approx(3e-4) and cfg.train.max_steps == 5 and cfg.seed == 9
    (msg,) = problems(cfg_file, ["train.max_steps=many"])
    assert msg.startswith("train.max_steps:") and "--set" in msg
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])


def test_override_with_typo_is_refused(tmp_path):
    cfg_file = write(tmp_path / "exp.yaml", "name: x\n")
    (msg,) = problems(cfg_file, ["trian.max_steps=5"])
    assert "did you mean 'train'?" in msg


def test_hash_changes_with_content_only(tmp_path):
    f = write(tmp_path / "exp.yaml", "name: x\ntrain: {max_steps: 3}\n")
    assert load_config(f).sha256() == load_config(f).sha256()
    assert load_config(f).sha256() != load_config(f, ["train.max_steps=4"]).sha256()


def test_cli_validate_exit_codes(tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: x\ntrian: {}\n")
    res = runner.invoke(app, ["config", "validate", str(bad)])
    assert res.exit_code == 2
    assert "trian" in res.output and "train" in res.output
    good = write(tmp_path / "good.yaml", "name: x\n")
    res = runner.invoke(app, ["config", "validate", str(good)])
    assert res.exit_code == 0 and "ok" in res.output


def test_cli_validate_cross_section_checks(tmp_path):
    f = write(tmp_path / "exp.yaml", "name: x\nmodel: {architecture: llama}\ntrain: {}\n")
    res = runner.invoke(app, ["config", "validate", str(f)])
    assert res.exit_code == 2
    assert "needs a `tokenizer` section" in res.output


def test_cli_show_prints_resolved_yaml(tmp_path):
    import yaml

    f = write(tmp_path / "exp.yaml", "name: x\ntrain: {max_steps: 3}\n")
    res = runner.invoke(app, ["config", "show", str(f), "--set", "train.max_steps=4"])
    assert res.exit_code == 0
    shown = yaml.safe_load(res.output)
    assert shown["train"]["max_steps"] == 4
    assert shown["train"]["learning_rate"] == pytest.approx(3e-4)  # defaults filled in


def test_cli_schema_is_json_schema_with_sections():
    res = runner.invoke(app, ["config", "schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert {"corpus", "tokenizer", "model", "train", "eval", "extends"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_shipped_configs_validate():
    repo = Path(__file__).resolve().parents[1]
    for path in sorted((repo / "configs").glob("*.yaml")):
        if path.name.startswith(("_", "langid")):  # langid recipes have their own schema (tests/test_text_*)
            continue
        load_config(path)
