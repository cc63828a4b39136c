"""Training numerics: `dtype: auto` keeps fp32 master weights even on a bf16 GPU (autocast does the speed)."""

import torch

from jazari_nlp.training.lm import _precision, _torch_dtype


def test_auto_dtype_is_float32_weights_even_on_a_bf16_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert _torch_dtype("auto", torch) is torch.float32
    assert _torch_dtype("bfloat16", torch) is torch.bfloat16  # only when asked


def test_auto_precision_is_bf16_autocast_on_a_bf16_gpu_fp32_on_cpu(monkeypatch):
    from jazari_nlp.training.config import TrainConfig

    cfg = TrainConfig()
    assert _precision(cfg, torch) == {"bf16": False, "fp16": False} or torch.cuda.is_available()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert _precision(cfg, torch) == {"bf16": True, "fp16": False}
