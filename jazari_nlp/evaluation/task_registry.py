"""The task registry: groups and tags, finding tasks by name (shipped and user folders), and export to lm-eval.

Split from :mod:`jazari_nlp.evaluation.tasks` (the task itself: data, prompts, requests), which re-exports these
names. Example::

    task = load_task("jazari_quick_mc")            # a shipped task by name
    tasks = load_tasks(["sib200", "my_tasks/x.yaml"])   # groups and tags flattened to tasks
    print(export_lm_eval(task))
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.evaluation.task_config import (
    GroupConfig,
    TaskConfig,
    TaskError,
    is_group,
    read_yaml,
    validate,
)
from jazari_nlp.evaluation.task_data import PACKAGE_TASKS, _did_you_mean
from jazari_nlp.evaluation.task_prompts import template_fields
from jazari_nlp.evaluation.task_requests import Task


@dataclass
class TaskInfo:
    """A registry entry, as ``jazari eval tasks`` lists it."""

    name: str
    path: Path
    kind: str  # "task" or "group"
    output_type: str | None = None
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # its tags and the group files that list it
    source: str = "package"  # "package" or the folder it was found in
    description: str = ""
    error: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# Groups and tags


@dataclass
class TaskGroup:
    """A group file (``group`` + ``task: [...]``), a tag, or a folder of tasks; ``tasks()`` flattens it."""

    name: str
    members: list[Task | TaskGroup]
    config: GroupConfig | None = None
    path: Path | None = None
    kind: str = "group"  # "group", "tag" or "folder"

    def check(self) -> None:
        """Each member's :meth:`Task.check` (data, splits, fields), before any work."""
        for t in self.tasks():
            t.check()

    def tasks(self) -> list[Task]:
        out: list[Task] = []
        for m in self.members:
            out += m.tasks() if isinstance(m, TaskGroup) else [m]
        return out

    def aggregate(self, scores: dict[str, dict[str, float]]) -> dict[str, float]:
        """The group's scores from its members' (lm-eval's rule): for each ``aggregate_metric_list`` entry, the
        mean over members, weighted by their sizes (``n``) unless ``weight_by_size: false``; the stderr pooled.

        ``scores`` maps a task (or sub-group) name to ``{"acc": 0.5, "acc_stderr": 0.1, "n": 40, ...}``.
        Example: ``group.aggregate({"a": {"acc": 1.0, "n": 1}, "b": {"acc": 0.0, "n": 3}})`` → ``{"acc": 0.25, ...}``
        """
        out: dict[str, float] = {}
        specs = self.config.aggregate_metric_list if self.config else None
        for spec in specs or []:
            vals, sizes, errs = [], [], []
            for m in self.members:
                s = scores.get(m.name)
                if s is None and isinstance(m, TaskGroup):
                    s = m.aggregate(scores)
                if s and spec.metric in s:
                    vals.append(s[spec.metric])
                    sizes.append(int(s.get("n", 1)))
                    errs.append(s.get(f"{spec.metric}_stderr"))
            if not vals:
                continue
            weights = sizes if spec.weight_by_size else [1] * len(sizes)
            out[spec.metric] = sum(v * w for v, w in zip(vals, weights, strict=True)) / sum(weights)
            if all(e is not None for e in errs):
                if spec.weight_by_size and sum(sizes) > len(sizes):
                    var = sum((n - 1) * e**2 * n for n, e in zip(sizes, errs, strict=True)) / (sum(sizes) - len(sizes))
                    out[f"{spec.metric}_stderr"] = math.sqrt(var / sum(sizes))
                elif not spec.weight_by_size:
                    out[f"{spec.metric}_stderr"] = math.sqrt(sum(e**2 for e in errs)) / len(errs)
            out["n"] = sum(sizes)
        return out


# ---------------------------------------------------------------------------------------------------------------
# Registry


def _folders(search: Iterable[str | Path] | str | Path | None) -> list[tuple[Path, str]]:
    out = [(Path(s).expanduser().resolve(), str(s)) for s in _search_list(search)]
    return out + [(PACKAGE_TASKS, "package")]


