"""The layout's rules, read from the source (ast; nothing is imported):

- no import circle among the modules of bot/, db/ and generator/;
- the chat front-ends (bot/telegram_app, bot/discord_app, bot/web_app) import db/ nowhere: they
  reach the store only through the core;
- db/ never imports bot/, and generator/ imports neither;
- at most 15 modules at the top of bot/ and 10 at the top of generator/ (the rest is in folders).

Every import counts: at module level, under `if TYPE_CHECKING:` and inside functions. A circle
through a type-only or a deferred import still ties the modules together (neither can be read,
tested or moved without the other), and deferring an import is how such circles used to hide.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "db", "generator")
FRONT_ENDS = ("bot.telegram_app", "bot.discord_app", "bot.web_app")
MAX_TOP_MODULES = {"bot": 15, "generator": 10}


def module_files(root: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports, anywhere in it. `from pkg import name` depends on
    pkg.name when that is a module, and on pkg itself when a name is defined in pkg."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            targets |= submodules
            if len(submodules) < len(node.names):
                targets.add(node.module)
    return targets & modules


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    files = module_files(root)
    names = set(files)
    return {name: imported(path, names) - {name} for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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


def within(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_the_graph_sees_imports_everywhere_in_a_file(tmp_path: Path) -> None:
    """The reader itself: module-level, TYPE_CHECKING and deferred imports all count, and a
    circle of three is found (so an empty result below means no circle, not a blind reader)."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text("from bot.b import x\n")
    (tmp_path / "bot" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import c\nx = 1\n")
    (tmp_path / "bot" / "c.py").write_text("def f():\n    import bot.a\n")
    graph = import_graph(tmp_path)
    assert graph["bot.a"] == {"bot.b"} and graph["bot.b"] == {"bot.c"} and graph["bot.c"] == {"bot.a"}
    assert circles(graph) == [["bot.a", "bot.b", "bot.c"]]


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_front_ends_reach_the_store_only_through_the_core() -> None:
    graph = import_graph()
    reached = {(module, target) for module, targets in graph.items() if within(module, *FRONT_ENDS)
               for target in targets if within(target, "db")}
    assert reached == set()


def test_layers_point_one_way() -> None:
    graph = import_graph()
    store_to_bot = {(m, t) for m, ts in graph.items() if within(m, "db") for t in ts if within(t, "bot")}
    generator_out = {(m, t) for m, ts in graph.items() if within(m, "generator")
                     for t in ts if within(t, "bot", "db")}
    assert store_to_bot == set()
    assert generator_out == set()


def test_top_levels_stay_small() -> None:
    for package, most in MAX_TOP_MODULES.items():
        top = sorted(path.name for path in (REPO / package).glob("*.py"))
        assert len(top) <= most, f"{package}/ has {len(top)} modules at its top: {top}"
