"""The language server, driven as an editor drives it: ``mllint server`` in a subprocess,
speaking LSP over stdin/stdout with pygls's client.

Waits are for a condition (a publication for a document version, a finding appearing
or going away), with generous timeouts: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from mllint.api import lint_paths
from mllint.rule import find_rule

TIMEOUT = int(
    __import__("os").environ.get("LSP_TEST_TIMEOUT", "120")
)  # seconds: a loaded CI machine may be slow, the tests never measure speed

LEAKY = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

data = pd.read_csv("data.csv")
X = data.drop(columns=["label"])
y = data["label"]
scaler = StandardScaler()
X = scaler.fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = LogisticRegression().fit(X_train, y_train)
print(model.score(X_test, y_test))
"""

FIXED = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

data = pd.read_csv("data.csv")
X = data.drop(columns=["label"])
y = data["label"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
model = LogisticRegression().fit(X_train, y_train)
print(model.score(X_test, y_test))
"""

VISION = """\
import torch.nn as nn
from torchvision import models


def build(num_classes):
    backbone = models.resnet50(pretrained=True)
    backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)
    nn.init.xavier_uniform(backbone.fc.weight)
    return backbone
"""

HELPERS = """\
\"\"\"Seeding shared by the training scripts.\"\"\"

import random

import numpy as np
import torch


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
"""

TRAIN = """\
import torch

from helpers import seed_everything


def main():
    seed_everything(0)
    features = torch.randn(256, 8)
    targets = torch.randn(256, 1)
    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(100):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(features), targets)
        loss.backward()
        optimizer.step()
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()
"""


# -- the editor -------------------------------------------------------------------


class Editor:
    """A pygls client with a server subprocess, remembering what the server sent."""

    def __init__(self) -> None:
        self.client = LanguageClient("mllint-tests", "1")
        #: uri -> every publication, in order: (sequence number, version, diagnostics)
        self.published: dict[str, list[tuple[int, int | None, list[types.Diagnostic]]]] = {}
        self.messages: list[str] = []
        self.logs: list[str] = []
        self.sequence = 0
        self.changed = asyncio.Event()
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.sequence += 1
            entry = (self.sequence, params.version, list(params.diagnostics))
            self.published.setdefault(params.uri, []).append(entry)
            self.changed.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
            self.changed.set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)
            self.changed.set()

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            return None

    async def start(
        self, folders: list[Path], *, options: dict | None = None, watch: bool = False
    ) -> types.InitializeResult:
        await self.client.start_io(sys.executable, "-m", "mllint", "server")
        capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=watch
                ),
                workspace_folders=True,
            ),
        )
        result = await self.client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=folders[0].as_uri() if folders else None,
                workspace_folders=[
                    types.WorkspaceFolder(folder.as_uri(), folder.name) for folder in folders
                ],
                initialization_options={"debounce": 10, **(options or {})},
            )
        )
        self.client.initialized(types.InitializedParams())
        return result

    async def stop(self) -> int | None:
        """Shut down and exit as an editor does; the server's exit status."""
        await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), TIMEOUT)
        return self.client._server.returncode if self.client._server else None

    # -- documents ----------------------------------------------------------------

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def replace(self, uri: str, text: str) -> int:
        """Send the whole new text (as an editor configured for full sync would)."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def apply(self, uri: str, edits: list[types.TextEdit]) -> int:
        """Apply edits as an editor applies a workspace edit, then send them incrementally."""
        text = apply_edits(self.texts[uri], edits)
        self.versions[uri] += 1
        self.texts[uri] = text
        changes = [
            types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
            for edit in sorted(
                edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
            )
        ]
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
                changes,
            )
        )
        return self.versions[uri]

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
        )

    # -- waiting ------------------------------------------------------------------

    async def until(self, condition: Callable[[], object], what: str) -> object:
        async def wait() -> object:
            while True:
                result = condition()
                if result:
                    return result
                self.changed.clear()
                await self.changed.wait()

        try:
            return await asyncio.wait_for(wait(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"timed out waiting for {what}; got {self.published}; "
                f"messages {self.messages}; logs {self.logs}"
            ) from None

    async def diagnostics(
        self,
        uri: str,
        *,
        version: int | None = None,
        where: Callable[[list[types.Diagnostic]], bool] | None = None,
        after: int = 0,
    ) -> list[types.Diagnostic]:
        """The latest diagnostics of ``uri`` once they are for ``version`` (or later),
        were sent after publication number ``after`` and satisfy ``where``."""

        def latest() -> list[types.Diagnostic] | None:
            entries = self.published.get(uri)
            if not entries:
                return None
            sequence, published_version, found = entries[-1]
            if sequence <= after:
                return None
            if version is not None and (published_version or 0) < version:
                return None
            if where is not None and not where(found):
                return None
            return found if found else [None]  # type: ignore[list-item]

        found = await self.until(latest, f"diagnostics of {uri} (version {version})")
        return [d for d in found if d is not None]  # type: ignore[union-attr]

    async def actions(
        self, uri: str, line: int, only: list[str] | None = None
    ) -> list[types.CodeAction]:
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(line, 0), types.Position(line, 0)),
                    context=types.CodeActionContext(diagnostics=[], only=only),
                )
            ),
            TIMEOUT,
        )
        return [action for action in result or [] if isinstance(action, types.CodeAction)]


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """The text after ``edits`` (ASCII test texts: UTF-16 columns are characters)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def codes(diagnostics: list[types.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diagnostics}


def session(test: Callable) -> None:
    """Run an async test body with a started Editor; the server is always stopped."""

    async def main() -> None:
        editor = Editor()
        try:
            await test(editor)
        finally:
            server = editor.client._server
            if server is not None and server.returncode is None:
                server.kill()
                await server.wait()

    asyncio.run(main())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "leaky.py").write_text(LEAKY)
    return root


