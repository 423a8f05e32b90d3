"""The engine: read and parse each file once, run every enabled rule in one walk, apply noqa.

Per file: decode (PEP 263/BOM) -> pre-scan (which rules can fire, from the file's
imports) -> parse with LibCST once -> one traversal that dispatches each node to the
``visit_<Node>``/``leave_<Node>`` methods of the relevant rules -> per-file ignores,
noqa, severity overrides -> sorted diagnostics. A rule that raises is reported as an
internal error for that file (with the rule code) and the other rules go on.
Files are checked in worker processes when there are enough of them; the results are
identical to a serial run because they are sorted the same way.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import os
import queue
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mllint import PROJECT_URL, __version__, realpaths
from mllint.analysis.project import ModuleSummarizer, ModuleSummary, ProjectIndex
from mllint.cache import ResultCache, content_digest
from mllint.config import Settings
from mllint.context import FileContext, ProjectContext
from mllint.diagnostic import Diagnostic, Location, Severity
from mllint.gcpause import gc_paused
from mllint.importcache import cst  # LibCST, imported when a file is parsed
from mllint.lazyre import lazy_compile
from mllint.manifest import resolve as resolve_rule
from mllint.noqa import (
    Suppressions,
    apply_suppressions,
    find_comment_suppressions,
    find_suppressions,
    unused_noqa_diagnostics,
)
from mllint.rule import ProjectRule, Rule
from mllint.source import (
    SourceDecodeError,
    SourceFile,
    SourceReadError,
    read_regular_file,
    read_source,
)
from mllint.statementparse import parse_statements

if TYPE_CHECKING:  # a notebook's result imports it (for .py files it is not needed)
    from mllint.incremental import Document
    from mllint.notebook import CellMap

#: Below this many files, a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 24


def _format_exc() -> str:
    """``traceback.format_exc()``, imported on an error only (with textwrap: ~3 ms)."""
    import traceback

    return traceback.format_exc()


@dataclass(frozen=True)
class InternalError:
    """mllint itself failed (a bug): which rule, which file, and the traceback."""

    path: str
    rule: str | None
    message: str
    traceback: str


@dataclass
class FileResult:
    """What checking one file found."""

    path: str
    relative: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)
    #: What the project index needs from this file (None when no project rule is enabled).
    summary: ModuleSummary | None = None
    #: The file's noqa comments, for project findings and unused-noqa, judged at the end.
    suppressions: Suppressions | None = None
    #: For a notebook: rows of its analysed text -> (cell, row in cell).
    cells: CellMap | None = None
    #: The rules' shared context (parsed module, fix replacements); only kept when
    #: ``check_source(..., keep_context=True)`` asked for it (mllint.fix does).
    context: FileContext | None = field(default=None, repr=False, compare=False)


@dataclass
class RunResult:
    """What a run found in all its files."""

    diagnostics: list[Diagnostic]
    internal_errors: list[InternalError]
    files_checked: int
    #: How many fixes ``--fix`` applied (``--exit-non-zero-on-fix`` fails when > 0).
    fixes_applied: int = 0
    #: The project index and its traces when project rules ran (``mllint audit`` reads it).
    project: ProjectContext | None = None


@dataclass
class RuleSet:
    """The rules a run uses: the registry, the enabled codes and the effective settings."""

    rules: dict[str, type[Rule]]
    settings: Settings

    @property
    def needs_every_summary(self) -> bool:
        """Whether an enabled project rule reads the summaries of all modules (see
        ``ProjectRule.summaries``), not only of those traces can reach."""
        return any(
            rule.scope == "project"
            and code in self.settings.enabled
            and getattr(rule, "summaries", "all") != "traced"
            for code, rule in self.rules.items()
        )

    @property
    def has_project_rules(self) -> bool:
        return any(
            rule.scope == "project" and code in self.settings.enabled
            for code, rule in self.rules.items()
        )

    def enabled_rules(self, relative_path: str) -> list[type[Rule]]:
        ignored = self.settings.ignored_for(relative_path)
        return [
            rule
            for code, rule in self.rules.items()
            if code in self.settings.enabled and code not in ignored
        ]


# -- one file --------------------------------------------------------------------------


class _Dispatcher:
    """One traversal for all rules; keeps the ancestor stack in the context. (Not a
    LibCST visitor class itself, so that importing the engine does not import LibCST;
    :func:`_libcst_visitor` adapts it for LibCST's own visit.)"""

    def __init__(self, context: FileContext, rules: list[Rule], result: FileResult) -> None:
        self.context = context
        self.result = result
        self.failed: set[str] = set()
        self.visits: dict[str, list[tuple[Rule, Callable]]] = {}
        self.leaves: dict[str, list[tuple[Rule, Callable]]] = {}
        for rule in rules:
            for attr in type(rule).visitor_methods():
                kind, node_name = attr.split("_", 1)
                table = self.visits if kind == "visit" else self.leaves
                table.setdefault(node_name, []).append((rule, getattr(rule, attr)))

    def _call(self, handlers: list[tuple[Rule, Callable]], node: cst.CSTNode) -> None:
        for rule, method in handlers:
            if rule.code in self.failed:
                continue
            try:
                method(node)
            except Exception as error:  # a bug in a rule must not stop the others
                self.fail(rule, error)

    def fail(self, rule: Rule, error: BaseException) -> None:
        self.failed.add(rule.code)
        self.result.internal_errors.append(
            InternalError(
                path=self.context.source.display_path,
                rule=rule.code if rule.code.startswith("ML") else None,
                message=f"{type(error).__name__}: {error}",
                traceback=_format_exc(),
            )
        )

    def on_visit(self, node: cst.CSTNode) -> bool:
        handlers = self.visits.get(type(node).__name__)
        if handlers:
            self._call(handlers, node)
        self.context.ancestors.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.context.ancestors.pop()
        handlers = self.leaves.get(type(original_node).__name__)
        if handlers:
            self._call(handlers, original_node)

    def run(self, module: cst.Module) -> None:
        """Walk ``module`` once for every participant: the fast walk over non-token nodes,
        or LibCST's own visit when a participant handles token nodes (``visit_Comment``)."""
        from mllint.analysis import walk

        if self.handles_tokens():
            module.visit(_libcst_visitor(self))
            return
        visits, leaves = self.visits, self.leaves
        walk.walk_handlers(
            module,
            lambda kind: visits.get(kind.__name__, []),
            lambda kind: leaves.get(kind.__name__, []),
            self._call,
            self.context.ancestors,
        )

    def handles_tokens(self) -> bool:
        """Whether a participant handles token nodes (which only LibCST's visit reaches)."""
        from mllint.analysis import walk

        handled = {*self.visits, *self.leaves}
        return any(kind.__name__ in handled for kind in walk.TOKEN_TYPES)

    # Attribute-level hooks are not used by rules; skipping them saves a lookup per field.
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


_LIBCST_VISITOR: type | None = None


def _libcst_visitor(dispatcher: _Dispatcher):
    """``dispatcher`` as a ``cst.CSTVisitor`` (LibCST's visit requires one); the class is
    made on first use, when LibCST is imported anyway."""
    global _LIBCST_VISITOR
    if _LIBCST_VISITOR is None:

        class _Visitor(cst.CSTVisitor):
            def __init__(self, dispatcher: _Dispatcher) -> None:
                self.on_visit = dispatcher.on_visit
                self.on_leave = dispatcher.on_leave
                self.on_visit_attribute = dispatcher.on_visit_attribute
                self.on_leave_attribute = dispatcher.on_leave_attribute

        _LIBCST_VISITOR = _Visitor
    return _LIBCST_VISITOR(dispatcher)


_IMPORT_RE = re.compile(r"^\s*(?:from\s+([\w.]+)|import\s+([\w., ]+))", re.MULTILINE)


def prescan_imports(text: str) -> set[str]:
    """Top-level module names a file may import, found with a regex (no parsing).

    It over-approximates (a matching line inside a string counts), which is safe: it
    only decides which rules are worth running.
    """
    roots: set[str] = set()
    for match in _IMPORT_RE.finditer(text):
        if match.group(1):
            if not match.group(1).startswith("."):
                roots.add(match.group(1).split(".")[0])
        else:
            for part in match.group(2).split(","):
                name = part.strip().split(" ")[0]
                if name:
                    roots.add(name.split(".")[0])
    return roots


#: Imports anywhere a statement may start: at a line start, or after ``;`` or ``:``
#: (``try: import torch``), continued lines included. Docstring text that matches
#: ("note: import the data") only makes a file look relevant, which is safe.
_ANY_IMPORT_RE = lazy_compile(
    r"(?:^|[;:])[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import|import[ \t]+((?:[\w., \t]|\\\n)+))",
    re.MULTILINE,
)
#: Words without which a module records no training event for the project index.
_TRAINING_WORDS = ("backward", "fit", "train")


def _event_stdlib_roots() -> frozenset[str]:
    """Standard-library modules whose calls the project index records (``random``)."""
    from mllint.analysis import rng

    tables = (
        rng.SEEDERS, rng.FRAMEWORK_SEEDERS, rng.GENERATOR_CONSTRUCTORS, rng.SHUFFLING_LOADERS,
        rng.JAX_KEYS, rng.SKLEARN_RANDOM, rng.SHUFFLE_SPLITTERS, rng.DETERMINISM_CALLS,
    )  # fmt: skip
    roots = {"random"} | {name.split(".")[0] for table in tables for name in table}
    return frozenset(root for root in roots if root in sys.stdlib_module_names)


_EVENT_ROOTS: frozenset[str] | None = None


def may_matter_to_project(text: str, is_notebook: bool = False) -> bool:
    """Whether a file can contribute anything to the project index (an event, a call or
    import leading to project code, a class other modules build on); False only for plain
    Python modules that import nothing but standard-library modules the index ignores and
    never say ``backward``/``fit``/``train``. Such a module is a dead end for every trace
    (ML101's seed tracing included): its functions can only call each other and the
    standard library, so leaving it out of the index changes no finding, and it needs
    no LibCST parse when no file rule applies to it either."""
    global _EVENT_ROOTS
    if is_notebook or any(word in text for word in _TRAINING_WORDS):
        return True
    if _EVENT_ROOTS is None:
        _EVENT_ROOTS = _event_stdlib_roots()
    for match in _ANY_IMPORT_RE.finditer(text):
        dots, module, names = match.groups()
        if dots:  # a relative import: project code
            return True
        if names is not None:
            parts = names.replace("\\\n", " ").split(",")
            modules = [part.split()[0] for part in parts if part.strip()]
        else:
            modules = [module]
        for name in modules:
            root = name.split(".")[0] if name else ""
            if not root or root not in sys.stdlib_module_names or root in _EVENT_ROOTS:
                return True
    return False


def _syntax_error(source: SourceFile, message: str, row: int, column: int) -> Diagnostic:
    row = max(1, min(row, source.line_count if source.text else 1))
    column = max(1, column)
    return Diagnostic(
        code="ML001",
        name="syntax-error",
        message=message,
        severity=Severity.ERROR,
        path=source.display_path,
        location=Location(row, column),
        end_location=Location(row, column),
    )


_BRACKET_RE = re.compile(r"[()\[\]{}]")
#: CPython's tokenizer refuses more than 200 nested brackets (MAXLEVEL); LibCST accepts
#: them at a cost that grows steeply with depth, so such files go to CPython first.
_CPYTHON_MAX_BRACKET_DEPTH = 200


def _max_bracket_depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKET_RE.finditer(text):
        if match.group() in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


#: A line this long is usually generated code or data; an operator chain on it can be
#: nested deeper than CPython allows, and LibCST would spend minutes on it.
_LONG_LINE = 5_000


#: Deeper syntax trees than this (long generated operator chains) are not analysed:
#: LibCST's cost grows much faster than linearly with depth.
MAX_NESTING = 1_000


def _ast_depth(text: str) -> int:
    """The depth of CPython's syntax tree, measured without recursion."""
    deepest = 0
    stack = [(ast.parse(text), 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _has_long_line(source: SourceFile) -> bool:
    if len(source.text) < _LONG_LINE:
        return False
    starts = source.line_starts
    return any(b - a > _LONG_LINE for a, b in itertools.pairwise(starts)) or (
        len(source.text) - starts[-1] > _LONG_LINE
    )


#: LibCST's own ``CSTNode.__post_init__``, read at the first parse.
_ORIGINAL_POST_INIT: object = None
_VALIDATE_PARSED = os.environ.get("MLLINT_VALIDATE_PARSED_NODES") == "1"


def _skip_validation(self: cst.CSTNode) -> None:
    return None


@contextlib.contextmanager
def _parsed_nodes_unvalidated():
    """While LibCST's native parser builds a tree, skip each node's ``_validate()``.

    Every node LibCST constructs checks its own invariants in ``__post_init__`` (meant for
    trees that users build by hand); the parser only builds nodes from a parse that
    succeeded and reports syntax errors itself, so for a parsed tree the checks can never
    fail: skipping them saves ~15% of the parse (a test checks that trees and syntax
    errors are the same either way). Only when ``CSTNode.__post_init__`` is still
    LibCST's own; ``MLLINT_VALIDATE_PARSED_NODES=1`` turns this off."""
    global _ORIGINAL_POST_INIT
    node_class = cst.CSTNode
    if _ORIGINAL_POST_INIT is None:
        _ORIGINAL_POST_INIT = getattr(node_class, "__post_init__", None)
    if _VALIDATE_PARSED or node_class.__dict__.get("__post_init__") is not _ORIGINAL_POST_INIT:
        yield
        return
    node_class.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        node_class.__post_init__ = _ORIGINAL_POST_INIT  # type: ignore[method-assign]


def _parse(source: SourceFile) -> tuple[cst.Module | None, Diagnostic | None]:
    if _has_long_line(source) or _max_bracket_depth(source.text) > _CPYTHON_MAX_BRACKET_DEPTH:
        # Only code CPython itself can parse is worth LibCST's time (brackets inside
        # strings count above, so this is a cheap filter, confirmed by CPython here).
        error = _cheap_syntax_check(source)
        if error is not None:
            return None, error
        depth = _ast_depth(source.text)
        if depth > MAX_NESTING:
            return None, _syntax_error(
                source,
                f"File too deeply nested to analyse: nesting depth {depth} exceeds "
                f"mllint's limit of {MAX_NESTING} (generated code? exclude it)",
                1,
                1,
            )
    if "\0" in source.text:
        index = source.text.index("\0")
        row = source.row_of_offset(index)
        column = index - source.line_starts[row - 1] + 1
        return None, _syntax_error(source, "SyntaxError: source contains a null byte", row, column)
    try:
        with warnings.catch_warnings(), _parsed_nodes_unvalidated():
            warnings.simplefilter("ignore")
            return parse_statements(source.text), None
    except cst.ParserSyntaxError as error:
        # CPython's parser gives far clearer messages ("'(' was never closed") and
        # positions; LibCST's is the fallback for syntax only CPython accepts.
        cpython = _cheap_syntax_check(source)
        if cpython is not None:
            return None, cpython
        message = " ".join(error.message.split())
        return None, _syntax_error(
            source,
            f"SyntaxError (not supported by mllint's parser): {message}",
            error.raw_line,
            error.raw_column + 1,
        )
    except RecursionError:
        return None, _syntax_error(
            source, "SyntaxError: too deeply nested to parse (recursion limit)", 1, 1
        )


def _cheap_syntax_check(source: SourceFile) -> Diagnostic | None:
    """For files no rule applies to: CPython's parser finds syntax errors ~5x faster."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source.text)
    except SyntaxError as error:
        return _syntax_error(
            source,
            f"SyntaxError: {error.msg}",
            error.lineno or 1,
            error.offset or 1,
        )
    except (ValueError, RecursionError, MemoryError) as error:
        return _syntax_error(source, f"SyntaxError: {error}", 1, 1)
    return None


def _relative_path(path: Path, root: Path) -> str:
    memo = realpaths.active()  # a run: the folders' real paths are remembered
    if memo is not None:
        real = memo.cheap(path)
        if real is not None:
            relative = _below(real, root)
            if relative is not None:
                return relative
    try:
        return path.resolve().relative_to(root).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (3.11)
        # A file reached through a link in the project to a folder outside it
        # (`pkg -> ../shared/pkg`): its place in the project, where imports find it.
        return _below(os.path.abspath(path), root) or path.as_posix()


def _below(real: str, root: Path) -> str | None:
    """``Path(real).relative_to(root).as_posix()`` for a real (absolute, normalised) path
    strictly below ``root``; None otherwise."""
    folder = os.fspath(root)
    prefix = folder if folder.endswith("/") else folder + "/"
    return real[len(prefix) :] if real.startswith(prefix) and len(real) > len(prefix) else None


def check_source(
    source: SourceFile,
    ruleset: RuleSet,
    relative_path: str,
    *,
    keep_context: bool = False,
    document: Document | None = None,
) -> FileResult:
    """Run every enabled, relevant file rule over one decoded file, and summarise it for the
    project index when project rules are enabled.

    With ``keep_context``, the result keeps the rules' FileContext (for applying fixes).
    With ``document`` (an editor's document, checked again after each edit; see
    :mod:`mllint.incremental`), only the statements an edit touched are parsed again and
    the positions of the others are reused, as are their project summaries (when the
    module-level state they depend on is unchanged); the findings are the same.

    The cyclic garbage collector is paused meanwhile: parsing allocates tens of thousands
    of nodes, each allocation counting towards a collection that then traverses every
    live object, for nothing (syntax trees hold no reference cycles; what the analysis
    leaves is collected once the collector runs again). 5-15% of the time per file.
    """
    with gc_paused():
        return _check_source(
            source, ruleset, relative_path, keep_context=keep_context, document=document
        )


def _check_source(
    source: SourceFile,
    ruleset: RuleSet,
    relative_path: str,
    *,
    keep_context: bool,
    document: Document | None = None,
) -> FileResult:
    result = FileResult(path=source.display_path, relative=relative_path)
    enabled = ruleset.enabled_rules(relative_path)
    visitor_rules = [
        rule
        for rule in enabled
        if rule.scope == "file" and any(True for _ in rule.visitor_methods())
    ]
    roots = prescan_imports(source.text)
    relevant = [
        rule for rule in visitor_rules if not rule.requires_imports or rule.requires_imports & roots
    ]
    summarize = ruleset.has_project_rules and (
        ruleset.needs_every_summary
        or may_matter_to_project(source.text, bool(getattr(source, "is_notebook", False)))
    )
    diagnostics: list[Diagnostic] = []
    context: FileContext | None = None
    if not relevant and not summarize:
        error = _cheap_syntax_check(source)
        if error is not None:
            diagnostics.append(error)
    else:
        module, error = _parse(source) if document is None else document.parse(source)
        if error is not None:
            diagnostics.append(error)
        else:
            assert module is not None
            context = FileContext(source, module)
            if document is not None:
                document.attach(context)  # the positions of unchanged statements
            # LibCST round-trips exactly: the module's code is the text it was parsed from,
            # so slicing node text needs no second code generation of the whole file.
            context.__dict__["_module_code"] = source.text
            if keep_context:
                result.context = context
            summarizer = ModuleSummarizer(context, relative_path) if summarize else None
            # An editor's document walks statement by statement, replaying the summaries
            # of unchanged statements (Document.walk).
            by_statement = (
                summarizer if document is not None and document.module is module else None
            )
            found, failed = _run_rules(
                context,
                relevant,
                result,
                (summarizer,) if summarizer and by_statement is None else (),
                document=document if by_statement is not None else None,
                by_statement=by_statement,
            )
            diagnostics.extend(found)
            if summarizer is not None and summarizer.code not in failed:
                result.summary = summarizer.finish_summary()
    enabled_codes = {rule.code for rule in enabled}
    diagnostics = [d for d in diagnostics if d.code in enabled_codes or d.code == "ML001"]
    suppressions = find_suppressions(
        source.text,
        string_rows=bool(diagnostics),
        multiline_strings=(
            None
            if context is None
            else (lambda: document.multiline_strings(context))
            if document is not None
            else (lambda: _multiline_strings(context))
        ),
        strings=(
            None
            if context is None
            else document.string_spans
            if document is not None
            else (lambda: _string_spans(context))
        ),
    )
    result.suppressions = suppressions
    if source.is_notebook:
        result.cells = source.cell_map()  # type: ignore[attr-defined]
        diagnostics.extend(source.cell_errors())  # type: ignore[attr-defined]
    result.diagnostics = _finish_diagnostics(diagnostics, suppressions, ruleset, result.cells)
    return result


def _multiline_strings(context: FileContext) -> list[tuple[int, int]]:
    """(first row, last row) of each string literal of the file that spans lines, outer
    f-strings before the strings nested in them: what tokenizing would find as STRING
    tokens over several lines, read from the tree that is already there."""
    from mllint.analysis import walk

    spans = []
    for node in walk.string_literals(context.module):
        if type(node) is not cst.SimpleString or "\n" in node.value:
            start, end = context.position(node)
            if end.row > start.row:
                spans.append((start.row, end.row))
    return spans


def _string_spans(context: FileContext) -> list[tuple[int, int]] | None:
    """(start, end) offsets of every string literal of the file, in source order, when
    positions were computed already (else None: tokenizing is cheaper than positions)."""
    from mllint.analysis import walk

    ranges = context.__dict__.get("_ranges")
    if ranges is None:
        return None
    return [ranges[id(node)] for node in walk.string_literals(context.module)]


def _finish_diagnostics(
    diagnostics: list[Diagnostic],
    suppressions: Suppressions,
    ruleset: RuleSet,
    cells: CellMap | None = None,
) -> list[Diagnostic]:
    """noqa row, suppression, notebook cell locations and severity overrides, in that
    order; sorted."""
    diagnostics = [replace(d, noqa_row=suppressions.noqa_row(d.location.row)) for d in diagnostics]
    diagnostics = apply_suppressions(diagnostics, suppressions)
    if cells is not None:  # rows of the concatenated code cells -> (cell, row in cell)
        diagnostics = cells.locate(diagnostics)
    overrides = ruleset.settings.severity
    if overrides:
        diagnostics = [
            d.with_severity(overrides[d.code]) if d.code in overrides else d for d in diagnostics
        ]
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _run_rules(
    context: FileContext,
    rule_classes: list[type[Rule]],
    result: FileResult,
    extra: tuple = (),
    *,
    document: Document | None = None,
    by_statement: ModuleSummarizer | None = None,
) -> tuple[list[Diagnostic], set[str]]:
    """Run the rules (and ``extra`` visitors, such as the project summariser) in one walk.

    With ``document`` and ``by_statement`` (the project summariser), the document walks
    its module statement by statement, replaying the summaries of unchanged statements
    (:meth:`Document.walk`).
    Returns the findings and the codes of the participants that failed.
    """
    source = context.source
    rules: list = []
    for rule_class in rule_classes:
        try:
            rules.append(rule_class(context))
        except Exception as error:
            result.internal_errors.append(
                InternalError(source.display_path, rule_class.code, repr(error), _format_exc())
            )
    # The regex pre-scan over-approximates imports; the import table is exact.
    rules = [
        rule
        for rule in rules
        if not type(rule).requires_imports
        or context.imports.imports_any(type(rule).requires_imports)
    ]
    separate = () if by_statement is None else (by_statement,)
    if not rules and not extra and not separate:
        return [], set()
    dispatcher = _Dispatcher(context, [*rules, *extra, *separate], result)
    try:
        if document is not None and separate and not dispatcher.handles_tokens():
            document.walk(dispatcher, by_statement)  # type: ignore[arg-type]
        else:
            dispatcher.run(context.module)
    except RecursionError:
        result.internal_errors.append(
            InternalError(
                source.display_path,
                None,
                "RecursionError: the file is nested too deeply to analyse",
                _format_exc(),
            )
        )
        return context.diagnostics, {
            participant.code for participant in [*rules, *extra, *separate]
        }
    for rule in rules:
        if rule.code in dispatcher.failed:
            continue
        try:
            rule.finish()
        except Exception as error:
            dispatcher.fail(rule, error)
    return context.diagnostics, dispatcher.failed


#: LibCST parses and visits recursively, one C and Python frame per nesting level, so a
#: deeply nested file overflows the default 8 MiB thread stack (a segfault, not an
#: exception). Files are therefore checked on a thread with a large stack and a
#: recursion limit to match; beyond it, a RecursionError is reported as a finding.
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 60_000


def run_with_large_stack(function: Callable[[], FileResult]) -> FileResult:
    """Run ``function`` on this process's large-stack thread and return its result (or
    raise its exception). The thread is started once per process (creating a thread with
    a 512 MiB stack for every file cost ~2.5 ms of wall time each) and serves callers
    one at a time; a call made on that thread itself runs directly."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    worker = _stack_worker()
    if threading.current_thread() is worker.thread:
        return function()
    done = threading.Lock()
    done.acquire()
    box: list = []
    worker.requests.put((function, done, box))
    done.acquire()  # released by the worker; interruptible (Ctrl-C) on the main thread
    succeeded, value = box[0]
    if not succeeded:
        raise value
    return value


@dataclass
class _StackWorker:
    """The worker process that runs deeply nested files on a large stack."""

    pid: int
    thread: threading.Thread
    requests: queue.SimpleQueue


_STACK_WORKER: _StackWorker | None = None
_STACK_WORKER_LOCK = threading.Lock()


def _stack_worker() -> _StackWorker:
    """This process's large-stack thread (a forked pool worker starts its own)."""
    global _STACK_WORKER
    worker = _STACK_WORKER
    if worker is not None and worker.pid == os.getpid():
        return worker
    with _STACK_WORKER_LOCK:
        if _STACK_WORKER is not None and _STACK_WORKER.pid == os.getpid():
            return _STACK_WORKER
        requests: queue.SimpleQueue = queue.SimpleQueue()
        previous = threading.stack_size()
        threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(
                target=_serve_large_stack, args=(requests,), name="mllint-check", daemon=True
            )
            thread.start()
        finally:
            threading.stack_size(previous)
        _STACK_WORKER = _StackWorker(os.getpid(), thread, requests)
        return _STACK_WORKER


def _serve_large_stack(requests: queue.SimpleQueue) -> None:
    while True:
        function, done, box = requests.get()
        try:
            box.append((True, function()))
        except BaseException as error:  # re-raised on the calling thread
            box.append((False, error))
        finally:
            done.release()


def check_path(
    path: Path, ruleset: RuleSet, display_path: str | None = None, raw: bytes | None = None
) -> FileResult:
    """Check one file (on a large-stack thread); never raises for a bad file. With
    ``raw``, the file's bytes as already read are checked instead of reading it again."""
    return run_with_large_stack(lambda: _check_path(path, ruleset, display_path, raw))


def _check_path(
    path: Path, ruleset: RuleSet, display_path: str | None, raw: bytes | None = None
) -> FileResult:
    display = display_path or os.fspath(path)
    relative = _relative_path(path, ruleset.settings.root)
    try:
        source = read_source(path, display, raw)
    except SourceReadError as error:
        return _io_error(display, str(error), ruleset)
    except SourceDecodeError as error:
        diagnostic = Diagnostic(
            code="ML001",
            name="syntax-error",
            message=f"{error.kind}: {error}",
            severity=Severity.ERROR,
            path=display,
            location=Location(error.row, error.column),
            end_location=Location(error.row, error.column),
        )
        return FileResult(path=display, diagnostics=[diagnostic])
    try:
        return check_source(source, ruleset, relative)
    except Exception as error:  # an engine bug: report it for this file and go on
        return FileResult(
            path=display,
            internal_errors=[
                InternalError(display, None, f"{type(error).__name__}: {error}", _format_exc())
            ],
        )


def _io_error(display: str, message: str, ruleset: RuleSet) -> FileResult:
    diagnostics = []
    if "ML003" in ruleset.settings.enabled:
        diagnostics.append(
            Diagnostic(
                code="ML003",
                name="io-error",
                message=f"Cannot read file: {message}",
                severity=ruleset.settings.severity.get("ML003", Severity.ERROR),
                path=display,
                location=Location(1, 1),
                end_location=Location(1, 1),
            )
        )
    return FileResult(path=display, diagnostics=diagnostics)


# -- many files ------------------------------------------------------------------------

_WORKER_RULESET: RuleSet | None = None


_WORKER_CACHE: ResultCache | None = None


def _init_worker(ruleset: RuleSet, cache: ResultCache | None = None) -> None:
    global _WORKER_RULESET, _WORKER_CACHE
    _WORKER_RULESET = ruleset
    _WORKER_CACHE = cache


def _check_in_worker(item: tuple[int, str, str, str | None]) -> tuple[int, FileResult]:
    assert _WORKER_RULESET is not None
    index, path, display, key = item
    return index, _check_and_store(Path(path), display, _WORKER_RULESET, _WORKER_CACHE, key)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


#: Runs of at least this many files remember the digests of unchanged files' contents
#: (reading and hashing a few files costs less than loading the memo).
DIGEST_MEMO_FILES = 64


@realpaths.remember_real_paths()  # folders' real paths, for the run
def check_files(
    files: Iterable[tuple[Path, str]],
    ruleset: RuleSet,
    *,
    jobs: int | None = None,
    cache: bool | ResultCache | None = None,
) -> RunResult:
    """Check ``(path, display_path)`` pairs, in parallel when worthwhile.

    With ``cache`` (True, or a :class:`mllint.cache.ResultCache`), files whose content,
    configuration and rules are unchanged since a previous run reuse its results (the
    project rules always run again, over the cached per-module summaries)."""
    items = [(os.fspath(path), display) for path, display in files]
    jobs = default_jobs() if jobs is None else max(1, jobs)
    store = _result_cache(ruleset, cache)
    if store is not None:
        store.remember_digests = len(items) >= DIGEST_MEMO_FILES
    found: list[FileResult | None] = [None] * len(items)
    pending: list[tuple[int, str, str, str | None]] = []
    if ruleset.has_project_rules and items:
        from mllint.analysis import projectfiles

        # git's file listings run on another core meanwhile (mllint.analysis.gitlisting).
        projectfiles.start_git_listings((path for path, _ in items), ruleset.settings.root)
    try:
        return _check_items(items, ruleset, jobs, store, found, pending)
    finally:
        if ruleset.has_project_rules:
            from mllint.analysis import gitlisting

            gitlisting.discard()


def _check_items(
    items: list[tuple[str, str]],
    ruleset: RuleSet,
    jobs: int,
    store: ResultCache | None,
    found: list[FileResult | None],
    pending: list[tuple[int, str, str, str | None]],
) -> RunResult:
    _load_cached(items, ruleset, store, found, pending)
    parallel = jobs > 1 and len(pending) >= PARALLEL_THRESHOLD
    if parallel:
        # Import the enabled rules once here rather than in every worker (they fork);
        # LibCST first, with its import cache (the rule modules import it plainly).
        from mllint.importcache import import_libcst

        import_libcst()
        for code, rule in ruleset.rules.items():
            if code in ruleset.settings.enabled:
                resolve_rule(rule)
        import multiprocessing  # here: a run that checks nothing new never starts a pool
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        # Largest files first, in small chunks: the workers finish at about the same time.
        pending.sort(key=lambda item: -_file_size(item[1]))
        chunksize = max(1, min(8, len(pending) // (jobs * 16)))
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(pending)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(ruleset, store),
        ) as pool:
            for index, result in pool.map(_check_in_worker, pending, chunksize=chunksize):
                found[index] = result
    else:
        for index, path, display, key in pending:
            found[index] = _check_and_store(Path(path), display, ruleset, store, key)
    results = [result for result in found if result is not None]
    context = _context_results(results, ruleset, store) if ruleset.has_project_rules else []
    kept: list[ProjectContext] = []
    project_errors = run_project_rules(results, ruleset, context, keep=kept, store=store)
    if store is not None:  # after the project phase's writes (its traces)
        if pending or store.writes:  # workers wrote entries too
            store.prune_after_run(all_writes_known=not parallel)
        store.save_digests()
    add_unused_noqa(results, ruleset)
    diagnostics = [d for result in results for d in result.diagnostics]
    diagnostics.sort(key=Diagnostic.sort_key)
    errors = [e for result in results for e in result.internal_errors] + project_errors
    errors.sort(key=lambda e: (e.path, e.rule or ""))
    return RunResult(
        diagnostics=diagnostics,
        internal_errors=errors,
        files_checked=len(items),
        project=kept[0] if kept else None,
    )


@gc_paused(lasting=True)  # thousands of summaries: each collection would traverse them all
def _load_cached(
    items: list[tuple[str, str]],
    ruleset: RuleSet,
    store: ResultCache | None,
    found: list[FileResult | None],
    pending: list[tuple[int, str, str, str | None]],
) -> None:
    """Fill ``found`` with the cached results; ``pending`` receives the files to check."""
    for index, (path, display) in enumerate(items):
        key = _cache_key(store, Path(path), display, ruleset) if store is not None else None
        if key is not None:
            hit = store.load(key)  # type: ignore[union-attr]
            if hit is not None:
                found[index] = hit
                continue
        pending.append((index, path, display, key))


def _result_cache(ruleset: RuleSet, cache: bool | ResultCache | None) -> ResultCache | None:
    if isinstance(cache, ResultCache):
        return cache
    if not cache:
        return None
    try:
        return ResultCache.for_run(ruleset)
    except Exception:  # no usable cache: run without one
        return None


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _cache_key(store: ResultCache, path: Path, display: str, ruleset: RuleSet) -> str | None:
    """The cache key of a file as it is now; None when it cannot be read (then the check
    reports why, and nothing is cached). An unchanged file's digest may come from the
    cache's memo instead of its bytes (see :mod:`mllint.cache`)."""
    try:
        digest = store.file_digest(os.fspath(path))  # never a pipe's or a device's bytes
    except (OSError, SourceReadError):
        return None
    return _digest_key(store, digest, path, display, ruleset)


def _content_key(
    store: ResultCache, content: bytes, path: Path, display: str, ruleset: RuleSet
) -> str:
    return _digest_key(store, content_digest(content), path, display, ruleset)


def _digest_key(store: ResultCache, digest: str, path: Path, display: str, ruleset: RuleSet) -> str:
    relative = _relative_path(path, ruleset.settings.root)
    return store.key_of_digest(digest, relative, display, ruleset.settings.ignored_for(relative))


def _check_and_store(
    path: Path, display: str, ruleset: RuleSet, store: ResultCache | None, key: str | None
) -> FileResult:
    """Check ``path`` and cache the result under the key of the bytes actually checked: the
    file is read once here, so an edit made after its key was first computed is never
    stored under the old content's key."""
    if store is None or key is None:
        return check_path(path, ruleset, display)
    try:
        content = read_regular_file(path)
    except (OSError, SourceReadError):  # gone or unreadable now: report it, cache nothing
        return check_path(path, ruleset, display)
    result = check_path(path, ruleset, display, content)
    store.store(_content_key(store, content, path, display, ruleset), result)
    return result


def _check_cached(
    path: Path, display: str, ruleset: RuleSet, store: ResultCache | None
) -> FileResult:
    key = _cache_key(store, path, display, ruleset) if store is not None else None
    if key is not None:
        hit = store.load(key)  # type: ignore[union-attr]
        if hit is not None:
            return hit
    return _check_and_store(path, display, ruleset, store, key)


#: Rounds of following imports into files that were not named on the command line.
_CONTEXT_ROUNDS = 20


def _module_files(name: str, importer: Path, root: Path) -> list[str]:
    """Files that ``import name`` (or ``from name import ...``) in ``importer`` may load,
    under ``root`` (normalised path strings). A run asks :class:`_ImportResolver`, which
    gives the same answers with the file system probed once per path."""
    level = len(name) - len(name.lstrip("."))
    parts = [part for part in name.lstrip(".").split(".") if part]
    for base in _search_bases(importer.parent, level, root):
        found = _files_below(base, parts, os.path.isfile)
        if found:
            return found
    return []


def _search_bases(parent: Path, level: int, root: Path) -> list[str]:
    """The folders searched for an import of ``level`` (dots) in a file in ``parent``."""
    if level:
        if level - 2 >= len(parent.parents):
            return []  # beyond the file system's top: Python's ImportError, no module
        return [os.fspath(parent.parents[level - 2] if level > 1 else parent)]
    # sys.path[0] is the script's folder; packages sit at the root or below src/.
    folders = [parent, *parent.parents]
    bases = [os.fspath(b) for b in folders if b == root or root in b.parents]
    bases.append(os.fspath(root / "src"))
    return bases


def _files_below(
    base: str,
    parts: list[str],
    is_file: Callable[[str], bool],
    is_dir: Callable[[str], bool] = os.path.isdir,
    levels: dict[tuple[str, str], tuple[str, list[str], bool]] | None = None,
) -> list[str]:
    """``a/b.py`` or ``a/b/__init__.py`` below ``base`` for ``parts`` ``["a", "b"]``: for
    ``a.b.f`` the module may be ``a.b`` and ``f`` a name in it, so the deepest module
    found. Found by walking down, level by level: below a level that is not a folder,
    nothing can be found (so ``torch.nn.functional.relu`` in a folder without ``torch``
    costs one probe of ``torch``, not four). ``levels`` remembers each level's probes, by
    folder and name (``.modeling_bert.BertModel``, ``.modeling_bert.BertLayer``, ...)."""
    found: list[str] = []
    stem = base
    last = len(parts) - 1
    for index, part in enumerate(parts):
        level = None if levels is None else levels.get((stem, part))
        if level is None:
            child = os.path.join(stem, part)
            package = os.path.join(child, "__init__.py")
            here = [candidate for candidate in (child + ".py", package) if is_file(candidate)]
            # A file `child/__init__.py` makes `child` a folder without asking.
            level = (child, here, bool(here) and here[-1] == package)
            if levels is not None:
                levels[stem, part] = level
        stem, here, package_found = level
        if here:
            found = here
        if index == last or not (package_found or is_dir(stem)):
            break
    return found


class _ImportResolver:
    """:func:`_module_files` for every import of every file of a run, with the file
    system probed once per path. An absolute import ``a.b.c`` looks first for ``a`` in
    each folder searched (``a.py`` or a folder ``a``): where there is neither, nothing
    below can be found, so a name is searched only in the folders that have its first
    part (``torch.nn.functional.relu`` is found nowhere in a project after one probe of
    ``torch`` per folder, for every name that starts with ``torch``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, bool] = {}
        self._folders: dict[str, bool] = {}
        self._bases: dict[tuple[str, int], list[str]] = {}
        self._below: dict[tuple[str, str], list[str]] = {}
        self._levels: dict[tuple[str, str], tuple[str, list[str], bool]] = {}
        #: (folder of the importer, level, first part) -> the folders searched that have it
        self._having: dict[tuple[str, int, str], list[str]] = {}
        self._has: dict[tuple[str, str], bool] = {}

    def is_file(self, path: str) -> bool:
        known = self._files.get(path)
        if known is None:
            known = self._files[path] = os.path.isfile(path)
        return known

    def is_dir(self, path: str) -> bool:
        known = self._folders.get(path)
        if known is None:
            known = self._folders[path] = os.path.isdir(path)
        return known

    def files(self, name: str, folder: str) -> list[str]:
        """``_module_files(name, <a file in folder>, root)``."""
        rest = name.lstrip(".")
        level = len(name) - len(rest)
        parts = rest.split(".")
        if "" in parts:  # `a..b` is `a.b`
            parts = [part for part in parts if part]
            if not parts:  # `from .. import x`: x is a module, searched for as `..x`
                return []
        first = parts[0]
        having = self._having.get((folder, level, first))
        if having is None:
            bases = self._bases.get((folder, level))
            if bases is None:
                bases = self._bases[folder, level] = _search_bases(Path(folder), level, self.root)
            having = self._having[folder, level, first] = [
                base for base in bases if self._has_first(base, first)
            ]
        for base in having:
            found = self._below.get((base, rest))
            if found is None:
                found = self._below[base, rest] = _files_below(
                    base, parts, self.is_file, self.is_dir, self._levels
                )
            if found:
                return found
        return []

    def _has_first(self, base: str, first: str) -> bool:
        """Whether ``_files_below(base, [first, ...])`` can find anything: ``first.py``
        is a file or ``first`` a folder (which ``first/__init__.py`` needs)."""
        known = self._has.get((base, first))
        if known is None:
            stem = os.path.join(base, first)
            known = self._has[base, first] = self.is_file(stem + ".py") or self.is_dir(stem)
        return known


@gc_paused(lasting=True)
def _context_results(
    results: list[FileResult], ruleset: RuleSet, store: ResultCache | None = None
) -> list[FileResult]:
    """Summaries of project modules that the checked files import but that were not named
    (pre-commit passes only the staged files): whole-program rules must still see a seeding
    helper in an unstaged ``utils/repro.py``. Their own findings are not reported."""
    memo = realpaths.active() or realpaths.RealPaths()
    real = {result.path: memo.real(result.path) for result in results}
    seen_names = set(real.values())  # loops too
    #: real path -> the module checked there; real path -> the other paths imports reach
    #: it by (through a symbolic link: `pkg -> real_pkg`), recorded on its summary.
    by_real = {real[result.path]: result for result in results if result.summary is not None}
    linked: dict[str, dict[str, None]] = {}
    root = ruleset.settings.root
    context: list[FileResult] = []
    pending = [result for result in results if result.summary is not None]
    # Many files import the same names from the same folder: probe the file system once.
    resolver = _ImportResolver(root)
    located: dict[str, dict[str, list[str]]] = {}  # folder -> name -> files

    for _ in range(_CONTEXT_ROUNDS):
        wanted: dict[Path, str] = {}
        for result in pending:
            importer = real.get(result.path)
            if importer is None:
                importer = memo.cheap(result.path) or os.fspath(Path(result.path).resolve())
            folder = _importer_folder(result.path, importer, root)
            here = located.get(folder)
            if here is None:
                here = located[folder] = {}
            for name in dict.fromkeys(_imported_names(result.summary)):
                found = here.get(name)
                if found is None:
                    found = here[name] = resolver.files(name, folder)
                for candidate in found:
                    if candidate in seen_names:
                        continue
                    key = os.fspath(Path(candidate).resolve())
                    if key in seen_names:
                        linked.setdefault(key, {})[candidate] = None
                        continue
                    # Judged where the import finds it: a link in the project to a folder
                    # outside it holds project code (an installed package is not found
                    # in the project's folders).
                    if _excluded_context(Path(candidate), ruleset):
                        continue
                    seen_names.add(key)
                    wanted[Path(candidate)] = key
        if not wanted:
            break
        pending = []
        for path, key in wanted.items():
            result = _check_cached(path, os.path.relpath(path), ruleset, store)
            result.diagnostics = []
            if result.summary is not None:
                pending.append(result)
                context.append(result)
                by_real[key] = result
    for key, paths in linked.items():
        found = by_real.get(key)
        if found is not None and found.summary is not None:
            _add_aliases(found.summary, paths, root)
    return context


def _importer_folder(display: str, real: str, root: Path) -> str:
    """The folder an importing file's imports are searched from: where the run found it
    (``pkg/train.py`` with ``pkg`` a link to a folder outside the project searches
    ``pkg`` and the project root, as the plain layout would) when that lies in the
    project, else its real folder."""
    folder = os.path.dirname(real)
    logical = os.path.dirname(os.path.abspath(display))
    if logical != folder and (logical == os.fspath(root) or _below(logical, root) is not None):
        return logical
    return folder


def _add_aliases(summary: ModuleSummary, paths: Iterable[str], root: Path) -> None:
    """Record on ``summary`` the other paths in the project by which imports reach its
    module (through a link: ``pkg -> real_pkg``): the project index names it by them too,
    so ``from pkg.utils import set_seed`` finds the module checked as ``real_pkg/utils.py``."""
    aliases = dict.fromkeys(summary.aliases)
    for path in paths:
        relative = _below(path, root)
        if relative is not None and relative != summary.relative:
            aliases[relative] = None
    if len(aliases) != len(summary.aliases):
        summary.aliases = tuple(sorted(aliases))


def _imported_names(summary: ModuleSummary) -> list[str]:
    names = []
    for function in summary.functions.values():
        for event in function.events:
            if event.kind == "import":
                names += [event.target or "", *event.data.get("also", [])]
            elif event.kind == "call" and event.target and not event.target.startswith("local:"):
                names.append(event.target)
    return [name for name in names if name]


def _excluded_context(path: Path, ruleset: RuleSet) -> bool:
    try:
        relative = path.relative_to(ruleset.settings.root).as_posix()
    except ValueError:
        return True  # outside the project: an installed package, not project code
    return ruleset.settings.exclude.match_file(relative)


@gc_paused(lasting=True)
def run_project_rules(
    results: list[FileResult],
    ruleset: RuleSet,
    context: list[FileResult] = (),
    keep: list[ProjectContext] | None = None,
    store: ResultCache | None = None,
) -> list[InternalError]:
    """Build the project index from the files' summaries (and those of ``context`` files,
    imported but not checked) and run the project rules; their findings join the results
    of the checked files they are reported on. ``keep`` receives the project context;
    ``store`` (the run's result cache) keeps the entry points' traces between runs."""
    project_rules = [
        rule
        for code, rule in ruleset.rules.items()
        if rule.scope == "project" and code in ruleset.settings.enabled
    ]
    summaries = [result.summary for result in [*results, *context] if result.summary is not None]
    if not project_rules or not summaries:
        return []
    try:
        project = ProjectContext(ProjectIndex(summaries, cache=store), ruleset.settings)
    except Exception as error:  # a bug in the index must not hide the per-file findings
        message = f"{type(error).__name__}: {error}"
        return [InternalError("<project>", None, message, _format_exc())]
    if keep is not None:
        keep.append(project)
    errors: list[InternalError] = []
    for rule in project_rules:
        try:
            rule_class = resolve_rule(rule)  # a LazyRule's module is imported here
            assert issubclass(rule_class, ProjectRule)
            rule_class(project).check()
        except Exception as error:
            errors.append(
                InternalError(
                    "<project>",
                    rule.code,
                    f"{type(error).__name__}: {error}",
                    _format_exc(),
                )
            )
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in project.diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    results.extend(_other_file_results(project, by_path, results, ruleset))
    for result in results:
        found = by_path.get(result.path)
        if not found:
            continue
        ignored = ruleset.settings.ignored_for(result.relative)
        found = [d for d in found if d.code not in ignored]
        suppressions = result.suppressions or Suppressions()
        result.diagnostics = sorted(
            result.diagnostics + _finish_diagnostics(found, suppressions, ruleset, result.cells),
            key=Diagnostic.sort_key,
        )
    return errors


def _other_file_results(
    project: ProjectContext,
    by_path: dict[str, list[Diagnostic]],
    results: list[FileResult],
    ruleset: RuleSet,
) -> list[FileResult]:
    """Results for the non-Python files (``.gitignore``, ``pyproject.toml``) that project
    rules reported on, with the ``#`` comment suppressions found in them."""
    checked = {result.path for result in results}
    extra = []
    for display, path in sorted(project.other_files.items()):
        if display in checked or display not in by_path:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""  # e.g. a .gitignore the finding asks to create
        extra.append(
            FileResult(
                path=display,
                relative=_relative_path(path, ruleset.settings.root),
                suppressions=find_comment_suppressions(text),
            )
        )
    return extra


def add_unused_noqa(results: list[FileResult], ruleset: RuleSet) -> None:
    """ML002, judged after every finding (project findings included) met the noqa comments."""
    known = set(ruleset.rules)
    for result in results:
        suppressions = result.suppressions
        # Only line directives can be unused (most files have none: nothing to judge).
        if suppressions is None or suppressions.file_ignored or not suppressions.line_directives:
            continue
        enabled = {rule.code for rule in ruleset.enabled_rules(result.relative)}
        if "ML002" not in enabled:
            continue
        unused = unused_noqa_diagnostics(
            suppressions, result.path, known, enabled, ruleset.rules["ML002"].severity
        )
        if unused:
            result.diagnostics = sorted(
                result.diagnostics
                + _finish_diagnostics(unused, Suppressions(), ruleset, result.cells),
                key=Diagnostic.sort_key,
            )


def crash_report(error: InternalError, *, debug: bool = False) -> str:
    where = f"rule {error.rule}" if error.rule else "the engine"
    text = (
        f"mllint {__version__}: internal error in {where} while checking {error.path}: "
        f"{error.message}\n"
        f"  This is a bug in mllint. Please report it at {PROJECT_URL}/issues with the "
        f"mllint version ({__version__}), the rule ({error.rule or 'engine'}), the traceback "
        "(--debug) and, if you can share it, the file.\n"
    )
    if debug:
        text += error.traceback
    else:
        text += "  Run with --debug to see the traceback.\n"
    return text


def with_display_paths(files: list[Path], cwd: Path) -> list[tuple[Path, str]]:
    pairs = []
    for path in files:
        try:
            display = os.path.relpath(path, cwd) if path.is_absolute() else os.fspath(path)
        except ValueError:
            display = os.fspath(path)
        pairs.append((path, display.replace(os.sep, "/")))
    return pairs


__all__ = [
    "FileResult",
    "InternalError",
    "RuleSet",
    "RunResult",
    "check_files",
    "check_path",
    "check_source",
    "crash_report",
]
