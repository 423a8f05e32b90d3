"""The CI gate: the exit status of ``mllint check`` from a run's outcome and the gate flags.

0: nothing at or above the fail level (or ``--exit-zero``); 1: findings at or above
it, or fixes were applied under ``--exit-non-zero-on-fix``; 2: an internal error or a
path that does not exist (that status wins: the run's results are incomplete).
"""

from __future__ import annotations

from mllint.diagnostic import Severity
from mllint.engine import RunResult

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def failing(result: RunResult, fail_level: Severity = Severity.INFO) -> int:
    """How many findings are at or above ``fail_level``."""
    return sum(1 for d in result.diagnostics if d.severity.rank >= fail_level.rank)


def exit_status(
    result: RunResult,
    *,
    fail_level: Severity = Severity.INFO,
    exit_zero: bool = False,
    exit_non_zero_on_fix: bool = False,
    usage_error: bool = False,
) -> int:
    if result.internal_errors or usage_error:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_OK
    if failing(result, fail_level):
        return EXIT_FINDINGS
    if exit_non_zero_on_fix and result.fixes_applied > 0:
        return EXIT_FINDINGS
    return EXIT_OK
