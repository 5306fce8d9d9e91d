"""Reports and the minimal moderation an admin does with them.

A report names an account, optionally some of its statuses (each must be that account's
and visible to the reporter), a comment of at most 1,000 characters and a category
(spam, legal, violation, other). This server has no rules, so `rule_ids` is refused by
name; `forward` is accepted and means nothing (there is no remote server to forward to).

Admins (accounts with `is_admin`, which `aloft accounts create --admin` and `aloft cluster
up` make) list open reports, resolve them, and suspend or unsuspend accounts. A suspended
account cannot sign in or use its tokens (`aloft.services.auth`), and its statuses are
hidden everywhere (`aloft.services.visibility`); its tokens are kept, so lifting the
suspension gives them back.

Every write is safe to run twice: a report's id and time are drawn before the first
attempt (a rerun finds the row), resolving and suspending set a value once and keep the
first time it was set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Forbidden, Invalid, NotFound
from aloft.services import auth
from aloft.services.accounts import get_row
from aloft.services.auth import Viewer, now
from aloft.services.loader import Bundle, load_statuses
from aloft.services.pages import Page, PageRequest
from aloft.services.visibility import visible_to
from aloft.storage.database import Database
from aloft.storage.schema import accounts, reports, statuses

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000
MAX_STATUSES = 100


@dataclass(frozen=True)
class NewReport:
    account_id: int
    status_ids: Sequence[int] = ()
    comment: str = ""
    category: str | None = None
    rule_ids: Sequence[str] = ()
    forward: bool = False


def _validate(new: NewReport) -> str:
    if new.rule_ids:
        raise Invalid.on("rule_ids", "ERR_INVALID", "cannot be cited: this server has no rules")
    if len(new.comment) > MAX_COMMENT:
        raise Invalid.on("comment", "ERR_TOO_LONG", f"is too long (maximum is {MAX_COMMENT})")
    category = new.category or "other"
    if category not in CATEGORIES:
        raise Invalid.on("category", "ERR_INCLUSION", "is not one of " + ", ".join(CATEGORIES))
    if len(set(new.status_ids)) > MAX_STATUSES:
        raise Invalid.on("status_ids", "ERR_TOO_LONG", f"is too long (maximum is {MAX_STATUSES})")
    return category


def create(db: Database, viewer: Viewer, new: NewReport) -> Row:
    """File a report; NotFound for an unknown account, or a status that is not that
    account's or that the reporter may not see."""
    me = viewer.account_id
    assert me is not None
    category = _validate(new)
    wanted = sorted(set(new.status_ids))
    report_id, at = ids.new_id(), now()

    def unit(conn: Connection) -> Row:
        again = conn.execute(sa.select(reports).where(reports.c.id == report_id)).first()
        if again is not None:  # a rerun after an ambiguous commit
            return again
        get_row(conn, new.account_id)
        if wanted:
            found = conn.execute(
                sa.select(sa.func.count()).where(
                    statuses.c.id.in_(wanted),
                    statuses.c.account_id == new.account_id,
                    visible_to(me, listing=False),
                )
            ).scalar_one()
            if found != len(wanted):
                raise NotFound("Record not found")
        conn.execute(
            sa.insert(reports).values(
                id=report_id,
                account_id=me,
                target_account_id=new.account_id,
                status_ids=json.dumps([str(i) for i in wanted]),
                comment=new.comment,
                category=category,
                forwarded=False,  # nothing to forward to: every account is local
                created_at=at,
            )
        )
        return conn.execute(sa.select(reports).where(reports.c.id == report_id)).one()

    return db.write(unit)


def status_ids(row: Row) -> list[str]:
    return list(json.loads(row.status_ids or "[]"))


# -- admins -------------------------------------------------------------------------------


def require_admin(conn: Connection, viewer: Viewer) -> int:
    """The viewer's account id if it is an admin's; Forbidden otherwise."""
    me = viewer.account_id
    found = (
        conn.execute(sa.select(accounts.c.is_admin).where(accounts.c.id == me)).scalar()
        if me is not None
        else None
    )
    if not found:
        raise Forbidden("This action is not allowed")
    assert me is not None
    return me


def check_admin(db: Database, viewer: Viewer) -> None:
    """Forbidden unless the viewer is an admin (for admin pages that read no report)."""
    db.read(lambda conn: require_admin(conn, viewer))


@dataclass(frozen=True)
class ReportFilter:
    resolved: bool = False
    account_id: int | None = None
    target_account_id: int | None = None


def admin_list(
    db: Database, viewer: Viewer, page: PageRequest, where: ReportFilter = ReportFilter()
) -> Page[Row]:
    """Reports, newest first: open ones, or resolved ones with `resolved`."""

    def unit(conn: Connection) -> Page[Row]:
        require_admin(conn, viewer)
        taken = reports.c.action_taken_at
        query = sa.select(reports).where(taken.is_not(None) if where.resolved else taken.is_(None))
        if where.account_id is not None:
            query = query.where(reports.c.account_id == where.account_id)
        if where.target_account_id is not None:
            query = query.where(reports.c.target_account_id == where.target_account_id)
        rows = page.finish(conn.execute(page.apply(query, reports.c.id)).all())
        return Page.of(rows, [r.id for r in rows])

    return db.read(unit)


