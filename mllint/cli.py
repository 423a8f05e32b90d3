"""The command line: ``mllint check | audit | rules | rule | probe | env | server``."""

from __future__ import annotations

import argparse
import gc
import json
import os
import stat
import sys
from pathlib import Path

from mllint import __version__
from mllint.gcpause import process_ends_after_command

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

#: ``--output-format`` choices (the reporters in mllint/report/, see FORMATS there).
OUTPUT_FORMATS = ("full", "concise", "json", "sarif", "github", "gitlab", "junit")


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our error status too."""

    _checking_argument = False

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"mllint: error: {message}\n")

    def add_argument(self, *args, **kwargs):  # type: ignore[override]
        # argparse makes a help formatter for each argument only to check its metavar,
        # and a formatter asks ``shutil`` for the terminal's width: importing shutil
        # costs ~4 ms of a run that prints no help. The check does not depend on the
        # width; help and usage text are still formatted at the terminal's.
        self._checking_argument = True
        try:
            return super().add_argument(*args, **kwargs)
        finally:
            self._checking_argument = False

    def _get_formatter(self):
        if self._checking_argument:
            return self.formatter_class(prog=self.prog, width=80)
        return super()._get_formatter()


def _selector_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _flatten(values: list[list[str]] | None) -> list[str]:
    return [item for group in values or [] for item in group]


def build_parser(check_only: bool = False) -> argparse.ArgumentParser:
    """The command line's parser; ``check_only``: with the ``check`` command alone, for
    arguments that start with ``check`` (the other commands' parsers, and importing
    ``mllint.probe.cli`` for two of them, cost 5-10 ms of a one-file check). Parsing those
    arguments gives the same result, help, usage, errors and exit status either way: only
    the main parser's help lists the commands, and it is never printed then."""
    parser = _Parser(
        prog="mllint",
        description="A linter for machine-learning code.",
    )
    parser.add_argument("--version", action="version", version=f"mllint {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, prog=parser.prog
    )  # prog: what argparse would format from the usage (no positionals), without shutil

    check = commands.add_parser("check", help="check files and directories (default: .)")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    selection = check.add_argument_group("rule selection")
    for flag, text in (
        ("--select", "rules to enable, replacing the configured selection"),
        ("--extend-select", "rules to enable in addition to the configured selection"),
        ("--ignore", "rules to disable"),
    ):
        selection.add_argument(
            flag,
            action="append",
            type=_selector_list,
            metavar="SELECTORS",
            help=f"{text}: comma-separated codes, prefixes, names, categories or ALL",
        )
    check.add_argument("--config", type=Path, metavar="FILE", help="configuration file to use")
    output = check.add_argument_group("output")
    output.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        help="output format (default: full on a terminal, concise otherwise)",
    )
    output.add_argument("-o", "--output-file", type=Path, metavar="FILE")
    output.add_argument(
        "--statistics", action="store_true", help="print counts per rule instead of findings"
    )
    output.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    output.add_argument("--no-color", action="store_true", help="never use colour")
    gate = check.add_argument_group("CI gate")
    gate.add_argument(
        "--exit-zero", action="store_true", help="exit with 0 even when there are findings"
    )
    gate.add_argument(
        "--fail-level",
        choices=("error", "warning", "info"),
        default="info",
        help="exit with 1 only for findings of this severity or higher (default: info, any)",
    )
    gate.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit with 1 when fixes were applied, even if no findings remain",
    )
    gate.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="report only findings that are not in this baseline file",
    )
    gate.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record the current findings in FILE; they are then not reported",
    )
    check.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply excludes to files named on the command line too (for pre-commit)",
    )
    check.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="worker processes (default: CPU count)"
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the result cache (.mllint_cache, or MLLINT_CACHE_DIR)",
    )
    check.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    fixing = check.add_argument_group("fixes")
    fixing.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    fixing.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, also apply fixes that change behaviour (review them)",
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff instead of writing them (exit 1 if any)",
    )
    fixing.add_argument(
        "--show-fixes", action="store_true", help="with --fix, list what was fixed per file"
    )
    fixing.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODE` comments that silence every current finding",
    )
    check.set_defaults(handler=run_check)
    if check_only:
        return parser

    rules = commands.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    rules.set_defaults(handler=run_rules)

    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule", metavar="CODE|NAME")
    rule.add_argument("--format", choices=("text", "json"), default="text")
    rule.set_defaults(handler=run_rule)

    server = commands.add_parser(
        "server", help="run the language server (LSP over stdio; needs the extra lsp)"
    )
    server.set_defaults(handler=run_server)
    audit = commands.add_parser(
        "audit", help="answer the experiment checklist for a project (default: .)"
    )
    audit.add_argument("path", nargs="?", type=Path, default=Path("."), metavar="PATH")
    audit.add_argument(
        "--format",
        choices=("terminal", "markdown", "json"),
        default="terminal",
        help="report format (default: terminal)",
    )
    audit.add_argument("--config", type=Path, metavar="FILE", help="configuration file to use")
    audit.add_argument("-o", "--output-file", type=Path, metavar="FILE")
    audit.add_argument("--no-color", action="store_true", help="never use colour")
    audit.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="worker processes (default: CPU count)"
    )
    audit.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    audit.set_defaults(handler=run_audit)

    try:
        from mllint.probe.cli import register as register_probe
    except ImportError:
        pass
    else:
        register_probe(commands)
    return parser


def _use_color(args: argparse.Namespace, stream) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def _write_output(path: Path | None, text: str) -> str | None:
    """Write a report to ``path`` (its folder created) or to standard output; the error
    message when the file cannot be written, else None."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        return f"cannot write {path}: {error.strerror or error}"
    return None


def _error(message: str) -> int:
    print(f"mllint: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _import_libcst() -> None:
    """Import LibCST with its compiled dataclass methods cached (mllint.importcache): the
    commands that check code need it, and this way it costs half as much."""
    from mllint.importcache import cache_own_dataclasses, import_libcst

    cache_own_dataclasses()
    import_libcst()


def run_check(args: argparse.Namespace) -> int:
    # LibCST is imported (with mllint.importcache) when the first file is parsed: a run
    # whose results all come from the cache never imports it.
    from mllint.importcache import cache_own_dataclasses

    cache_own_dataclasses()
    from mllint.api import lint_paths
    from mllint.baseline import BaselineError
    from mllint.config import ConfigError
    from mllint.diagnostic import Severity
    from mllint.engine import crash_report
    from mllint.gate import exit_status
    from mllint.rule import PluginError, RuleDefinitionError

    # What the imports created lives as long as the process: out of the garbage
    # collector's way (gc.freeze), so that its full collections, which a warm run's cached
    # summaries and project index trigger, do not traverse every module again.
    gc.freeze()
    if args.jobs is not None and args.jobs < 1:
        return _error("--jobs must be at least 1")
    if args.add_noqa and (args.fix or args.diff):
        return _error("--add-noqa cannot be combined with --fix or --diff")
    if args.fix or args.diff:
        return run_fix(args)
    cwd = Path(os.getcwd())
    try:
        run = lint_paths(
            args.paths or [Path(".")], **_run_options(args, cwd), cache=not args.no_cache
        )
    except (ConfigError, PluginError, RuleDefinitionError) as error:
        return _error(str(error))
    if args.add_noqa:
        return _add_noqa(run, cwd)
    result = run.result
    missing = _report_problems(run.problems)
    _warn_unmatched_per_file_ignores(args, run)

    try:
        result, baseline_note = _apply_baselines(args, run, cwd)
    except BaselineError as error:
        return _error(str(error))
    if baseline_note:
        print(f"mllint: {baseline_note}", file=sys.stderr)

    text, _ = _render(args, run, result, cwd)
    problem = _write_output(args.output_file, text)
    if problem is not None:
        return _error(problem)

    for internal in result.internal_errors:
        sys.stderr.write(crash_report(internal, debug=args.debug))
    return exit_status(
        result,
        fail_level=Severity(args.fail_level),
        exit_zero=args.exit_zero,
        exit_non_zero_on_fix=args.exit_non_zero_on_fix,
        usage_error=missing,
    )


def _apply_baselines(args: argparse.Namespace, run, cwd: Path):
    """Write and/or apply a baseline; returns the result to report and a note for stderr."""
    from dataclasses import replace

    from mllint.baseline import filter_baselined, load_baseline, write_baseline
    from mllint.fingerprint import ensure_fingerprints, project_relative_path

    result = run.result
    root = run.settings.root
    if args.write_baseline is not None:
        path: Path | None = args.write_baseline
    else:
        path = args.baseline if args.baseline is not None else run.settings.baseline
    if path is None:
        return result, ""
    # Over every finding, before any is filtered out: reporters reuse these values.
    fingerprints = ensure_fingerprints(result.diagnostics, root, cwd)
    if args.write_baseline is not None:
        write_baseline(args.write_baseline, result.diagnostics, fingerprints, root, cwd)
    baseline = load_baseline(path)
    checked = {project_relative_path(display, root, cwd) for _path, display in run.files}
    filtered = filter_baselined(result.diagnostics, fingerprints, baseline, checked)
    if args.write_baseline is not None:
        noun = "finding" if len(baseline) == 1 else "findings"
        note = f"wrote a baseline of {len(baseline)} {noun} to {path}"
    elif filtered.matched or filtered.unmatched:
        noun = "finding" if filtered.matched == 1 else "findings"
        verb = "is" if filtered.matched == 1 else "are"
        note = f"{filtered.matched} {noun} matched the baseline {path} and {verb} not reported"
        if filtered.unmatched:
            note += (
                f"; {filtered.unmatched} baseline entries match nothing any more "
                "(fixed or edited: refresh it with --write-baseline)"
            )
    else:
        note = ""
    return replace(result, diagnostics=filtered.kept), note


def _run_options(args: argparse.Namespace, cwd: Path) -> dict:
    """The options ``check`` and ``check --fix`` pass to the API alike."""
    return {
        "select": _flatten(args.select) if args.select else None,
        "extend_select": _flatten(args.extend_select),
        "ignore": _flatten(args.ignore),
        "config_file": args.config,
        "force_exclude": args.force_exclude,
        "jobs": args.jobs,
        "cwd": cwd,
    }


def _render(args: argparse.Namespace, run, result, cwd: Path) -> tuple[str, str]:
    """The report text for ``--output-format`` (or ``--statistics``), and the format used."""
    from mllint.report import ReportOptions, get_reporter, statistics

    color = False if args.output_file is not None else _use_color(args, sys.stdout)
    output_format = args.output_format or ("full" if color or _isatty(sys.stdout) else "concise")
    if args.statistics:
        rows = statistics(result)
        text = "".join(f"{n:>5}\t{code}\t{mark:3}\t{name}\n" for n, code, name, mark in rows)
        return text, "statistics"
    report_options = ReportOptions(
        color=color,
        cwd=str(cwd),
        root=str(run.settings.root),
        enabled_rules=run.settings.enabled,
        extra={"problems": run.problems},
    )
    text = get_reporter(output_format)(result, report_options)
    if args.quiet and output_format in ("full", "concise"):
        text = _without_summary(text, bool(result.diagnostics))
    return text, output_format


def _report_problems(problems: list[tuple[str, str]]) -> bool:
    """Print discovery problems; True when a named path does not exist."""
    missing = False
    for path, message in problems:
        if message == "no such file or directory":
            missing = True
            print(f"mllint: error: {path}: {message}", file=sys.stderr)
        else:
            print(f"mllint: warning: {path}: {message}", file=sys.stderr)
    return missing


def _warn_unmatched_per_file_ignores(args: argparse.Namespace, run) -> None:
    """Warn about ``per-file-ignores`` globs that match no file, when the run checked the
    whole project (a run on some files, as pre-commit's, cannot tell)."""
    from mllint.engine import _relative_path

    root = run.settings.root
    named = [Path(os.path.realpath(path)) for path in (args.paths or [Path(".")])]
    if not run.settings.per_file_ignores or not any(p == root or p in root.parents for p in named):
        return
    relative = [_relative_path(path, root) for path, _display in run.files]
    for pattern in run.settings.unmatched_per_file_ignores(relative):
        print(
            f"mllint: warning: {run.settings.config_path}: per-file-ignores: {pattern!r} "
            "matches no file checked, so it silences nothing (a typo, or the files moved?)",
            file=sys.stderr,
        )


def _add_noqa(run, cwd: Path) -> int:
    from mllint.engine import crash_report
    from mllint.fix import add_noqa

    missing = _report_problems(run.problems)
    files = sorted({d.path for d in run.result.diagnostics})
    results = add_noqa(run.result.diagnostics, [(cwd / path, path) for path in files])
    failed = False
    for outcome in results:
        if outcome.problem:
            failed = True
            print(f"mllint: error: {outcome.display_path}: {outcome.problem}", file=sys.stderr)
        for row in outcome.skipped_rows:
            print(
                f"mllint: warning: {outcome.display_path}:{row}: no `# noqa` added: the line "
                "continues with a backslash, so a comment cannot end it",
                file=sys.stderr,
            )
    total = sum(outcome.added for outcome in results)
    noun = "directive" if total == 1 else "directives"
    print(f"Added {total} noqa {noun}.", file=sys.stderr)
    for internal in run.result.internal_errors:
        sys.stderr.write(crash_report(internal))
    return EXIT_ERROR if failed or missing or run.result.internal_errors else EXIT_OK


