"""Building blocks shared by every config section.

Every section is a :class:`StrictModel`: unknown keys are errors, so a typo never passes silently.
Paths are resolved relative to the YAML file that holds them; the loader passes that folder to pydantic as
validation context (``{"base_dir": Path}``).

Example::

    class TokenizerConfig(StrictModel):
        files: list[InputGlob] = []
        vocab_size: PositiveInt = 8000
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, model_validator

GLOB_CHARS = set("*?[")


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are rejected, values are re-checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def _base_dir(info: ValidationInfo) -> Path:
    ctx = info.context or {}
    return Path(ctx.get("base_dir") or os.getcwd())


def _resolve(value: Path | str, info: ValidationInfo) -> Path:
    p = Path(os.path.expanduser(str(value)))
    if not p.is_absolute():
        p = _base_dir(info) / p
    return Path(os.path.normpath(p))


def _resolve_existing(value: Path | str, info: ValidationInfo) -> Path:
    p = _resolve(value, info)
    if not p.exists() and not (info.context or {}).get("skip_exists"):
        raise ValueError(f"path does not exist: {p}")
    return p


def _resolve_glob(value: str, info: ValidationInfo) -> str:
    """Resolve a path or glob; a plain path (no wildcard) must exist, a glob is checked when it is read."""
    p = _resolve(value, info)
    s = str(p)
    if not GLOB_CHARS & set(s) and not p.exists() and not (info.context or {}).get("skip_exists"):
        raise ValueError(f"file not found: {s}")
    return s


# A path resolved relative to the config file (may not exist yet: outputs).
ConfigPath = Annotated[Path, AfterValidator(_resolve)]
# A path that must exist when the config is validated (inputs).
ExistingPath = Annotated[Path, AfterValidator(_resolve_existing)]
# A file path or glob (``data/*.jsonl``), resolved relative to the config file; a plain path must exist.
InputGlob = Annotated[str, AfterValidator(_resolve_glob)]


def expand_globs(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """Expand resolved patterns into sorted unique files; also return the patterns that matched nothing."""
    files: list[Path] = []
    seen: set[str] = set()
    empty: list[str] = []
    for pat in patterns:
        # a path that exists is itself, even when its name has glob characters ("tweets [2023].tsv")
        matches = sorted(glob.glob(pat, recursive=True)) if GLOB_CHARS & set(pat) and not os.path.exists(pat) else [pat]
        matches = [m for m in matches if os.path.isfile(m)]
        if not matches:
            empty.append(pat)
        for m in matches:
            if m not in seen:
                seen.add(m)
                files.append(Path(m))
    return files, empty


class TextFilesSection(StrictModel):
    """A section that reads text from files (``files_key``, default ``files``) under ``text_field``: the files'
    headers or first rows are checked when the config is validated, so a field the files lack is an error naming
    the file and its columns before any work (instead of reading nothing, or every row as an error)."""

    files_key: ClassVar[str] = "files"
    section: ClassVar[str] = ""

    @model_validator(mode="after")
    def _files_have_field(self, info: ValidationInfo):
        files = getattr(self, self.files_key, None)
        if files and not (info.context or {}).get("skip_exists"):
            from jazari_nlp.corpus_layout import resolve
            from jazari_nlp.readers import expand_inputs, files_field_problems

            # a corpus run stands for its shards of one split: heldout for evaluation, train otherwise
            # (tokenizer.sources reads corpus runs its own way: tokenizer.files are plain files)
            files, missing = resolve(files, "heldout" if self.section == "eval" else "train") \
                if self.section in ("train", "eval") else (files, [])
            if missing:
                raise ValueError(f"{self.files_key}: {', '.join(missing)} is a corpus run without its "
                                 f"{'heldout' if self.section == 'eval' else 'train'} split: build its corpus first")

            # a glob that matches nothing stops the stage later (any of them, for benchmarks): say it now
            found, empty, _ = expand_inputs(files)
            if not found or (empty and self.files_key == "benchmarks"):
                raise ValueError(f"{self.files_key}: no file matches {', '.join(empty)}; check the path or glob "
                                 "(relative to the config file)")
            field_name = self.checked_field()
            problems = files_field_problems(files, field_name, self.section) if field_name else []
            if problems:
                raise ValueError("; ".join(problems[:3]))
        return self

    def checked_field(self) -> str | None:
        """The field every file must have (None: the section's reader checks its own fields)."""
        return self.text_field
