"""Whether a folder is a checkpoint jazari can load: config.json with a ``model_type`` and complete safetensors
weights (pickles are never opened), checked from the files' headers alone, before transformers is imported.

Low in the layers (it imports nothing of jazari_nlp), so that both the model loader and the ``model:`` section
can use it. Example: ``checkpoint_problem(Path("runs/q/model"))`` → ``None``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a checkpoint jazari can load (config.json + safetensors weights), or None.

    Example: ``checkpoint_problem(Path("runs/q/model"))`` → ``None``.
    """
    if not folder.is_dir():
        return f"{folder} is not a folder: give the folder of a Hugging Face checkpoint (config.json + *.safetensors)"
    if not (folder / "config.json").is_file():
        return (f"{folder} has no config.json, so it is not a Hugging Face checkpoint: give the folder that "
                "model.save_pretrained(...) wrote")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt"))
        found = f" (found {', '.join(pickled[:3])}: pickled weights, never loaded)" if pickled else ""
        return (f"{folder} has no *.safetensors weights{found}: jazari loads safetensors only; convert the "
                "checkpoint with model.save_pretrained(folder, safe_serialization=True)")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"{folder / 'config.json'} cannot be read as JSON ({e}): copy the checkpoint again"
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        return (f"{folder / 'config.json'} has no `model_type`, so transformers cannot tell the architecture: "
                "give the folder that model.save_pretrained(...) wrote")
    for weights in sorted(folder.glob("*.safetensors")):
        problem = safetensors_problem(weights)
        if problem:
            return problem
    return None


def safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file cannot be loaded (empty, truncated, not safetensors), from its header alone:
    8 bytes of header length, the JSON header, then the tensors, whose last end offset must fit in the file.

    Example: ``safetensors_problem(Path("runs/q/model/model.safetensors"))`` → ``None``.
    """
    size = path.stat().st_size
    fix = "copy the checkpoint again, or save it with model.save_pretrained(folder)"
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if n < 2 or n > min(size - 8, 100 * 2**20):
            return f"{path} ({size:,} bytes) is not a complete safetensors file (no valid header): {fix}"
        try:
            header = json.loads(f.read(n))
        except ValueError:
            header = None
    if not isinstance(header, dict):
        return f"{path} ({size:,} bytes) is not a safetensors file (its header is not JSON): {fix}"
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
            and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2]
    need = 8 + n + max(ends, default=0)
    if need > size:
        return f"{path} is truncated: {size:,} bytes, its header says {need:,}: {fix}"
    return None
