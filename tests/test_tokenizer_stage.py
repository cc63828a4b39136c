"""The tokenizer stage in experiments and the `jazari tokenizer` commands: every kind from YAML, the balanced
sample and report in the run, the chat template saved, extension feeding the train stage, clear errors."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jazari_nlp.cli import app
from jazari_nlp.config import ConfigError
from jazari_nlp.pipeline import run_experiment

runner = CliRunner()

# Our own words (no third-party text): Darija in Arabic script and Arabizi, Tifinagh, French, English.
WORDS = {
    "ary_Arab": "السلام عليكم كيداير لاباس ڭاع ڤيديو پاكيط بزاف مزيان دابا غادي نمشي للسوق ديال الدار".split(),
    "ary_Latn": "salam 3likom kifach dayr labas l7amdoulillah wach nta mzyan bzaf daba ghadi nmchi 9ahwa".split(),
    "zgh_Tfng": "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ ⵎⴰⵏⵉⵎⴽ ⴰⴽⵯⵎⵎⴰⵙ ⵜⴰⵎⴰⵣⵉⵖⵜ ⴰⵎⴰⵣⵉⵖ ⵜⵉⴼⵉⵏⴰⵖ ⴰⴷⵍⵉⵙ ⵜⴰⴷⴷⴰⵔⵜ ⴰⵖⵔⵓⵎ".split(),
    "fra_Latn": "bonjour merci beaucoup la maison le marché nous allons demain matin avec les amis".split(),
    "eng_Latn": "hello thank you very much the house market we are going tomorrow morning with friends".split(),
}


def write_lang_files(folder: Path, n: dict[str, int], seed: int = 0) -> dict[str, Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for lang, count in n.items():
        lines = [" ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(4, 12))) for _ in range(count)]
        out[lang] = folder / f"{lang}.txt"
        out[lang].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def write_parallel(folder: Path, n: int = 12, seed: int = 1) -> list[Path]:
    """SIB-style ``<lang>/dev.tsv`` files aligned by index_id."""
    rng = random.Random(seed)
    files = []
    for lang in ("ary_Arab", "zgh_Tfng", "fra_Latn", "eng_Latn"):
        d = folder / lang
        d.mkdir(parents=True, exist_ok=True)
        rows = ["index_id\ttext"] + [f"{i}\t" + " ".join(rng.choice(WORDS[lang]) for _ in range(6)) for i in range(n)]
        (d / "dev.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        files.append(d / "dev.tsv")
    return files


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tokdata")
    files = write_lang_files(root / "train", {"ary_Arab": 300, "ary_Latn": 200, "zgh_Tfng": 40, "fra_Latn": 150,
                                              "eng_Latn": 150})
    return {"root": root, "files": files, "parallel": write_parallel(root / "sib")}


def tokenizer_yaml(folder: Path, data: dict, kind: str, extra: str = "") -> Path:
    sources = "\n".join(f"    - {{path: \"{f}\", language: {lang}}}" for lang, f in data["files"].items())
    cfg = folder / f"{kind}.yaml"
    cfg.write_text(f"""name: tok_{kind}