def admin_get(db: Database, viewer: Viewer, report_id: int) -> Row:
    def unit(conn: Connection) -> Row:
        require_admin(conn, viewer)
        return _report(conn, report_id)

    return db.read(unit)


def _report(conn: Connection, report_id: int) -> Row:
    row = conn.execute(sa.select(reports).where(reports.c.id == report_id)).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def _resolve(conn: Connection, report_id: int, me: int) -> Row:
    """Mark a report resolved by `me`; an already resolved one keeps its first time."""
    _report(conn, report_id)
    conn.execute(
        sa.update(reports)
        .where(reports.c.id == report_id, reports.c.action_taken_at.is_(None))
        .values(action_taken_at=now(), action_taken_by_account_id=me)
    )
    return _report(conn, report_id)


def resolve(db: Database, viewer: Viewer, report_id: int) -> Row:
    """Resolve a report. Resolving it again changes nothing."""
    return db.write(lambda conn: _resolve(conn, report_id, require_admin(conn, viewer)))


ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
SUPPORTED_ACTIONS = ("none", "suspend")


def act(
    db: Database, viewer: Viewer, account_id: int, kind: str, report_id: int | None = None
) -> None:
    """An admin's action on an account (`none` or `suspend`; the others Mastodon has are
    refused by name), resolving `report_id` if given (it must be about that account). An
    admin cannot be suspended (Forbidden, as Mastodon protects staff). Suspending twice
    keeps the first suspension's time."""
    if kind not in ACTIONS:
        raise Invalid.on("type", "ERR_INCLUSION", "is not one of " + ", ".join(ACTIONS))
    if kind not in SUPPORTED_ACTIONS:
        raise Invalid.on(
            "type", "ERR_INCLUSION", f"{kind} is not supported here (only none and suspend)"
        )
    at = now()

    def unit(conn: Connection) -> None:
        me = require_admin(conn, viewer)
        target = get_row(conn, account_id)
        if report_id is not None:
            report = _report(conn, report_id)
            if report.target_account_id != account_id:
                raise NotFound("Record not found")
        if kind == "suspend":
            if target.is_admin:
                raise Forbidden("This action is not allowed")
            conn.execute(
                sa.update(accounts)
                .where(accounts.c.id == account_id, accounts.c.suspended_at.is_(None))
                .values(suspended_at=at)
            )
        if report_id is not None:
            _resolve(conn, report_id, me)

    db.write(unit)
    if kind == "suspend":
        # Its tokens stop working in this process at once (other replicas: within
        # auth.TOKEN_CACHE_SECONDS).
        auth.token_cache(db).forget(account_id=account_id)


def unsuspend(db: Database, viewer: Viewer, account_id: int) -> Row:
    """Lift a suspension and return the account. Forbidden if it is not suspended, as
    Mastodon answers; a rerun after an ambiguous commit finds it lifted and answers as the
    first attempt did."""
    lifted: list[Row] = []

    def unit(conn: Connection) -> Row:
        require_admin(conn, viewer)
        target = get_row(conn, account_id)
        if target.suspended_at is None:
            if lifted:
                return target
            raise Forbidden("This action is not allowed")
        conn.execute(
            sa.update(accounts).where(accounts.c.id == account_id).values(suspended_at=None)
        )
        row = get_row(conn, account_id)
        lifted.append(row)
        return row

    row = db.write(unit)
    auth.token_cache(db).forget(account_id=account_id)
    return row


def admin_account(db: Database, viewer: Viewer, account_id: int) -> Row:
    def unit(conn: Connection) -> Row:
        require_admin(conn, viewer)
        return get_row(conn, account_id)

    return db.read(unit)


def accounts_by_id(db: Database, wanted: Sequence[int]) -> dict[int, Row]:
    """Accounts for rendering reports (reporter, target, resolver)."""
    keys = sorted(set(wanted))
    if not keys:
        return {}
    return db.read(
        lambda conn: {
            r.id: r for r in conn.execute(sa.select(accounts).where(accounts.c.id.in_(keys)))
        }
    )


def reported_statuses(db: Database, viewer: Viewer, rows: Sequence[Row]) -> tuple[dict, Bundle]:
    """The statuses the reports in `rows` name (as they are, for the admin: no visibility
    rule), and what rendering them needs."""
    wanted = sorted({int(i) for r in rows for i in status_ids(r)})

    def unit(conn: Connection) -> tuple[dict, Bundle]:
        found = (
            conn.execute(sa.select(statuses).where(statuses.c.id.in_(wanted))).all()
            if wanted
            else []
        )
        return {r.id: r for r in found}, load_statuses(conn, found, viewer.account_id)

    return db.read(unit)