# -- diagnostics ------------------------------------------------------------------


def test_diagnostics_on_open_change_and_close(project: Path) -> None:
    async def body(editor: Editor) -> None:
        result = await editor.start([project])
        assert result.capabilities.code_action_provider is not None
        assert result.capabilities.hover_provider
        uri = editor.open(project / "leaky.py", LEAKY)
        found = await editor.diagnostics(uri, version=1, where=lambda d: "ML201" in codes(d))
        leak = next(d for d in found if d.code == "ML201")
        # `scaler.fit_transform(X)` on line 10 (0-based 9), columns 4 to 27
        assert leak.range == types.Range(types.Position(9, 4), types.Position(9, 27))
        assert leak.source == "mllint"
        assert leak.severity == types.DiagnosticSeverity.Warning
        assert "train_test_split" in leak.message
        rule = find_rule("ML201")
        assert rule is not None
        assert leak.code_description is not None
        assert leak.code_description.href == rule.url()

        # The leak is fixed in the editor (not on disk): the finding goes away.
        version = editor.replace(uri, FIXED)
        found = await editor.diagnostics(uri, version=version)
        assert "ML201" not in codes(found)
        assert (project / "leaky.py").read_text() == LEAKY

        # And comes back when the text leaks again.
        version = editor.replace(uri, LEAKY)
        found = await editor.diagnostics(uri, version=version)
        assert "ML201" in codes(found)

        mark = editor.sequence
        editor.close(uri)
        assert await editor.diagnostics(uri, after=mark) == []
        assert await editor.stop() == 0

    session(body)


def test_a_burst_of_changes_ends_with_the_latest_text(project: Path) -> None:
    async def body(editor: Editor) -> None:
        await editor.start([project])
        uri = editor.open(project / "leaky.py", LEAKY)
        await editor.diagnostics(uri, version=1)
        for index in range(6):
            version = editor.replace(uri, FIXED if index % 2 else LEAKY)
        # The last text has no leak; whatever was linted in between, the final state is it.
        found = await editor.diagnostics(uri, version=version)
        assert "ML201" not in codes(found)
        assert await editor.stop() == 0

    session(body)


