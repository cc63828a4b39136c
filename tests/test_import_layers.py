"""Each layer imports only downward: no import cycle among jazari_nlp's modules (issue 11, item 6).

Imports are read with ``ast`` from every module, at module level and inside functions alike (an import moved
into a function still runs, and still makes a circle). A package's implicit import of its ``__init__`` is not
an edge: a package that re-exports its submodules is a facade, not a circle; ``from pkg import name`` where
``name`` is not a submodule is an edge to the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "jazari_nlp"

# Cycles allowed while their owners break them: none is left (a cycle is allowed only inside one of these
# groups; a new module joining one, or any new cycle, fails).
ALLOWED: list[set[str]] = []
# These must never be in a cycle at all.
LAYERED = ("jazari_nlp.corpus", "jazari_nlp.readers", "jazari_nlp.config", "jazari_nlp.overrides",
           "jazari_nlp.schema")


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is a package)}`` of every module under ``root``."""
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: the package's modules it imports}``, function-level imports included."""
    mods = modules(root)
    top = root.name

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.split(".")[0] == top}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    where = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    where = node.module or ""
                if where.split(".")[0] != top:
                    continue
                for a in node.names:
                    sub = f"{where}.{a.name}"
                    targets.add(sub if sub in mods else known(where))
        graph[name] = {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(comp)
    return found


def test_the_checker_finds_a_circle_hidden_in_a_function(tmp_path: Path):
    pkg = tmp_path / "jazari_nlp"
    (pkg / "corpus").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "corpus" / "__init__.py").write_text("from jazari_nlp.corpus.a import f\n")  # a facade: no circle
    (pkg / "corpus" / "a.py").write_text("def f():\n    from jazari_nlp.corpus import b\n    return b\n")
    (pkg / "corpus" / "b.py").write_text("from . import c\n")
    (pkg / "corpus" / "c.py").write_text("import jazari_nlp.corpus.a\nimport os\n")
    (pkg / "corpus" / "d.py").write_text("from jazari_nlp.corpus import f\n")  # a name of the package
    graph = import_graph(pkg)
    assert graph["jazari_nlp.corpus.b"] == {"jazari_nlp.corpus.c"}
    assert graph["jazari_nlp.corpus.d"] == {"jazari_nlp.corpus"}
    assert cycles(graph) == [{"jazari_nlp.corpus.a", "jazari_nlp.corpus.b", "jazari_nlp.corpus.c"}]


def test_no_import_cycle_in_jazari_nlp():
    graph = import_graph(ROOT)
    assert "jazari_nlp.corpus.build" in graph and "jazari_nlp.readers.ranges" in graph
    found = cycles(graph)
    layered = [sorted(c) for c in found if any(m == p or m.startswith(p + ".") for m in c for p in LAYERED)]
    assert not layered, f"import cycles through the corpus builder, the readers or the config: {layered}"
    new = [sorted(c) for c in found if not any(c <= allowed for allowed in ALLOWED)]
    assert not new, f"new import cycles (each layer must import only downward): {new}"


def test_the_corpus_step_modules_import_no_heavy_library():
    # the config loads every step's model: datatrove, numpy and pyarrow load only when a build runs
    import subprocess
    import sys

    code = ("import sys, jazari_nlp.corpus.config, jazari_nlp.config; "
            "print(','.join(m for m in ('datatrove', 'numpy', 'pyarrow', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
