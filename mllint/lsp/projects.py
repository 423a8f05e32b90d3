"""The server's projects: settings, per-module summaries and open documents, linted in memory.

A project is what ``mllint check .`` run in its root would see: the directory holding the
configuration file that applies to a document (found exactly as the CLI finds it), or,
without one, the workspace folder holding the document. Its configuration is read with
the CLI's own functions.

Whole-program rules (seed-not-set, ...) need every module's summary. They are computed
once per project from the files on disk (``index_next`` does one file at a time, so edits
are never stuck behind a long indexing run); afterwards an edit replaces only the edited
module's summary (computed by the same parse that runs the file rules), the project index
is rebuilt from the summaries (cheap: no parsing) and the project rules run again. Until
the index is complete, documents get their file rules' findings only (a project rule judged
on half a project would report seeds that are merely not indexed yet).

Nothing here knows about LSP; the server turns paths and findings into its types.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from mllint.analysis.project import ModuleSummary
from mllint.config import Options, Settings, build_settings, find_config_file, read_options
from mllint.diagnostic import Diagnostic
from mllint.discovery import discover, is_git_ignored
from mllint.engine import (
    FileResult,
    InternalError,
    RuleSet,
    add_unused_noqa,
    check_source,
    run_project_rules,
)
from mllint.incremental import Document
from mllint.rule import Rule
from mllint.source import SourceDecodeError, SourceFile, SourceReadError, read_source

#: The file names whose change may change a project's settings.
CONFIG_NAMES = frozenset({"pyproject.toml", "mllint.toml", ".mllint.toml"})

#: Suffixes of the documents the server lints.
LINTED_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass
class OpenDocument:
    """A document the editor has open: its text as linted and its file-level result."""

    path: Path
    source: SourceFile
    version: int | None
    #: the file rules' findings (noqa applied), its summary and its noqa comments
    result: FileResult


@dataclass
class Outcome:
    """What a lint pass produced: final findings per open document, and internal errors."""

    diagnostics: dict[Path, list[Diagnostic]] = field(default_factory=dict)
    errors: list[InternalError] = field(default_factory=list)


def project_key(path: Path, folders: list[Path]) -> tuple[Path | None, Path | None]:
    """(configuration file, root) for a document: the CLI's configuration file if there is
    one (its directory is the root), else the innermost workspace folder holding it (None
    for a document outside every folder: it is linted on its own)."""
    config = find_config_file(path.parent) if path.parent.is_dir() else None
    if config is not None:
        return config, config.parent
    holding = [folder for folder in folders if folder == path or folder in path.parents]
    return None, max(holding, key=lambda folder: len(folder.parts)) if holding else None


def load_project_settings(
    rules: dict[str, type[Rule]], config: Path | None, root: Path
) -> Settings:
    """The settings ``mllint check`` uses for this configuration file (raises ConfigError)."""
    file_options = read_options(config) if config is not None else None
    return build_settings(rules, file_options, Options(), root, config)


class Project:
    """One project: its settings, the summaries of its modules and its open documents."""

    def __init__(
        self,
        rules: dict[str, type[Rule]],
        settings: Settings,
        *,
        config: Path | None,
        root: Path,
        index_files: bool = True,
    ) -> None:
        self.rules = rules
        self.config = config
        self.root = root
        self.index_files = index_files
        self.documents: dict[Path, OpenDocument] = {}
        #: per open document, what the next check reuses (mllint.incremental)
        self.parses: dict[Path, Document] = {}
        #: every module's summary: from disk, or from the editor's text while it is open
        self.summaries: dict[Path, ModuleSummary] = {}
        self._to_index: list[Path] = []
        self.indexed = False
        self.apply_settings(settings)

    # -- settings --------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> None:
        """Use new settings (the configuration changed): the index is rebuilt lazily."""
        self.settings = settings
        self.ruleset = RuleSet(self.rules, settings)
        # Summarising a module needs no file rule: only the project rules' participation.
        project_rules = {c: r for c, r in self.rules.items() if r.scope == "project"}
        self._summary_ruleset = RuleSet(project_rules, settings)
        self.summaries = {}
        self.indexed = False
        self._to_index = []
        if self.ruleset.has_project_rules and self.index_files:
            files = discover([self.root], settings).files
            self._to_index = [path.resolve() for path in files]
        elif not self.ruleset.has_project_rules:
            self.indexed = True  # nothing to index: no project rule is enabled
        if not self._to_index:
            self.indexed = True

    # -- paths -----------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def display(self, path: Path) -> str:
        """How findings name the file: relative to the project root, as the CLI run there."""
        return self.relative(path)

    def contains(self, path: Path) -> bool:
        return path == self.root or self.root in path.parents

    # -- indexing --------------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        return not self.indexed

    def index_next(self) -> bool:
        """Summarise one more file from disk; True when this completed the index."""
        while self._to_index:
            path = self._to_index.pop()
            if path in self.documents:
                continue  # the open document's own summary is the one that counts
            summary = self._summarize_disk(path)
            if summary is not None:
                self.summaries[path] = summary
            break
        if not self._to_index and not self.indexed:
            self.indexed = True
            return True
        return False

    def _summarize_disk(self, path: Path) -> ModuleSummary | None:
        try:
            source = read_source(path, self.display(path))
        except (SourceReadError, SourceDecodeError):
            return None
        try:
            return check_source(source, self._summary_ruleset, self.relative(path)).summary
        except Exception:  # an engine bug on one file must not stop the server
            return None

    def excluded(self, path: Path) -> bool:
        """An open document that the configuration's excludes leave out (generated code,
        a virtual environment): like ``mllint check .``, the server reports nothing there."""
        return (
            self.index_files
            and self.contains(path)
            and bool(self.settings.exclude.match_file(self.relative(path)))
        )

    def indexable(self, path: Path) -> bool:
        """Whether ``mllint check`` run in the root would check this file (include
        patterns, excludes and .gitignore files)."""
        if not self.index_files or not self.contains(path) or not path.is_file():
            return False
        if not self.settings.includes(self.relative(path)):
            return False
        if is_git_ignored(path, self.settings):  # named files skip .gitignore in discover
            return False
        return bool(discover([path], self.settings, force_exclude=True).files)

    def file_changed_on_disk(self, path: Path) -> None:
        """A module changed (or appeared, or went away) outside the editor."""
        if path in self.documents or not self.ruleset.has_project_rules:
            return
        if not self.indexable(path):
            self.summaries.pop(path, None)
            return
        if not self.indexed:
            if path not in self._to_index:
                self._to_index.append(path)
            return
        summary = self._summarize_disk(path)
        if summary is None:
            self.summaries.pop(path, None)
        else:
            self.summaries[path] = summary

    # -- documents -------------------------------------------------------------------

    def lint(self, path: Path, source: SourceFile, version: int | None) -> OpenDocument:
        """Run the file rules on the editor's text; its summary replaces the module's.
        The same text as last time (a save, an undo back to it) is not checked again."""
        known = self.documents.get(path)
        if known is not None and _same_text(known.source, source):
            known.version = version
            return known
        relative = self.relative(path)
        parse = self.parses.setdefault(path, Document())
        result = check_source(source, self.ruleset, relative, document=parse)
        document = OpenDocument(path, source, version, result)
        self.documents[path] = document
        if result.summary is not None:  # (text that does not parse keeps the last summary)
            self.summaries[path] = result.summary
        return document

    def close(self, path: Path) -> None:
        """The editor closed the document: the module is what is on disk again."""
        self.documents.pop(path, None)
        self.parses.pop(path, None)
        self.summaries.pop(path, None)
        if self.ruleset.has_project_rules and self.indexable(path):
            summary = self._summarize_disk(path)
            if summary is not None:
                self.summaries[path] = summary

    def finish(self) -> Outcome:
        """Every open document's findings: its file findings, the project rules' findings
        on it (judged on the current summaries) and unused noqa comments."""
        outcome = Outcome()
        results = {
            path: replace(
                document.result,
                diagnostics=list(document.result.diagnostics),
                suppressions=copy.deepcopy(document.result.suppressions),
            )
            for path, document in self.documents.items()
        }
        checked = list(results.values())
        if self.indexed:
            context = [
                FileResult(path=self.display(path), relative=self.relative(path), summary=summary)
                for path, summary in self.summaries.items()
                if path not in results
            ]
            if self.ruleset.has_project_rules:
                outcome.errors.extend(run_project_rules(checked, self.ruleset, context))
            add_unused_noqa(checked, self.ruleset)
        for path, result in results.items():
            outcome.diagnostics[path] = result.diagnostics
            outcome.errors.extend(self.documents[path].result.internal_errors)
        return outcome


def _same_text(old: SourceFile, new: SourceFile) -> bool:
    if old.is_notebook or new.is_notebook:
        return old.is_notebook and new.is_notebook and old.raw == new.raw
    return old.text == new.text


def source_from_text(path: Path, display: str, text: str) -> SourceFile:
    """A SourceFile for an editor's in-memory text of a Python file."""
    newline = "\r\n" if "\r\n" in text else "\n"
    return SourceFile(
        path=path,
        display_path=display,
        raw=text.encode("utf-8", "surrogatepass"),
        text=text,
        newline=newline,
    )


def is_config_file(path: Path) -> bool:
    return path.name in CONFIG_NAMES


def is_linted(path: Path) -> bool:
    return path.suffix in LINTED_SUFFIXES


def resolved(path: str | os.PathLike) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(os.path.abspath(path))