def run_fix(args: argparse.Namespace) -> int:
    """``--fix`` / ``--diff``: apply (or show) the fixes, then report what remains."""
    _import_libcst()
    from mllint.baseline import BaselineError
    from mllint.config import ConfigError
    from mllint.diagnostic import Severity
    from mllint.engine import crash_report
    from mllint.fix import fix_paths, fixed_summary, unified_diff
    from mllint.gate import exit_status
    from mllint.rule import PluginError, RuleDefinitionError

    cwd = Path(os.getcwd())
    try:
        run = fix_paths(
            args.paths or [Path(".")],
            unsafe=args.unsafe_fixes,
            write=not args.diff,
            **_run_options(args, cwd),
        )
    except (ConfigError, PluginError, RuleDefinitionError) as error:
        return _error(str(error))
    missing = _report_problems(run.problems)
    _warn_unmatched_per_file_ignores(args, run)
    changed = [fix for fix in run.fixes if fix.changed]
    if args.diff:
        for fix in sorted(changed, key=lambda f: f.display_path):
            sys.stdout.write(unified_diff(fix))
        sys.stdout.flush()
        total = sum(len(fix.applied) for fix in changed)
        noun = "finding" if total == 1 else "findings"
        print(f"Would fix {total} {noun}.", file=sys.stderr)
        for internal in run.result.internal_errors:
            sys.stderr.write(crash_report(internal, debug=args.debug))
        if run.result.internal_errors or missing:
            return EXIT_ERROR
        return EXIT_FINDINGS if changed else EXIT_OK

    try:
        result, baseline_note = _apply_baselines(args, run, cwd)
    except BaselineError as error:
        return _error(str(error))
    if baseline_note:
        print(f"mllint: {baseline_note}", file=sys.stderr)
    result.fixes_applied = sum(len(fix.applied) for fix in run.fixes if fix.written)
    text, output_format = _render(args, run, result, cwd)
    summary = "" if args.quiet else fixed_summary(run.fixes, details=args.show_fixes)
    if args.output_file is not None:
        try:
            args.output_file.parent.mkdir(parents=True, exist_ok=True)
            args.output_file.write_text(text, encoding="utf-8")
        except OSError as error:
            return _error(f"cannot write {args.output_file}: {error.strerror or error}")
        sys.stderr.write(summary)
    else:
        sys.stdout.write(text)
        machine = output_format not in ("full", "concise", "statistics")
        (sys.stderr if machine else sys.stdout).write(summary)
        sys.stdout.flush()
    failed = False
    for fix in run.fixes:
        if fix.problem:
            failed = True
            print(f"mllint: error: {fix.display_path}: not fixed: {fix.problem}", file=sys.stderr)
        if not fix.converged:
            print(
                f"mllint: warning: {fix.display_path}: fixes did not settle after "
                "10 rounds; run `mllint check --fix` again and review the result",
                file=sys.stderr,
            )
    for internal in result.internal_errors:
        sys.stderr.write(crash_report(internal, debug=args.debug))
    return exit_status(
        result,
        fail_level=Severity(args.fail_level),
        exit_zero=args.exit_zero,
        exit_non_zero_on_fix=args.exit_non_zero_on_fix,
        usage_error=missing or failed,
    )


