"""The tokenizer report: how many tokens each tokenizer spends on each language, on parallel text.

Three steps, which the ``jazari tokenizer evaluate`` command chains::

    texts = read_parallel(["../shared/data/sib200/*/dev.tsv"])          # {lang: {id: text}}
    report = evaluate_tokenizers(["runs/national", "peer:mistral-v3"], texts)
    write_report(report, Path("report"))                                   # (jazari_nlp.tokenization.report)

A tokenizer is named by a *spec*: a jazari run directory (its ``tokenizer/``), any local AutoTokenizer folder,
a ``tokenizer.json`` file (also Mistral's Tekken json), a sentencepiece ``.model`` file, or ``peer:NAME`` (a
public vocabulary shipped in a package: see :mod:`jazari_nlp.tokenization.peers`). Nothing is fetched.

The metrics (per tokenizer × language; :data:`METRICS` holds these definitions for the report):

- ``fertility``: tokens per whitespace word, on totals (all tokens of the language / all its words), each text
  encoded whole, without special tokens;
- ``chars_per_token`` / ``bytes_per_token``: characters / UTF-8 bytes of the text per token;
- ``parity_<ref>``: tokens of the language / tokens of the reference language, summed over the ids both
  have (the *tokenizer parity* of Petrov et al. 2023: 1.0 = as cheap as the reference; 2.0 = twice the cost);
- ``continued_words``: share of word occurrences encoded as ≥ 2 tokens. A word is encoded as it appears after
  a space in running text: ``len(encode("a " + word)) - len(encode("a"))`` — so the space is part of the word
  as the tokenizer sees it (GPT-2-style ``Ġword``, sentencepiece ``▁word``; a byte tokenizer spends one
  token on the space, so every word is continued there);
- ``byte_fallback_rate``: share of tokens that are byte-fallback pieces ``<0x..>`` (sentencepiece and
  tokenizers with byte fallback: the vocabulary had no piece for the character); for byte-level vocabularies
  (GPT-2-style BPE, tiktoken, bytes) the share of tokens whose bytes are not whole UTF-8 characters (the
  token holds part of a character). The report says which rule each tokenizer got (``byte_rule``);
- ``unk_rate``: share of tokens that are the unknown token;
- ``vocab_used`` / ``vocab_used_share``: distinct ids used on the language / the vocabulary size;
- ``encode_chars_per_s``: characters encoded per second, the language's texts in one batched call (best
  of 3; a figure for the report, never a test).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError
from jazari_nlp.tokenization.peers import (
    AnyTokenizer,
    HFTokenizer,
    SentencePieceTokenizer,
    is_tekken_json,
    is_tiktoken_file,
    list_peers,
    load_peer,
    load_tekken,
)

METRICS: dict[str, str] = {
    "fertility": "tokens per whitespace word (all tokens / all words of the language; no special tokens)",
    "chars_per_token": "characters per token",
    "bytes_per_token": "UTF-8 bytes per token",
    "parity_<ref>": "tokens of the language / tokens of the reference language on the ids both have "
                    "(Petrov et al. 2023 tokenizer parity)",
    "continued_words": "share of word occurrences encoded as 2 or more tokens; a word is encoded as after a "
                       "space in running text: len(encode('a ' + word)) - len(encode('a'))",
    "byte_fallback_rate": "byte_pieces: share of tokens that are <0x..> byte-fallback pieces; partial_utf8 "
                          "(byte-level vocabularies): share of tokens whose bytes are not whole UTF-8 characters",
    "unk_rate": "share of tokens that are the unknown token",
    "vocab_used": "distinct token ids used on the language",
    "vocab_used_share": "vocab_used / vocabulary size",
    "encode_chars_per_s": "characters encoded per second (one batched call over the language's texts, best of 3)",
}
ACCEPTED = ("a jazari run directory (its tokenizer/ folder), a local AutoTokenizer folder (tokenizer.json or "
            "tokenizer_config.json), a tokenizer.json file, a sentencepiece .model file, or peer:NAME")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model",
                   "sentencepiece.bpe.model", "chat_template.jinja")
WORD_PREFIX = "a"  # context before each word for continued_words (see the module docstring)

# registry codes that group several languages: a file labelled aeb_Arab keeps its label instead of becoming
# one "ar_other" with every other Arabic dialect of the report
_GROUP_CODES = ("ar_other", "ar_other_Latn", "ber_Arab", "und")
_FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


# --------------------------------------------------------------------------------------------- loading


def _accepted_message(spec: str, why: str) -> str:
    names = [p["name"] for p in list_peers()]
    return f"{spec}: {why}; a tokenizer is {ACCEPTED} (peers: {', '.join(names)})"


def _tokenizer_files(folder: Path) -> tuple[Path, ...]:
    return tuple(folder / n for n in TOKENIZER_FILES if (folder / n).is_file())


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / n).is_file() for n in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                                                 "spiece.model"))


def _load_folder(folder: Path, *, name: str, spec: str) -> AnyTokenizer:
    from transformers import AutoTokenizer

    from jazari_nlp.hf_logging import quiet_transformers

    files = _tokenizer_files(folder)
    try:
        with quiet_transformers():
            tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    except Exception as e:  # noqa: BLE001 - any loading failure: fall back to the raw files, else say why
        if (folder / "tokenizer.json").is_file():
            return _load_json(folder / "tokenizer.json", name=name, spec=spec, files=files)
        sp = next((folder / n for n in ("tokenizer.model", "spiece.model") if (folder / n).is_file()), None)
        if sp is not None:
            return _load_model_file(sp, name=name, spec=spec)
        raise InputError(f"{spec}: AutoTokenizer cannot load {folder} ({type(e).__name__}: {str(e)[:300]}); "
                         "it needs tokenizer.json (or a sentencepiece tokenizer.model) and no remote code") from e
    return HFTokenizer(tok, name=name, spec=spec, files=files)


def _load_json(path: Path, *, name: str, spec: str, files: tuple[Path, ...] | None = None) -> AnyTokenizer:
    if is_tekken_json(path):
        return load_tekken(path, name=name, spec=spec)
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:  # noqa: BLE001 - the tokenizers library raises a bare Exception
        raise InputError(f"{spec}: {path} is not a tokenizers tokenizer.json ({str(e)[:300]})") from e
    return HFTokenizer(tok, name=name, spec=spec, files=files or (path,))


def _load_model_file(path: Path, *, name: str, spec: str) -> AnyTokenizer:
    if is_tiktoken_file(path):
        raise InputError(f"{spec}: {path} is a tiktoken vocabulary (base64 and rank per line, as Meta ships "
                         "Llama 3), not a sentencepiece model: its split pattern is not in the file; use a peer "
                         "(peer:llama3, peer:llama4) or a tokenizer.json of the same model")
    try:
        return SentencePieceTokenizer(path, name=name, spec=spec)
    except (RuntimeError, OSError) as e:
        raise InputError(f"{spec}: {path} is not a sentencepiece model ({str(e)[:200]})") from e


def load_any_tokenizer(spec: str | Path | AnyTokenizer) -> AnyTokenizer:
    """The tokenizer a spec names (see the module docstring); :class:`InputError` for anything else.

    Example: ``load_any_tokenizer("runs/quickstart").encode(["salam 3likom"])``."""
    if isinstance(spec, AnyTokenizer):
        return spec
    text = str(spec)
    if text.startswith("peer:"):
        return load_peer(text[len("peer:"):])
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "tokenizer").is_dir() and _has_tokenizer(path / "tokenizer"):
            return _load_folder(path / "tokenizer", name=path.resolve().name, spec=text)
        if _has_tokenizer(path):
            name = path.resolve().name
            if name == "tokenizer":
                name = path.resolve().parent.name
            return _load_folder(path, name=name, spec=text)
        if any((path / n).exists() for n in ("config.sha256", ".jazari-output.json", "config.yaml")):
            raise InputError(f"{text}: this run directory has no tokenizer/ folder yet: run its tokenizer stage "
                             "(`jazari tokenizer train CONFIG`) first, or name another tokenizer")
        raise InputError(_accepted_message(text, "a folder without tokenizer.json or tokenizer_config.json"))
    if path.is_file():
        stem = path.stem
        if stem == "tokenizer":  # runs/x/tokenizer/tokenizer.json is "x"
            parent = path.resolve().parent
            stem = parent.parent.name if parent.name == "tokenizer" else parent.name
        if path.suffix == ".json":
            return _load_json(path, name=stem, spec=text)
        if path.suffix == ".model" or ".model." in path.name:
            return _load_model_file(path, name=stem, spec=text)
        from jazari_nlp.readers import detect_format

        hint = ""
        if detect_format(path, default="") and path.suffix != ".json":  # text, not a tokenizer
            hint = " (text to evaluate on? the shell expanded a glob into tokenizer arguments: quote it, -i 'sib200/*/dev.tsv')"
        raise InputError(_accepted_message(text, "not a tokenizer file" + hint))
    raise InputError(_accepted_message(text, "no such file or folder"))


# --------------------------------------------------------------------------------------------- inputs


class ParallelTexts(dict):
    """``{lang: {id: text}}`` as read by :func:`read_parallel`, with the files read per language and notes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.files: dict[str, list[str]] = {}
        self.notes: list[str] = []