def test_typing_is_checked_at_once_and_incrementally(tmp_path: Path) -> None:
    """Keystrokes with the server's defaults (no debounce): each edit inside a function is
    re-parsed alone, a burst is coalesced, stale versions are never published after newer
    ones, and the findings of the final text are what the CLI reports for it."""
    root = tmp_path / "typing"
    root.mkdir()
    text = LEAKY + "\n\ndef helper(values):\n    total = 0\n    return total\n"
    (root / "leaky.py").write_text(text)

    async def body(editor: Editor) -> None:
        await editor.client.start_io(sys.executable, "-m", "mllint", "server")
        await editor.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(root.as_uri(), "typing")],
                initialization_options={"stats": True},
            )
        )
        editor.client.initialized(types.InitializedParams())
        uri = editor.open(root / "leaky.py", text)
        await editor.diagnostics(uri, version=1)
        row = text.splitlines().index("    total = 0")
        column = len("    total")
        for char in "_count_of_values":  # typed one character at a time, without waiting
            position = types.Position(row, column)
            version = editor.apply(uri, [types.TextEdit(types.Range(position, position), char)])
            column += 1
        found = await editor.diagnostics(uri, version=version)
        final = editor.texts[uri]
        assert "total_count_of_values = 0" in final
        (root / "leaky.py").write_text(final)
        expected = lint_paths([root / "leaky.py"], cwd=root).result.diagnostics
        assert sorted((d.code, d.range.start.line + 1) for d in found) == sorted(
            (d.code, d.location.row) for d in expected
        )
        versions = [entry[1] for entry in editor.published[uri]]
        assert versions == sorted(versions), versions  # never a stale version after a newer
        parses = [log for log in editor.logs if log.startswith("mllint: parse ")]
        assert parses and all(log.endswith(": incremental") for log in parses[1:]), parses
        assert await editor.stop() == 0

    session(body)


def test_tags_unnecessary_and_deprecated(project: Path) -> None:
    text = VISION + "\nvalue = 1  # noqa: ML201\n"
    path = project / "vision.py"
    path.write_text(text)
    (project / "mllint.toml").write_text('extend-select = ["unused-noqa"]\n')

    async def body(editor: Editor) -> None:
        await editor.start([project])
        uri = editor.open(path, text)
        found = await editor.diagnostics(uri, where=lambda d: {"ML707", "ML002"} <= codes(d))
        deprecated = [d for d in found if d.code == "ML707"]
        assert deprecated
        assert all(d.tags and types.DiagnosticTag.Deprecated in d.tags for d in deprecated)
        unused = next(d for d in found if d.code == "ML002")
        assert unused.tags and types.DiagnosticTag.Unnecessary in unused.tags
        assert unused.range.start.line == text.splitlines().index("value = 1  # noqa: ML201")
        assert await editor.stop() == 0

    session(body)


# -- code actions and hover -------------------------------------------------------


