"""The balanced, bounded training sample of a tokenizer: lines drawn per language with temperature, seeded.

Two streaming passes over the inputs. Pass 1 counts, per language, the lines and UTF-8 bytes it holds (nothing is
kept). The budget is then shared out: ``p_l ∝ bytes_l ** alpha``, target ``t_l = p_l × min(max_bytes, total)``,
no language above ``max_repeat × bytes_l`` (what a capped language cannot take goes to the others, as in
XLM-R/mT5). Pass 2 draws, per language, a seeded uniform random sample of lines reaching ``t_l`` (a bottom-k
reservoir: the lines with the smallest random keys, packed in a bytearray; memory is bounded by the target, never
by the corpus); a language whose target exceeds its text takes all its lines ``floor(repeat)`` times plus a random
part. The sample is written
shuffled, one line per sentence, with a JSON report beside it.

Example::

    inputs = inputs_from_config(cfg.tokenizer, run_dir / "corpus" / "train")
    sample = draw_sample(inputs, cfg.tokenizer.sample, out / "sample.txt", seed=0)
    print(sample.languages["zgh_Tfng"].sampled_bytes, sample.path)
"""

from __future__ import annotations

import math
import os
import random
import unicodedata
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import SampleConfig, TokenizerConfig

_MASK = (1 << 40) - 1
_PROGRESS_STEP = 1 << 20  # advance the bars every MB: a call per line would cost more than the reading


@dataclass
class SampleInput:
    """One input of the sample: ``files`` (any format the readers know) or a ``dataset`` (a ``save_to_disk``
    folder, or a Hub name when the experiment allows the network). A document's language is its
    ``language_field`` value when set and present, else ``language``, else ``und``."""

    files: list[Path] = field(default_factory=list)
    dataset: str | None = None
    split: str = "train"
    text_field: str = "text"
    language: str | None = None
    language_field: str | None = None
    name: str = ""
    max_documents: int | None = None


@dataclass
class LanguageSample:
    available_lines: int
    available_bytes: int
    share: float  # p_l = bytes_l**alpha / sum(bytes**alpha), before the caps
    target_bytes: int
    sampled_lines: int = 0
    sampled_bytes: int = 0
    repeat: float = 0.0  # sampled_bytes / available_bytes (> 1: the language is repeated)


@dataclass
class Sample:
    path: Path
    languages: dict[str, LanguageSample]
    lines: int
    bytes: int  # UTF-8 bytes of the lines, without their "\n"
    seed: int
    alpha: float
    inputs: list[dict[str, Any]] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)  # bytes of languages that cfg.languages left out
    budget: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "seed": self.seed, "alpha": self.alpha, "lines": self.lines,
                "bytes": self.bytes, "budget": self.budget,
                "languages": {k: asdict(v) for k, v in self.languages.items()},
                "excluded_languages": self.excluded, "inputs": self.inputs}


def canonical_language(code: str) -> str:
    """The registry code of a language (``tzm_Tfng`` → ``zgh_Tfng``), or the code as given when unknown."""
    from jazari_nlp.text.registry import UnknownLanguageError, canonical_code

    try:
        return canonical_code(code)
    except UnknownLanguageError:
        return str(code).strip()


def inputs_from_config(tcfg: TokenizerConfig, corpus_train_dir: Path | None = None,
                       allow_network: bool = False) -> list[SampleInput]:
    """The inputs of ``tcfg``: its ``sources``, else its ``files`` (one input), else the corpus run's train split
    (one input per ``<lang>/`` folder; the ``lang`` column wins). Example: ``inputs_from_config(cfg.tokenizer)``."""
    from jazari_nlp.readers import expand_inputs

    field_ = tcfg.sample.language_field
    if tcfg.sources:
        out = []
        for i, src in enumerate(tcfg.sources):
            key = f"tokenizer.sources[{i}]"
            lang = canonical_language(src.language) if src.language else None
            common = dict(text_field=src.text_field, language=lang, language_field=None if lang else field_,
                          max_documents=tcfg.max_documents)
            if src.dataset is not None:
                if not Path(src.dataset).exists() and not allow_network:
                    raise InputError(f"{key}.dataset: {src.dataset!r} is not a folder on disk; give the folder "
                                     "that datasets.save_to_disk wrote, or set allow_network: true to stream it "
                                     "from the Hub")
                out.append(SampleInput(dataset=src.dataset, split=src.split, name=f"{key} ({src.dataset})", **common))
                continue
            files, _, _ = expand_inputs(src.path)
            if not files:
                raise InputError(f"{key}.path: no file matches {', '.join(src.path)}; check the path or glob")
            out.append(SampleInput(files=files, name=f"{key} ({', '.join(src.path)})", **common))
        return out
    if tcfg.files:
        files, _, _ = expand_inputs(tcfg.files)
        if not files:
            raise InputError(f"tokenizer.files: no file matches {', '.join(tcfg.files)}; check the path or glob")
        return [SampleInput(files=files, text_field=tcfg.text_field, language_field=field_,
                            name=f"tokenizer.files ({', '.join(tcfg.files)})", max_documents=tcfg.max_documents)]
    if corpus_train_dir is None:
        raise InputError("tokenizer: no text to train on: add a `corpus` section, or set tokenizer.files or "
                         "tokenizer.sources")
    root = Path(corpus_train_dir)
    if not any(root.glob("*/*.parquet")) and (root / "train").is_dir():
        root = root / "train"  # the corpus stage folder was given
    folders = sorted({p.parent for p in root.glob("*/*.parquet") if p.is_file()})
    if not folders:
        raise InputError(f"the corpus train split {root} has no <lang>/*.parquet shard: build the corpus first, "
                         "or set tokenizer.files")
    return [SampleInput(files=sorted(d.glob("*.parquet")), language=canonical_language(d.name),
                        language_field="lang", name=f"corpus train {d.name}", max_documents=tcfg.max_documents)
            for d in folders]


