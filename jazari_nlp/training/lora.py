"""LoRA on any transformers model via peft: target modules by name, trainable rows for added tokens, adapter
save, merge into a full model.

- :func:`apply_lora` wraps a model with peft LoRA layers (default targets: the attention and MLP projections
  inside the model's blocks). With ``train_new_tokens`` the embedding rows (input, and output when untied) of
  the tokens ``jazari tokenizer extend`` added are trained too, through peft's ``trainable_token_indices``:
  only those rows change, every old row stays bit-for-bit the base's.
- :func:`save_adapter` writes ``adapter_config.json`` + ``adapter_model.safetensors`` (and the tokenizer).
- :func:`merge_adapter` loads the base in fp32, resizes it to the adapter's vocabulary when tokens were added,
  folds the adapter in and saves a plain model folder that ``AutoModelForCausalLM.from_pretrained`` loads;
  :func:`merge` is the same for the command line (base read from the adapter, output folder checked).

Example::

    model = apply_lora(model, LoraSettings(r=16, train_new_tokens=True))   # model from an extended checkpoint
    ...  # train
    save_adapter(model, Path("runs/x/adapter"), tokenizer)
    merge_adapter(Path("models/base-ary"), Path("runs/x/adapter"), Path("models/merged"))
"""

from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, field_validator

from jazari_nlp.errors import InputError
from jazari_nlp.schema import StrictModel

log = logging.getLogger("jazari_nlp.train.lora")

KEY = "train.lora"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MERGE_REPORT = "merge_report.json"
MERGED_FILES = ("config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json",
                "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                MERGE_REPORT)
TOKENIZER_NAMES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
MERGE_ATOL = 1e-4  # merged vs base+adapter logits on a probe, relative to the largest logit (at least 1)


class LoraSettings(StrictModel):
    """LoRA settings (mounted as ``train.lora``).

    Example::

        lora:
          r: 16
          alpha: 32
          target_modules: [q_proj, v_proj]
          train_new_tokens: true
    """

    r: int = Field(8, ge=1, description="LoRA rank.")
    alpha: float = Field(16, gt=0, description="LoRA alpha (the update is scaled by alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA branch.")
    target_modules: list[str] | Literal["all-linear"] | None = Field(
        None, description="Module names (suffixes such as q_proj) or all-linear; default: the attention and MLP "
        "projections found in the model's blocks.")
    train_new_tokens: bool = Field(
        False, description="Also train the embedding rows of the tokens added by `jazari tokenizer extend` (read "
        "from the model's extend_report.json); old rows stay frozen.")
    trainable_token_ids: list[NonNegativeInt] = Field(
        default_factory=list, description="Token ids whose embedding rows are trained (with or instead of "
        "train_new_tokens), e.g. tokens added by hand with resize_token_embeddings.")
    modules_to_save: list[str] = Field(
        default_factory=list, description="Modules trained in full and saved with the adapter (a new "
        "classification head...).")

    @field_validator("target_modules")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, list):
            if not v:
                raise ValueError("an empty list targets nothing: list module names (q_proj, v_proj...), write "
                                 "all-linear, or leave the key out for the default projections")
            if any(not isinstance(n, str) or not n.strip() for n in v):
                raise ValueError("module names must be non-empty strings such as q_proj")
        return v


# --------------------------------------------------------------------------------------------- modules


def _is_linear(module: Any) -> bool:
    import torch
    from transformers.pytorch_utils import Conv1D  # GPT-2's projections

    return isinstance(module, (torch.nn.Linear, Conv1D))


def _supported(module: Any) -> bool:
    import torch

    return _is_linear(module) or isinstance(module, (torch.nn.Embedding, torch.nn.Conv1d, torch.nn.Conv2d))


