"""Training the language identifier: labelled files in, a small fastText model out.

The recipe is a YAML file (``configs/langid.yaml``) whose keys are exactly :class:`LangIdTrainConfig`:
a list of sources (files, how to read them, which label), held-out shares kept for evaluation, per-label
balancing and the fastText knobs. ``jazari langid train DATA`` trains on plain labelled TSV/JSONL
instead (columns ``label`` and ``text``).

Example::

    >>> cfg = load_train_config("configs/langid.yaml")
    >>> train_langid(cfg)                      # writes jazari_nlp/text/models/langid_default.ftz
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from jazari_nlp.schema import ConfigPath, InputGlob, StrictModel, expand_globs
from jazari_nlp.text.registry import LanguageSpec, canonical_code, register_language
from jazari_nlp.text.script import dominant_script

csv.field_size_limit(sys.maxsize)


class LangIdSource(StrictModel):
    """One labelled source. The label is ``label`` (fixed), or read from ``label_field``, the parent
    folder (``label_from: parent_dir``, sib200/<lang>/train.tsv) or the file stem (``label_from: stem``);
    ``by_script`` overrides it per dominant script (tweets: ``{Arab: ary_Arab, Latn: ary_Latn}``).

    ``holdout`` (dev share) and ``stage_holdout`` (share that fits the Arabic stage, see
    :class:`ArabicStageConfig`) hash ``holdout_key`` (``index_id``: parallel FLORES rows held out together) or
    the text. ``split: stage`` rows only fit the Arabic stage (their ``stage_holdout`` share), never fastText."""

    files: list[InputGlob]
    exclude: list[InputGlob] = []
    format: Literal["auto", "tsv", "csv", "jsonl", "txt"] = "auto"
    text_field: str = "text"
    label: str | None = None
    label_field: str | None = None
    label_from: Literal["parent_dir", "stem"] | None = None
    by_script: dict[str, str] = {}
    where: dict[str, str] = {}
    holdout: float = 0.0
    holdout_key: str | None = None
    stage_holdout: float = 0.0
    max_rows: int | None = None
    min_chars: int = 2
    split: Literal["train", "dev", "stage"] = "train"
    repeat: int = 1


class FastTextParams(StrictModel):
    """fastText supervised knobs; defaults give a ~2 MB quantized model that trains in about a minute."""

    dim: int = 32
    epoch: int = 20
    lr: float = 0.5
    minn: int = 2
    maxn: int = 5
    word_ngrams: int = 2
    bucket: int = 400_000
    min_count: int = 1
    loss: Literal["softmax", "ova", "hs"] = "softmax"
    quantize: bool = True
    cutoff: int = 150_000
    seed: int = 0


class ArabicStageConfig(StrictModel):
    """The Arabic stage (:mod:`jazari_nlp.text.langid_arabic`): a first fastText fit without the sources'
    ``stage_holdout`` shares, then a Darija-vs-rest logistic regression on those shares (fastText's Arabic
    scores + dialect marker counts), written beside the model as ``<model>.arabic.json``."""

    l2: float = 0.01
    steps: int = 3000


class LangIdTrainConfig(StrictModel):
    """The whole recipe (``configs/langid.yaml``)."""

    sources: list[LangIdSource]
    output: ConfigPath
    languages: list[LanguageSpec] = []
    max_per_label: int | None = 20_000
    min_per_label: int = 0
    fasttext: FastTextParams = FastTextParams()
    arabic_stage: ArabicStageConfig | None = None


def load_train_config(path: str | Path) -> LangIdTrainConfig:
    """Read a recipe; relative paths resolve against the YAML file's folder."""

    path = Path(path)
    from jazari_nlp.config import safe_load_bounded

    data = safe_load_bounded(path.read_text(encoding="utf-8")) or {}  # aliases bounded, like experiment configs
    return LangIdTrainConfig.model_validate(data, context={"base_dir": path.resolve().parent})


def _held_out(text: str, share: float, salt: str = "") -> bool:
    return share > 0 and (zlib.crc32((salt + text).encode("utf-8", "replace")) % 10_000) < share * 10_000


def _rows(path: Path, fmt: str, text_field: str = "text") -> Iterator[dict[str, str]]:
    """Rows of a labelled file, read by :mod:`jazari_nlp.readers` (txt, JSONL, CSV/TSV with a header, parquet);
    a headerless two-column TSV is ``label<TAB>text``. Unusable rows are counted and reported on stderr."""
    from jazari_nlp.readers import ReadOptions, file_fields, format_of, iter_items

    opts = ReadOptions(format=fmt, text_field=text_field, id_field=None, keep_fields=("*",))
    header = file_fields(path, opts) or []
    if format_of(path, opts, default="txt") == "tsv" and not {"text", "label", text_field} & set(header) \
            and len(header) == 2:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:  # headerless "label<TAB>text"
            for values in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                yield dict(zip(["label", "text"], values, strict=False))
        return
    bad = 0
    for item in iter_items(path, opts):
        if item.error:
            bad += 1
            continue
        row = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in item.fields.items()}
        row[text_field] = item.text
        yield row
    if bad:
        print(f"langid train: {path}: {bad} unusable rows skipped (malformed or without {text_field!r})",
              file=sys.stderr)


