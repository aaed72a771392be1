"""Configuration is read in one place: no module but harness/config.py looks up an EVALH_* variable."""
from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def _environment_lookups(tree: ast.AST) -> list[str]:
    """Constant names passed to os.environ.get / os.getenv / env.get or used as a subscript of environ."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv"):
            args = node.args[:1]
        elif isinstance(node, ast.Subscript):
            args = [node.slice]
        else:
            continue
        names += [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return names


def test_only_config_reads_evalh_variables():
    readers = {}
    for path in HARNESS.rglob("*.py"):
        if path == HARNESS / "config.py":
            continue
        found = [n for n in _environment_lookups(ast.parse(path.read_text(encoding="utf-8"))) if n.startswith("EVALH_")]
        if found:
            readers[str(path.relative_to(HARNESS))] = found
    assert readers == {}


def test_the_check_sees_a_lookup():
    code = 'import os\nos.environ.get("EVALH_X")\nenv["EVALH_Y"]\nos.getenv("EVALH_Z")\n'
    assert _environment_lookups(ast.parse(code)) == ["EVALH_X", "EVALH_Y", "EVALH_Z"]
