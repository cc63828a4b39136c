"""The model wrappers (jazari_nlp.models) give lm-evaluation-harness's numbers: parity with HFLM on one saved
tiny Llama (log-likelihoods within 1e-4, the same is_greedy, the same rolling sums and greedy generations),
prefix reuse equal to the plain path with fewer tokens computed, and clear errors for folders it refuses."""

import json
import random
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from lm_eval.api.instance import Instance  # noqa: E402  (a test dependency: never skipped)
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window  # noqa: E402

from jazari_nlp.errors import InputError  # noqa: E402
from jazari_nlp.modeling.scoring import Scorer, rolling_windows  # noqa: E402
from jazari_nlp.modeling.tiny import build_tiny_llama, sample_lines  # noqa: E402
from jazari_nlp.models import LM, load_lm  # noqa: E402

MAX_LEN = 128  # the tiny model's max_position_embeddings


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", max_position_embeddings=MAX_LEN, train_steps=100)


@pytest.fixture(scope="session")
def lm(model_dir):
    return load_lm(model_dir, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def hflm(model_dir):
    return HFLM(pretrained=str(model_dir), device="cpu", dtype="float32", batch_size=8)


def lm_eval_loglikelihood(hflm, requests):
    return hflm.loglikelihood([Instance("loglikelihood", {}, r, i) for i, r in enumerate(requests)],
                              disable_tqdm=True)


def mc_requests(lm, items=24):
    """Multiple-choice requests from the bundled samples: 4 choices of 2-6 words per context; every third context
    ends with a space, some with a newline; plus greedy continuations (is_greedy true), one-token choices, empty
    contexts and a context longer than the model."""
    lines = sample_lines()
    rng = random.Random(7)
    reqs = []
    for k, line in enumerate(rng.sample(lines, items)):
        words = line.split()
        ctx = " ".join(words[: max(1, len(words) // 2)]) + (" " if k % 3 == 0 else "\n" if k % 7 == 0 else "")
        reqs += [(ctx, " " + " ".join(rng.choice(lines).split()[: rng.randint(2, 6)])) for _ in range(4)]
    prompts = [line[:12] for line in lines[5::150]]
    # an empty generation (EOS at once) is no request: lm-eval refuses an empty continuation
    reqs += [(p, g) for p, g in zip(prompts, lm.generate(prompts, max_gen_toks=5, batch_size=4), strict=True) if g]
    reqs += [("Salam, kif", c) for c in (" a", " b", " c", " d")]
    reqs += [("", " salam 3likom"), ("", "ⴰⵣⵓⵍ"), ("", lm.tokenizer.bos_token + "wakha")]
    long_ctx = " ".join(lines[:40])
    assert len(lm.tok_encode(long_ctx)) > 3 * MAX_LEN
    reqs += [(long_ctx, " mzyan"), (long_ctx, " bzaf dyal lkhdma")]
    return reqs


def test_loglikelihood_matches_lm_eval(lm, hflm):
    reqs = mc_requests(lm)
    assert len(reqs) >= 100
    ours = lm.loglikelihood(reqs, batch_size=8)
    ref = lm_eval_loglikelihood(hflm, reqs)
    worst = max(abs(a[0] - b[0]) for a, b in zip(ours, ref, strict=True))
    assert worst <= 1e-4, worst
    assert [g for _, g in ours] == [g for _, g in ref]
    assert sum(g for _, g in ref) >= 3  # the greedy continuations: is_greedy really compared both ways
    assert all(lp < 0 for lp, _ in ours)


def test_add_bos_token_matches_lm_eval(model_dir):
    reqs = [("Salam, kif ", "dayr?"), ("", " salam"), ("ⴰⵣⵓⵍ", " ⴼⵍⵍⴰⵡⵏ"), ("<s>Salam", " 3likom")]
    hf = HFLM(pretrained=str(model_dir), device="cpu", dtype="float32", batch_size=4, add_bos_token=True)
    lm = load_lm(model_dir, device="cpu", dtype="float32", add_bos_token=True)
    assert lm.tok_encode("Salam")[0] == lm.tokenizer.bos_token_id == hf.tok_encode("Salam")[0]
    assert lm.tok_encode("<s>Salam").count(lm.tokenizer.bos_token_id) == 1  # no second BOS
    ref = lm_eval_loglikelihood(hf, reqs)
    assert [lp for lp, _ in lm.loglikelihood(reqs)] == pytest.approx([lp for lp, _ in ref], abs=1e-4)
    rolling = hf.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, ("Salam 3likom",), 0)],
                                       disable_tqdm=True)
    assert lm.loglikelihood_rolling(["Salam 3likom"]) == pytest.approx(rolling, abs=1e-4)
    gen = hf.generate_until([Instance("generate_until", {}, ("Salam", {"until": ["\n"], "max_gen_toks": 10}), 0)],
                            disable_tqdm=True)
    assert lm.generate(["Salam"], until=["\n"], max_gen_toks=10) == gen


def test_empty_inputs(lm):
    assert lm.loglikelihood([]) == [] and lm.loglikelihood_rolling([]) == [] and lm.generate([]) == []
    assert lm.loglikelihood([("Salam", "")]) == [(0.0, True)]  # nothing to predict


def test_encoding_follows_lm_eval(lm, hflm):
    reqs = [("Salam, kif ", "dayr?"), ("ⴰⵣⵓⵍ\n", "ⴼⵍⵍⴰⵡⵏ"), ("", " salam"), ("", lm.tokenizer.bos_token + "wakha")]
    pairs = lm.encode_pairs(reqs)
    assert pairs[0] == hflm._encode_pair("Salam, kif ", "dayr?")
    assert pairs[0][0] == lm.tok_encode("Salam, kif")  # the trailing space moved to the continuation
    assert pairs[1] == hflm._encode_pair("ⴰⵣⵓⵍ\n", "ⴼⵍⵍⴰⵡⵏ")
    bos = lm.tokenizer.bos_token_id
    assert pairs[2] == ([bos], lm.tok_encode(" salam", add_special_tokens=False))
    assert pairs[3] == ([bos], lm.tok_encode("wakha", add_special_tokens=False))  # text already starting with BOS


def test_prefix_reuse_equals_plain_with_fewer_tokens(lm, monkeypatch):
    reqs = mc_requests(lm)[: 24 * 4]
    pairs = lm.encode_pairs(reqs)
    assert lm._scorer._packing_works()  # probed once, before counting
    seen = []
    original = Scorer._forward

    def counting(self, chunk, device):
        seen.append(sum(len(r.tokens) for r in chunk))
        return original(self, chunk, device)

    monkeypatch.setattr(Scorer, "_forward", counting)
    plain = lm.loglikelihood(reqs, batch_size=8, prefix_reuse=False)
    plain_tokens, seen[:] = sum(seen), []
    packed = lm.loglikelihood(reqs, batch_size=8, prefix_reuse=True)
    packed_tokens = sum(seen)
    assert max(abs(a[0] - b[0]) for a, b in zip(plain, packed, strict=True)) <= 1e-4
    assert [g for _, g in plain] == [g for _, g in packed]
    # plain: every request reads its context again; packed: each context once, each choice without its last token
    contexts = {tuple(c) for c, _ in pairs}
    assert len(contexts) == 24
    assert all(len(c) + sum(len(k) - 1 for c2, k in pairs if tuple(c2) == c) <= MAX_LEN for c in contexts)
    assert plain_tokens == sum(len(x) for x in {tuple(c + k[:-1]) for c, k in pairs})
    assert packed_tokens == sum(len(c) for c in contexts) + sum(len(k) - 1 for _, k in pairs)
    assert packed_tokens < plain_tokens


def test_one_token_choices_read_from_one_forward_pass(lm, monkeypatch):
    ctx = list(range(10, 30))
    pairs = [(ctx, [t]) for t in (40, 41, 42, 43, 44)]
    assert lm._scorer._packing_works()
    calls = []
    original = Scorer._forward
    monkeypatch.setattr(Scorer, "_forward", lambda self, chunk, device: calls.append(
        [len(r.tokens) for r in chunk]) or original(self, chunk, device))
    for reuse in (True, False):
        calls.clear()
        out = lm.loglikelihood_tokens(pairs, batch_size=8, prefix_reuse=reuse)
        assert calls == [[20]]  # one row: the context; the five answers are read from its last position
        logits = lm.model(torch.tensor([ctx])).logits[0, -1].log_softmax(-1)
        assert [lp for lp, _ in out] == pytest.approx([logits[t].item() for t in (40, 41, 42, 43, 44)], abs=1e-5)
        assert [g for _, g in out] == [int(logits.argmax()) == t for t in (40, 41, 42, 43, 44)]


def test_batch_size_does_not_change_numbers_and_progress_counts(lm):
    reqs = mc_requests(lm, items=6)
    ticks = []
    one = lm.loglikelihood(reqs, batch_size=1, progress=ticks.append)
    assert sum(ticks) == len(reqs)
    auto = lm.loglikelihood(reqs, batch_size="auto", progress=True)
    assert [lp for lp, _ in one] == pytest.approx([lp for lp, _ in auto], abs=1e-4)


def test_rolling_windows_are_lm_evals():
    assert rolling_windows([1, 2, 3, 4, 5], prefix_token=0, max_seq_len=3) == [([0], [1, 2, 3]), ([2, 3], [4, 5])]
    rng = random.Random(3)
    for _ in range(50):
        toks = [rng.randrange(100) for _ in range(rng.randrange(0, 40))]
        size = rng.randrange(1, 12)
        ref = [make_disjoint_window(w) for w in get_rolling_token_windows(toks, 0, size, 1)]
        ours = rolling_windows(toks, 0, size)
        assert ours == [(list(a), list(b)) for a, b in ref]
        assert [t for _, pred in ours for t in pred] == toks  # every token predicted exactly once


def test_loglikelihood_rolling_matches_lm_eval(lm, hflm):
    lines = sample_lines()
    texts = lines[:12] + [" ".join(lines[:60]), ""]
    assert len(lm.tok_encode(texts[-2])) > 4 * MAX_LEN  # several windows
    ours = lm.loglikelihood_rolling(texts, batch_size=4)
    ref = hflm.loglikelihood_rolling(
        [Instance("loglikelihood_rolling", {}, (t,), i) for i, t in enumerate(texts)], disable_tqdm=True)
    # lm-eval sums each window in float32 (about 1e-7 relative); jazari sums in float64
    assert ours == pytest.approx(ref, rel=1e-6, abs=1e-4)
    assert ours[-1] == 0.0 and all(x < 0 for x in ours[:-1])


def test_generate_matches_lm_eval(lm, hflm):
    lines = sample_lines()
    prompts = [" ".join(line.split()[:3]) for line in lines[::120]] + [" ".join(lines[:30])]
    assert len(lm.tok_encode(prompts[-1])) > MAX_LEN  # left-truncated to leave room for the new tokens
    until = ["\n", "."]
    ours = lm.generate(prompts, until=until, max_gen_toks=24, batch_size=4)
    ref = hflm.generate_until([Instance("generate_until", {}, (p, {"until": list(until), "max_gen_toks": 24,
                                                                    "do_sample": False}), i)
                               for i, p in enumerate(prompts)], disable_tqdm=True)
    assert ours == ref
    assert len(ours) == len(prompts) and sum(bool(t) for t in ours) >= len(prompts) // 2
    assert not any("\n" in t or "." in t for t in ours)
    free = lm.generate(prompts[:3], max_gen_toks=24, batch_size=1)
    assert [t.split(".")[0].split("\n")[0] for t in free] == ours[:3]  # the stop sequences cut the same text


def test_generate_refuses_max_gen_toks_beyond_the_model(lm):
    with pytest.raises(InputError, match=r"max_gen_toks=128 leaves no room .* at most 128 tokens"):
        lm.generate(["salam"], max_gen_toks=MAX_LEN)


def test_continuation_longer_than_the_model_is_a_clear_error(lm):
    with pytest.raises(InputError, match=r"continuation of 200 tokens is longer than the model's max_length \(128\)"):
        lm.loglikelihood_tokens([([1], [5] * 200)])


TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_chat_template_and_chat(lm, hflm):
    messages = [{"role": "system", "content": "Jaweb b darija."}, {"role": "user", "content": "Salam, kif dayr?"}]
    with pytest.raises(InputError, match="has no chat template"):
        lm.apply_chat_template(messages)
    tok = lm.tokenizer.__class__.from_pretrained(str(lm.path))
    tok.chat_template = TEMPLATE
    chat_lm = LM(lm.model, tok)
    prompt = chat_lm.apply_chat_template(messages)
    assert prompt == "<|system|>Jaweb b darija.\n<|user|>Salam, kif dayr?\n<|assistant|>"
    hflm.tokenizer.chat_template = TEMPLATE
    try:
        assert hflm.apply_chat_template(messages) == prompt
    finally:
        hflm.tokenizer.chat_template = None
    assert chat_lm.chat(messages, max_gen_toks=10) == chat_lm.generate([prompt], max_gen_toks=10)[0]
    assert chat_lm.chat([messages, messages[1:]], max_gen_toks=6) == chat_lm.generate(
        [prompt, chat_lm.apply_chat_template(messages[1:])], max_gen_toks=6)


# ------------------------------------------------------------------------------------ other architectures


def _tiny(kind, tok):
    from transformers import GPT2Config, GPT2LMHeadModel, MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    if kind == "gpt2":  # absolute position embeddings: the packed positions must be honoured
        return GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                          initializer_range=0.3)).eval()
    return MistralForCausalLM(MistralConfig(  # a sliding window shorter than the contexts
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=64, sliding_window=8, initializer_range=0.3)).eval()


