"""The tokenizer stage of an experiment: draw the balanced sample, then train a tokenizer on it (or extend an
existing model's vocabulary), then measure it per language. Everything lands in the stage folder, which
``AutoTokenizer.from_pretrained`` (and, after ``extend``, ``AutoModelForCausalLM.from_pretrained``) loads.

Example::

    summary = run_tokenizer_stage(cfg.tokenizer, Path("runs/x/tokenizer"), corpus_dir=Path("runs/x/corpus"),
                                  seed=0)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.config import TokenizerConfig

log = logging.getLogger("jazari_nlp")

SAMPLE_FILE = "sample.txt"
REPORT_DIR = "report"
MAX_REPORT_TEXTS = 2000  # per language: enough for a fertility to 2 decimals, fast on any tokenizer
HELDOUT_SHARE = 0.1  # of each language's lines, held out of an extension when no held-out text is given


def run_tokenizer_stage(tcfg: TokenizerConfig, out: Path, *, corpus_dir: Path | None = None, seed: int = 0,
                        allow_network: bool = False, progress: bool = True, keep_sample: bool = False,
                        ) -> dict[str, Any]:
    """Run the stage into ``out``; returns the flat summary shown in the run table (per-language fertility,
    the sample's size, the seconds spent sampling and training). ``keep_sample`` keeps ``sample.txt``."""
    from jazari_nlp.tokenization.sampling import draw_sample, inputs_from_config

    train_dir = corpus_dir / "train" if corpus_dir is not None else None
    inputs = inputs_from_config(tcfg, train_dir, allow_network=allow_network)
    sample_seed = tcfg.sample.seed if tcfg.sample.seed is not None else seed
    t0 = time.perf_counter()
    sample = draw_sample(inputs, tcfg.sample, out / SAMPLE_FILE, seed=sample_seed, progress=progress)
    sample_s = time.perf_counter() - t0
    report_texts = _report_texts(tcfg, corpus_dir, sample.path)
    try:
        t0 = time.perf_counter()
        if tcfg.extend is not None:
            held = None
            if not report_texts:  # no text the extension never saw: hold a seeded share of each language out
                held = hold_out_lines(inputs, sorted(sample.languages), seed=sample_seed,
                                      max_line_bytes=tcfg.sample.max_line_bytes)
            summary = _extend(tcfg, out, sample.path, corpus_dir, report_texts, progress, held=held)
        else:
            summary = _train(tcfg, out, sample, report_texts, progress)
    finally:
        # The sample is re-drawn identically from the seed; its accounting (sample.json) stays.
        if not keep_sample:
            (out / SAMPLE_FILE).unlink(missing_ok=True)
    summary["sample_lines"] = sample.lines
    summary["sample_mb"] = round(sample.bytes / 1e6, 2)
    summary["sample_s"] = round(sample_s, 2)
    summary["train_s"] = round(summary.pop("_train_s", time.perf_counter() - t0), 2)
    return summary


def _train(tcfg: TokenizerConfig, out: Path, sample: Any, report_texts: dict[str, list[str]],
           progress: bool) -> dict[str, Any]:
    from jazari_nlp.tokenization.train import train_tokenizer

    t0 = time.perf_counter()
    tok, n_lines = train_tokenizer(tcfg, [], out, progress=progress, source=str(sample.path),
                                   text_file=sample.path, sample_lines=sample.lines)
    summary: dict[str, Any] = {"kind": tcfg.kind, "vocab_size": len(tok), "lines": n_lines,
                               "_train_s": time.perf_counter() - t0}
    summary.update(_report(out, report_texts, progress))
    return summary


def _extend(tcfg: TokenizerConfig, out: Path, sample_path: Path, corpus_dir: Path | None,
            report_texts: dict[str, Any], progress: bool, held: dict[str, list[str]] | None = None,
            ) -> dict[str, Any]:
    """Extend ``tokenizer.extend.model`` with tokens learned from the sample. ``held``: lines per language held
    out of the sample (:func:`hold_out_lines`), measured instead when ``report_texts`` is empty."""
    from jazari_nlp.tokenization.extend import extend_model

    ecfg = tcfg.extend
    heldout = _texts(ecfg.heldout_files, "text") if ecfg.heldout_files else _corpus_heldout(corpus_dir)
    heldout = [t for d in heldout.values() for t in d.values()] if isinstance(heldout, dict) else heldout
    texts = list(_lines(sample_path))
    by_lang = {lang: list(d.values()) for lang, d in report_texts.items()}
    fertility_on = "evaluate_files" if tcfg.evaluate_files else "corpus heldout" if by_lang else "training text"
    if held and not by_lang:
        drop = {t for ts in held.values() for t in ts}
        texts = [t for t in texts if t not in drop]  # every copy: a repeated language repeats its lines
        by_lang, heldout = held, heldout or [t for ts in held.values() for t in ts]
        fertility_on = f"held-out {HELDOUT_SHARE:.0%} of the sources"
    report = extend_model(
        ecfg.model, texts, out, num_tokens=ecfg.num_tokens, init=ecfg.init,
        min_frequency=ecfg.min_frequency, protect_texts=_texts(ecfg.protect_files, "text"),
        heldout_texts=heldout, report_texts=by_lang or None, progress=progress,
    )
    summary: dict[str, Any] = {"base": str(ecfg.model), "tokens_added": report.get("tokens_added"),
                               "fertility_on": fertility_on}
    for lang, row in (report.get("fertility") or {}).items():
        if isinstance(row, dict) and "after" in row:
            summary[f"fertility.{lang}"] = f"{row['before']:.3g}→{row['after']:.3g}"
    if report.get("protected_changed_share") is not None:
        summary["protected_changed"] = report["protected_changed_share"]
    held = report.get("heldout") or {}
    if (held.get("base") or {}).get("bits_per_byte") and (held.get("extended") or {}).get("bits_per_byte"):
        # the step-0 loss on held-out text, per byte: comparable although the two tokenizers differ
        summary["heldout_bits_per_byte"] = f"{held['base']['bits_per_byte']:.3g}→{held['extended']['bits_per_byte']:.3g}"
    return summary


def _report(tok_dir: Path, texts_by_lang: dict[str, list[str]], progress: bool) -> dict[str, Any]:
    """Measure the new tokenizer on the report texts; write report/ (JSON, Markdown, PNG)."""
    if not texts_by_lang:
        return {}
    from jazari_nlp.tokenization.evaluate import evaluate_tokenizers
    from jazari_nlp.tokenization.report import write_report

    report = evaluate_tokenizers([str(tok_dir)], texts_by_lang, progress=False)
    write_report(report, tok_dir / REPORT_DIR)
    rows = report["results"][report["tokenizers"][0]["name"]]
    return {f"fertility.{lang}": round(m["fertility"], 3) for lang, m in rows.items() if m.get("fertility")}


def _report_texts(tcfg: TokenizerConfig, corpus_dir: Path | None, sample_path: Path) -> dict[str, Any]:
    """Texts per language for the report: ``evaluate_files`` (parallel, aligned by id), else the corpus's
    held-out split (text the tokenizer never saw), else nothing (a sample of the training text would flatter it;
    an extension then holds a share of its sources out instead: :func:`hold_out_lines`)."""
    if tcfg.evaluate_files:
        from jazari_nlp.tokenization.evaluate import read_parallel

        return read_parallel(list(tcfg.evaluate_files))
    return _corpus_heldout(corpus_dir) or {}


def hold_out_lines(inputs: list[Any], languages: list[str], *, seed: int, max_line_bytes: int,
                   share: float | None = None) -> dict[str, list[str]]:
    """A seeded ``share`` (default HELDOUT_SHARE) of each language's distinct lines of the sample ``inputs``, at
    most MAX_REPORT_TEXTS per language, read as the sample reads them (NFC, long lines cut). A line is held out
    by a hash of its text and the seed, so every copy of it is on the same side; a language with very few
    lines may get none. The extension then learns from the other lines and is measured on these.

    Example: ``hold_out_lines(inputs_from_config(tcfg), ["ary_Arab"], seed=0, max_line_bytes=16384)``
    → ``{"ary_Arab": ["...", ...]}``"""
    import hashlib
    import heapq

    from jazari_nlp.tokenization.sampling import _lines as sample_lines
    from jazari_nlp.tokenization.sampling import _new_stats

    share = HELDOUT_SHARE if share is None else share
    salt = hashlib.blake2b(f"jazari-heldout:{seed}".encode(), digest_size=8)
    cut = int(share * 2**64)
    heaps: dict[str, list[tuple[int, bytes]]] = {k: [] for k in languages}  # (-hash, line): the largest on top
    kept: dict[str, set[bytes]] = {k: set() for k in languages}
    for inp in inputs:
        for lang, line in sample_lines(inp, max_line_bytes, _new_stats(inp), None):
            if lang not in heaps or line in kept[lang]:
                continue
            h = salt.copy()
            h.update(line)
            key = int.from_bytes(h.digest(), "big")
            if key >= cut:
                continue
            heap = heaps[lang]
            if len(heap) < MAX_REPORT_TEXTS:
                heapq.heappush(heap, (-key, line))
            elif -heap[0][0] > key:  # the cap keeps the lines with the smallest hashes: the same set in any order
                kept[lang].discard(heapq.heapreplace(heap, (-key, line))[1])
            else:
                continue
            kept[lang].add(line)
    return {k: sorted(line.decode("utf-8") for _, line in heap) for k, heap in heaps.items() if heap}


def _corpus_heldout(corpus_dir: Path | None) -> dict[str, dict[str, str]]:
    """The corpus's held-out documents per language (ids: row numbers), at most MAX_REPORT_TEXTS each."""
    if corpus_dir is None:
        return {}
    from jazari_nlp.corpus import corpus_files
    from jazari_nlp.readers import ReadOptions, iter_items

    by_lang: dict[str, dict[str, str]] = {}
    for f in corpus_files(corpus_dir, "heldout"):
        lang = f.parent.name
        bucket = by_lang.setdefault(lang, {})
        for item in iter_items(f, ReadOptions(text_field="text", id_field=None)):
            if item.error is None and item.text and len(bucket) < MAX_REPORT_TEXTS:
                bucket[f"{f.name}:{len(bucket)}"] = item.text
    return {k: v for k, v in by_lang.items() if v}


def read_inputs(specs: list[str], *, text_field: str = "text", max_bytes: int = 100_000_000, seed: int = 0,
                progress: bool = True) -> dict[str, list[str]]:
    """Lines per language from ``LANG=FILE`` or ``FILE`` specs (``und`` when no language is given), each
    language a seeded balanced sample of at most ``max_bytes / languages`` bytes (never the first lines only).

    Example: ``read_inputs(["ary_Arab=darija.txt", "zgh_Tfng=tfng.txt"])`` → ``{"ary_Arab": [...], ...}``
    """
    import tempfile

    from jazari_nlp.readers import expand_inputs
    from jazari_nlp.text.registry import canonical_code
    from jazari_nlp.tokenization.config import SampleConfig
    from jazari_nlp.tokenization.sampling import SampleInput, draw_sample

    by_lang: dict[str, list[Path]] = {}
    for spec in specs:
        lang, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        files, empty, _ = expand_inputs([path])
        if not files:
            raise InputError(f"--input {spec}: no file matches {', '.join(empty) or path}")
        try:
            lang = canonical_code(lang) if lang else "und"
        except KeyError:
            pass
        by_lang.setdefault(lang, []).extend(files)
    share = max(1_000, max_bytes // max(1, len(by_lang)))
    out: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang, files in by_lang.items():
            sample = draw_sample([SampleInput(files=files, text_field=text_field, language=lang, name=lang)],
                                 SampleConfig(max_bytes=share, alpha=1.0, max_repeat=1.0),
                                 Path(tmp) / f"{lang}.txt", seed=seed, progress=progress)
            out[lang] = list(_lines(sample.path))
    return out


def read_texts(patterns: list[str], field: str) -> list[str]:
    """Every non-empty text of the files (for small inputs: protected or held-out text)."""
    return _texts(patterns, field)


def _texts(patterns: list[str], field: str) -> list[str]:
    from jazari_nlp.readers import expand_inputs, iter_texts

    files, _, _ = expand_inputs(patterns)
    return [t for t in iter_texts(files, field) if t] if files else []


def _lines(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                yield line


def check_stage(tcfg: TokenizerConfig) -> list[str]:
    """Problems found before any work: an extend base that is not a model with an extendable (BPE) tokenizer."""
    if tcfg.extend is None:
        return []
    from jazari_nlp.tokenization.extend import check_base

    try:
        check_base(Path(tcfg.extend.model))
    except InputError as e:
        return [str(e)]
    return []


__all__ = ["run_tokenizer_stage", "check_stage", "hold_out_lines", "InputError"]
