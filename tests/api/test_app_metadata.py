"""App metadata is bounded (issue 9, finding 9)."""

from __future__ import annotations

import pytest

from tests.api.oauthflow import (
    REDIRECT,
)
from tests.conftest import Api


@pytest.mark.parametrize(
    "fields, word",
    [
        ({"client_name": "n" * 61}, "name"),
        ({"website": "https://example.org/" + "w" * 2000}, "website"),
        ({"redirect_uris": "https://example.org/" + "r" * 2000}, "redirect"),
        ({"redirect_uris": [f"https://example.org/{i}" for i in range(11)]}, "redirect"),
    ],
)
def test_app_metadata_is_bounded(api: Api, fields: dict, word: str) -> None:
    body = {"client_name": "x", "redirect_uris": REDIRECT, **fields}
    r = api.client.post("/api/v1/apps", json=body)
    assert r.status_code == 422 and word in r.json()["error"].lower(), r.text
    assert set(r.json()) == {"error", "details"}


def test_app_metadata_at_the_caps_is_fine(api: Api) -> None:
    uris = [f"https://example.org/{i}" for i in range(9)] + ["https://e.org/" + "r" * 1986]
    r = api.client.post(
        "/api/v1/apps",
        json={
            "client_name": "n" * 60,
            "website": "https://example.org/" + "w" * 1980,
            "redirect_uris": uris,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uris"] == uris
