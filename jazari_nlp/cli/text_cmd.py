"""Text commands: ``jazari normalize``, ``jazari langid``, ``jazari translit`` (owned by the text layer).

Each reads stdin, files or folders through :mod:`jazari_nlp.readers` (txt one text per line, JSONL/``.json``,
CSV/TSV with a header, parquet, ``save_to_disk`` folders; ``--field`` names the text field or column), streams,
writes one JSON object per record (the record's other fields kept, the results added) and reports throughput on
stderr at the end. A record that cannot be used is one ``{"error": ..., "source": ..., "line": n}`` line and the
stream goes on; the exit code is 1 only when no record at all could be used, 2 when ``--field`` is missing.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import typer

langid_app = typer.Typer(help="Identify languages, or train the identifier.\n\nExample: echo 'wach labas?' | jazari langid identify",
                         no_args_is_help=True)

FILES_HELP = ("Input files or folders (read recursively): .txt (one text per line), .jsonl/.json, .csv/.tsv "
              "with a header, .parquet, save_to_disk folders (default: stdin).")
FIELD_HELP = "Field (JSONL) or column (CSV/TSV/parquet) holding the text."
QUIET_HELP = "Do not print the throughput report on stderr (errors are still printed)."
# JSON lines on stdin are recognised from this many non-empty lines (one on a terminal)
STDIN_LOOKAHEAD = 5
_SURROGATE = re.compile("[\ud800-\udfff]")

Line = tuple[int, str, "str | None", dict]  # (1-based line number, text, error, extra), as readers.text_lines


def _read_options(field: str, fmt: str):
    from jazari_nlp.readers import ReadOptions

    # every column of a row comes out next to the results; no id column is singled out
    return ReadOptions(format=fmt, text_field=field, id_field=None, keep_fields=("*",))


# ------------------------------------------------------------------------------------------------ stdin


def _stdin_lines() -> Iterator[Line]:
    """Every line of stdin, blank ones included: UTF-16/32 found from a BOM or the NUL pattern, CR-only endings
    split, each line decoded on its own (``decode_line``: UTF-8, clean legacy encodings, else ``invalid_utf8`` /
    ``binary_data``; ``decode_wide`` for UTF-16/32, so a bad code unit costs its own line). Streams: only the
    first chunk available is looked at before the first line comes out."""
    from jazari_nlp.readers import SNIFF_BYTES
    from jazari_nlp.readers.decoding import decode_line, decode_wide, raw_lines

    src = sys.stdin.buffer
    # a fresh buffer over the raw stream: peek() then returns the bytes available now, without waiting for more
    f = io.BufferedReader(getattr(src, "raw", src), buffer_size=SNIFF_BYTES)
    enc, lines = raw_lines(f)  # a UTF-8 BOM is dropped
    for n, raw in enumerate(lines, 1):
        yield (n, *(decode_line(raw) if enc is None else decode_wide(raw, enc)))


def _looks_like_json_lines(head: list[Line]) -> bool:
    """Most of the first non-empty, decodable lines start with ``{``: one malformed line does not turn the
    JSON lines after it into plain text, nor one line starting with ``{`` plain text into JSON."""
    texts = [t for _, t, err, _ in head if not err and t.strip()]
    return 2 * sum(t.lstrip().startswith("{") for t in texts) > len(texts)


def _check_stdin_field(head: list[Line], field: str) -> None:
    """Exit 2 when JSON objects were read from stdin and none of them has ``field`` (like files' check_fields)."""
    from jazari_nlp.cli.common import fail
    from jazari_nlp.readers import _guess_text_field, loads_json

    keys: dict[str, None] = {}
    for _, text, err, _ in head:
        try:
            row = loads_json(text) if not err and text.strip() else None
        except (ValueError, RecursionError):
            row = None
        if isinstance(row, dict):
            if field in row:
                return
            keys.update(dict.fromkeys(row))
    if keys:
        guess = _guess_text_field(list(keys))
        fix = f"use --field {guess}" if guess else "use --field with one of them"
        fail(f"<stdin> has no field {field!r} in its first JSON lines (their fields: {', '.join(keys)}); {fix}")


def _stdin_items(field: str) -> Iterator:
    """The records of stdin: JSON lines (blank lines skipped) or one text per line (blank lines kept: an
    empty text), decided from the first :data:`STDIN_LOOKAHEAD` non-empty lines."""
    from jazari_nlp.readers import iter_items

    lines = _stdin_lines()
    want = 1 if sys.stdin.isatty() else STDIN_LOOKAHEAD  # a person typing sees each line's result at once
    head: list[Line] = []
    for line in lines:
        head.append(line)
        if sum(bool(err or t.strip()) for _, t, err, _ in head) >= want:
            break
    stream = itertools.chain(head, lines)
    if _looks_like_json_lines(head):
        _check_stdin_field(head, field)
        yield from iter_items(Path("<stdin>"), _read_options(field, "jsonl"),
                              lines=(ln for ln in stream if ln[2] or ln[1].strip()))
    else:
        yield from iter_items(Path("<stdin>"), _read_options(field, "txt"), lines=stream)


# ------------------------------------------------------------------------------------------------ files


def _file_sources(files: list[Path], field: str) -> list[tuple[str, Iterator]]:
    """``(name, records)`` per input file, folders expanded. Checked before anything is written: a path that is
    neither a file nor a folder, a folder with nothing to read, or a ``--field`` that a file's header / first
    rows lack is a clear error (exit 2); the files a folder holds but that are not read are named on stderr."""
    from jazari_nlp.cli.common import fail
    from jazari_nlp.readers import check_fields, detect_format, expand_inputs

    inputs, empty, notes = expand_inputs(files)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    for pat in empty:
        p = Path(pat)
        fail(f"{p}: no file of a known format in this folder (.txt, .jsonl, .json, .csv, .tsv, .parquet...)"
             if p.is_dir() else f"{p} is neither a file nor a folder: give a file, a folder or nothing (stdin)")
    sources = []
    for path in inputs:
        fmt = detect_format(path, default="txt")  # a file named explicitly with another extension: plain text
        opts = _read_options(field, fmt)
        problem = check_fields(path, opts, where="--field")
        if problem:  # readers words its fix for configs ("set --field: x"); a command line says "use"
            fail(problem.replace("; set --field: ", "; use --field ").replace("; set --field to", "; use --field with"))
        sources.append((str(path), _file_items(path, fmt, opts)))
    return sources


def _file_items(path: Path, fmt: str, opts) -> Iterator:
    """``iter_items`` of one file; in a txt file the blank lines it skips come back as empty texts, so that every
    line has one output line (``--raw`` output stays aligned with the input)."""
    from jazari_nlp.readers import Item, iter_items

    last = 0
    for item in iter_items(path, opts):
        if fmt == "txt" and item.line > last + 1:
            yield from (Item("", n) for n in range(last + 1, item.line))
        last = max(last, item.line)
        yield item


def _records(files: list[Path] | None, field: str) -> Iterator[tuple[str, object]]:
    """``(source name, readers.Item)`` for every record of the inputs (stdin when there are none), in order."""
    for name, items in _file_sources(files, field) if files else [("<stdin>", _stdin_items(field))]:
        for item in items:
            yield name, item


# ------------------------------------------------------------------------------------------------ output


def _write(text: str) -> None:
    """Write to stdout; a terminal that cannot show a character gets '?' instead of a crash."""
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        enc = sys.stdout.encoding or "utf-8"
        sys.stdout.write(text.encode(enc, "replace").decode(enc))


def _dumps(obj: dict) -> str:
    """One JSON line; lone surrogates left in other fields (``"\\ud800"`` escapes in the input) are written as
    the same escapes, which is valid JSON and cannot fail to encode."""
    out = json.dumps(obj, ensure_ascii=False, default=str)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)


def _error_record(name: str, item, field: str) -> dict:
    error = f"missing_text_field:{field}" if item.error == "missing_text_field" else item.error
    rec = {"error": error, "source": name, "line": item.line}
    if item.error == "unreadable_file":
        rec["detail"] = item.extra.get("error")
    elif item.error == "malformed_row":
        rec.update({k: item.extra[k] for k in ("columns", "header_columns") if k in item.extra})
    return rec


def _stream(files: list[Path] | None, field: str, raw: bool, one: Callable[[str], tuple[str, str, dict]],
            quiet: bool = False) -> None:
    """Apply ``one(text) -> (raw line, text for JSON, extra JSON keys)`` to every input record, stream the
    results and report throughput. An unusable record is written with its error (JSON mode) or as an empty
    line and a note on stderr (raw mode). Lone surrogates are removed from the text first (counted).
    Exit 1 when not one record could be used."""
    from jazari_nlp.cli.common import fail

    n = nbytes = surrogates = 0
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    for name, item in _records(files, field):
        if item.error:
            rec = _error_record(name, item, field)
            errors[rec["error"]] += 1
            if raw:
                _write("\n")
                typer.echo(f"{name}:{item.line}: {rec['error']}", err=True)
            else:
                _write(_dumps(rec) + "\n")
            continue
        text, k = _SURROGATE.subn("", item.text)
        surrogates += k
        line, json_text, extra = one(text)
        if raw:
            _write(line + "\n")
        else:
            out = dict(item.fields)
            out[field if item.fields else "text"] = json_text
            out.update(extra)
            _write(_dumps(out) + "\n")
        n += 1
        nbytes += len(text.encode("utf-8"))
    sys.stdout.flush()
    if not quiet:
        _report(n, nbytes, start, errors, surrogates)
    if n == 0 and errors:
        fail(f"no input line could be used ({_reasons(errors)})")  # exit 2: input to fix, as every command


def _reasons(errors: Counter) -> str:
    return ", ".join(f"{k} {e}" for e, k in errors.most_common())


def _report(n: int, nbytes: int, start: float, errors: Counter | None = None, surrogates: int = 0) -> None:
    secs = max(time.perf_counter() - start, 1e-9)
    total = sum(errors.values()) if errors else 0
    bad = f" ({total} unusable lines written with an `error` key: {_reasons(errors)})" if total else ""
    lone = f"; {surrogates} lone surrogates removed" if surrogates else ""
    typer.echo(f"{n} texts, {nbytes / 1e6:.2f} MB in {secs:.2f}s: {nbytes / 1e6 / secs:.2f} MB/s, "
               f"{n / secs:.0f} texts/s{bad}{lone}", err=True)


def normalize_cmd(
    files: list[Path] = typer.Argument(None, help=FILES_HELP, exists=True),
    profile: str = typer.Option("train", help="train (keeps meaning) or match (dedup/search keys)."),
    field: str = typer.Option("text", help=FIELD_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    unify_g: bool = typer.Option(None, "--unify-g/--no-unify-g", help="Fold ݣ گ into ڭ."),
    strip_diacritics: bool = typer.Option(None, "--strip-diacritics/--keep-diacritics"),
    ascii_digits: bool = typer.Option(None, "--ascii-digits/--keep-digits"),
    raw: bool = typer.Option(False, "--raw", help="Write plain text lines instead of JSON."),
) -> None:
    """Normalize text.

    Example: jazari normalize --profile match corpus.jsonl --field text > keys.jsonl
    Example: jazari normalize tweets.csv --field tweet --raw
    """
    from jazari_nlp.cli.common import fail
    from jazari_nlp.text.normalize import PROFILES, normalize

    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")

    def one(text: str) -> tuple[str, str, dict]:
        out = normalize(text, profile, unify_g=unify_g, strip_diacritics=strip_diacritics,
                        ascii_digits=ascii_digits, newlines="space")
        return out, out, {}

    _stream(files, field, raw, one, quiet)


def translit_cmd(
    files: list[Path] = typer.Argument(None, help=FILES_HELP, exists=True),
    source: str = typer.Option("ary_Latn", help="ary_Latn (Arabizi) or ary_Arab."),
    target: str = typer.Option("ary_Arab", help="ary_Arab or ary_Latn."),
    eight: str = typer.Option("ه", help="What the digit 8 stands for: ه or غ."),
    field: str = typer.Option("text", help=FIELD_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    raw: bool = typer.Option(False, "--raw", help="Write plain text lines instead of JSON."),
) -> None:
    """Transliterate Arabizi to Arabic-script Darija, or back.

    Example: echo "wach nta mzyan?" | jazari translit --raw
    """
    from jazari_nlp.text.arabizi import transliterate

    # --raw writes one line per record: a line break inside a record (a quoted CSV field, U+2028...) is a space
    breaks = re.compile("\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")

    def one(text: str) -> tuple[str, str, dict]:
        out = transliterate(text, source=source, target=target, eight=eight)
        # "translit_from"/"translit_to": a row's own `source` column (a corpus shard's) is kept as it is
        return breaks.sub(" ", out) if raw else out, text, {"translit": out, "translit_from": source,
                                                            "translit_to": target}

    _stream(files, field, raw, one, quiet)


@langid_app.command("identify")
def langid_identify(
    files: list[Path] = typer.Argument(None, help=FILES_HELP, exists=True),
    field: str = typer.Option("text", help=FIELD_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    top_k: int = typer.Option(1, help="Also list the k best labels (key 'top')."),
    words: bool = typer.Option(False, "--words", help="Add per-word labels and the code-switching ratio."),
    model: Path = typer.Option(None, help="A fastText model (ours, GlotLID or OpenLID); default: shipped.",
                               exists=True),
) -> None:
    """Identify the language of each line.

    Example: jazari langid identify tweets.jsonl --field text --words > tagged.jsonl
    Example: jazari langid identify data/ --field tweet -q
    """
    from jazari_nlp.cli.common import fail
    from jazari_nlp.text.fasttext_file import ModelFileError, check_fasttext_file
    from jazari_nlp.text.langid import LangIdConfig, code_switching_ratio, load_identifier, tag_words

    if model is not None:
        try:  # a truncated or foreign file: one clear line, not the config validator's traceback
            check_fasttext_file(model)
        except ModelFileError as e:
            fail(f"--model: {e}")
    cfg = LangIdConfig() if model is None else LangIdConfig(
        backend="jazari" if model.suffix == ".ftz" and "langid" in model.name else "fasttext", model_path=model)
    ident = load_identifier(cfg)
    def one(text: str) -> tuple[str, str, dict]:
        preds = ident.predict(text, top_k)
        extra = {"lang": preds[0].label, "score": round(preds[0].score, 4)}
        if top_k > 1:
            extra["top"] = [[p.label, round(p.score, 4)] for p in preds]
        if words:
            extra["words"] = tag_words(text, ident)
            extra["code_switching"] = round(code_switching_ratio(text, ident), 4)
        return "", text, extra

    _stream(files, field, False, one, quiet)


@langid_app.command("train")
def langid_train(
    data: list[Path] = typer.Argument(..., help="Labelled .tsv (label<TAB>text, or a header with label/text) "
                                      "or .jsonl ({'label', 'text'}) files or folders of them, or one recipe "
                                      ".yaml.", exists=True),
    output: Path = typer.Option(Path("langid.ftz"), "--output", "-o", help="Model file to write."),
    dim: int = typer.Option(32, help="Vector size (files only; a recipe has its own)."),
    epoch: int = typer.Option(20, help="Training epochs."),
    lr: float = typer.Option(0.5, help="Learning rate (lower it if training reports NaN on tiny data)."),
    bucket: int = typer.Option(400_000, help="Hash buckets for n-grams (smaller = smaller model)."),
    quantize: bool = typer.Option(True, "--quantize/--no-quantize", help="Quantize the model (~10x smaller)."),
) -> None:
    """Train a language identifier.

    Example: jazari langid train configs/langid.yaml      (the shipped model's recipe)
    Example: jazari langid train my_labelled.tsv -o my_langid.ftz
    """
    from pydantic import ValidationError

    from jazari_nlp.cli.common import fail
    from jazari_nlp.text.langid_train import (
        FastTextParams,
        load_train_config,
        train_langid,
        train_langid_files,
    )

    try:
        if len(data) == 1 and data[0].suffix in (".yaml", ".yml"):
            report = train_langid(load_train_config(data[0]))
        else:
            params = FastTextParams(dim=dim, epoch=epoch, lr=lr, bucket=bucket, quantize=quantize)
            report = train_langid_files([str(p) for p in data], output, params)
    except (KeyError, ValueError, RuntimeError, ValidationError) as e:  # unknown label, empty data, bad recipe
        fail(f"langid train: {e}")
    typer.echo(json.dumps(report, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add the text-layer commands to the main app."""
    app.command("normalize")(normalize_cmd)
    app.command("translit")(translit_cmd)
    app.add_typer(langid_app, name="langid")
