"""Loading helpers of :mod:`jazari_nlp.models`: find the model folder, refuse pickles, pick dtype, add an adapter.

Example::

    folder = model_folder("runs/quickstart")      # runs/quickstart/model
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jazari_nlp.errors import InputError

DEFAULT_MAX_LENGTH = 2048  # lm-eval's default when neither the config nor the tokenizer gives a length
TOKENIZER_INFINITY = 1000000000000000019884624838656  # transformers' "no limit" model_max_length


def model_folder(path: str | Path) -> Path:
    """The model folder of ``path``: the folder itself, or a run directory's ``model/``. Raises
    :class:`InputError` naming the folder and the fix. Example: ``model_folder("runs/quickstart")``."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such model folder: give a folder saved by save_pretrained (config.json + "
                         "*.safetensors) or a jazari run directory (with model/)")
    if not p.is_dir():
        raise InputError(f"{p}: is a file, not a model folder: give the folder that holds config.json")
    if not (p / "config.json").is_file() and (p / "model" / "config.json").is_file():
        p = p / "model"  # a run directory
    if not (p / "config.json").is_file():
        hint = " (a run directory whose train stage has not finished?)" if (p / "model").is_dir() else ""
        raise InputError(f"{p}: not a model folder, no config.json{hint}: give a folder saved by save_pretrained "
                         "or a jazari run directory after `jazari train`")
    from jazari_nlp.modeling.checkpoints import checkpoint_problem

    problem = checkpoint_problem(p)  # safetensors only (pickles never opened), complete files, a model_type
    if problem:
        raise InputError(problem)
    return p


def load_tokenizer(folder: Path, add_bos_token: bool | None) -> Any:
    """The tokenizer saved with the model (a run directory's ``tokenizer/`` when the model folder has none)."""
    from transformers import AutoTokenizer

    from jazari_nlp.hf_logging import without_length_warning

    candidates = [folder]
    if folder.name == "model" and (folder.parent / "tokenizer").is_dir():
        candidates.append(folder.parent / "tokenizer")  # a run directory keeps its tokenizer next to the model
    kwargs = {} if add_bos_token is None else {"add_bos_token": add_bos_token}
    names = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
    for where in candidates:
        if any((where / n).is_file() for n in names):
            tok = AutoTokenizer.from_pretrained(str(where), local_files_only=True, trust_remote_code=False, **kwargs)
            return without_length_warning(tok)  # long texts are windowed or truncated here, never fed whole
    raise InputError(f"{folder}: no tokenizer (tokenizer.json / tokenizer_config.json) next to the model: save "
                     f"the tokenizer into {folder} (tokenizer.save_pretrained)")


def torch_dtype(dtype: Any, device: Any) -> Any:
    """``auto``: bf16 on a CUDA device that supports it, else fp32; or a name (``bfloat16``, ``float32``...)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        bf16 = device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if bf16 else torch.float32
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16, "half": torch.float16}
    if dtype not in names:
        raise InputError(f"dtype: unknown value {dtype!r}; use one of auto, float32, bfloat16, float16")
    return names[dtype]


def with_adapter(model: Any, adapter: Path, tokenizer: Any) -> Any:
    """``model`` with the peft adapter saved in ``adapter`` (safetensors); peft is the optional [lora] extra."""
    try:
        from peft import PeftModel
    except ImportError:
        raise InputError(f"adapter {adapter}: loading a LoRA/peft adapter needs peft: pip install "
                         "'jazari-nlp[lora]' (or pip install peft)") from None
    if not (adapter / "adapter_config.json").is_file():
        raise InputError(f"{adapter}: not a peft adapter folder (no adapter_config.json): give the folder written "
                         "by save_pretrained on a PeftModel")
    if not any(adapter.glob("*.safetensors")):
        raise InputError(f"{adapter}: no adapter_model.safetensors (pickle adapters are refused: they can run "
                         "code); save the adapter with save_pretrained(safe_serialization=True)")
    if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))  # adapters trained with added tokens (as lm-eval does)
    return PeftModel.from_pretrained(model, str(adapter), is_trainable=False)


def load_error(folder: Path, e: Exception) -> InputError:
    """The error to show when transformers refuses a folder that passed :func:`model_folder`'s checks."""
    import json

    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    try:
        remote = "auto_map" in json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        remote = False
    if remote:
        return InputError(f"{folder}: this model needs its own Python code (config.json auto_map); jazari never "
                          "runs a model folder's code: use a model whose architecture transformers knows")
    return InputError(f"{folder}: transformers cannot load this folder as a causal language model ({first}): give "
                      "the folder of a decoder model (model_type llama, mistral, qwen2, gpt2...)")


def resolve_max_length(config: Any, tokenizer: Any = None, default: int = DEFAULT_MAX_LENGTH) -> int:
    """lm-eval's rule: the (text) config's n_positions, max_position_embeddings or n_ctx, else the tokenizer's
    model_max_length, else 2048. Example: ``resolve_max_length(model.config)``."""
    cfg = getattr(config, "text_config", None) or config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(cfg, attr, None)
        if value is not None:
            return int(value)
    mml = getattr(tokenizer, "model_max_length", None)
    if mml is not None and mml != TOKENIZER_INFINITY:
        return int(mml)
    return default



def config_vocab_size(folder: Path) -> int | None:
    """``vocab_size`` of a checkpoint's config.json (or of its ``text_config``), None when unreadable.

    Example: ``config_vocab_size(Path("runs/q/model"))`` → ``2000``."""
    import json

    try:
        cfg = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for c in (cfg, cfg.get("text_config") or {}):
        if isinstance(c, dict) and isinstance(c.get("vocab_size"), int):
            return c["vocab_size"]
    return None