@pytest.mark.parametrize("kind", ["gpt2", "mistral_sliding_window"])
def test_prefix_reuse_is_exact_on_other_architectures(lm, kind):
    other = LM(_tiny(kind, lm.tokenizer), lm.tokenizer)
    reqs = [("Salam, kif dayr lyoum?", c) for c in (" mzyan bzaf", " la", " wakha a sahbi", "x")]
    reqs += [("a", " b"), ("a", " c d"), ("", " salam")]
    packed = other.loglikelihood(reqs, batch_size=4)
    plain = other.loglikelihood(reqs, batch_size=4, prefix_reuse=False)
    assert other._scorer.packing_ok is True
    assert [lp for lp, _ in packed] == pytest.approx([lp for lp, _ in plain], abs=1e-4)
    assert len({round(lp, 3) for lp, _ in plain}) >= 5  # a model whose answers differ (the test can fail)


# ------------------------------------------------------------------------------------------------ loading


def test_load_defaults(lm, model_dir):
    cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    auto = load_lm(model_dir)
    assert auto.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(auto.model.parameters()).dtype == (torch.bfloat16 if cuda_bf16 else torch.float32)
    assert lm.max_length == MAX_LEN and load_lm(model_dir, max_length=64, device="cpu").max_length == 64
    assert lm.prefix_token_id == lm.tokenizer.bos_token_id
    assert not lm.model.training