def iter_examples(source: LangIdSource, split: str = "train") -> Iterator[tuple[str, str]]:
    """``(label, text)`` pairs of one source for ``split``: ``train``, ``dev`` (the held-out share, or a dev
    source), ``stage_train`` (train without the ``stage_holdout`` share) or ``stage`` (that share)."""
    files, _ = expand_globs(source.files)
    skip = set(expand_globs(source.exclude)[0]) if source.exclude else set()
    files = [f for f in files if f not in skip]
    count = 0
    for path in files:
        for row in _rows(path, source.format, source.text_field):
            if any(row.get(k) != v for k, v in source.where.items()):
                continue
            text = (row.get(source.text_field) or "").strip()
            if len(text) < source.min_chars:
                continue
            key = row.get(source.holdout_key, text) if source.holdout_key else text
            if source.split != "train":
                if split != source.split:
                    continue
                if source.split == "stage" and not _held_out(key, source.stage_holdout, "stage:"):
                    continue
            elif _held_out(key, source.holdout) != (split == "dev"):
                continue
            elif split in ("stage", "stage_train") and (
                    _held_out(key, source.stage_holdout, "stage:") != (split == "stage")):
                continue
            if source.label_field:
                label = row.get(source.label_field, "")
            elif source.label_from == "parent_dir":
                label = path.parent.name
            elif source.label_from == "stem":
                label = path.stem
            else:
                label = source.label or ""
            if source.by_script:
                label = source.by_script.get(dominant_script(text), label)
            if not label:
                continue
            for _ in range(source.repeat if split in ("train", "stage_train") else 1):
                yield canonical_code(label), text
            count += 1
            if source.max_rows and count >= source.max_rows:
                return


