"""``mllint server``: the Language Server Protocol over stdio (pygls).

Threads: pygls reads and answers messages on its asyncio loop; every change to the
projects (linting, indexing, configuration reloads) happens on one worker thread, in
order, so the projects need no locks. A change to a document is snapshotted and handed
to the worker at once (no debounce by default: a check of an edit re-parses only what
changed, see mllint.incremental, and waiting would only add to the latency); while the
worker is busy, newer snapshots replace older ones (the latest text wins), so a burst
of keystrokes costs one lint per lint's duration, not one per keystroke, and the
findings of a version that is already stale when its lint ends are dropped, never
published. ``initializationOptions: {"debounce": N}`` waits N ms after the last change
instead. Results go back to the loop to be sent.

Positions: mllint counts columns in characters; the client in the negotiated position
encoding (UTF-16 unless it offers another), converted here line by line.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from mllint import __version__
from mllint.config import ConfigError
from mllint.diagnostic import Applicability, Diagnostic, Severity
from mllint.engine import RECURSION_LIMIT, STACK_BYTES, crash_report, run_with_large_stack
from mllint.gcpause import gc_paused
from mllint.lsp.edits import (
    NOQA_EXEMPT,
    TextEdit,
    fix_all,
    fix_edits,
    line_diff,
    noqa_code_at,
    noqa_edits,
)
from mllint.lsp.projects import (
    Outcome,
    Project,
    is_config_file,
    is_linted,
    load_project_settings,
    project_key,
    source_from_text,
)
from mllint.notebook import read_notebook
from mllint.rule import Rule, all_rules
from mllint.source import SourceDecodeError, SourceFile

logger = logging.getLogger("mllint.lsp")

#: Default delay between the last change and linting, in milliseconds
#: (``initializationOptions: {"debounce": N}`` changes it). 0: the worker coalesces
#: changes itself (the newest text is linted next, stale findings are dropped).
DEFAULT_DEBOUNCE_MS = 0

SOURCE = "mllint"

#: Idle garbage collections between two that also look at the frozen objects.
UNFREEZE_EVERY = 50
#: How long the worker waits for the loop to write the findings it published (seconds).
SENT_TIMEOUT = 0.2
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.mllint"

_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


# -- paths and positions ----------------------------------------------------------


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return None
    path = url2pathname(unquote(parsed.path))
    if parsed.netloc:  # a UNC path
        path = f"//{parsed.netloc}{path}"
    try:
        return Path(path).resolve()
    except OSError:
        return Path(os.path.abspath(path))


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def to_client_column(line: str, column: int, encoding: str) -> int:
    """A 0-based character column of ``line`` in the client's units."""
    column = max(0, column)
    if column > len(line) or line.isascii():
        return column if line.isascii() else _units(line, encoding) + column - len(line)
    return _units(line[:column], encoding)


def to_character(line: str, units: int, encoding: str) -> int:
    """A 0-based column in the client's units -> a 0-based character column."""
    if line.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return units
    counted = 0
    for index, char in enumerate(line):
        if counted >= units:
            return index
        counted += _units(char, encoding)
    return len(line)