def language_code(raw: str) -> str | None:
    """A language code for a folder/file/column name: the registry's code (``tzm_Tfng`` → ``zgh_Tfng``), a
    FLORES-style code the registry does not know as is, or None when ``raw`` is no language.

    Example: ``language_code("tzm_Tfng")`` → ``'zgh_Tfng'``; ``language_code("aeb_Arab")`` → ``'aeb_Arab'``."""
    from jazari_nlp.text.registry import UnknownLanguageError, canonical_code

    raw = raw.strip()
    try:
        code = canonical_code(raw)
    except UnknownLanguageError:
        return raw if _FLORES_CODE.match(raw) else None
    if code in _GROUP_CODES:
        return raw if _FLORES_CODE.match(raw) else None
    return code


def _split_spec(spec: str) -> tuple[str | None, str]:
    """``LANG=path`` → (code, path); a plain path → (None, path)."""
    left, sep, right = spec.partition("=")
    if sep and left and "/" not in left and not Path(spec).exists():
        code = language_code(left)
        if code is None:
            raise InputError(f"{spec}: {left!r} is not a language code (e.g. ary_Arab, zgh_Tfng, eng_Latn); "
                             "write LANG=FILE")
        return code, right
    return None, spec


def _language_columns(names: list[str], text_field: str) -> list[tuple[str, str]]:
    """``(column, code)`` of a table whose columns are languages (none when it has a text column)."""
    if text_field in names:
        return []
    cols = [(c, language_code(c)) for c in names]
    found = [(c, code) for c, code in cols if code]
    return found if len(found) >= 2 else []


