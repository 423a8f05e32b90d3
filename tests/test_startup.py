"""Start-up: the rule manifest is current, and runs import only the rules they need."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mllint import manifest
from mllint.rule import all_rules

from .conftest import REPO

FIXTURES = REPO / "fixtures"

#: Prints, after running ``mllint`` with the given arguments, which rule modules and
#: whether LibCST were imported.
_PROBE = textwrap.dedent(
    """
    import json, sys
    from mllint.cli import main
    try:
        status = main(sys.argv[1:])
    except SystemExit as exit:
        status = exit.code
    print(json.dumps({
        "status": status,
        "rules": sorted(m for m in sys.modules if m.startswith("mllint.rules.")),
        "libcst": "libcst" in sys.modules,
        "heavy": sorted({m.split(".")[0] for m in sys.modules} & {"torch", "pygls"}),
    }))
    """
)


def _probe(args: list[str], cwd: Path, cache: Path | None = None) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    if cache is not None:
        env["MLLINT_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return json.loads(lines[-1])


def _rule_modules(scope: str | None = None) -> set[str]:
    return {
        rule.__module__
        for rule in all_rules(plugins=False).values()
        if rule.__module__.startswith("mllint.rules.") and scope in (None, rule.scope)
    }


def test_rule_manifest_is_current():
    text = manifest.MANIFEST_PATH.read_text(encoding="utf-8")
    assert text == manifest.manifest_text(all_rules(plugins=False)), (
        "mllint/rule_manifest.json is stale: run `python -m mllint.docs`"
    )


def test_lazy_rules_answer_like_the_rule_classes():
    data = manifest.load_manifest()
    assert data is not None
    rules = all_rules(plugins=False)
    assert [entry["code"] for entry in data["rules"]] == list(rules)
    for entry in data["rules"]:
        lazy, real = manifest.LazyRule(entry), rules[entry["code"]]
        assert lazy.metadata() == real.metadata()
        assert list(lazy.visitor_methods()) == sorted(real.visitor_methods())
        for attribute in ("severity", "enabled_by_default", "fixable", "requires_imports"):
            assert getattr(lazy, attribute) == getattr(real, attribute), attribute
        assert (lazy.scope, lazy.tags, lazy.security_severity) == (
            real.scope,
            real.tags,
            real.security_severity,
        )
        assert lazy.summaries == getattr(real, "summaries", "all")
        assert lazy.load() is real
        assert lazy.documentation() == real.documentation()  # read from the class


def test_a_stale_manifest_is_an_error_when_its_rule_is_loaded():
    data = manifest.load_manifest()
    assert data is not None
    entry = dict(data["rules"][-1], enabled_by_default=not data["rules"][-1]["enabled_by_default"])
    with pytest.raises(Exception, match="stale"):
        manifest.LazyRule(entry).load()


def test_the_manifest_is_not_used_when_the_rule_pack_differs(tmp_path):
    data = json.loads(manifest.MANIFEST_PATH.read_text(encoding="utf-8"))
    data["modules"] = data["modules"][:-1]  # as if a rule module had been added since
    stale = tmp_path / "rule_manifest.json"
    stale.write_text(json.dumps(data))
    assert manifest.load_manifest(stale) is None
    stale.write_text("{not json")
    assert manifest.load_manifest(stale) is None


def test_a_declared_plugin_is_seen_without_importlib_metadata(tmp_path, monkeypatch):
    from importlib.metadata import entry_points

    # Never False where importlib.metadata finds a plugin (then every rule is imported).
    assert manifest.plugins_declared() or not entry_points(group=manifest.PLUGIN_GROUP)
    if manifest.plugins_declared():
        pytest.skip("a rule plugin is installed in this environment")
    dist = tmp_path / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[console_scripts]\nx = y\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not manifest.plugins_declared()
    (dist / "entry_points.txt").write_text("[mllint.rules]\nacme = acme_rules\n")
    assert manifest.plugins_declared()


def test_version_imports_neither_libcst_nor_a_rule(tmp_path):
    found = _probe(["--version"], tmp_path)
    assert found == {"status": 0, "rules": [], "libcst": False, "heavy": []}


def test_non_ml_files_import_no_file_rule(tmp_path):
    """No file rule applies to a file importing no ML library: none is imported (the
    whole-program rules, about the project around the file, still run)."""
    (tmp_path / "util.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()\n")
    found = _probe(["check", "--no-cache", "--select", "ALL", "util.py"], tmp_path)
    assert found["status"] == 0
    assert set(found["rules"]) & _rule_modules("file") == set()
    found = _probe(["check", "--no-cache", "--select", "ML2,ML5,ML7", "util.py"], tmp_path)
    assert found == {"status": 0, "rules": [], "libcst": found["libcst"], "heavy": []}


_IMPORTED = textwrap.dedent(
    """
    import json, sys
    from mllint.cli import main
    status = main(sys.argv[2:])
    print(json.dumps([status, sorted(set(sys.argv[1].split(",")) & set(sys.modules))]))
    """
)


def test_checking_a_named_file_imports_what_it_needs_only(tmp_path):
    """pre-commit's case, one file named on the command line and no configuration:
    nothing matches path patterns (pathspec), reads TOML (tomllib), asks for the
    terminal's width (shutil: no help is printed) or, with ``--no-cache``, reads or writes
    cache entries (pickle); a project whose
    pyproject.toml has no [tool.mllint] table is not parsed either. Nor does it load
    OpenSSL (hashlib: the cache's content hashes), start git outside a repository
    (subprocess), format a traceback (traceback) or import LibCST's metadata providers
    that mllint does not use. With a .gitignore to
    honour while walking a folder, pathspec is imported; for the dependencies in a
    pyproject.toml (ML9xx), tomllib."""
    (tmp_path / "train.py").write_text(ML_SCRIPT)
    optional = (
        "pathspec,tomllib,pickle,shutil,hashlib,subprocess,traceback,"
        "libcst.metadata.scope_provider,mllint.probe.cli"
    )

    def imported(*args: str) -> list:
        done = subprocess.run(
            [sys.executable, "-c", _IMPORTED, optional, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    named = ["check", "--select", "ALL", "--no-cache", "--exit-zero", "train.py"]
    imported(*named)  # the first run writes the import cache (tempfile, shutil)
    assert imported(*named) == [0, []]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "train"\n')
    # Not read for a [tool.mllint] table; read for its dependencies by ML9xx rules only.
    assert imported("check", "--select", "ML5,ML7", *named[3:]) == [0, []]
    assert imported(*named) == [0, ["tomllib"]]
    (tmp_path / ".gitignore").write_text("runs/\n")
    assert imported("check", "--select", "ML5,ML7", "--no-cache", "--exit-zero", ".") == [
        0,
        ["pathspec"],
    ]


MLLINT = [sys.executable, "-m", "mllint", "check"]
ML_SCRIPT = """\
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(10):
    loss = model(torch.randn(8, 4)).sum()
    loss.backward()
    optimizer.step()
torch.save(model, "model.pt")
"""


def test_a_warm_run_imports_only_the_project_rules(tmp_path):
    """Every file's results come from the cache: no file rule is imported; the whole-program
    rules run again over the cached summaries (they read files beside the code, which the
    cache does not cover), so those are."""
    (tmp_path / "train.py").write_text(ML_SCRIPT)
    cache = tmp_path / "cache"
    cold = _probe(["check", "--select", "ALL", "train.py"], tmp_path, cache)
    assert cold["status"] == 1
    assert set(cold["rules"]) >= _rule_modules("file") & {
        "mllint.rules.training.zero_grad_missing",
        "mllint.rules.checkpointing.save_whole_module",
    }
    assert cold["libcst"]
    warm = _probe(["check", "--select", "ALL", "train.py"], tmp_path, cache)
    assert warm["status"] == 1
    assert set(warm["rules"]) & _rule_modules("file") == set()
    # Nothing is parsed, so LibCST (0.2 s to import) is not imported either.
    assert (warm["libcst"], warm["heavy"]) == (False, [])
    assert _rule_modules("project") <= set(warm["rules"])
    # Without whole-program rules, a warm run imports no rule at all.
    _probe(["check", "--select", "ML5,ML7", "train.py"], tmp_path, cache)
    files_only = _probe(["check", "--select", "ML5,ML7", "train.py"], tmp_path, cache)
    assert files_only["rules"] == []


def test_lazy_and_eager_registries_give_the_same_report(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_text(ML_SCRIPT)
    outputs = []
    for no_manifest in ("", "1"):
        env = {"MLLINT_NO_RULE_MANIFEST": no_manifest} if no_manifest else {}
        done = subprocess.run(
            [*MLLINT, "--select", "ALL", "--no-cache", "--output-format", "json", "train.py"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", **env},
            check=False,
        )
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])


# -- the cache of LibCST's compiled dataclass methods (mllint.importcache) --------------

_FINGERPRINT = textwrap.dedent(
    """
    import dataclasses, hashlib, json, sys
    from pathlib import Path
    from mllint import importcache
    libcst = importcache.import_libcst(Path(sys.argv[1]))
    import libcst.metadata
    libcst.metadata.ScopeProvider  # the package's __init__ (lazy with the cache): every provider
    sys.modules["libcst._parser.detect_config"].detect_config  # lazy too: the tokenizer
    seen = []
    for module in sorted(
        (m for n, m in sys.modules.items() if n.split(".")[0] == "libcst"), key=lambda m: m.__name__
    ):
        for name, value in sorted(vars(module).items()):
            if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
                continue
            for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__"):
                fn = vars(value).get(method)
                code = getattr(fn, "__code__", None)
                if code is None:
                    continue
                seen.append(repr((
                    value.__module__, value.__qualname__, method, fn.__qualname__,
                    code.co_code, code.co_consts, code.co_names, code.co_varnames,
                    code.co_filename, code.co_flags, code.co_freevars,
                    repr(fn.__annotations__), repr(fn.__defaults__), repr(fn.__kwdefaults__),
                )))
    tree = libcst.parse_module("x = f(a, *b, key=1)  # c\\n")
    print(json.dumps({
        "methods": len(seen),
        "digest": hashlib.sha256("\\n".join(seen).encode()).hexdigest(),
        "tree": repr(tree) + tree.code,
        "equal": tree.deep_equals(libcst.parse_module(tree.code)),
        "shadow_left": "exec" in vars(dataclasses),
        "cached": importcache.os.environ.get(importcache.ENV_OFF) is None,
    }))
    """
)


def _fingerprint(store: Path, *, off: bool = False) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(store.parent)}
    if off:
        env["MLLINT_NO_IMPORT_CACHE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT, str(store)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cached_dataclass_code_makes_identical_libcst_classes(tmp_path):
    store = tmp_path / "codes.bin"
    plain = _fingerprint(store, off=True)
    assert not store.exists()
    first = _fingerprint(store)  # compiles and stores
    assert store.exists()
    second = _fingerprint(store)  # runs the stored code
    assert plain["methods"] > 500
    for found in (first, second):
        assert {k: v for k, v in found.items() if k != "cached"} == {
            k: v for k, v in plain.items() if k != "cached"
        }
        assert found["equal"] and not found["shadow_left"]


def test_the_stored_code_is_used_and_a_corrupt_store_falls_back(tmp_path):
    from mllint import importcache

    store = tmp_path / "codes.bin"
    _fingerprint(store)
    loaded = importcache.CodeStore(store)
    assert len(loaded.codes) > 300
    plain = _fingerprint(tmp_path / "unused.bin", off=True)
    data = bytearray(store.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the checksum fails
    store.write_bytes(bytes(data))
    assert importcache.CodeStore(store).codes == {}
    again = _fingerprint(store)
    assert again["digest"] == plain["digest"]
    assert len(importcache.CodeStore(store).codes) == len(loaded.codes)  # rewritten
    store.write_bytes(b"garbage")
    assert _fingerprint(store)["digest"] == plain["digest"]


def test_stored_code_that_fails_falls_back_to_a_plain_import(tmp_path):
    """Even a store whose checksum is right but whose code raises (planted, or a bug)
    only costs a second, plain import."""
    import marshal

    from mllint import importcache

    store = tmp_path / "codes.bin"
    _fingerprint(store)
    planted = compile("raise RuntimeError('planted')", "<string>", "exec")
    codes = dict.fromkeys(importcache.CodeStore(store).codes, planted)
    payload = marshal.dumps(codes)
    store.write_bytes(
        importcache._MAGIC + importcache._digest(payload).hexdigest().encode() + b"\n" + payload
    )
    assert importcache.CodeStore(store).codes  # the store itself looks valid
    plain = _fingerprint(tmp_path / "unused.bin", off=True)
    found = _fingerprint(store)
    assert found["digest"] == plain["digest"]
    assert not found["shadow_left"]


def test_a_declared_plugin_makes_every_rule_a_class(monkeypatch):
    monkeypatch.setattr(manifest, "plugins_declared", lambda group=manifest.PLUGIN_GROUP: True)
    rules = manifest.available_rules()
    assert rules and not any(isinstance(rule, manifest.LazyRule) for rule in rules.values())


@pytest.mark.parametrize("folder", ["ML002", "ML101", "ML201", "ML501", "ML703", "ML901"])
def test_lazy_rules_give_the_fixtures_the_same_findings(folder, monkeypatch):
    """The whole pipeline (configuration, pre-scan, dispatch, project rules, noqa and
    ML002) sees the same rules through the manifest as through the classes."""
    from mllint import api

    project = FIXTURES / folder
    eager = api.lint_paths([project], select=["ALL"], cwd=project, jobs=1)
    data = manifest.load_manifest()
    assert data is not None
    lazy_rules = {entry["code"]: manifest.LazyRule(entry) for entry in data["rules"]}
    monkeypatch.setattr(api, "available_rules", lambda: dict(lazy_rules))
    lazy = api.lint_paths([project], select=["ALL"], cwd=project, jobs=1)
    assert all(isinstance(rule, manifest.LazyRule) for rule in lazy.rules.values())
    assert lazy.result.diagnostics == eager.result.diagnostics
    assert lazy.result.internal_errors == eager.result.internal_errors == []
    assert eager.result.diagnostics  # the fixtures have findings


_OWN_CLASSES = textwrap.dedent(
    """
    import json, sys
    from mllint import importcache
    if sys.argv[1] == "on":
        importcache.cache_own_dataclasses()
    from dataclasses import dataclass, field

    @dataclass(frozen=True, order=True)
    class Point:
        x: int
        y: int = 0
        tags: list = field(default_factory=list, compare=False)

    p = Point(1, tags=["a"])
    import libcst  # imported plainly: its classes are not for this store
    print(json.dumps({
        "stored": len(importcache._OWN.codes) if importcache._OWN else None,
        "repr": repr(p), "eq": p == Point(1), "lt": Point(0) < p, "hash": hash(p) == hash(Point(1)),
        "code": [repr(getattr(Point, m).__code__.co_code) for m in ("__init__", "__lt__")],
        "hits": importcache._OWN.hits if importcache._OWN else None,
    }))
    """
)


def test_own_dataclasses_use_their_own_store_and_make_identical_classes(tmp_path):
    """``mllint check`` caches the dataclass methods of mllint's own modules too (a store
    beside LibCST's): the classes are the same, the second run uses the stored code, and a
    store whose code fails is compiled afresh."""
    import marshal

    from mllint import importcache

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(mode: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", _OWN_CLASSES, mode],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    plain = run("off")
    first = run("on")
    stores = list((tmp_path / ".cache" / "mllint").glob("mllint-dataclasses-*.bin"))
    assert len(stores) == 1
    second = run("on")
    assert first["hits"] == 0 and second["hits"] >= 3
    assert 3 <= second["stored"] < 20  # Point's methods, none of LibCST's hundreds
    for found in (first, second):
        assert {k: v for k, v in found.items() if k not in ("hits", "stored")} == {
            k: v for k, v in plain.items() if k not in ("hits", "stored")
        }
    planted = compile("raise RuntimeError('planted')", "<string>", "exec")
    codes = dict.fromkeys(importcache.CodeStore(stores[0]).codes, planted)
    payload = marshal.dumps(codes)
    stores[0].write_bytes(
        importcache._MAGIC + importcache._digest(payload).hexdigest().encode() + b"\n" + payload
    )
    again = run("on")
    assert {k: v for k, v in again.items() if k not in ("hits", "stored")} == {
        k: v for k, v in plain.items() if k not in ("hits", "stored")
    }


# -- libcst.metadata, its package __init__ run on first use (mllint.importcache) ---------

_METADATA = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mllint import importcache
    libcst = importcache.import_libcst(Path(sys.argv[1]))
    before = sorted(m for m in sys.modules if m.startswith("libcst.metadata"))
    how = sys.argv[2]
    if how == "from":
        from libcst.metadata import ScopeProvider
    elif how == "attribute":
        import libcst.metadata
        ScopeProvider = libcst.metadata.ScopeProvider
    elif how == "submodule-first":  # a submodule that imports names from the package
        from libcst.metadata.reentrant_codegen import ExperimentalReentrantCodegenProvider
        import libcst.metadata.scope_provider
        ScopeProvider = libcst.metadata.scope_provider.ScopeProvider
    elif how == "star":
        namespace = {}
        exec("from libcst.metadata import *", namespace)
        ScopeProvider = namespace["ScopeProvider"]
    import libcst.metadata
    package = libcst.metadata
    module = libcst.parse_module("import os\\n\\ndef f(x):\\n    return os.path.join(x)\\n")
    wrapper = package.MetadataWrapper(module)
    scopes = wrapper.resolve(ScopeProvider)
    names = wrapper.resolve(package.QualifiedNameProvider)
    resolved = lambda value: value() if callable(value) else value  # LibCST's LazyValue
    print(json.dumps({
        "before": before,
        "same": ScopeProvider is package.scope_provider.ScopeProvider,
        "codegen": package.ExperimentalReentrantCodegenProvider
        is sys.modules["libcst.metadata.reentrant_codegen"].ExperimentalReentrantCodegenProvider,
        "names": sorted(vars(package)),
        "all": package.__all__,
        "dir": dir(package),
        "spec": [package.__spec__.name, type(package.__spec__.loader).__name__],
        "specs": sorted(
            (name, type(m.__spec__.loader).__name__)
            for name, m in sys.modules.items() if name.startswith("libcst.metadata.")
        ),
        "scopes": len(scopes),
        "qualified": sorted(
            str(sorted(q.name for q in found)) for found in map(resolved, names.values()) if found
        ),
        "finders": [type(f).__name__ for f in sys.meta_path],
    }))
    """
)


