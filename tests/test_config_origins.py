"""A config error says where the value came from: a check of a whole section names the keys under it that came
from another file or from --set, instead of blaming the file that first defined the section."""

from __future__ import annotations

import pytest

from jazari_nlp.config import ConfigError, load_config


def _files(tmp_path):
    (tmp_path / "posts.jsonl").write_text('{"content": "salam labas"}\n', encoding="utf-8")
    (tmp_path / "t.txt").write_text("salam labas\n", encoding="utf-8")
    (tmp_path / "base.yaml").write_text("name: base\neval:\n  files: [t.txt]\n", encoding="utf-8")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\n", encoding="utf-8")


def test_section_error_names_the_set_key(tmp_path):
    _files(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "child.yaml", [f"eval.files=[{tmp_path / 'posts.jsonl'}]"])
    msg = str(e.value)
    assert "has no field 'text' (its fields: content); set eval.text_field: content" in msg
    assert f"(set in {(tmp_path / 'base.yaml').resolve()}; eval.files from --set)" in msg


def test_section_error_from_the_parent_alone(tmp_path):
    _files(tmp_path)
    (tmp_path / "base.yaml").write_text("name: base\neval:\n  files: [posts.jsonl]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "child.yaml")
    msg = str(e.value)
    assert f"(set in {(tmp_path / 'base.yaml').resolve()})" in msg and "--set" not in msg


def test_error_in_the_main_file_names_no_origin(tmp_path):
    _files(tmp_path)
    (tmp_path / "main.yaml").write_text("name: m\neval:\n  files: [posts.jsonl]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "main.yaml")
    assert "set in" not in str(e.value) and "from --set" not in str(e.value)
