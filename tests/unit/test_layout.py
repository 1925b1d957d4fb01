"""The house's shape: no import circle in chalicelib (function-local imports count), no module over 450
lines, and a domain that reaches AWS only through models/ and spells no raw DynamoDB itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

PACKAGE = PROJECT_DIR / "chalicelib"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every chalicelib module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
    return found


def test_no_module_imports_itself_in_a_circle():
    graph = {name: imports_of(path) - {name} for name, path in MODULES.items()}
    circles = []

    def visit(name: str, trail: list[str], done: set[str]) -> None:
        for target in sorted(graph.get(name, ())):
            if target in trail:
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in done:
                visit(target, [*trail, target], done)
        done.add(name)

    finished: set[str] = set()
    for name in sorted(graph):
        if name not in finished:
            visit(name, [name], finished)
    assert circles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_450_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 450


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("chalicelib.domain")))
def test_the_domain_reaches_aws_only_through_models(name):
    assert "botocore" not in MODULES[name].read_text()
    assert "chalicelib.aws" not in imports_of(MODULES[name])


# A typed value ({"N": …}), a read of one (item["S"]), an expression or a raw transaction item.
RAW_DYNAMODB = re.compile(
    r"""\{\s*["'](N|S|BOOL|L|M)["']\s*:|\[["'](N|S)["']\]|Expression|["'](Update|Put|ConditionCheck)["']\s*:"""
)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("chalicelib.domain")))
def test_the_domain_leaves_dynamodb_spelling_to_models(name):
    assert RAW_DYNAMODB.findall(MODULES[name].read_text()) == []


def test_the_raw_pattern_finds_what_it_is_for():
    samples = [
        '{"N": str(1)}',
        "item['msisdn']['S']",
        '"UpdateExpression": "SET"',
        '{"Update": {}}',
    ]
    assert all(RAW_DYNAMODB.search(sample) for sample in samples)


# Keys the standard library's LogRecord already has: passing one to the logger raises a KeyError.
RESERVED_LOG_KEYS = {"message", "msg", "args", "name", "levelname", "exc_info", "stack_info", "module"}


def test_no_log_call_passes_a_key_the_log_record_reserves():
    clashes = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logger"
            ):
                clashes += [
                    f"{name}:{node.lineno} {k.arg}" for k in node.keywords if k.arg in RESERVED_LOG_KEYS
                ]
    assert clashes == []


def test_the_logger_refuses_a_reserved_key_so_the_check_above_matters():
    from chalicelib.log import logger

    with pytest.raises(KeyError):
        logger.critical("x", message="y")


# Sizes that tests lower with monkeypatch (`small_chunks` in tests/conftest.py, and others) to get the
# same shape from less work: each must be read from its module when used, never copied at import.
SIZES_TESTS_LOWER = {
    "chalicelib.domain.deployments.fanout": {"CHUNK", "FANOUT_PAGE"},
    "chalicelib.domain.sending.api_messages": {"CHUNK"},
    "chalicelib.domain.sending.sender": {"GROUP", "MESSAGE_GROUP"},
    "chalicelib.domain.contacts.audience": {"RECIPIENTS_PAGE"},
    "chalicelib.domain.stats.rollup": {"GROUP"},
    "chalicelib.domain.imports.importer": {"REPEATS_HELD"},
}


def copies_of_sizes(name: str, source: str) -> list[str]:
    """Where the module `name` (its text `source`) copies a size above at import: imported by value,
    bound as a default argument, or assigned to another module-level name."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in SIZES_TESTS_LOWER:
            found += [
                f"{name}:{node.lineno} imports {a.name}"
                for a in node.names
                if a.name in SIZES_TESTS_LOWER[node.module]
            ]
    own = SIZES_TESTS_LOWER.get(name, set())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            found += [
                f"{name}:{d.lineno} default {n.id}"
                for d in defaults
                for n in ast.walk(d)
                if isinstance(n, ast.Name) and n.id in own
            ]
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            found += [
                f"{name}:{node.lineno} copies {n.id}"
                for n in ast.walk(node.value)
                if isinstance(n, ast.Name) and n.id in own
            ]
    return found


def test_the_sizes_tests_lower_are_read_at_call_time():
    assert all(MODULES[name].read_text() for name in SIZES_TESTS_LOWER)  # each module still exists
    found = [copy for name, path in MODULES.items() for copy in copies_of_sizes(name, path.read_text())]
    assert found == []


def test_the_size_check_finds_what_it_is_for():
    fanout = "chalicelib.domain.deployments.fanout"
    assert copies_of_sizes("x", "from chalicelib.domain.deployments.fanout import CHUNK\n")
    assert copies_of_sizes(fanout, "CHUNK = 100\n\ndef f(n=CHUNK):\n    return n\n")
    assert copies_of_sizes(fanout, "CHUNK = 100\nHALF = CHUNK // 2\n")
    assert not copies_of_sizes(fanout, "CHUNK = 100\n\ndef f(n=None):\n    return n or CHUNK\n")
