"""Bad input gives a clear error (exit code 2, the file or key and a fix), never a traceback, a hang or a wrong
answer: YAML alias bombs, truncated fastText models, non-string text, impossible configs, a full disk, foreign
parquet files, broken manifests, empty text; and --version, -q and --force on the command line."""

import errno
import json
import logging
import random
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import jazari_nlp as jz
from jazari_nlp.cli import app
from jazari_nlp.config import MAX_SEED, MAX_YAML_NODES, ConfigError, load_config, safe_load_bounded
from jazari_nlp.errors import InputError, JazariError
from jazari_nlp.pipeline import check_consistency
from jazari_nlp.text.fasttext_file import ModelFileError, check_fasttext_file
from jazari_nlp.text.langid import DEFAULT_MODEL, FastTextIdentifier, LangIdConfig, LangIdError

runner = CliRunner()

WORDS = "salam 3likom kifach dayr labas wach nta mzyan bzaf daba ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ السلام عليكم bonjour merci".split()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        cfg = load_config(path, overrides)
        check_consistency(cfg, path)
    return exc.value.problems


@pytest.fixture
def texts(tmp_path) -> Path:
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(200)]
    return write(tmp_path / "data" / "mixed.txt", "\n".join(lines) + "\n")


def checkpoint(folder: Path, eos: str | None = "</s>", n_positions: int = 64, weights: str = "model.safetensors") -> Path:
    """A folder that looks like a checkpoint to validation (validation reads its JSON files and the weights'
    safetensors header: here a valid one with no tensor)."""
    write(folder / "config.json", json.dumps({"model_type": "gpt2", "n_positions": n_positions}))
    (folder / weights).write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}" if weights.endswith(".safetensors") else b"")
    write(folder / "tokenizer_config.json", json.dumps({"eos_token": eos} if eos is not None else {}))
    return folder


# ---------------------------------------------------------------------------------------------- 1. YAML aliases


def alias_bomb(levels: int = 9) -> str:
    lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_before_anything_walks_it(tmp_path):
    text = alias_bomb()
    assert len(text) < 1024  # 9**9 nodes once expanded
    cfg = write(tmp_path / "bomb.yaml", text)
    assert problems(cfg) == [
        f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes (anchors repeating anchors): write the values "
        "out, or share a base file with `extends:`"]
    assert "YAML aliases expand" in runner.invoke(app, ["config", "validate", str(cfg)]).output


def test_yaml_alias_loop_and_override_bomb_are_refused(tmp_path):
    loop = write(tmp_path / "loop.yaml", "name: x\nlanguages: &l [*l]\n")
    assert problems(loop) == ["YAML aliases make a loop (an anchor used inside itself): remove the alias"]
    ok = write(tmp_path / "ok.yaml", "name: x\n")
    bomb_value = "[" + ", ".join(["&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + ["*a"] * 9) + "]"
    assert safe_load_bounded(bomb_value) == [[1] * 10] * 10  # small: fine
    big = "{" + alias_bomb(7).replace("\n", ", ").replace("name: bomb, ", "").rstrip(", ") + "}"
    (msg,) = problems(ok, [f"languages={big}"])
    assert msg.startswith("--set languages=") and "YAML aliases expand to more than" in msg


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path, texts):
    text = f"""name: anchors
tokenizer: {{vocab_size: 400, files: &data ["{texts}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2, max_position_embeddings: 64}}
eval: &defaults {{files: *data, block_size: 32}}
train: {{<<: *defaults, max_steps: 7}}
"""
    cfg = load_config(write(tmp_path / "exp.yaml", text))
    assert cfg.tokenizer.files == cfg.train.files == cfg.eval.files == [str(texts)]
    assert (cfg.train.block_size, cfg.train.max_steps, cfg.eval.block_size) == (32, 7, 32)
    assert safe_load_bounded("d: &d {lr: 1, steps: 2}\ntrain: {<<: *d, steps: 5}\n")["train"] == {"lr": 1, "steps": 5}


