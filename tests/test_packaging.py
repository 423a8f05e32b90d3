"""Packaging: the rule pack installs as mllint.rules and nothing generic lands at top level."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from .conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def declared_packages() -> set[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return set(data["tool"]["setuptools"]["packages"])


def package_folders() -> set[str]:
    found = set()
    for init in REPO.glob("mllint/**/__init__.py"):
        found.add(".".join(init.parent.relative_to(REPO).parts))
    for init in REPO.glob("rules/**/__init__.py"):
        found.add(".".join(("mllint", *init.parent.relative_to(REPO).parts)))
    return found


def test_every_package_folder_is_declared():
    missing = package_folders() - declared_packages()
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{completed.stderr}")
    (path,) = out.glob("*.whl")
    return path


def test_wheel_ships_rules_inside_mllint(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.endswith(".dist-info/")}
    top_level = {name for name in top_level if not name.endswith(".dist-info")}
    assert top_level == {"mllint"}
    assert "mllint/rules/security/torch_load_unsafe.py" in names
    assert "mllint/rules/training/forward_called_directly.py" in names
    assert "mllint/rule_manifest.json" in names  # the rules' metadata (mllint/manifest.py)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "mllint = mllint.cli:console_entry" in text