def test_code_actions_fix_disable_and_fix_all(project: Path) -> None:
    path = project / "vision.py"
    text = VISION.replace(
        "    backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)\n",
        "    backbone.fc = nn.Linear(backbone.fc.in_features, num_classes)  # noqa: E501\n",
    )
    path.write_text(text)
    pretrained_line = 5
    init_line = 7

    async def body(editor: Editor) -> None:
        await editor.start([project])
        uri = editor.open(path, text)
        found = await editor.diagnostics(uri, version=1, where=lambda d: "ML707" in codes(d))
        assert {d.range.start.line for d in found if d.code == "ML707"} == {
            pretrained_line,
            init_line,
        }

        # The rule's own fix, applied by the editor: the finding on that line goes away.
        actions = await editor.actions(uri, init_line)
        fix = next(a for a in actions if a.title.startswith("ML707"))
        assert fix.kind == types.CodeActionKind.QuickFix
        assert fix.diagnostics and fix.diagnostics[0].code == "ML707"
        assert fix.edit is not None and fix.edit.changes is not None
        version = editor.apply(uri, list(fix.edit.changes[uri]))
        assert "nn.init.xavier_uniform_(backbone.fc.weight)" in editor.texts[uri]
        found = await editor.diagnostics(uri, version=version)
        assert {d.range.start.line for d in found if d.code == "ML707"} == {pretrained_line}

        # "Disable ML707 for this line" adds a noqa comment; the finding is silenced.
        actions = await editor.actions(uri, pretrained_line)
        titles = [a.title for a in actions]
        assert "Disable ML707 for this line" in titles
        disable = next(a for a in actions if a.title == "Disable ML707 for this line")
        assert disable.edit is not None and disable.edit.changes is not None
        before = editor.texts[uri]
        version = editor.apply(uri, list(disable.edit.changes[uri]))
        line = editor.texts[uri].splitlines()[pretrained_line]
        assert line == "    backbone = models.resnet50(pretrained=True)  # noqa: ML707"
        found = await editor.diagnostics(uri, version=version)
        assert "ML707" not in codes(found)

        # An existing noqa comment is extended, other tools' codes kept.
        version = editor.replace(
            uri, before.replace("pretrained=True)", "pretrained=True)  # noqa: E501")
        )
        await editor.diagnostics(uri, version=version, where=lambda d: "ML707" in codes(d))
        actions = await editor.actions(uri, pretrained_line)
        disable = next(a for a in actions if a.title == "Disable ML707 for this line")
        assert disable.edit is not None and disable.edit.changes is not None
        version = editor.apply(uri, list(disable.edit.changes[uri]))
        line = editor.texts[uri].splitlines()[pretrained_line]
        assert line.endswith("# noqa: E501, ML707")
        await editor.diagnostics(uri, version=version, where=lambda d: "ML707" not in codes(d))

        # Fix all safe findings, as a source.fixAll action (what format-on-save asks for).
        version = editor.replace(uri, text)
        await editor.diagnostics(uri, version=version, where=lambda d: "ML707" in codes(d))
        actions = await editor.actions(uri, 0, only=[types.CodeActionKind.SourceFixAll])
        assert [a.kind for a in actions] == ["source.fixAll.mllint"]
        assert actions[0].edit is not None and actions[0].edit.changes is not None
        version = editor.apply(uri, list(actions[0].edit.changes[uri]))
        fixed = editor.texts[uri]
        assert "nn.init.xavier_uniform_(" in fixed
        assert "pretrained=True" not in fixed
        assert "# noqa: E501" in fixed  # untouched lines stay as they were
        found = await editor.diagnostics(uri, version=version)
        assert "ML707" not in codes(found)
        assert (project / "vision.py").read_text() == text  # nothing was written to disk

        # ... and as a quick fix next to a fixable finding.
        version = editor.replace(uri, text)
        await editor.diagnostics(uri, version=version, where=lambda d: "ML707" in codes(d))
        actions = await editor.actions(uri, init_line)
        assert "Fix all safe mllint findings in this file" in [a.title for a in actions]
        assert await editor.stop() == 0

    session(body)


def test_hover_on_a_noqa_code(project: Path) -> None:
    text = LEAKY.replace(
        "X = scaler.fit_transform(X)", "X = scaler.fit_transform(X)  # noqa: ML201, E501"
    )
    row = text.splitlines().index("X = scaler.fit_transform(X)  # noqa: ML201, E501")
    line = text.splitlines()[row]

    async def body(editor: Editor) -> None:
        await editor.start([project])
        uri = editor.open(project / "leaky.py", text)
        await editor.diagnostics(uri, version=1)

        async def hover(column: int) -> types.Hover | None:
            return await asyncio.wait_for(
                editor.client.text_document_hover_async(
                    types.HoverParams(
                        text_document=types.TextDocumentIdentifier(uri=uri),
                        position=types.Position(row, column),
                    )
                ),
                TIMEOUT,
            )

        found = await hover(line.index("ML201") + 2)
        assert found is not None
        assert isinstance(found.contents, types.MarkupContent)
        rule = find_rule("ML201")
        assert rule is not None
        assert "preprocessing-before-split" in found.contents.value
        assert rule.summary() in found.contents.value
        start = line.index("ML201")
        assert found.range == types.Range(
            types.Position(row, start), types.Position(row, start + 5)
        )
        other = await hover(line.index("E501") + 1)
        assert other is not None and "no mllint rule" in other.contents.value  # type: ignore[union-attr]
        assert await hover(1) is None  # not on a noqa comment
        assert await editor.stop() == 0

    session(body)