def linear_module_names(model: Any) -> list[str]:
    """The distinct last names of the model's linear layers, in model order: the names ``target_modules`` takes.

    Example: ``linear_module_names(llama)`` → ``['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj',
    'down_proj', 'lm_head']``."""
    names = [n.rsplit(".", 1)[-1] for n, m in model.named_modules() if n and _is_linear(m)]
    return list(dict.fromkeys(names))


def default_target_modules(model: Any) -> list[str]:
    """The linear layers inside the model's numbered blocks (attention and MLP projections), not the heads.

    Example: ``default_target_modules(llama)`` → ``['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj',
    'up_proj', 'down_proj']``."""
    names = [n.rsplit(".", 1)[-1] for n, m in model.named_modules()
             if _is_linear(m) and any(p.isdigit() for p in n.split(".")[:-1])]
    return list(dict.fromkeys(names))


def _matches(module_name: str, target: str) -> bool:
    return module_name == target or module_name.endswith("." + target)  # peft's rule for a list of names


def _check_targets(model: Any, targets: list[str]) -> None:
    """Every name must match at least one module, and only layers LoRA can wrap: else an InputError that lists
    the model's linear layers and the closest names."""
    modules = [(n, m) for n, m in model.named_modules() if n]
    linear = linear_module_names(model)
    kind = type(model).__name__
    missing = [t for t in targets if not any(_matches(n, t) for n, _ in modules)]
    if missing:
        hints = [f"{t} → {close[0]}?" for t in missing if (close := difflib.get_close_matches(t, linear, n=1))]
        raise InputError(
            f"{KEY}.target_modules: {', '.join(missing)} match{'es' if len(missing) == 1 else ''} no module of this "
            f"{kind}; its linear layers are {', '.join(linear)}: "
            + (f"did you mean {'; '.join(hints)} " if hints else "")
            + "(list some of these names, or write all-linear)")
    for t in targets:
        wrong = [(n, m) for n, m in modules if _matches(n, t) and not _supported(m)]
        if wrong:
            name, module = wrong[0]
            inner = list(dict.fromkeys(c.rsplit(".", 1)[-1] for c, cm in module.named_modules() if c and _is_linear(cm)))
            raise InputError(
                f"{KEY}.target_modules: {t} matches {name}, a {type(module).__name__}, not a layer LoRA can wrap "
                f"(linear, embedding or convolution): name its linear layers instead"
                + (f" ({', '.join(inner)})" if inner else ""))


def _module_name(model: Any, module: Any) -> str | None:
    return next((n for n, m in model.named_modules() if m is module), None)


def _tied(model: Any) -> bool:
    out = model.get_output_embeddings()
    return out is None or out.weight is model.get_input_embeddings().weight


# --------------------------------------------------------------------------------------------- new tokens


