"""Extend an existing model's vocabulary with tokens learned from Moroccan text, keeping every old token id.

1. Learn ``num_tokens`` new tokens that most reduce the base tokenizer's token count on the text: BPE training
   continued from the base segmentation (:mod:`jazari_nlp.tokenization.extend_learn`); each merge is appended
   after the base merges, each token takes the next free id. Merges whose pair occurs in protected text are
   skipped, so that text tokenizes exactly as before.
2. Resize the input and output embeddings; each new row is the mean of the base rows of the pieces the base
   tokenizer splits the new token into (``init="mean"``), or transformers' mean-and-covariance sample
   (``init="resize"``).
3. Save model (safetensors) + tokenizer (chat template and special tokens kept) + ``extend_report.json``:
   fertility before/after per language of ``report_texts`` (each row with ``in_training_texts``, the share of
   its texts that are also training texts: 1.0 when none are given and the training texts stand in), tokens
   added, the changed share of protected text, and the step-0 loss (NLL per
   token, bits per byte) of base and extended model on held-out text.

Only BPE tokenizers (``tokenizer.json`` with a BPE model: byte-level as GPT-2/Llama-3/Qwen, or
sentencepiece-converted with byte fallback as Llama-2/Mistral/Gemma) can be extended.

Example::

    report = extend_model(Path("models/base"), darija_lines, Path("models/base-ary"), num_tokens=4000,
                          protect_texts=english_lines, heldout_texts=heldout_darija)
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

KEY = "tokenizer.extend.model"
REPORT_FILE = "extend_report.json"
TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "chat_template.json", "added_tokens.json")  # copied; tokenizer.json is rewritten
STALE_FILES = ("tokenizer.model", "vocab.json", "merges.txt", "vocab.txt")  # would disagree with the new vocab
MAX_REPORT_TOKENS = 50
MAX_FERTILITY_TEXTS = 5000  # per language, spread over the texts: fertility to 2 decimals, fast
HELDOUT_BLOCK = 512

# Text in the base model's usual languages, to show how much of it changes (written for this module).
PROBE = (
    "The weather was cold this morning, so we stayed home and read the newspaper.",
    "Please send me the report before Friday; the meeting has been moved to next week.",
    "Children learn languages faster when they hear them every day at home.",
    "The train to the airport leaves every twenty minutes from the central station.",
    "She opened a small bakery in the old town and sells bread, cakes and coffee.",
    "Scientists measured the temperature of the ocean at three hundred different points.",
    "If you have any questions about your order, contact our customer service team.",
    "The museum is free on the first Sunday of every month.",
    "Il fait très beau aujourd'hui, nous allons nous promener au bord de la mer.",
    "Le médecin m'a conseillé de boire plus d'eau et de dormir huit heures par nuit.",
    "La bibliothèque municipale ouvre ses portes à neuf heures du matin.",
    "Nous avons acheté des légumes frais au marché samedi dernier.",
    "Les élèves préparent un exposé sur l'histoire de leur ville.",
    "Pourriez-vous m'indiquer le chemin de la gare, s'il vous plaît ?",
    "Le gouvernement a annoncé de nouvelles mesures pour l'emploi des jeunes.",
    "Mon frère travaille dans une entreprise d'informatique à Lyon.",
)


def check_base(base: Path) -> tuple[Path, Path, dict[str, Any]]:
    """The model folder, the tokenizer folder and the parsed ``tokenizer.json`` of ``base``, or an
    :class:`InputError` naming the folder and the fix (no tokenizer, no fast tokenizer, not BPE).

    Example: ``model_dir, tok_dir, tokenizer_json = check_base(Path("models/base"))``."""
    from jazari_nlp.modeling.loading import model_folder

    try:
        model_dir = model_folder(base)  # config.json + safetensors (a run directory's model/ too)
    except InputError as e:
        raise InputError(f"{KEY}: {e}") from None
    tok_dir = model_dir
    if model_dir.name == "model" and not _has_tokenizer(model_dir) and _has_tokenizer(model_dir.parent / "tokenizer"):
        tok_dir = model_dir.parent / "tokenizer"  # a run directory keeps its tokenizer beside the model
    if not _has_tokenizer(tok_dir):
        raise InputError(f"{KEY}: {tok_dir} has no tokenizer files (tokenizer.json, tokenizer_config.json): save "
                         f"the base model's tokenizer into it with tokenizer.save_pretrained('{tok_dir}')")
    tj_path = tok_dir / "tokenizer.json"
    if not tj_path.is_file():
        raise InputError(
            f"{KEY}: {tok_dir} has no tokenizer.json (only a slow, Python tokenizer): extend needs the fast "
            f"tokenizer; write it with AutoTokenizer.from_pretrained('{tok_dir}').save_pretrained('{tok_dir}') "
            "(sentencepiece models are converted to tokenizer.json on the way)")
    try:
        tj = json.loads(tj_path.read_text(encoding="utf-8"))
        model = tj["model"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{KEY}: {tj_path} cannot be read as a tokenizers file ({e}): save the tokenizer again "
                         "with tokenizer.save_pretrained(...)") from None
    kind = model.get("type") or ("BPE" if "merges" in model else "unknown")
    can = ("byte-level BPE (GPT-2, Llama-3, Qwen) or sentencepiece-style BPE with byte fallback (Llama-2, "
           "Mistral, Gemma)")
    if kind != "BPE":
        what = {"WordPiece": "WordPiece (BERT-style encoders)", "WordLevel": "WordLevel (a fixed word list)",
                "Unigram": "Unigram (T5, XLM-R, ALBERT)"}.get(kind, kind)
        raise InputError(f"{KEY}: {tj_path} is a {what} tokenizer, which cannot be extended: extend learns new BPE "
                         f"merges, so it needs a BPE tokenizer: {can}; or train a new tokenizer (tokenizer.kind) "
                         "instead of extending this one")
    for opt in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(opt):
            raise InputError(f"{KEY}: {tj_path}: a BPE model with {opt}={model[opt]!r} cannot be extended (new "
                             f"merges would not know where words end); extend supports {can}")
    if model.get("dropout"):
        raise InputError(f"{KEY}: {tj_path}: BPE dropout is {model['dropout']} (random segmentation), so the "
                         "base segmentation is not fixed: set \"dropout\": null in tokenizer.json first")
    return model_dir, tok_dir, tj


def _has_tokenizer(folder: Path) -> bool:
    names = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "vocab.txt")
    return folder.is_dir() and any((folder / n).is_file() for n in names)


def extend_model(
    base: Path,
    texts: Iterable[str],
    out_dir: Path,
    *,
    num_tokens: int,
    init: str = "mean",
    min_frequency: int = 2,
    protect_texts: Iterable[str] = (),
    heldout_texts: Iterable[str] = (),
    report_texts: dict[str, list[str]] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Learn ``num_tokens`` tokens from ``texts``, add them to ``base`` (model + tokenizer) and save the result
    to ``out_dir``; returns the report, also written as ``out_dir/extend_report.json``. See the module doc.

    Example: ``extend_model(Path("base"), lines, Path("out"), num_tokens=1000)["tokens_added"]`` → ``1000``."""
    from jazari_nlp.tokenization import extend_learn as el

    t0 = time.time()
    base, out_dir = Path(base), Path(out_dir)
    if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
        raise InputError(f"tokenizer.extend.num_tokens: {num_tokens!r} is not a positive integer: set how many "
                         "tokens to add, e.g. 1000")
    if init not in ("mean", "resize"):
        raise InputError(f"tokenizer.extend.init: unknown value {init!r}; use mean or resize")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
        raise InputError(f"tokenizer.extend.min_frequency: {min_frequency!r} is not a positive integer")
    model_dir, tok_dir, tj = check_base(base)
    if out_dir.resolve() in (model_dir.resolve(), tok_dir.resolve()):
        raise InputError(f"{out_dir}: is the base model's folder; extending would overwrite the base: choose "
                         "another output folder")
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise InputError("tokenizer.extend: no text to learn new tokens from: give Moroccan text (tokenizer.files, "
                         "tokenizer.sources or the corpus train split)")
    protect_texts = [t for t in protect_texts if t and t.strip()]
    heldout_texts = [t for t in heldout_texts if t and t.strip()]

    _check_causal_lm(model_dir)
    base_tok = _load_tokenizer(tok_dir)
    backend = base_tok.backend_tokenizer
    largest, rows = max(base_tok.get_vocab().values()), _config_rows(model_dir)
    if rows is not None and largest >= rows:
        raise InputError(_rows_problem(model_dir, largest, rows))
    # The pipeline AutoTokenizer really runs (a tokenizer class may rebuild it from the file's vocab and merges).
    tj = json.loads(backend.to_str())
    bpe = tj["model"]
    vocab = set(bpe["vocab"])
    byte_fallback = bool(bpe.get("byte_fallback"))
    unk = bpe.get("unk_token")
    marker = el.word_marker(tj)
    seg = {"marker": marker, "byte_fallback": byte_fallback, "unk_token": unk}

    _say(progress, f"extend: segmenting {len(texts):,} texts with the base tokenizer of {tok_dir}")
    words = el.segment_words(backend, texts, **seg)
    prot = el.protection(el.segment_words(backend, protect_texts, **seg), vocab)
    if not bpe.get("ignore_merges"):
        prot.words = set()  # only a tokenizer that maps whole words straight to tokens needs this
    taken = {t["content"] for t in tj.get("added_tokens", [])}
    with _bar(progress, "extend: learning tokens", num_tokens) as step:
        learned = el.learn_tokens(words, vocab=vocab, num_tokens=num_tokens, min_frequency=min_frequency,
                               byte_fallback=byte_fallback, protect=prot, taken=taken, on_token=step)
    if not learned.tokens:
        raise InputError(f"tokenizer.extend: no pair of tokens occurs {min_frequency} times or more in the "
                         f"{len(texts):,} texts (after protection): give more text or lower "
                         "tokenizer.extend.min_frequency")
    ids = [int(i) for i in bpe["vocab"].values()] + [int(t["id"]) for t in tj.get("added_tokens", [])]
    first_id = max(ids) + 1
    new_ids = list(range(first_id, first_id + len(learned.tokens)))
    _write_tokenizer(tj, learned.tokens, new_ids, tok_dir, out_dir)
    new_tok = _load_tokenizer(out_dir)
    moved = {t: i for t, i in base_tok.get_vocab().items() if new_tok.convert_tokens_to_ids(t) != i}
    if moved:
        raise RuntimeError(f"extend: the saved tokenizer changed the ids of {len(moved)} old tokens "
                           f"({list(moved.items())[:5]}): a bug, please report it")

    report: dict[str, Any] = {
        "base": str(base), "model_folder": str(model_dir), "tokenizer_folder": str(tok_dir), "out_dir": str(out_dir),
        "tokenizer_model": "BPE, byte fallback" if byte_fallback else "BPE",
        "tokens_requested": num_tokens, "tokens_added": len(learned.tokens),
        "merges_added": sum(t.merge is not None for t in learned.tokens),
        "characters_added": sum(t.merge is None for t in learned.tokens),
        "fewer_because": None, "new_ids": [new_ids[0], new_ids[-1]], "init": init, "min_frequency": min_frequency,
        "skipped": {"protected": learned.skipped_protected, "already_in_vocabulary": learned.skipped_existing},
        "texts": len(texts), "distinct_words": learned.distinct_words,
    }
    if len(learned.tokens) < num_tokens:
        report["fewer_because"] = (
            f"only {len(learned.tokens)} candidates (pairs of tokens, or characters missing from the vocabulary) "
            f"occur at least min_frequency={min_frequency} times in the {len(texts):,} texts"
            + (f", once {learned.skipped_protected} that would change protected text were skipped"
               if learned.skipped_protected else "") + ": give more text or lower min_frequency")
    report["added_tokens_sample"] = [
        {"id": i, "token": t.content, "text": el.token_text(t.content, tj, marker), "saved": t.gain}
        for i, t in list(zip(new_ids, learned.tokens, strict=True))[:MAX_REPORT_TOKENS]]
    report["tokens_on_texts"] = {"base": learned.tokens_before, "expected": learned.tokens_after,
                                 "extended": _count_tokens(new_tok, texts)}
    # Without report texts the training texts stand in (as "und"), which flatters the extension: said in the report.
    langs = report_texts if report_texts else {"und": texts}
    subsets = {lang: _spread([t for t in ts if t and t.strip()], MAX_FERTILITY_TEXTS) for lang, ts in langs.items()}
    report["fertility"] = {lang: _fertility_pair(base_tok, new_tok, ts) for lang, ts in subsets.items() if ts}
    seen = _seen_share(texts, subsets) if report_texts else dict.fromkeys(subsets, 1.0)
    for lang, row in report["fertility"].items():
        row["in_training_texts"] = seen[lang]  # share of the measured texts that are also training texts
    report["fertility_measured_on"] = "report texts" if report_texts else "training texts (no report texts given)"
    report["protected_texts"] = len(protect_texts)
    report["protected_changed_share"] = _changed_share(base_tok, new_tok, protect_texts) if protect_texts else None
    report["probe_changed_share"] = _changed_share(base_tok, new_tok, PROBE)

    _say(progress, f"extend: {len(learned.tokens)} tokens learned; resizing the model in {model_dir}")
    report.update(_extend_weights(model_dir, base_tok, new_tok, learned.tokens, new_ids, init, heldout_texts,
                                  out_dir, progress))
    report["seconds"] = round(time.time() - t0, 1)
    from jazari_nlp.runs import write_json

    write_json(out_dir / REPORT_FILE, report)
    return report


