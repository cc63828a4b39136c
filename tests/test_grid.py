"""`jazari grid`: every combination of a few keys, one run each, sharing corpus and tokenizer, and a report."""

import csv
import json

import pytest
from test_stage_store import make_config
from typer.testing import CliRunner

from jazari_nlp import sweep
from jazari_nlp.cli import app
from jazari_nlp.config import ConfigError
from jazari_nlp.sweep import grid_points, parse_axis, point_name, run_grid

runner = CliRunner()


def test_axis_parsing_and_names():
    assert parse_axis("train.learning_rate=1e-3, 3e-3") == ("train.learning_rate", [("1e-3", "1e-3"), ("3e-3", "3e-3")])
    assert parse_axis("train.max_steps=10,20")[1] == [("10", 10), ("20", 20)]
    assert parse_axis("tokenizer.user_defined_symbols=[a, 'b,c']")[1] == [("a", "a"), ("b,c", "b,c")]
    for bad, msg in (("train.max_steps", "KEY=V1,V2"), ("train.max_steps=", "no value"),
                     ("train.max_steps=1,1", "repeated")):
        with pytest.raises(ValueError, match=msg):
            parse_axis(bad)
    points = grid_points({"train.learning_rate": [("1e-3", 0.001), ("2e-3", 0.002)], "seed": [("0", 0), ("1", 1)]})
    assert [[w for _, w, _ in p] for p in points] == [["1e-3", "0"], ["1e-3", "1"], ["2e-3", "0"], ["2e-3", "1"]]
    assert point_name("q", points[1]) == "q-learning_rate_1e-3-seed_1"
    same_leaf = [("train.seed", "1", 1), ("seed", "2", 2)]
    assert point_name("q", same_leaf) == "q-train.seed_1-seed_2"
    assert point_name("q", [("tokenizer.kind", "a/b c", "a/b c")]) == "q-kind_a_b_c"


def test_cli_grid_runs_every_point_shares_upstream_and_writes_the_report(tmp_path):
    cfg = make_config(tmp_path, name="g", extra="eval: {batch_size: 16}")
    res = runner.invoke(app, ["grid", str(cfg), "--axis", "train.learning_rate=0.01,0.003",
                              "--axis", "train.max_steps=2,3", "-q"])
    assert res.exit_code == 0, res.output
    report = tmp_path / "runs" / "_grids" / "g"
    doc = json.loads((report / "report.json").read_text())
    names = [r["name"] for r in doc["runs"]]
    assert names == ["g-learning_rate_0.01-max_steps_2", "g-learning_rate_0.01-max_steps_3",
                     "g-learning_rate_0.003-max_steps_2", "g-learning_rate_0.003-max_steps_3"]
    # the corpus and the tokenizer were built by the first run only
    assert [r["stages"]["corpus"] for r in doc["runs"]] == ["ran", "reused", "reused", "reused"]
    assert [r["stages"]["tokenizer"] for r in doc["runs"]] == ["ran", "reused", "reused", "reused"]
    assert [r["metrics"]["train.steps"] for r in doc["runs"]] == [2, 3, 2, 3]
    assert all(r["status"] == "ok" and r["metrics"]["eval.bits_per_byte"] > 0 for r in doc["runs"])
    for r in doc["runs"]:  # each value landed in its run's config
        saved = (tmp_path / "runs" / r["name"] / "config.yaml").read_text()
        assert f"learning_rate: {r['point']['train.learning_rate']}" in saved
    md = (report / "report.md").read_text()
    assert md.count("| g-learning_rate_") == 4 and "Best by eval.bits_per_byte" in md
    rows = list(csv.reader((report / "report.csv").open()))
    assert rows[0][:3] == ["run", "train.learning_rate", "train.max_steps"] and len(rows) == 5
    assert (report / "loss_curves.png").stat().st_size > 1000 and (report / "metrics.png").is_file()
    assert res.output.count(" ok ") == 4 and "report.md" in res.output.replace("\n", "")
    # the same grid again: every run is complete, nothing is redone
    again = runner.invoke(app, ["grid", str(cfg), "--axis", "train.learning_rate=0.01,0.003",
                                "--axis", "train.max_steps=2,3", "-q"])
    assert again.exit_code == 0, again.output
    redo = json.loads((report / "report.json").read_text())
    assert all(r["stages"]["train"] == r["stages"]["eval"] == "skipped" for r in redo["runs"])
    assert [r["stages"]["corpus"] for r in redo["runs"]] == ["skipped", "reused", "reused", "reused"]
    assert [r["metrics"]["eval.bits_per_byte"] for r in redo["runs"]] == [
        r["metrics"]["eval.bits_per_byte"] for r in doc["runs"]]


def test_a_bad_value_fails_before_any_run(tmp_path):
    cfg = make_config(tmp_path, name="g")
    res = runner.invoke(app, ["grid", str(cfg), "--axis", "train.max_steps=2,many", "-q"])
    assert res.exit_code == 2 and "train.max_steps" in res.output
    res = runner.invoke(app, ["grid", str(cfg), "--axis", "train.learnin_rate=0.1,0.2", "-q"])
    assert res.exit_code == 2 and "learnin_rate" in res.output
    res = runner.invoke(app, ["grid", str(cfg), "--axis", "name=a,b", "-q"])
    assert res.exit_code == 2 and "names each run itself" in res.output
    assert not (tmp_path / "runs").exists()


def test_a_failed_run_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    from jazari_nlp import pipeline

    cfg = make_config(tmp_path, name="g")
    real = pipeline.run_experiment

    def flaky(config, overrides, **kw):
        if "train.max_steps=3" in overrides:
            raise RuntimeError("out of memory (simulated)")
        return real(config, overrides, **kw)

    monkeypatch.setattr(pipeline, "run_experiment", flaky)
    result = run_grid(cfg, ["train.max_steps=3,2"], progress=False)
    assert [(r.name, r.status) for r in result.runs] == [("g-max_steps_3", "failed"), ("g-max_steps_2", "ok")]
    assert "out of memory (simulated)" in result.runs[0].error
    md = (result.report_dir / "report.md").read_text()
    assert "failed: RuntimeError: out of memory (simulated)" in md
    with pytest.raises(ConfigError, match="at least one"):
        run_grid(cfg, [], progress=False)
    assert sweep.GRIDS == "_grids"
