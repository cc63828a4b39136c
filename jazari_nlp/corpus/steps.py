"""jazari's corpus steps as datatrove pipeline steps. One class per YAML step; its config model is its arguments.

Every dropping step is a datatrove ``BaseFilter``: ``filter`` returns ``True`` or ``(False, reason)``, datatrove
counts ``dropped_<reason>`` and the step's ``exclusion_writer`` writes the document to ``rejects/<step>/``.
Modifying steps (repair, normalize, pii) are filters too, so every step has the same counters.

Example::

    step = QualityFilter("04_quality", QualityStep())
    kept = list(step.run(iter([Document(text="...", id="1", metadata={"lang": "ary_Arab"})])))
"""

from __future__ import annotations

import re
from functools import lru_cache

import orjson
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.exact_dedup import ExactDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.stats import Stats
from datatrove.utils.word_tokenizers import WordTokenizer

from jazari_nlp.corpus.config import (
    DecontaminateStep,
    LangIdStep,
    NormalizeStep,
    PiiStep,
    QualityStep,
    RepairStep,
    SourceConfig,
)
from jazari_nlp.corpus.filters import (
    is_long,
    quality_reason,
    shipped_stopwords,
    short_reason,
    split_words,
    thresholds_for,
)
from jazari_nlp.text import UnknownLanguageError, canonical_code, dominant_script, load_identifier, normalize

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")
_SAFE = re.compile(r"[^A-Za-z0-9_\-]")
# Metadata keys that carry the `match` text between steps and passes; never written to shards or rejects.
MATCH, MATCH_OF = "_match", "_match_of"
# Stats keys of the per-source / per-file accounting (read by the reader, kept by the writer, dropped by
# every reject writer with its reason): the manifest's `by_source` and the loss alarms come from them.
READ_PREFIX, KEPT_PREFIX, FILE_READ_PREFIX, FILE_KEPT_PREFIX = "src_read:", "src_kept:", "file_read:", "file_kept:"
DROP_PREFIX = "src_drop:"  # src_drop:<source>\t<reason>
FILE_DROP_PREFIX = "file_lost:"  # rejected for a reason other than duplication
DUPLICATE_REASONS = ("exact_duplicate", "near_duplicate")


def _canonical(code: str) -> str:
    """The registry's code for a label or hint (``tzm_Tfng`` → ``zgh_Tfng``); unknown codes are kept as given."""
    try:
        return canonical_code(code)
    except UnknownLanguageError:
        return code


def match_text(doc: Document) -> str:
    """The document's text under the ``match`` profile, computed once per version of the text.

    Exact dedup, near dedup and decontamination all need it; the result rides along in the metadata (through
    the intermediate files too) with a hash of the text it was computed from, so a step that rewrites the text
    (pii, normalize) simply causes one recomputation. Example: ``match_text(Document("Salam!", "1"))`` → ``'salam'``.
    """
    m = doc.metadata
    h = xxhash.xxh3_64_intdigest(doc.text.encode("utf-8", "surrogatepass"))
    if m.get(MATCH_OF) == h and MATCH in m:
        return m[MATCH]
    key = normalize(doc.text, "match")
    m[MATCH], m[MATCH_OF] = key, h
    return key


def _rename(step: PipelineStep, name: str) -> None:
    step.name = name
    step.stats = Stats(str(step))


class JazariFilter(BaseFilter):
    """A named filter: the name (``03_quality``) labels its counters and its rejects folder."""

    type = "jazari"

    def __init__(self, step_name: str, exclusion_writer=None, batch_size: int = 1):
        self.name = step_name
        super().__init__(exclusion_writer, batch_size=batch_size)


class LocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor; ``quiet=True`` also quiets datatrove's console logging in the worker
    processes (they import datatrove afresh, so the parent's settings do not reach them)."""

    def __init__(self, *args, quiet: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.quiet = quiet

    def _launch_run_for_rank(self, rank: int, ranks_q, completed=None, completed_lock=None):
        if self.quiet:
            from jazari_nlp.corpus.build import _quiet_datatrove

            _quiet_datatrove()
        return super()._launch_run_for_rank(rank, ranks_q, completed, completed_lock)


# ------------------------------------------------------------------------------------------------- reading


class SourceReader(PipelineStep):
    """Reads this task's share of the work units (files, Hub sources): ``work_pieces(...)[rank::world_size]``."""

    type = "jazari"
    name = "reader"

    def __init__(self, sources: list[SourceConfig], units: list[tuple[int, str]], prefixes: list[str]):
        super().__init__()
        self.sources = [s.model_dump(mode="json") for s in sources]
        self.units = units
        self.prefixes = prefixes

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from pathlib import Path

        from jazari_nlp.corpus.sources import iter_file, iter_hub, work_pieces

        sources = [SourceConfig.model_validate(s, context={"skip_exists": True}) for s in self.sources]
        pieces = work_pieces(sources, self.units, world_size)  # big line-based files are cut into byte ranges
        for ui, byte_range in pieces[rank::world_size]:
            si, path = self.units[ui]
            src = sources[si]
            if byte_range is None or byte_range[0] == 0:
                self.stat_update("input_units")
            records = iter_hub(src) if path == "hub:" else iter_file(src, Path(path), self.prefixes[ui], byte_range)
            for rec in records:
                self.stat_update("documents")
                meta = rec["metadata"]
                self.stat_update(f"{READ_PREFIX}{src.name}")
                self.stat_update(f"{FILE_READ_PREFIX}{src.name}\t{meta.get('file') or meta.get('path') or path}")
                if "encoding" in meta:  # decoded from a legacy encoding (or with replacement characters)
                    self.stat_update(f"encoding_{meta['encoding']}")
                if meta.get("lone_surrogates_removed"):
                    self.stat_update("lone_surrogates_removed", value=meta["lone_surrogates_removed"])
                if meta.get("_read_error") == "unreadable_file":
                    self.stat_update("unreadable_files")
                yield Document(text=rec["text"], id=rec["id"], metadata=meta)


class ReadCheck(JazariFilter):
    """Drops the records the reader could not parse, with the reader's reason (malformed_json, invalid_utf8...)."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        err = doc.metadata.pop("_read_error", None)
        return (False, err) if err else True


class InterReader(PipelineStep):
    """Reads back this task's documents from the previous pass (same rank, same order: dedup ids rely on it)."""

    type = "jazari"
    name = "pass_reader"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os

        path = os.path.join(self.folder, f"{rank:05d}.jsonl")
        if not os.path.exists(path):
            return
        with open(path, "rb") as f:
            for line in f:
                row = orjson.loads(line)
                yield Document(text=row.get("text", ""), id=row["id"], metadata=row.get("metadata", {}))


class MatchKey(PipelineStep):
    """Computes the ``match`` text before a pass ends, so the dedup signature here and the steps of the next
    passes reuse it instead of normalizing again (see :func:`match_text`)."""

    type = "jazari"
    name = "match_key"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                match_text(doc)
            yield doc


class InterWriter(JsonlWriter):
    """Saves this task's documents for the next pass (uncompressed jsonl: written once, read once, deleted)."""

    def __init__(self, folder: str, keep_match: bool):
        super().__init__(folder, output_filename="${rank}.jsonl", compression=None)
        _rename(self, "pass_writer")
        self.keep_match = keep_match  # the next passes still dedup or decontaminate: carry the match text

    def _default_adapter(self, document: Document) -> dict:
        meta = document.metadata
        if not self.keep_match and MATCH in meta:
            meta = {k: v for k, v in meta.items() if k not in (MATCH, MATCH_OF)}
        return {"text": document.text, "id": document.id, "metadata": meta}


def inter_writer(folder: str, keep_match: bool = True) -> InterWriter:
    return InterWriter(folder, keep_match)


# ------------------------------------------------------------------------------------------------- steps


class Repair(JazariFilter):
    """Rejects oversized and empty documents; fixes mojibake (ftfy, only where it looks broken); drops control chars."""

    def __init__(self, step_name: str, cfg: RepairStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer)
        self.cfg = cfg

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if len(doc.text) > self.cfg.max_chars:
            return False, "too_long"
        text = doc.text
        if self.cfg.fix_mojibake:
            import ftfy
            from ftfy.badness import is_bad

            sample = text[:20000]
            if _mojibake_hint().search(sample) and is_bad(sample):
                fixed = ftfy.fix_text(text, normalization="NFC")
                if fixed != text:
                    self.stat_update("mojibake_fixed")
                    text = fixed
        if _CONTROL.search(text):
            text = _CONTROL.sub("", text)
            self.stat_update("control_chars_removed")
        doc.text = text
        if len(text.strip()) < self.cfg.min_chars:
            return False, "empty"
        return True


@lru_cache(maxsize=1)
def _mojibake_hint() -> re.Pattern[str]:
    """Every non-ASCII character ftfy's ``BADNESS_RE`` can match on. Each of its alternatives needs at least
    one of them, so a text without any is never "bad": most Arabic, Tifinagh and ASCII text skips the big
    regex. Example: ``_mojibake_hint().search("ⴰⵣⵓⵍ")`` → ``None``."""
    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES

    literal = sorted({c for c in BADNESS_RE.pattern if ord(c) >= 0x80})
    return re.compile("[" + "".join(MOJIBAKE_CATEGORIES.values()) + "".join(literal) + "]")


class Normalize(JazariFilter):
    """Applies a jazari normalization profile; a document that normalizes to nothing is `empty_after_normalize`."""

    def __init__(self, step_name: str, cfg: NormalizeStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer)
        self.cfg = cfg

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc.text = normalize(doc.text, self.cfg.profile)
        return True if doc.text.strip() else (False, "empty_after_normalize")


class LangIdStepError(RuntimeError):
    """The language-id model failed on a text: the build stops (see ``build_corpus``)."""


class LangId(JazariFilter):
    """Tags lang / lang_score / script; drops languages not kept and scores under the language's threshold."""

    def __init__(self, step_name: str, cfg: LangIdStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer, batch_size=64)
        self.cfg = cfg
        self._model = None

    def _predict(self, texts: list[str]) -> list[tuple[str, float]]:
        if self._model is None:
            self._model = load_identifier(self.cfg.identifier)
        from jazari_nlp.text.langid import LangIdError

        # errors="raise": a model that cannot predict must stop the build, not label every document `und`
        # (which a `keep:` list then drops whole, silently).
        try:
            preds = self._model.predict_batch(texts, errors="raise")
        except LangIdError as e:
            model = self.cfg.identifier.model_path or "the shipped model"
            raise LangIdStepError(f"{self.name}: language identification failed ({e}); model: {model}. Check "
                                  "the model file (langid.identifier.model_path) or retrain it: jazari langid "
                                  "train") from None
        preds = [p[0] if isinstance(p, list) else p for p in preds]
        return [(str(p.label), float(p.score)) for p in preds]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        todo = [d for d in batch if not (self.cfg.use_hint and d.metadata.get("lang_hint"))]
        texts = [d.text[: self.cfg.max_chars] for d in todo]
        preds = dict(zip(map(id, todo), self._predict(texts), strict=True)) if todo else {}
        out: list[bool | tuple[bool, str]] = []
        for d in batch:
            label, score = preds.get(id(d)) or (d.metadata["lang_hint"], 1.0)
            lang = _SAFE.sub("_", _canonical(label)) or "und"
            d.metadata["lang"], d.metadata["lang_score"] = lang, round(score, 4)
            d.metadata["script"] = dominant_script(d.text[:5000])
            self.stat_update(f"lang_{lang}")
            if self.cfg.keep is not None and lang not in self.cfg.keep:
                out.append((False, "lang_not_kept"))
            elif score < self._threshold(d, lang):
                out.append((False, "lang_low_score"))
            else:
                out.append(True)
        return out

    def _threshold(self, doc: Document, lang: str) -> float:
        # FineWeb-2's thresholds were fitted on web pages: short items have their own (default: min_score)
        table = (self.cfg.thresholds if is_long(doc.text, doc.metadata.get("source_kind"), self.cfg.long_min_words)
                 else self.cfg.short_thresholds)
        return table.get(lang, self.cfg.min_score)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]


class QualityFilter(JazariFilter):
    """Gopher/FineWeb rules for long documents, short-text rules for short ones (``filters.is_long``: the
    source's kind, else the length), with the thresholds and stopwords of the document's language."""

    def __init__(self, step_name: str, cfg: QualityStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer)
        self.cfg = cfg
        self._cache: dict = {}

    def _for(self, lang: str | None):
        if lang not in self._cache:
            t = thresholds_for(lang, self.cfg.defaults, self.cfg.per_language, self.cfg.use_shipped_table)
            custom = self.cfg.stopwords.get(lang or "")
            words = frozenset(w.lower() for w in custom) if custom is not None else shipped_stopwords(lang or "")
            self._cache[lang] = (t, words or None)
        return self._cache[lang]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        lang = doc.metadata.get("lang") or doc.metadata.get("lang_hint")
        t, stopwords = self._for(lang)
        kind = doc.metadata.get("source_kind") or "auto"
        if is_long(doc.text, kind, self.cfg.long_min_words):
            self.stat_update("long_documents")
            if stopwords is None and t.min_stop_words:
                self.stat_update("stopword_check_skipped_no_list")
            reason = quality_reason(doc.text, t, stopwords)
        else:
            self.stat_update("short_documents")
            reason = short_reason(doc.text, t.short, kind)
        return (False, reason) if reason else True


class Pii(JazariFilter):
    """Replaces personal data by typed placeholders; counts per type (`pii_EMAIL`...). Never drops."""

    def __init__(self, step_name: str, cfg: PiiStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer)
        self.kinds = tuple(k for k in ("EMAIL", "IBAN", "IP", "PHONE", "CIN") if getattr(cfg, k.lower()))

    def filter(self, doc: Document) -> bool:
        from jazari_nlp.corpus.pii import scrub

        doc.text, counts = scrub(doc.text, self.kinds)
        for kind, n in counts.items():
            self.stat_update(f"pii_{kind}", value=n)
        if counts:
            doc.metadata["pii_replaced"] = sum(counts.values())
            self.stat_update("documents_with_pii")
        return True


class Decontaminate(JazariFilter):
    """Drops (or tags ``contaminated``) documents that share an n-gram with the benchmark files."""

    def __init__(self, step_name: str, cfg: DecontaminateStep, exclusion_writer=None):
        super().__init__(step_name, exclusion_writer)
        self.cfg = cfg
        self._index = None

    def _idx(self):
        if self._index is None:
            from jazari_nlp.corpus.decontam import benchmark_index

            self._index = benchmark_index(list(self.cfg.benchmarks), self.cfg.text_field, self.cfg.n,
                                          self.cfg.min_item_words)
        return self._index

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        from jazari_nlp.corpus.decontam import contaminated

        if not self.cfg.benchmarks or not contaminated(doc.text, self._idx(), words=match_text(doc).split()):
            return True
        if self.cfg.mode == "tag":
            doc.metadata["contaminated"] = True
            self.stat_update("contaminated_tagged")
            return True
        return False, "contaminated"


# ------------------------------------------------------------------------------------------------- dedup


def key_match(doc: Document) -> str:
    return match_text(doc)


def key_train(doc: Document) -> str:
    return normalize(doc.text, "train")


def key_raw(doc: Document) -> str:
    return doc.text


DEDUP_KEYS = {"match": key_match, "train": key_train, "raw": key_raw}


class ExactDuplicateFilter(ExactDedupFilter):
    """datatrove's exact-dedup stage 3 under a jazari step name (drops are `exact_duplicate`)."""

    def __init__(self, step_name: str, **kwargs):
        super().__init__(**kwargs)
        _rename(self, step_name)


class NearDuplicateFilter(MinhashDedupFilter):
    """datatrove's MinHash stage 4 under a jazari step name (drops are `near_duplicate`)."""

    def __init__(self, step_name: str, **kwargs):
        super().__init__(**kwargs)
        _rename(self, step_name)


class WhitespaceWords(WordTokenizer):
    """Script-agnostic word split; datatrove's tokenizers for ar/ber codes need spaCy."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in text.split("\n") if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^\n]+", text)]


class JazariMinhashSignature(MinhashDedupSignature):
    """MinHash stage 1 on word n-grams of the ``match`` profile (script-agnostic, no spaCy/NLTK)."""

    def __init__(self, output_folder, config):
        super().__init__(output_folder, config=config, language=WhitespaceWords())

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        def tracked(docs):  # datatrove hands get_shingles the text only; remember whose it is
            for doc in docs:
                self._current = doc
                yield doc

        return super().run(tracked(data), rank, world_size)

    def get_shingles(self, text: str):
        import numpy as np

        doc = getattr(self, "_current", None)
        words = (match_text(doc) if doc is not None and doc.text is text else normalize(text, "match")).split()
        n = self.config.n_grams
        if len(words) < n:  # a short document is one shingle (its whole word sequence), none when empty
            grams = [" ".join(words)] if words else []
        else:
            grams = map(" ".join, zip(*[words[i:] for i in range(n)], strict=False))
        return np.fromiter(map(self._hash_func, grams), dtype=np.uint64).reshape((-1, 1))


# ------------------------------------------------------------------------------------------------- writers


def heldout(doc_id: str, seed: int, fraction: float) -> bool:
    """Deterministic split: hash of seed and id, below ``fraction`` → held out. Example: ``heldout('a', 0, 0.5)``."""
    return xxhash.xxh64_intdigest(f"{seed}:{doc_id}") / 2**64 < fraction


ROW_FIELDS = ("id", "lang", "lang_score", "script", "source", "license", "weight", "lang_hint", "pii_replaced",
              "contaminated", "duplicate_count", "words", "chars", "encoding", "file", "line")


def _row(doc: Document, extra_columns: tuple[str, ...] = ()) -> dict:
    m = doc.metadata
    fields = m.get("fields") or {}
    return {**{c: fields.get(c) for c in extra_columns},
        "text": doc.text,
        "id": doc.id,
        "lang": m.get("lang") or m.get("lang_hint") or "und",
        "lang_score": float(m.get("lang_score", 0.0)),
        "script": m.get("script") or dominant_script(doc.text[:5000]),
        "source": m.get("source", ""),
        "license": m.get("license", "unknown"),
        "weight": float(m.get("weight", 1.0)),
        "lang_hint": m.get("lang_hint"),
        "pii_replaced": int(m.get("pii_replaced", 0)),
        "contaminated": bool(m.get("contaminated", False)),
        "duplicate_count": int(m.get("duplicate_count", 0)),
        "words": len([w for w in split_words(doc.text) if w]),
        "chars": len(doc.text),
        "encoding": m.get("encoding"),  # None: the input was UTF-8
        "file": m.get("file"),  # provenance: the input file and its line (or row), apart from the id
        "line": m.get("line"),
    }


def parquet_schema(extra_columns: tuple[str, ...] = ()):
    """The shards' columns; ``extra_columns``: the sources' ``keep_fields`` (strings), first."""
    import pyarrow as pa

    return pa.schema([*((c, pa.string()) for c in extra_columns),
        ("text", pa.string()), ("id", pa.string()), ("lang", pa.string()), ("lang_score", pa.float64()),
        ("script", pa.string()), ("source", pa.string()), ("license", pa.string()), ("weight", pa.float64()),
        ("lang_hint", pa.string()), ("pii_replaced", pa.int64()), ("contaminated", pa.bool_()),
        ("duplicate_count", pa.int64()), ("words", pa.int64()), ("chars", pa.int64()), ("encoding", pa.string()),
        ("file", pa.string()), ("line", pa.int64()),
    ])


class CorpusWriter(ParquetWriter):
    """Writes kept documents to ``{train|heldout}/<lang>/<rank>.parquet`` (rotating at ``max_file_size``)."""

    def __init__(self, output_folder: str, *, seed: int, heldout_fraction: float, max_file_size: int,
                 compression: str | None, extra_columns: tuple[str, ...] = ()):
        super().__init__(output_folder, output_filename="${split}/${lang}/${rank}.parquet",
                         compression=compression, max_file_size=max_file_size,
                         schema=parquet_schema(tuple(extra_columns)), use_content_defined_chunking=False)
        _rename(self, "writer")
        self.seed, self.heldout_fraction = seed, heldout_fraction
        self.extra_columns = tuple(extra_columns)

    def _default_adapter(self, document: Document) -> dict:
        return _row(document, self.extra_columns)

    def write(self, document: Document, rank: int = 0, **kwargs):
        m = document.metadata
        m["lang"] = _SAFE.sub("_", m.get("lang") or m.get("lang_hint") or "und")
        split = "heldout" if heldout(document.id, self.seed, self.heldout_fraction) else "train"
        self.stat_update(f"{split}_docs")
        self.stat_update(f"{KEPT_PREFIX}{m.get('source', '')}")  # per-source and per-file accounting (alarms)
        self.stat_update(f"{FILE_KEPT_PREFIX}{m.get('source', '')}\t{m.get('file', '')}")
        self.stat_update(f"{split}_bytes", value=len(document.text.encode("utf-8", "replace")))
        super().write(document, rank, split=split)


# Reader facts about a reject, written as top-level fields: {reason: unreadable_file, path, error,
# records_read_before}; raw_b64 holds the original bytes of an `invalid_utf8` record (nothing is lost).
REJECT_FIELDS = ("path", "error", "records_read_before", "raw_b64")


class RejectWriter(JsonlWriter):
    """Writes dropped documents with their reason to ``rejects/<step>/<rank>.jsonl.gz`` and counts them per
    source and reason (``write=False``: counts only, for ``output.write_rejects: false``)."""

    def __init__(self, rejects_folder: str, step_name: str, default_reason: str | None = None, write: bool = True):
        super().__init__(rejects_folder, output_filename=f"{step_name}/${{rank}}.jsonl.gz", compression="gzip")
        self.step_name, self.default_reason, self.write_files = step_name, default_reason, write
        # The stats of the step it writes for (set by the build): an exclusion writer's own stats are not saved.
        # Only the Stats object is held, not the step: datatrove serializes steps without their `stats`.
        self.owner_stats = None

    def write(self, document: Document, rank: int = 0, **kwargs):
        m = document.metadata
        reason = m.get("filter_reason") or self.default_reason or "unknown"
        stats = self.owner_stats if self.owner_stats is not None else self.stats
        stats[f"{DROP_PREFIX}{m.get('source', '')}\t{reason}"].update(1)
        if reason not in DUPLICATE_REASONS:
            stats[f"{FILE_DROP_PREFIX}{m.get('source', '')}\t{m.get('file') or m.get('path') or ''}"].update(1)
        if self.write_files:
            super().write(document, rank, **kwargs)

    def _default_adapter(self, document: Document) -> dict:
        m = {k: v for k, v in document.metadata.items() if k not in (MATCH, MATCH_OF)}
        reason = m.pop("filter_reason", None) or self.default_reason or "unknown"
        row = {"id": document.id, "reason": reason, "step": self.step_name, "source": m.pop("source", None),
               "license": m.pop("license", None), "lang": m.pop("lang", None), "text": document.text}
        row.update({k: m.pop(k) for k in REJECT_FIELDS if k in m})
        row["file"], row["line"] = m.pop("file", None), m.pop("line", None)
        row["metadata"] = m
        return row
