"""YAML read with bounded aliases, and ``--set key.path=value`` overrides of a raw config mapping.

Below every config module (the experiment's and the corpus builder's ``--input`` config both apply overrides),
so that none of them imports another one back. ``jazari_nlp.config`` re-exports these names.

Example: ``parse_override("train.learning_rate=3e-4")`` → ``(['train', 'learning_rate'], 0.0003)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# A YAML alias repeats a whole subtree without writing it again: nine nested lists of nine aliases ("billion
# laughs") are 1 KB of text and 9**9 nodes once walked. Configs are small; a document whose aliases expand past
# this many nodes is refused before anything walks it.
MAX_YAML_NODES = 100_000


def safe_load_bounded(text: str) -> Any:
    """``yaml.safe_load`` that raises ``ValueError`` when aliases expand past ``MAX_YAML_NODES`` or make a loop.

    The check runs on PyYAML's node graph, where an alias is one shared node, so it costs one pass over the
    text's own nodes. Example: ``safe_load_bounded("a: &x [1, 2]\nb: *x")`` → ``{'a': [1, 2], 'b': [1, 2]}``.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            size = _expanded_size(node, {}, set())
        except RecursionError:
            raise ValueError("YAML nested too deeply (or aliases make a loop): flatten the document") from None
        if size > MAX_YAML_NODES:
            raise ValueError(f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes (anchors repeating "
                             "anchors): write the values out, or share a base file with `extends:`")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    """Number of nodes ``node`` stands for once every alias is expanded (stops counting past the limit)."""
    if isinstance(node, yaml.ScalarNode):
        return 1
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise ValueError("YAML aliases make a loop (an anchor used inside itself): remove the alias")
    active.add(key)
    children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
    total = 1
    for child in children:
        total += _expanded_size(child, memo, active)
        if total > MAX_YAML_NODES:
            break
    active.discard(key)
    memo[key] = total
    return total


# Keys whose values are paths: they are made absolute against the file that wrote them, so that a base
# config's relative paths keep meaning what they meant in the base file.
PATH_KEYS = {"output_dir", "run_dir", "stage_store", "path", "paths", "files", "model_path", "benchmarks", "input"}



def _rebase_value(value: Any, base: Path) -> Any:
    if isinstance(value, str) and value and "://" not in value and not value.startswith(("hf:", "hub:")):
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else base / p)
    if isinstance(value, list):
        return [_rebase_value(v, base) for v in value]
    return value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.learning_rate=3e-4"`` → (["train", "learning_rate"], 0.0003). Values are read as YAML."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like key.path=value")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ValueError(f"override {text!r} has an empty key")
    try:
        value = safe_load_bounded(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_override(data: dict, parts: list[str], value: Any, cwd: Path) -> None:
    """Set ``data[parts[0]][parts[1]]... = value`` in a raw config mapping (lists indexed by number); path
    values are made absolute against ``cwd``. Used for ``--set`` on experiments and on ``corpus build --input``."""
    node = data
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"cannot set {'.'.join(parts)}: {part!r} is not inside a mapping")
        if not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if parts[-1] in PATH_KEYS:
        value = _rebase_value(value, cwd)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ValueError(f"cannot set {'.'.join(parts)}")
