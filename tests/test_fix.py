"""`mllint check --fix / --diff / --show-fixes / --add-noqa` through the real command line:
what is written, what is left alone, and how the files' bytes are kept."""

from __future__ import annotations

import ast
import codecs
import os
import stat

import libcst as cst
import pytest

from mllint.config import Options, load_settings
from mllint.diagnostic import Applicability, Severity
from mllint.engine import RuleSet
from mllint.fix import FixWriteError, fix_path, write_atomically
from mllint.rule import Rule, all_rules, temporary_rules
from mllint.source import read_source

LOAD_SCRIPT = (
    "# Restore the best checkpoint.\n"
    "import torch\n"
    "\n"
    "\n"
    "def restore(model, path):\n"
    "    model.load_state_dict(torch.load(path))\n"
    "    return model\n"
)
LOAD_FIXED = LOAD_SCRIPT.replace("torch.load(path)", "torch.load(path, weights_only=True)")


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode())
    return path


def test_fix_writes_safe_fixes_and_reports_what_remains(tmp_path, mllint):
    text = LOAD_SCRIPT + "\n\ndef peek(path):\n    return torch.load(path)\n"
    path = write(tmp_path, "train.py", text)
    result = mllint("check", "--fix", "--no-color", "--output-format", "concise", cwd=tmp_path)
    assert result.returncode == 1, result
    # The safe fix (result straight into load_state_dict) is applied; the unsafe one is not.
    assert path.read_text() == text.replace(
        "model.load_state_dict(torch.load(path))",
        "model.load_state_dict(torch.load(path, weights_only=True))",
    )
    assert "train.py:11:12: ML701" in result.stdout
    assert "Fixed 1 finding." in result.stdout
    ast.parse(path.read_text())


def test_unsafe_fixes_apply_with_the_flag_and_the_rerun_is_clean(tmp_path, mllint):
    text = "import torch\n\nstate = torch.load('ckpt.pt')\nout = model.forward(x)\n"
    path = write(tmp_path, "script.py", text)
    result = mllint("check", "--fix", "--unsafe-fixes", "--show-fixes", cwd=tmp_path)
    assert result.returncode == 0, result
    assert path.read_text() == (
        "import torch\n\nstate = torch.load('ckpt.pt', weights_only=True)\nout = model(x)\n"
    )
    assert "Fixed 2 findings:" in result.stdout
    assert "- script.py:" in result.stdout
    assert "1 x ML503 (forward-called-directly)" in result.stdout
    assert "1 x ML701 (torch-load-unsafe)" in result.stdout
    assert mllint("check", cwd=tmp_path).returncode == 0


def test_overlapping_fixes_converge_over_rounds(tmp_path, mllint):
    # ML503 replaces the outer call, ML701 the inner one: the inner fix waits a round.
    text = "import torch\n\nlogits = model.forward(torch.load(p))\n"
    path = write(tmp_path, "overlap.py", text)
    result = mllint("check", "--fix", "--unsafe-fixes", "--show-fixes", cwd=tmp_path)
    assert result.returncode == 0, result
    assert path.read_text() == "import torch\n\nlogits = model(torch.load(p, weights_only=True))\n"
    assert "Fixed 2 findings:" in result.stdout


def test_diff_writes_nothing_and_exits_one(tmp_path, mllint):
    path = write(tmp_path, "train.py", LOAD_SCRIPT)
    before = path.read_bytes()
    result = mllint("check", "--diff", cwd=tmp_path)
    assert result.returncode == 1, result
    assert path.read_bytes() == before
    assert "--- a/train.py\n+++ b/train.py\n" in result.stdout
    assert "-    model.load_state_dict(torch.load(path))\n" in result.stdout
    assert "+    model.load_state_dict(torch.load(path, weights_only=True))\n" in result.stdout
    assert "Would fix 1 finding." in result.stderr


