"""An app started while no server takes writes (its cluster's primary is down, a failover
under way) still starts when the schema is already current: it serves reads from the standby
and holds writes, rather than exiting and staying dead (a restarted zone's app did, in the
crash-during-rejoin drill). A schema that needs migrating still stops the start."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server
from tests.storage.conftest import Pair


def test_serve_starts_on_a_standby_alone_when_the_schema_is_current(
    pair: Pair, tmp_path: Path
) -> None:
    pair.primary.stop("immediate")
    server = start_server(tmp_path / "app", {"ALOFT_DATABASE_URL": pair.multi_host_url()})
    try:
        instance = httpx.get(f"{server.url}/api/v1/instance", timeout=30)
        assert instance.status_code == 200, instance.text
        public = httpx.get(f"{server.url}/api/v1/timelines/public", timeout=30)
        assert public.status_code == 200, public.text
        assert "no database server takes writes right now" in server.log.read_text()
    finally:
        stop_server(server)


def test_serve_still_refuses_a_schema_it_cannot_migrate(pair: Pair, tmp_path: Path) -> None:
    pair.primary.psql("CREATE DATABASE empty")
    pair.primary.stop("immediate")
    url = pair.multi_host_url().replace("/aloft?", "/empty?")
    (tmp_path / "app").mkdir()
    try:
        start_server(tmp_path / "app", {"ALOFT_DATABASE_URL": url})
    except RuntimeError as exc:
        assert "cannot open the database" in str(exc)
    else:
        raise AssertionError("aloft serve started on a database it could not migrate")
