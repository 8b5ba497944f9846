"""The import graph of `agent/`: rooms (modules, or folders with --folders), floors, arrows, arrows that run
back up or sideways, and import circles. Every import counts: module level, inside functions and under
TYPE_CHECKING alike (a deferred import is still a dependency).

    python bench/imports.py [--folders] [--list] [ROOT]

Floors: a room that imports no other room is on floor 0; any other room is one floor above the highest room it
imports (rooms in one circle share a floor). An arrow "runs back" when it points to a room on the same floor
or higher, which only a circle can cause. Also prints module sizes (lines).
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `root` (data folders skipped)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "data" in path.relative_to(root).parts:
            continue
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
    return {m for m in out if m in known and m != name}


def room(name: str, root: Path, folders: bool) -> str:
    """A module's room: itself, or with --folders the top-level folder it lives in."""
    parts = name.split(".")
    if folders and len(parts) >= 2 and (root / parts[1]).is_dir():
        return ".".join(parts[:2])
    return name


def main(argv: list[str]) -> None:
    folders, listing = "--folders" in argv, "--list" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else "agent").resolve()
    known = modules(root)
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        for target in imports(name, path, known):
            a, b = room(name, root, folders), room(target, root, folders)
            if a != b:
                edges[a].add(b)
    rooms = sorted({room(n, root, folders) for n in known})

    # Circles: strongly connected components (Tarjan), iterative enough for a few hundred rooms.
    sys.setrecursionlimit(10_000)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(component)

    for r in rooms:
        if r not in index:
            visit(r)
    which = {r: i for i, c in enumerate(components) for r in c}
    above: dict[int, set[int]] = defaultdict(set)
    for a, targets in edges.items():
        above[which[a]] |= {which[b] for b in targets if which[b] != which[a]}

    @lru_cache(maxsize=None)
    def floor(c: int) -> int:
        return 1 + max((floor(d) for d in above[c]), default=-1)

    level = {r: floor(which[r]) for r in rooms}
    arrows = sum(len(t) for t in edges.values())
    back = sorted((a, b) for a, t in edges.items() for b in t if level[b] >= level[a])
    circles = [sorted(c) for c in components if len(c) > 1]
    sizes = [len(p.read_text(encoding="utf-8").splitlines()) for p in known.values()]
    print(f"rooms {len(rooms)}  floors {max(level.values()) + 1}  arrows {arrows}  running back {len(back)}  "
          f"circles {len(circles)}")
    print(f"module lines: {len(sizes)} modules, median {statistics.median(sizes):.0f}, max {max(sizes)} "
          f"({max(known, key=lambda n: len(known[n].read_text(encoding='utf-8').splitlines()))}), "
          f"over 300: {sum(s > 300 for s in sizes)}")
    for c in circles:
        print("  circle:", " ".join(c))
    for a, b in back:
        print("  back:", a, "->", b)
    if listing:
        for f in range(max(level.values()) + 1):
            print(f"  floor {f}:", " ".join(r for r in rooms if level[r] == f))


if __name__ == "__main__":
    main(sys.argv[1:])
