"""Reports and the minimal moderation view (issue 13, item 2), on both engines: filing a
report (its entity, and bad input refused by name), admins listing and resolving reports
and suspending accounts with Mastodon's admin paths and scopes (refused to non-admins and
to tokens without the admin scope), and what a suspension does: the account's tokens and
sign-in refused, its posts hidden everywhere, its profile blanked as Mastodon's is."""

from __future__ import annotations

from typing import Any

from aloft.services import accounts
from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User

PASSWORD = "correct horse battery"
ADMIN_SCOPES = "read write follow admin:read admin:write"


def _admin(api: Api, name: str = "root", scope: str = ADMIN_SCOPES) -> User:
    """An admin account, as `aloft accounts create --admin` makes one, and its token."""
    db = api.client.app.state.db  # type: ignore[attr-defined]
    row = accounts.create(
        db, accounts.NewAccount(name, f"{name}@example.org", PASSWORD, is_admin=True)
    )
    app = api.app(ADMIN_SCOPES)
    r = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": name,
            "password": PASSWORD,
            "scope": scope,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return User(str(row.id), name, token, {"Authorization": f"Bearer {token}"})


def _report(api: Api, user: User, **data: Any) -> Any:
    return api.client.post("/api/v1/reports", headers=user.headers, data=data)


