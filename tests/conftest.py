"""Shared helpers: the repository layout and a way to run the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


class CliResult:
    def __init__(self, completed: subprocess.CompletedProcess) -> None:
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"rc={self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def run_mllint(*args: str, cwd: Path | None = None, env: dict | None = None) -> CliResult:
    """Run ``python -m mllint`` as a user would, in a subprocess."""
    environment = dict(os.environ)
    environment.pop("FORCE_COLOR", None)
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "mllint", *args],
        cwd=cwd or REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(completed)


@pytest.fixture
def mllint():
    return run_mllint


@pytest.fixture(autouse=True, scope="session")
def _result_cache_outside_the_repository(tmp_path_factory):
    """``mllint check`` caches results by default; in tests the cache lives in a temporary
    folder (shared by the session, so cached results are exercised too), never in the
    repository or a fixture folder."""
    previous = os.environ.get("MLLINT_CACHE_DIR")
    os.environ["MLLINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("mllint-cache"))
    yield
    if previous is None:
        os.environ.pop("MLLINT_CACHE_DIR", None)
    else:
        os.environ["MLLINT_CACHE_DIR"] = previous
