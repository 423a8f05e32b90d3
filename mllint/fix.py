"""Applying fixes: LibCST replacements, repeated until stable, verified, written atomically.

How findings map to fixes: a rule offers a fix with ``FileContext.replacement_fix``,
which records (original node, replacement node) in the context and describes the same
change as text edits on the finding. ``fix_source`` runs the ordinary per-file pipeline
(``engine.check_source``, so per-file ignores and noqa comments apply: a suppressed finding
is never fixed), keeps the context, and matches each remaining finding's edits to the
recorded replacements by span and content. Every selected finding whose fix is allowed
(safe; also unsafe with ``--unsafe-fixes``) is applied in one LibCST transformer pass,
except that a fix touching a node inside (or around) a node another fix already
replaces waits for the next round. The new text is re-parsed (LibCST and CPython), the
rules run again, and this repeats until no fix applies (at most ``MAX_ITERATIONS``
rounds). A round whose result does not parse stops everything: nothing is written and
an internal error names the rules whose fixes were applied in that round.

Writing goes through ``SourceFile.encode`` (the file's encoding, BOM and line endings;
a notebook rebuilds its JSON there), to a temporary file in the same directory that
replaces the original with ``os.replace``, keeping its permission bits. The file is
read back first: if its bytes are not the ones the fixes were computed from, it is left
alone and the user is told so.

``add_noqa*`` insert ``#`` ``noqa: CODE`` comments at line ends for the current findings.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import stat
import tempfile
import tokenize
import traceback
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mllint.config import Settings
from mllint.diagnostic import Applicability, Diagnostic
from mllint.engine import (
    PARALLEL_THRESHOLD,
    FileResult,
    InternalError,
    RuleSet,
    RunResult,
    _relative_path,
    check_files,
    check_path,
    check_source,
    default_jobs,
    run_with_large_stack,
)
from mllint.noqa import find_suppressions
from mllint.source import SourceDecodeError, SourceFile, SourceReadError, read_source

#: Rounds of fix-and-recheck before giving up on reaching a stable result.
MAX_ITERATIONS = 10

#: Engine findings that a noqa comment cannot (ML001, ML003) or should not
#: (ML002: the comment itself is the finding) silence.
_NOQA_EXEMPT = frozenset({"ML001", "ML002", "ML003"})


class FixWriteError(Exception):
    """The fixed text could not be written; the file was left as it was."""


@dataclass(frozen=True)
class AppliedFix:
    """One finding fixed: its rule, the fix's message and the row it was on."""

    code: str
    name: str
    message: str
    row: int


@dataclass
class FileFix:
    """What fixing one file did (or would do, with ``write=False``)."""

    path: Path
    display_path: str
    original: str | None = None
    fixed: str | None = None
    applied: list[AppliedFix] = field(default_factory=list)
    #: Findings that remain, positioned in the fixed text (in the original text when
    #: nothing was fixed or the file could not be written).
    diagnostics: list[Diagnostic] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)
    #: Why a changed file was not written (read-only, changed on disk, ...).
    problem: str | None = None
    written: bool = False
    #: False when fixes were still being found after MAX_ITERATIONS rounds.
    converged: bool = True

    @property
    def changed(self) -> bool:
        return self.original is not None and self.fixed is not None and self.original != self.fixed


# -- one file's text -----------------------------------------------------------------


