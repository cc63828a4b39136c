"""Training the language identifier: labelled files in, a small fastText model out.

The recipe is a YAML file (``configs/langid.yaml``) whose keys are exactly :class:`LangIdTrainConfig` (read and
split by :mod:`jazari_nlp.text.langid_recipe`):
a list of sources (files, how to read them, which label), held-out shares kept for evaluation, per-label
balancing and the fastText knobs. ``jazari langid train DATA`` trains on plain labelled TSV/JSONL
instead (columns ``label`` and ``text``).

Example::

    >>> cfg = load_train_config("configs/langid.yaml")
    >>> train_langid(cfg)                      # writes jazari_nlp/text/models/langid_default.ftz
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

# The recipe (config models, sources, splits) lives in langid_recipe; its names stay importable from here.
from jazari_nlp.text.langid_recipe import (
    ArabicStageConfig,
    FastTextParams,
    LangIdSource,
    LangIdTrainConfig,
    collect,
    fold_of,
    in_test,
    iter_examples,
    iter_rows,
    load_train_config,
    stage_rows,
)

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
    zero-filled pages and zero-fills the smaller ones (``perturb``); raises RuntimeError with fastText's message
    on failure."""
    import os
    import subprocess

    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=4096:glibc.malloc.perturb=255")
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
    are zeros, as they are for the shipped model. Smaller blocks are zero-filled too (``perturb=255``: glibc
    fills each new block with ``255 ^ 0xff``): without it, 288 lines of Arabic trained under pytest gave a
    different model on each of 3 fits (its environment shifts the heap layout), and the same bytes with it.
    A real divergence (lr too high) is still retried with half the learning rate.
    """
    import tempfile

    from jazari_nlp.text.langid import prepare

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.txt"
        written = 0
        with data.open("w", encoding="utf-8") as fh:
            for label, text in examples:
                prepared = prepare(text)
                if prepared:
                    fh.write(f"__label__{label} {prepared}\n")
                    written += 1
        if not written:  # fastText would only say "Empty vocabulary"
            raise ValueError(f"none of the {len(examples)} labelled records has text left to learn from (only "
                             "spaces, punctuation or emoji): give records with words")
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
    """Fit the Arabic stage by cross-fitting (see :class:`ArabicStageConfig`); returns the stage file's content
    plus ``cv``: the stage's Darija and MSA F1 on the stage rows, each fold scored by regressions fit on the
    others (the FLORES rows, Najdi counted as other Arabic)."""
    import math

    from jazari_nlp.text import langid_arabic as la
    from jazari_nlp.text.langid import FastTextIdentifier, LangIdConfig, prepare

    st = cfg.arabic_stage
    rows = stage_rows(cfg)
    labels = {lab for lab, *_ in rows}
    if "ary_Arab" not in labels or len(labels) < 2:
        raise ValueError("arabic_stage: the stage sources (stage: true / split: stage) hold no ary_Arab and "
                         "non-ary Arabic-script rows")
    prepared = [prepare(text) for *_, text in rows]
    folds = [fold_of(key, st.folds) for _, _, key, _ in rows]
    classes = sorted({cls for _, cls, _, _ in rows})
    probs: list[dict[str, float]] = [{} for _ in rows]
    feats: list[list[float]] = [[] for _ in rows]
    for k in range(st.folds):
        model = workdir / f"fold{k}.ftz"
        train_fasttext(collect(cfg, "train", exclude_fold=(k, st.folds)), model, cfg.fasttext)
        ident = FastTextIdentifier(LangIdConfig(model_path=model, arabic_stage=False))
        mine = [i for i, f in enumerate(folds) if f == k]
        others = [i for i, f in enumerate(folds) if f != k]
        words = _word_model(rows, prepared, others, classes, st.alpha)
        for i in mine:
            probs[i] = {p.label: p.score for p in ident._scores(prepared[i], "Arab")}
            feats[i] = la.features(probs[i], prepared[i], words)
    fit_rows = [i for i, (_, cls, _, _) in enumerate(rows) if cls != st.gate_class]
    ary, arb = _fit_stage(rows, feats, fit_rows, st)
    arb[-1] -= math.log(st.arb_threshold / (1 - st.arb_threshold))  # p(arb) > threshold <=> logit > 0
    words = _word_model(rows, prepared, range(len(rows)), classes, st.alpha)
    cv = _cross_validate(rows, feats, fit_rows, folds, st)
    names = ([f"log p({lab})" for lab in la.LABELS] + [f"log1p({g} markers)" for g in la.GROUPS]
             + ["log1p(ary verb prefixes)", "log1p(words)"] + [f"log P({c} | words)" for c in classes] + ["bias"])
    return {"version": 2, "labels": list(la.LABELS), "features": names, "rows": len(rows),
            "ary_rows": sum(lab == "ary_Arab" for lab, *_ in rows), "fit_rows": len(fit_rows),
            "cv": cv, "ary": ary, "arb": arb, "gate": st.gate_class, "gate_posterior": st.gate_posterior,
            "words": words.to_json()}


def _word_model(rows, prepared, indices, classes, alpha):
    """The word model of the stage rows ``indices`` (class: each row's word-model class)."""
    from jazari_nlp.text.langid_arabic import WordModel, count_words

    indices = list(indices)
    counts, docs = count_words([prepared[i] for i in indices], [rows[i][1] for i in indices], classes)
    return WordModel(classes, docs, counts, alpha)


def _fit_stage(rows, feats, fit_rows, st) -> tuple[list[float], list[float]]:
    """Darija-vs-rest weights over ``fit_rows``, then MSA-vs-other over those that are not Darija."""
    from jazari_nlp.text.langid_arabic import direction

    ary = direction([feats[i] for i in fit_rows], [0 if rows[i][0] == "ary_Arab" else 1 for i in fit_rows],
                    l2=st.l2, steps=st.steps)
    rest = [i for i in fit_rows if rows[i][0] != "ary_Arab"]
    arb = direction([feats[i] for i in rest], [0 if rows[i][0] == "arb_Arab" else 1 for i in rest],
                    l2=st.l2, steps=st.steps)
    return ary, arb


def _cross_validate(rows, feats, fit_rows, folds, st) -> dict:
    """Nested check of the regressions: each fold's rows labelled by regressions fit on the other folds."""
    import math

    from jazari_nlp.text.lid_eval import prf

    shift = math.log(st.arb_threshold / (1 - st.arb_threshold))
    pairs = []
    for k in range(st.folds):
        ary, arb = _fit_stage(rows, feats, [i for i in fit_rows if folds[i] != k], st)
        for i in (i for i in fit_rows if folds[i] == k):
            x = feats[i]
            if sum(a * b for a, b in zip(ary, x, strict=True)) > 0:
                pred = "ary_Arab"
            else:
                pred = "arb_Arab" if sum(a * b for a, b in zip(arb, x, strict=True)) > shift else "ar_other"
            pairs.append((rows[i][0], pred))
    scores = prf(pairs)
    return {lab: {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.get(lab, {}).items()}
            for lab in ("ary_Arab", "arb_Arab")}


def train_langid(cfg: LangIdTrainConfig) -> dict:
    """Collect the recipe's training split and train the model it names (and its Arabic stage, if any)."""
    import tempfile

    stage = None
    if cfg.arabic_stage is not None:
        with tempfile.TemporaryDirectory() as tmp:
            stage = fit_arabic_stage(cfg, Path(tmp))
    examples = collect(cfg, "train")
    if not examples:
        raise ValueError(f"the recipe's {len(cfg.sources)} sources give no training record (check their files, "
                         f"text_field and label keys): {LABEL_HOWTO}")
    report = train_fasttext(examples, cfg.output, cfg.fasttext)
    path = stage_path(cfg.output)
    if stage is not None:
        # One line per key: the weights stay readable, the word counts compact.
        body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
                          for k, v in stage.items())
        path.write_text("{\n" + body + "\n}\n", encoding="utf-8")
        report["arabic_stage"] = {"path": str(path), "rows": stage["rows"], "ary_rows": stage["ary_rows"],
                                  "cv": stage["cv"]}
    elif path.exists():
        path.unlink()  # a stale stage would be applied to a model it was not fit for
    return report


