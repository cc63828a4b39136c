"""-q hides the libraries' FutureWarning / DeprecationWarning / UserWarning (transformers' "`is_gradient_checkpointing`
is deprecated" when peft wraps a model, printed by `jazari run sft_lora.yaml -q` and `jazari merge`), and keeps
jazari's own warnings and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from jazari_nlp.cli.common import quiet_libraries

# A child process (pytest records warnings itself, so only a real process shows what the console prints). The
# library function the command calls is replaced by one that warns from a module named like a library's, then
# from jazari's own module.
CHILD = r"""
import sys, types, warnings
from pathlib import Path

def from_module(name, message, category):
    scope = {"__name__": name, "warnings": warnings}
    exec(f"def w():\n    warnings.warn({message!r}, {category.__name__})", {**scope, category.__name__: category},
         scope)
    return scope["w"]

noise = [from_module("transformers.modeling_utils", "library future noise", FutureWarning),
         from_module("peft.tuners.lora", "library user noise", UserWarning),
         from_module("torch.utils.checkpoint", "library deprecation noise", DeprecationWarning)]
own = from_module("jazari_nlp.training.lora", "jazari own warning", UserWarning)

def work(*a, **k):
    for w in noise:
        w()
    own()
    return types.SimpleNamespace(stages=[], run_dir=Path("x")) if sys.argv[1] == "run" else {"out_dir": "x"}

import jazari_nlp.pipeline, jazari_nlp.training.lora
jazari_nlp.pipeline.run_experiment = work
jazari_nlp.training.lora.merge = work
from jazari_nlp.cli import main
main()
"""


def _jazari(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONWARNINGS"] = "default::DeprecationWarning"  # shown without -q, as in a Python run with -W default
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("argv", [["merge", "adapter", "-o", "merged"], ["run", "exp.yaml"]])
def test_quiet_hides_library_warnings_but_not_jazaris(argv: list[str]):
    loud, quiet = _jazari(*argv), _jazari(*argv, "-q")
    assert loud.returncode == 0 and quiet.returncode == 0, loud.stderr + quiet.stderr
    for noise in ("library future noise", "library user noise", "library deprecation noise"):
        assert loud.stderr.count(noise) == 1
        assert noise not in quiet.stderr
    assert loud.stderr.count("jazari own warning") == quiet.stderr.count("jazari own warning") == 1


def test_the_real_transformers_warning_is_hidden_and_filters_are_restored():
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(vocab_size=16, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))

    def caught() -> list[str]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            before = list(warnings.filters)
            with quiet_libraries(True):
                assert model.is_gradient_checkpointing is False
                warnings.warn("jazari own warning", UserWarning, stacklevel=1)
            assert warnings.filters == before  # put back after the block
            _ = model.is_gradient_checkpointing  # outside the block: shown again
        return [str(w.message)[:40] for w in seen]

    messages = caught()
    deprecated = [m for m in messages if "is_gradient_checkpointing" in m]
    if not deprecated:
        pytest.skip("this transformers does not warn on is_gradient_checkpointing")
    assert len(deprecated) == 1 and messages.count("jazari own warning") == 1