class Lines:
    """The lines of a text, as the analysis numbers them (1-based rows)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")

    def line(self, row: int) -> str:
        if 1 <= row <= len(self.lines):
            return self.lines[row - 1].rstrip("\r")
        return ""

    def position(self, row: int, column: int, encoding: str) -> types.Position:
        """1-based row and column (characters) -> an LSP position."""
        row = max(1, row)
        if row > len(self.lines):
            last = self.line(len(self.lines))
            return types.Position(len(self.lines) - 1, to_client_column(last, len(last), encoding))
        return types.Position(row - 1, to_client_column(self.line(row), column - 1, encoding))

    def edit(self, edit: TextEdit, encoding: str) -> types.TextEdit:
        start_row, start_col, end_row, end_col, content = edit
        return types.TextEdit(
            range=types.Range(
                self.position(start_row + 1, start_col + 1, encoding),
                self.position(end_row + 1, end_col + 1, encoding),
            ),
            new_text=content,
        )


# -- what the worker publishes ----------------------------------------------------


@dataclass
class Published:
    """A document's state as last linted: what code actions and hovers work from."""

    uri: str
    path: Path
    version: int | None
    source: SourceFile
    project: Project
    diagnostics: list[Diagnostic]
    #: for a notebook: the cell document URIs, in order (cell n is cells[n - 1]),
    #: and their texts as linted
    cells: list[str] | None = None
    cell_texts: list[str] | None = None

    def lines(self, cell: int | None) -> Lines:
        if self.cells is not None and self.cell_texts is not None and cell is not None:
            return Lines(self.cell_texts[cell - 1])
        return Lines(self.source.text)

    def uri_of(self, cell: int | None) -> str:
        if self.cells is not None and cell is not None and 1 <= cell <= len(self.cells):
            return self.cells[cell - 1]
        return self.uri


@dataclass
class Snapshot:
    """A document's text at one version, taken on the loop for the worker."""

    uri: str
    path: Path
    version: int | None
    text: str = ""
    #: for a notebook: (cell uri, kind "code"/"markdown", language, text) per cell
    cells: list[tuple[str, str, str, str]] | None = None


def notebook_source(path: Path, display: str, cells: list[tuple[str, str, str, str]]) -> SourceFile:
    """The editor's notebook as a NotebookSource: its cells written out as nbformat 4 JSON
    and read back by mllint's own reader, so cells map to lines exactly as for a file."""
    notebook_cells: list[dict[str, Any]] = []
    for _uri, kind, language, text in cells:
        lines = text.splitlines(keepends=True)  # as Jupyter writes a cell's source
        if kind == "code":
            cell: dict[str, Any] = {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": lines,
            }
            if language.lower() != "python":
                cell["metadata"] = {"vscode": {"languageId": language}}
        else:
            cell = {"cell_type": "markdown", "metadata": {}, "source": lines}
        notebook_cells.append(cell)
    document = {
        "cells": notebook_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return read_notebook(json.dumps(document, indent=1).encode("utf-8"), path, display)


# -- the worker -------------------------------------------------------------------


class Worker:
    """One thread that owns the projects: lints snapshots (latest wins), runs jobs in
    order, and indexes projects a file at a time when there is nothing else to do."""

    def __init__(self, server: MllintServer) -> None:
        self.server = server
        self.condition = threading.Condition()
        self.pending: dict[str, Snapshot] = {}
        self.jobs: deque[Callable[[], None]] = deque()
        self.stopped = False
        self.idle_collections = 0
        # LibCST recurses once per nesting level: the worker gets the engine's large stack.
        if sys.getrecursionlimit() < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        previous = threading.stack_size()
        threading.stack_size(STACK_BYTES)
        try:
            self.thread = threading.Thread(target=self._run, name="mllint-lsp", daemon=True)
            self.thread.start()
        finally:
            threading.stack_size(previous)

    def lint(self, snapshot: Snapshot) -> None:
        with self.condition:
            self.pending[snapshot.uri] = snapshot
            self.condition.notify()

    def has_newer(self, uri: str) -> bool:
        """Whether a newer text of ``uri`` waits to be linted (findings now are stale)."""
        with self.condition:
            return uri in self.pending

    def submit(self, job: Callable[[], None]) -> None:
        with self.condition:
            self.jobs.append(job)
            self.condition.notify()

    def stop(self) -> None:
        with self.condition:
            self.stopped = True
            self.condition.notify()

    def _run(self) -> None:
        while True:
            with self.condition:
                while (
                    not self.stopped
                    and not self.jobs
                    and not self.pending
                    and not self.server.indexing_projects()
                ):
                    self.condition.wait()
                if self.stopped:
                    return
                job = self.jobs.popleft() if self.jobs else None
                snapshots = [] if job else list(self.pending.values())
                if not job:
                    self.pending.clear()
            try:
                if job is not None:
                    job()
                elif snapshots:
                    # The collector runs after the findings are out, not in between: the
                    # loop thread writes them, and a collection (the one the engine's
                    # re-enabling triggers, or the idle one below) would hold the GIL.
                    with gc_paused():
                        self.server.lint_snapshots(snapshots)
                        self.server.wait_sent(SENT_TIMEOUT)
                else:
                    self.server.index_step()
            except Exception as error:  # the server must outlive any bug of ours
                logger.exception("mllint worker failed")
                self.server.log(f"mllint: internal error: {type(error).__name__}: {error}")
            with self.condition:
                idle = not self.jobs and not self.pending
            if idle and not self.server.indexing_projects():
                self.collect_garbage()

    def collect_garbage(self) -> None:
        """Collect garbage while nothing waits, and freeze what survives (the open
        documents' trees, the project index: hundreds of thousands of objects), so that
        the collections the next lint triggers only look at objects newer than that. A
        full collection of everything costs ~100 ms; after a freeze, ~5 ms. Objects frozen
        are still freed when nothing refers to them; now and then everything is unfrozen
        and collected, for the rare frozen object that ends up in a garbage cycle."""
        self.idle_collections += 1
        if self.idle_collections % UNFREEZE_EVERY == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()


# -- the server -------------------------------------------------------------------


@dataclass
class _Answered:
    """A message already answered with an error: pygls ignores it (not JSON-RPC 2.0)."""

    jsonrpc: str = "answered"


class _Protocol(LanguageServerProtocol):
    """pygls drops a request whose parameters do not fit its method's types (it only shows
    a message), and the client then waits forever for the answer; here such a request is
    answered with JSON-RPC's invalid-params error."""

    def structure_message(self, data: dict[str, Any]):  # type: ignore[override]
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], None, error.to_response_error())
                return _Answered()
            raise


class MllintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "mllint",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithNotebook(notebook="jupyter-notebook")
                ],
                save=True,
            ),
            protocol_cls=_Protocol,
        )
        self.debounce = DEFAULT_DEBOUNCE_MS / 1000
        #: log how each lint parsed (``initializationOptions: {"stats": true}``)
        self.parse_stats = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self._rules: dict[str, type[Rule]] | None = None
        # Owned by the worker thread:
        self.projects: dict[tuple[Path | None, Path], Project] = {}
        self.config_errors: dict[tuple[Path | None, Path], str] = {}
        self.keys: dict[Path, tuple[Path | None, Path | None]] = {}
        self.open_paths: dict[Path, str] = {}  # path -> document uri
        self.last_sent: dict[str, list[types.Diagnostic]] = {}
        self._snapshots: dict[Path, Snapshot] = {}  # the text of each open document
        self.reported: set[tuple[str, str | None, str]] = set()  # internal errors logged
        # Read by the loop (code actions, hover), replaced whole by the worker:
        self.published: dict[str, Published] = {}
        self.cell_owner: dict[str, tuple[str, int]] = {}  # cell uri -> (notebook uri, cell)
        self.worker: Worker | None = None

    # -- helpers used by both threads ----------------------------------------------

    @property
    def rules(self) -> dict[str, type[Rule]]:
        if self._rules is None:
            self._rules = all_rules()
        return self._rules

    @property
    def encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return encoding.value if hasattr(encoding, "value") else str(encoding or "utf-16")

    def folders(self) -> list[Path]:
        folders = []
        for folder in self.workspace.folders.values():
            path = uri_to_path(folder.uri)
            if path is not None:
                folders.append(path)
        if not folders and self.workspace.root_uri:
            root = uri_to_path(self.workspace.root_uri)
            if root is not None:
                folders.append(root)
        return folders

    def send(self, function: Callable[..., None], *args: object) -> None:
        """Call ``function`` on the loop (pygls writes from its own thread)."""
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(function, *args)

    def wait_sent(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until the loop has run what was sent so far
        (its callbacks run in order; pygls writes each message in its callback)."""
        if self.loop is None or self.loop.is_closed():
            return
        done = threading.Event()
        try:
            self.loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # the loop closed meanwhile
            return
        done.wait(timeout)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.send(self.window_log_message, types.LogMessageParams(type=kind, message=message))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.send(self.window_show_message, types.ShowMessageParams(type=kind, message=message))

    # -- worker side: projects ----------------------------------------------------

    def project_for(self, path: Path) -> Project | None:
        # Which configuration applies is looked up once per folder (until a reload).
        found = self.keys.get(path.parent)
        if found is None:
            found = self.keys[path.parent] = project_key(path, self.folders())
        config, root = found
        key = (config, root or path)
        project = self.projects.get(key)
        if project is not None:
            return project
        if key in self.config_errors:
            return None
        try:
            settings = load_project_settings(self.rules, config, root or path.parent)
        except ConfigError as error:
            self.config_errors[key] = str(error)
            self.show(f"mllint: {error}")
            return None
        project = Project(
            self.rules,
            settings,
            config=config,
            root=root or path.parent,
            index_files=root is not None,
        )
        self.projects[key] = project
        if project.indexed:
            self.indexed(project)
        return project

    def indexing_projects(self) -> bool:
        return any(project.indexing and project.documents for project in self.projects.values())

    def index_step(self) -> None:
        for project in list(self.projects.values()):
            if project.indexing and project.documents:
                if project.index_next():
                    self.indexed(project)
                    self.publish(project, project.finish(), linted=set())
                return

    def indexed(self, project: Project) -> None:
        self.log(f"mllint: indexed {len(project.summaries)} modules of {project.root}")

    def lint_snapshots(self, snapshots: list[Snapshot]) -> None:
        touched: dict[int, tuple[Project, set[Path]]] = {}
        for snapshot in snapshots:
            self._snapshots[snapshot.path] = snapshot  # (a reload lints it again)
            project = self.project_for(snapshot.path)
            if project is None:  # a broken configuration: nothing is reported
                self.clear(snapshot.uri, snapshot.cells)
                continue
            if project.excluded(snapshot.path):
                self.clear(snapshot.uri, snapshot.cells)
                continue
            for other in self.projects.values():  # the document moved to another project
                if other is not project and snapshot.path in other.documents:
                    other.close(snapshot.path)
            display = project.display(snapshot.path)
            try:
                if snapshot.cells is not None:
                    source = notebook_source(snapshot.path, display, snapshot.cells)
                else:
                    source = source_from_text(snapshot.path, display, snapshot.text)
            except SourceDecodeError as error:
                self.log(f"mllint: cannot read {snapshot.uri}: {error}")
                continue
            try:
                project.lint(snapshot.path, source, snapshot.version)
            except Exception as error:  # an engine bug: say so, and go on with the others
                logger.exception("mllint failed on %s", snapshot.uri)
                self.log(f"mllint: internal error on {snapshot.uri}: {error!r}")
                continue
            if self.parse_stats:
                parse = project.parses.get(snapshot.path)
                how = parse.last if parse is not None else "unknown"
                self.log(f"mllint: parse {snapshot.uri} v{snapshot.version}: {how}")
            self.open_paths[snapshot.path] = snapshot.uri
            touched.setdefault(id(project), (project, set()))[1].add(snapshot.path)
        for project, linted in touched.values():
            self.publish(project, project.finish(), linted)

    def publish(self, project: Project, outcome: Outcome, linted: set[Path]) -> None:
        """Send each open document's findings (always for those just linted, else only
        when they changed: a project rule's verdict may move with an edit elsewhere)."""
        for error in outcome.errors:
            key = (error.path, error.rule, error.message)
            if key not in self.reported:  # once, not on every keystroke
                self.reported.add(key)
                self.log(crash_report(error), types.MessageType.Error)
        encoding = self.encoding
        for path, diagnostics in outcome.diagnostics.items():
            snapshot = self._snapshots.get(path)
            document = project.documents.get(path)
            if snapshot is None or document is None:
                continue
            if self.worker is not None and self.worker.has_newer(snapshot.uri):
                continue  # stale: the newer text's findings come next
            state = Published(
                uri=snapshot.uri,
                path=path,
                version=document.version,
                source=document.source,
                project=project,
                diagnostics=diagnostics,
            )
            if snapshot.cells is not None:
                state.cells = [cell[0] for cell in snapshot.cells]
                state.cell_texts = [cell[3] for cell in snapshot.cells]
                for number, cell_uri in enumerate(state.cells, start=1):
                    self.cell_owner[cell_uri] = (snapshot.uri, number)
            self.published[snapshot.uri] = state
            by_uri: dict[str, list[types.Diagnostic]] = {}
            if state.cells is not None:
                by_uri = {cell_uri: [] for cell_uri in state.cells}
            else:
                by_uri[snapshot.uri] = []
            for diagnostic in diagnostics:
                uri = state.uri_of(diagnostic.cell)
                by_uri.setdefault(uri, []).append(
                    self.to_lsp(diagnostic, state.lines(diagnostic.cell), encoding)
                )
            for uri, found in by_uri.items():
                if path not in linted and self.last_sent.get(uri) == found:
                    continue
                self.last_sent[uri] = found
                version = document.version if state.cells is None else None
                self.send(
                    self.text_document_publish_diagnostics,
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version),
                )

    def clear(self, uri: str, cells: list[tuple[str, str, str, str]] | None = None) -> None:
        for target in [cell[0] for cell in cells] if cells is not None else [uri]:
            self.last_sent.pop(target, None)
            self.send(
                self.text_document_publish_diagnostics,
                types.PublishDiagnosticsParams(uri=target, diagnostics=[]),
            )

    def close_document(self, uri: str, path: Path, cells: list[str] | None) -> None:
        for project in self.projects.values():
            if path in project.documents:
                project.close(path)
                self.publish(project, project.finish(), linted=set())
        self.open_paths.pop(path, None)
        self._snapshots.pop(path, None)
        self.published.pop(uri, None)
        for cell_uri in cells or []:
            self.cell_owner.pop(cell_uri, None)
        self.clear(uri, [(cell, "", "", "") for cell in cells] if cells else None)
        for project_key_, project in list(self.projects.items()):
            if not project.documents:  # nothing open: its index is not worth keeping
                del self.projects[project_key_]

    def reload(self) -> None:
        """The configuration (or the workspace folders) changed: build every project
        again and lint every open document with its new settings."""
        self.projects.clear()
        self.config_errors.clear()
        self.keys.clear()
        snapshots = list(self._snapshots.values())
        self.lint_snapshots(snapshots)

    def files_changed(self, paths: list[Path]) -> None:
        for project in list(self.projects.values()):
            changed = [path for path in paths if project.contains(path)]
            if not changed:
                continue
            for path in changed:
                project.file_changed_on_disk(path)
            self.publish(project, project.finish(), linted=set())

    # -- conversion ---------------------------------------------------------------

    def to_lsp(self, diagnostic: Diagnostic, lines: Lines, encoding: str) -> types.Diagnostic:
        rule = self.rules.get(diagnostic.code)
        url = diagnostic.url or (rule.url() if rule is not None else None)
        tags = []
        if diagnostic.code == "ML002":
            tags.append(types.DiagnosticTag.Unnecessary)
        if rule is not None and is_deprecation(rule):
            tags.append(types.DiagnosticTag.Deprecated)
        start = lines.position(diagnostic.location.row, diagnostic.location.column, encoding)
        end = lines.position(diagnostic.end_location.row, diagnostic.end_location.column, encoding)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Diagnostic(
            range=types.Range(start, end),
            message=diagnostic.message,
            severity=_SEVERITIES.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
            code=diagnostic.code,
            code_description=types.CodeDescription(href=url) if url else None,
            source=SOURCE,
            tags=tags or None,
            data={"name": diagnostic.name, "fixable": diagnostic.fix is not None},
        )

    # -- loop side: snapshots -----------------------------------------------------

    def snapshot_text(self, uri: str) -> Snapshot | None:
        path = uri_to_path(uri)
        if path is None or not is_linted(path) or path.suffix == ".ipynb":
            return None
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        return Snapshot(uri, path, document.version, text=document.source)

    def snapshot_notebook(self, uri: str) -> Snapshot | None:
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        path = uri_to_path(uri)
        if notebook is None or path is None:
            return None
        cells = []
        for cell in notebook.cells:
            document = self.workspace.text_documents.get(unquote(cell.document))
            text = document.source if document is not None else ""
            language = (document.language_id if document is not None else None) or "python"
            kind = "code" if cell.kind == types.NotebookCellKind.Code else "markdown"
            cells.append((cell.document, kind, language, text))
        return Snapshot(uri, path, notebook.version, cells=cells)

    def schedule(self, uri: str, *, notebook: bool = False, delay: float | None = None) -> None:
        """Lint ``uri`` after ``delay`` seconds without another change (debounce)."""
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        delay = self.debounce if delay is None else delay

        def fire() -> None:
            self.timers.pop(uri, None)
            snapshot = self.snapshot_notebook(uri) if notebook else self.snapshot_text(uri)
            if snapshot is not None and self.worker is not None:
                self.worker.lint(snapshot)

        if delay <= 0:
            fire()
        else:
            assert self.loop is not None
            self.timers[uri] = self.loop.call_later(delay, fire)


