"""Which error `code`s each HTTP status carries, read from the code that raises them, for the document."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from chalicelib.api.errors import STATUS

_SOURCE = Path(__file__).resolve().parent.parent


@cache
def codes_by_status() -> dict[int, set[str]]:
    """Each error kind's own code, and every `code=` given where one is raised."""
    kinds = {kind.__name__: kind for kind in STATUS}
    found: dict[int, set[str]] = {}
    for kind, status in STATUS.items():
        found.setdefault(status, set()).add(kind.code)
    for path in sorted(_SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in kinds:
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        found[STATUS[kinds[node.func.id]]].add(keyword.value.value)
    return found
