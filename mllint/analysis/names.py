"""Qualified names through imports and aliases, with a light per-file alias table.

LibCST's ``QualifiedNameProvider`` builds full scope analysis for every node, which
costs about ten times the parse. Rules mostly ask one question, "is this expression
``torch.load``?", and imports answer it: ``import torch as T`` binds ``T`` to ``torch``,
``from torch import load as L`` binds ``L`` to ``torch.load``. This module records those
bindings (at any depth: imports inside functions count for the whole file) and resolves
``Name``/``Attribute`` chains through them.

Limits, by design: assignments (``ld = torch.load``) and ``getattr`` are not followed,
and a local name that shadows an import in one function shadows it nowhere else.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from mllint.analysis.statements import nested_statements
from mllint.importcache import cst  # LibCST, imported when a file is parsed

_BUILTIN_NAMES = frozenset(dir(builtins))


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    # Exact types (LibCST's node classes have no subclasses): a failed isinstance on
    # LibCST's ABC-based classes costs ~0.7 us, and this runs ~20k times per 500 lines.
    kind = type(node)
    if kind is cst.Name:
        return node.value
    parts: list[str] = []
    while kind is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
        kind = type(node)
    if kind is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted_name(node) or ""


@dataclass
class ImportTable:
    """Local names bound by imports, mapped to the qualified names they stand for."""

    aliases: dict[str, str] = field(default_factory=dict)
    #: Top-level modules imported anywhere in the file (``torch`` for ``torch.nn``).
    imported_roots: set[str] = field(default_factory=set)
    #: Names bound in the file by something other than an import (def, class, assignment).
    locally_bound: set[str] = field(default_factory=set)
    #: id(node) -> (node, its resolution): a dozen rules ask about the same calls. The
    #: node is kept so that its id cannot be reused while the entry exists.
    _resolved: dict[int, tuple[cst.BaseExpression, str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_module(cls, module: cst.Module) -> ImportTable:
        collector = _ImportCollector()
        collector.visit(module)
        return collector.table

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name ``node`` refers to, or None when it is not evident."""
        known = self._resolved.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        resolved = self._resolve(node)
        self._resolved[id(node)] = (node, resolved)
        return resolved

    def _resolve(self, node: cst.BaseExpression) -> str | None:
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self.aliases.get(head)
        if target is None:
            if head in _BUILTIN_NAMES and head not in self.locally_bound:
                target = f"builtins.{head}"
            else:
                return None
        return f"{target}.{rest}" if rest else target

    def local_name_for(self, qualified: str) -> str | None:
        """A local name bound to exactly ``qualified`` (``T`` for ``torch`` after
        ``import torch as T``), preferring the plain module name; None when there is none.
        Fixes use it to spell a replacement the way the file already imports it."""
        if self.aliases.get(qualified) == qualified:
            return qualified
        candidates = sorted(
            name
            for name, target in self.aliases.items()
            if target == qualified and name not in self.locally_bound
        )
        return candidates[0] if candidates else None

    def imports_any(self, roots: frozenset[str] | set[str]) -> bool:
        return not roots or bool(self.imported_roots & roots)


class _ImportCollector:
    """Walks statements only (never expressions), which keeps the table cheap to build."""

    def __init__(self) -> None:
        self.table = ImportTable()

    def visit(self, module: cst.Module) -> None:
        for statement in module.body:
            self._statement(statement)

    def _statement(self, node: cst.CSTNode) -> None:
        if type(node) is cst.SimpleStatementLine:
            for small in node.body:
                self._small_statement(small)
        elif isinstance(node, cst.BaseSmallStatement):  # `if x: import y` on one line
            self._small_statement(node)
        else:
            self._compound(node)

    def _compound(self, node: cst.CSTNode) -> None:
        table = self.table
        if type(node) is cst.FunctionDef:
            table.locally_bound.add(node.name.value)
            for param in _all_params(node.params):
                table.locally_bound.add(param.name.value)
        elif type(node) is cst.ClassDef:
            table.locally_bound.add(node.name.value)
        elif type(node) is cst.For:
            self._bind(node.target)
        elif type(node) is cst.With:
            for item in node.items:
                if item.asname is not None:
                    self._bind(item.asname.name)
        for child in nested_statements(node):
            self._statement(child)

    def _small_statement(self, node: cst.BaseSmallStatement) -> None:
        if type(node) is cst.Import:
            self._import(node)
        elif type(node) is cst.ImportFrom:
            self._import_from(node)
        elif type(node) is cst.Assign:
            for target in node.targets:
                self._bind(target.target)
        elif type(node) in (cst.AnnAssign, cst.AugAssign):
            self._bind(node.target)

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            self.table.imported_roots.add(full.split(".")[0])
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                self.table.aliases[alias.asname.name.value] = full
            else:
                root = full.split(".")[0]
                self.table.aliases[root] = root

    def _import_from(self, node: cst.ImportFrom) -> None:
        dots = "." * len(node.relative)
        module = dots + _module_name(node.module)
        if not node.relative:
            self.table.imported_roots.add(module.split(".")[0])
        if type(node.names) is cst.ImportStar:
            return
        for alias in node.names:
            imported = _module_name(alias.name)
            local = imported
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                local = alias.asname.name.value
            separator = "" if module.endswith(".") else "."
            self.table.aliases[local] = f"{module}{separator}{imported}"

    def _bind(self, target: cst.BaseExpression) -> None:
        if type(target) is cst.Name:
            self.table.locally_bound.add(target.value)
        elif type(target) in (cst.Tuple, cst.List):
            for element in target.elements:
                self._bind(element.value)
        elif type(target) is cst.StarredElement:
            self._bind(target.value)


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if type(star) is cst.Param:
            found.append(star)
    return found