def is_deprecation(rule: type[Rule]) -> bool:
    """Rules about deprecated APIs (tagged so, or named so, such as ML704/ML707)."""
    return "deprecated" in rule.tags or "deprecated" in rule.name.split("-")


server = MllintServer()


# -- lifecycle ---------------------------------------------------------------------


@server.feature(types.INITIALIZE)
def initialize(ls: MllintServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
        ls.debounce = max(0.0, float(options["debounce"]) / 1000)
    if isinstance(options, dict) and options.get("stats") is True:
        ls.parse_stats = True
    ls.worker = Worker(ls)


@server.feature(types.INITIALIZED)
def initialized(ls: MllintServer, params: types.InitializedParams) -> None:
    capabilities = ls.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities else None
    if watched is None or not watched.dynamic_registration:
        return
    watchers = [
        types.FileSystemWatcher(glob_pattern=pattern)
        for pattern in (
            "**/pyproject.toml",
            "**/mllint.toml",
            "**/.mllint.toml",
            "**/*.py",
            "**/*.ipynb",
        )
    ]
    ls.client_register_capability(
        types.RegistrationParams(
            registrations=[
                types.Registration(
                    id="mllint-watched-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=watchers
                    ),
                )
            ]
        )
    )


@server.feature(types.SHUTDOWN)
def shutdown(ls: MllintServer, params: None) -> None:
    for timer in ls.timers.values():
        timer.cancel()
    ls.timers.clear()
    if ls.worker is not None:
        ls.worker.stop()


