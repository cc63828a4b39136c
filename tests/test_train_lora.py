"""LoRA (jazari_nlp.training.lora): only LoRA and chosen token rows train, adapters save and merge into a model
AutoModelForCausalLM loads with the same logits, bad target modules / token ids are clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from pydantic import ValidationError  # noqa: E402

from jazari_nlp.errors import InputError  # noqa: E402
from jazari_nlp.safety import UnsafeOutput  # noqa: E402
from jazari_nlp.training.lora import (  # noqa: E402
    LoraSettings,
    apply_lora,
    default_target_modules,
    linear_module_names,
    lora_report,
    merge,
    merge_adapter,
    save_adapter,
)

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
NEW_TOKENS = ["ⵜⴰⵎⴰⵣⵉⵖⵜ", "bzzaf_zwin", "ڭاع_ڭاع"]  # written for this test


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    from jazari_nlp.modeling.tiny import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("lora") / "base", vocab_size=400, train_steps=0)


def _load(folder: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)


def _tok(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def _train(model, batch, steps: int = 4) -> None:
    """A plain torch loop: AdamW on the parameters that require grad."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(steps):
        model(input_ids=batch, labels=batch).loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()


def _rows(model):
    """The embedding rows the model really uses (peft's token deltas included): input and output."""
    with torch.no_grad():
        emb = model.get_input_embeddings()(torch.arange(model.get_input_embeddings().weight.shape[0]))
        hidden = emb.shape[1]
        out = model.get_output_embeddings()(torch.eye(hidden)).T
    return emb.clone(), out.clone()


def _resized(base: Path):
    tok = _tok(base)
    old = len(tok)
    assert tok.add_tokens(NEW_TOKENS) == len(NEW_TOKENS)
    model = _load(base)
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    return model, tok, list(range(old, len(tok)))


def _batch(tok, new_ids):
    ids = tok("salam labas 3lik", add_special_tokens=False)["input_ids"][:6]
    return torch.tensor([ids + new_ids + ids[:3], new_ids + ids + new_ids[:3]])


def _adapter_keys(adapter: Path, part: str = "") -> list[str]:
    from safetensors import safe_open

    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as f:
        return sorted(k for k in f.keys() if part in k)  # noqa: SIM118


def _logits(model, batch):
    with torch.no_grad():
        return model(input_ids=batch).logits


def test_default_targets_train_only_lora(base):
    model = _load(base)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert default_target_modules(model) == PROJECTIONS
    assert linear_module_names(model) == PROJECTIONS + ["lm_head"]
    settings = LoraSettings()
    peft_model = apply_lora(model, settings)
    info = lora_report(peft_model)
    wrapped = {k: v.shape for k, v in before.items() if k.rsplit(".", 2)[-2] in PROJECTIONS}
    expected = sum(settings.r * (out + inp) for out, inp in wrapped.values())
    assert info["target_modules"] == sorted(PROJECTIONS)
    assert info["lora_layers"] == len(wrapped) == 14
    assert info["trainable_parameters"] == expected
    assert info["total_parameters"] == sum(v.numel() for v in before.values()) + expected
    assert info["trainable_token_ids"] == []

    trainable = sorted(n for n, p in peft_model.named_parameters() if p.requires_grad)
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    tok = _tok(base)
    _train(peft_model, _batch(tok, tok("wa fin", add_special_tokens=False)["input_ids"]))
    after = {k.replace(".base_layer", ""): v for k, v in peft_model.get_base_model().state_dict().items()
             if "lora_" not in k}
    assert sorted(after) == sorted(before)
    assert [k for k in before if not torch.equal(before[k], after[k])] == []  # base weights untouched
    lora_b = [p for n, p in peft_model.named_parameters() if ".lora_B." in n]
    assert len(lora_b) == 14 and all(p.abs().sum() > 0 for p in lora_b)  # B starts at zero: all trained