# -- the project ------------------------------------------------------------------


def test_project_rules_see_unsaved_edits_in_other_modules(tmp_path: Path) -> None:
    root = tmp_path / "seeded"
    root.mkdir()
    (root / "helpers.py").write_text(HELPERS)
    (root / "train.py").write_text(TRAIN)

    async def body(editor: Editor) -> None:
        await editor.start([root])
        train = editor.open(root / "train.py", TRAIN)
        helpers = editor.open(root / "helpers.py", HELPERS)
        await editor.until(lambda: any("indexed" in log for log in editor.logs), "indexing")
        found = await editor.diagnostics(train)
        assert "ML101" not in codes(found)

        # The helper stops seeding torch (unsaved): train.py's torch.randn is now unseeded.
        unseeded = HELPERS.replace("    torch.manual_seed(seed)\n", "")
        editor.replace(helpers, unseeded)
        found = await editor.diagnostics(train, where=lambda d: "ML101" in codes(d))
        seed = next(d for d in found if d.code == "ML101")
        assert "torch.randn" in seed.message
        assert seed.range.start.line == TRAIN.splitlines().index(
            "    features = torch.randn(256, 8)"
        )

        # Undo: the seed is back, the finding goes.
        editor.replace(helpers, HELPERS)
        await editor.diagnostics(train, where=lambda d: "ML101" not in codes(d))

        # Closing the helper unsaved-edited: the module is what is on disk again.
        editor.replace(helpers, unseeded)
        await editor.diagnostics(train, where=lambda d: "ML101" in codes(d))
        editor.close(helpers)
        await editor.diagnostics(train, where=lambda d: "ML101" not in codes(d))
        assert await editor.stop() == 0

    session(body)


def test_modules_changed_on_disk_are_reindexed(tmp_path: Path) -> None:
    root = tmp_path / "seeded"
    root.mkdir()
    (root / "helpers.py").write_text(HELPERS)
    (root / "train.py").write_text(TRAIN)

    async def body(editor: Editor) -> None:
        await editor.start([root])
        train = editor.open(root / "train.py", TRAIN)
        await editor.until(lambda: any("indexed" in log for log in editor.logs), "indexing")
        assert "ML101" not in codes(await editor.diagnostics(train))
        (root / "helpers.py").write_text(HELPERS.replace("    torch.manual_seed(seed)\n", ""))
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(
                        uri=(root / "helpers.py").as_uri(), type=types.FileChangeType.Changed
                    )
                ]
            )
        )
        await editor.diagnostics(train, where=lambda d: "ML101" in codes(d))
        assert await editor.stop() == 0

    session(body)


def test_the_server_reports_what_the_cli_reports(tmp_path: Path) -> None:
    """The demo project: each open file gets exactly the CLI's findings (code, position,
    message), whole-program ones included, with modules that are not open read from disk."""
    root = tmp_path / "demo"
    shutil.copytree(Path(__file__).parent.parent / "fixtures" / "demo", root)
    run = lint_paths([root], cwd=root, jobs=1)
    expected: dict[str, set[tuple[int, int, str, str]]] = {}
    for d in run.result.diagnostics:
        key = (d.location.row - 1, d.location.column - 1, d.code, d.message)
        expected.setdefault(d.path, set()).add(key)
    assert "ML101" in {code for found in expected.values() for _, _, code, _ in found}

    async def body(editor: Editor) -> None:
        await editor.start([root])
        opened = {
            name: editor.open(root / name, (root / name).read_text())
            for name in ("train.py", "model.py")
        }
        await editor.until(lambda: any("indexed" in log for log in editor.logs), "indexing")
        for name, uri in opened.items():
            want = expected.get(name, set())
            found = await editor.diagnostics(
                uri,
                where=lambda d, want=want: (
                    {(x.range.start.line, x.range.start.character, x.code, x.message) for x in d}
                    == want
                ),
            )
            assert len(found) == len(want)
        assert await editor.stop() == 0

    session(body)


