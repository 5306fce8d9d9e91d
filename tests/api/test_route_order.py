"""No fixed path is shadowed by a parameter route declared before it (issue 10, item 6).

Starlette takes the first route that matches, so `/api/v1/accounts/{id}` listed before
`/api/v1/accounts/search` answered every search as "account not found". This walks the
route table: for each fixed path and method, the first route that matches it must be its
own."""

from __future__ import annotations

from starlette.routing import Match

from aloft.api.routes import TABLE, routes


def test_no_fixed_path_is_shadowed() -> None:
    table = routes()
    shadowed = []
    for path, methods, handler in TABLE:
        if "{" in path:
            continue
        for method in methods:
            scope = {"type": "http", "path": path, "method": method}
            first = next(
                r for r in table if r.matches({**scope, "path_params": {}})[0] == Match.FULL
            )
            if first.endpoint is not handler:
                shadowed.append(f"{method} {path} -> {first.path}")
    assert not shadowed, shadowed


def test_the_walk_would_see_a_shadowed_path() -> None:
    """The check can fail: put a parameter route first and it reports the fixed one."""
    from starlette.routing import Route

    def show() -> None: ...

    def search() -> None: ...

    table = [Route("/a/{id}", show, methods=["GET"]), Route("/a/search", search, methods=["GET"])]
    scope = {"type": "http", "path": "/a/search", "method": "GET", "path_params": {}}
    first = next(r for r in table if r.matches(scope)[0] == Match.FULL)
    assert first.endpoint is show
