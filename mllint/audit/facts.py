"""What the audit reads from a finished engine run: findings by rule, the project index and
its traces, and the imports of every module. Nothing here parses or analyses code again."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mllint.analysis.project import MODULE_BODY, ModuleSummary, Traced
from mllint.diagnostic import Diagnostic
from mllint.engine import RunResult


@dataclass
class Facts:
    result: RunResult
    root: Path
    #: The codes of the rules that ran.
    enabled: frozenset[str]
    settings: object = None
    _function_names: dict = field(default_factory=dict, repr=False)

    # -- findings ---------------------------------------------------------------

    def findings(self, codes: tuple[str, ...]) -> list[Diagnostic]:
        return [d for d in self.result.diagnostics if d.code.startswith(codes)]

    # -- the project index --------------------------------------------------------

    @property
    def project(self):
        return self.result.project

    @cached_property
    def modules(self) -> list[ModuleSummary]:
        return list(self.project.index.modules) if self.project is not None else []

    @cached_property
    def entry_points(self) -> list[ModuleSummary]:
        return self.project.index.entry_points() if self.project is not None else []

    def trace(self, entry: ModuleSummary) -> list[Traced]:
        return self.project.trace(entry)

    def events(self, entry: ModuleSummary, *kinds: str) -> list[Traced]:
        return [traced for traced in self.trace(entry) if traced.event.kind in kinds]

    @cached_property
    def training_entries(self) -> list[tuple[ModuleSummary, Traced]]:
        """Entry points that train a model, with their first training step."""
        found = []
        for entry in self.entry_points:
            steps = self.events(entry, "train")
            if steps:
                found.append((entry, steps[0]))
        return found

    def modules_importing(self, *prefixes: str) -> list[ModuleSummary]:
        """Modules (tests excluded) that import a name starting with one of ``prefixes``
        (``"sklearn"`` matches ``sklearn.preprocessing.StandardScaler``)."""
        found = []
        for module in self.modules:
            if module.is_test:
                continue
            if any(_matches(qualified, prefixes) for qualified in module.imports.values()):
                found.append(module)
        return found

    def function_of(self, traced: Traced) -> str | None:
        """The name of the function holding a traced event (None at module level)."""
        key = (traced.module.relative, id(traced.event))
        if key not in self._function_names:
            name = None
            for function in traced.module.functions.values():
                if any(event is traced.event for event in function.events):
                    name = function.name
                    break
            self._function_names[key] = None if name == MODULE_BODY else name
        return self._function_names[key]

    def describe(self, traced: Traced, entry: ModuleSummary) -> tuple[str, int]:
        """How an entry point does something, and the line of ``entry`` where it happens:
        ("by `torch.manual_seed(0)`", 12), or through a helper in another place:
        ("via utils/repro.py:12 `seed_all`", 40) for the call ``seed_all(...)`` on line 40."""
        event = traced.event
        function = self.function_of(traced)
        anchor = traced.anchor(entry)
        text = closed(event.text)
        if traced.module is entry and (function is None or anchor.event is event):
            return f"by `{text}`", event.line
        where = f"{traced.module.path}:{event.line}"
        what = f"`{function}`" if function else f"`{text}`"
        line = anchor.event.line if anchor.module is entry else event.line
        return f"via {where} {what}", line


def closed(text: str) -> str:
    """A call cut short in the index (``torch.save(...``) shown closed."""
    if text.endswith("...") and text.count("(") > text.count(")"):
        return text + ")" * (text.count("(") - text.count(")"))
    return text


def _matches(qualified: str, prefixes: tuple[str, ...]) -> bool:
    return any(qualified == prefix or qualified.startswith(prefix + ".") for prefix in prefixes)
