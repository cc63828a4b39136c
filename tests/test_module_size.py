"""No module of jazari_nlp over 500 lines (issue 11, "Done when"): a long module is split along its seams, its
old import path kept by re-exports."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "jazari_nlp"
LIMIT = 500


def long_modules(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """``{path relative to root's parent: line count}`` of every ``.py`` file under ``root`` over ``limit`` lines."""
    out = {}
    for p in sorted(root.rglob("*.py")):
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > limit:
            out[str(p.relative_to(root.parent))] = n
    return out


def test_the_check_counts_lines(tmp_path: Path):
    pkg = tmp_path / "jazari_nlp"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "short.py").write_text("x = 1\n" * 500)
    (pkg / "sub" / "long.py").write_text("x = 1\n" * 501)
    (pkg / "notes.txt").write_text("x\n" * 900)  # not a module
    assert long_modules(pkg) == {"jazari_nlp/sub/long.py": 501}


def test_no_module_over_500_lines():
    assert ROOT.is_dir() and len(list(ROOT.rglob("*.py"))) > 50
    too_long = long_modules(ROOT)
    assert not too_long, f"modules over {LIMIT} lines (split them along their seams): {too_long}"