def added_token_ids(model_dir: Path) -> list[int]:
    """Ids of the tokens ``jazari tokenizer extend`` added to the model in ``model_dir``, from its
    ``extend_report.json`` (they are consecutive, after every id of the base tokenizer).

    Example: ``added_token_ids(Path("models/base-ary"))`` → ``[32000, 32001, ...]``."""
    from jazari_nlp.tokenization.extend import REPORT_FILE

    path = Path(model_dir) / REPORT_FILE
    if not path.is_file():
        raise InputError(
            f"{KEY}.train_new_tokens: {model_dir} has no {REPORT_FILE} (the model was not extended by `jazari "
            "tokenizer extend`), so jazari cannot tell which tokens are new: list their ids in "
            f"{KEY}.trainable_token_ids, or set train_new_tokens: false")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        n, first = int(report["tokens_added"]), int(report["added_tokens_sample"][0]["id"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise InputError(f"{KEY}.train_new_tokens: {path} cannot be read as an extend report ({e!r}): extend the "
                         f"model again, or list the new ids in {KEY}.trainable_token_ids") from None
    return list(range(first, first + n))


def _token_ids(model: Any, settings: LoraSettings, new_token_ids: Any) -> list[int]:
    ids = set(settings.trainable_token_ids)
    if settings.train_new_tokens:
        if new_token_ids is None:
            where = getattr(model, "name_or_path", "") or ""
            if not where or not Path(where).is_dir():
                raise InputError(
                    f"{KEY}.train_new_tokens: the model was not loaded from a local folder, so there is no "
                    f"extend_report.json to read the new tokens from: list their ids in {KEY}.trainable_token_ids")
            new_token_ids = added_token_ids(Path(where))
        ids |= {int(i) for i in new_token_ids}
        if not ids:
            raise InputError(f"{KEY}.train_new_tokens: the model has no added tokens to train: set "
                             "train_new_tokens: false")
    rows = model.get_input_embeddings().weight.shape[0]
    bad = sorted(i for i in ids if i >= rows)
    if bad:
        raise InputError(
            f"{KEY}.trainable_token_ids: {', '.join(map(str, bad[:5]))}{' ...' if len(bad) > 5 else ''} "
            f"{'is' if len(bad) == 1 else 'are'} not below the model's {rows} embedding rows: resize the model to "
            "its tokenizer first (model.resize_token_embeddings(len(tokenizer))), or give ids of this vocabulary")
    return sorted(ids)


# --------------------------------------------------------------------------------------------- apply


def _task_type(model: Any) -> str | None:
    name = type(model).__name__
    for suffix, task in (("ForCausalLM", "CAUSAL_LM"), ("ForSequenceClassification", "SEQ_CLS"),
                         ("ForTokenClassification", "TOKEN_CLS")):
        if name.endswith(suffix):
            return task
    return None


def _import_peft() -> Any:
    try:
        import peft
    except ImportError:
        raise InputError(f"{KEY}: LoRA needs peft: pip install 'jazari-nlp[lora]' (or pip install peft)") from None
    return peft


def apply_lora(model: Any, settings: LoraSettings, *, new_token_ids: Any = None) -> Any:
    """``model`` wrapped with LoRA (a peft ``PeftModel``): only the LoRA matrices, the chosen token rows and
    ``modules_to_save`` are trainable. ``new_token_ids`` (default: read from the model folder's extend report)
    are the rows trained when ``settings.train_new_tokens``. Logs :func:`lora_report`.

    Example: ``apply_lora(model, LoraSettings(target_modules=["q_proj", "v_proj"]))``."""
    peft = _import_peft()
    targets = settings.target_modules
    if targets is None:
        targets = default_target_modules(model)
        if not targets:
            raise InputError(
                f"{KEY}.target_modules: {type(model).__name__} has no linear layers inside numbered blocks to "
                f"default to; its linear layers are {', '.join(linear_module_names(model)) or 'none'}: list the "
                "ones to adapt, or write all-linear")
    elif targets != "all-linear":
        _check_targets(model, targets)
    ids = _token_ids(model, settings, new_token_ids)
    modules = [(n, m) for n, m in model.named_modules() if n]
    missing = [t for t in settings.modules_to_save if not any(_matches(n, t) for n, _ in modules)]
    if missing:
        raise InputError(f"{KEY}.modules_to_save: {', '.join(missing)} match no module of this "
                         f"{type(model).__name__}: give module names such as {', '.join(linear_module_names(model)[-2:])}")
    token_layers: dict[str, list[int]] = {}
    if ids:
        emb = _module_name(model, model.get_input_embeddings())
        token_layers[emb] = ids
        if not _tied(model):  # an untied output layer has its own rows for the new tokens
            token_layers[_module_name(model, model.get_output_embeddings())] = ids
        clash = [t for t in settings.modules_to_save if any(_matches(n, t) for n in token_layers)]
        if clash:
            raise InputError(f"{KEY}.modules_to_save: {', '.join(clash)} is the embedding layer whose new rows "
                             "train_new_tokens / trainable_token_ids already train: drop it from modules_to_save "
                             "(or train the whole layer there and drop the token ids)")
    config = peft.LoraConfig(
        r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout, target_modules=targets,
        modules_to_save=list(settings.modules_to_save) or None, trainable_token_indices=token_layers or None,
        task_type=_task_type(model))
    try:
        peft_model = peft.get_peft_model(model, config)
    except ValueError as e:  # what our checks did not foresee, said in peft's words
        raise InputError(f"{KEY}: peft cannot apply LoRA to this {type(model).__name__}: {e}") from None
    info = lora_report(peft_model)
    log.info("LoRA: %s of %s parameters trainable (%.3f%%), %d LoRA layers, %d token rows",
             f"{info['trainable_parameters']:,}", f"{info['total_parameters']:,}", 100 * info["trainable_share"],
             info["lora_layers"], len(info["trainable_token_ids"]))
    return peft_model


def lora_report(peft_model: Any) -> dict[str, Any]:
    """Trainable and total parameters, LoRA layers and trained token rows of a peft model.

    Example: ``lora_report(model)["trainable_parameters"]`` → ``16384``."""
    trainable, total = peft_model.get_nb_trainable_parameters()
    config = peft_model.peft_config[peft_model.active_adapter]
    layers = [n for n, m in peft_model.named_modules() if hasattr(m, "lora_A") and len(m.lora_A)]
    token_layers = config.trainable_token_indices or {}
    if isinstance(token_layers, list):
        token_layers = {"embeddings": token_layers}
    ids = sorted({i for v in token_layers.values() for i in v})
    targets = config.target_modules
    return {"trainable_parameters": trainable, "total_parameters": total,
            "trainable_share": trainable / total if total else 0.0, "lora_layers": len(layers),
            "target_modules": sorted(targets) if isinstance(targets, (set, list)) else targets,
            "trainable_token_ids": ids, "r": config.r, "alpha": config.lora_alpha}


# --------------------------------------------------------------------------------------------- save / load


def _base_rows(model: Any) -> int | None:
    """Embedding rows of the checkpoint the model was loaded from (its config.json), when it is a local folder."""
    from jazari_nlp.modeling.loading import config_vocab_size

    return config_vocab_size(Path(getattr(model, "name_or_path", "") or ""))


def save_adapter(peft_model: Any, out_dir: Path, tokenizer: Any = None) -> Path:
    """Write the adapter (``adapter_config.json`` + ``adapter_model.safetensors``) and the tokenizer to ``out_dir``.
    Trained token rows are saved alone (peft's small ``trainable_tokens_delta``); the whole embedding layers
    only when the vocabulary was resized after loading the base and some new rows were not trained (the base on
    disk lacks them, and the merge must reproduce them).

    Example: ``save_adapter(model, Path("runs/x/adapter"), tokenizer)`` → ``Path("runs/x/adapter")``."""
    from peft import PeftModel

    if not isinstance(peft_model, PeftModel):
        raise TypeError(f"save_adapter needs the model apply_lora returned (a peft PeftModel), not "
                        f"{type(peft_model).__name__}")
    out_dir = Path(out_dir)
    base = peft_model.get_base_model()
    rows, saved_rows = base.get_input_embeddings().weight.shape[0], _base_rows(base)
    token_layers = peft_model.peft_config[peft_model.active_adapter].trainable_token_indices or {}
    trained = set(token_layers) if isinstance(token_layers, list) else {i for v in token_layers.values() for i in v}
    # Rows added after loading the base exist nowhere on disk: peft's token rows carry their full values (not
    # deltas), so trained ones travel in the adapter; any other new row needs the whole embedding saved.
    full = saved_rows is not None and (rows < saved_rows or not set(range(saved_rows, rows)) <= trained)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir), safe_serialization=True, save_embedding_layers=full)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out_dir))
    return out_dir


