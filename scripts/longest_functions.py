"""The longest functions of the package and the workflow scripts at a git revision (lines, docstrings included).

    python scripts/longest_functions.py [REV] [--most N]

Reads the files of REV (default HEAD) with `git show`, so any commit can be measured without a
checkout; tests, benchmarks and scripts are left out. Prints a Markdown row per function.
"""

from __future__ import annotations

import argparse
import ast
import subprocess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("--most", type=int, default=10)
    args = parser.parse_args()
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", args.rev], capture_output=True, text=True, check=True
    )
    rows = []
    for path in names.stdout.split():
        if not path.endswith(".py") or path.startswith(("tests/", "benchmarks/", "scripts/")):
            continue
        source = subprocess.run(["git", "show", f"{args.rev}:{path}"], capture_output=True, text=True).stdout
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                rows.append((node.end_lineno - node.lineno + 1, f"{path}:{node.name}"))
    print("| function | lines |\n|---|---:|")
    for lines, name in sorted(rows, reverse=True)[: args.most]:
        print(f"| {name} | {lines} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