# ------------------------------------------------------------------------------------------------ reading


def cut_line(line: str, max_bytes: int) -> list[str]:
    """``line`` cut into pieces of at most ``max_bytes`` UTF-8 bytes: after the last space that fits, else at a
    character boundary; ``"".join(pieces) == line``. Example: ``cut_line("ab cd", 4)`` → ``['ab ', 'cd']``."""
    data = line.encode("utf-8")
    pieces = []
    while len(data) > max_bytes:
        cut = data.rfind(b" ", 1, max_bytes) + 1
        if cut <= 1:  # no space: back up to the start of a character (not a UTF-8 continuation byte)
            cut = max_bytes
            while data[cut] & 0xC0 == 0x80:
                cut -= 1
        pieces.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    pieces.append(data.decode("utf-8"))
    return pieces


def _records(inp: SampleInput, opts) -> Iterator[tuple[str, Any]]:
    """``(where, Item)`` for every record of the input, bad ones included."""
    from jazari_nlp.readers import Item, _row_item, is_dataset_folder, iter_items

    for path in inp.files:
        for item in iter_items(path, opts):
            yield str(path), item
    if inp.dataset is None:
        return
    folder = Path(inp.dataset)
    if folder.exists():
        if (folder / "dataset_dict.json").is_file():  # a DatasetDict: one folder per split
            if not is_dataset_folder(folder / inp.split):
                splits = sorted(p.name for p in folder.iterdir() if is_dataset_folder(p))
                raise InputError(f"{inp.name}: split {inp.split!r} is not in {folder} (its splits: "
                                 f"{', '.join(splits)}); set split to one of them")
            folder = folder / inp.split
        for item in iter_items(folder, opts):
            yield str(folder), item
        return
    import datasets  # a Hub data set, streamed (inputs_from_config only lets it through with allow_network)

    n = 0
    try:
        for n, row in enumerate(datasets.load_dataset(inp.dataset, split=inp.split, streaming=True), 1):
            yield f"hub:{inp.dataset}", _row_item(row, n, opts, "")
    except Exception as e:  # noqa: BLE001 - a stream failing part-way is one bad record, like a file
        yield f"hub:{inp.dataset}", Item("", 0, error="unreadable_file", extra={"error": f"{type(e).__name__}: {e}"})