def _parse_error(text: str) -> str | None:
    """Why ``text`` does not parse (LibCST and CPython must both accept it), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        cst.parse_module(text)
    except SyntaxError as error:
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    except Exception as error:  # LibCST's ParserSyntaxError and friends
        return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
    return None


class _Ancestry(cst.CSTVisitor):
    """For each node in ``targets``: the other targets it lies inside."""

    def __init__(self, targets: set[int]) -> None:
        self.targets = targets
        self.open: list[int] = []
        self.inside: dict[int, set[int]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        key = id(node)
        if key in self.targets:
            self.inside[key] = set(self.open)
            self.open.append(key)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.open and self.open[-1] == id(original_node):
            self.open.pop()


class _ApplyReplacements(cst.CSTTransformer):
    """Swap each chosen node for its replacement; nodes inside it are not visited."""

    def __init__(self, chosen: dict[int, cst.CSTNode]) -> None:
        self.chosen = chosen

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) not in self.chosen

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        return self.chosen.get(id(original_node), updated_node)


def _select_fixes(
    result: FileResult, allowed: set[Applicability]
) -> tuple[list[tuple[Diagnostic, list[int]]], dict[int, cst.CSTNode]]:
    """The findings whose fixes apply together this round, and the node replacements."""
    context = result.context
    if context is None or not context.replacements:
        return [], {}
    by_edit: dict[tuple, int] = {}
    for key, (node, replacement) in context.replacements.items():
        start, end = context.position(node)
        by_edit.setdefault((start, end, context.code(replacement)), key)
    candidates: list[tuple[Diagnostic, list[int]]] = []
    for diagnostic in result.diagnostics:
        fix = diagnostic.fix
        if fix is None or fix.applicability not in allowed or not fix.edits:
            continue
        # A notebook's findings are in its cells; the parsed module is its analysed text.
        edits = result.cells.analysed_edits(diagnostic) if result.cells else fix.edits
        keys = [by_edit.get((e.location, e.end_location, e.content)) for e in edits]
        if any(key is None for key in keys):
            continue  # a fix described only as text edits: not applied (no CST node)
        candidates.append((diagnostic, [key for key in keys if key is not None]))
    if not candidates:
        return [], {}
    ancestry = _Ancestry({key for _, keys in candidates for key in keys})
    context.module.visit(ancestry)
    taken: set[int] = set()
    chosen: list[tuple[Diagnostic, list[int]]] = []
    for diagnostic, keys in candidates:
        group = set(keys)
        if group & taken:
            continue
        # Not inside a node being replaced, not around one, not nested within itself.
        if any(ancestry.inside.get(key, set()) & (taken | group) for key in group):
            continue
        if any(ancestry.inside.get(other, set()) & group for other in taken):
            continue
        taken |= group
        chosen.append((diagnostic, keys))
    replacements = {key: context.replacements[key][1] for key in taken}
    return chosen, replacements


def fix_source(
    source: SourceFile,
    ruleset: RuleSet,
    relative_path: str,
    *,
    unsafe: bool = False,
    display_path: str | None = None,
) -> FileFix:
    """Apply the allowed fixes to ``source`` until stable; nothing is written."""
    allowed = {Applicability.SAFE} | ({Applicability.UNSAFE} if unsafe else set())
    outcome = FileFix(
        path=source.path,
        display_path=display_path or source.display_path,
        original=source.text,
        fixed=source.text,
    )
    current = source
    result = check_source(current, ruleset, relative_path, keep_context=True)
    for _ in range(MAX_ITERATIONS):
        chosen, replacements = _select_fixes(result, allowed)
        if not chosen:
            break
        assert result.context is not None
        lost = _lost_by_codegen(current.text, result.context.module.code)
        if lost is None:
            outcome.internal_errors.append(
                InternalError(
                    path=outcome.display_path,
                    rule=None,
                    message="mllint's parser does not reproduce this file byte for byte, "
                    "so its fixes could change other code; the file was not changed",
                    traceback="",
                )
            )
            return _unchanged(outcome, source, ruleset, relative_path)
        new_text = result.context.module.visit(_ApplyReplacements(replacements)).code + lost
        error = _parse_error(new_text)
        if error is not None:
            codes = ", ".join(sorted({d.code for d, _ in chosen}))
            outcome.internal_errors.append(
                InternalError(
                    path=outcome.display_path,
                    rule=codes,
                    message=f"the fix produced code that does not parse ({error}); "
                    "the file was not changed",
                    traceback="",
                )
            )
            return _unchanged(outcome, source, ruleset, relative_path)
        outcome.applied.extend(
            AppliedFix(d.code, d.name, d.fix.message if d.fix else "", d.location.row)
            for d, _ in chosen
        )
        current = current.with_text(new_text)
        result = check_source(current, ruleset, relative_path, keep_context=True)
    else:
        outcome.converged = not _select_fixes(result, allowed)[0]
    outcome.fixed = current.text
    outcome.diagnostics = result.diagnostics
    outcome.internal_errors.extend(result.internal_errors)
    return outcome


def _lost_by_codegen(text: str, regenerated: str) -> str | None:
    """What LibCST's code for the unchanged ``text`` lacks at its end ("" when it is
    ``text``); None when it differs otherwise. LibCST drops a file's final bare CR
    (a file saved with classic Mac line endings), which is put back."""
    if regenerated == text:
        return ""
    if text.endswith("\r") and regenerated == text[:-1]:
        return "\r"
    return None


def _unchanged(
    outcome: FileFix, source: SourceFile, ruleset: RuleSet, relative_path: str
) -> FileFix:
    """Give up on fixing: the file's own findings, nothing applied."""
    result = check_source(source, ruleset, relative_path)
    outcome.fixed = outcome.original
    outcome.applied = []
    outcome.diagnostics = result.diagnostics
    outcome.internal_errors.extend(result.internal_errors)
    return outcome