seed: 0
output_dir: runs
tokenizer:
  kind: {kind}
  vocab_size: 500
  sample: {{alpha: 0.3, max_bytes: 200000}}
  evaluate_files: [{", ".join(f'"{p}"' for p in data["parallel"])}]
  sources:
{sources}
{extra}""", encoding="utf-8")
    return cfg


@pytest.mark.parametrize("kind", ["byte_bpe", "sentencepiece_unigram", "sentencepiece_bpe", "wordpiece"])
def test_every_kind_from_yaml_saves_a_tokenizer_sample_and_report(tmp_path: Path, data: dict, kind: str):
    from transformers import AutoTokenizer

    result = run_experiment(tokenizer_yaml(tmp_path, data, kind), progress=False)
    [stage] = result.stages
    tok_dir = result.run_dir / "tokenizer"
    tok = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    text = "salam 3likom ⴰⵣⵓⵍ ⴰⴽⵯⵎⵎⴰⵙ ڭاع ڤيديو پاكيط"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    if kind.startswith("sentencepiece"):
        assert (tok_dir / "tokenizer.model").is_file()
    # the balanced sample's accounting stays in the run (the sample itself is re-drawn from the seed)
    sample = json.loads((tok_dir / "sample.json").read_text(encoding="utf-8"))
    assert set(sample["languages"]) == set(data["files"])
    assert sum(v["sampled_bytes"] for v in sample["languages"].values()) == sample["bytes"]
    assert sample["languages"]["zgh_Tfng"]["repeat"] > 1.0  # the small language is raised toward its share
    assert not (tok_dir / "sample.txt").exists()
    # the report: per-language fertility of the new tokenizer on the parallel files, in the run summary too
    report = json.loads((tok_dir / "report" / "tokenizer_report.json").read_text(encoding="utf-8"))
    assert set(report["languages"]) == {"ary_Arab", "zgh_Tfng", "fra_Latn", "eng_Latn"}
    assert (tok_dir / "report" / "tokenizer_report.png").stat().st_size > 1000
    for lang in ("ary_Arab", "zgh_Tfng", "fra_Latn", "eng_Latn"):
        assert stage.summary[f"fertility.{lang}"] > 0
    # the default chat template (ChatML) is saved, its tokens inside the vocabulary
    assert "<|im_start|>" in (tok.chat_template or "")
    assert len(tok) <= 500  # vocab_size 500, the ChatML tokens inside it


def test_chat_template_saved_marks_every_assistant_turn(tmp_path: Path, data: dict):
    from transformers import AutoTokenizer

    result = run_experiment(tokenizer_yaml(tmp_path, data, "byte_bpe"), progress=False)
    tok = AutoTokenizer.from_pretrained(str(result.run_dir / "tokenizer"), local_files_only=True)
    messages = [{"role": "user", "content": "salam"}, {"role": "assistant", "content": "ahlan"},
                {"role": "user", "content": "kifach"}, {"role": "assistant", "content": "mzyan"}]
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    trained = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.decode(trained) == "ahlan<|im_end|>mzyan<|im_end|>"


def test_custom_and_no_chat_template(tmp_path: Path, data: dict):
    from transformers import AutoTokenizer

    jinja = tmp_path / "t.jinja"
    jinja.write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}", encoding="utf-8")
    cfg = tokenizer_yaml(tmp_path, data, "byte_bpe")
    result = run_experiment(cfg, [f"tokenizer.chat_template={jinja}", "name=custom"], progress=False)
    tok = AutoTokenizer.from_pretrained(str(result.run_dir / "tokenizer"), local_files_only=True)
    assert tok.apply_chat_template([{"role": "user", "content": "salam"}], tokenize=False) == "[user] salam\n"
    assert "<|im_start|>" not in tok.get_vocab()
    result = run_experiment(cfg, ["tokenizer.chat_template=null", "name=none"], progress=False)
    tok = AutoTokenizer.from_pretrained(str(result.run_dir / "tokenizer"), local_files_only=True)
    assert tok.chat_template is None


def test_bad_chat_template_is_a_config_error(tmp_path: Path, data: dict):
    cfg = tokenizer_yaml(tmp_path, data, "byte_bpe")
    with pytest.raises(ConfigError, match="not valid Jinja"):
        run_experiment(cfg, ["tokenizer.chat_template='{% for m in messages %}'"], progress=False)
    with pytest.raises(ConfigError, match="chat template file not found"):
        run_experiment(cfg, [f"tokenizer.chat_template={tmp_path / 'missing.jinja'}"], progress=False)


def test_a_language_without_text_is_an_error_naming_the_key(tmp_path: Path, data: dict):
    from jazari_nlp.errors import InputError

    cfg = tokenizer_yaml(tmp_path, data, "byte_bpe")
    with pytest.raises(InputError, match=r"tokenizer\.sample\.languages: kab_Latn has no text"):
        run_experiment(cfg, ["tokenizer.sample.languages=[ary_Arab, kab_Latn]"], progress=False)


def test_vocab_smaller_than_alphabet_is_an_error_before_work(tmp_path: Path, data: dict):
    cfg = tokenizer_yaml(tmp_path, data, "byte_bpe")
    # 256 bytes + 4 specials + 2 ChatML tokens + 50 symbols = 312 > 300
    symbols = "[" + ", ".join(f"sym{i}" for i in range(50)) + "]"
    with pytest.raises(ConfigError, match=r"vocab_size: 300 is smaller than the 312 tokens byte_bpe needs"):
        run_experiment(cfg, ["tokenizer.vocab_size=300", f"tokenizer.user_defined_symbols={symbols}"], progress=False)


# ---------------------------------------------------------------------------------------------------------------
# the CLI


def test_cli_evaluate_compares_tokenizers_and_writes_the_report(tmp_path: Path, data: dict):
    first = run_experiment(tokenizer_yaml(tmp_path, data, "byte_bpe"), progress=False).run_dir
    second = run_experiment(tokenizer_yaml(tmp_path, data, "sentencepiece_bpe"), progress=False).run_dir
    out = tmp_path / "rep"
    args = ["tokenizer", "evaluate", str(first), str(second / "tokenizer" / "tokenizer.model"), "peer:byt5",
            *sum((["-i", str(p)] for p in data["parallel"]), []), "-o", str(out), "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "ary_Arab" in res.output and "fertility" in res.output
    report = json.loads((out / "tokenizer_report.json").read_text(encoding="utf-8"))
    assert len(report["tokenizers"]) == 3
    byt5 = report["results"]["byt5"]
    assert byt5["eng_Latn"]["parity_eng_Latn"] == pytest.approx(1.0)
    assert (out / "tokenizer_report.md").read_text(encoding="utf-8").count("|") > 10
    res = runner.invoke(app, [*args[:-3], "--json", "-q"])
    assert res.exit_code == 0 and json.loads(res.output)["languages"]


def test_cli_evaluate_bad_spec_is_exit_2(tmp_path: Path, data: dict):
    res = runner.invoke(app, ["tokenizer", "evaluate", str(tmp_path / "nothing"), "-i", str(data["parallel"][0])])
    assert res.exit_code == 2
    assert "error:" in res.output


def test_cli_peers_lists_shipped_vocabularies():
    res = runner.invoke(app, ["tokenizer", "peers"])
    assert res.exit_code == 0, res.output
    assert "byt5" in res.output and "mistral" in res.output


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    from jazari_nlp.modeling.tiny import build_tiny_llama

    english = [" ".join(random.Random(i).choice(WORDS["eng_Latn"] + WORDS["fra_Latn"]) for _ in range(8))
               for i in range(200)]
    return build_tiny_llama(tmp_path_factory.mktemp("base") / "base", texts=english, vocab_size=400, train_steps=10)


def test_cli_extend_adds_tokens_keeping_old_ids(tmp_path: Path, data: dict, base_model: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "ext"
    protect = tmp_path / "protect.txt"
    protect.write_text("\n".join(" ".join(WORDS["eng_Latn"][i:i + 6]) for i in range(8)) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["tokenizer", "extend", "-m", str(base_model), "-i", f"ary_Arab={data['files']['ary_Arab']}",
                              "-i", f"zgh_Tfng={data['files']['zgh_Tfng']}", "-n", "60", "-o", str(out),
                              "--protect", str(protect), "--heldout", str(data["files"]["ary_Latn"]), "-q"])
    assert res.exit_code == 0, res.output
    assert "ary_Arab" in res.output
    old = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
    new = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert old.get_vocab().items() <= new.get_vocab().items()
    assert 0 < len(new) - len(old) <= 60
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert model.get_input_embeddings().weight.shape[0] >= len(new)
    report = json.loads((out / "extend_report.json").read_text(encoding="utf-8"))
    assert report["protected_changed_share"] == 0.0
    assert report["fertility"]["ary_Arab"]["after"] < report["fertility"]["ary_Arab"]["before"]


def test_cli_extend_refuses_a_folder_without_a_model(tmp_path: Path, data: dict):
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["tokenizer", "extend", "-m", str(tmp_path / "empty"), "-i", str(data["files"]["ary_Arab"]),
                              "-n", "5", "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "--model" in res.output and "tokenizer.extend.model" not in res.output  # the CLI names its option


@pytest.mark.slow
def test_experiment_extends_then_trains_from_the_extended_model(tmp_path: Path, data: dict, base_model: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = tmp_path / "ext.yaml"
    cfg.write_text(f"""name: ext