def _yaml_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                  and not any(part.startswith((".", "__")) for part in p.relative_to(folder).parts))


@dataclass
class _Entry:
    name: str
    path: Path
    data: dict | None
    source: str
    error: str | None = None


def _index(search=None) -> tuple[dict[str, _Entry], dict[str, list[str]]]:
    """name → entry (earlier folders win: a user's task shadows a shipped one), and tag → task names."""
    names: dict[str, _Entry] = {}
    tags: dict[str, list[str]] = {}
    for folder, source in _folders(search):
        for path in _yaml_files(folder):
            data, error = _read_cached(path)
            if data is None:
                names.setdefault(path.stem, _Entry(path.stem, path, None, source, error))
                continue
            name = data.get("group") if is_group(data) else data.get("task")
            if not isinstance(name, str):
                continue  # an include-only template
            if name not in names:
                names[name] = _Entry(name, path, data, source)
            if not is_group(data):
                for tag in _as_list(data.get("tag")) + _as_list(data.get("group")):
                    if isinstance(tag, str) and name not in tags.setdefault(tag, []):
                        tags[tag].append(name)
    return names, tags


def _search_list(search) -> list:
    return [] if search is None else [search] if isinstance(search, str | Path) else list(search)


_READ_CACHE: dict[tuple[str, int, int], tuple[dict | None, str | None]] = {}