def _isatty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _without_summary(text: str, had_findings: bool) -> str:
    lines = text.rstrip("\n").split("\n")
    while lines and (
        lines[-1].startswith(("Found ", "All checks passed", "[*] "))
        or "unsafe fix available" in lines[-1]
    ):
        lines.pop()
    return "\n".join(lines) + ("\n" if lines and had_findings else "")


def run_audit(args: argparse.Namespace) -> int:
    """``mllint audit``: exit 0 unless a required item fails (1); 2 on errors."""
    _import_libcst()
    from mllint.audit import audit_paths
    from mllint.audit.render import render
    from mllint.config import ConfigError
    from mllint.engine import crash_report
    from mllint.rule import PluginError, RuleDefinitionError

    if args.jobs is not None and args.jobs < 1:
        return _error("--jobs must be at least 1")
    if not args.path.exists():
        return _error(f"{args.path}: no such file or directory")
    try:
        report, run = audit_paths(
            [args.path], config_file=args.config, jobs=args.jobs, cwd=Path(os.getcwd())
        )
    except (ConfigError, PluginError, RuleDefinitionError) as error:
        return _error(str(error))
    missing = _report_problems(run.problems)
    color = args.output_file is None and _use_color(args, sys.stdout)
    text = render(report, args.format, color=color)
    problem = _write_output(args.output_file, text)
    if problem is not None:
        return _error(problem)
    for internal in run.result.internal_errors:
        sys.stderr.write(crash_report(internal, debug=args.debug))
    if missing or run.result.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if report.required_failed else EXIT_OK


