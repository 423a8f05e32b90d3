"""The command line as a user meets it: exit codes, output formats, rules and rule docs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mllint import __version__

from .conftest import FIXTURES, REPO, run_mllint

DEMO = FIXTURES / "demo"


def test_version():
    result = run_mllint("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mllint {__version__}"


def test_no_command_prints_help_and_fails():
    result = run_mllint()
    assert result.returncode == 2
    assert "check" in result.stdout


def test_demo_has_findings_exit_1():
    result = run_mllint("check", "fixtures/demo")
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert "fixtures/demo/train.py:44:30: ML503 `model.forward(...)` skips the module's hooks" in (
        "\n".join(lines)
    )
    assert lines[-2].startswith("Found 8 findings (1 error, 6 warnings, 1 info) in 4 files.")


def test_clean_file_exit_0(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text("import torch\n\nstate = torch.load('w.pt', weights_only=True)\n")
    result = run_mllint("check", str(clean))
    assert result.returncode == 0, result
    assert "All checks passed! (1 file checked)" in result.stdout


def test_exit_zero(tmp_path):
    result = run_mllint("check", "--exit-zero", "fixtures/demo")
    assert result.returncode == 0
    assert "ML701" in result.stdout


def test_concise_format_is_one_line_per_finding():
    result = run_mllint("check", "--output-format", "concise", "--quiet", "fixtures/demo")
    lines = result.stdout.splitlines()
    assert len(lines) == 8
    assert all(line.startswith("fixtures/demo/") for line in lines)
    assert lines == sorted(lines, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))


def test_full_format_shows_source_and_caret():
    result = run_mllint("check", "--output-format", "full", "--no-color", "fixtures/demo/train.py")
    out = result.stdout
    assert "44 |             loss = criterion(model.forward(images), labels)" in out
    caret_line = next(line for line in out.splitlines() if "^" in line and "ML503" in line)
    source_line = next(line for line in out.splitlines() if line.startswith("44 |"))
    # The caret starts under `model.forward(` and spans the call.
    assert caret_line.index("^") == source_line.index("model.forward")
    assert caret_line.count("^") == len("model.forward(images)")
    assert "= help: Call `model(...)` instead (unsafe fix)" in out
    assert "\x1b[" not in out  # plain text when not a terminal


def test_full_format_colour_is_forced_and_disabled():
    coloured = run_mllint(
        "check", "--output-format", "full", "fixtures/demo/train.py", env={"FORCE_COLOR": "1"}
    )
    assert "\x1b[" in coloured.stdout
    plain = run_mllint(
        "check",
        "--output-format",
        "full",
        "fixtures/demo/train.py",
        env={"FORCE_COLOR": "1", "NO_COLOR": "1"},
    )
    assert "\x1b[" not in plain.stdout


def test_json_matches_design_contract():
    result = run_mllint("check", "--select", "ALL", "--output-format", "json", "fixtures/demo")
    assert result.returncode == 1
    data = result.json()
    # With every rule selected the demo also gets ML908 (off by default: validates every
    # epoch, keeps the last model) and ML905 (off by default: no tests).
    assert len(data) == 10
    keys = {
        "code",
        "name",
        "message",
        "severity",
        "filename",
        "location",
        "end_location",
        "cell",
        "fix",
        "url",
        "noqa_row",
    }
    for item in data:
        assert set(item) == keys
        assert item["filename"].startswith(str(REPO))
        assert set(item["location"]) == {"row", "column"}
        assert item["cell"] is None
        assert item["severity"] in {"error", "warning", "info"}
        assert item["noqa_row"] == item["location"]["row"]
    fixes = [item["fix"] for item in data if item["fix"]]
    assert fixes and all(fix["applicability"] in {"safe", "unsafe"} for fix in fixes)
    load = next(i for i in data if i["filename"].endswith("train.py") and i["code"] == "ML701")
    edit = load["fix"]["edits"][0]
    assert edit["content"] == "torch.load(args.resume, map_location=device, weights_only=True)"
    assert edit["location"] == load["location"]


def test_output_file(tmp_path):
    target = tmp_path / "out" / "report.json"
    result = run_mllint("check", "--output-format", "json", "-o", str(target), "fixtures/demo")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(json.loads(target.read_text())) == 8


def test_statistics():
    result = run_mllint("check", "--statistics", "fixtures/demo")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0].strip(), r[1], r[3]) for r in rows] == [
        ("3", "ML701", "torch-load-unsafe"),
        ("2", "ML503", "forward-called-directly"),
        ("1", "ML101", "seed-not-set"),
        ("1", "ML301", "print-for-metrics"),
        ("1", "ML302", "no-experiment-tracking"),
    ]


def test_select_and_ignore_on_command_line():
    only_503 = run_mllint("check", "--select", "ML503", "--output-format", "json", "fixtures/demo")
    assert {item["code"] for item in only_503.json()} == {"ML503"}
    by_name = run_mllint(
        "check", "--ignore", "forward-called-directly", "--output-format", "json", "fixtures/demo"
    )
    assert {item["code"] for item in by_name.json()} == {"ML701", "ML101", "ML301", "ML302"}
    by_category = run_mllint(
        "check", "--select", "security", "--output-format", "json", "fixtures/demo"
    )
    assert {item["code"] for item in by_category.json()} == {"ML701"}


def test_unknown_selector_is_a_usage_error():
    result = run_mllint("check", "--select", "ML7O1", "fixtures/demo")
    assert result.returncode == 2
    assert "unknown rule selector 'ML7O1'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_is_an_error_but_other_paths_are_checked():
    result = run_mllint("check", "no/such/dir", "fixtures/demo/train.py")
    assert result.returncode == 2
    assert "no/such/dir: no such file or directory" in result.stderr
    assert "ML503" in result.stdout


def test_rules_table_and_json():
    table = run_mllint("rules")
    assert table.returncode == 0
    assert "ML701" in table.stdout and "torch-load-unsafe" in table.stdout
    data = run_mllint("rules", "--format", "json").json()
    codes = [item["code"] for item in data]
    assert codes == sorted(codes)
    assert {"ML001", "ML002", "ML503", "ML701"} <= set(codes)
    ml701 = next(item for item in data if item["code"] == "ML701")
    assert ml701["severity"] == "error" and ml701["fixable"] == "unsafe"
    assert ml701["category"] == "security" and ml701["enabled_by_default"] is True


def test_rule_documentation_by_code_and_name():
    by_code = run_mllint("rule", "ML701")
    assert by_code.returncode == 0
    assert "# ML701 torch-load-unsafe" in by_code.stdout
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in by_code.stdout
    by_name = run_mllint("rule", "forward-called-directly")
    assert "# ML503 forward-called-directly" in by_name.stdout
    as_json = run_mllint("rule", "ml701", "--format", "json").json()
    assert as_json["code"] == "ML701" and "weights_only" in as_json["explanation"]


def test_unknown_rule():
    result = run_mllint("rule", "ML999")
    assert result.returncode == 2
    assert "unknown rule 'ML999'" in result.stderr


def test_console_script_and_module_agree():
    import shutil
    import subprocess

    script = shutil.which("mllint", path=str(REPO / ".venv" / "bin")) or shutil.which("mllint")
    if script is None:
        import pytest

        pytest.skip("the mllint console script is not on PATH in this environment")
    completed = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == f"mllint {__version__}"
    assert sys.executable  # the module form is what run_mllint uses everywhere else


def test_check_does_not_import_torch():
    code = (
        "import sys\n"
        "from mllint.cli import main\n"
        "rc = main(['check', '--quiet', 'fixtures/demo'])\n"
        "assert 'torch' not in sys.modules, 'check imported torch'\n"
        "print('rc', rc)\n"
    )
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert "rc 1" in completed.stdout


def test_help_is_formatted_at_the_terminal_width():
    """Arguments are declared without asking for the terminal's width; help still uses it."""
    narrow = run_mllint("check", "--help", env={"COLUMNS": "50"}).stdout.splitlines()
    wide = run_mllint("check", "--help", env={"COLUMNS": "200"}).stdout.splitlines()
    assert len(narrow) > len(wide)
    assert sum(len(line) > 50 for line in narrow) <= 3  # unbreakable: the lists of choices
    assert max(map(len, wide)) > 100


