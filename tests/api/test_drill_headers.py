"""`ALOFT_DRILL_HEADERS`: a response to a request that committed a write names the database
server it committed on, so a drill can check that server was the primary at the time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from aloft.api.endpoint import DATABASE_SERVER_HEADER
from aloft.app import create_app
from aloft.config import Settings, load_settings
from aloft.drill.workload import SERVER_HEADER
from tests.conftest import Api


def api_with(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        yield Api(client)


@pytest.fixture
def drill_api(settings: Settings) -> Iterator[Api]:
    yield from api_with(replace(settings, drill_headers=True))


def test_the_header_names_the_server_a_write_committed_on(
    drill_api: Api, settings: Settings
) -> None:
    alice = drill_api.register("alice")
    bob = drill_api.register("bob")
    posted = drill_api.client.post(
        "/api/v1/statuses",
        headers={**alice.headers, "Idempotency-Key": "k1"},
        data={"status": "hello"},
    )
    followed = drill_api.client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    read = drill_api.get("/api/v1/timelines/home", alice)
    refused = drill_api.client.post("/api/v1/statuses", headers=alice.headers, data={})
    assert [r.status_code for r in (posted, followed, read, refused)] == [200, 200, 200, 422]
    assert DATABASE_SERVER_HEADER not in read.headers  # nothing was written
    assert DATABASE_SERVER_HEADER not in refused.headers
    if settings.effective_database_url.startswith("sqlite"):
        # One file, no server to name.
        assert DATABASE_SERVER_HEADER not in posted.headers
        assert DATABASE_SERVER_HEADER not in followed.headers
    else:
        port = settings.database_url.split("@127.0.0.1:")[1].split("/")[0]
        assert posted.headers[DATABASE_SERVER_HEADER] == f"127.0.0.1:{port}"
        assert followed.headers[DATABASE_SERVER_HEADER] == f"127.0.0.1:{port}"


def test_without_the_setting_there_is_no_header(api: Api) -> None:
    alice = api.register("alice")
    r = api.client.post("/api/v1/statuses", headers=alice.headers, data={"status": "hello"})
    assert r.status_code == 200
    assert DATABASE_SERVER_HEADER not in r.headers


def test_the_setting_and_the_drills_name_for_the_header() -> None:
    assert load_settings({}).drill_headers is False
    assert load_settings({"ALOFT_DRILL_HEADERS": "on"}).drill_headers is True
    assert SERVER_HEADER == DATABASE_SERVER_HEADER