# ------------------------------------------------------------------------------------------ 2. fastText files


@pytest.fixture(scope="module")
def cut_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    data = DEFAULT_MODEL.read_bytes()
    out = {"half": folder / "half.ftz", "tiny": folder / "tiny.ftz", "garbage": folder / "garbage.ftz"}
    out["half"].write_bytes(data[: len(data) // 2])
    out["tiny"].write_bytes(data[:100])
    out["garbage"].write_bytes(b"not a model at all " * 50)
    return out


def test_shipped_model_passes_the_check():
    header = check_fasttext_file(DEFAULT_MODEL)
    assert header["quantized"] is False and header["bytes"] == DEFAULT_MODEL.stat().st_size  # unquantized since the retrained model: 3x faster to predict
    assert header["labels"] == len(FastTextIdentifier(LangIdConfig()).raw_labels)


@pytest.mark.parametrize("name", ["half", "tiny"])
def test_truncated_model_is_a_clear_error_naming_the_file(cut_models, name):
    path = cut_models[name]
    size = path.stat().st_size
    with pytest.raises(ModelFileError) as exc:
        # skip_exists: the check in the config is bypassed, so the identifier's own check is what answers
        FastTextIdentifier(LangIdConfig.model_validate({"model_path": str(path)}, context={"skip_exists": True}))
    assert str(exc.value) == (f"{path}: not a usable fastText model: truncated: the file has {size:,} bytes and its "
                              "header says more follow. Copy the file again, or train one with `jazari langid train`")
    with pytest.raises(ValueError, match="not a usable fastText model: truncated"):
        LangIdConfig(backend="fasttext", model_path=path)


def test_garbage_model_and_corpus_config_with_a_truncated_model(cut_models, tmp_path, texts):
    with pytest.raises(ModelFileError, match="wrong magic number"):
        check_fasttext_file(cut_models["garbage"])
    cfg = write(tmp_path / "exp.yaml", f"""name: lid
corpus:
  sources: [{{name: s, paths: ["{texts}"]}}]
  steps:
    - langid: {{identifier: {{backend: fasttext, model_path: "{cut_models['half']}"}}}}
""")
    (msg,) = problems(cfg)
    assert msg.startswith("corpus.steps.0.langid.identifier.model_path:")
    assert f"{cut_models['half']}: not a usable fastText model: truncated" in msg


def test_dense_fasttext_model_is_checked_too(tmp_path):
    from jazari_nlp.text.langid_train import FastTextParams, train_fasttext

    examples = [(lab, f"{w} {w}{i} mot{i % 7}") for i in range(40) for lab, w in (("ary_Latn", "salam"),
                                                                                   ("fra_Latn", "bonjour"))]
    path = tmp_path / "dense.bin"
    # bucket 100,000: a matrix big enough to get fresh zeroed pages (tiny ones can start from recycled heap and
    # end in fastText's "Encountered NaN", see train_fasttext)
    train_fasttext(examples, path, FastTextParams(dim=8, bucket=100_000, epoch=2, quantize=False))
    header = check_fasttext_file(path)
    assert (header["quantized"], header["dim"], header["labels"], header["bytes"]) == (False, 8, 2,
                                                                                      path.stat().st_size)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ModelFileError, match="truncated: the file has"):
        check_fasttext_file(path)


class _Broken:
    """A fastText model whose predictions fail (as a model file fastText half-understood would)."""

    class f:  # noqa: N801 - the binding's attribute name
        @staticmethod
        def multilinePredict(*args):  # noqa: N802
            raise RuntimeError("boom")

    def predict(self, *args, **kwargs):
        raise RuntimeError("boom")


def test_predict_errors_raise_reports_a_broken_model():
    ident = FastTextIdentifier(LangIdConfig())  # a fresh one: the cached default stays intact
    ident.model, ident._raw_predict = _Broken(), None
    text = "wach nta mzyan? ana bikhir"
    assert ident.predict(text) == [jz.Prediction("und", 0.0)]
    assert ident.predict_batch([text, "bonjour à tous"]) == [jz.Prediction("und", 0.0)] * 2
    with pytest.raises(LangIdError) as exc:
        ident.predict(text, errors="raise")
    assert str(exc.value) == f"language identification failed with the model {DEFAULT_MODEL}: RuntimeError: boom"
    with pytest.raises(LangIdError, match="RuntimeError: boom"):
        ident.predict_batch([text, "bonjour à tous"], errors="raise")
    assert ident.predict_batch(["", "123"], errors="raise") == [jz.Prediction("und", 1.0)] * 2  # no model needed
    with pytest.raises(ValueError, match="errors must be 'und' or 'raise'"):
        ident.predict_batch([text], errors="ignore")


# --------------------------------------------------------------------------------------- 3. non-string text


@pytest.mark.parametrize("fn", [jz.identify, jz.transliterate, jz.tag_words, jz.code_switching_ratio,
                                jz.script_shares, jz.dominant_script, jz.word_scripts])
@pytest.mark.parametrize("value", [None, 42, ["salam"]])
def test_text_functions_reject_non_strings(fn, value):
    with pytest.raises(TypeError) as exc:
        fn(value)
    assert str(exc.value) == f"{fn.__name__}() argument 'text' must be str, not {type(value).__name__}"


def test_normalize_and_decode_bytes_types():
    with pytest.raises(TypeError, match=r"^normalize\(\) argument 'text' must be str or bytes, not NoneType$"):
        jz.normalize(None)
    with pytest.raises(TypeError, match=r"^normalize\(\) argument 'text' must be str or bytes, not int$"):
        jz.normalize(3, profile="match")
    assert jz.normalize("سلام".encode("cp1256")) == "سلام"
    with pytest.raises(TypeError, match=r"^decode_bytes\(\) argument 'data' must be bytes, not str$"):
        jz.decode_bytes("salam")
    with pytest.raises(TypeError, match="not NoneType"):
        jz.decode_bytes(None)
    with pytest.raises(TypeError, match=r"predict_batch\(\) texts\[1\] must be str, not NoneType"):
        jz.load_identifier().predict_batch(["salam", None])


# -------------------------------------------------------------------------------- 4. configs checked up front


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70])
def test_seed_out_of_range(tmp_path, seed):
    cfg = write(tmp_path / "exp.yaml", f"name: x\nseed: {seed}\n")
    assert problems(cfg) == [f"seed: must be between 0 and {MAX_SEED} (2**32 - 1, what numpy and torch accept); "
                             f"found {seed}"]
    assert load_config(cfg, [f"seed={MAX_SEED}"]).seed == MAX_SEED


