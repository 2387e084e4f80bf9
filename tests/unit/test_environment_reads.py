"""Only recordkit.settings reads the environment (and the client package, in one place).

Every other module is given a Settings (or, in the CLI, takes click's ``envvar=``): a variable
read anywhere else would escape the one-line checks, the docs table and ``serve``'s workers.
The client package is the exception: it will ship as a light distribution of its own, which
cannot import the server's settings; it reads its token variables in one function.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "recordkit"
CLIENT = ROOT / "clients" / "python" / "src" / "recordkit"  # the client's own distribution
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
ALLOWED = {"settings.py": None, "client/_core.py": 1}  # None: any number; else exactly that many


def environment_uses(tree: ast.AST) -> list[int]:
    """Line numbers where ``tree`` touches the process environment through ``os`` (however imported)."""
    modules = {"os"}  # names bound to the os module
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix", "nt"):
            lines += [node.lineno for alias in node.names if alias.name in ENVIRONMENT]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_finds_every_way_of_reading_the_environment() -> None:
    source = """
import os
import os as system
from os import environ, getenv as ge
os.environ.get("A"); system.getenv("B"); os.environ.update({}); os.putenv("C", "1")
"""
    assert environment_uses(ast.parse(source)) == [4, 4, 5, 5, 5, 5]
    assert environment_uses(ast.parse("import os\nos.getpid(); os.path.join('a')\nenviron = {}\n")) == []


def test_only_settings_and_the_client_read_the_environment() -> None:
    found: dict[str, list[int]] = {}
    for root in (SRC, CLIENT):
        for path in sorted(root.rglob("*.py")):
            lines = environment_uses(ast.parse(path.read_text(), filename=str(path)))
            if lines:
                found[path.relative_to(root).as_posix()] = lines
    stray = {name: lines for name, lines in found.items() if name not in ALLOWED}
    assert not stray, f"read the environment outside recordkit.settings: {stray}"
    assert found.get("settings.py"), "recordkit.settings reads the environment: the scan must see it"
    for name, count in ALLOWED.items():
        if count is not None:
            assert len(found.get(name, [])) == count, (name, found.get(name))