def _check_causal_lm(model_dir: Path) -> None:
    """Before any work: the checkpoint's architecture must have a causal-LM head in transformers."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        cfg = AutoConfig.from_pretrained(str(model_dir), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{KEY}: {model_dir / 'config.json'} cannot be read by transformers ({e}): give a "
                         "checkpoint saved with save_pretrained") from None
    if cfg.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise InputError(f"{KEY}: {model_dir} is a {cfg.model_type!r} model, which has no causal language-model "
                         "head in transformers: extend works on decoder models (llama, mistral, qwen2, gpt2...)")


def _load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    from jazari_nlp.hf_logging import without_length_warning

    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{KEY}: the tokenizer in {folder} cannot be loaded ({e}): save it again with "
                         "tokenizer.save_pretrained(...)") from None
    if not getattr(tok, "is_fast", False):
        raise InputError(f"{KEY}: the tokenizer in {folder} is not a fast (tokenizers) tokenizer: save a "
                         "tokenizer.json with AutoTokenizer.from_pretrained(...).save_pretrained(...)")
    return without_length_warning(tok)


def _write_tokenizer(tj: dict[str, Any], tokens: list, new_ids: list[int], tok_dir: Path, out_dir: Path) -> None:
    """The base tokenizer.json with the new vocabulary entries and merges appended, plus the base's other
    tokenizer files (special tokens, chat template) copied unchanged."""
    from tokenizers import Tokenizer

    from jazari_nlp.tokenization.extend_learn import extended_json

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in STALE_FILES:
        if (out_dir / name).is_file():
            (out_dir / name).unlink()  # left by an earlier extend into this folder: it would shadow the new one
    text = json.dumps(extended_json(tj, tokens, new_ids), ensure_ascii=False)
    Tokenizer.from_str(text).save(str(out_dir / "tokenizer.json"))
    for name in TOKENIZER_FILES:
        if (tok_dir / name).is_file():
            shutil.copyfile(tok_dir / name, out_dir / name)


def _count_tokens(tok: Any, texts: list[str]) -> int:
    backend = tok.backend_tokenizer
    return sum(len(e.ids) for i in range(0, len(texts), 10_000)
               for e in backend.encode_batch(texts[i : i + 10_000], add_special_tokens=False))


def _spread(texts: list[str], n: int) -> list[str]:
    """At most ``n`` texts spread evenly over ``texts`` (not only the first ones)."""
    return texts if len(texts) <= n else [texts[i * len(texts) // n] for i in range(n)]


def _seen_share(train: list[str], by_lang: dict[str, list[str]]) -> dict[str, float]:
    """Per language, the share of its texts that are also in ``train`` (one pass, a set of the report texts only).

    Example: ``_seen_share(["a", "b"], {"x": ["a", "c"]})`` → ``{"x": 0.5}``"""
    wanted = {t for ts in by_lang.values() for t in ts}
    found = {t for t in train if t in wanted}
    return {lang: round(sum(t in found for t in ts) / len(ts), 4) if ts else 0.0 for lang, ts in by_lang.items()}


def _fertility_pair(base_tok: Any, new_tok: Any, texts: list[str]) -> dict[str, Any]:
    from jazari_nlp.tokenization.train import fertility

    texts = _spread([t for t in texts if t and t.strip()], MAX_FERTILITY_TEXTS)
    before, after = fertility(base_tok, texts), fertility(new_tok, texts)
    return {"before": round(before, 4), "after": round(after, 4), "texts": len(texts),
            "change": round(after / before - 1, 4) if before else None}


def _changed_share(base_tok: Any, new_tok: Any, texts: Iterable[str]) -> float:
    """Share of ``texts`` whose token ids differ between the base and the extended tokenizer."""
    texts = list(texts)
    a = base_tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    b = new_tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    return round(sum(x.ids != y.ids for x, y in zip(a, b, strict=True)) / len(texts), 6) if texts else 0.0


def _extend_weights(model_dir: Path, base_tok: Any, new_tok: Any, tokens: list, new_ids: list[int], init: str,
                    heldout: list[str], out_dir: Path, progress: bool) -> dict[str, Any]:
    """Resize + initialise the embeddings, measure the step-0 loss before and after, save the model."""
    import torch
    from transformers import AutoModelForCausalLM

    from jazari_nlp.hf_logging import quiet_transformers

    with quiet_transformers(not progress):
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(model_dir), local_files_only=True, trust_remote_code=False, use_safetensors=True, dtype="auto")
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{KEY}: {model_dir} cannot be loaded as a causal language model ({e}): give a "
                             "decoder checkpoint saved with save_pretrained (safetensors)") from None
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    emb = model.get_input_embeddings()
    old_rows = emb.weight.shape[0]
    largest = max(base_tok.get_vocab().values())
    if largest >= old_rows:
        raise InputError(_rows_problem(model_dir, largest, old_rows))
    out: dict[str, Any] = {"heldout": None}
    before = _heldout_loss(model, base_tok, heldout, progress) if heldout else None
    new_len = max(old_rows, new_ids[-1] + 1)  # padded embeddings (e.g. Qwen) may already have the rows
    if new_len > old_rows:
        model.resize_token_embeddings(new_len, mean_resizing=(init == "resize"))
    tied = model.get_output_embeddings() is None or \
        model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    if init == "mean":
        base_model = base_tok.backend_tokenizer.model
        pieces = [[p.id for p in base_model.tokenize(t.content)] for t in tokens]
        mats = [model.get_input_embeddings().weight]
        if not tied:
            mats.append(model.get_output_embeddings().weight)
        with torch.no_grad():
            for w in mats:
                for i, ps in zip(new_ids, pieces, strict=True):
                    w[i] = w[ps].float().mean(dim=0).to(w.dtype)
    model.config.get_text_config().vocab_size = new_len
    model.config.vocab_size = new_len
    if heldout:
        after = _heldout_loss(model, new_tok, heldout, progress)
        out["heldout"] = {"texts": len(heldout), "base": before, "extended": after}
    with quiet_transformers(not progress):
        model.save_pretrained(str(out_dir), safe_serialization=True)
    out.update({"embedding_rows": {"before": old_rows, "after": new_len}, "tied_embeddings": tied})
    return out


def _rows_problem(model_dir: Path, largest: int, rows: int) -> str:
    return (f"{KEY}: the tokenizer of {model_dir} has token id {largest} but the model has only {rows} "
            "embedding rows: give the tokenizer saved with this model, or resize the model to its tokenizer first "
            "(model.resize_token_embeddings(len(tokenizer)); model.save_pretrained(...))")


def _config_rows(model_dir: Path) -> int | None:
    """``vocab_size`` of config.json, to check the tokenizer before any work."""
    from jazari_nlp.modeling.loading import config_vocab_size

    return config_vocab_size(model_dir)


def _heldout_loss(model: Any, tok: Any, texts: list[str], progress: bool) -> dict[str, Any] | None:
    """Mean NLL per token and bits per byte of ``model`` on ``texts`` (windows of 512 tokens, each started by
    EOS, as the evaluation stage scores them); None without an EOS token."""
    from jazari_nlp.evaluation.perplexity import score_documents

    if tok.eos_token_id is None:
        return None
    block = min(HELDOUT_BLOCK, getattr(model.config, "max_position_embeddings", None) or HELDOUT_BLOCK)
    s = score_documents(model, tok, texts, block_size=block, batch_size=8)["all"]
    return {"nll_per_token": round(s.nll / s.tokens, 4) if s.tokens else None,
            "bits_per_byte": round(s.bits_per_byte, 4), "tokens": s.tokens, "bytes": s.bytes}


def _say(progress: bool, msg: str) -> None:
    if progress:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(msg)


class _bar:
    """A rich progress bar (nothing with ``progress=False``); calling it advances by one."""

    def __init__(self, progress: bool, label: str, total: int):
        self.progress, self.label, self.total, self.bar = progress, label, total, None

    def __enter__(self):
        if self.progress:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self.step

    def step(self, _token: Any = None) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


__all__ = ["extend_model", "check_base", "PROBE", "REPORT_FILE"]