def test_block_size_above_the_new_model_positions(tmp_path, texts):
    cfg = write(tmp_path / "exp.yaml", f"""name: x
tokenizer: {{vocab_size: 400, files: ["{texts}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2, max_position_embeddings: 64}}
train: {{block_size: 128, files: ["{texts}"]}}
eval: {{block_size: 96, files: ["{texts}"]}}
""")
    assert problems(cfg) == [
        "train.block_size: 128 is more than model.max_position_embeddings, 64: the model has no position for the "
        "tokens past it; lower train.block_size to 64 or less or raise model.max_position_embeddings",
        "eval.block_size: 96 is more than model.max_position_embeddings, 64: the model has no position for the "
        "tokens past it; lower eval.block_size to 64 or less or raise model.max_position_embeddings"]
    res = runner.invoke(app, ["config", "validate", str(cfg)])
    assert res.exit_code == 2 and "train.block_size: 128 is more than" in res.output
    assert runner.invoke(app, ["config", "validate", str(cfg), "--set", "train.block_size=64",
                               "--set", "eval.block_size=64"]).exit_code == 0


def test_checkpoint_positions_and_eos_are_read_from_its_files(tmp_path, texts):
    ckpt = checkpoint(tmp_path / "ckpt", eos=None, n_positions=64)
    cfg = write(tmp_path / "exp.yaml", f"""name: x
model: {{path: "{ckpt}"}}
train: {{files: ["{texts}"]}}
""")
    assert problems(cfg) == [
        f"train.block_size: 128 is more than the checkpoint's max_position_embeddings ({ckpt / 'config.json'}), 64: "
        "the model has no position for the tokens past it; lower train.block_size to 64 or less",
        f"model.path: the tokenizer in {ckpt} has no EOS token (training packs documents separated by EOS; "
        f"evaluation starts each window with it): set \"eos_token\" in {ckpt / 'tokenizer_config.json'} to a token "
        "of its vocabulary (e.g. \"</s>\"), or add a `tokenizer` section to train a new tokenizer"]
    checkpoint(ckpt, eos={"content": "</s>"}, n_positions=64)  # AddedToken form
    assert problems(cfg, ["train.block_size=100"])[0].startswith("train.block_size: 100 is more than")
    check_consistency(load_config(cfg, ["train.block_size=64"]), cfg)  # no problem left