def _file_language(path: Path) -> str | None:
    return language_code(path.name.split(".")[0]) or language_code(path.parent.name)


def _put(out: ParallelTexts, lang: str, key: str, text: str, path: Path) -> None:
    texts = out.setdefault(lang, {})
    if key in texts and texts[key] != text:
        raise InputError(f"{path}: id {key!r} of {lang} already has another text (from "
                         f"{', '.join(out.files.get(lang, []))}): ids must be unique per language; give each "
                         "language one file per split, or set --id-field")
    texts[key] = text


def read_parallel(specs: Iterable[str], *, text_field: str = "text", id_field: str = "index_id") -> ParallelTexts:
    """Parallel text per language, aligned by id: ``{lang: {id: text}}``.

    Each spec (globs allowed) is ``LANG=FILE``; a file in a folder named by its language (the FLORES/SIB
    layout ``sib200/ary_Arab/dev.tsv``, column ``text``, id column ``index_id``); a file named by its language
    (``ary_Arab.txt``); or a table whose columns are languages (``sent_id arb_Arab eng_Latn fra_Latn``: the id
    is the first column). Any format :func:`jazari_nlp.readers.iter_items` reads; without an id column the id
    is the record's line (txt, JSONL) or row (tables). Codes go through the language registry.

    Example: ``read_parallel(["../shared/data/sib200/*/dev.tsv"])["zgh_Tfng"]["548"]``."""
    from jazari_nlp.readers import (
        ReadOptions,
        check_fields,
        expand_inputs,
        file_fields,
        format_of,
        iter_items,
    )

    out = ParallelTexts()
    specs = list(specs)
    if not specs:
        raise InputError("no input text: give parallel files (LANG=FILE, sib200/<lang>/dev.tsv, ...)")
    for spec in specs:
        lang, pattern = _split_spec(str(spec))
        files, missing, _ = expand_inputs([pattern])
        if missing or not files:
            raise InputError(f"{spec}: no such file (or the glob matched nothing)")
        for path in files:
            names = file_fields(path) or []
            columns = [] if lang else _language_columns(names, text_field)
            if columns:
                id_col = names[0] if names and names[0] not in {c for c, _ in columns} else None
                opts = ReadOptions(text_field=columns[0][0], id_field=id_col, keep_fields=("*",))
                got: Counter = Counter()
                for n, item in enumerate(iter_items(path, opts), 1):
                    if item.error and item.error != "missing_text_field":
                        continue
                    key = str(item.fields.get(id_col) or n) if id_col else str(n)
                    for col, code in columns:
                        value = item.fields.get(col)
                        if isinstance(value, str) and value.strip():
                            _put(out, code, key, value, path)
                            got[code] += 1
                for _, code in columns:
                    out.files.setdefault(code, []).append(str(path))
                    if not got[code]:
                        raise InputError(f"{path}: no text for {code} in its column")
                continue
            code = lang or _file_language(path)
            if code is None:
                raise InputError(f"{path}: cannot tell its language: write LANG={path} (e.g. ary_Arab={path}), "
                                 "put it in a folder named by its code (sib200/ary_Arab/dev.tsv), or name the "
                                 "file by it (ary_Arab.txt)")
            opts = ReadOptions(text_field=text_field, id_field=id_field)
            problem = check_fields(path, opts, where="--text-field")
            if problem:
                raise InputError(problem)
            used = bad = 0
            header = 1 if format_of(path, opts) in ("csv", "tsv") else 0  # ids: rows of a table, lines of a txt
            for item in iter_items(path, opts):
                if item.error:
                    bad += 1
                    continue
                if not item.text.strip():
                    continue
                _put(out, code, item.id or str(item.line - header), item.text, path)
                used += 1
            out.files.setdefault(code, []).append(str(path))
            if not used:
                raise InputError(f"{path}: no text for {code}" + (f" ({bad} records unusable)" if bad else "")
                                 + f"; is --text-field {text_field!r} right?")
            if bad:
                out.notes.append(f"{path}: {bad} records could not be read and were left out")
    return out