def test_new_token_rows_train_old_rows_frozen(base):
    model, tok, new_ids = _resized(base)
    old = new_ids[0]
    peft_model = apply_lora(model, LoraSettings(train_new_tokens=True), new_token_ids=new_ids)
    info = lora_report(peft_model)
    hidden = model.config.hidden_size
    lora_only = lora_report(apply_lora(_load(base), LoraSettings()))["trainable_parameters"]
    assert info["trainable_token_ids"] == new_ids
    # untied model: input and output rows of the new tokens
    assert info["trainable_parameters"] == lora_only + 2 * len(new_ids) * hidden
    emb0, out0 = _rows(peft_model)
    _train(peft_model, _batch(tok, new_ids))
    emb1, out1 = _rows(peft_model)
    assert torch.equal(emb1[:old], emb0[:old]) and torch.equal(out1[:old], out0[:old])
    assert (emb1[old:] != emb0[old:]).any(dim=1).tolist() == [True] * len(new_ids)
    assert (out1[old:] != out0[old:]).any(dim=1).tolist() == [True] * len(new_ids)

    frozen_model, _, _ = _resized(base)
    frozen = apply_lora(frozen_model, LoraSettings())  # train_new_tokens off: no row moves
    e0, o0 = _rows(frozen)
    _train(frozen, _batch(tok, new_ids))
    e1, o1 = _rows(frozen)
    assert torch.equal(e0, e1) and torch.equal(o0, o1)


