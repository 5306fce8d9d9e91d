"""Mastodon.py against `aloft serve` for issue 13's items 7 and 10: a post scheduled with
`status_post(scheduled_at=…)`, listed, moved, shown and cancelled; direct messages read as
conversations, marked read and removed; each as an app makes the calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from tests.acceptance.test_mastodon_py import App, app, register

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py


def test_scheduled_post(app: App) -> None:
    alice = register(app, "planner")
    api = alice.api
    at = datetime.now(UTC) + timedelta(hours=3)
    made = api.status_post("see you at three", scheduled_at=at, visibility="unlisted")
    assert made.params.text == "see you at three" and made.params.visibility == "unlisted"
    assert abs((made.scheduled_at - at).total_seconds()) < 1
    assert api.account_statuses(alice.id) == []
    listed = api.scheduled_statuses()
    assert [str(s.id) for s in listed] == [str(made.id)]
    later = at + timedelta(days=1)
    moved = api.scheduled_status_update(made, later)
    assert abs((moved.scheduled_at - later).total_seconds()) < 1
    assert str(api.scheduled_status(made.id).id) == str(made.id)
    with pytest.raises(MastodonAPIError) as refused:
        api.scheduled_status_update(made, datetime.now(UTC) + timedelta(minutes=1))
    assert refused.value.args[1] == 422
    api.scheduled_status_delete(made)
    assert api.scheduled_statuses() == []
    with pytest.raises(MastodonNotFoundError):
        api.scheduled_status(made.id)


def test_conversations(app: App) -> None:
    alice, bob = register(app, "writer"), register(app, "reader")
    first = alice.api.status_post(f"@{bob.username} just between us", visibility="direct")
    talks = bob.api.conversations()
    assert len(talks) == 1 and talks[0].unread is True
    assert [a.username for a in talks[0].accounts] == [alice.username]
    assert str(talks[0].last_status.id) == str(first.id)
    read = bob.api.conversations_read(talks[0])
    assert read.unread is False
    reply = bob.api.status_post(
        f"@{alice.username} sure", visibility="direct", in_reply_to_id=first.id
    )
    mine = alice.api.conversations()
    assert len(mine) == 1 and mine[0].unread is True
    assert str(mine[0].last_status.id) == str(reply.id)
    # Mastodon.py has no call for removing one; apps send DELETE /api/v1/conversations/:id
    gone = httpx.delete(
        f"{app.url}/api/v1/conversations/{talks[0].id}",
        headers={"Authorization": f"Bearer {bob.api.access_token}"},
        timeout=10,
    )
    assert gone.status_code == 200 and gone.json() == {}
    assert bob.api.conversations() == []