def run_rules(args: argparse.Namespace) -> int:
    from mllint.rule import PluginError, all_rules

    try:
        rules = all_rules()
    except PluginError as error:
        return _error(str(error))
    if args.format == "json":
        print(json.dumps([rule.metadata() for rule in rules.values()], indent=2))
        return EXIT_OK
    if args.format == "markdown":
        from mllint.docs import rules_table_markdown

        sys.stdout.write(rules_table_markdown(rules))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    color = _use_color(args, sys.stdout)
    console = Console(
        force_terminal=color, no_color=not color, highlight=False, width=None if color else 160
    )
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("code", "name", "category", "severity", "default", "fix"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary")
    for rule in rules.values():
        table.add_row(
            rule.code,
            rule.name,
            rule.category,
            rule.severity.value,
            "on" if rule.enabled_by_default else "off",
            rule.fixable.value if rule.fixable else "",
            rule.summary(),
        )
    console.print(table)
    return EXIT_OK


def run_rule(args: argparse.Namespace) -> int:
    from mllint.rule import PluginError, all_rules, find_rule

    try:
        rule = find_rule(args.rule)
    except PluginError as error:
        return _error(str(error))
    if rule is None:
        codes = ", ".join(all_rules())
        return _error(f"unknown rule {args.rule!r}; known rules: {codes}")
    if args.format == "json":
        data = dict(rule.metadata())
        data["explanation"] = rule.documentation()
        print(json.dumps(data, indent=2))
        return EXIT_OK
    default = "on" if rule.enabled_by_default else "off by default"
    fix = f", fix: {rule.fixable.value}" if rule.fixable else ""
    print(f"# {rule.code} {rule.name}\n")
    print(f"Category: {rule.category}. Severity: {rule.severity.value} ({default}{fix}).\n")
    print(rule.documentation())
    return EXIT_OK


def run_server(args: argparse.Namespace) -> int:
    # pygls is imported here only: `mllint check` never pays for the language server.
    try:
        from mllint.lsp.server import main as serve
    except ImportError as error:
        return _error(
            f"the language server needs the extra `lsp`: pip install 'mllint-ml[lsp]' ({error})"
        )
    return serve()


def main(argv: list[str] | None = None) -> int:
    return _main(argv, process_ends=False)


def _main(argv: list[str] | None, *, process_ends: bool) -> int:
    """:func:`main`; ``process_ends``: the process ends when this returns (the command)."""
    # LibCST recurses once per nesting level; deeply nested real code needs more than
    # Python's default of 1000 frames.
    if sys.getrecursionlimit() < 10_000:
        sys.setrecursionlimit(10_000)
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(check_only=tuple(argv[:1]) == ("check",))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_ERROR
    collecting = gc.isenabled()
    if collecting and args.command == "check" and _few_named_files(args.paths):
        gc.disable()
    process_ends_after_command(process_ends)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("mllint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `mllint check | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # a bug outside the per-file checks: a report, not a traceback
        return _crash(error, debug=getattr(args, "debug", False))
    finally:
        # Where the process goes on, the collector runs again; where it ends, enabling it
        # would only start one last collection of everything the run allocated.
        if collecting and not process_ends:
            gc.enable()


#: Files named on the command line up to this size in all are checked with the cyclic
#: garbage collector off (see :func:`_few_named_files`).
FEW_FILES_BYTES = 512 * 1024


def _few_named_files(paths: list[Path]) -> bool:
    """Whether ``paths`` are regular files of at most :data:`FEW_FILES_BYTES` in all (a
    pre-commit run, an editor's save hook). They are then checked without the cyclic
    garbage collector: its collections (10-20 ms for one 500-line file, most of it one
    pass over everything the check allocated) would free a few megabytes of reference
    cycles per file (about 130 KB per KB of source), in a process that ends soon after.
    Directories, or more source, keep it on: there the memory matters."""
    total = 0
    for path in paths:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        total += info.st_size
    return bool(paths) and total <= FEW_FILES_BYTES


def console_entry() -> int:
    """The ``mllint`` command (and ``python -m mllint``): :func:`main` on ``sys.argv``.

    After ``check``, the process ends as soon as its work is done, without the
    interpreter's teardown, which frees every object one by one (LibCST, the rules, the
    parsed trees: 20-90 ms, 5-10% of checking one file): the ``atexit`` handlers run
    (mllint's import cache is saved there), standard output and error are flushed, and
    ``os._exit`` ends the process with the same status. Whenever that could differ from
    a normal exit, the normal exit happens instead: another command, a status that is not
    a plain exit code, a thread other than daemon threads still running, or a stream
    that cannot be flushed (e.g. a closed pipe: Python then reports it as it always
    does). ``main`` itself (tests, other callers in a process) always returns."""
    argv = sys.argv[1:]
    if argv[:1] in (["check"], ["audit"]):
        # Their regular expressions compiled once per machine (mllint.recache): ~20 ms
        # of a one-file check; only in this process, which ends with the command.
        from mllint.recache import cache_compiled_regexes

        cache_compiled_regexes()
    status = _main(argv, process_ends=True)
    if argv[:1] == ["check"]:
        _exit_now(status)
    return status


def _exit_now(status: int) -> None:
    """End the process with ``status`` as :func:`console_entry` describes, or return."""
    import threading

    if type(status) is not int or not 0 <= status <= 255:
        return
    if any(
        thread.is_alive() and not thread.daemon
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
    ):
        return  # a normal exit waits for it
    import atexit

    atexit._run_exitfuncs()  # as at a normal exit: first, then cleared
    for stream in (sys.stdout, sys.stderr):
        if stream is None or getattr(stream, "closed", False):
            continue
        try:
            stream.flush()
        except Exception:
            return  # the normal exit reports it (and exits with 120), as always
    os._exit(status)


def _crash(error: Exception, *, debug: bool) -> int:
    import traceback

    from mllint import PROJECT_URL

    print(
        f"mllint {__version__}: internal error: {type(error).__name__}: {error}\n"
        f"  This is a bug in mllint. Please report it at {PROJECT_URL}/issues with the "
        f"mllint version ({__version__}), the command you ran and the traceback (--debug).",
        file=sys.stderr,
    )
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    else:
        print("  Run with --debug to see the traceback.", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