def collect(cfg: LangIdTrainConfig, split: str = "train") -> list[tuple[str, str]]:
    """All examples of a split; for ``train``, balanced to ``min_per_label``..``max_per_label`` per label."""
    for spec in cfg.languages:
        register_language(spec)
    examples = [ex for src in cfg.sources for ex in iter_examples(src, split)]
    if split not in ("train", "stage_train"):
        return examples
    rng = random.Random(cfg.fasttext.seed)
    by_label: dict[str, list[str]] = {}
    for label, text in examples:
        by_label.setdefault(label, []).append(text)
    out: list[tuple[str, str]] = []
    for label, texts in sorted(by_label.items()):
        rng.shuffle(texts)
        if cfg.max_per_label:
            texts = texts[: cfg.max_per_label]
        reps = texts * max(1, -(-cfg.min_per_label // max(1, len(texts))))
        out.extend((label, t) for t in reps[: max(len(texts), cfg.min_per_label)])
    rng.shuffle(out)
    return out


# Runs in a child interpreter that imports nothing but fasttext (see train_fasttext for why).
_WORKER = """
import json, sys
import fasttext
job = json.loads(sys.argv[1])
try:
    model = fasttext.train_supervised(job["data"], **job["kwargs"])
    if job["quantize"] is not None:
        model.quantize(input=job["data"], **job["quantize"])
    model.save_model(job["output"])
except RuntimeError as err:
    sys.exit(f"fastText: {err}")
"""


def _fit(data: Path, output: Path, kwargs: dict, quantize: dict | None) -> None:
    """Train (and quantize) in a child process whose allocator serves every block >= 4 KiB from fresh,
    zero-filled pages; raises RuntimeError with fastText's message on failure."""
    import os
    import subprocess

    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=4096")
    job = json.dumps({"data": str(data), "output": str(output), "kwargs": kwargs, "quantize": quantize})
    done = subprocess.run([sys.executable, "-c", _WORKER, job], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "fastText failed")


def train_fasttext(examples: list[tuple[str, str]], output: Path, params: FastTextParams) -> dict:
    """Train (and quantize) a fastText model on ``(label, text)`` pairs; returns a small report.

    Why a child process: fastText's ``DenseMatrix::uniform`` only initializes ``thread`` tenths of the
    input matrix (one block of ten per thread); with ``thread=1`` (needed for a reproducible model) the
    other 90% keep whatever the allocator hands back. A big matrix gets fresh zeroed pages, but a small
    one (tiny data, small ``bucket``) gets recycled heap, and in a process that already did work that is
    garbage: training then stops with "Encountered NaN" at random (measured: 19 of 30 repeated fits of
    the same 60 lines in one process, 0 of 60 with the allocator setting below). The child serves every
    allocation >= 4 KiB from zeroed pages (``GLIBC_TUNABLES`` mmap threshold), so the uninitialized rows
    are zeros, as they are for the shipped model. A real divergence (lr too high) is still retried with
    half the learning rate.
    """
    import tempfile

    from jazari_nlp.text.langid import prepare

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.txt"
        with data.open("w", encoding="utf-8") as fh:
            for label, text in examples:
                prepared = prepare(text)
                if prepared:
                    fh.write(f"__label__{label} {prepared}\n")
        kwargs = dict(dim=params.dim, epoch=params.epoch, lr=params.lr, minn=params.minn, maxn=params.maxn,
                      wordNgrams=params.word_ngrams, bucket=params.bucket, minCount=params.min_count,
                      loss=params.loss, seed=params.seed, thread=1, verbose=0)
        quantize = dict(retrain=False, cutoff=params.cutoff, qnorm=True) if params.quantize else None
        for attempt in range(4):
            try:
                _fit(data, output, kwargs, quantize)
                break
            except RuntimeError as err:
                if "NaN" not in str(err) or attempt == 3:
                    raise
                kwargs["lr"] /= 2
    return {"output": str(output), "examples": len(examples), "labels": dict(Counter(lab for lab, _ in examples)),
            "bytes": output.stat().st_size, "seconds": round(time.time() - start, 1), "lr": kwargs["lr"]}


def stage_path(model: str | Path) -> Path:
    """Where the Arabic stage's weights live for a model: ``langid_default.ftz`` -> ``langid_default.arabic.json``."""
    return Path(model).with_suffix(".arabic.json")


def fit_arabic_stage(cfg: LangIdTrainConfig, workdir: Path) -> dict:
    """Fit the Arabic stage: fastText on ``stage_train``, then the logistic regression on ``stage`` rows."""
    from jazari_nlp.text import langid_arabic
    from jazari_nlp.text.langid import FastTextIdentifier, LangIdConfig, prepare

    model = workdir / "stage1.ftz"
    train_fasttext(collect(cfg, "stage_train"), model, cfg.fasttext)
    ident = FastTextIdentifier(LangIdConfig(model_path=model, arabic_stage=False))
    rows, gold = [], []
    for label, text in collect(cfg, "stage"):
        if label in langid_arabic.LABELS and dominant_script(text) == "Arab" and (prepared := prepare(text)):
            probs = {p.label: p.score for p in ident._scores(prepared, "Arab")}
            rows.append(langid_arabic.features(probs, prepared))
            gold.append(0 if label == "ary_Arab" else 1)
    if not rows or len(set(gold)) < 2:
        raise ValueError("arabic_stage: the stage_holdout shares hold no ary_Arab and non-ary Arabic rows")
    weights = langid_arabic.fit(rows, gold, l2=cfg.arabic_stage.l2, steps=cfg.arabic_stage.steps)
    return {"labels": list(langid_arabic.LABELS), "classes": ["ary_Arab", "not ary_Arab"],
            "features": [f"log p({lab})" for lab in langid_arabic.LABELS]
            + [f"log1p({g} markers)" for g in langid_arabic.GROUPS] + ["log1p(ary verb prefixes)",
                                                                       "log1p(words)", "bias"],
            "rows": len(rows), "ary_rows": gold.count(0), "weights": weights}


def train_langid(cfg: LangIdTrainConfig) -> dict:
    """Collect the recipe's training split and train the model it names (and its Arabic stage, if any)."""
    import tempfile

    stage = None
    if cfg.arabic_stage is not None:
        with tempfile.TemporaryDirectory() as tmp:
            stage = fit_arabic_stage(cfg, Path(tmp))
    report = train_fasttext(collect(cfg, "train"), cfg.output, cfg.fasttext)
    path = stage_path(cfg.output)
    if stage is not None:
        path.write_text(json.dumps(stage, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        report["arabic_stage"] = {"path": str(path), "rows": stage["rows"], "ary_rows": stage["ary_rows"]}
    elif path.exists():
        path.unlink()  # a stale stage would be applied to a model it was not fit for
    return report


def train_langid_files(files: list[str], output: str | Path, params: FastTextParams | None = None) -> dict:
    """Train on plain labelled TSV/JSONL files (``label`` and ``text`` columns/fields)."""
    source = LangIdSource(files=[str(Path(f).resolve()) for f in files], label_field="label")
    return train_fasttext(list(iter_examples(source)), Path(output), params or FastTextParams())


__all__ = ["LangIdSource", "FastTextParams", "ArabicStageConfig", "LangIdTrainConfig", "stage_path",
           "fit_arabic_stage", "load_train_config", "iter_examples",
           "collect", "train_fasttext", "train_langid", "train_langid_files"]
