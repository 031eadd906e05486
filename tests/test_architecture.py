"""The house by stage, held: no runtime import cycle, no module past the size budget.

The layer contract itself (a stage imports only earlier stages) is import-linter's, checked by
``lint-imports`` in ``.ci/run``. Its ``acyclic_siblings`` contract sees cycles between siblings only;
this test also sees the ones through a package's ``__init__`` — the kind Python trips over at import
time, when importing ``pkg.mod`` first runs ``pkg/__init__.py``.
"""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("zanith_core", "pytest_zanith")
MAX_LINES = 600
#: Pure data tables, exempt from the size budget.
DATA_TABLES = {"zanith_core/risk/catalog.py"}


def _runtime_edges() -> dict[str, set[str]]:
    """Module → modules whose import it triggers at run time (type-checking imports left out).

    Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, unless the importer is already
    inside them (then they are initialised, or initialising, before it).
    """
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        own = _ancestors(module)
        targets = set()
        for imported in graph.find_modules_directly_imported_by(module):
            targets.add(imported)
            targets |= _ancestors(imported) - own - {module}
        edges[module] = targets
    return edges


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_runtime_import_cycle() -> None:
    assert _cycles(_runtime_edges()) == []


def test_the_cycle_finder_sees_a_cycle_through_a_package_init() -> None:
    # hooks → risk.catalog runs risk/__init__; if that imported hooks, importing hooks first would fail
    edges = {"z.hooks": {"z.risk.catalog", "z.risk"}, "z.risk": {"z.hooks"}, "z.risk.catalog": set()}
    assert _cycles(edges) == [["z.hooks", "z.risk"]]
    assert _ancestors("z.risk.catalog") == {"z", "z.risk"}


def test_no_module_is_over_the_size_budget() -> None:
    over = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert set(over) <= DATA_TABLES, f"modules over {MAX_LINES} lines: {over}"
