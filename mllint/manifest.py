"""The rule manifest: the built-in rules' metadata, known without importing them.

Importing the rule pack means importing LibCST and every rule module (about 0.4 s), which
a run only needs when it analyses a file or runs a whole-program rule. The registry,
configuration (``--select``, ``--ignore``, severities), the result cache's key and the
reporters only need each rule's metadata, so ``mllint/rule_manifest.json`` holds it,
generated from the rule classes by ``python -m mllint.docs`` (a test fails when it is
stale, as for the README's rule table). :func:`available_rules` returns a
:class:`LazyRule` per built-in rule, which imports its module the first time something
beyond the metadata is asked of it (instantiating it, its documentation, ``check``).

The manifest is used only when it can be trusted, otherwise every rule is imported as
before (slower, never different):

- no third-party rule plugin is declared (entry-point group ``mllint.rules``);
- the rule pack's modules are those the manifest was generated from (a rule added or
  removed in a development checkout without regenerating falls back);
- nothing but built-in rules has been registered in this process yet (e.g. a test's
  ``temporary_rules``: then the registry itself is used).

A :class:`LazyRule` that loads a class whose metadata (but for the summary and URL, which
only the documentation shows) differs from its manifest entry raises
:class:`~mllint.rule.RuleDefinitionError` (run ``python -m mllint.docs``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from mllint import rule as registry
from mllint.diagnostic import Applicability, Severity

MANIFEST_PATH = Path(__file__).with_name("rule_manifest.json")
#: Bump when the manifest's layout changes.
FORMAT = 1
PLUGIN_GROUP = "mllint.rules"
#: Modules of the built-in rules outside the rule pack.
_ENGINE_RULE_MODULES = ("mllint.builtin_rules",)


# -- generating ----------------------------------------------------------------------


def rule_entry(rule: type[registry.Rule], *, docs: bool = True) -> dict[str, object]:
    """What the manifest records about one rule class (without its summary and URL, which
    only the documentation needs, unless ``docs``)."""
    entry = {
        "code": rule.code,
        "name": rule.name,
        "category": rule.category,
        "severity": rule.severity.value,
        "enabled_by_default": bool(rule.enabled_by_default),
        "fixable": rule.fixable.value if rule.fixable else None,
        "requires_imports": sorted(rule.requires_imports),
        "tags": list(rule.tags),
        "security_severity": rule.security_severity,
        "scope": rule.scope,
        "summaries": getattr(rule, "summaries", None) if rule.scope == "project" else None,
        "visitors": sorted(rule.visitor_methods()),
        "summary": rule.summary() if docs else None,
        "url": rule.url() if docs else None,
        "module": rule.__module__,
        "qualname": rule.__qualname__,
    }
    if not docs:
        del entry["summary"], entry["url"]
    return entry


def manifest_text(rules: dict[str, type[registry.Rule]]) -> str:
    """The manifest of ``rules`` (the built-in ones: ``all_rules(plugins=False)``)."""
    data = {
        "format": FORMAT,
        "modules": sorted(pack_modules()),
        "rules": [rule_entry(rule) for _code, rule in sorted(rules.items())],
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def write_manifest(rules: dict[str, type[registry.Rule]], path: Path = MANIFEST_PATH) -> None:
    path.write_text(manifest_text(rules), encoding="utf-8")


# -- the rule pack on disk -----------------------------------------------------------


def pack_folder() -> Path | None:
    """The folder of the built-in rule pack (``mllint.rules``), found without importing
    any rule."""
    import mllint.rules as pack  # its __init__ is a docstring

    paths = list(getattr(pack, "__path__", []))
    return Path(paths[0]) if paths else None


def _pack_walk() -> list[tuple[str, tuple[str, ...]]]:
    """For each Python file of the rule pack, its path and its module's name parts below
    ``mllint.rules`` (``__init__`` included), in one walk of plain strings (``Path``
    objects for the ~70 files cost more than the walk itself: ~3 ms a run)."""
    folder = pack_folder()
    if folder is None:
        return []
    found: list[tuple[str, tuple[str, ...]]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(folder), ())]
    while pending:
        current, parts = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                if os.path.exists(os.path.join(entry.path, "__init__.py")):
                    pending.append((entry.path, (*parts, name)))
            elif name.endswith(".py"):
                found.append((entry.path, (*parts, name[:-3])))
    return found


def pack_files() -> list[str]:
    """The path of every Python file of the rule pack, sorted (helper modules included)."""
    return sorted(path for path, _parts in _pack_walk())


def pack_modules() -> set[str]:
    """The dotted names of the rule pack's modules (and the engine's rule module)."""
    names = set(_ENGINE_RULE_MODULES)
    for _path, parts in _pack_walk():
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join(("mllint.rules", *parts)))
    return names


# -- plugins -------------------------------------------------------------------------


def plugins_declared(group: str = PLUGIN_GROUP) -> bool:
    """Whether an installed distribution may declare entry points in ``group``.

    Reads the ``entry_points.txt`` of the distributions on ``sys.path`` (what
    ``importlib.metadata`` reads, without importing it: that costs 40 ms). Errs on the
    side of True: a path entry that is not a folder (a zip), or a meta-path finder that
    can list distributions of its own, makes it answer True.
    """
    for finder in sys.meta_path:
        module = getattr(finder, "__module__", "") or ""
        if hasattr(finder, "find_distributions") and not module.startswith(
            ("importlib", "_frozen_importlib", "__editable__", "_distutils_hack", "six")
        ):
            return True
    header = f"[{group}]"
    for entry in sys.path:
        try:
            items = list(os.scandir(entry or "."))
        except NotADirectoryError:
            return True  # a zip or egg: let importlib.metadata decide
        except OSError:
            continue
        is_egg = os.path.basename(os.path.normpath(entry or ".")).lower().endswith(".egg")
        for item in items:
            name = item.name.lower()
            if not (name.endswith((".dist-info", ".egg-info")) or (is_egg and name == "egg-info")):
                continue
            try:
                with open(os.path.join(item.path, "entry_points.txt"), encoding="utf-8") as f:
                    if header in f.read():
                        return True
            except OSError:
                continue
    return False


# -- lazy rules ----------------------------------------------------------------------


class LazyRule:
    """A built-in rule's metadata from the manifest; its class is imported when needed.

    It answers what a rule class answers: the metadata attributes, ``summary()``,
    ``url()``, ``metadata()`` and ``visitor_methods()`` from the manifest; calling it
    instantiates the rule class; any other attribute (``documentation``, ``sections``,
    ``check``, ...) imports the class and is read from it.
    """

    __slots__ = (
        "_class",
        "_summary",
        "_url",
        "_visitors",
        "category",
        "code",
        "enabled_by_default",
        "fixable",
        "name",
        "requires_imports",
        "rule_module",
        "rule_qualname",
        "scope",
        "security_severity",
        "severity",
        "summaries",
        "tags",
    )

    def __init__(self, entry: dict) -> None:
        self._class: type[registry.Rule] | None = None
        self.code = entry["code"]
        self.name = entry["name"]
        self.category = entry["category"]
        self.severity = Severity(entry["severity"])
        self.enabled_by_default = bool(entry["enabled_by_default"])
        self.fixable = Applicability(entry["fixable"]) if entry["fixable"] else None
        self.requires_imports = frozenset(entry["requires_imports"])
        self.tags = tuple(entry["tags"])
        self.security_severity = entry["security_severity"]
        self.scope = entry["scope"]
        self.summaries = entry["summaries"] or "all"
        self._visitors = tuple(entry["visitors"])
        self._summary = entry["summary"]
        self._url = entry["url"]
        self.rule_module = entry["module"]
        self.rule_qualname = entry["qualname"]

    def load(self) -> type[registry.Rule]:
        """The rule class (its module is imported the first time)."""
        if self._class is None:
            module = importlib.import_module(self.rule_module)
            found = module
            for part in self.rule_qualname.split("."):
                found = getattr(found, part)
            entry = rule_entry(found, docs=False)  # type: ignore[arg-type]
            expected = self._entry()
            # What the run already decided with (selection, pre-scan, dispatch) must hold;
            # a stale summary or URL only matters to the docs (a test checks those).
            for key in ("summary", "url"):
                expected.pop(key)
            if entry != expected:
                raise registry.RuleDefinitionError(
                    f"{self.rule_module}.{self.rule_qualname}: the rule manifest "
                    f"({MANIFEST_PATH.name}) is stale: run `python -m mllint.docs`"
                )
            self._class = found  # type: ignore[assignment]
        return self._class  # type: ignore[return-value]

    def _entry(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "severity": self.severity.value,
            "enabled_by_default": self.enabled_by_default,
            "fixable": self.fixable.value if self.fixable else None,
            "requires_imports": sorted(self.requires_imports),
            "tags": list(self.tags),
            "security_severity": self.security_severity,
            "scope": self.scope,
            "summaries": self.summaries if self.scope == "project" else None,
            "visitors": list(self._visitors),
            "summary": self._summary,
            "url": self._url,
            "module": self.rule_module,
            "qualname": self.rule_qualname,
        }

    @property
    def loaded(self) -> bool:
        return self._class is not None

    def __call__(self, *args, **kwargs):
        return self.load()(*args, **kwargs)

    def visitor_methods(self):
        return iter(self._visitors)

    def summary(self) -> str:
        return self._summary

    def url(self) -> str:
        return self._url

    def metadata(self) -> dict[str, object]:
        entry = self._entry()
        keys = ("code", "name", "category", "severity", "enabled_by_default", "fixable")
        return {**{key: entry[key] for key in keys}, "summary": self._summary, "url": self._url}

    def __getattr__(self, attribute: str):
        if attribute.startswith("__") or attribute in LazyRule.__slots__:
            raise AttributeError(attribute)
        return getattr(self.load(), attribute)

    def __getstate__(self):
        return {slot: getattr(self, slot, None) for slot in LazyRule.__slots__}

    def __setstate__(self, state) -> None:
        for slot, value in state.items():
            object.__setattr__(self, slot, value)

    def __repr__(self) -> str:
        return f"<LazyRule {self.code} {self.rule_module}.{self.rule_qualname}>"


def resolve(rule) -> type[registry.Rule]:
    """The rule class of a registry entry (a class, or a :class:`LazyRule`)."""
    return rule.load() if isinstance(rule, LazyRule) else rule


def origin(rule) -> tuple[str, str]:
    """(module, qualified name) of a registry entry, without importing it."""
    if isinstance(rule, LazyRule):
        return rule.rule_module, rule.rule_qualname
    return rule.__module__, rule.__qualname__


def load_manifest(path: Path = MANIFEST_PATH) -> dict | None:
    """The manifest, when it is readable and matches the rule pack on disk; else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or set(data["modules"]) != pack_modules():
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _only_builtins_registered(codes: set[str]) -> bool:
    return not registry._BUILTINS_LOADED and set(registry._REGISTRY) <= codes


def available_rules(*, plugins: bool = True) -> dict:
    """Every rule by code, as :func:`mllint.rule.all_rules` returns them, but with the
    built-in rules as :class:`LazyRule` when the manifest can be trusted (see above)."""
    if os.environ.get("MLLINT_NO_RULE_MANIFEST") or registry._BUILTINS_LOADED:
        return registry.all_rules(plugins=plugins)
    if plugins and plugins_declared():
        return registry.all_rules(plugins=plugins)
    data = load_manifest()
    if data is None:
        return registry.all_rules(plugins=plugins)
    codes = {entry["code"] for entry in data["rules"]}
    if not _only_builtins_registered(codes):
        return registry.all_rules(plugins=plugins)
    rules: dict = {}
    for entry in data["rules"]:
        loaded = registry._REGISTRY.get(entry["code"])
        rules[entry["code"]] = loaded if loaded is not None else LazyRule(entry)
    return dict(sorted(rules.items()))