def _read_cached(path: Path) -> tuple[dict | None, str | None]:
    """A registry file's mapping (or its error), read again only when the file changes (a group of 50 tasks
    would otherwise re-read every file for every member)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _READ_CACHE:
        try:
            _READ_CACHE[key] = (read_yaml(path), None)
        except TaskError as e:
            _READ_CACHE[key] = (None, str(e))
    data, error = _READ_CACHE[key]
    return copy.deepcopy(data), error


def _as_list(v: Any) -> list:
    return [] if v is None else [v] if isinstance(v, str) else list(v)


def list_tasks(search: Iterable[str | Path] | str | Path | None = None) -> list[TaskInfo]:
    """Every task and group found in ``search`` folders/files and the shipped tasks, sorted by name.

    Example: ``[t.name for t in list_tasks(["my_tasks/"])]``
    """
    names, _ = _index(search)
    listed: dict[str, list[str]] = {}  # task name -> the group files that list it
    for e in names.values():
        if e.data is not None and is_group(e.data):
            for item in _as_list(e.data.get("task")):
                member = item if isinstance(item, str) else item.get("task") if isinstance(item, dict) else None
                if isinstance(member, str):
                    listed.setdefault(member, []).append(e.name)
    out = []
    for e in names.values():
        d = e.data or {}
        meta = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
        tags = [t for t in _as_list(d.get("tag")) + _as_list(d.get("group") if not is_group(d) else None)
                if isinstance(t, str)]
        out.append(TaskInfo(
            name=e.name, path=e.path, kind="group" if is_group(d) else "task",
            output_type=None if is_group(d) else d.get("output_type", "generate_until"), tags=tags,
            groups=tags + [g for g in listed.get(e.name, []) if g not in tags], source=e.source,
            description=str(meta.get("description", "")), error=e.error))
    return sorted(out, key=lambda t: t.name)


def load_task(name_or_path: str | Path | dict, base_dir: str | Path | None = None, *,
              search: Iterable[str | Path] | str | Path | None = None, allow_network: bool = False,
              overrides: dict | None = None) -> Task | TaskGroup:
    """A task or group by registry name, by file path (relative to ``base_dir``, default the working
    directory), or from a mapping (its data paths relative to ``base_dir``). A folder gives all its tasks; a tag,
    the tasks that carry it. ``overrides`` are task keys set on top of the file's (``{"num_fewshot": 5}``).

    Example: ``load_task("tasks/darija_mc.yaml")`` or ``load_task("belebele_ary", search=["my_tasks"])``
    """
    base = Path(base_dir) if base_dir else Path.cwd()
    if isinstance(name_or_path, dict):
        return _build(dict(name_or_path), None, base, search, allow_network, overrides)
    text = str(name_or_path)
    p = Path(text).expanduser()
    p = p if p.is_absolute() else base / p
    if p.is_file():
        return _build(read_yaml(p), p, p.parent, [p.parent, *_search_list(search)], allow_network, overrides)
    if p.is_dir():
        members: list[Task | TaskGroup] = []
        for f in _yaml_files(p):
            data = read_yaml(f)
            if isinstance(data.get("task"), str) and not is_group(data):
                members.append(_build(data, f, f.parent, [p, *_search_list(search)], allow_network, overrides))
        if not members:
            raise TaskError(p, ["no task files (*.yaml with a `task:` key) in this folder"])
        return TaskGroup(p.name, members, path=p, kind="folder")
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text:
        raise TaskError(p, ["task file not found"])
    return _by_name(text, search, allow_network, overrides)


def _by_name(name: str, search, allow_network: bool, overrides: dict | None) -> Task | TaskGroup:
    names, tags = _index(search)
    if name in names:
        e = names[name]
        if e.data is None:
            raise TaskError(e.path, [e.error or "unreadable task file"])
        return _build(copy.deepcopy(e.data), e.path, e.path.parent, search, allow_network, overrides)
    if name in tags:
        return TaskGroup(name, [_by_name(t, search, allow_network, overrides) for t in tags[name]], kind="tag")
    known = sorted(set(names) | set(tags))
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    raise TaskError(f"task {name!r}", [
        "no task, group or tag of this name" + (f"; did you mean {hint[0]!r}?" if hint else "")
        + " (`jazari eval tasks` lists them; a task file can also be named by its path)"])


def _build(data: dict, path: Path | None, base_dir: Path, search, allow_network: bool,
           overrides: dict | None) -> Task | TaskGroup:
    where = path or f"task {data.get('task') or data.get('group')!s}"
    if is_group(data):
        return _build_group(data, path, base_dir, search, allow_network, overrides)
    for key in ("task_list",):
        data.pop(key, None)
    data = {**data, **(overrides or {})}
    cfg = validate(data, where)
    assert isinstance(cfg, TaskConfig)
    _check_metrics(cfg, where)
    task = Task(cfg, path=path, base_dir=base_dir, allow_network=allow_network, raw=data)
    list(task._templates())  # Jinja2 syntax errors,
    task._source()  # a missing data file or folder, or a Hub id without network: errors now, not mid-run
    task._data_files()
    return task


def _build_group(data: dict, path: Path | None, base_dir: Path, search, allow_network: bool,
                 overrides: dict | None) -> TaskGroup:
    """lm-eval's group rules: keys of the group file that are task keys (num_fewshot, ...) apply to every member;
    a member is a name (task, group or tag), or a mapping: a known name with overrides, or an inline task."""
    task_keys = set(TaskConfig.model_fields) - {"task", "group", "tag", "metadata"}
    shared = {k: data.pop(k) for k in list(data) if k in task_keys}
    where = path or f"group {data.get('group')}"
    cfg = validate(data, where)
    assert isinstance(cfg, GroupConfig)
    shared = {**shared, **(overrides or {})}
    search = ([path.parent] if path else []) + _search_list(search)
    names, tags = _index(search)
    members: list[Task | TaskGroup] = []
    for i, item in enumerate(cfg.task):
        if isinstance(item, str):
            if item not in names and item not in tags:
                hint = difflib.get_close_matches(item, list(names) + list(tags), n=1, cutoff=0.5)
                raise TaskError(where, [f"task.{i}: no task, group or tag named {item!r}"
                                        + (f"; did you mean {hint[0]!r}?" if hint else "")])
            member = _by_name(item, search, allow_network, shared or None)
            # a tag in a group's list stands for its tasks (lm-eval): they are the group's members, aggregated
            members += member.members if isinstance(member, TaskGroup) and member.kind == "tag" else [member]
            continue
        item = dict(item)
        name = item.get("group") if "group" in item else item.get("task")
        if isinstance(name, str) and (name in names or name in tags) and not is_group(item):
            key = "group" if "group" in item else "task"
            extra = {k: v for k, v in item.items() if k != key}
            members.append(_by_name(name, search, allow_network, {**shared, **extra} or None))
        else:  # an inline task or group, its data paths relative to the group file
            members.append(_build({**shared, **item} if not is_group(item) else item, None, base_dir, search,
                                  allow_network, None))
    group = TaskGroup(cfg.group, members, config=cfg, path=path)
    for t in group.tasks():
        t.groups.append(cfg.group)
    return group


def _check_metrics(cfg: TaskConfig, where) -> None:
    """Metric names checked against the shipped metrics (when that module is there), with did-you-mean."""
    if not cfg.metric_list:
        return
    try:
        from jazari_nlp.evaluation.metrics import METRICS
    except ImportError:
        return
    known = list(METRICS)
    bad = [(i, m.metric) for i, m in enumerate(cfg.metric_list) if m.metric not in METRICS]
    if bad:
        raise TaskError(where, [f"metric_list.{i}.metric: unknown metric {name!r}{_did_you_mean(name, known) or '.'}"
                                f" Known: {', '.join(sorted(known))}" for i, name in bad])


def load_tasks(names: Iterable[str | Path], base_dir: str | Path | None = None, *, search=None,
               allow_network: bool = False) -> list[Task]:
    """Several tasks, groups, tags or files, flattened to tasks (each once, in order)."""
    out: list[Task] = []
    seen: set[str] = set()
    for n in names:
        t = load_task(n, base_dir, search=search, allow_network=allow_network)
        for task in t.tasks() if isinstance(t, TaskGroup) else [t]:
            if task.name not in seen:
                seen.add(task.name)
                out.append(task)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Export to lm-eval

# lm-eval 0.4's own metrics whose numbers are jazari's; its `f1` is binary (jazari's is macro: a multi-class task
# fails there), and it has no rouge, cer nor wer: those are left out of an exported metric_list, with a note.
LM_EVAL_METRICS = frozenset({"acc", "acc_norm", "acc_bytes", "acc_mutual_info", "mcc", "exact_match", "perplexity",
                             "word_perplexity", "byte_perplexity", "bits_per_byte", "bleu", "chrf", "chrf++", "ter"})


def export_lm_eval(task: Task | TaskGroup | str, **load_kw) -> str:
    """The task as a YAML file lm-evaluation-harness reads: jazari's extras written as plain templates (renames as
    ``{% set new = old %}``, ``choices_from`` as a list template, ``target_offset`` as arithmetic), data paths
    made absolute. Refused with a reason where lm-eval has no equivalent (``filter_rows``, a ``save_to_disk``
    folder). Example: ``print(export_lm_eval("jazari_example_mc"))``
    """
    import yaml

    if isinstance(task, str):
        task = load_task(task, **load_kw)
    if isinstance(task, TaskGroup):
        if task.config is None:
            raise TaskError(task.name, [f"a {task.kind} is not a group file: export its tasks one by one"])
        g = task.config.model_dump(exclude_none=True, exclude_defaults=False)
        g["task"] = [m.name for m in task.members]
        return yaml.safe_dump(g, sort_keys=False, allow_unicode=True)
    cfg = task.config
    out = cfg.model_dump(exclude_unset=True, exclude_none=True)
    refuse = []
    if cfg.filter_rows:
        refuse.append("filter_rows has no lm-eval equivalent without a Python hook: filter the data file instead")
    kind, target = task._source()
    if kind == "disk":
        refuse.append(f"dataset_path {target} is a save_to_disk folder, which lm-eval cannot read: write it out "
                      "with Dataset.to_json and use dataset_path: json")
    elif kind == "folder":
        out["dataset_path"] = target
    files = task._data_files()
    if isinstance(files, dict) and any(isinstance(v, dict) for v in files.values()):
        refuse.append("parallel text files ({split: {column: file}}) have no lm-eval equivalent: join them into "
                      "one JSON Lines file per split (one field per column)")
    if files is not None:
        out.setdefault("dataset_kwargs", {})["data_files"] = files
    ren = dict(cfg.rename_fields)
    for key in ("rename_fields", "filter_rows", "choices_from", "target_offset", "apply_chat_template",
                "system_instruction", "fewshot_as_multiturn", "group"):
        out.pop(key, None)
    if cfg.group:
        out["tag"] = cfg.tags()
    cols = set(task.columns)

    def plain(spec: Any, key: str) -> Any:
        if not isinstance(spec, str) or not ren:
            return spec
        if spec in ren and spec in cols:
            return ren[spec]
        used = sorted(template_fields(spec) & set(ren))
        bad = [ren[u] for u in used if not ren[u].isidentifier()]
        if bad:
            refuse.append(f"{key}: renamed field(s) {bad} cannot be named in a Jinja2 template")
            return spec
        return "".join(f"{{% set {u} = {ren[u]} %}}" for u in used) + spec

    for key in ("doc_to_text", "doc_to_target", "doc_to_choice", "gen_prefix", "description",
                "doc_to_decontamination_query"):
        if key in out:
            out[key] = plain(out[key], key)
    for key in ("doc_to_text", "doc_to_target", "doc_to_choice", "gen_prefix"):
        if key in out.get("fewshot_config", {}):
            out["fewshot_config"][key] = plain(out["fewshot_config"][key], f"fewshot_config.{key}")
    if cfg.choices_from:
        olds = [ren.get(f, f) for f in cfg.choices_from]
        bad = [f for f in olds if not f.isidentifier()]
        if bad:
            refuse.append(f"choices_from: field(s) {bad} cannot be named in a Jinja2 template")
        out["doc_to_choice"] = ("{{ [" + ", ".join(olds) + "] | reject('none') | map('string') | "
                                "reject('equalto', '') | list }}")
    if cfg.target_offset:
        for holder in [out, out.get("fewshot_config", {})]:
            if "doc_to_target" in holder:
                holder["doc_to_target"] = _offset_template(holder["doc_to_target"], cfg.target_offset, cols, ren,
                                                           refuse)
    dropped = [m.get("metric") for m in out.get("metric_list") or [] if m.get("metric") not in LM_EVAL_METRICS]
    if dropped:
        kept = [m for m in out["metric_list"] if m.get("metric") in LM_EVAL_METRICS]
        if not kept:
            refuse.append(f"metric_list: lm-eval has none of {', '.join(dropped)} (nor jazari's macro f1): add a "
                          f"metric it has ({', '.join(sorted(LM_EVAL_METRICS))})")
        out["metric_list"] = kept
    if refuse:
        raise TaskError(task.where, [f"cannot export to lm-eval: {r}" for r in refuse])
    notes = []
    if dropped:
        notes.append(f"left out of metric_list, lm-eval has no equivalent: {', '.join(dropped)} (jazari eval "
                     "reports them)")
    if cfg.apply_chat_template:
        notes.append("run lm_eval with --apply_chat_template"
                     + (" --fewshot_as_multiturn" if cfg.fewshot_as_multiturn else ""))
    if cfg.system_instruction:
        notes.append(f"and --system_instruction {json.dumps(cfg.system_instruction, ensure_ascii=False)}")
    head = f"# exported by jazari from {task.where}\n" + "".join(f"# {n}\n" for n in notes)
    return head + yaml.dump(out, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=1000)


def _dumper():
    """A SafeDumper writing strings with line breaks double-quoted (``"Q: {{q}}\\nA:"``), as task files are."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value: str):
        style = '"' if "\n" in value or value != value.strip() else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _offset_template(spec: Any, off: int, cols: set[str], ren: dict[str, str], refuse: list[str]) -> Any:
    sign = f"+ {off}" if off > 0 else f"- {-off}"
    if isinstance(spec, int):
        return spec + off
    if not isinstance(spec, str):
        refuse.append("target_offset on a list-valued doc_to_target")
        return spec
    name = ren.get(spec, spec)
    if spec in cols or spec in ren.values():
        if not name.isidentifier():
            refuse.append(f"target_offset: field {name!r} cannot be named in a Jinja2 template")
        return f"{{{{ ({name} | int) {sign} }}}}"
    return f"{{% set _jz_t %}}{spec}{{% endset %}}{{{{ (_jz_t | int) {sign} }}}}"


__all__ = ["TaskGroup", "load_task", "load_tasks", "list_tasks", "export_lm_eval"]
