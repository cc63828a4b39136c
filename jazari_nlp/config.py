"""One YAML file is one experiment.

``load_config`` reads the file, follows ``extends:`` (merged recursively, the child wins; lists are
replaced), applies ``--set key.path=value`` overrides and validates the result against
:class:`ExperimentConfig` before any work starts. Errors name the file, the key path, what was expected, what
was found and, for a misspelt key, the nearest valid one.

Example::

    cfg = load_config("configs/quickstart.yaml", overrides=["train.max_steps=20"])
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from jazari_nlp.corpus.config import CorpusConfig
from jazari_nlp.errors import JazariError
from jazari_nlp.evaluation.config import EvalConfig
from jazari_nlp.overrides import (  # noqa: F401 - re-exported: older imports from here keep working
    MAX_YAML_NODES,
    PATH_KEYS,
    _expanded_size,
    _rebase_value,
    apply_override,
    parse_override,
    safe_load_bounded,
)
from jazari_nlp.schema import ConfigPath, StrictModel
from jazari_nlp.text.registry import LanguageSpec
from jazari_nlp.tokenization.config import TokenizerConfig
from jazari_nlp.training.config import ModelConfig, TrainConfig

STAGES = ("corpus", "tokenizer", "train", "eval")
MAX_SEED = 2**32 - 1


class ExperimentConfig(StrictModel):
    """The whole experiment. Stages run for the sections present, in the order corpus → tokenizer → train → eval."""

    name: str = Field(description="Run name; the run directory is output_dir/name.")
    seed: int = Field(0, strict=True, description="Seed for data splits, initialisation and data order (0 to 2**32 - 1).")
    output_dir: ConfigPath = Field(Path("runs"), description="Folder holding run directories (relative to this file).")
    allow_network: bool = Field(
        False, description="Allow Hub data sets as corpus sources (`hub:`); models are always local folders "
        "(off: nothing is downloaded)."
    )
    run_dir: ConfigPath | None = Field(None, description="Explicit run directory (default: output_dir/name).")
    share_stages: bool = Field(
        True, description="Keep the corpus and tokenizer outputs in a stage store addressed by the hash of their "
        "own config and inputs, so that runs sharing them (a sweep over training settings) reuse them instead of "
        "rebuilding; the run directory links to them. false: every stage inside the run directory."
    )
    stage_store: ConfigPath | None = Field(
        None, description="Folder of the shared stage outputs (default: `_stages` beside the run directory, "
        "e.g. runs/_stages)."
    )
    languages: list[LanguageSpec] = Field(
        default_factory=list, description="Extra language varieties for the registry (code, script, name, aliases)."
    )
    corpus: CorpusConfig | None = None
    tokenizer: TokenizerConfig | None = None
    model: ModelConfig | None = None
    train: TrainConfig | None = None
    eval: EvalConfig | None = None

    @field_validator("languages")
    @classmethod
    def _register(cls, v: list[LanguageSpec]) -> list[LanguageSpec]:
        # Registered while validating, before the sections below (fields validate in order), so that their
        # language codes can be checked against the registry including these varieties.
        from jazari_nlp.text import register_language

        for spec in v:
            register_language(spec)
        return v

    @field_validator("seed")
    @classmethod
    def _seed_range(cls, v: int) -> int:
        # numpy's legacy seeding (which transformers' set_seed calls) takes 0..2**32-1 only; torch more.
        if not 0 <= v <= MAX_SEED:
            raise ValueError(f"must be between 0 and {MAX_SEED} (2**32 - 1, what numpy and torch accept); found {v}")
        return v

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names a folder)")
        return v

    @field_validator("output_dir", "run_dir", "stage_store")
    @classmethod
    def _a_folder(cls, v: Path | None) -> Path | None:
        from jazari_nlp.safety import not_a_folder

        problem = None if v is None else not_a_folder(v)
        if problem:  # found here, before any work, rather than as a traceback when the run directory is made
            raise ValueError(f"{problem}; choose a folder path (it is created if missing)")
        return v

    def resolved_run_dir(self) -> Path:
        return self.run_dir or (self.output_dir / self.name)

    def stages(self) -> list[str]:
        """The stages this experiment runs, in order (train needs both `model` and `train`)."""
        present = {
            "corpus": self.corpus is not None,
            "tokenizer": self.tokenizer is not None,
            "train": self.train is not None,
            "eval": self.eval is not None,
        }
        return [s for s in STAGES if present[s]]

    def to_yaml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def sha256(self) -> str:
        # where shared outputs are kept changes no result: not part of the experiment's identity
        payload = json.dumps(self.model_dump(mode="json", exclude={"share_stages", "stage_store"}), sort_keys=True,
                             ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ConfigError(JazariError):
    """A config that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, file: str | Path, problems: list[str]):
        self.file = str(file)
        self.problems = problems
        super().__init__(f"{self.file}: invalid config\n" + "\n".join(f"  - {p}" for p in problems))