seed: 0
output_dir: runs
tokenizer:
  sources:
    - {{path: "{data['files']['ary_Arab']}", language: ary_Arab}}
    - {{path: "{data['files']['zgh_Tfng']}", language: zgh_Tfng}}
  extend: {{model: "{base_model}", num_tokens: 40}}
model: {{path: "{base_model}"}}
train: {{max_steps: 4, files: ["{data['files']['ary_Arab']}"], block_size: 32, per_device_batch_size: 4,
        logging_steps: 2, save_steps: 100}}
""", encoding="utf-8")
    result = run_experiment(cfg, progress=False)
    assert [r.stage for r in result.stages] == ["tokenizer", "train"]
    assert result.stages[0].summary["tokens_added"] > 0
    tok = AutoTokenizer.from_pretrained(str(result.run_dir / "model"), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(result.run_dir / "model"), local_files_only=True)
    base_len = len(AutoTokenizer.from_pretrained(str(base_model), local_files_only=True))
    assert len(tok) > base_len
    assert model.get_input_embeddings().weight.shape[0] >= len(tok)


def test_extend_with_a_new_architecture_is_a_config_error(tmp_path: Path, data: dict, base_model: Path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"""name: bad
output_dir: runs
tokenizer:
  files: ["{data['files']['ary_Arab']}"]
  extend: {{model: "{base_model}", num_tokens: 10}}
