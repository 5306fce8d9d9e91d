"""Issue 13's edits, polls, pins and conversation mutes are safe to run twice
(docs/ARCHITECTURE.md, "The unit of work"): every unit commits and runs again, as a rerun
after an ambiguous commit does, on a real SQLite file and a real PostgreSQL
(`TwiceDatabase`). Each must leave the state of one run and answer as one run would.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from aloft.services import edits, pins, poll_expiry, polls, statuses
from aloft.services.auth import now
from aloft.storage.database import Database
from aloft.storage.schema import (
    conversation_mutes,
    notifications,
    poll_options,
    poll_votes,
    status_edits,
    status_pins,
)
from aloft.storage.schema import (
    polls as polls_table,
)
from tests.services.test_follow_request_reruns import _count, _user
from tests.services.test_follow_request_reruns import db as db  # the fixture, shared

SITE = statuses.Site("http://x", "x")
POLL = polls.NewPoll(("yes", "no"), 600)


def test_an_edit_rerun_writes_one_revision(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    row, _ = statuses.create(db, alice, SITE, statuses.NewStatus("first"))
    statuses.reblog(db, bob, row.id)
    edited, _ = edits.edit(db, alice, SITE, row.id, edits.Edit(text="second"))
    assert edited.text == "second" and edited.edited_at is not None
    # The original and one edit: the rerun found its revision and wrote nothing.
    assert _count(db, status_edits, status_id=row.id) == 2
    assert _count(db, notifications, account_id=bob.account_id, type="update") == 1
    edits.edit(db, alice, SITE, row.id, edits.Edit(text="third"))
    assert _count(db, status_edits, status_id=row.id) == 3
    assert _count(db, notifications, account_id=bob.account_id, type="update") == 2
    history = edits.history(db, bob, row.id)
    assert [e.content for e in history.edits] == ["<p>first</p>", "<p>second</p>", "<p>third</p>"]


def test_a_poll_and_a_vote_rerun_count_once(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    row, _ = statuses.create(db, alice, SITE, statuses.NewStatus("vote?", poll=POLL))
    assert _count(db, polls_table) == 1 and _count(db, poll_options) == 2
    view = polls.vote(db, bob, row.poll_id, [1])
    assert view.own_votes == [1] and view.row.votes_count == 1 and view.row.voters_count == 1
    assert [o.option_votes for o in view.options] == [0, 1]
    assert _count(db, poll_votes) == 1
    # Sending the poll again is always an edit (its end restarts): without the revision id
    # drawn before the first attempt, the rerun would write a second revision.
    edits.edit(db, alice, SITE, row.id, edits.Edit(text="vote?", poll=POLL))
    assert _count(db, status_edits, status_id=row.id) == 2  # the original and this edit
    assert _count(db, poll_votes) == 1  # same options: the vote stays


def test_a_poll_end_rerun_notifies_once(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    row, _ = statuses.create(db, alice, SITE, statuses.NewStatus("vote?", poll=POLL))
    polls.vote(db, bob, row.poll_id, [0])
    past = now() - timedelta(days=1)
    db.write(lambda conn: conn.execute(sa.update(polls_table).values(expires_at=past)))
    # The first run ended it; the rerun (whose answer we get) finds nothing left to claim.
    assert poll_expiry.end_expired(db) == 0
    assert _count(db, notifications, type="poll") == 2  # the author and the voter, once
    assert poll_expiry.end_expired(db) == 0


def test_pins_and_mutes_reruns(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    row, _ = statuses.create(db, alice, SITE, statuses.NewStatus("pin me"))
    _, bundle = pins.pin(db, alice, row.id)
    assert row.id in bundle.pinned and _count(db, status_pins) == 1
    _, bundle = pins.unpin(db, alice, row.id)
    assert row.id not in bundle.pinned and _count(db, status_pins) == 0
    _, bundle = pins.mute(db, bob, row.id)
    assert row.id in bundle.muted and _count(db, conversation_mutes) == 1
    _, bundle = pins.unmute(db, bob, row.id)
    assert row.id not in bundle.muted and _count(db, conversation_mutes) == 0