# --------------------------------------------------------------------------------------------------------------
# Reading, composition, overrides


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(path, [f"config file not found: {path}"])
    try:
        data = safe_load_bounded(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(path, [f"not valid YAML: {e}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError(path, [f"not UTF-8 text: {e}"]) from None
    except ValueError as e:
        raise ConfigError(path, [str(e)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, [f"the top level must be a mapping of keys, found {type(data).__name__}"])
    return data


def _merge(base: dict, over: dict, origins: dict[str, Path], src: Path, prefix: str = "") -> dict:
    out = dict(base)
    for key, value in over.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, origins, src, path + ".")
        else:
            out[key] = value
            origins[path] = src
    return out


def _record(data: Any, origins: dict[str, Path], src: Path, prefix: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            origins.setdefault(f"{prefix}{key}", src)
            _record(value, origins, src, f"{prefix}{key}.")


def _compose(path: Path, origins: dict[str, Path], seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML file and everything it extends. Relative paths in each file are made absolute here."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise ConfigError(path, [f"`extends` makes a cycle: {chain}"])
    data = _read_yaml(path)
    parents = data.pop("extends", None) or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConfigError(path, ["`extends` must be a file path or a list of file paths"])
    merged: dict[str, Any] = {}
    for parent in parents:
        parent_path = (path.parent / parent).resolve()
        if not parent_path.is_file():
            raise ConfigError(path, [f"extends: file not found: {parent_path} (paths are relative to {path.parent})"])
        merged = _merge(merged, _compose(parent_path, origins, (*seen, path)), origins, parent_path)
    _rebase_paths(data, path.parent)
    local: dict[str, Path] = {}
    _record(data, local, path)
    merged = _merge(merged, data, origins, path)
    origins.update(local)
    return merged


def _rebase_paths(data: Any, base: Path) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in PATH_KEYS:
                data[key] = _rebase_value(value, base)
            elif key == "tasks" and isinstance(value, list):  # eval tasks: paths are, registry names are not
                data[key] = [_rebase_value(v, base) if isinstance(v, str) and ("/" in v or v.endswith(
                    (".yaml", ".yml"))) else v for v in value]
            else:
                _rebase_paths(value, base)
    elif isinstance(data, list):
        for item in data:
            _rebase_paths(item, base)


def load_raw(path: str | Path, overrides: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """The merged, overridden mapping (not yet validated) and, per key path, the file that set it."""
    path = Path(path)
    origins: dict[str, Path] = {}
    data = _compose(path, origins)
    for text in overrides or []:
        try:
            parts, value = parse_override(text)
            apply_override(data, parts, value, Path.cwd())
        except ValueError as e:
            raise ConfigError(path, [f"--set {text}: {e}"]) from None
        origins[".".join(parts)] = Path("--set")
    return data, origins


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Load, compose, override and validate an experiment config; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    data, origins = load_raw(path, overrides)
    try:
        return ExperimentConfig.model_validate(data, context={"base_dir": path.resolve().parent})
    except ValidationError as e:
        raise ConfigError(path, [_describe(err, origins, path) for err in e.errors()]) from None


# --------------------------------------------------------------------------------------------------------------
# Error messages


def describe_error(err: dict[str, Any], under: tuple[str, ...] = ()) -> str:
    """One pydantic error as a config message (key path, what was wrong, did-you-mean for unknown keys), for a
    model validated on its own: ``under`` is its place in the experiment config, e.g. ``("corpus",)`` for the
    corpus section of ``jazari corpus build --input``; the key path is shown relative to it."""
    text = _describe({**err, "loc": (*under, *err["loc"])}, {}, Path("."))
    prefix = ".".join(under) + "." if under else ""
    return text.removeprefix(prefix)


def _describe(err: dict[str, Any], origins: dict[str, Path], main_file: Path) -> str:
    loc = [str(p) for p in err["loc"]]
    # pydantic puts union-member / discriminator tags into loc; keep only real keys and indexes.
    key_path = ".".join(_clean_loc(loc)) or "(top level)"
    where = _where(key_path, origins, main_file)
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        key = _clean_loc(loc)[-1] if _clean_loc(loc) else loc[-1]
        valid = _valid_keys(ExperimentConfig, _clean_loc(loc)[:-1])
        hint = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
        msg = f"{key_path}: unknown key {key!r}{where}"
        if hint:
            msg += f"; did you mean {hint[0]!r}?"
        if valid:
            msg += f"{'' if hint else '.'} Valid keys here: {', '.join(sorted(valid))}"
        return msg
    if kind == "missing":
        return f"{key_path}: required key is missing{where}; add it to the config"
    expected = err.get("msg", "invalid value")
    if kind == "value_error":  # our own validators already say what was wrong with which value
        return f"{key_path}: {expected.removeprefix('Value error, ')}{where}"
    return f"{key_path}: {expected}; found {_show(found)}{where}"


def _clean_loc(loc: list[str]) -> list[str]:
    out = []
    for part in loc:
        if part.startswith(("function-", "tagged-union", "union[")) or "[" in part and "]" in part:
            continue
        # a tagged union in a list (corpus steps) puts its tag before the entry's own key: steps.3.quality.quality
        if len(out) > 1 and part == out[-1] and out[-2].isdigit():
            continue
        out.append(part)
    return out


def _where(key_path: str, origins: dict[str, Path], main_file: Path) -> str:
    """Where the value at ``key_path`` came from, when not the main file: `` (set in base.yaml)``. A check of a
    whole section (``eval``) also names the keys under it that came from elsewhere (``eval.files from --set``):
    the section's own origin alone would blame the file that first defined it."""
    src = _origin(key_path, origins)
    main = main_file.resolve()
    parts = [f"set in {src}"] if src is not None and src != main else []
    deeper = sorted(k for k, v in origins.items() if k.startswith(key_path + ".") and v != src and v != main)
    if deeper:
        parts.append(", ".join(f"{k} from {origins[k]}" for k in deeper[:3]) + (", ..." if len(deeper) > 3 else ""))
    return f" ({'; '.join(parts)})" if parts else ""


def _origin(key_path: str, origins: dict[str, Path]) -> Path | None:
    parts = key_path.split(".")
    while parts:
        hit = origins.get(".".join(parts))
        if hit is not None:
            return hit
        parts.pop()
    return None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return f"a mapping with keys {sorted(map(str, value))[:8]}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _unwrap(tp: Any) -> list[Any]:
    """The model classes inside an annotation (Optional, list, dict values, Annotated, unions)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, dict):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _valid_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    """Field names (and aliases) valid at a key path, for 'did you mean' hints."""
    models: list[type[BaseModel]] = [model]
    for part in loc:
        if part.isdigit():
            continue
        nxt: list[type[BaseModel]] = []
        for m in models:
            field = m.model_fields.get(part)
            if field is not None:
                nxt.extend(_unwrap(field.annotation))
        if not nxt:
            # A key inside a list of single-key mappings (corpus steps): search every model one level down.
            for m in models:
                for f in m.model_fields.values():
                    for sub in _unwrap(f.annotation):
                        if part in sub.model_fields:
                            nxt.extend(_unwrap(sub.model_fields[part].annotation))
        models = nxt
        if not models:
            return []
    keys: set[str] = set()
    for m in models:
        for name, field in m.model_fields.items():
            keys.add(field.alias or name)
    return sorted(keys)


def dump_yaml(cfg: ExperimentConfig) -> str:
    return yaml.safe_dump(cfg.to_yaml_dict(), sort_keys=False, allow_unicode=True)


def json_schema() -> dict[str, Any]:
    schema = ExperimentConfig.model_json_schema()
    schema["properties"]["extends"] = {
        "description": "Base config file(s) merged under this one (relative to this file).",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jazari_nlp experiment"
    return schema
