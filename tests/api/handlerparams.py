"""Which request parameters each route reads, found in the handlers' own source.

A handler reads a parameter by passing its name to one of `Params`'s getters
(`p.string("status")`, `ctx.params.ids("id")`, …). `parameters(endpoint)` parses the
endpoint's source and the source of every function of `aloft.api` / `aloft.web` it calls,
however deep (`page_request`, `_client_credentials`, `_authorize_request`, …), and collects
those names, and the names a handler reads from the query string itself
(`request.query_params.get("stream")`, as the streaming routes do). So a parameter added to
a handler is fuzzed without anyone listing it, and a getter called with a name this cannot
read (not a literal, not a module constant) is an error here rather than a parameter that
escapes the fuzz. What it cannot see: a handler that hands a copy of all the parameters to
someone else (`dict(request.query_params)`), whose reads are then that code's own.

The getters are found from `Params` itself: every public method whose first argument is
`name`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Any

from aloft.api.params import Params

# The layers that see HTTP; services never read a parameter.
HTTP_LAYERS = ("aloft.api.", "aloft.web.")

GETTERS = frozenset(
    name
    for name, member in inspect.getmembers(Params, inspect.isfunction)
    if not name.startswith("_") and list(inspect.signature(member).parameters)[1:2] == ["name"]
)


class UnreadableParameter(Exception):
    """A getter is called with a name that is neither a literal nor a module constant."""


def _functions(fn: Callable[..., Any]) -> tuple[types.FunctionType, dict[str, Any]]:
    fn = inspect.unwrap(fn)
    assert isinstance(fn, types.FunctionType), fn
    names: dict[str, Any] = dict(fn.__globals__)
    if fn.__closure__:
        names.update(
            zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__), strict=True)
        )
    return fn, names


def _resolve(node: ast.expr, names: dict[str, Any]) -> Any:
    """What a Name or module.attribute expression stands for, or None."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, names)
        if isinstance(owner, types.ModuleType):
            return getattr(owner, node.attr, None)
    return None


def _ours(value: Any) -> bool:
    module = getattr(inspect.unwrap(value), "__module__", "") if callable(value) else ""
    return isinstance(inspect.unwrap(value), types.FunctionType) and module.startswith(HTTP_LAYERS)


def parameters(endpoint: Callable[..., Any]) -> frozenset[str]:
    """Every parameter name `endpoint` (or anything of ours it calls) asks `Params` for."""
    return frozenset(name for name, _key in _reads(endpoint))


def object_keys(endpoint: Callable[..., Any]) -> frozenset[str]:
    """The keys of object parameters `endpoint` reads with the nested getters, as
    `name[key]` (`p.nested("source", "privacy")` is `source[privacy]`)."""
    return frozenset(f"{name}[{key}]" for name, key in _reads(endpoint) if key is not None)


def _reads(endpoint: Callable[..., Any]) -> set[tuple[str, str | None]]:
    """(name, key) for every getter call: key is the second argument of a nested getter,
    None otherwise."""
    found: set[tuple[str, str | None]] = set()
    seen: set[types.FunctionType] = set()
    pending = [endpoint]
    while pending:
        fn, names = _functions(pending.pop())
        if fn in seen:
            continue
        seen.add(fn)
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        for node in ast.walk(tree):
            if _from_query(node):
                assert isinstance(node, ast.Call | ast.Subscript)
                key = node.args[0] if isinstance(node, ast.Call) else node.slice
                found.add((_name(fn, names, key, "query_params"), None))
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in GETTERS and node.args:
                name = _name(fn, names, node.args[0], func.attr)
                sub = None
                if func.attr.startswith("nested") and len(node.args) > 1:
                    sub = _name(fn, names, node.args[1], func.attr)
                found.add((name, sub))
            # Follow calls, and functions handed to calls (run_in_threadpool(fn, …)).
            for candidate in [func, *node.args]:
                target = _resolve(candidate, names)
                if target is not None and _ours(target):
                    pending.append(target)
    return found


def _from_query(node: ast.AST) -> bool:
    """`….query_params.get(…)`, `….query_params.getlist(…)` or `….query_params[…]`: a
    handler that reads the query string itself (the streaming routes do)."""
    if isinstance(node, ast.Subscript):
        owner = node.value
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("get", "getlist")
        and node.args
    ):
        owner = node.func.value
    else:
        return False
    return isinstance(owner, ast.Attribute) and owner.attr == "query_params"


def _name(fn: types.FunctionType, names: dict[str, Any], node: ast.expr, getter: str) -> str:
    name = node.value if isinstance(node, ast.Constant) else _resolve(node, names)
    if not isinstance(name, str):
        where = f"{fn.__module__}.{fn.__qualname__}"
        raise UnreadableParameter(
            f"{where} reads {getter}({ast.unparse(node)}): pass the parameter name as a "
            "literal or a module constant, so the fuzz test can find it"
        )
    return name