def test_load_run_directory(model_dir, tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "tokenizer").mkdir()
    for f in model_dir.iterdir():
        dest = "tokenizer" if f.name.startswith("tokenizer") else "model"
        shutil.copy(f, run / dest / f.name)
    lm = load_lm(run, device="cpu")
    assert lm.path == run / "model"
    assert lm.tokenizer.name_or_path == str(run / "tokenizer")  # the run's tokenizer next to its model
    assert lm.loglikelihood([("Salam", " 3likom")])[0][0] < 0


def test_load_refuses_pickles_and_non_models(model_dir, tmp_path):
    with pytest.raises(InputError, match=r"no such model folder"):
        load_lm(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=rf"{empty}: not a model folder, no config.json"):
        load_lm(empty)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(model_dir / "config.json", pickled / "config.json")
    (pickled / "pytorch_model.bin").write_bytes(b"not even a pickle")  # never opened
    with pytest.raises(InputError, match=rf"{pickled} has no \*.safetensors weights \(found pytorch_model.bin: "
                                         r"pickled weights, never loaded\): jazari loads safetensors only"):
        load_lm(pickled)
    truncated = tmp_path / "truncated"
    shutil.copytree(model_dir, truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"model.safetensors .* copy the checkpoint again"):
        load_lm(truncated)
    weights_only = tmp_path / "no_tokenizer"
    weights_only.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(model_dir / name, weights_only / name)
    with pytest.raises(InputError, match=r"no tokenizer"):
        load_lm(weights_only)
    with pytest.raises(InputError, match=r"dtype: unknown value 'float8'"):
        load_lm(model_dir, dtype="float8")