# -- writing -------------------------------------------------------------------------


def write_atomically(path: Path, source: SourceFile, text: str) -> None:
    """Replace ``path``'s contents with ``text`` encoded as ``source`` was.

    Raises FixWriteError (and leaves the file untouched) when the text cannot be encoded,
    the file is read-only, or its bytes changed since ``source`` was read.
    """
    try:
        data = source.encode(text)
    except UnicodeEncodeError as error:
        raise FixWriteError(
            f"the fixed text cannot be encoded as {source.encoding} ({error.reason}); not written"
        ) from None
    target = Path(os.path.realpath(path))  # write through a symlink, keep the link
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        unchanged = _holds(target, source.raw)
    except OSError as error:
        raise FixWriteError(f"cannot read it back: {error.strerror or error}") from None
    if not unchanged:
        raise FixWriteError("it changed on disk since mllint read it; not written (run again)")
    # No write bit at all counts as read-only even for root, who could write anyway.
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise FixWriteError("the file is read-only; not written")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".mllint-tmp", dir=target.parent
        )
    except OSError as error:
        raise FixWriteError(
            f"cannot create a temporary file in {target.parent}: {error.strerror or error}"
        ) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        if not _holds(target, source.raw):  # changed while we were writing
            raise FixWriteError("it changed on disk since mllint read it; not written (run again)")
        os.replace(temporary, target)
    except OSError as error:
        _remove_quietly(temporary)
        raise FixWriteError(f"cannot write it: {error.strerror or error}") from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _holds(path: Path, expected: bytes, chunk: int = 1 << 20) -> bool:
    """Whether the file at ``path`` holds exactly ``expected``, read a chunk at a time (a
    notebook with hundreds of megabytes of outputs is not read whole a second time)."""
    view = memoryview(expected)
    with open(path, "rb") as stream:
        for at in range(0, len(expected), chunk):
            if stream.read(chunk) != view[at : at + chunk]:
                return False
        return stream.read(1) == b""


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# -- files ---------------------------------------------------------------------------


def fix_path(
    path: Path,
    ruleset: RuleSet,
    display_path: str | None = None,
    *,
    unsafe: bool = False,
    write: bool = True,
) -> FileFix:
    """Fix one file (and write it when ``write`` and something changed); never raises."""
    display = display_path or os.fspath(path)
    try:
        source = read_source(path, display)
    except (SourceReadError, SourceDecodeError):
        # Unreadable or undecodable: the ordinary check reports it (ML003 / ML001).
        checked = check_path(path, ruleset, display)
        return FileFix(
            path=path,
            display_path=display,
            diagnostics=checked.diagnostics,
            internal_errors=checked.internal_errors,
        )
    relative = _relative_path(path, ruleset.settings.root)
    try:
        outcome = run_with_large_stack(
            lambda: fix_source(source, ruleset, relative, unsafe=unsafe, display_path=display)
        )
    except Exception as error:  # an engine bug: report it for this file and go on
        return FileFix(
            path=path,
            display_path=display,
            original=source.text,
            fixed=source.text,
            internal_errors=[
                InternalError(
                    display, None, f"{type(error).__name__}: {error}", traceback.format_exc()
                )
            ],
        )
    if write and outcome.changed:
        assert outcome.fixed is not None
        try:
            write_atomically(path, source, outcome.fixed)
            outcome.written = True
        except FixWriteError as error:
            # Nothing changed on disk: report the file's findings as they are there.
            as_is = run_with_large_stack(lambda: check_source(source, ruleset, relative))
            outcome.problem = str(error)
            outcome.applied = []
            outcome.fixed = outcome.original
            outcome.diagnostics = as_is.diagnostics
    return outcome


