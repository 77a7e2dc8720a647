"""The package's shape: no import circle (deferred imports included), and layers that read
as the pipeline. `pytest -s tests/test_architecture.py` prints the layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nnrun"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every nnrun module ``path`` imports, at the top or inside a function (a deferred
    import is an import all the same: it only hides a circle)."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # `from nnrun.sweeps import runner` imports a module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != this}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) for name, path in found.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layers(graph: dict[str, set[str]]) -> dict[int, list[str]]:
    """Each module's floor: 0 imports no nnrun module, else one above the highest it imports."""
    floor: dict[str, int] = {}

    def level(v):
        if v not in floor:
            floor[v] = 1 + max((level(w) for w in graph[v]), default=-1)
        return floor[v]

    for v in graph:
        level(v)
    out: dict[int, list[str]] = {}
    for v, f in floor.items():
        out.setdefault(f, []).append(v)
    return {f: sorted(out[f]) for f in sorted(out)}


def test_no_import_circle_deferred_imports_included():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles: " + "; ".join(
        " <-> ".join(c) + " (" + ", ".join(f"{a} -> {b}" for a in c for b in sorted(graph[a]) if b in c) + ")"
        for c in found)
    print("\nthe package's layers, from the bottom (a module imports only from floors below it):")
    for floor, names in layers(graph).items():
        print(f"  {floor:2d}  {', '.join(n.removeprefix('nnrun.') or 'nnrun' for n in names)}")


def test_the_circle_test_sees_a_deferred_import(tmp_path, monkeypatch):
    """The test above can fail: a circle hidden by an import inside a function is found."""
    graph = import_graph()
    graph["nnrun.store.names"] = graph["nnrun.store.names"] | {"nnrun.app"}  # as if names imported app late
    assert any("nnrun.app" in c and "nnrun.store.names" in c for c in circles(graph))
    source = tmp_path / "nnrun" / "x.py"
    source.parent.mkdir()
    source.write_text("def f():\n    from nnrun.y import g\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "nnrun")
    assert imports_of(source, {"nnrun.x", "nnrun.y"}) == {"nnrun.y"}