def test_model_path_that_is_not_a_checkpoint(tmp_path, texts):
    folder = tmp_path / "notamodel"
    write(folder / "notes.txt", "hello")
    cfg = write(tmp_path / "exp.yaml", f"name: x\nmodel: {{path: \"{folder}\"}}\neval: {{files: [\"{texts}\"]}}\n")
    assert problems(cfg) == [f"model.path: {folder} has no config.json, so it is not a Hugging Face checkpoint: give "
                             "the folder that model.save_pretrained(...) wrote"]
    checkpoint(folder, weights="pytorch_model.bin")
    assert problems(cfg) == [f"model.path: {folder} has no *.safetensors weights (found pytorch_model.bin: pickled "
                             "weights, never loaded): jazari loads safetensors only; convert the checkpoint with "
                             "model.save_pretrained(folder, safe_serialization=True)"]


@pytest.mark.parametrize("key", ["eos_token", "bos_token", "pad_token", "unk_token"])
def test_empty_special_tokens(tmp_path, texts, key):
    cfg = write(tmp_path / "exp.yaml", f"name: x\ntokenizer: {{files: [\"{texts}\"], {key}: \"\"}}\n")
    default = {"eos_token": "</s>", "bos_token": "<s>", "pad_token": "<pad>", "unk_token": "<unk>"}[key]
    assert problems(cfg) == [f"tokenizer.{key}: must not be empty; set it to a token such as {default!r} (the default)"]


# ---------------------------------------------------------------------------- 5. user errors on the CLI: exit 2


def test_user_errors_share_one_base():
    from jazari_nlp.corpus.build import CorpusBuildError
    from jazari_nlp.runs import RunDirConflict

    for cls in (ConfigError, RunDirConflict, CorpusBuildError, InputError, ModelFileError, LangIdError):
        assert issubclass(cls, JazariError), cls


def tokenizer_config(tmp_path: Path, data: Path, name: str = "tok") -> Path:
    return write(tmp_path / f"{name}.yaml", f"name: {name}\noutput_dir: runs\n"
                                            f"tokenizer: {{vocab_size: 300, files: [\"{data}\"]}}\n")