def _adapter_config(adapter_dir: Path) -> dict[str, Any]:
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / ADAPTER_CONFIG).is_file():
        raise InputError(f"{adapter_dir}: not a LoRA adapter folder (no {ADAPTER_CONFIG}): give the folder that "
                         "save_adapter (or a PeftModel's save_pretrained) wrote")
    if not (adapter_dir / ADAPTER_WEIGHTS).is_file():
        pickled = " (only adapter_model.bin: pickled weights, never loaded)" if (
            adapter_dir / "adapter_model.bin").is_file() else ""
        raise InputError(f"{adapter_dir}: no {ADAPTER_WEIGHTS}{pickled}: save the adapter with "
                         "save_pretrained(safe_serialization=True)")
    try:
        return json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{adapter_dir / ADAPTER_CONFIG} cannot be read as JSON ({e}): save the adapter "
                         "again") from None


def _adapter_rows(adapter_dir: Path, hidden: int, emb_name: str) -> int | None:
    """Embedding rows the adapter was trained with, from the shapes of the embedding weights it saved (none
    when it saved only LoRA matrices or token-row deltas)."""
    from safetensors import safe_open

    rows = []
    with safe_open(str(Path(adapter_dir) / ADAPTER_WEIGHTS), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open has keys(), no iteration)
            if f".{emb_name}." in f".{key}" and key.endswith("weight") and "lora_" not in key:
                shape = f.get_slice(key).get_shape()
                if len(shape) == 2 and shape[1] == hidden:
                    rows.append(shape[0])
    return max(rows) if rows else None