# -- text documents ---------------------------------------------------------------


def _worker(ls: MllintServer) -> Worker:
    assert ls.worker is not None, "initialize first"
    return ls.worker


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: MllintServer, params: types.DidOpenTextDocumentParams) -> None:
    if uri_to_path(params.text_document.uri) is not None:
        ls.schedule(params.text_document.uri, delay=0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: MllintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: MllintServer, params: types.DidSaveTextDocumentParams) -> None:
    path = uri_to_path(params.text_document.uri)
    if path is not None and is_config_file(path):
        _worker(ls).submit(ls.reload)
    elif path is not None and is_linted(path):
        ls.schedule(params.text_document.uri, delay=0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MllintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    timer = ls.timers.pop(uri, None)
    if timer is not None:
        timer.cancel()
    path = uri_to_path(uri)
    if path is not None and is_linted(path):
        _worker(ls).submit(lambda: ls.close_document(uri, path, None))


# -- notebooks --------------------------------------------------------------------


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
def notebook_did_open(ls: MllintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, notebook=True, delay=0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
def notebook_did_change(ls: MllintServer, params: types.DidChangeNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, notebook=True)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
def notebook_did_save(ls: MllintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, notebook=True, delay=0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def notebook_did_close(ls: MllintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    timer = ls.timers.pop(uri, None)
    if timer is not None:
        timer.cancel()
    path = uri_to_path(uri)
    cells = [cell.uri for cell in params.cell_text_documents]
    if path is not None:
        _worker(ls).submit(lambda: ls.close_document(uri, path, cells))


# -- the workspace ----------------------------------------------------------------


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def watched_files(ls: MllintServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [uri_to_path(change.uri) for change in params.changes]
    if any(path is not None and is_config_file(path) for path in paths):
        _worker(ls).submit(ls.reload)
        return
    modules = [path for path in paths if path is not None and is_linted(path)]
    if modules:
        _worker(ls).submit(lambda: ls.files_changed(modules))


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def folders_changed(ls: MllintServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    _worker(ls).submit(ls.reload)


# -- code actions -----------------------------------------------------------------


def _current(ls: MllintServer, uri: str) -> tuple[Published, int | None] | None:
    """The published state of the document (or notebook) holding ``uri`` and the cell
    number, if it is up to date with the editor's text (else positions may be stale)."""
    cell = None
    owner = ls.cell_owner.get(uri)
    if owner is not None:
        uri, cell = owner
    state = ls.published.get(uri)
    if state is None:
        return None
    if state.cells is not None:
        notebook = ls.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None or notebook.version != state.version:
            return None
    else:
        document = ls.workspace.text_documents.get(unquote(uri))
        if document is None or document.version != state.version:
            return None
    return state, cell


def _overlaps(diagnostic: Diagnostic, first_line: int, last_line: int) -> bool:
    start, end = diagnostic.location.row - 1, diagnostic.end_location.row - 1
    return start <= last_line and end >= first_line


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
        resolve_provider=False,
    ),
)
async def code_action(
    ls: MllintServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    current = _current(ls, params.text_document.uri)
    if current is None:
        return None
    state, cell = current
    encoding = ls.encoding
    only = params.context.only
    want_quickfix = not only or any(
        types.CodeActionKind.QuickFix.value.startswith(str(getattr(k, "value", k))) for k in only
    )
    want_fix_all = not only or any(
        FIX_ALL_KIND.startswith(str(getattr(k, "value", k))) for k in only
    )
    first, last = params.range.start.line, params.range.end.line
    here = [d for d in state.diagnostics if d.cell == cell and _overlaps(d, first, last)]
    actions: list[types.CodeAction] = []
    if want_quickfix:
        lines = state.lines(cell)
        uri = state.uri_of(cell)
        for diagnostic in here:
            lsp = ls.to_lsp(diagnostic, lines, encoding)
            if diagnostic.fix is not None and diagnostic.fix.edits:
                unsafe = diagnostic.fix.applicability == Applicability.UNSAFE
                actions.append(
                    types.CodeAction(
                        title=f"{diagnostic.code}: {diagnostic.fix.message}"
                        + (" (unsafe: review it)" if unsafe else ""),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[lsp],
                        is_preferred=not unsafe,
                        edit=_workspace_edit(
                            {uri: [lines.edit(e, encoding) for e in fix_edits(diagnostic)]}
                        ),
                    )
                )
        for diagnostic in here:
            if diagnostic.code in NOQA_EXEMPT:
                continue
            edits = noqa_edits(lines.text, diagnostic)
            if not edits:
                continue
            actions.append(
                types.CodeAction(
                    title=f"Disable {diagnostic.code} for this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[ls.to_lsp(diagnostic, lines, encoding)],
                    edit=_workspace_edit({uri: [lines.edit(e, encoding) for e in edits]}),
                )
            )
    safe_here = any(d.fix is not None and d.fix.applicability == Applicability.SAFE for d in here)
    safe_anywhere = any(
        d.fix is not None and d.fix.applicability == Applicability.SAFE for d in state.diagnostics
    )
    if (want_fix_all and safe_anywhere) or (want_quickfix and safe_here):
        edit = await _fix_all_edit(ls, state, encoding)
        if edit is not None:
            if want_quickfix and safe_here:
                actions.append(
                    types.CodeAction(
                        title="Fix all safe mllint findings in this file",
                        kind=types.CodeActionKind.QuickFix,
                        edit=edit,
                    )
                )
            if want_fix_all:
                actions.append(
                    types.CodeAction(
                        title="mllint: fix all safe findings", kind=FIX_ALL_KIND, edit=edit
                    )
                )
    return actions


def _workspace_edit(changes: dict[str, list[types.TextEdit]]) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(changes=changes)


async def _fix_all_edit(
    ls: MllintServer, state: Published, encoding: str
) -> types.WorkspaceEdit | None:
    project = state.project
    project_codes = {c for c, r in project.rules.items() if r.scope == "project"}

    def compute():
        return run_with_large_stack(
            lambda: fix_all(  # type: ignore[arg-type, return-value]
                state.source,
                project.ruleset,
                project.relative(state.path),
                state.diagnostics,
                project_codes,
            )
        )

    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(None, compute)
    except Exception as error:
        ls.log(f"mllint: fixing {state.uri} failed: {type(error).__name__}: {error}")
        return None
    if result.text is None:
        return None
    if state.cells is not None and state.cell_texts is not None:
        changes = {}
        for number, new_source in result.cells or []:
            old = state.cell_texts[number - 1]
            lines = Lines(old)
            changes[state.cells[number - 1]] = [
                lines.edit(e, encoding) for e in line_diff(old, new_source)
            ]
        return _workspace_edit(changes) if changes else None
    lines = Lines(state.source.text)
    return _workspace_edit(
        {state.uri: [lines.edit(e, encoding) for e in line_diff(state.source.text, result.text)]}
    )


# -- hover ------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: MllintServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    document = ls.workspace.text_documents.get(unquote(uri))
    if document is None:
        return None
    text = document.source
    lines = Lines(text)
    row = params.position.line + 1
    encoding = ls.encoding
    column = to_character(lines.line(row), params.position.character, encoding)
    found = noqa_code_at(text, row, column)
    if found is None:
        return None
    rules = ls.rules
    matching = [rule for code, rule in rules.items() if code.startswith(found.code)]
    if not matching:
        body = f"`{found.code}`: no mllint rule has this code (another tool's, or a typo)."
    elif found.code in rules:
        rule = rules[found.code]
        body = (
            f"**{rule.code}** `{rule.name}` ({rule.severity.value})\n\n{rule.summary()}\n\n"
            f"[Documentation]({rule.url()})"
        )
    else:
        body = f"**{found.code}** covers {len(matching)} rules:\n\n" + "\n".join(
            f"- [{rule.code}]({rule.url()}) `{rule.name}`: {rule.summary()}" for rule in matching
        )
    line = lines.line(row)
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=body),
        range=types.Range(
            types.Position(row - 1, to_client_column(line, found.start, encoding)),
            types.Position(row - 1, to_client_column(line, found.end, encoding)),
        ),
    )


def main() -> int:
    """Serve over stdin/stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server.start_io()
    return 0


__all__ = ["MllintServer", "main", "server"]
