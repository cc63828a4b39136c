"""The library (not only the CLI) never reaches the network on local work, even when the user set none of the
offline variables: `datasets.load_dataset` on a local task file used to send a download-count HEAD request to
s3.amazonaws.com. Each check runs in a fresh interpreter with sockets blocked and every HF_* variable unset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCK = """
import socket
seen = []
def refuse(address, *args, **kwargs):
    seen.append(address)
    raise OSError("network blocked by the test")
socket.create_connection = refuse
_connect = socket.socket.connect
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        seen.append(address)
        raise OSError("network blocked by the test")
    return _connect(self, address)
socket.socket.connect = connect
"""


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "DO_NOT_TRACK"))}
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)


@pytest.mark.parametrize("datasets_first", [False, True])
def test_loading_a_bundled_task_makes_no_network_attempt(datasets_first):
    pytest.importorskip("datasets")
    first = "import datasets\n" if datasets_first else ""  # a user who imported datasets before jazari_nlp
    res = _run(first + """
from jazari_nlp.evaluation.tasks import load_task
n = len(load_task("jazari_quick_mc").eval_docs())
print("docs", n, "seen", seen)
""")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "docs 24 seen []"


def test_importing_the_library_turns_telemetry_off():
    res = _run("""
import os
import jazari_nlp, datasets.config, huggingface_hub.constants as hc
print(os.environ["HF_UPDATE_DOWNLOAD_COUNTS"], datasets.config.HF_UPDATE_DOWNLOAD_COUNTS, hc.HF_HUB_DISABLE_TELEMETRY)
""")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split() == ["0", "False", "True"]


def test_a_users_own_choice_is_kept():
    env_code = "import os; os.environ['HF_UPDATE_DOWNLOAD_COUNTS'] = 'AUTO'\n"
    res = _run(env_code + "import jazari_nlp, os; print(os.environ['HF_UPDATE_DOWNLOAD_COUNTS'])")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split() == ["AUTO"]