def _lines(inp: SampleInput, max_line_bytes: int, stats: dict, bar) -> Iterator[tuple[str, bytes]]:
    """``(language, UTF-8 line)`` for every non-blank line of the input's documents, long lines cut; ``stats``
    counts documents, lines, bytes, blank and cut lines and bad records (by reason, with the first one's place)."""
    from jazari_nlp.readers import ReadOptions

    keep = (inp.language_field,) if inp.language_field else ()
    opts = ReadOptions(text_field=inp.text_field, id_field=None, keep_fields=keep)
    codes: dict[str, str] = {}
    pending = 0
    for where, item in _records(inp, opts):
        if inp.max_documents is not None and stats["documents"] >= inp.max_documents:
            break
        stats["records"] += 1
        if item.error:
            stats["errors"][item.error] = stats["errors"].get(item.error, 0) + 1
            stats.setdefault("first_error", {"file": where, "line": item.line})
            continue
        stats["documents"] += 1
        raw = item.fields.get(inp.language_field) if inp.language_field else None
        raw = raw if isinstance(raw, str) and raw.strip() else (inp.language or "und")
        lang = codes.get(raw) or codes.setdefault(raw, canonical_language(raw))
        text = item.text
        if not unicodedata.is_normalized("NFC", text):  # every tokenizer normalizer starts with NFC: the sample is
            text = unicodedata.normalize("NFC", text)    # NFC already, so the trainer need not copy it
        # splitlines: every line break any reader knows (\r, \x85, U+2028...), so the file reads back line by line
        for line in text.splitlines():
            if not line.strip():
                stats["blank_lines"] += 1
                continue
            try:
                data = line.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates (scraped tweets): not encodable, dropped
                from jazari_nlp.readers import _SURROGATE

                line = _SURROGATE.sub("", line)
                data = line.encode("utf-8")
            if len(data) > max_line_bytes:
                cut = cut_line(line, max_line_bytes)
                pieces = [p.encode("utf-8") for p in cut if p.strip()]
                stats["cut_lines"] += 1
                stats["blank_lines"] += len(cut) - len(pieces)  # a piece of a long run of spaces
            else:
                pieces = [data]
            for piece in pieces:
                stats["lines"] += 1
                stats["bytes"] += len(piece)
                pending += len(piece)
                yield lang, piece
        if bar is not None and pending >= _PROGRESS_STEP:
            bar(pending)
            pending = 0
    if bar is not None:
        bar(pending)


def _new_stats(inp: SampleInput) -> dict:
    return {"name": inp.name, "records": 0, "documents": 0, "lines": 0, "bytes": 0, "blank_lines": 0,
            "cut_lines": 0, "errors": {}, "languages": {}}


# ------------------------------------------------------------------------------------------------ budget


def plan_targets(available: dict[str, int], cfg: SampleConfig) -> tuple[dict[str, float], dict[str, int]]:
    """``(shares, target bytes)`` per language: ``p_l ∝ bytes_l ** alpha`` of ``min(max_bytes, total)``, no
    language above ``max_repeat × bytes_l`` (its excess shared by the others in proportion to their ``p``).
    When the whole text fits in ``max_bytes``, none of it is given up: every language keeps all its text and the
    smaller ones are repeated toward their share (at most ``max_repeat`` times), if that still fits.
    Example: ``plan_targets({"a": 10**6, "b": 10**4}, SampleConfig(alpha=0, max_bytes=100_000))[1]``
    → ``{'a': 60000, 'b': 40000}``."""
    langs = [k for k, b in available.items() if b > 0]
    weights = {k: available[k] ** cfg.alpha for k in langs}
    shares = {k: w / sum(weights.values()) for k, w in weights.items()}
    total = sum(available[k] for k in langs)
    if total <= cfg.max_bytes:
        # Everything fits: no text is given up; the smaller languages are raised toward their share of the
        # budget at which no language would be cut (at most max_repeat times), if that still fits.
        scale = max(available[k] / shares[k] for k in langs)
        kept = {k: max(float(available[k]), min(cfg.max_repeat * available[k], shares[k] * scale)) for k in langs}
        if sum(kept.values()) <= cfg.max_bytes:
            return shares, {k: int(math.floor(kept[k] + 1e-6)) for k in langs}
    budget = float(min(cfg.max_bytes, total))
    targets: dict[str, float] = {}
    free = list(langs)  # a list, not a set: the same order (and float sums) in every process
    while free:  # water-filling: cap whoever exceeds, share the rest again
        left = budget - sum(targets.values())
        norm = sum(shares[k] for k in free)
        over = [k for k in free if left * shares[k] / norm > cfg.max_repeat * available[k]]
        if not over:
            targets.update({k: left * shares[k] / norm for k in free})
            break
        for k in over:
            targets[k] = cfg.max_repeat * available[k]
            free.remove(k)
    return shares, {k: int(math.floor(targets[k] + 1e-6)) for k in langs}


