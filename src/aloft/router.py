"""The application's router: Starlette's, with an index in front of its route list.

Starlette finds a request's route by trying every route's regular expression in order; with
the few hundred routes of the Mastodon API that walk was 7 % of a home timeline's CPU and
more of a cheap request's (issue 11). `IndexedRouter` first tries only the routes that can
match: those whose literal beginning (the path segments before the first `{parameter}`,
at most `DEPTH` of them) equals the request's first segments, in the table's own order, and
answers with the first full match, as Starlette would. Anything else (a partial match that
becomes 405, a trailing-slash redirect, 404, WebSockets, the lifespan) is left to
Starlette's own walk, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

# How many leading path segments the index is keyed by ("/api/v1/statuses/…": 3).
DEPTH = 3
# Distinct request prefixes remembered; a client choosing paths cannot grow it without end.
CACHE_SIZE = 4096


def _literal(route: BaseRoute) -> tuple[str, ...] | None:
    """The route's leading literal path segments (at most DEPTH), or None for a route the
    index cannot reason about (it is then tried for every request)."""
    if not isinstance(route, Route | Mount | WebSocketRoute):
        return None
    out: list[str] = []
    for segment in route.path.split("/")[1:]:
        if "{" in segment or len(out) == DEPTH:
            break
        out.append(segment)
    return tuple(out)


class IndexedRouter(Router):
    """A Router that tries, for each request, only the routes its path can match."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: object) -> None:
        super().__init__(routes=list(routes), **kwargs)  # type: ignore[arg-type]
        self._found: dict[tuple[str, ...], list[BaseRoute]] = {}

    def _candidates(self, path: str) -> list[BaseRoute]:
        key = tuple(path.split("/")[1 : DEPTH + 1])
        found = self._found.get(key)
        if found is None:
            found = []
            for route in self.routes:
                literal = _literal(route)
                if literal is None or key[: len(literal)] == literal:
                    found.append(route)
            if len(self._found) >= CACHE_SIZE:
                self._found.clear()
            self._found[key] = found
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("router", self)
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            for route in self._candidates(path):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