# --------------------------------------------------------------------------------------------- metrics


def _word_lengths(tok: AnyTokenizer, words: list[str]) -> list[int]:
    """Tokens of each word as after a space in running text (see the module docstring)."""
    base = len(tok.encode([WORD_PREFIX])[0])
    return [max(len(ids) - base, 1) for ids in tok.encode([f"{WORD_PREFIX} {w}" for w in words])]


def _timed_encode(tok: AnyTokenizer, texts: list[str], repeats: int = 3) -> tuple[list[list[int]], float]:
    """The encoding and the best of ``repeats`` timings (one FLORES language is ~100 sentences: a single
    timing of a few milliseconds is mostly noise)."""
    best, encoded = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        encoded = tok.encode(texts)
        best = min(best, time.perf_counter() - start)
    return encoded, best


def language_metrics(tok: AnyTokenizer, texts: list[str]) -> tuple[dict[str, Any], list[int]]:
    """The metrics of one tokenizer on one language's texts, and the token count of each text."""
    encoded, seconds = _timed_encode(tok, texts)
    counts = [len(ids) for ids in encoded]
    ids = Counter(i for seq in encoded for i in seq)
    word_counts = Counter(w for t in texts for w in t.split())
    distinct = list(word_counts)
    lengths = _word_lengths(tok, distinct) if distinct else []
    words = sum(word_counts.values())
    chars = sum(len(t) for t in texts)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    tokens = sum(counts)

    def share(n: int, total: int) -> float | None:
        return n / total if total else None

    continued = sum(word_counts[w] for w, n in zip(distinct, lengths, strict=True) if n >= 2)
    byte_tokens = sum(c for i, c in ids.items() if tok.is_byte_token(i))
    unk = ids.get(tok.unk_id, 0) if tok.unk_id is not None else 0
    metrics = {
        "texts": len(texts), "words": words, "chars": chars, "bytes": nbytes, "tokens": tokens,
        "fertility": share(tokens, words),
        "chars_per_token": share(chars, tokens),
        "bytes_per_token": share(nbytes, tokens),
        "continued_words": share(continued, words),
        "byte_fallback_rate": share(byte_tokens, tokens),
        "unk_rate": share(unk, tokens),
        "vocab_used": len(ids),
        "vocab_used_share": share(len(ids), tok.vocab_size),
        "encode_chars_per_s": chars / seconds if seconds > 0 else None,
    }
    return metrics, counts


def _unique_names(toks: list[AnyTokenizer]) -> None:
    seen: Counter = Counter()
    for tok in toks:
        seen[tok.name] += 1
        if seen[tok.name] > 1:
            tok.name = f"{tok.name}#{seen[tok.name]}"


UNK_NOTE = 0.01  # above this share of unknown tokens, a language's fertility gets a note


