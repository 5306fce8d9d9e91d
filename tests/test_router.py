"""The router's index (aloft.router) picks, for every path of the route table and every
method, the same route Starlette's walk of the whole table picks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.routing import Match

from aloft.app import create_app
from aloft.config import Settings
from aloft.router import IndexedRouter

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _first_full(routes: Any, scope: dict[str, Any]) -> Any:
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def test_the_index_finds_what_the_walk_finds(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), migrate=False)
    router = app.router
    assert isinstance(router, IndexedRouter)
    paths = set()
    for route in router.routes:
        path = getattr(route, "path", None)
        if path:
            concrete = re.sub(r"\{[^}]*\}", "123", path)
            paths |= {concrete, concrete + "/", concrete + "/extra", concrete.rstrip("/") or "/"}
    paths |= {"/", "/nope", "/api", "/api/v1", "/api/v9/instance", "/@someone/123", "/static/x.css"}
    checked = 0
    for path in sorted(paths):
        for method in METHODS:
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            walked = _first_full(router.routes, scope)
            indexed = _first_full(router._candidates(path), scope)
            assert indexed is walked, (method, path)
            checked += walked is not None
    assert checked > 300  # the table was really walked