def _tokenizer_dir(adapter_dir: Path, base_dir: Path) -> Path:
    for where in (Path(adapter_dir), base_dir, base_dir.parent / "tokenizer"):
        if any((where / n).is_file() for n in TOKENIZER_NAMES):
            return where
    raise InputError(f"{adapter_dir}: no tokenizer beside the adapter nor in {base_dir}: save it with "
                     f"tokenizer.save_pretrained('{adapter_dir}')")


def load_with_adapter(base_dir: Path, adapter_dir: Path, *, dtype: Any = None) -> tuple[Any, Any]:
    """The base model with the adapter loaded (peft ``PeftModel``, eval mode) and the adapter's tokenizer; the
    base is resized first when the adapter was trained with added tokens. ``dtype`` default: float32.

    Example: ``model, tok = load_with_adapter(Path("models/base"), Path("runs/x/adapter"))``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jazari_nlp.hf_logging import quiet_transformers
    from jazari_nlp.modeling.loading import load_error, model_folder

    adapter_dir = Path(adapter_dir)
    _adapter_config(adapter_dir)
    base_dir = model_folder(base_dir)
    tok_dir = _tokenizer_dir(adapter_dir, base_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True, trust_remote_code=False)
    with quiet_transformers(True):
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(base_dir), local_files_only=True, trust_remote_code=False, use_safetensors=True,
                dtype=dtype or torch.float32)
        except (OSError, ValueError, KeyError) as e:
            raise load_error(base_dir, e) from None
    emb = model.get_input_embeddings()
    rows = emb.weight.shape[0]
    need = _adapter_rows(adapter_dir, emb.weight.shape[1], _module_name(model, emb)) or max(rows, len(tokenizer))
    if len(tokenizer) > need:
        raise InputError(f"{tok_dir}: the tokenizer has {len(tokenizer)} tokens but the adapter was trained with "
                         f"{need} embedding rows: give the tokenizer saved with the adapter")
    if need != rows:  # tokens added before training: the adapter's rows need a place in the base
        model.resize_token_embeddings(need, mean_resizing=False)
    try:
        peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    except (RuntimeError, ValueError, KeyError, IndexError) as e:  # shapes of another base model
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"{adapter_dir}: the adapter does not fit the base model {base_dir} ({first[:300]}): "
                         "give the base model the adapter was trained on") from None
    peft_model.eval()
    return peft_model, tokenizer


def _saved_dtype(model_dir: Path) -> Any:
    """The dtype the checkpoint's config.json records (``dtype``, or the older ``torch_dtype``); float32 if none."""
    import torch

    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cfg = {}
    name = cfg.get("dtype") or cfg.get("torch_dtype") or (cfg.get("text_config") or {}).get("dtype")
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Fold the adapter into the base and save a full model folder (safetensors, with the tokenizer) that
    ``AutoModelForCausalLM.from_pretrained(out_dir)`` loads; returns the merge report (also
    ``out_dir/merge_report.json``). The merge happens in fp32; weights are saved in the base's dtype.

    Example: ``merge_adapter(Path("models/base"), Path("runs/x/adapter"), Path("models/merged"))``."""
    import torch

    from jazari_nlp.hf_logging import quiet_transformers
    from jazari_nlp.runs import write_json

    peft_model, tokenizer = load_with_adapter(base_dir, adapter_dir)
    base = peft_model.get_base_model()
    saved_dtype = _saved_dtype(Path(base.name_or_path))  # base.config.dtype is the fp32 it was loaded in
    rows = base.get_input_embeddings().weight.shape[0]
    probe = torch.arange(min(rows, 16)).unsqueeze(0)  # a short input through every merged layer
    with torch.no_grad():
        expected = peft_model(input_ids=probe).logits
        merged = peft_model.merge_and_unload()
        diff = (merged(input_ids=probe).logits - expected).abs().max().item()
    scale = max(1.0, expected.abs().max().item())
    if not diff <= 100 * MERGE_ATOL * scale:  # far beyond fp32 rounding: the merge is wrong, do not save it
        raise RuntimeError(f"merge: the merged model's logits differ from base+adapter by {diff:.3g}: a bug, "
                           "please report it")
    if diff > MERGE_ATOL * scale:
        log.warning("merge: merged vs base+adapter logits differ by %.3g (fp32 rounding over many layers)", diff)
    if saved_dtype != torch.float32:
        merged = merged.to(saved_dtype)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_transformers(True):
        merged.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    config = _adapter_config(adapter_dir)
    report = {"base": str(base_dir), "adapter": str(adapter_dir), "out_dir": str(out_dir),
              "embedding_rows": rows, "tokenizer_tokens": len(tokenizer), "r": config.get("r"),
              "alpha": config.get("lora_alpha"), "target_modules": config.get("target_modules"),
              "trainable_token_indices": config.get("trainable_token_indices"),
              "check_max_abs_logit_diff": diff, "dtype": str(saved_dtype).replace("torch.", "")}
    write_json(out_dir / MERGE_REPORT, report)
    return report


def merge(adapter: Path, out: Path, *, base: Path | None = None, allow_existing: bool = False) -> dict[str, Any]:
    """``jazari train merge ADAPTER -o OUT [--base BASE]``: the base defaults to the one recorded in the
    adapter (``base_model_name_or_path``); ``out`` must be new, empty or a jazari model folder.

    Example: ``merge(Path("runs/x/adapter"), Path("models/merged"))["out_dir"]`` → ``'models/merged'``."""
    from jazari_nlp.safety import prepare_output_dir

    adapter, out = Path(adapter), Path(out)
    config = _adapter_config(adapter)
    if base is None:
        recorded = config.get("base_model_name_or_path")
        if not recorded or not Path(recorded).is_dir():
            raise InputError(f"{adapter / ADAPTER_CONFIG}: the base model it records ({recorded!r}) is not a local "
                             "folder: give the base model folder with --base")
        base = Path(recorded)
    for folder, what in ((Path(base), "base model"), (adapter, "adapter")):
        if out.resolve() == folder.resolve():
            raise InputError(f"{out}: is the {what} folder; merging would overwrite it: choose another output folder")
    prepare_output_dir(out, "model", MERGED_FILES, allow_existing=allow_existing)
    return merge_adapter(Path(base), adapter, out)


__all__ = ["LoraSettings", "apply_lora", "lora_report", "save_adapter", "load_with_adapter", "merge_adapter",
           "merge", "added_token_ids", "default_target_modules", "linear_module_names"]