def test_load_refuses_a_model_that_needs_remote_code(model_dir, tmp_path):
    custom = tmp_path / "custom"
    shutil.copytree(model_dir, custom)
    cfg = json.loads((custom / "config.json").read_text())
    cfg.update(model_type="my_secret_arch", auto_map={"AutoModelForCausalLM": "modeling_secret.SecretLM"})
    (custom / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match=r"needs its own Python code \(config.json auto_map\); jazari never runs"):
        load_lm(custom)
    cfg.pop("auto_map")
    (custom / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match=r"transformers cannot load this folder as a causal language model"):
        load_lm(custom)


def test_lora_adapter_matches_lm_eval(model_dir, tmp_path):
    peft = pytest.importorskip("peft")  # the [lora] extra, installed in CI
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(model_dir))
    torch.manual_seed(1)
    cfg = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft.get_peft_model(base, cfg).save_pretrained(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    reqs = [("Salam, kif", " dayr?"), ("Salam, kif", " ntuma?"), ("ⴰⵣⵓⵍ", " ⴼⵍⵍⴰⵡⵏ")]
    tuned = load_lm(model_dir, adapter=tmp_path / "adapter", device="cpu", dtype="float32")
    ref = lm_eval_loglikelihood(HFLM(pretrained=str(model_dir), peft=str(tmp_path / "adapter"), device="cpu",
                                     dtype="float32", batch_size=4), reqs)
    ours = tuned.loglikelihood(reqs)
    assert [lp for lp, _ in ours] == pytest.approx([lp for lp, _ in ref], abs=1e-4)
    plain = load_lm(model_dir, device="cpu", dtype="float32").loglikelihood(reqs)
    assert max(abs(a[0] - b[0]) for a, b in zip(ours, plain, strict=True)) > 1e-3  # the adapter is applied
    with pytest.raises(InputError, match="not a peft adapter folder"):
        load_lm(model_dir, adapter=tmp_path)


def test_missing_peft_is_a_clear_error(model_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft now fails
    with pytest.raises(InputError, match=r"needs peft: pip install 'jazari-nlp\[lora\]'"):
        load_lm(model_dir, adapter=tmp_path)


def test_import_stays_light():
    code = "import sys, jazari_nlp; jazari_nlp.load_lm; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
