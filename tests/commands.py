"""Run the `aloft` command as an operator would: a subprocess of this interpreter, with the
caller's environment minus every ALOFT_* setting (so a developer's shell cannot change what a
test sees) and wide enough for rich's tables not to wrap."""

from __future__ import annotations

import os
import subprocess
import sys


def aloft(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALOFT_")}
    full_env["COLUMNS"] = "160"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aloft", *args],
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