def test_diff_without_changes_exits_zero(tmp_path, mllint):
    write(tmp_path, "clean.py", LOAD_FIXED)
    result = mllint("check", "--diff", cwd=tmp_path)
    assert result.returncode == 0, result
    assert result.stdout == ""


def test_exit_non_zero_on_fix(tmp_path, mllint):
    write(tmp_path, "train.py", LOAD_SCRIPT)
    result = mllint("check", "--fix", "--exit-non-zero-on-fix", cwd=tmp_path)
    assert result.returncode == 1, result
    assert "All checks passed!" in result.stdout
    # Nothing left to fix: the hook passes.
    assert mllint("check", "--fix", "--exit-non-zero-on-fix", cwd=tmp_path).returncode == 0


def test_json_output_stays_json_under_fix(tmp_path, mllint):
    write(tmp_path, "train.py", LOAD_SCRIPT + "x = torch.load(p)\n")
    result = mllint("check", "--fix", "--output-format", "json", cwd=tmp_path)
    assert result.returncode == 1, result
    (finding,) = result.json()
    assert finding["code"] == "ML701"
    assert finding["fix"]["applicability"] == "unsafe"
    assert "Fixed 1 finding." in result.stderr


def test_noqa_suppressed_findings_are_not_fixed(tmp_path, mllint):
    text = "import torch\nmodel.load_state_dict(torch.load(p))  # noqa: ML701\n"
    path = write(tmp_path, "kept.py", text)
    result = mllint("check", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result
    assert path.read_text() == text


# -- the file's bytes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "original", "old", "new"),
    [
        (
            "crlf.py",
            LOAD_SCRIPT.replace("\n", "\r\n").encode(),
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
        (
            "bom.py",
            codecs.BOM_UTF8 + ("# Modèle\n" + LOAD_SCRIPT).encode(),
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
        (
            "latin1.py",
            ("# -*- coding: latin-1 -*-\n# Modèle entraîné\n" + LOAD_SCRIPT).encode("latin-1"),
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
        (
            # A new line added by a fix gets the file's line ending.
            "crlf_multiline.py",
            b"import torch\r\n\r\nmodel.load_state_dict(torch.load(\r\n    path,\r\n))\r\n",
            b"    path,\r\n",
            b"    path,\r\n    weights_only=True,\r\n",
        ),
        (
            # LibCST drops a final bare CR when it writes code back; the fix keeps it.
            "classic_mac_line_endings.py",
            LOAD_SCRIPT.replace("\n", "\r").encode(),
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
        (
            "final_bare_cr.py",
            b"import torch\nmodel.load_state_dict(torch.load(path))\r",
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
        (
            "no_final_newline.py",
            b"import torch\nmodel.load_state_dict(torch.load(path))",
            b"torch.load(path)",
            b"torch.load(path, weights_only=True)",
        ),
    ],
)
def test_bytes_outside_the_fix_are_kept(tmp_path, mllint, name, original, old, new):
    path = write(tmp_path, name, original)
    result = mllint("check", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result
    assert original.count(old) == 1
    assert path.read_bytes() == original.replace(old, new)


def test_file_mode_is_kept_and_no_temporary_file_is_left(tmp_path, mllint):
    path = write(tmp_path, "train.py", LOAD_SCRIPT)
    os.chmod(path, 0o640)
    assert mllint("check", "--fix", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


def test_a_symlinked_file_is_fixed_through_the_link(tmp_path, mllint):
    real = write(tmp_path, "real_train.py", LOAD_SCRIPT)
    (tmp_path / "src").mkdir()
    link = tmp_path / "src" / "train.py"
    link.symlink_to(real)
    assert mllint("check", "--fix", "src/train.py", cwd=tmp_path).returncode == 0
    assert link.is_symlink()
    assert real.read_text() == LOAD_FIXED


def test_read_only_file_is_reported_not_written(tmp_path, mllint):
    path = write(tmp_path, "locked.py", LOAD_SCRIPT)
    os.chmod(path, 0o444)
    try:
        result = mllint("check", "--fix", "--output-format", "concise", cwd=tmp_path)
    finally:
        os.chmod(path, 0o644)
    assert result.returncode == 2, result
    assert "locked.py: not fixed: the file is read-only" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == LOAD_SCRIPT
    # The findings reported are the file's, as it still is on disk.
    assert "locked.py:6:27: ML701" in result.stdout


def _ruleset(tmp_path) -> RuleSet:
    rules = all_rules()
    return RuleSet(rules, load_settings(rules, [tmp_path], Options(), None))


def test_write_refuses_a_file_changed_since_it_was_read(tmp_path):
    path = write(tmp_path, "train.py", LOAD_SCRIPT)
    source = read_source(path)
    path.write_text(LOAD_SCRIPT + "# edited in the editor meanwhile\n")
    with pytest.raises(FixWriteError, match="changed on disk"):
        write_atomically(path, source, LOAD_FIXED)
    assert path.read_text() == LOAD_SCRIPT + "# edited in the editor meanwhile\n"


def test_fix_path_reports_a_concurrent_edit(tmp_path, monkeypatch):
    import mllint.fix as fix_module

    path = write(tmp_path, "train.py", LOAD_SCRIPT)
    edited = LOAD_SCRIPT + "# saved by the editor while mllint was fixing\n"
    real_fix_source = fix_module.fix_source

    def fix_while_someone_edits(*args, **kwargs):
        outcome = real_fix_source(*args, **kwargs)
        path.write_text(edited)
        return outcome

    monkeypatch.setattr(fix_module, "fix_source", fix_while_someone_edits)
    outcome = fix_path(path, _ruleset(tmp_path), "train.py")
    assert outcome.problem and "changed on disk" in outcome.problem
    assert not outcome.written and not outcome.applied
    assert path.read_text() == edited


def test_a_failed_rename_leaves_the_original_and_no_temporary(tmp_path, monkeypatch):
    path = write(tmp_path, "train.py", LOAD_SCRIPT)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    outcome = fix_path(path, _ruleset(tmp_path), "train.py")
    assert outcome.problem == "cannot write it: No space left on device"
    assert path.read_text() == LOAD_SCRIPT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


class _BreaksSyntax(Rule, register=False):
    """
    ## What it does
    A test rule whose fix produces code that does not parse.
    """

    code = "ML799"
    name = "test-breaks-syntax"
    category = "security"
    severity = Severity.WARNING
    fixable = Applicability.SAFE

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "broken":
            fix = self.context.replacement_fix(
                node, cst.Name("lambda"), "Break it", Applicability.SAFE
            )
            self.report(node, "a name to break", fix=fix)


def test_a_fix_that_breaks_syntax_writes_nothing_and_names_the_rule(tmp_path):
    path = write(tmp_path, "victim.py", "value = broken\n")
    with temporary_rules(_BreaksSyntax):
        rules = all_rules()
        settings = load_settings(rules, [tmp_path], Options(select=["ML799"]), None)
        outcome = fix_path(path, RuleSet(rules, settings), "victim.py")
    assert path.read_text() == "value = broken\n"
    assert not outcome.written
    (error,) = outcome.internal_errors
    assert error.rule == "ML799"
    assert "does not parse" in error.message
    assert [d.code for d in outcome.diagnostics] == ["ML799"]


# -- --add-noqa ----------------------------------------------------------------------


def test_add_noqa_silences_every_finding_and_keeps_other_codes(tmp_path, mllint):
    text = (
        "import torch\n"
        "a = torch.load(p)\n"
        "b = torch.load(p, weights_only=False)  # noqa: E501\n"
        "c = torch.load('''first\n"
        "second''')\n"
        "d = model.forward(torch.load(q))  # type: ignore\n"
    )
    path = write(tmp_path, "legacy.py", text)
    result = mllint("check", "--add-noqa", cwd=tmp_path)
    assert result.returncode == 0, result
    assert "Added 4 noqa directives." in result.stderr
    assert path.read_text() == (
        "import torch\n"
        "a = torch.load(p)  # noqa: ML701\n"
        "b = torch.load(p, weights_only=False)  # noqa: E501, ML701\n"
        "c = torch.load('''first\n"
        "second''')  # noqa: ML701\n"
        "d = model.forward(torch.load(q))  # type: ignore  # noqa: ML503, ML701\n"
    )
    ast.parse(path.read_text())
    assert mllint("check", cwd=tmp_path).returncode == 0
    # Running it again adds nothing.
    again = mllint("check", "--add-noqa", cwd=tmp_path)
    assert "Added 0 noqa directives." in again.stderr


def test_add_noqa_skips_a_backslash_continued_line(tmp_path, mllint):
    text = "import torch\nstate = torch.load(p) if p else \\\n    None\n"
    path = write(tmp_path, "cont.py", text)
    result = mllint("check", "--add-noqa", cwd=tmp_path)
    assert path.read_text() == text
    assert "cont.py:2: no `# noqa` added" in result.stderr


def test_add_noqa_keeps_crlf(tmp_path, mllint):
    path = write(tmp_path, "w.py", b"import torch\r\nx = torch.load(p)\r\n")
    assert mllint("check", "--add-noqa", cwd=tmp_path).returncode == 0
    assert path.read_bytes() == b"import torch\r\nx = torch.load(p)  # noqa: ML701\r\n"


def test_add_noqa_with_fix_is_a_usage_error(tmp_path, mllint):
    result = mllint("check", "--add-noqa", "--fix", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot be combined" in result.stderr


# -- whole-program (project) rules ---------------------------------------------------


def test_project_rule_fixes_apply_as_text_edits_after_the_file_stage(tmp_path, mllint):
    import shutil

    from .conftest import FIXTURES

    project = tmp_path / "proj"
    shutil.copytree(FIXTURES / "ML101" / "partial_seed", project)
    before = (project / "train.py").read_text()
    # ML101's seeding fix is unsafe: plain --fix leaves the file alone.
    assert mllint("check", "--select", "ALL", "--fix", cwd=project).returncode == 1
    assert (project / "train.py").read_text() == before
    result = mllint(
        "check",
        "--select",
        "ALL",
        "--ignore",
        "ML302,ML401,project",
        "--fix",
        "--unsafe-fixes",
        cwd=project,
    )
    assert result.returncode == 0, result
    after = (project / "train.py").read_text()
    assert after == before.replace(
        "from torch import nn\n", "from torch import nn\nnp.random.seed(0)\n"
    )
    assert "Fixed 1 finding." in result.stdout
    ast.parse(after)


def test_many_files_are_fixed_in_parallel_like_serially(tmp_path, mllint):
    for index in range(30):  # above the engine's threshold for worker processes
        write(tmp_path, f"train_{index}.py", LOAD_SCRIPT)
    result = mllint("check", "--fix", "-j", "2", cwd=tmp_path)
    assert result.returncode == 0, result
    assert "Fixed 30 findings." in result.stdout
    assert all(path.read_text() == LOAD_FIXED for path in tmp_path.glob("*.py"))


def test_a_file_the_parser_cannot_reproduce_is_not_fixed(tmp_path, monkeypatch):
    import mllint.fix as fix_module

    path = write(tmp_path, "train.py", LOAD_SCRIPT)
    # As if LibCST's code generation lost or changed some of the file's other text.
    monkeypatch.setattr(fix_module, "_lost_by_codegen", lambda text, regenerated: None)
    outcome = fix_path(path, _ruleset(tmp_path), "train.py", unsafe=True)
    assert path.read_text() == LOAD_SCRIPT and not outcome.written
    (error,) = outcome.internal_errors
    assert "does not reproduce this file byte for byte" in error.message
    assert [d.code for d in outcome.diagnostics] == ["ML701"]