# -- configuration ----------------------------------------------------------------


def test_configuration_is_read_and_reloaded(project: Path) -> None:
    async def body(editor: Editor) -> None:
        await editor.start([project], watch=True)
        uri = editor.open(project / "leaky.py", LEAKY)
        await editor.diagnostics(uri, where=lambda d: "ML201" in codes(d))

        # A pyproject.toml appears with an [tool.mllint] table that ignores the rule.
        config = project / "pyproject.toml"
        config.write_text('[project]\nname = "demo"\n\n[tool.mllint]\nignore = ["ML201"]\n')
        event = types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(changes=[event])
        )
        await editor.diagnostics(uri, where=lambda d: "ML201" not in codes(d))

        # Per-file ignores are relative to the configuration's directory, as for the CLI.
        config.write_text('[tool.mllint.per-file-ignores]\n"other/*.py" = ["ML201"]\n')
        editor.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=config.as_uri())
            )
        )
        await editor.diagnostics(uri, where=lambda d: "ML201" in codes(d))

        # A broken configuration is reported, as the CLI would, and the server lives on.
        config.write_text('[tool.mllint]\nselect = "ML201"\n')
        mark = editor.sequence
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        await editor.until(
            lambda: any("must be a list of strings" in m for m in editor.messages), "a message"
        )
        assert await editor.diagnostics(uri, after=mark) == []

        config.write_text('[tool.mllint]\nselect = ["ML201"]\n')
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        await editor.diagnostics(uri, where=lambda d: codes(d) == {"ML201"})
        assert await editor.stop() == 0

    session(body)


def test_multi_root_workspaces_have_their_own_settings(tmp_path: Path) -> None:
    strict = tmp_path / "strict"
    relaxed = tmp_path / "relaxed"
    for folder in (strict, relaxed):
        folder.mkdir()
        (folder / "leaky.py").write_text(LEAKY)
    (relaxed / "mllint.toml").write_text('ignore = ["leakage"]\n')
    build = strict / "build"
    build.mkdir()
    (build / "leaky.py").write_text(LEAKY)

    async def body(editor: Editor) -> None:
        await editor.start([strict, relaxed])
        strict_uri = editor.open(strict / "leaky.py", LEAKY)
        relaxed_uri = editor.open(relaxed / "leaky.py", LEAKY)
        assert "ML201" in codes(await editor.diagnostics(strict_uri, version=1))
        assert "ML201" not in codes(await editor.diagnostics(relaxed_uri, version=1))
        # A file the excludes leave out (here the default `build`) gets no findings.
        generated = editor.open(build / "leaky.py", LEAKY)
        assert await editor.diagnostics(generated) == []
        assert await editor.stop() == 0

    session(body)


# -- notebooks --------------------------------------------------------------------


