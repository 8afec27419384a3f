"""Draw Lineup's import graph, package by package, into docs/architecture.png.

The layers come from pyproject.toml (the import-linter contracts that `make lint` checks): the
pages over the components over the facade over the domain's packages over the backends. Each
box is a package; an arrow A -> B means some module of A imports some module of B. Every arrow
must point down (to a lower layer); the script exits 1 and names the arrow if one does not, so
the picture can never show what the contracts forbid.

    .venv/bin/python scripts/draw_architecture.py [--out docs/architecture.png] [--dot-only]

Drawing needs Graphviz's `dot` (Debian: `apt-get install graphviz`); --dot-only prints the
graph in DOT without it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def domain_layers() -> list[list[str]]:
    """The layers of lineup's packages, top first, as the contract in pyproject.toml lists them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers" and contract.get("containers") == ["lineup"]:
            return [
                [f"lineup.{name.strip()}" for name in layer.split("|")]
                for layer in contract["layers"]
            ]
    raise SystemExit("pyproject.toml has no layers contract for the lineup container")


def layers() -> list[list[str]]:
    return [["app_pages"], ["components"], *domain_layers(), ["backends"]]


def arrows(boxes: list[str]) -> set[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("app_pages", "components", "lineup", "backends")
    found = set()
    for importer in boxes:
        for imported in boxes:
            if importer != imported and graph.direct_import_exists(
                importer=importer, imported=imported, as_packages=True
            ):
                found.add((importer, imported))
    return found


def dot_source(rows: list[list[str]], edges: set[tuple[str, str]]) -> str:
    lines = [
        "digraph lineup {",
        '  graph [rankdir=TB, ranksep=0.45, nodesep=0.35, fontname="DejaVu Sans"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", color="#1c83e1",'
        ' fontname="DejaVu Sans", fontsize=12];',
        '  edge [color="#7a8699", arrowsize=0.6];',
    ]
    for row in rows:
        names = " ".join(f'"{box}"' for box in row)
        lines.append(f"  {{ rank=same; {names} }}")
    # Invisible edges between consecutive layers keep them in order even where no import does.
    for upper, lower in zip(rows, rows[1:], strict=False):
        lines.append(f'  "{upper[0]}" -> "{lower[0]}" [style=invis];')
    for importer, imported in sorted(edges):
        lines.append(f'  "{importer}" -> "{imported}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "architecture.png")
    parser.add_argument("--dot-only", action="store_true")
    args = parser.parse_args()
    rows = layers()
    level = {box: index for index, row in enumerate(rows) for box in row}
    edges = arrows(list(level))
    upward = sorted((a, b) for a, b in edges if level[b] <= level[a])
    if upward:
        for importer, imported in upward:
            print(f"an arrow that does not point down: {importer} -> {imported}", file=sys.stderr)
        return 1
    source = dot_source(rows, edges)
    if args.dot_only:
        print(source, end="")
        return 0
    if shutil.which("dot") is None:
        print("Graphviz's `dot` is missing: apt-get install graphviz", file=sys.stderr)
        return 2
    subprocess.run(
        ["dot", "-Tpng", "-Gdpi=110", "-o", str(args.out)], input=source, text=True, check=True
    )
    print(f"{args.out}: {len(level)} packages, {len(edges)} arrows, all pointing down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
