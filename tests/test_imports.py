"""Imports run one way: layers <- data <- (cli, dashboard) <- app. Checked on the source (ast), not at run time.

- `layers` imports nothing of the app; `data` imports `layers` and `data` only (settings reach it as
  arguments); `cli` imports `config`, `data` and `layers`, never `dashboard`; `dashboard` never `cli`.
- A page module never imports another page module.
- An import of the app's own modules inside a function is refused: it is how import cycles hide.
  (Third-party imports inside functions stay allowed: they keep start-up light.)
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_TOP = ("app", "config", "cli", "dashboard", "data", "layers")
# what each top-level part may import of the app
ALLOWED = {
    "config": set(),
    "layers": {"layers"},
    "data": {"data", "layers"},
    "cli": {"cli", "config", "data", "layers"},
    "dashboard": {"config", "dashboard", "data", "layers"},
    "app": {"app", "cli", "config", "dashboard", "data", "layers"},
}
PAGES = "dashboard.pages"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Dotted names an import statement brings in (relative imports resolved against `module`)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join(anchor + ([base] if base else []))
        # `from pkg import mod` may import a module: name both so either rule can see it
        return [base] + [f"{base}.{a.name}" for a in node.names]
    return []


def _top(name: str) -> str:
    return name.split(".")[0]


def _is_page(name: str) -> bool:
    return name.startswith(PAGES + ".") and name.count(".") == 2


def violations(root: Path) -> list[str]:
    """Every import against the direction, as 'path:line: what'."""
    found = []
    files = [p for top in APP_TOP for p in ([root / f"{top}.py"] if (root / f"{top}.py").exists() else
                                             sorted((root / top).rglob("*.py")) if (root / top).is_dir() else [])]
    for path in files:
        module = module_name(root, path)
        layer = _top(module)
        tree = ast.parse(path.read_text(), str(path))
        where = f"{path.relative_to(root)}"
        func_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            names = [n for n in imported(node, module, path.name == "__init__.py") if _top(n) in APP_TOP]
            if not names:
                continue
            first = names[0]
            if _top(first) not in ALLOWED[layer]:
                found.append(f"{where}:{node.lineno}: {layer} imports {first}")
            if _is_page(module) and any(_is_page(n) and n != module for n in names):
                other = next(n for n in names if _is_page(n) and n != module)
                found.append(f"{where}:{node.lineno}: page {module} imports page {other}")
            if id(node) in func_nodes:
                found.append(f"{where}:{node.lineno}: function-local import of {first}")
    return found


def test_the_app_imports_one_way():
    assert violations(ROOT) == []


BAD = {
    "layers/__init__.py": "",
    "layers/bad.py": "from data.store import db\n",
    "data/__init__.py": "",
    "data/uses_dashboard.py": "import dashboard.context\n",
    "data/hidden.py": "def f():\n    from data import other\n    return other\n",
    "data/third_party_local.py": "def f():\n    import json\n    return json\n",
    "data/relative.py": "from ..dashboard import context\n",
    "cli/__init__.py": "",
    "cli/web.py": "from dashboard.auth import guard\n",
    "dashboard/__init__.py": "",
    "dashboard/pages/__init__.py": "",
    "dashboard/pages/a.py": "from dashboard.pages.b import thing\n",
    "dashboard/pages/b.py": "from dashboard.pages import a\nfrom dashboard import figures\n",
    "config.py": "import layers.hexes\n",
}


def test_the_check_fails_on_imports_against_the_direction(tmp_path):
    for rel, text in BAD.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    found = violations(tmp_path)
    expected = [
        "config.py:1: config imports layers.hexes",
        "cli/web.py:1: cli imports dashboard.auth",
        "dashboard/pages/a.py:1: page dashboard.pages.a imports page dashboard.pages.b",
        "dashboard/pages/b.py:1: page dashboard.pages.b imports page dashboard.pages.a",
        "data/hidden.py:2: function-local import of data",
        "data/relative.py:1: data imports dashboard",
        "data/uses_dashboard.py:1: data imports dashboard.context",
        "layers/bad.py:1: layers imports data.store",
    ]
    assert sorted(found) == sorted(expected)


@pytest.mark.parametrize("rel", ["data/third_party_local.py", "dashboard/pages/b.py"])
def test_allowed_imports_pass(tmp_path, rel):
    """A third-party import in a function, and a page importing a shared dashboard module, are fine."""
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text("def f():\n    import json\n    return json\n" if rel.startswith("data")
                                else "from dashboard import figures\n")
    assert violations(tmp_path) == []
