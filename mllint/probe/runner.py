"""Run the user's build function in a child process, with a timeout.

The probe executes user code (the `build` function the user names on the command line, and
whatever its module runs at import). It does so in a separate Python process so that a hang,
a crash (even a native abort) or a huge allocation cannot take the CLI down, and so the CLI
never imports torch itself. The child (`mllint.probe.worker`) writes its result as JSON to a
file; its own stdout/stderr are captured and only shown, trimmed, when it fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 300.0


class RunnerError(Exception):
    """A failure to report to the user in one line (no traceback)."""


@dataclass
class Target:
    path: Path
    function: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.function}"


def parse_target(text: str) -> Target:
    """`path/to/file.py:build` (function defaults to `build`)."""
    path_text, sep, func = text.rpartition(":")
    if not sep or not path_text or "/" in func or "\\" in func:
        path_text, func = text, "build"
    # Windows drive letters: "C:\\x.py" has no function part
    if len(path_text) == 1 and path_text.isalpha():
        path_text, func = text, "build"
    func = func or "build"
    if not func.isidentifier():
        raise RunnerError(f"{func!r} is not a Python function name (expected FILE.py:FUNCTION)")
    path = Path(path_text)
    if not path.is_file():
        raise RunnerError(f"no such file: {path}")
    if path.suffix != ".py":
        raise RunnerError(f"{path} is not a Python file (expected FILE.py:FUNCTION)")
    return Target(path.resolve(), func)


def run_worker(
    job: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT, module: str = "mllint.probe.worker"
) -> dict[str, Any]:
    """Run `mllint.probe.worker` on `job` and return its JSON result.

    Raises RunnerError with a one-line message on timeout, crash or a reported error.
    """
    with tempfile.TemporaryDirectory(prefix="mllint-probe-") as tmp:
        result_path = Path(tmp) / "result.json"
        job = dict(job, result_path=str(result_path))
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        env = dict(os.environ)
        # the child must import this very mllint, wherever it was imported from
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in [root, env.get("PYTHONPATH", "")] if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        cmd = [sys.executable, "-m", module, str(job_path)]
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(Path(job["file"]).parent) if job.get("file") else None,
            **kwargs,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise RunnerError(
                f"the build function did not finish within {timeout:g} s "
                "(raise --timeout, or check it for loops or data loading)"
            ) from None
        if result_path.is_file():
            result = json.loads(result_path.read_text())
            if "error" in result:
                raise RunnerError(result["error"])
            return result
        code = proc.returncode
        tail = _tail(err.decode(errors="replace") or out.decode(errors="replace"))
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            reason = f"the probe's worker process was killed by {name}"
        else:
            reason = f"the probe's worker process exited with status {code} and no result"
        raise RunnerError(reason + (f": {tail}" if tail else ""))


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def child_main(argv: list[str] | None, run_job, expected: type[Exception]) -> int:
    """The child process's side of :func:`run_worker` for a job that runs a user's
    function: read the job file, run ``run_job(job)`` and write its result (or one line
    saying what went wrong: ``expected`` errors as they are, others with their type) to
    the job's ``result_path`` as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    where = f"{Path(job['file']).name}:{job['function']}"
    try:
        result = run_job(job)
    except expected as exc:
        result = {"error": f"{where}: {exc}"}
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result = {"error": f"{where} failed: {type(exc).__name__}: {text}"}
    except SystemExit as exc:
        result = {"error": f"the module called sys.exit({exc.code})"}
    Path(job["result_path"]).write_text(json.dumps(result, default=str))
    return 0