def _human(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


class _Store:
    """Lines packed in one bytearray, with their end offsets and random keys: ~16 bytes of bookkeeping a line,
    where a bytes object in a tuple costs ~120 (a sample of short lines would weigh ten times its text)."""

    def __init__(self):
        self.data, self.ends, self.keys = bytearray(), array("Q"), array("d")

    def add(self, line: bytes, key: float = 0.0) -> None:
        self.data += line
        self.ends.append(len(self.data))
        self.keys.append(key)

    def span(self, i: int) -> tuple[int, int]:
        return (self.ends[i - 1] if i else 0), self.ends[i]

    def keep(self, rows: list[int]) -> None:
        """Keep only the lines ``rows`` (ascending), moved down in place: no second copy of the text."""
        ends, keys, pos = array("Q"), array("d"), 0
        for i in rows:
            a, b = self.span(i)
            self.data[pos:pos + b - a] = self.data[a:b]
            pos += b - a
            ends.append(pos)
            keys.append(self.keys[i])
        del self.data[pos:]
        self.ends, self.keys = ends, keys


class _Draw:
    """A bottom-k reservoir by bytes: the lines with the smallest random keys, taken in key order while they fit
    ``max_bytes`` and ``max_lines`` (a uniform random sample of the language). Only keys under ``theta`` are
    stored: pass 1's counts set it a few standard deviations above ``max_bytes / available bytes``, so the store
    holds about the target; should it reach 1.5× the budget it is cut to the prefix and ``theta`` lowered to the
    first key left out (no later line keyed above can enter the prefix)."""

    def __init__(self, max_bytes: int, max_lines: int, theta: float = 2.0):
        self.max_bytes, self.max_lines, self.store = max_bytes, max_lines, _Store()
        self.theta = theta if max_bytes > 0 and max_lines > 0 else -1.0

    def offer(self, key: float, line: bytes) -> None:
        if key < self.theta:
            self.store.add(line, key)
            if len(self.store.data) > 1.5 * self.max_bytes + 4096 or len(self.store.ends) > 1.5 * self.max_lines + 64:
                self.trim()

    def trim(self) -> _Store:
        import numpy as np  # argsort over the packed arrays: no Python object per line

        store = self.store
        keys = np.frombuffer(store.keys, dtype=np.float64)
        order = np.argsort(keys, kind="stable")
        sizes = np.diff(np.frombuffer(store.ends, dtype=np.uint64), prepend=np.uint64(0))[order]
        np.cumsum(sizes, out=sizes)
        n = min(int(np.searchsorted(sizes, self.max_bytes, side="right")), self.max_lines)
        if n < len(order):
            self.theta = float(keys[order[n]])
        rows = order[:n]
        rows.sort()
        del keys, sizes  # release the view before the arrays are replaced
        store.keep(rows)
        return store


def _theta(target: int, available: int, sumsq: int) -> float:
    """The key under which lines are kept: target/available plus 6 standard deviations of the bytes drawn (a
    shortfall is then too rare to matter; the sample would only be a little smaller)."""
    rate = target / available
    return min(2.0, 1.02 * rate + 6 * math.sqrt(rate * sumsq) / available)


# ------------------------------------------------------------------------------------------------ sample


def draw_sample(inputs: list[SampleInput], cfg: SampleConfig, out_file: Path, *, seed: int,
                progress: bool = True) -> Sample:
    """Write the balanced sample of ``inputs`` to ``out_file`` (and its report to ``out_file.with_suffix('.json')``).

    Example: ``draw_sample([SampleInput(files=[Path("ary.txt")], language="ary_Arab")], SampleConfig(),
    Path("sample.txt"), seed=0).lines``"""
    from jazari_nlp.runs import write_json

    if not inputs:
        raise InputError("tokenizer: no input to sample from: set tokenizer.files or tokenizer.sources")
    wanted = [canonical_language(k) for k in cfg.languages] if cfg.languages else None
    with _bars(progress) as add_bar:
        # pass 1: count, keep nothing
        bar = add_bar("sample: counting", sum(_disk_size(i) for i in inputs))
        counts: dict[str, list[int]] = {}
        stats_list = []
        for inp in inputs:
            stats = _new_stats(inp)
            for lang, line in _lines(inp, cfg.max_line_bytes, stats, bar):
                c = counts.setdefault(lang, [0, 0, 0])  # lines, bytes, sum of squared line bytes
                c[0] += 1
                c[1] += len(line)
                c[2] += len(line) ** 2
                stats["languages"][lang] = stats["languages"].get(lang, 0) + len(line)
            if stats["records"] and stats["records"] == sum(stats["errors"].values()):
                first = stats["first_error"]
                reasons = ", ".join(f"{n} {k}" for k, n in stats["errors"].items())
                raise InputError(f"{inp.name}: none of its {stats['records']} records is usable ({reasons}; first "
                                 f"at {first['file']} line {first['line']})"
                                 + (f"; is text_field: {inp.text_field} right?" if "missing_text_field"
                                    in stats["errors"] else ""))
            stats_list.append(stats)
        found = ", ".join(f"{k} {_human(c[1])}" for k, c in sorted(counts.items(), key=lambda kv: -kv[1][1]))
        if not counts:
            raise InputError(f"tokenizer: no text in the inputs ({'; '.join(i.name for i in inputs)}): every "
                             "document is empty; check the files and text_field")
        for k in wanted or ():
            if k not in counts:
                raise InputError(f"tokenizer.sample.languages: {k} has no text in the inputs (found: {found}): "
                                 "add a source for it or remove it")
        kept = {k: c for k, c in counts.items() if wanted is None or k in wanted}
        shares, targets = plan_targets({k: c[1] for k, c in kept.items()}, cfg)
        max_lines = {k: 1 << 62 for k in kept}
        if cfg.max_lines is not None:  # all targets scaled by one factor (shares kept) so the expected lines fit,
            # and max_lines shared in proportion to them, so that the sample never holds more
            expected = {k: targets[k] * kept[k][0] / kept[k][1] for k in kept}
            if sum(expected.values()) > cfg.max_lines:
                targets = {k: int(t * cfg.max_lines / sum(expected.values())) for k, t in targets.items()}
                expected = {k: targets[k] * kept[k][0] / kept[k][1] for k in kept}
            max_lines = {k: int(e * cfg.max_lines / sum(expected.values())) for k, e in expected.items()}

        # pass 2: draw
        copies = {k: targets[k] // kept[k][1] for k in kept}
        full = {k: _Store() for k in kept if copies[k] >= 1}
        rest = {k: targets[k] - copies[k] * kept[k][1] for k in kept}
        draws = {k: _Draw(rest[k], max_lines[k] - copies[k] * kept[k][0], _theta(rest[k], kept[k][1], kept[k][2]))
                 for k in kept}
        rngs = {k: random.Random(f"{seed}:{k}") for k in kept}  # per language: one's sample ignores the others
        bar = add_bar("sample: drawing", sum(c[1] for c in counts.values()))
        for inp in inputs:
            for lang, line in _lines(inp, cfg.max_line_bytes, _new_stats(inp), bar):
                if lang in kept:
                    if lang in full:
                        full[lang].add(line)
                    draws[lang].offer(rngs[lang].random(), line)

    languages: dict[str, LanguageSample] = {}
    parts: list[tuple[_Store, int]] = []  # (lines, how many times each)
    for k in sorted(kept, key=lambda k: -kept[k][1]):
        part = draws[k].trim()
        parts += [(full[k], copies[k]), (part, 1)] if k in full else [(part, 1)]
        nbytes = copies[k] * kept[k][1] + len(part.data)
        languages[k] = LanguageSample(kept[k][0], kept[k][1], round(shares[k], 6), targets[k],
                                      copies[k] * kept[k][0] + len(part.ends), nbytes, round(nbytes / kept[k][1], 6))
    order = array("Q")  # part << 40 | line: 8 bytes a line, shuffled in place
    for pi, (store, times) in enumerate(parts):
        for _ in range(times):
            order.extend(range(pi << 40, (pi << 40) + len(store.ends)))
    random.Random(f"{seed}:shuffle").shuffle(order)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.tmp")
    views = [memoryview(store.data) for store, _ in parts]
    try:
        with open(tmp, "wb") as f:
            for code in order:
                a, b = parts[code >> 40][0].span(code & _MASK)
                f.write(views[code >> 40][a:b])
                f.write(b"\n")
        os.replace(tmp, out_file)
    finally:
        tmp.unlink(missing_ok=True)
        for v in views:
            v.release()
    sample = Sample(out_file, languages, len(order), sum(v.sampled_bytes for v in languages.values()), seed,
                    cfg.alpha, inputs=stats_list, excluded={k: c[1] for k, c in counts.items() if k not in kept},
                    budget={"max_bytes": cfg.max_bytes, "max_lines": cfg.max_lines, "max_repeat": cfg.max_repeat,
                            "max_line_bytes": cfg.max_line_bytes, "languages": wanted})
    write_json(out_file.with_suffix(".json"), sample.to_json())
    return sample


def _disk_size(inp: SampleInput) -> int:
    paths = [*inp.files, *([Path(inp.dataset)] if inp.dataset and Path(inp.dataset).exists() else [])]
    return sum(f.stat().st_size if f.is_file() else sum(p.stat().st_size for p in f.rglob("*") if p.is_file())
               for f in paths)


@contextmanager
def _bars(on: bool) -> Iterator[Callable[[str, int], Callable[[int], None] | None]]:
    """``add(label, total)`` → a function advancing a new rich bar in bytes (None when ``on`` is false)."""
    if not on:
        yield lambda label, total: None
        return
    from rich.progress import DownloadColumn, Progress

    with Progress(*Progress.get_default_columns(), DownloadColumn(), transient=True) as bar:
        def add(label: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=max(total, 1))
            return lambda n: bar.advance(task, n)

        yield add