model: {{architecture: llama, hidden_size: 32, num_layers: 1, num_heads: 2}}
train: {{max_steps: 1, files: ["{data['files']['ary_Arab']}"], block_size: 16}}
""", encoding="utf-8")
    with pytest.raises(ConfigError, match="model.architecture: tokenizer.extend extends the model"):
        run_experiment(cfg, progress=False)


def test_chat_template_is_in_tokenizer_config_json_too(tmp_path: Path, data: dict):
    result = run_experiment(tokenizer_yaml(tmp_path, data, "sentencepiece_bpe"), progress=False)
    config = json.loads((result.run_dir / "tokenizer" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["chat_template"].startswith("{%- for message in messages %}")
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # loadable by transformers 4 and 5


# ---------------------------------------------------------------------------------------------------------------
# the shipped recipes

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_shipped_tokenizer_recipe_runs(tmp_path: Path):
    from transformers import AutoTokenizer

    result = run_experiment(CONFIGS / "tokenizer_samples.yaml", [f"run_dir={tmp_path / 'run'}"], progress=False)
    tok = AutoTokenizer.from_pretrained(str(result.run_dir / "tokenizer"), local_files_only=True)
    assert 1000 < len(tok) <= 3000
    sample = json.loads((result.run_dir / "tokenizer" / "sample.json").read_text(encoding="utf-8"))
    assert len(sample["languages"]) == 6
    text = "ⴰⵣⵓⵍ ⴰⴽⵯⵎⵎⴰⵙ · 3lach ma jitich? · ڭاع ڤيديو پاكيط"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


@pytest.mark.slow
def test_shipped_extend_recipe_runs_on_a_local_model(tmp_path: Path, base_model: Path):
    from transformers import AutoTokenizer

    result = run_experiment(CONFIGS / "after_quickstart" / "extend_quickstart.yaml", [
        f"run_dir={tmp_path / 'run'}", f"tokenizer.extend.model={base_model}", f"model.path={base_model}",
        "train.max_steps=3", "tokenizer.extend.num_tokens=50"], progress=False)
    assert [r.stage for r in result.stages] == ["tokenizer", "train"]
    old = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
    new = AutoTokenizer.from_pretrained(str(result.run_dir / "model"), local_files_only=True)
    assert old.get_vocab().items() <= new.get_vocab().items() and len(new) > len(old)
    report = json.loads((result.run_dir / "tokenizer" / "extend_report.json").read_text(encoding="utf-8"))
    assert report["protected_changed_share"] == 0.0


def test_evaluate_files_take_lang_equals_path(tmp_path: Path, data: dict):
    plain = tmp_path / "darija_dev.txt"
    plain.write_text("\n".join(" ".join(WORDS["ary_Arab"][i:i + 5]) for i in range(10)) + "\n", encoding="utf-8")
    cfg = tokenizer_yaml(tmp_path, data, "byte_bpe")
    result = run_experiment(cfg, [f"tokenizer.evaluate_files=['ary_Arab={plain.name}']", "name=langeq"],
                            progress=False)
    report = json.loads((result.run_dir / "tokenizer" / "report" / "tokenizer_report.json").read_text("utf-8"))
    assert report["languages"] == ["ary_Arab"]
    with pytest.raises(ConfigError, match="file not found"):
        run_experiment(cfg, ["tokenizer.evaluate_files=['ary_Arab=missing.txt']"], progress=False)


def test_sample_lines_longer_than_sentencepiece_takes_are_refused_before_work():
    from pydantic import ValidationError

    from jazari_nlp.tokenization.config import TokenizerConfig

    with pytest.raises(ValidationError, match=r"sample.max_line_bytes \(20000\) is above max_sentence_length"):
        TokenizerConfig(kind="sentencepiece_bpe", sample={"max_line_bytes": 20000})
    TokenizerConfig(kind="byte_bpe", sample={"max_line_bytes": 20000})  # HF trainers skip no line


def test_cli_extend_refuses_a_folder_holding_other_files(tmp_path: Path, data: dict, base_model: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    res = runner.invoke(app, ["tokenizer", "extend", "-m", str(base_model), "-i", str(data["files"]["ary_Arab"]),
                              "-n", "5", "-o", str(out), "-q"])
    assert res.exit_code == 2, res.output
    assert "--allow-existing" in res.output.replace("\n", " ")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