def test_notebook_documents(project: Path) -> None:
    notebook_path = project / "analysis.ipynb"
    cells = [
        ("markdown", "# House prices\nA first model."),
        ("python", "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler"),
        (
            "python",
            'data = pd.read_csv("houses.csv")\nX = data.drop(columns=["price"])\n'
            "scaler = StandardScaler()\nX = scaler.fit_transform(X)",
        ),
        (
            "python",
            "from sklearn.linear_model import Ridge\n"
            "from sklearn.model_selection import train_test_split\n\n"
            'X_train, X_test, y_train, y_test = train_test_split(X, data["price"], test_size=0.2)\n'
            "model = Ridge().fit(X_train, y_train)\n"
            "model.score(X_test, y_test)",
        ),
        ("python", "from torchvision import models\n\nbackbone = models.resnet50(pretrained=True)"),
    ]
    notebook_uri = notebook_path.as_uri()
    cell_uris = [f"{notebook_uri}#cell{index}" for index in range(len(cells))]

    async def body(editor: Editor) -> None:
        await editor.start([project])
        editor.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=notebook_uri,
                    notebook_type="jupyter-notebook",
                    version=1,
                    cells=[
                        types.NotebookCell(
                            kind=types.NotebookCellKind.Markup
                            if language == "markdown"
                            else types.NotebookCellKind.Code,
                            document=cell_uri,
                        )
                        for cell_uri, (language, _) in zip(cell_uris, cells, strict=True)
                    ],
                ),
                cell_text_documents=[
                    types.TextDocumentItem(uri=cell_uri, language_id=language, version=1, text=text)
                    for cell_uri, (language, text) in zip(cell_uris, cells, strict=True)
                ],
            )
        )
        found = await editor.diagnostics(cell_uris[2], where=lambda d: "ML201" in codes(d))
        leak = next(d for d in found if d.code == "ML201")
        # Line 4 of the third cell, where `scaler.fit_transform(X)` starts.
        assert leak.range.start == types.Position(3, 4)
        assert "cell 4" in leak.message  # the split, named by its cell
        assert await editor.diagnostics(cell_uris[1]) == []

        # The rule's fix and "fix all" edit the cell the finding is in.
        await editor.diagnostics(cell_uris[4], where=lambda d: "ML707" in codes(d))
        for only in (None, [types.CodeActionKind.SourceFixAll]):
            result = await asyncio.wait_for(
                editor.client.text_document_code_action_async(
                    types.CodeActionParams(
                        text_document=types.TextDocumentIdentifier(uri=cell_uris[4]),
                        range=types.Range(types.Position(2, 0), types.Position(2, 0)),
                        context=types.CodeActionContext(diagnostics=[], only=only),
                    )
                ),
                TIMEOUT,
            )
            actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
            wanted = "source.fixAll.mllint" if only else "quickfix"
            action = next(a for a in actions if a.kind == wanted)
            assert action.edit is not None and action.edit.changes is not None
            assert list(action.edit.changes) == [cell_uris[4]]
            fixed = apply_edits(cells[4][1], list(action.edit.changes[cell_uris[4]]))
            assert "models.resnet50(weights=" in fixed
            assert "pretrained" not in fixed

        # Edit the cell: fit after the split instead.
        mark = editor.sequence
        new_text = 'data = pd.read_csv("houses.csv")\nX = data.drop(columns=["price"])\n'
        editor.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(
                    version=2, uri=notebook_uri
                ),
                change=types.NotebookDocumentChangeEvent(
                    cells=types.NotebookDocumentCellChanges(
                        text_content=[
                            types.NotebookDocumentCellContentChanges(
                                document=types.VersionedTextDocumentIdentifier(
                                    version=2, uri=cell_uris[2]
                                ),
                                changes=[types.TextDocumentContentChangeWholeDocument(new_text)],
                            )
                        ]
                    )
                ),
            )
        )
        found = await editor.diagnostics(cell_uris[2], after=mark)
        assert "ML201" not in codes(found)

        mark = editor.sequence
        editor.client.notebook_document_did_close(
            types.DidCloseNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=notebook_uri),
                cell_text_documents=[
                    types.TextDocumentIdentifier(uri=cell_uri) for cell_uri in cell_uris
                ],
            )
        )
        assert await editor.diagnostics(cell_uris[2], after=mark) == []
        assert await editor.stop() == 0

    session(body)


# -- robustness -------------------------------------------------------------------


def test_a_document_that_does_not_parse(project: Path) -> None:
    broken = LEAKY.replace('data = pd.read_csv("data.csv")', 'data = pd.read_csv("data.csv"')

    async def body(editor: Editor) -> None:
        await editor.start([project])
        uri = editor.open(project / "leaky.py", broken)
        found = await editor.diagnostics(uri, version=1)
        assert codes(found) == {"ML001"}
        assert found[0].severity == types.DiagnosticSeverity.Error
        # The server is alive and lints the repaired text.
        version = editor.replace(uri, LEAKY)
        assert "ML201" in codes(await editor.diagnostics(uri, version=version))
        # Garbage bytes and a NUL are findings, not crashes.
        version = editor.replace(uri, "x = 1\0\n\ufeffdef (:\n")
        assert codes(await editor.diagnostics(uri, version=version)) == {"ML001"}
        assert await editor.stop() == 0

    session(body)