def _run_import_script(script: str, store: Path, how: str, *, off: bool = False) -> dict:
    """Run ``script`` (one of the lazy-module scripts here) in a fresh interpreter with the
    import cache's store at ``store`` (or the cache off) and return its JSON answer."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(store.parent)}
    if off:
        env["MLLINT_NO_IMPORT_CACHE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", script, str(store), how],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("how", ["from", "attribute", "submodule-first", "star"])
def test_the_lazy_metadata_package_answers_as_a_plain_import(tmp_path, how):
    """With the import cache, ``import libcst`` leaves out the metadata providers mllint
    does not use (scopes, qualified names, type inference...); a plugin that asks for one,
    however it asks, gets the same package, classes and results as with a plain import."""
    store = tmp_path / "codes.bin"
    plain = _run_import_script(_METADATA, tmp_path / "unused.bin", how, off=True)
    _run_import_script(_METADATA, store, how)  # writes the store
    lazy = _run_import_script(_METADATA, store, how)
    assert "libcst.metadata.scope_provider" in plain["before"]
    assert "libcst.metadata.scope_provider" not in lazy["before"]
    assert "libcst.metadata.wrapper" in lazy["before"]
    assert {k: v for k, v in lazy.items() if k != "before"} == {
        k: v for k, v in plain.items() if k != "before"
    }
    assert lazy["same"] and lazy["codegen"] and lazy["scopes"] > 0
    assert lazy["qualified"] == plain["qualified"] != []
    assert lazy["spec"] == ["libcst.metadata", "SourceFileLoader"]
    assert {loader for _name, loader in lazy["specs"]} == {"SourceFileLoader"}


_REPORT_AND_IMPORTS = textwrap.dedent(
    """
    import json, sys
    from mllint.cli import main
    status = main(sys.argv[1:])
    print(json.dumps([status, "pathspec" in sys.modules]))
    """
)


def test_the_data_file_scan_skips_cache_folders(tmp_path):
    """ML906 walks the project for data files; mllint's own cache (``.mllint_cache``, with
    its ``.gitignore``, or wherever MLLINT_CACHE_DIR puts it: a folder tagged with
    CACHEDIR.TAG) holds none of the project's data, and reading its ``.gitignore`` would
    import pathspec for a project that has no ``.gitignore`` of its own."""
    (tmp_path / "train.py").write_text(ML_SCRIPT)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str, cache: Path | None = None) -> tuple[int, bool, list]:
        report = tmp_path / "report.json"
        done = subprocess.run(
            [sys.executable, "-c", _REPORT_AND_IMPORTS, "check", "--select", "ALL", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**env, "MLLINT_CACHE_DIR": str(cache)} if cache else env,
            check=False,
        )
        status, pathspec = json.loads(done.stdout.strip().splitlines()[-1])
        codes = sorted({d["code"] for d in json.loads(report.read_text())})
        report.unlink()
        return status, pathspec, codes

    def big_file(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.truncate(20_000_000)  # sparse: 20 MB of data as far as a size tells

    named = ("--output-format", "json", "-o", "report.json", "--exit-zero", "train.py")
    run(*named)  # writes .mllint_cache/ (with its .gitignore and CACHEDIR.TAG)
    run(*named, cache=tmp_path / "cache")  # and cache/, as MLLINT_CACHE_DIR=cache does
    assert (tmp_path / ".mllint_cache" / ".gitignore").is_file()
    assert (tmp_path / "cache" / "CACHEDIR.TAG").is_file()
    big_file(tmp_path / ".mllint_cache" / "entries" / "ab" / "samples.csv")
    big_file(tmp_path / "cache" / "samples.csv")
    status, pathspec, codes = run("--no-cache", *named)
    assert (status, pathspec) == (0, False)
    assert "ML906" not in codes
    big_file(tmp_path / "data" / "samples.csv")  # the project's own data: reported
    status, pathspec, codes = run("--no-cache", *named)
    assert (status, pathspec) == (0, False)
    assert "ML906" in codes


_FALLBACKS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mllint import importcache
    cst = importcache.import_libcst(Path(sys.argv[1]))
    lazy = "libcst.metadata.position_provider" not in sys.modules
    from mllint.analysis import positions
    from mllint.context import FileContext
    from mllint.source import SourceFile

    def broken(module):
        raise RuntimeError("LibCST internals changed")

    positions.compute_ranges = broken  # the fallback: LibCST's own PositionProvider
    text = "import torch\\n\\nx = torch.zeros(\\n    3)\\n"
    module = cst.parse_module(text)
    source = SourceFile(Path("t.py"), "t.py", text.encode(), text)
    context = FileContext(source, module)
    call = module.body[1].body[0].value
    start, end = context.position(call)
    print(json.dumps({
        "lazy": lazy,
        "position": [start.row, start.column, end.row, end.column],
        "parent": type(context.parent(call)).__name__,
        "complete": "libcst.metadata.scope_provider" in sys.modules,
    }))
    """
)


