"""A corpus step is added in one place (issue 11, item 6): its config model beside its step class, registered;
the `steps:` schema, the default pipeline, the build's passes and the manifest find it through the registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jazari_nlp.corpus.config import STEP_SPECS, default_steps
from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel

STEP_MODULE = '''
from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel


class ShoutStep(StrictModel):
    min_chars: int = 3


@register_step("shout", ShoutStep, order=45)
class Shout(CorpusStep):
    def filter(self, doc):
        if len(doc.text) < self.cfg.min_chars:
            return False, "too_quiet"
        doc.text = doc.text.upper()
        self.stat_update("shouted")
        return True
'''

BUILD = '''
import json, sys
from pathlib import Path
import jazari_nlp
from jazari_nlp.corpus.build import build_corpus
from jazari_nlp.corpus.config import CorpusConfig, default_steps
tmp = Path(sys.argv[1])
assert jazari_nlp.__file__.startswith(str(tmp)), jazari_nlp.__file__
print(json.dumps([next(iter(s)) for s in default_steps()]))
try:
    CorpusConfig.model_validate({"sources": [{"name": "a", "paths": [str(tmp / "a.txt")]}],
                                 "steps": [{"shout": {"min_chars": "many"}}]})
except Exception as e:
    print(json.dumps([".".join(map(str, e.errors()[0]["loc"])), e.errors()[0]["type"]]))
cfg = CorpusConfig.model_validate({"sources": [{"name": "a", "paths": [str(tmp / "a.txt")]}],
                                   "steps": [{"shout": {"min_chars": 4}}, "exact_dedup"],
                                   "executor": {"tasks": 1}, "alarms": {"accept": ["*"]}})
build_corpus(cfg, tmp / "out", progress=False)
'''


def test_a_step_added_as_one_module_is_configured_built_and_counted(tmp_path: Path):
    # a copy of the package with one new module in builtin_steps/, and nothing else changed
    package = Path(__file__).resolve().parents[1] / "jazari_nlp"
    shutil.copytree(package, tmp_path / "jazari_nlp", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "jazari_nlp" / "corpus" / "builtin_steps" / "shout.py").write_text(STEP_MODULE, encoding="utf-8")
    (tmp_path / "a.txt").write_text("salam labas\nwah\nsalam labas\nmzyan bzaf\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path)], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    order, error = (json.loads(line) for line in res.stdout.splitlines()[:2])
    assert order == ["repair", "normalize", "langid", "quality", "shout", "decontaminate", "exact_dedup",
                     "near_dedup", "pii"]
    assert error == ["steps.0.shout.shout.min_chars", "int_parsing"]  # its model checks its arguments
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    shout = next(s for s in m["steps"] if s["kind"] == "shout")
    assert (shout["step"], shout["in"], shout["out"], shout["dropped"]) == ("01_shout", 4, 3, {"too_quiet": 1})
    assert shout["counters"] == {"shouted": 3, "src_drop:a\ttoo_quiet": 1,  # its counter, its loss accounting
                                 f"file_lost:a\t{tmp_path / 'a.txt'}": 1}
    assert m["rejected"] == {"too_quiet": 1, "exact_duplicate": 1} and m["documents_kept"] == 2
    rejects = (tmp_path / "out" / "rejects" / "01_shout").glob("*.jsonl.gz")
    assert len(list(rejects)) == 1


def test_the_built_in_steps_and_their_order():
    assert [(s.name, s.order, s.is_global) for s in STEP_SPECS.values()] == [
        ("repair", 10, False), ("normalize", 20, False), ("langid", 30, False), ("quality", 40, False),
        ("decontaminate", 50, False), ("exact_dedup", 60, True), ("near_dedup", 70, True), ("pii", 80, False)]
    assert default_steps() == [{k: {}} for k in STEP_SPECS]
    assert all(spec.step.__module__ == spec.config.__module__ for spec in STEP_SPECS.values())  # side by side


def test_a_second_step_under_a_known_name_is_refused():
    class Other(StrictModel):
        pass

    with pytest.raises(ValueError, match=r"corpus step 'quality' is registered twice: "
                                         r"jazari_nlp\.corpus\.builtin_steps\.quality\.QualityFilter and "):
        @register_step("quality", Other, order=1)
        class Quality(CorpusStep):
            pass