def evaluate_tokenizers(specs: Iterable[str | Path | AnyTokenizer], texts_by_lang: dict[str, dict[str, str]], *,
                        references: Iterable[str] = ("eng_Latn", "fra_Latn"), progress: bool = True,
                        inputs: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The report of every tokenizer on every language (see the module docstring for the metrics).

    ``texts_by_lang``: ``{lang: {id: text}}`` (:func:`read_parallel`); ``references``: the languages parity is
    measured against (those present); ``inputs``: files per language for the report (default: those
    :func:`read_parallel` recorded). Every tokenizer is loaded before any is measured, so a bad spec fails first.

    Example::

        report = evaluate_tokenizers(["peer:byt5"], {"eng_Latn": {"1": "a b"}, "ary_Arab": {"1": "سلام"}})
        report["results"]["byt5"]["ary_Arab"]["parity_eng_Latn"]     # 8 bytes / 3 bytes = 2.67
    """
    if not texts_by_lang:
        raise InputError("no input text: give parallel files, one per language (LANG=FILE, sib200/<lang>/dev.tsv)")
    for lang, texts in texts_by_lang.items():
        if not any(t.strip() for t in texts.values()):
            raise InputError(f"{lang}: no text to evaluate on (its files: "
                             f"{', '.join(getattr(texts_by_lang, 'files', {}).get(lang, [])) or 'none'})")
    specs = list(specs)
    if not specs:
        raise InputError(f"no tokenizer to evaluate: name one or more ({ACCEPTED})")
    toks = [load_any_tokenizer(s) for s in specs]
    _unique_names(toks)
    langs = list(texts_by_lang)
    refs = [language_code(r) or r for r in references]
    present = [r for r in refs if r in texts_by_lang]
    notes = list(getattr(texts_by_lang, "notes", []))
    if not present:
        notes.append(f"no parity: none of the reference languages ({', '.join(refs)}) is among the inputs "
                     f"({', '.join(langs)}); add their text, aligned by id, to measure parity")
    aligned = {r: {lang: len(set(texts_by_lang[lang]) & set(texts_by_lang[r])) for lang in langs} for r in present}
    for r in present:
        without = [lang for lang, n in aligned[r].items() if n == 0]
        if without:
            notes.append(f"no parity with {r} for {', '.join(without)}: no id in common with {r}'s texts")
    common = set.intersection(*(set(t) for t in texts_by_lang.values()))

    results: dict[str, dict[str, Any]] = {}
    bar = _Bar(progress, total=len(toks) * len(langs))
    with bar:
        for tok in toks:
            tok.encode(["warm up"])  # lazy initialisation is not the encode speed
            per_lang: dict[str, dict[str, Any]] = {}
            counts_by_lang: dict[str, dict[str, int]] = {}
            for lang in langs:
                bar.describe(f"{tok.name}: {lang}")
                keys = [k for k, t in texts_by_lang[lang].items() if t.strip()]
                metrics, counts = language_metrics(tok, [texts_by_lang[lang][k] for k in keys])
                per_lang[lang] = metrics
                counts_by_lang[lang] = dict(zip(keys, counts, strict=True))
                bar.advance()
            for r in present:
                for lang in langs:
                    both = counts_by_lang[lang].keys() & counts_by_lang[r].keys()
                    ref_tokens = sum(counts_by_lang[r][k] for k in both)
                    value = sum(counts_by_lang[lang][k] for k in both) / ref_tokens if both and ref_tokens else None
                    per_lang[lang][f"parity_{r}"] = value
            results[tok.name] = per_lang
            # one unk stands for a whole word or character the tokenizer cannot encode: its fertility looks
            # better than a tokenizer's that spells that word out
            unk = [f"{lang} {m['unk_rate']:.1%}" for lang, m in per_lang.items() if (m.get("unk_rate") or 0) > UNK_NOTE]
            if unk:
                notes.append(f"{tok.name}: unknown tokens ({', '.join(unk)} of the tokens): each hides text it cannot "
                             "encode, so its fertility there is too low to compare with the others")
    files = inputs if inputs is not None else dict(getattr(texts_by_lang, "files", {}))
    return {
        "tokenizers": [tok.describe() for tok in toks],
        "languages": langs,
        "references": present,
        "inputs": {"files": files, "texts": {lang: len(texts_by_lang[lang]) for lang in langs},
                   "aligned_ids": {"all_languages": len(common), **{f"with_{r}": aligned[r] for r in present}}},
        "results": results,
        "metrics": METRICS,
        "notes": notes,
    }


class _Bar:
    """A transient rich progress bar over tokenizer × language, or nothing."""

    def __init__(self, on: bool, total: int):
        self.on, self.total, self.bar, self.task = on, total, None, None

    def __enter__(self) -> _Bar:
        if self.on:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("tokenizers", total=self.total)
        return self

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


__all__ = ["METRICS", "ParallelTexts", "evaluate_tokenizers", "language_code", "language_metrics",
           "load_any_tokenizer", "read_parallel"]
