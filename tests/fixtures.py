"""Small deterministic databases for tests; run as a script to write one for debugging:

    python -m tests.fixtures /tmp/tiny.duckdb
"""
from __future__ import annotations

import sys
from pathlib import Path

from config import Config

TEST_SCALE, TEST_SEED = 0.02, 7


def build_tiny(path: Path) -> dict[str, int]:
    from data.demo.build import build_demo_database
    return build_demo_database(path, TEST_SCALE, TEST_SEED, progress=lambda msg: None)


def config_for(db_path: Path, **overrides) -> Config:
    values = dict(db_path=Path(db_path), demo=False, secret_key="test-secret-key-not-for-production")
    values.update(overrides)
    return Config(**values)


if __name__ == "__main__":
    print(build_tiny(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny.duckdb")))


def page_request(path: str, search: str = "") -> dict:
    """The router's callback request for a page (what the browser posts when it opens `path`)."""
    return {"output": "..page.children...page-title.data..",
            "outputs": [{"id": "page", "property": "children"}, {"id": "page-title", "property": "data"}],
            "inputs": [{"id": "url", "property": "pathname", "value": path}, {"id": "view-pop", "property": "data", "value": None}],
            "state": [{"id": "url", "property": "search", "value": search}], "changedPropIds": ["url.pathname"]}