def test_the_command_still_runs_atexit_handlers_after_check(tmp_path):
    """`mllint check` ends without the interpreter's teardown, but after the atexit
    handlers: the import caches (compiled dataclass methods and regular expressions, saved
    at exit) are written."""
    (tmp_path / "train.py").write_text(
        "import torch\n\nstate = torch.load('w.pt')\nprint(state)\n", encoding="utf-8"
    )
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CACHE_HOME": "", "MLLINT_NO_IMPORT_CACHE": ""}
    result = run_mllint(
        "check", "--select", "ML701", "--no-cache", "--quiet", "train.py", cwd=tmp_path, env=env
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("train.py:3:9: ML701 ")
    stores = sorted(path.name.rsplit("-", 1)[0] for path in (home / ".cache" / "mllint").iterdir())
    # LibCST's (saved at once), mllint's dataclasses' and the regular expressions (at exit).
    assert stores == ["libcst-dataclasses", "mllint-dataclasses", "mllint-regex"]


_EXIT_NOW = """
import atexit, sys, threading, time
from pathlib import Path
from mllint import cli
atexit.register(lambda: print("atexit ran", end=""))
def later():
    time.sleep(0.3)
    Path(sys.argv[1]).write_text("thread finished")
threading.Thread(target=later).start()
print("buffered ", end="")
cli._exit_now(int(sys.argv[2]))
print("after", end="")
"""


def test_the_quick_exit_keeps_what_a_normal_exit_does(tmp_path):
    """It ends with the given status, after unflushed output and atexit output, and never
    before a (non-daemon) thread has finished: then it leaves the exit to Python."""
    import subprocess

    marker = tmp_path / "marker"
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_NOW, str(marker), "1"], capture_output=True, text=True
    )
    # The thread was running: the normal exit, after the rest of the script, waited for it.
    assert (done.returncode, done.stdout) == (0, "buffered afteratexit ran")
    assert marker.read_text() == "thread finished"
    quick = _EXIT_NOW.replace("threading.Thread(target=later).start()", "")
    done = subprocess.run(
        [sys.executable, "-c", quick, str(marker), "3"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered atexit ran", "")


def test_output_that_cannot_be_written_fails_as_before(tmp_path):
    """Standard output on a full device: the same report and status (120 when the last
    flush fails) as a normal exit after ``main``."""
    import subprocess

    import pytest

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    (tmp_path / "train.py").write_text("import torch\n\nstate = torch.load('w.pt')\n")
    normal = "import sys\nfrom mllint.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    found = []
    for python in (["-m", "mllint"], ["-c", normal]):
        for env in ({}, {"PYTHONUNBUFFERED": "1"}):
            with open("/dev/full", "w") as full:
                done = subprocess.run(
                    [sys.executable, *python, "check", "--no-cache", "--exit-zero", "train.py"],
                    cwd=tmp_path,
                    stdout=full,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "", **env},
                )
            found.append((done.returncode, done.stderr))
    assert found[:2] == found[2:]
    assert found[0][0] == 120 and "No space left on device" in found[0][1]


def test_main_leaves_the_garbage_collector_as_it_found_it(tmp_path, monkeypatch):
    """A few named files are checked with the cyclic collector off; a caller of ``main``
    in a process that goes on gets it back on."""
    import gc

    from mllint import api
    from mllint.cli import main

    (tmp_path / "train.py").write_text("import torch\n\nstate = torch.load('w.pt')\n")
    monkeypatch.chdir(tmp_path)
    seen = []
    check_files = api.check_files

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return check_files(*args, **kwargs)

    monkeypatch.setattr(api, "check_files", spy)
    assert gc.isenabled()
    assert main(["check", "--no-cache", "--quiet", "train.py"]) == 1
    assert main(["check", "--no-cache", "--quiet", "."]) == 1
    assert seen == [False, True]
    assert gc.isenabled()


def _parsed(parser, argv: list[str]) -> tuple:
    """What argparse makes of ``argv``: the namespace or the exit, and what it printed."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = vars(parser.parse_args(argv))
        except SystemExit as exit:
            result = ("exit", exit.code)
    return result, out.getvalue(), err.getvalue()


def test_arguments_starting_with_check_parse_alike_with_the_check_parser_alone(monkeypatch):
    """``mllint check ...`` builds only the ``check`` parser: the same namespace, help,
    usage, errors and exit status as with every command's parser."""
    from mllint.cli import build_parser

    monkeypatch.setenv("COLUMNS", "100")
    cases = [
        ["check"],
        ["check", "a.py", "rules", "probe"],
        ["check", "--select", "ML1,ML2", "--ignore", "ML101", "-j", "2", "x"],
        ["check", "--help"],
        ["check", "-h", "--select"],
        ["check", "--output-format", "xml"],
        ["check", "--jobs", "many"],
        ["check", "--unknown-flag", "a.py"],
        ["check", "--version"],
        ["check", "--select"],
        ["check", "--fix", "--diff", "--exit-zero", "--fail-level", "warning"],
    ]
    full, check_only = build_parser(), build_parser(check_only=True)
    for argv in cases:
        expected = _parsed(full, argv)
        assert _parsed(check_only, argv) == expected, argv
    assert "usage: mllint check" in _parsed(check_only, ["check", "--help"])[1]
    assert _parsed(check_only, ["check", "--jobs", "x"])[0] == ("exit", 2)
    # Other commands are not there (main() builds them for any other first argument).
    assert _parsed(check_only, ["rules"])[0] == ("exit", 2)
    assert _parsed(full, ["rules"])[0]["command"] == "rules"


def test_the_main_help_and_version_list_every_command():
    for flag in ("--help", "-h"):
        result = run_mllint(flag)
        assert result.returncode == 0
        for command in ("check", "rules", "rule", "server", "audit", "probe", "env"):
            assert f"    {command} " in result.stdout, command
    assert run_mllint("--version", "check").stdout.strip() == f"mllint {__version__}"
    done = run_mllint("check", "--version")
    assert done.returncode == 2
    assert done.stderr.endswith("mllint: error: unrecognized arguments: --version\n")
