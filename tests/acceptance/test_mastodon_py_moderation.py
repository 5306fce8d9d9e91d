"""Mastodon.py against `aloft serve` for issue 13's items 1-2: block, mute (timed, and
leaving notifications alone), domain blocks, a report, and an admin (made with `aloft
accounts create --admin`, as an operator would) resolving it and suspending the account."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mastodon import Mastodon, MastodonAPIError

from tests.acceptance.test_mastodon_py import PASSWORD, App, app, register
from tests.conftest import Server

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py

ADMIN_SCOPES = ["read", "write", "follow", "admin:read", "admin:write"]


def test_block_and_mute(app: App) -> None:
    alice, bob, carol = register(app, "blocker"), register(app, "blocked"), register(app, "muted")
    a = alice.api
    a.account_follow(bob.id)
    bob.api.account_follow(alice.id)
    post = bob.api.status_post("before the block")
    rel = a.account_block(bob.id)
    assert rel.blocking is True and rel.following is False and rel.followed_by is False
    assert [str(x.id) for x in a.blocks()] == [bob.id]
    assert bob.api.account_relationships(alice.id)[0].blocked_by is True
    assert str(post.id) not in [str(s.id) for s in a.timeline_public()]
    with pytest.raises(MastodonAPIError):
        bob.api.account_follow(alice.id)
    assert a.account_unblock(bob.id).blocking is False

    a.account_follow(carol.id)
    rel = a.account_mute(carol.id, notifications=False, duration=3600)
    assert rel.muting is True and rel.muting_notifications is False
    muted = a.mutes()
    assert [str(x.id) for x in muted] == [carol.id] and muted[0].mute_expires_at is not None
    hello = carol.api.status_post(f"@{alice.username} hello")
    assert str(hello.id) not in [str(s.id) for s in a.timeline_home()]
    assert [str(n.status.id) for n in a.notifications(types=["mention"])] == [str(hello.id)]
    assert a.account_unmute(carol.id).muting is False

    a.domain_block("spam.example")
    assert a.domain_blocks() == ["spam.example"]
    a.domain_unblock("spam.example")
    assert a.domain_blocks() == []


def test_report_resolve_and_suspend(app: App, server: Server) -> None:
    alice, bob = register(app, "reporter"), register(app, "spammer")
    spam = bob.api.status_post("buy now")
    report = alice.api.report(bob.id, status_ids=[spam.id], comment="spam", category="spam")
    assert report.category == "spam" and [str(i) for i in report.status_ids] == [str(spam.id)]

    name = "moderator"
    env = {**os.environ, "ALOFT_DATA_DIR": str(server.data_dir)}
    subprocess.run(
        [sys.executable, "-m", "aloft", "accounts", "create", name, "--admin",
         "--email", f"{name}@example.org", "--password", PASSWORD],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    client_id, client_secret = Mastodon.create_app(
        "moderation", scopes=ADMIN_SCOPES, api_base_url=app.url,
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
    )  # fmt: skip
    admin = Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=app.url,
        version_check_mode="none", request_timeout=10,
    )  # fmt: skip
    admin.log_in(name, PASSWORD, scopes=ADMIN_SCOPES, allow_http=True)
    with pytest.raises(MastodonAPIError):  # not an admin
        alice.api.admin_reports()

    reports = admin.admin_reports()
    assert str(report.id) in [str(r.id) for r in reports]
    resolved = admin.admin_report_resolve(report.id)
    assert resolved.action_taken is True
    admin.admin_account_moderate(bob.id, action="suspend")
    with pytest.raises(MastodonAPIError):
        bob.api.account_verify_credentials()
    assert str(spam.id) not in [str(s.id) for s in alice.api.timeline_public()]
    assert alice.api.account(bob.id).suspended is True
    back = admin.admin_account_unsuspend(bob.id)
    assert back.suspended is False
    assert bob.api.account_verify_credentials().username == bob.username
