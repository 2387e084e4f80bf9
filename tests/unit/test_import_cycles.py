"""No import cycle anywhere in the ``recordkit`` package (server and client), as grimp sees the imports.

``lint-imports`` (the README's test command) checks the layers of pyproject's [tool.importlinter]:
an upward import between layers fails it. A cycle inside one layer (two store modules importing
each other, say) does not break a layers contract, so this test looks for any strongly connected
group of modules. grimp counts every import statement, TYPE_CHECKING and function-level ones
included: a cycle hidden behind a late import is still a cycle here.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("recordkit")
    assert "recordkit.client" in graph.modules and "recordkit.store.sqlite.store" in graph.modules
    assert _cycles(graph) == []


def test_the_check_finds_a_cycle() -> None:
    graph = grimp.build_graph("recordkit")
    graph.add_import(importer="recordkit.domain.models", imported="recordkit.domain.webhooks")
    groups = _cycles(graph)
    assert any({"recordkit.domain.models", "recordkit.domain.webhooks"} <= set(group) for group in groups), groups