_WORKER: tuple[RuleSet, bool, bool] | None = None


def _init_worker(ruleset: RuleSet, unsafe: bool, write: bool) -> None:
    global _WORKER
    _WORKER = (ruleset, unsafe, write)


def _fix_in_worker(item: tuple[str, str]) -> FileFix:
    assert _WORKER is not None
    ruleset, unsafe, write = _WORKER
    path, display = item
    return fix_path(Path(path), ruleset, display, unsafe=unsafe, write=write)


def fix_files(
    files: Iterable[tuple[Path, str]],
    ruleset: RuleSet,
    *,
    unsafe: bool = False,
    write: bool = True,
    jobs: int | None = None,
) -> list[FileFix]:
    """Fix ``(path, display_path)`` pairs, in worker processes when there are many."""
    items = [(os.fspath(path), display) for path, display in files]
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs > 1 and len(items) >= PARALLEL_THRESHOLD:
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(ruleset, unsafe, write),
        ) as pool:
            return list(pool.map(_fix_in_worker, items, chunksize=max(1, len(items) // (jobs * 8))))
    return [
        fix_path(Path(path), ruleset, display, unsafe=unsafe, write=write)
        for path, display in items
    ]


def run_result(fixes: list[FileFix]) -> RunResult:
    """The remaining findings of a fix run, as a check run's result (for the reporters)."""
    diagnostics = sorted((d for fix in fixes for d in fix.diagnostics), key=Diagnostic.sort_key)
    errors = sorted(
        (e for fix in fixes for e in fix.internal_errors), key=lambda e: (e.path, e.rule or "")
    )
    return RunResult(diagnostics=diagnostics, internal_errors=errors, files_checked=len(fixes))


# -- presentation --------------------------------------------------------------------


def unified_diff(fix: FileFix) -> str:
    """``--diff``: the change as a unified diff (``a/path`` -> ``b/path``)."""
    if not fix.changed:
        return ""
    assert fix.original is not None and fix.fixed is not None
    lines = difflib.unified_diff(
        _diff_lines(fix.original),
        _diff_lines(fix.fixed),
        fromfile=f"a/{fix.display_path}",
        tofile=f"b/{fix.display_path}",
    )
    return "".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def fixed_summary(fixes: list[FileFix], *, details: bool) -> str:
    """``Fixed N findings.``, and with ``details`` (``--show-fixes``) what, per file."""
    applied = [fix for fix in fixes if fix.applied and (fix.written or not fix.problem)]
    total = sum(len(fix.applied) for fix in applied)
    noun = "finding" if total == 1 else "findings"
    if not details or not total:
        return f"Fixed {total} {noun}.\n"
    lines = [f"Fixed {total} {noun}:"]
    for fix in sorted(applied, key=lambda f: f.display_path):
        lines.append(f"- {fix.display_path}:")
        counts: dict[tuple[str, str], int] = {}
        for item in fix.applied:
            counts[(item.code, item.name)] = counts.get((item.code, item.name), 0) + 1
        for (code, name), count in sorted(counts.items()):
            lines.append(f"    {count} x {code} ({name})")
    return "\n".join(lines) + "\n"


# -- add-noqa ------------------------------------------------------------------------


def _comment_rows(text: str) -> tuple[dict[int, int], set[int]]:
    """Where a comment for a row can go: rows inside a multi-line token map to the row
    the token ends on; rows whose line ends in a backslash continuation cannot take one."""
    moves: dict[int, int] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        tokens = []
    for token in tokens:
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            continue
        first, last = token.start[0], token.end[0]
        for row in range(first, last):
            moves[row] = max(moves.get(row, row), last)
    continued = {
        row
        for row, line in enumerate(text.splitlines(), start=1)
        if line.rstrip().endswith("\\") and row not in moves
    }
    return moves, continued


def add_noqa_to_text(text: str, diagnostics: list[Diagnostic]) -> tuple[str, int, list[int]]:
    """Add noqa comments for ``diagnostics``: (new text, directives added, rows skipped).

    Codes join an existing noqa comment on the line (other tools' codes are kept);
    otherwise the comment goes at the end of the line, after any other comment.
    """
    moves, continued = _comment_rows(text)
    wanted: dict[int, list[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.code in _NOQA_EXEMPT:
            continue
        row = diagnostic.noqa_row or diagnostic.location.row
        while row in moves and moves[row] != row:
            row = moves[row]
        codes = wanted.setdefault(row, [])
        if diagnostic.code not in codes:
            codes.append(diagnostic.code)
    if not wanted:
        return text, 0, []
    directives = find_suppressions(text).line_directives
    lines = text.splitlines(keepends=True)
    added = 0
    skipped: list[int] = []
    for row, codes in sorted(wanted.items()):
        if row > len(lines) or row in continued:
            skipped.append(row)
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        directive = directives.get(row)
        if directive is not None and directive.codes is None:
            continue  # a blanket noqa comment already silences everything here
        if directive is not None:
            merged = list(directive.codes or ())
            merged += [c for c in sorted(codes) if not any(c.startswith(e) for e in merged)]
            start, end = directive.column - 1, directive.end_column - 1
            body = body[:start] + "# noqa: " + ", ".join(merged) + body[end:]
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[row - 1] = body + ending
        added += 1
    return "".join(lines), added, skipped


@dataclass
class NoqaResult:
    display_path: str
    added: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    problem: str | None = None


def add_noqa_to_file(path: Path, display: str, diagnostics: list[Diagnostic]) -> NoqaResult:
    """Insert noqa comments into one file (atomically, verified to still parse)."""
    outcome = NoqaResult(display)
    try:
        source = read_source(path, display)
    except (SourceReadError, SourceDecodeError) as error:
        outcome.problem = str(error)
        return outcome
    if source.is_notebook:  # rows in cells -> rows of the analysed text
        cells = source.cell_map()  # type: ignore[attr-defined]
        diagnostics = [cells.in_analysed_text(d) for d in diagnostics]
    text, added, outcome.skipped_rows = add_noqa_to_text(source.text, diagnostics)
    if not added:
        return outcome
    error = _parse_error(text)
    if error is not None:  # cannot happen for comments at line ends; checked anyway
        outcome.problem = f"adding noqa comments would break the file ({error}); not written"
        return outcome
    try:
        write_atomically(path, source, text)
    except FixWriteError as failure:
        outcome.problem = str(failure)
        return outcome
    outcome.added = added
    return outcome


def add_noqa(diagnostics: list[Diagnostic], files: list[tuple[Path, str]]) -> list[NoqaResult]:
    """``--add-noqa`` for a check run: ``files`` are the ``(path, display_path)`` checked."""
    by_display: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        by_display.setdefault(diagnostic.path, []).append(diagnostic)
    results = []
    for path, display in files:
        found = by_display.get(display)
        if found and any(d.code not in _NOQA_EXEMPT for d in found):
            results.append(add_noqa_to_file(path, display, found))
    return results


# -- the API -------------------------------------------------------------------------


@dataclass
class FixRun:
    fixes: list[FileFix]
    result: RunResult
    #: (path, message) for named paths that do not exist or could not be walked
    problems: list[tuple[str, str]]
    settings: Settings
    #: the files checked, as (path, display path)
    files: list[tuple[Path, str]]


def fix_paths(
    paths: list[Path],
    *,
    unsafe: bool = False,
    write: bool = True,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    config_file: Path | None = None,
    force_exclude: bool = False,
    jobs: int | None = None,
    cwd: Path | None = None,
) -> FixRun:
    """Like ``mllint.api.lint_paths``, fixing each file (``write=False``: only computing)."""
    from mllint.api import prepare

    prepared = prepare(
        paths,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        config_file=config_file,
        force_exclude=force_exclude,
        cwd=cwd,
    )
    rules, settings, files = prepared.rules, prepared.settings, prepared.files
    ruleset = prepared.ruleset
    fixes = fix_files(files, ruleset, unsafe=unsafe, write=write, jobs=jobs)
    if not write or not (ruleset.has_project_rules or "ML002" in settings.enabled):
        # Without whole-program rules the per-file results are the final ones.
        return FixRun(fixes, run_result(fixes), prepared.problems, settings, files)
    # The whole-program stage (project rules, unused noqa) sees the files as written now;
    # its fixes are text edits (e.g. ML101's seeding lines), applied once, then re-checked.
    fix_errors = [e for fix in fixes for e in fix.internal_errors]
    result = check_files(files, ruleset, jobs=jobs)
    project_codes = {code for code, rule in rules.items() if rule.scope == "project"}
    if _apply_text_fixes(result, fixes, files, allowed(unsafe), project_codes):
        result = check_files(files, ruleset, jobs=jobs)
    known = {(e.path, e.rule, e.message) for e in result.internal_errors}
    result.internal_errors.extend(e for e in fix_errors if (e.path, e.rule, e.message) not in known)
    result.internal_errors.sort(key=lambda e: (e.path, e.rule or ""))
    return FixRun(fixes, result, prepared.problems, settings, files)


def allowed(unsafe: bool) -> set[Applicability]:
    return {Applicability.SAFE} | ({Applicability.UNSAFE} if unsafe else set())


def _offsets(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def apply_text_edits(text: str, diagnostics: list[Diagnostic]) -> tuple[str, list[Diagnostic]]:
    """Apply the text edits of ``diagnostics``' fixes that do not overlap an earlier one
    (a fix is all its edits or none); returns the new text and the findings fixed."""
    starts = _offsets(text)

    def offset(location) -> int | None:
        if location.row < 1 or location.row > len(starts):
            return None
        return min(starts[location.row - 1] + location.column - 1, len(text))

    chosen: list[tuple[int, int, str]] = []
    fixed: list[Diagnostic] = []
    for diagnostic in diagnostics:
        assert diagnostic.fix is not None
        spans = []
        for edit in diagnostic.fix.edits:
            start, end = offset(edit.location), offset(edit.end_location)
            if start is None or end is None or end < start:
                break
            spans.append((start, end, edit.content))
        else:
            if spans and not any(
                (a < d and c < b) or (a == b == c == d) for a, b, _ in spans for c, d, _ in chosen
            ):
                chosen.extend(spans)
                fixed.append(diagnostic)
    for start, end, content in sorted(chosen, key=lambda span: (span[0], span[1]), reverse=True):
        text = text[:start] + content + text[end:]
    return text, fixed


def _apply_text_fixes(
    result: RunResult,
    fixes: list[FileFix],
    files: list[tuple[Path, str]],
    allowed_fixes: set[Applicability],
    project_codes: set[str],
) -> bool:
    """Apply the allowed fixes of the whole-program (project) rules; True if any was.
    (File rules' fixes were applied, or deliberately not, by the per-file stage.)"""
    pending: dict[str, list[Diagnostic]] = {}
    for diagnostic in result.diagnostics:
        fix = diagnostic.fix
        if diagnostic.code not in project_codes:
            continue
        if fix is not None and fix.applicability in allowed_fixes and fix.edits:
            pending.setdefault(diagnostic.path, []).append(diagnostic)
    if not pending:
        return False
    by_display = {fix.display_path: fix for fix in fixes}
    paths = dict((display, path) for path, display in files)
    changed = False
    for display, diagnostics in sorted(pending.items()):
        outcome = by_display.get(display)
        if outcome is None or display not in paths or outcome.problem:
            continue
        try:
            source = read_source(paths[display], display)
        except (SourceReadError, SourceDecodeError):
            continue
        if source.is_notebook:  # edits in cells -> edits in the analysed text
            cells = source.cell_map()  # type: ignore[attr-defined]
            diagnostics = [cells.in_analysed_text(d) for d in diagnostics]
        text, fixed = apply_text_edits(source.text, diagnostics)
        if not fixed or text == source.text:
            continue
        error = _parse_error(text)
        if error is not None:
            codes = ", ".join(sorted({d.code for d in fixed}))
            outcome.internal_errors.append(
                InternalError(
                    display,
                    codes,
                    f"the fix produced code that does not parse ({error}); "
                    "the file was not changed",
                    "",
                )
            )
            result.internal_errors.append(outcome.internal_errors[-1])
            continue
        try:
            write_atomically(paths[display], source, text)
        except FixWriteError as failure:
            outcome.problem = str(failure)
            continue
        outcome.written = True
        outcome.fixed = text if outcome.original is not None else None
        outcome.applied.extend(
            AppliedFix(d.code, d.name, d.fix.message if d.fix else "", d.location.row)
            for d in fixed
        )
        changed = True
    return changed