def test_disk_full_names_the_file_and_the_fix(tmp_path, texts, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    target = tmp_path / "runs" / "tok" / "tokenizer" / "tokenizer.json"

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", full)
    res = runner.invoke(app, ["tokenizer", "train", str(tokenizer_config(tmp_path, texts)), "-q"])
    assert res.exit_code == 2, res.output
    assert res.output.strip().replace("\n", " ") == (
        f"error: no space left on device while writing {target}: free space or choose another output_dir "
        "(e.g. --set output_dir=/a/bigger/disk)")


def test_disk_full_without_a_file_name_names_the_run_directory(tmp_path, texts, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    def full(self, *args, **kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            raise RuntimeError("could not save") from e  # wrapped, as a library may do

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", full)
    res = runner.invoke(app, ["tokenizer", "train", str(tokenizer_config(tmp_path, texts)), "-q"])
    assert res.exit_code == 2, res.output
    assert f"error: no space left on device while writing under {tmp_path / 'runs' / 'tok'}: free space" in \
        res.output.replace("\n", " ")


def test_an_unexpected_error_is_still_a_bug(tmp_path, texts, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    def bug(self, *args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", bug)
    res = runner.invoke(app, ["tokenizer", "train", str(tokenizer_config(tmp_path, texts)), "-q"])
    assert res.exit_code == 1 and isinstance(res.exception, RuntimeError)


def test_tokenizer_on_empty_text(tmp_path):
    empty = write(tmp_path / "empty.txt", "\n   \n")
    res = runner.invoke(app, ["run", str(tokenizer_config(tmp_path, empty)), "-q"])
    assert res.exit_code == 2, res.output
    assert res.output.replace("\n", " ").strip() == (
        f"error: tokenizer: no text in the inputs (tokenizer.files ({empty})): every document is empty; check the "
        "files and text_field")


def test_eval_on_empty_text(tmp_path):
    empty = write(tmp_path / "empty.txt", "")
    ckpt = checkpoint(tmp_path / "ckpt")
    cfg = write(tmp_path / "exp.yaml", f"name: ev\noutput_dir: runs\nmodel: {{path: \"{ckpt}\"}}\n"
                                       f"eval: {{files: [\"{empty}\"], block_size: 32}}\n")
    res = runner.invoke(app, ["eval", str(cfg), "-q"])
    assert res.exit_code == 2, res.output
    assert res.output.replace("\n", " ").strip() == (
        f"error: eval: no text to evaluate in {empty} (no non-empty `text` value): point eval.files / "
        "eval.text_field at text, or give the corpus a held-out split (corpus.heldout_fraction)")


def _parquet(path: Path, columns: dict) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def test_stats_on_parquet_jazari_did_not_write(tmp_path):
    _parquet(tmp_path / "foreign" / "a.parquet", {"text": ["salam 3likom", " ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ  ⵎⴰⵏⵉⵎⴽ", "", None]})
    res = runner.invoke(app, ["corpus", "stats", str(tmp_path / "foreign"), "--json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    # 2 + 3 words; 12 + 20 characters; 12 ASCII bytes + 16 Tifinagh letters of 3 bytes + 4 spaces
    assert stats["by_lang_script"] == {"?/?": {"docs": 4, "words": 5, "chars": 32, "bytes": 64}}
    assert stats["missing_columns"] == {str(tmp_path / "foreign" / "a.parquet"): ["lang", "script"]}
    assert "note: 1 file(s) have no `lang` / `script` column" in res.stderr
    _parquet(tmp_path / "other" / "b.parquet", {"content": ["salam"], "id": [1]})
    res = runner.invoke(app, ["corpus", "stats", str(tmp_path / "other")])
    assert res.exit_code == 2
    assert res.output.replace("\n", " ").strip() == (
        f"error: {tmp_path / 'other' / 'b.parquet'}: no `text` column (it has content, id): corpus stats counts "
        "parquet files with a `text` column, as `jazari corpus build` writes them")
    write(tmp_path / "bad" / "c.parquet", "not parquet")
    res = runner.invoke(app, ["corpus", "stats", str(tmp_path / "bad")])
    assert res.exit_code == 2 and f"error: {tmp_path / 'bad' / 'c.parquet'}: not a readable parquet file" in \
        res.output.replace("\n", " ")


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    ("[1, 2]", "not a corpus manifest (a JSON list, not an object)"),
    ('{"documents_read": 3, "documents_kept": 3}', "not a complete corpus manifest, missing rejected, splits, seed, "
     "heldout_fraction, sources, languages, lang_script, steps, words_kept, bytes_kept, created"),
])
def test_card_on_a_bad_manifest(tmp_path, content, expected):
    write(tmp_path / "corpus" / "manifest.json", content)
    res = runner.invoke(app, ["corpus", "card", str(tmp_path / "corpus")])
    assert res.exit_code == 2
    assert res.output.replace("\n", " ").strip() == (
        f"error: {tmp_path / 'corpus' / 'manifest.json'}: {expected}: rebuild the corpus to write a new one "
        "(jazari corpus build ... --force)")
    assert not (tmp_path / "corpus" / "README.md").exists()


def test_card_on_a_manifest_with_wrong_types(tmp_path):
    keys = ("documents_read", "documents_kept", "rejected", "splits", "seed", "heldout_fraction", "sources",
            "languages", "lang_script", "steps", "words_kept", "bytes_kept", "created")
    write(tmp_path / "corpus" / "manifest.json", json.dumps({k: 5 for k in keys}))
    res = runner.invoke(app, ["corpus", "card", str(tmp_path / "corpus")])
    assert res.exit_code == 2
    assert res.output.startswith(f"error: {tmp_path / 'corpus' / 'manifest.json'}: unexpected content (TypeError: ")
    assert not list((tmp_path / "corpus").glob("*.png"))


# --------------------------------------------------------------------------- 6. --version, -q, --force, warnings


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output == f"jazari_nlp {jz.__version__}\n"


def _command(*path: str):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


WORK_COMMANDS = [("run",), ("train",), ("eval", "config"), ("tokenizer", "train"), ("corpus", "build")]  # eval CONFIG


@pytest.mark.parametrize("path", WORK_COMMANDS)
def test_every_work_command_has_quiet_and_the_same_force(path):
    params = {p.name: p for p in _command(*path).params}
    assert "-q" in params["quiet"].opts and "--quiet" in params["quiet"].opts
    assert "Redo" in params["force"].help and "and the later ones, from scratch, even if complete" in \
        params["force"].help


def test_quiet_training_prints_no_progress_nor_log_lines(tmp_path, texts):
    cfg = write(tmp_path / "exp.yaml", f"""name: q
output_dir: runs
tokenizer: {{vocab_size: 300, files: ["{texts}"]}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2, max_position_embeddings: 64}}
train: {{max_steps: 3, logging_steps: 1, save_steps: 2, block_size: 32, per_device_batch_size: 4,
        files: ["{texts}"]}}
""")
    res = runner.invoke(app, ["run", str(cfg), "-q"])
    assert res.exit_code == 0, res.output
    assert "'loss'" not in res.output  # Trainer's per-step log lines
    assert "Writing model shards" not in res.output and "Loading weights" not in res.output
    assert "── train ──" not in res.output  # the stage banners
    assert "jazari run" in res.stdout and "train" in res.stdout  # the summary table stays
    loud = runner.invoke(app, ["train", str(cfg), "--force"])
    assert loud.exit_code == 0 and "── train ──" in loud.output


def test_length_warning_silenced_exactly_where_text_is_cut_into_blocks(tmp_path):
    from transformers import AutoTokenizer
    from transformers.utils import logging as tf_logging

    from jazari_nlp.tokenization.config import TokenizerConfig
    from jazari_nlp.tokenization.train import fertility, train_tokenizer
    from jazari_nlp.training.lm import packed_blocks

    long_text = " ".join(WORDS * 20)
    train_tokenizer(TokenizerConfig(vocab_size=300, model_max_length=16), [long_text] * 20, tmp_path / "tok",
                    progress=False)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    root = logging.getLogger("transformers")
    root.addHandler(handler)
    verbosity = tf_logging.get_verbosity()
    try:
        tok = AutoTokenizer.from_pretrained(tmp_path / "tok")
        assert fertility(tok, [long_text]) > 0
        assert len(packed_blocks([long_text] * 3, tok, 16, tmp_path / "cache")) > 3
        silenced = [r for r in records if "Token indices sequence length" in r.getMessage()]
        fresh = AutoTokenizer.from_pretrained(tmp_path / "tok")
        fresh(long_text)  # elsewhere the warning still comes
        shown = [r for r in records if "Token indices sequence length" in r.getMessage()]
    finally:
        root.removeHandler(handler)
    assert (len(silenced), len(shown)) == (0, 1)
    assert tf_logging.get_verbosity() == verbosity  # no other warning was turned off
