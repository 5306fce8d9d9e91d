"""/api/v2/filters (with keywords and statuses) and /api/v1/filters: the viewer's own."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.params import TRUE, Params, path_id
from aloft.errors import FieldError, Invalid
from aloft.services import filters

READ, WRITE = "read:filters", "write:filters"
KEYWORD_FIELDS = frozenset({"id", "keyword", "whole_word", "_destroy"})


def _bad_keyword(rule: str) -> Invalid:
    return Invalid(
        f"keywords_attributes {rule}", [FieldError("keywords_attributes", "ERR_INVALID", rule)]
    )


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in TRUE:
        return True
    if text in ("false", "0", "off", "no", "f", ""):
        return False
    raise _bad_keyword("must have true or false for whole_word and _destroy")


def _keywords(p: Params) -> list[filters.KeywordChange]:
    """keywords_attributes[][keyword|whole_word|id|_destroy]; unknown keys refused by name."""
    out = []
    for item in p.object_list("keywords_attributes"):
        unknown = sorted(set(item) - KEYWORD_FIELDS)
        if unknown:
            raise _bad_keyword(f"has unknown attributes: {', '.join(unknown)}")
        keyword, raw_id = item.get("keyword"), item.get("id")
        if keyword is not None and (isinstance(keyword, bool) or not isinstance(keyword, str)):
            raise _bad_keyword("must have a string keyword")
        if keyword is not None and "\x00" in keyword:
            raise _bad_keyword("must not contain NUL characters")
        if raw_id is not None and not str(raw_id).isdigit():
            raise _bad_keyword("must have IDs")
        out.append(
            filters.KeywordChange(
                id=int(raw_id) if raw_id is not None and str(raw_id).isdigit() else None,
                keyword=keyword,
                whole_word=_flag(item.get("whole_word")),
                destroy=bool(_flag(item.get("_destroy"))),
            )
        )
    return out


def _change(p: Params) -> filters.Change:
    return filters.Change(
        title=p.string("title"),
        context=p.strings("context") if p.has("context") else None,
        action=p.string("filter_action"),
        expires=p.has("expires_in"),
        expires_in=p.number("expires_in"),
        keywords=_keywords(p),
    )


def _view(view: filters.FilterView) -> dict[str, Any]:
    return entities.filter_v2(view.row, view)


# -- v2 -----------------------------------------------------------------------------------


@endpoint(scope=READ, user=True)
def index(ctx: Ctx) -> Any:
    return [_view(v) for v in filters.list_filters(ctx.db, ctx.viewer)]


@endpoint(scope=READ, user=True)
def show(ctx: Ctx) -> Any:
    return _view(filters.get_filter(ctx.db, ctx.viewer, path_id(ctx.path("id"))))


@endpoint(scope=WRITE, user=True)
def create(ctx: Ctx) -> Any:
    return _view(filters.create(ctx.db, ctx.viewer, _change(ctx.params)))


@endpoint(scope=WRITE, user=True)
def update(ctx: Ctx) -> Any:
    filter_id = path_id(ctx.path("id"))
    return _view(filters.update(ctx.db, ctx.viewer, filter_id, _change(ctx.params)))


@endpoint(scope=WRITE, user=True)
def delete(ctx: Ctx) -> Any:
    filters.delete(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


# -- v2 keywords ----------------------------------------------------------------------------


@endpoint(scope=READ, user=True)
def keywords_index(ctx: Ctx) -> Any:
    rows = filters.keywords(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return [entities.filter_keyword(r) for r in rows]


def _keyword_fields(p: Params) -> tuple[str | None, bool | None]:
    """`keyword` and `whole_word` (None: not sent)."""
    return p.string("keyword"), p.flag("whole_word") if p.has("whole_word") else None


@endpoint(scope=WRITE, user=True)
def keyword_create(ctx: Ctx) -> Any:
    filter_id = path_id(ctx.path("id"))
    found = filters.add_keyword(ctx.db, ctx.viewer, filter_id, *_keyword_fields(ctx.params))
    return entities.filter_keyword(found.row)


@endpoint(scope=READ, user=True)
def keyword_show(ctx: Ctx) -> Any:
    return entities.filter_keyword(
        filters.get_keyword(ctx.db, ctx.viewer, path_id(ctx.path("id"))).row
    )


@endpoint(scope=WRITE, user=True)
def keyword_update(ctx: Ctx) -> Any:
    keyword_id = path_id(ctx.path("id"))
    found = filters.update_keyword(ctx.db, ctx.viewer, keyword_id, *_keyword_fields(ctx.params))
    return entities.filter_keyword(found.row)


@endpoint(scope=WRITE, user=True)
def keyword_delete(ctx: Ctx) -> Any:
    filters.delete_keyword(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


# -- v2 statuses ----------------------------------------------------------------------------


@endpoint(scope=READ, user=True)
def statuses_index(ctx: Ctx) -> Any:
    rows = filters.filter_statuses_of(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return [entities.filter_status(r) for r in rows]


@endpoint(scope=WRITE, user=True)
def status_create(ctx: Ctx) -> Any:
    row = filters.add_status(
        ctx.db, ctx.viewer, path_id(ctx.path("id")), ctx.params.id("status_id")
    )
    return entities.filter_status(row)


@endpoint(scope=READ, user=True)
def status_show(ctx: Ctx) -> Any:
    row = filters.get_status_filter(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.filter_status(row)


@endpoint(scope=WRITE, user=True)
def status_delete(ctx: Ctx) -> Any:
    filters.delete_status_filter(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


# -- v1 -------------------------------------------------------------------------------------


def _v1(p: Params) -> filters.V1Change:
    return filters.V1Change(
        phrase=p.string("phrase"),
        context=p.strings("context") if p.has("context") else None,
        irreversible=p.flag("irreversible") if p.has("irreversible") else None,
        whole_word=p.flag("whole_word") if p.has("whole_word") else None,
        expires=p.has("expires_in"),
        expires_in=p.number("expires_in"),
    )


@endpoint(scope=READ, user=True)
def v1_index(ctx: Ctx) -> Any:
    return [entities.filter_v1(v) for v in filters.list_v1(ctx.db, ctx.viewer)]


@endpoint(scope=READ, user=True)
def v1_show(ctx: Ctx) -> Any:
    return entities.filter_v1(filters.get_keyword(ctx.db, ctx.viewer, path_id(ctx.path("id"))))


@endpoint(scope=WRITE, user=True)
def v1_create(ctx: Ctx) -> Any:
    return entities.filter_v1(filters.create_v1(ctx.db, ctx.viewer, _v1(ctx.params)))


@endpoint(scope=WRITE, user=True)
def v1_update(ctx: Ctx) -> Any:
    keyword_id = path_id(ctx.path("id"))
    return entities.filter_v1(filters.update_v1(ctx.db, ctx.viewer, keyword_id, _v1(ctx.params)))


@endpoint(scope=WRITE, user=True)
def v1_delete(ctx: Ctx) -> Any:
    filters.delete_keyword(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}