def test_the_position_and_parent_fallbacks_work_with_the_lazy_metadata_package(tmp_path):
    """The providers mllint needs only as fallbacks are imported when used: that completes
    the lazy package first, as a plain import would have (plugins get ``context.parent``)."""
    results = []
    for off in (True, False, False):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        if off:
            env["MLLINT_NO_IMPORT_CACHE"] = "1"
        done = subprocess.run(
            [sys.executable, "-c", _FALLBACKS, str(tmp_path / "codes.bin")],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    plain, _first, lazy = results
    assert not plain["lazy"] and lazy["lazy"]
    assert lazy["position"] == plain["position"] == [3, 5, 4, 7]
    assert lazy["parent"] == plain["parent"] == "Assign"
    assert lazy["complete"] and plain["complete"]


# -- libcst._parser.detect_config, run on first use (mllint.importcache) ------------------

_DETECT_CONFIG = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mllint import importcache
    libcst = importcache.import_libcst(Path(sys.argv[1]))
    name = "libcst._parser.detect_config"
    before = "libcst._parser.wrapped_tokenize" in sys.modules
    source = "import os\\n\\ndef f(x):\\n    return os.path.join(x)\\n"
    ours = importcache.parse_module(source)
    how = sys.argv[2]
    if how == "bytes":
        latin = "# coding: latin-1\\n# caf\\u00e9\\n" + source
        theirs = libcst.parse_module(latin.encode("latin-1"))
    elif how == "attribute":
        assert sys.modules[name].detect_config is not None
        theirs = libcst.parse_module(source)
    else:
        theirs = libcst.parse_module(source)
    entry = sys.modules["libcst._parser.entrypoints"]
    module = sys.modules[name]
    print(json.dumps({
        "before": before,
        "ours": [ours.code, ours.encoding, ours.default_newline, ours.has_trailing_newline],
        "theirs": [theirs.code, theirs.encoding, theirs.default_newline],
        "equal": ours.deep_equals(libcst.parse_module(source)),
        "real": entry.convert_to_utf8 is module.convert_to_utf8
        and entry.convert_to_utf8.__module__ == name,
        "names": sorted(k for k in vars(module) if k != "__builtins__"),
        "doc": module.__doc__,
        "tokenize": "libcst._parser.wrapped_tokenize" in sys.modules,
    }))
    """
)


@pytest.mark.parametrize("how", ["str", "bytes", "attribute"])
def test_the_lazy_detect_config_answers_as_a_plain_import(tmp_path, how):
    """With the import cache, ``import libcst`` leaves out LibCST's pure-Python tokenizer
    (only ``detect_config`` needs it, and a ``str`` parsed by mllint never does); the first
    parse of LibCST's own, or any lookup on the module, completes it as a plain import."""

    store = tmp_path / "codes.bin"
    plain = _run_import_script(_DETECT_CONFIG, tmp_path / "unused.bin", how, off=True)
    _run_import_script(_DETECT_CONFIG, store, how)  # writes the store
    lazy = _run_import_script(_DETECT_CONFIG, store, how)
    assert plain["before"] and not lazy["before"]
    assert lazy["equal"] and lazy["real"] and lazy["tokenize"]
    assert {k: v for k, v in lazy.items() if k != "before"} == {
        k: v for k, v in plain.items() if k != "before"
    }


# -- libcst.helpers, its package __init__ run on first use (mllint.importcache) ----------

_HELPERS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mllint import importcache
    libcst = importcache.import_libcst(Path(sys.argv[1]))
    before = sorted(m for m in sys.modules if m.startswith("libcst.helpers"))
    ensure = libcst.ensure_type
    how = sys.argv[2]
    if how == "from":
        from libcst.helpers import get_full_name_for_node
    elif how == "attribute":
        import libcst.helpers
        get_full_name_for_node = libcst.helpers.get_full_name_for_node
    elif how == "submodule-first":
        from libcst.helpers.module import insert_header_comments
        import libcst.helpers.expression
        get_full_name_for_node = libcst.helpers.expression.get_full_name_for_node
    elif how == "star":
        namespace = {}
        exec("from libcst.helpers import *", namespace)
        get_full_name_for_node = namespace["get_full_name_for_node"]
    import libcst.helpers
    package = libcst.helpers
    module = libcst.parse_module("import os.path\\nos.path.join(x)\\n")
    call = module.body[1].body[0].value
    print(json.dumps({
        "before": before,
        "ensure": ensure is package.ensure_type is package.common.ensure_type,
        "same": get_full_name_for_node is package.expression.get_full_name_for_node,
        "name": get_full_name_for_node(call.func),
        "template": package.parse_template_expression("{a} + 1", a=call).deep_equals(
            libcst.parse_expression("os.path.join(x) + 1")
        ),
        "names": sorted(vars(package)),
        "all": package.__all__,
        "dir": dir(package),
        "spec": [package.__spec__.name, type(package.__spec__.loader).__name__],
        "specs": sorted(
            (name, type(m.__spec__.loader).__name__)
            for name, m in sys.modules.items() if name.startswith("libcst.helpers.")
        ),
        # (libcst.metadata's finder stays until that package is used: not these tests')
        "finders": [type(f).__name__ for f in sys.meta_path if type(f).__name__ != "_LazyMetadata"],
    }))
    """
)


@pytest.mark.parametrize("how", ["from", "attribute", "submodule-first", "star"])
def test_the_lazy_helpers_package_answers_as_a_plain_import(tmp_path, how):
    """With the import cache, ``import libcst`` runs ``libcst.helpers.common`` only (for
    ``ensure_type``); a plugin that uses the helpers, however it asks, gets the same package
    and functions as with a plain import."""

    store = tmp_path / "codes.bin"
    plain = _run_import_script(_HELPERS, tmp_path / "unused.bin", how, off=True)
    _run_import_script(_HELPERS, store, how)  # writes the store
    lazy = _run_import_script(_HELPERS, store, how)
    assert "libcst.helpers._template" in plain["before"]
    assert lazy["before"] == ["libcst.helpers", "libcst.helpers.common"]
    assert {k: v for k, v in lazy.items() if k != "before"} == {
        k: v for k, v in plain.items() if k != "before"
    }
    assert lazy["ensure"] and lazy["same"] and lazy["template"]
    assert lazy["name"] == "os.path.join"
    assert lazy["spec"] == ["libcst.helpers", "SourceFileLoader"]
