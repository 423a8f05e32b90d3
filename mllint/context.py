"""FileContext: one parsed file and the analysis every rule shares while visiting it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mllint.analysis.names import ImportTable
from mllint.diagnostic import Applicability, Diagnostic, Edit, Fix, Location, Severity
from mllint.importcache import cst  # LibCST, imported when a file is parsed
from mllint.source import SourceFile

if TYPE_CHECKING:
    from mllint.analysis.positions import LineIndex
    from mllint.rule import Rule

T = TypeVar("T")


class FileContext:
    """Shared, lazily computed facts about one file.

    Positions and parents cost as much as the parse itself for a large file, so they are
    computed only when a rule first asks (in practice: when a finding is reported).
    """

    def __init__(self, source: SourceFile, module: cst.Module) -> None:
        self.source = source
        self.module = module
        self.diagnostics: list[Diagnostic] = []
        #: Nodes from the module down to the parent of the node being visited.
        self.ancestors: list[cst.CSTNode] = []
        #: For each fix offered, the CST replacement (used when fixes are applied).
        self.replacements: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
        # here: ProjectContext needs no LibCST; from the submodule: the package's __init__
        # imports every provider (mllint.importcache leaves it lazy)
        from libcst.metadata.wrapper import MetadataWrapper

        self._wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self._cache: dict[object, object] = {}

    # -- shared analysis ---------------------------------------------------------

    @cached_property
    def imports(self) -> ImportTable:
        return ImportTable.from_module(self.module)

    def cached(self, key: object, factory: Callable[[], T]) -> T:
        """A per-file value computed once by ``factory`` and shared by every rule that asks
        with the same ``key`` (e.g. the training loops of the file)."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]  # type: ignore[return-value]

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """``torch.load`` for ``T.load`` after ``import torch as T``; None if unknown."""
        return self.imports.resolve(node)

    def call_name(self, call: cst.Call) -> str | None:
        return self.imports.resolve(call.func)

    @cached_property
    def _ranges(self) -> dict[int, tuple[int, int]] | None:
        from mllint.analysis.positions import compute_ranges

        try:
            return compute_ranges(self.module)
        except Exception:  # LibCST internals changed: fall back to its own provider
            return None

    @cached_property
    def _line_index(self) -> LineIndex:
        from mllint.analysis.positions import LineIndex

        return LineIndex(self._module_code)

    @cached_property
    def _positions(self):
        from libcst.metadata.position_provider import PositionProvider

        return self._wrapper.resolve(PositionProvider)

    @cached_property
    def _parents(self):
        from libcst.metadata.parent_node_provider import ParentNodeProvider

        return self._wrapper.resolve(ParentNodeProvider)

    def position(self, node: cst.CSTNode) -> tuple[Location, Location]:
        """1-based (start, end) of ``node``, columns counted in characters."""
        ranges = self._ranges
        if ranges is not None and id(node) in ranges:
            start, end = ranges[id(node)]
            (start_line, start_column) = self._line_index.line_column(start)
            (end_line, end_column) = self._line_index.line_column(end)
            return Location(start_line, start_column + 1), Location(end_line, end_column + 1)
        code_range = self._positions[node]
        return (
            Location(code_range.start.line, code_range.start.column + 1),
            Location(code_range.end.line, code_range.end.column + 1),
        )

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The parent of ``node``: from the visit stack when possible, else computed."""
        if self.ancestors and self.ancestors[-1] is not node:
            for index in range(len(self.ancestors) - 1, 0, -1):
                if self.ancestors[index] is node:
                    return self.ancestors[index - 1]
        return self._parents.get(node)

    def enclosing(self, *types: type[cst.CSTNode]) -> cst.CSTNode | None:
        """The innermost ancestor of the current node that is one of ``types``."""
        for node in reversed(self.ancestors):
            if isinstance(node, types):
                return node
        return None

    def code(self, node: cst.CSTNode) -> str:
        """The source text of ``node``: a slice of the file when the node is in its tree
        (cheap once positions exist), else generated (e.g. for a fix's new node)."""
        ranges = self.__dict__.get("_ranges")
        if ranges is not None and id(node) in ranges:
            start, end = ranges[id(node)]
            return self._module_code[start:end]
        return self.module.code_for_node(node)

    @cached_property
    def _module_code(self) -> str:
        return self.module.code

    # -- reporting ---------------------------------------------------------------

    def replacement_fix(
        self,
        node: cst.CSTNode,
        replacement: cst.CSTNode,
        message: str,
        applicability: Applicability,
    ) -> Fix:
        """A fix that replaces ``node`` by ``replacement`` (one edit over its span)."""
        start, end = self.position(node)
        self.replacements[id(node)] = (node, replacement)
        edit = Edit(self.code(replacement), start, end)
        return Fix(applicability=applicability, message=message, edits=(edit,))

    def add_diagnostic(
        self,
        rule: Rule,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> None:
        start, end = self.position(node)
        self.diagnostics.append(
            make_diagnostic(rule, self.source.display_path, start, end, message, fix, severity)
        )


def make_diagnostic(
    rule: Rule,
    path: str,
    start: Location,
    end: Location,
    message: str,
    fix: Fix | None,
    severity: Severity | None,
) -> Diagnostic:
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        message=message,
        severity=severity or rule.severity,
        path=path,
        location=start,
        end_location=end,
        fix=fix,
        url=rule.url(),
    )


class ProjectContext:
    """What project rules share: the index, and the findings they report."""

    def __init__(self, index, settings=None) -> None:  # a ProjectIndex; config Settings
        self.index = index
        #: The run's effective configuration (None when a caller builds a context by hand).
        self.settings = settings
        self.diagnostics: list[Diagnostic] = []
        #: Display path -> absolute path of the non-Python files (``.gitignore``,
        #: ``pyproject.toml``) that findings were reported on (mllint.analysis.projectfiles).
        self.other_files: dict[str, Path] = {}
        self._traces: dict[str, list] = {}
        self._cache: dict[object, object] = {}

    def cached(self, key: object, factory: Callable[[], T]) -> T:
        """A per-run value computed once by ``factory``, shared by every project rule."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]  # type: ignore[return-value]

    def trace(self, entry) -> list:
        """The (cached) trace of an entry point, shared by every project rule."""
        if entry.relative not in self._traces:
            self._traces[entry.relative] = self.index.trace(entry)
        return self._traces[entry.relative]

    def add_diagnostic(
        self,
        rule: Rule,
        path: str,
        span,
        message: str,
        *,
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> None:
        start = Location(span.line, span.column)
        end = Location(span.end_line, span.end_column)
        self.diagnostics.append(make_diagnostic(rule, path, start, end, message, fix, severity))