def test_requests_for_unknown_documents_are_answered(project: Path) -> None:
    async def body(editor: Editor) -> None:
        await editor.start([project])
        missing = (project / "never_opened.py").as_uri()
        assert await editor.actions(missing, 0) == []
        # Notifications for documents that were never opened are ignored.
        editor.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=missing))
        )
        editor.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=3, uri=missing),
                [types.TextDocumentContentChangeWholeDocument(text="x = 1\n")],
            )
        )
        uri = editor.open(project / "leaky.py", LEAKY)
        assert "ML201" in codes(await editor.diagnostics(uri, version=1))
        assert await editor.stop() == 0

    session(body)


def _message(payload: dict | bytes) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _responses(stdout: bytes) -> dict[int, dict]:
    responses = {}
    while stdout:
        header, _, rest = stdout.partition(b"\r\n\r\n")
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        message = json.loads(rest[:length])
        stdout = rest[length:]
        if "id" in message and "method" not in message:
            responses[message["id"]] = message
    return responses


def _request(number: int, method: str, params: object) -> bytes:
    return _message({"jsonrpc": "2.0", "id": number, "method": method, "params": params})


def test_malformed_messages_do_not_kill_the_server(project: Path) -> None:
    """Bytes that are not JSON, a message without a method, parameters of the wrong shape
    and an unknown method: each is answered or dropped, and the session goes on."""
    uri = (project / "leaky.py").as_uri()
    at_start = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
    stream = b"".join(
        [
            _message(b"{this is not json"),
            _message({"jsonrpc": "2.0", "id": 99}),
            _request(1, "initialize", {"processId": None, "capabilities": {}}),
            _message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            _request(2, "textDocument/codeAction", {"textDocument": 7}),
            _request(3, "mllint/nonsense", {}),
            _request(4, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {}}),
            _request(
                5,
                "textDocument/codeAction",
                {"textDocument": {"uri": uri}, "range": at_start, "context": {"diagnostics": []}},
            ),
            _request(6, "shutdown", None),
            _message({"jsonrpc": "2.0", "method": "exit"}),
        ]
    )
    done = subprocess.run(
        [sys.executable, "-m", "mllint", "server"],
        input=stream,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    responses = _responses(done.stdout)
    assert "capabilities" in responses[1]["result"]
    for bad in (2, 3, 4):
        assert "error" in responses[bad], responses.get(bad)
    assert responses[3]["error"]["code"] == -32601  # method not found
    assert responses[5]["result"] is None  # a well-formed request after the bad ones
    assert "result" in responses[6]
    assert done.returncode == 0, done.stderr.decode()


# -- the command line -------------------------------------------------------------


def test_check_and_version_never_import_the_language_server(project: Path) -> None:
    probe = (
        "import sys\n"
        "from mllint.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')]\n"
        "loaded += [m for m in sys.modules if m.startswith('mllint.lsp')]\n"
        "print('LOADED', loaded)\n"
    )
    for argv in (["check", str(project / "leaky.py")], ["--version"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert "LOADED []" in done.stdout, done.stdout + done.stderr


# -- positions --------------------------------------------------------------------


def test_columns_convert_between_characters_and_the_clients_units() -> None:
    from mllint.lsp.server import to_character, to_client_column

    line = 'label = "🙂é"; X = scaler.fit_transform(X)'
    column = line.index("scaler")  # in characters (what mllint reports, 0-based)
    utf16 = to_client_column(line, column, "utf-16")
    utf8 = to_client_column(line, column, "utf-8")
    assert utf16 == column + 1  # the emoji is two UTF-16 units
    assert utf8 == column + 3 + 1  # four bytes for the emoji, two for é
    assert to_client_column(line, column, "utf-32") == column
    assert to_character(line, utf16, "utf-16") == column
    assert to_character(line, utf8, "utf-8") == column
    assert to_client_column("x = 1", 99, "utf-16") == 99  # past the end stays past it