LABEL_HOWTO = ("label each record: a .tsv with one `label<TAB>text` per line (or a header with `label` and `text` "
               "columns), or .jsonl lines like {\"label\": \"ary_Arab\", \"text\": \"...\"}; labels are "
               "language codes (ary_Arab, ary_Latn, zgh_Tfng, arb_Arab, fra_Latn...)")


def train_langid_files(files: list[str], output: str | Path, params: FastTextParams | None = None) -> dict:
    """Train on plain labelled TSV/JSONL files (``label`` and ``text`` columns/fields); a folder stands for its
    files. No labelled record at all is a ValueError naming the inputs and how to label them.

    Example: ``train_langid_files(["labelled.tsv"], "my_langid.ftz")["labels"]`` → ``{"ary_Arab": 120, ...}``"""
    from jazari_nlp.readers import expand_inputs

    paths, _, notes = expand_inputs([str(f) for f in files])
    paths = [p for p in paths if p.is_file()]
    examples = []
    if paths:
        source = LangIdSource(files=[str(p.resolve()) for p in paths], label_field="label")
        examples = list(iter_examples(source))
    if not examples:
        given = ", ".join(map(str, files))
        if not paths:
            what = "; ".join(notes) if notes else "no file in it" if all(Path(f).is_dir() for f in files) else \
                "no readable file"
        else:
            what = f"none of the rows of its {len(paths)} file(s) has both a label and a text"
        raise ValueError(f"no labelled records found in {given} ({what}): {LABEL_HOWTO}")
    return train_fasttext(examples, Path(output), params or FastTextParams())


__all__ = ["LangIdSource", "FastTextParams", "ArabicStageConfig", "LangIdTrainConfig", "stage_path",
           "fit_arabic_stage", "load_train_config", "iter_examples", "iter_rows", "in_test", "fold_of", "stage_rows",
           "collect", "train_fasttext", "train_langid", "train_langid_files", "LABEL_HOWTO"]
