"""The drill reports in a real browser: Debian's Chromium, headless, draws each page and the
test looks at the picture. A blank or broken page (no plot drawn, an empty body, a page that
does not load) fails.

Chromium comes from `make system` (as root); without it the test says so and skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from aloft.drill.matrix import MatrixPlan, run_matrix
from aloft.drill.workload import WorkloadSettings
from tests.conftest import Server
from tests.drill.test_schedule import ScriptedCluster

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (`make system` as root)"
)


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def look(page: Path, shot: Path) -> tuple[str, Image.Image]:
    """The DOM Chromium built from `page`, and a screenshot of it."""
    dom = _chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    taken = _chromium(f"--screenshot={shot}", "--window-size=1200,1400", page.as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    return dom.stdout, Image.open(shot).convert("RGB")


def assert_drawn(image: Image.Image) -> None:
    """Not blank: some ink on the page, and the plots' colours in it (a report measured
    0.8-4 % ink and 27-76 colours; an empty page has none of either)."""
    pixels = image.get_flattened_data()
    ink = sum(1 for r, g, b in pixels if r + g + b < 600) / len(pixels)
    colours = {(r // 32, g // 32, b // 32) for r, g, b in pixels}
    assert ink > 0.004, f"the page looks blank ({ink:.2%} ink)"
    assert len(colours) >= 8, f"only {len(colours)} colours: no plot was drawn"


def test_run_and_matrix_reports_render_in_chromium(server: Server, tmp_path: Path) -> None:
    plan = MatrixPlan(
        faults=("crash-primary-node",),
        out=tmp_path,
        directory=tmp_path,
        workload=WorkloadSettings(clients=2, plain_clients=2),
        fault_at=2,
        fault_window=2,
        after_window=2,
    )
    result = run_matrix(plan, Console(quiet=True), ScriptedCluster(server.url))
    (record,) = result.records
    assert record.folder is not None

    dom, image = look(result.folder / record.folder / "report.html", tmp_path / "run.png")
    assert 'class="latency-plot"' in dom and "<circle" in dom
    assert "crash-primary-node" in dom and "PASS" in dom
    assert_drawn(image)

    dom, image = look(result.folder / "report.html", tmp_path / "matrix.png")
    assert 'class="stalls"' in dom and f"{record.folder}/report.html" in dom
    assert_drawn(image)

    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><html><body></body></html>")
    _, image = look(blank, tmp_path / "blank.png")
    with pytest.raises(AssertionError, match="blank"):
        assert_drawn(image)
