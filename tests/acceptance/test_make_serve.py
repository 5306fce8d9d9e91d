"""`make serve` from a clean checkout: what the README promises a new operator.

The test clones the repository's committed HEAD into a temporary directory (so files that
are not committed cannot help it), runs `make serve` there with ALOFT_PORT and
ALOFT_DATA_DIR set, and waits for the API to answer. `make serve` installs uv and the
locked dependencies first; uv's cache makes that take seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

STARTUP_SECONDS = 120


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop make and everything it started (uv, aloft, uvicorn): the whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):  # children may outlive make a moment
        os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_make_serve_from_a_clean_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "aloft"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True, timeout=60)
    assert (checkout / "Makefile").exists()
    assert not (checkout / ".venv").exists()

    port = free_port()
    data_dir = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALOFT_", "MAKE", "UV_PROJECT")) and k not in {"VIRTUAL_ENV", "MFLAGS"}
    }
    env.update(ALOFT_PORT=str(port), ALOFT_DATA_DIR=str(data_dir))
    log = tmp_path / "make-serve.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "serve"],
            cwd=checkout,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        answer = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"make serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                answer = httpx.get(f"{url}/api/v1/instance", timeout=2)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail(f"make serve did not answer in {STARTUP_SECONDS} s:\n{log.read_text()}")

        assert answer is not None
        instance = answer.json()
        assert "Aloft" in instance["version"]
        assert instance["uri"] == f"127.0.0.1:{port}"
        # the settings reached the server: its database is in ALOFT_DATA_DIR
        assert (data_dir / "aloft.db").exists()
        assert (checkout / ".venv" / "bin" / "aloft").exists()
        assert f"serving {url}" in log.read_text()
    finally:
        _stop(process)

    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/api/v1/instance", timeout=2)
