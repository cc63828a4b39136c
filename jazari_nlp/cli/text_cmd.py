"""Text commands: ``jazari normalize``, ``jazari langid``, ``jazari translit`` (owned by the text layer).

Each reads stdin or files (``.txt`` one text per line, ``.jsonl`` with ``--field``), streams, writes one JSON
object per line (``{"text": ..., "lang": ..., "score": ...}``) and reports throughput on stderr at the end.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import typer

langid_app = typer.Typer(help="Identify languages, or train the identifier.\n\nExample: echo 'wach labas?' | jazari langid identify",
                         no_args_is_help=True)


def _lines(stream) -> Iterator[str]:
    """Text lines of a binary stream: UTF-8, else Windows-1256/1252 (per line, via ``decode_bytes``)."""
    from jazari_nlp.text.normalize import decode_bytes

    for raw in stream:
        yield decode_bytes(raw.rstrip(b"\r\n"))


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _records(files: list[Path] | None, field: str) -> Iterator[tuple[dict | None, str | None]]:
    """``(record, text)`` for each line of the inputs (record is the parsed JSONL object, else None).

    Files ending in ``.jsonl``/``.json`` are JSON lines, others one text per line; on stdin, JSON lines are
    recognised from the first non-empty line. Bytes that are not UTF-8 are decoded as Windows-1256 (Arabic) or
    Windows-1252. A line that cannot be used (malformed JSON, not an object, no ``field``) comes back as
    ``({"error": reason, "source": path, "line": n}, None)``: the commands write it out as it is, so every input
    line has exactly one output line and nothing is dropped silently.
    """
    inputs = [(str(p), p.open("rb"), p.suffix in (".jsonl", ".json")) for p in files] if files else [
        ("<stdin>", sys.stdin.buffer, None)]
    for name, fh, jsonl in inputs:
        for n, line in enumerate(_lines(fh), 1):
            if jsonl is None and line.strip():
                jsonl = _is_json_object(line)  # stdin: decided by its first non-empty line
            if not jsonl:
                yield None, line
                continue
            where = {"source": name, "line": n}
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                yield {"error": "malformed_json", **where}, None
                continue
            if not isinstance(rec, dict):
                yield {"error": "not_a_json_object", **where}, None
            elif not isinstance(rec.get(field), str):
                yield {"error": f"missing_text_field:{field}", **where}, None
            else:
                yield rec, rec[field]
        if files:
            fh.close()


def _emit(rec: dict | None, field: str, text: str, extra: dict) -> None:
    out = dict(rec) if rec is not None else {}
    out[field if rec is not None else "text"] = text
    out.update(extra)
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


def _stream(files: list[Path] | None, field: str, raw: bool, one: Callable[[str], tuple[str, str, dict]]) -> None:
    """Apply ``one(text) -> (raw line, text for JSON, extra JSON keys)`` to every input line, stream the results
    and report throughput; unusable lines are written out with their error (see :func:`_records`)."""
    n = nbytes = errors = 0
    start = time.perf_counter()
    for rec, text in _records(files, field):
        if text is None:
            _emit_error(rec, raw)
            errors += 1
            continue
        line, json_text, extra = one(text)
        if raw:
            sys.stdout.write(line + "\n")
        else:
            _emit(rec, field, json_text, extra)
        n += 1
        nbytes += len(text.encode("utf-8", "replace"))
    _report(n, nbytes, start, errors)


def _emit_error(rec: dict, raw: bool) -> None:
    """JSON mode: the error record itself. Raw mode: an empty line (keeps lines aligned) and a note on stderr."""
    if raw:
        sys.stdout.write("\n")
        typer.echo(f"{rec['source']}:{rec['line']}: {rec['error']}", err=True)
    else:
        sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")


def _report(n: int, nbytes: int, start: float, errors: int = 0) -> None:
    secs = max(time.perf_counter() - start, 1e-9)
    bad = f" ({errors} unusable lines written with an `error` key)" if errors else ""
    typer.echo(f"{n} texts, {nbytes / 1e6:.2f} MB in {secs:.2f}s: {nbytes / 1e6 / secs:.2f} MB/s, "
               f"{n / secs:.0f} texts/s{bad}", err=True)


def normalize_cmd(
    files: list[Path] = typer.Argument(None, help="Input .txt/.jsonl files (default: stdin).", exists=True),
    profile: str = typer.Option("train", help="train (keeps meaning) or match (dedup/search keys)."),
    field: str = typer.Option("text", help="JSONL field holding the text."),
    unify_g: bool = typer.Option(None, "--unify-g/--no-unify-g", help="Fold ݣ گ into ڭ."),
    strip_diacritics: bool = typer.Option(None, "--strip-diacritics/--keep-diacritics"),
    ascii_digits: bool = typer.Option(None, "--ascii-digits/--keep-digits"),
    raw: bool = typer.Option(False, "--raw", help="Write plain text lines instead of JSON."),
) -> None:
    """Normalize text.

    Example: jazari normalize --profile match corpus.jsonl --field text > keys.jsonl
    """
    from jazari_nlp.cli.common import fail
    from jazari_nlp.text.normalize import PROFILES, normalize

    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")

    def one(text: str) -> tuple[str, str, dict]:
        out = normalize(text, profile, unify_g=unify_g, strip_diacritics=strip_diacritics,
                        ascii_digits=ascii_digits, newlines="space")
        return out, out, {}

    _stream(files, field, raw, one)


def translit_cmd(
    files: list[Path] = typer.Argument(None, help="Input .txt/.jsonl files (default: stdin).", exists=True),
    source: str = typer.Option("ary_Latn", help="ary_Latn (Arabizi) or ary_Arab."),
    target: str = typer.Option("ary_Arab", help="ary_Arab or ary_Latn."),
    eight: str = typer.Option("ه", help="What the digit 8 stands for: ه or غ."),
    field: str = typer.Option("text", help="JSONL field holding the text."),
    raw: bool = typer.Option(False, "--raw", help="Write plain text lines instead of JSON."),
) -> None:
    """Transliterate Arabizi to Arabic-script Darija, or back.

    Example: echo "wach nta mzyan?" | jazari translit --raw
    """
    from jazari_nlp.text.arabizi import transliterate

    def one(text: str) -> tuple[str, str, dict]:
        out = transliterate(text, source=source, target=target, eight=eight)
        return out, text, {"translit": out, "source": source, "target": target}

    _stream(files, field, raw, one)


@langid_app.command("identify")
def langid_identify(
    files: list[Path] = typer.Argument(None, help="Input .txt/.jsonl files (default: stdin).", exists=True),
    field: str = typer.Option("text", help="JSONL field holding the text."),
    top_k: int = typer.Option(1, help="Also list the k best labels (key 'top')."),
    words: bool = typer.Option(False, "--words", help="Add per-word labels and the code-switching ratio."),
    model: Path = typer.Option(None, help="A fastText model (ours, GlotLID or OpenLID); default: shipped.",
                               exists=True),
) -> None:
    """Identify the language of each line.

    Example: jazari langid identify tweets.jsonl --field text --words > tagged.jsonl
    """
    from jazari_nlp.text.langid import LangIdConfig, code_switching_ratio, load_identifier, tag_words

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

    _stream(files, field, False, one)


@langid_app.command("train")
def langid_train(
    data: list[Path] = typer.Argument(..., help="Labelled .tsv (label<TAB>text, or a header with label/text) "
                                      "or .jsonl ({'label', 'text'}) files, or one recipe .yaml.", exists=True),
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