def test_report_entity_and_bad_input(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    spam = api.post(bob, "buy now")
    hidden = api.post(bob, "just me", visibility="direct")
    mine = api.post(alice, "mine")
    for _ in range(2):  # two reports are two reports (Mastodon has no dedupe either)
        r = _report(
            api,
            alice,
            account_id=bob.id,
            **{"status_ids[]": [spam["id"]]},
            comment="spam, again",
            category="spam",
            forward="true",
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert_conforms("Report", report)
        assert report["status_ids"] == [spam["id"]] and report["category"] == "spam"
        assert report["target_account"]["id"] == bob.id and report["action_taken"] is False
        assert report["forwarded"] is False  # nothing to forward to
    plain = _report(api, alice, account_id=bob.id).json()
    assert plain["category"] == "other" and plain["comment"] == "" and plain["status_ids"] == []

    bad = [
        ({"comment": "x" * 1001}, 422, "comment"),
        ({"category": "rude"}, 422, "category"),
        ({"rule_ids[]": ["1"]}, 422, "rule_ids"),
        ({"collection_ids[]": ["1"]}, 422, "collection_ids"),
        ({"forward": "maybe"}, 422, "forward"),
        ({"status_ids[]": ["nope"]}, 422, "status_ids"),
        ({"status_ids[]": [mine["id"]]}, 404, None),  # not the reported account's
        ({"status_ids[]": [hidden["id"]]}, 404, None),  # not visible to the reporter
        ({"status_ids[]": ["12345"]}, 404, None),
    ]
    for data, status, field in bad:
        r = _report(api, alice, account_id=bob.id, **data)
        assert r.status_code == status, (data, r.text)
        assert "error" in r.json()
        if field:
            assert field in r.json()["details"], r.json()
    assert _report(api, alice, account_id="99999999").status_code == 404
    assert _report(api, alice).status_code == 404
    assert api.client.post("/api/v1/reports", data={"account_id": bob.id}).status_code == 401
    reader = api.token_with("alice", "read")
    r = api.client.post(
        "/api/v1/reports",
        headers={"Authorization": f"Bearer {reader}"},
        data={"account_id": bob.id},
    )
    assert r.status_code == 403
    root = _admin(api)
    open_ = api.get("/api/v1/admin/reports", root).json()
    assert len(open_) == 3  # the refused ones left nothing behind


def test_admin_endpoints_need_an_admin_and_the_admin_scope(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    report = _report(api, alice, account_id=bob.id).json()
    weak = _admin(api, "weak", "read write follow")
    calls = [
        ("GET", "/api/v1/admin/reports", {}),
        ("GET", f"/api/v1/admin/reports/{report['id']}", {}),
        ("POST", f"/api/v1/admin/reports/{report['id']}/resolve", {}),
        ("POST", f"/api/v1/admin/accounts/{bob.id}/action", {"type": "suspend"}),
        ("POST", f"/api/v1/admin/accounts/{bob.id}/unsuspend", {}),
    ]
    app = api.app(ADMIN_SCOPES)
    r = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "alice",
            "password": PASSWORD,
            "scope": ADMIN_SCOPES,
        },
    )
    scoped_non_admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for method, path, data in calls:
        for headers in (alice.headers, scoped_non_admin, weak.headers):
            r = api.client.request(method, path, headers=headers, data=data or None)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json() == {"error": r.json()["error"]}
        assert api.client.request(method, path, data=data or None).status_code == 401
    # nothing happened
    assert api.get("/api/v1/accounts/verify_credentials", bob).status_code == 200
    root = _admin(api)
    assert api.get("/api/v1/admin/reports", root).json()[0]["action_taken"] is False


def test_resolve_suspend_and_unsuspend(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    root = _admin(api)
    api.follow(carol, bob)
    spam = api.post(bob, "spam spam #spam")
    boosted = api.client.post(f"/api/v1/statuses/{spam['id']}/reblog", headers=carol.headers)
    first = _report(api, alice, account_id=bob.id, **{"status_ids[]": [spam["id"]]}).json()
    second = _report(api, carol, account_id=bob.id, comment="also").json()

    listed = api.get("/api/v1/admin/reports", root)
    assert [r["id"] for r in listed.json()] == [second["id"], first["id"]]
    assert_conforms("AdminReport", listed.json(), many=True)
    assert [s["id"] for s in listed.json()[1]["statuses"]] == [spam["id"]]
    assert 'rel="next"' in listed.headers["link"]

    for _ in range(2):  # resolving twice keeps the first resolution
        r = api.client.post(f"/api/v1/admin/reports/{second['id']}/resolve", headers=root.headers)
        assert r.status_code == 200, r.text
        assert_conforms("AdminReport", r.json())
        assert r.json()["action_taken"] is True
        assert r.json()["action_taken_by_account"]["id"] == root.id
    assert [r["id"] for r in api.get("/api/v1/admin/reports", root).json()] == [first["id"]]
    resolved = api.get("/api/v1/admin/reports", root, resolved="true").json()
    assert [r["id"] for r in resolved] == [second["id"]]

    for _ in range(2):  # suspending twice is one suspension
        r = api.client.post(
            f"/api/v1/admin/accounts/{bob.id}/action",
            headers=root.headers,
            data={"type": "suspend", "report_id": first["id"]},
        )
        assert r.status_code == 200 and r.json() == {}, r.text
    assert api.get("/api/v1/admin/reports", root).json() == []

    # Its token is refused (403, as Mastodon answers a disabled login), and so is sign-in.
    r = api.get("/api/v1/accounts/verify_credentials", bob)
    assert r.status_code == 403 and r.json() == {"error": "Your login is currently disabled"}
    app = api.default_app()
    r = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "bob",
            "password": PASSWORD,
            "scope": "read",
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # Its posts (and reblogs of them) are hidden everywhere; its profile is blanked.
    for path in (
        "/api/v1/timelines/public",
        "/api/v1/timelines/home",
        "/api/v1/timelines/tag/spam",
        f"/api/v1/accounts/{bob.id}/statuses",
    ):
        shown = [s["id"] for s in api.get(path, carol).json()]
        assert spam["id"] not in shown and boosted.json()["id"] not in shown, path
    assert api.get(f"/api/v1/statuses/{spam['id']}", carol).status_code == 404
    assert api.get(f"/api/v1/statuses/{spam['id']}").status_code == 404
    profile = api.get(f"/api/v1/accounts/{bob.id}").json()
    assert profile["suspended"] is True and profile["display_name"] == ""
    assert api.get(f"/api/v1/accounts/{bob.id}/followers", carol).json() == []
    assert_conforms("Account", profile)
    assert bob.id not in [
        a["id"] for a in api.get("/api/v1/accounts/search", carol, q="bob").json()
    ]

    r = api.client.post(f"/api/v1/admin/accounts/{bob.id}/unsuspend", headers=root.headers)
    assert r.status_code == 200, r.text
    assert_conforms("AdminAccount", r.json())
    assert r.json()["suspended"] is False
    # Not suspended any more: Mastodon answers 403 to unsuspend.
    r = api.client.post(f"/api/v1/admin/accounts/{bob.id}/unsuspend", headers=root.headers)
    assert r.status_code == 403
    assert api.get("/api/v1/accounts/verify_credentials", bob).status_code == 200
    assert spam["id"] in [s["id"] for s in api.get("/api/v1/timelines/public", carol).json()]


def test_admin_bad_input(api: Api) -> None:
    bob = api.register("bob")
    root = _admin(api)

    def act(account: str, **data: Any) -> Any:
        return api.client.post(
            f"/api/v1/admin/accounts/{account}/action", headers=root.headers, data=data
        )

    for data, field in (
        ({}, "type"),
        ({"type": "explode"}, "type"),
        ({"type": "silence"}, "type"),
        ({"type": "suspend", "text": "be nice"}, "text"),
        ({"type": "suspend", "warning_preset_id": "1"}, "warning_preset_id"),
        ({"type": "suspend", "send_email_notification": "maybe"}, "send_email_notification"),
    ):
        r = act(bob.id, **data)
        assert r.status_code == 422, (data, r.text)
        assert field in r.json()["details"], r.json()
    assert act("99999999", type="suspend").status_code == 404
    assert act(bob.id, type="suspend", report_id="99999999").status_code == 404
    assert act(root.id, type="suspend").status_code == 403  # staff cannot be suspended
    assert api.get("/api/v1/accounts/verify_credentials", bob).status_code == 200
    r = api.client.post("/api/v1/admin/reports/99999999/resolve", headers=root.headers)
    assert r.status_code == 404
    r = api.client.post(f"/api/v1/admin/accounts/{bob.id}/unsuspend", headers=root.headers)
    assert r.status_code == 403
    assert api.get("/api/v1/admin/reports", root, resolved="maybe").status_code == 422


def test_admin_routes_unknown_and_non_numeric_ids_are_404(api: Api) -> None:
    root = _admin(api)
    routes = [
        ("GET", "/api/v1/admin/reports/{id}"),
        ("POST", "/api/v1/admin/reports/{id}/resolve"),
        ("POST", "/api/v1/admin/accounts/{id}/action"),
        ("POST", "/api/v1/admin/accounts/{id}/unsuspend"),
    ]
    for method, path in routes:
        for junk in ("12345", "abc", "-1", "1.5", "9" * 25, "%00"):
            data = {"type": "suspend"} if path.endswith("/action") else None
            r = api.client.request(method, path.format(id=junk), headers=root.headers, data=data)
            assert r.status_code == 404, (method, path, junk, r.text)
            assert r.json() == {"error": "Record not found"}