def test_merge_after_resize_matches_base_plus_adapter(base, tmp_path):
    from peft import PeftModel
    from safetensors import safe_open

    model, tok, new_ids = _resized(base)
    peft_model = apply_lora(model, LoraSettings(train_new_tokens=True), new_token_ids=new_ids)
    batch = _batch(tok, new_ids)
    _train(peft_model, batch)
    expected = _logits(peft_model, batch)
    adapter = save_adapter(peft_model, tmp_path / "adapter", tok)
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= {p.name for p in adapter.iterdir()}
    assert not list(adapter.glob("*.bin"))
    assert _adapter_keys(adapter) == sorted(_adapter_keys(adapter, "lora_") + _adapter_keys(adapter, "delta"))
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(base)

    # The failure merge avoids: the adapter does not load into the base as saved (fewer embedding rows).
    with pytest.raises((RuntimeError, IndexError)):
        PeftModel.from_pretrained(_load(base), str(adapter))
    resized = _load(base)
    resized.resize_token_embeddings(len(tok))
    reloaded = PeftModel.from_pretrained(resized, str(adapter))
    assert torch.allclose(_logits(reloaded, batch), expected, atol=1e-4)

    report = merge(adapter, tmp_path / "merged")  # the base is the one the adapter records
    merged = _load(tmp_path / "merged")
    assert type(merged).__name__ == "LlamaForCausalLM"
    assert torch.allclose(_logits(merged, batch), expected, atol=1e-4)
    assert merged.config.vocab_size == len(tok) == report["embedding_rows"] == report["tokenizer_tokens"]
    assert len(_tok(tmp_path / "merged")) == len(tok)
    assert (tmp_path / "merged" / "model.safetensors").is_file() and not list((tmp_path / "merged").glob("*.bin"))
    with safe_open(str(tmp_path / "merged" / "model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if "lora" in k or "token_adapter" in k]  # noqa: SIM118
    base_emb = _load(base).get_input_embeddings().weight
    assert torch.equal(merged.get_input_embeddings().weight[: new_ids[0]], base_emb)
    assert report["check_max_abs_logit_diff"] <= 1e-4


def test_merge_after_resize_with_untrained_new_rows(base, tmp_path):
    """Rows added but not trained exist only in memory: the adapter carries the embeddings, the merge keeps them."""
    model, tok, new_ids = _resized(base)
    with torch.no_grad():
        for w in (model.get_input_embeddings().weight, model.get_output_embeddings().weight):
            w[new_ids] = torch.randn(len(new_ids), w.shape[1])
    peft_model = apply_lora(model, LoraSettings(target_modules=["o_proj"]))
    batch = _batch(tok, new_ids)
    _train(peft_model, batch)
    expected = _logits(peft_model, batch)
    adapter = save_adapter(peft_model, tmp_path / "adapter", tok)
    assert [k for k in _adapter_keys(adapter) if "lora_" not in k] == [
        "base_model.model.lm_head.weight", "base_model.model.model.embed_tokens.weight"]
    merge_adapter(base, adapter, tmp_path / "merged")
    merged = _load(tmp_path / "merged")
    assert torch.allclose(_logits(merged, batch), expected, atol=1e-4)


def test_extended_model_new_rows_and_merge(base, tmp_path):
    from safetensors import safe_open

    from jazari_nlp.modeling.tiny import sample_lines
    from jazari_nlp.tokenization.extend import extend_model

    ext = tmp_path / "ext"
    extend_model(base, sample_lines(), ext, num_tokens=5, progress=False)
    base_ids, ext_tok = set(_tok(base).get_vocab().values()), _tok(ext)
    added = sorted(set(ext_tok.get_vocab().values()) - base_ids)
    assert len(added) == 5
    model = _load(ext)
    peft_model = apply_lora(model, LoraSettings(train_new_tokens=True, target_modules=["q_proj", "v_proj"]))
    info = lora_report(peft_model)
    assert info["trainable_token_ids"] == added  # read from extend_report.json
    assert info["target_modules"] == ["q_proj", "v_proj"] and info["lora_layers"] == 4
    enc = ext_tok(sample_lines()[:40], add_special_tokens=False)["input_ids"]
    flat = [i for ids in enc for i in ids]
    assert set(added) & set(flat)
    batch = torch.tensor(flat[: len(flat) // 32 * 32][:128]).view(-1, 32)
    emb0, _ = _rows(peft_model)
    _train(peft_model, batch)
    emb1, _ = _rows(peft_model)
    assert torch.equal(emb1[: added[0]], emb0[: added[0]])
    expected = _logits(peft_model, batch)
    adapter = save_adapter(peft_model, tmp_path / "adapter", ext_tok)
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())  # noqa: SIM118
    # the extended checkpoint already has the rows: only their deltas travel, not the whole embedding
    assert not [k for k in keys if k.endswith("base_layer.weight")]
    assert len([k for k in keys if "trainable_tokens_delta" in k]) == 2
    report = merge_adapter(ext, adapter, tmp_path / "merged")
    merged = _load(tmp_path / "merged")
    assert torch.allclose(_logits(merged, batch), expected, atol=1e-4)
    assert merged.config.vocab_size == len(ext_tok)
    assert report["dtype"] == "float32"


def test_merge_keeps_a_bf16_base_in_bf16(base, tmp_path):
    bf16 = tmp_path / "bf16"
    _load(base).to(torch.bfloat16).save_pretrained(str(bf16))
    _tok(base).save_pretrained(str(bf16))
    peft_model = apply_lora(_load(bf16), LoraSettings(target_modules=["v_proj"]))  # fp32 weights to train
    tok = _tok(base)
    batch = _batch(tok, tok("wa fin", add_special_tokens=False)["input_ids"])
    _train(peft_model, batch)
    expected = _logits(peft_model, batch)
    report = merge_adapter(bf16, save_adapter(peft_model, tmp_path / "adapter"), tmp_path / "merged")
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"), dtype="auto")
    assert report["dtype"] == "bfloat16" and merged.dtype == torch.bfloat16
    assert torch.allclose(_logits(merged.float(), batch), expected, atol=0.1)  # bf16 rounding of the weights


def test_tied_embeddings_one_delta_and_merge(base, tmp_path):
    from transformers import LlamaForCausalLM

    config = _load(base).config
    config.tie_word_embeddings = True
    torch.manual_seed(1)
    tied_dir = tmp_path / "tied"
    LlamaForCausalLM(config).save_pretrained(str(tied_dir))
    _tok(base).save_pretrained(str(tied_dir))
    model, tok, new_ids = _resized(tied_dir)
    peft_model = apply_lora(model, LoraSettings(train_new_tokens=True), new_token_ids=new_ids)
    lora_only = lora_report(apply_lora(_load(tied_dir), LoraSettings()))["trainable_parameters"]
    assert lora_report(peft_model)["trainable_parameters"] == lora_only + len(new_ids) * config.hidden_size
    batch = _batch(tok, new_ids)
    emb0, out0 = _rows(peft_model)
    _train(peft_model, batch)
    emb1, out1 = _rows(peft_model)
    assert torch.equal(emb1, out1)  # the output layer follows the tied input rows
    assert torch.equal(emb1[: new_ids[0]], emb0[: new_ids[0]]) and not torch.equal(emb1, emb0)
    expected = _logits(peft_model, batch)
    merge_adapter(tied_dir, save_adapter(peft_model, tmp_path / "adapter", tok), tmp_path / "merged")
    merged = _load(tmp_path / "merged")
    assert torch.allclose(_logits(merged, batch), expected, atol=1e-4)


def test_target_modules_that_match_nothing(base):
    model = _load(base)
    with pytest.raises(InputError) as e:
        apply_lora(model, LoraSettings(target_modules=["q_prj", "attention_out"]))
    assert str(e.value) == (
        "train.lora.target_modules: q_prj, attention_out match no module of this LlamaForCausalLM; its linear "
        "layers are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head: did you mean "
        "q_prj → q_proj? (list some of these names, or write all-linear)")
    with pytest.raises(InputError) as e:
        apply_lora(model, LoraSettings(target_modules=["q_proj", "mlp"]))
    assert str(e.value) == (
        "train.lora.target_modules: mlp matches model.layers.0.mlp, a LlamaMLP, not a layer LoRA can wrap (linear, "
        "embedding or convolution): name its linear layers instead (gate_proj, up_proj, down_proj)")
    assert not [n for n, _ in model.named_modules() if "lora" in n]  # nothing half-applied
    peft_model = apply_lora(model, LoraSettings(target_modules="all-linear"))
    assert lora_report(peft_model)["lora_layers"] == 14  # all-linear leaves the output layer alone


def test_token_id_and_modules_to_save_errors(base):
    with pytest.raises(InputError) as e:
        apply_lora(_load(base), LoraSettings(trainable_token_ids=[3, 400, 401]))
    assert str(e.value).startswith("train.lora.trainable_token_ids: 400, 401 are not below the model's 400 "
                                   "embedding rows: resize the model")
    with pytest.raises(InputError) as e:
        apply_lora(_load(base), LoraSettings(train_new_tokens=True))
    assert str(e.value).startswith(f"train.lora.train_new_tokens: {base} has no extend_report.json")
    with pytest.raises(InputError) as e:
        apply_lora(_load(base), LoraSettings(modules_to_save=["classifier"]))
    assert str(e.value).startswith("train.lora.modules_to_save: classifier match no module of this LlamaForCausalLM")
    with pytest.raises(InputError) as e:
        apply_lora(_load(base), LoraSettings(trainable_token_ids=[5], modules_to_save=["embed_tokens"]))
    assert str(e.value).startswith("train.lora.modules_to_save: embed_tokens is the embedding layer")
    # explicit ids without an extend report: only those rows train
    peft_model = apply_lora(_load(base), LoraSettings(trainable_token_ids=[7, 5, 7]))
    assert lora_report(peft_model)["trainable_token_ids"] == [5, 7]


def test_settings_are_strict():
    assert LoraSettings().model_dump() == {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": None,
                                           "train_new_tokens": False, "trainable_token_ids": [],
                                           "modules_to_save": []}
    with pytest.raises(ValidationError, match="rank"):
        LoraSettings.model_validate({"rank": 4})
    with pytest.raises(ValidationError, match="an empty list targets nothing"):
        LoraSettings(target_modules=[])
    with pytest.raises(ValidationError):
        LoraSettings(target_modules="all-linears")
    with pytest.raises(ValidationError):
        LoraSettings(trainable_token_ids=[-1])


def test_merge_refuses_bad_adapters(base, tmp_path):
    with pytest.raises(InputError, match="not a LoRA adapter folder"):
        merge(tmp_path, tmp_path / "out")
    bin_only = tmp_path / "bin_only"
    bin_only.mkdir()
    (bin_only / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    (bin_only / "adapter_model.bin").write_bytes(b"not loaded")
    with pytest.raises(InputError, match=r"only adapter_model.bin: pickled weights, never loaded"):
        merge(bin_only, tmp_path / "out")
    adapter = save_adapter(apply_lora(_load(base), LoraSettings()), tmp_path / "adapter")
    with pytest.raises(InputError, match="is the base model folder"):
        merge(adapter, base)
    moved = tmp_path / "moved"
    shutil.copytree(adapter, moved)
    cfg = json.loads((moved / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(tmp_path / "gone")
    (moved / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="is not a local folder: give the base model folder with --base"):
        merge(moved, tmp_path / "out")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(UnsafeOutput, match="refusing to use"):
        merge(adapter, tmp_path / "full")
    assert merge(moved, tmp_path / "out", base=base)["base"] == str(base)  # no tokenizer beside: the base's
    assert len(_tok(tmp_path / "out")) == len(_tok(base))
