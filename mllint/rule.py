"""The rule API: the Rule base class, its metadata, the registry and plugin loading.

A rule is a class with metadata (``code``, ``name``, ``category``, ``severity``, ...)
and LibCST visitor methods (``visit_Call``, ``leave_FunctionDef``, ...). Its docstring is
its documentation, in ruff's shape (``## What it does``, ``## Why is this bad?``,
``## Example``, ``## Use instead``, ``## References``). Rules report through
:meth:`Rule.report`. Defining a subclass with a ``code`` registers it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from mllint import PROJECT_URL
from mllint.diagnostic import Applicability, Fix, Severity

if TYPE_CHECKING:
    import libcst as cst

    from mllint.context import FileContext

#: Categories and their code prefixes (DESIGN §2). A category name is a valid selector.
CATEGORIES: dict[str, str] = {
    "engine": "ML0",
    "reproducibility": "ML1",
    "leakage": "ML2",
    "logging": "ML3",
    "checkpointing": "ML4",
    "training": "ML5",
    "evaluation": "ML6",
    "security": "ML7",
    "performance": "ML8",
    "project": "ML9",
}

#: Where each rule's documentation lives (docs/rules.md is generated from the docstrings).
DOCS_URL = PROJECT_URL + "/blob/main/docs/rules.md#{anchor}"

_CODE_RE = re.compile(r"^ML\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SECTION_RE = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)

_REGISTRY: dict[str, type[Rule]] = {}
_BUILTINS_LOADED = False
_PLUGINS_LOADED = False


class RuleDefinitionError(Exception):
    """A rule class is malformed (bad code, duplicate name, missing documentation)."""


class Rule:
    """Base class of every rule.

    Subclasses set the metadata class attributes and define ``visit_<Node>`` /
    ``leave_<Node>`` methods named after LibCST node classes. One instance is created
    per file; ``self.context`` gives the file's shared analysis (qualified names,
    positions, ancestors of the node being visited).
    """

    code: ClassVar[str]
    name: ClassVar[str]
    category: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    enabled_by_default: ClassVar[bool] = True
    #: ``Applicability.SAFE`` / ``UNSAFE`` when the rule can offer a fix, else None.
    fixable: ClassVar[Applicability | None] = None
    #: Top-level modules whose import makes the rule relevant (empty: every file).
    #: The engine skips the rule on files that import none of them.
    requires_imports: ClassVar[frozenset[str]] = frozenset()
    #: Extra tags (SARIF ``properties.tags``); the category is always included.
    tags: ClassVar[tuple[str, ...]] = ()
    #: For security rules: a CVSS-like score, 0.1-10 (SARIF ``security-severity``;
    #: GitHub shows >= 9 as critical, >= 7 high, >= 4 medium, else low). None otherwise.
    security_severity: ClassVar[float | None] = None
    #: ``"file"``: visits one file's syntax tree. ``"project"``: see :class:`ProjectRule`.
    scope: ClassVar[str] = "file"

    def __init__(self, context: FileContext) -> None:
        self.context = context

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register and "code" in cls.__dict__:
            _register(cls)

    # -- reporting ---------------------------------------------------------------

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Report ``message`` at ``node``, optionally with a fix and a severity that
        differs from the rule's default for this one finding."""
        self.context.add_diagnostic(self, node, message, fix=fix, severity=severity)

    def finish(self) -> None:
        """Called once after the whole file was visited (for rules that decide at the end)."""

    # -- documentation -----------------------------------------------------------

    @classmethod
    def documentation(cls) -> str:
        return _dedent(cls.__doc__ or "").strip()

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's ``## Heading`` sections, keyed by lower-case heading."""
        cached = cls.__dict__.get("_sections_of_doc")
        if cached is not None and cached[0] is cls.__doc__:  # parsed once per class
            return dict(cached[1])
        doc = cls.documentation()
        parts = _SECTION_RE.split(doc)
        sections = {"": parts[0].strip()}
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            sections[heading.strip().lower()] = body.strip()
        cls._sections_of_doc = (cls.__doc__, dict(sections))
        return sections

    @classmethod
    def summary(cls) -> str:
        """One sentence: the first sentence of "What it does"."""
        sections = cls.sections()
        text = sections.get("what it does", "") or sections.get("", "")
        text = " ".join(text.split())
        match = re.match(r"(.+?[.!?])(\s|$)", text)
        return match.group(1) if match else text

    @classmethod
    def url(cls) -> str:
        return DOCS_URL.format(anchor=cls.code.lower())

    @classmethod
    def metadata(cls) -> dict[str, object]:
        return {
            "code": cls.code,
            "name": cls.name,
            "category": cls.category,
            "severity": cls.severity.value,
            "enabled_by_default": cls.enabled_by_default,
            "fixable": cls.fixable.value if cls.fixable else None,
            "summary": cls.summary(),
            "url": cls.url(),
        }

    @classmethod
    def visitor_methods(cls) -> Iterable[str]:
        # Once per class: ``dir`` of a rule class costs about 25 µs, and the engine asks
        # for every rule of every file (1.5 ms per file with 55 rules).
        methods = cls.__dict__.get("_visitor_methods_found")
        if methods is None:
            methods = tuple(
                attr
                for attr in dir(cls)
                if attr.startswith(("visit_", "leave_")) and callable(getattr(cls, attr))
            )
            cls._visitor_methods_found = methods
        return methods


class ProjectRule(Rule):
    """A rule about programs rather than files, judged once per run over the project index.

    Subclasses implement :meth:`check` and read ``self.project.index`` (a
    :class:`mllint.analysis.project.ProjectIndex`); they report with :meth:`report_at`
    on the file that should change. Findings go through the same per-file ignores,
    ``# noqa`` comments and severity overrides as any other.
    """

    scope = "project"
    #: Which modules' summaries the rule reads. ``"all"`` (the default, always safe):
    #: every module's. ``"traced"``: only what entry-point traces and the events of the
    #: RNG, training and scikit-learn kinds can reach; the engine then does not summarise
    #: (nor, when no file rule applies, parse) plain standard-library modules while
    #: every enabled project rule says ``"traced"``.
    summaries: ClassVar[str] = "all"

    def __init__(self, project) -> None:  # a mllint.context.ProjectContext
        self.project = project
        self.context = None  # type: ignore[assignment]

    def check(self) -> None:
        raise NotImplementedError

    def report_at(
        self,
        module,
        event,
        message: str,
        *,
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Report at ``event`` (anything with line/column/end_line/end_column) in ``module``."""
        self.project.add_diagnostic(self, module.path, event, message, fix=fix, severity=severity)


def _dedent(text: str) -> str:
    """``textwrap.dedent(text)``, the same string, with string methods instead of its three
    regular-expression passes (4x faster: registering a rule reads its docstring, and a
    run registers up to 50 rules). Lines end at "\\n" only, as there; a test compares
    both on every rule's docstring and on random text."""
    lines = text.split("\n")
    margin = None
    for number, line in enumerate(lines):
        stripped = line.lstrip(" \t")
        if not stripped:
            lines[number] = ""  # whitespace-only lines become empty, and set no margin
            continue
        indent = line[: len(line) - len(stripped)]
        if margin is None or margin.startswith(indent):
            margin = indent
        elif not indent.startswith(margin):
            common = 0
            for x, y in zip(margin, indent, strict=False):
                if x != y:
                    break
                common += 1
            margin = margin[:common]
    if margin:
        size = len(margin)
        lines = [line[size:] if line.startswith(margin) else line for line in lines]
    return "\n".join(lines)


def _opens_with_what_it_does(doc: object) -> bool:
    """A cheap sufficient condition for ``sections()["what it does"]`` being non-empty,
    true of docstrings in the usual shape: a line break, the heading (indented by spaces
    only), a line of text indented as much (the section's first words), and no other
    "what it does" in any case (a later heading of that name would replace the section).
    Whatever margin dedenting removes, the stripped text then opens with that heading and
    those words. When it is false, :func:`_register` parses the sections and decides."""
    if type(doc) is not str or not doc.startswith("\n"):
        return False
    _empty, heading, text, *_rest = [*doc.split("\n", 3), "", ""]
    words = heading.lstrip(" ")
    margin = heading[: len(heading) - len(words)]
    if words != "## What it does" or not text.startswith(margin):
        return False
    first = text[len(margin) : len(margin) + 1]
    return bool(first.strip()) and first != "#" and doc.lower().count("what it does") == 1


def _register(cls: type[Rule]) -> None:
    code = cls.code
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not _CODE_RE.match(code):
        raise RuleDefinitionError(f"{where}: code {code!r} is not of the form ML123")
    name = getattr(cls, "name", "")
    if not _NAME_RE.match(name or ""):
        raise RuleDefinitionError(f"{where}: name {name!r} is not a kebab-case slug")
    category = getattr(cls, "category", "")
    if category not in CATEGORIES:
        raise RuleDefinitionError(
            f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}"
        )
    if not code.startswith(CATEGORIES[category]):
        raise RuleDefinitionError(
            f"{where}: code {code} is outside the {category} range {CATEGORIES[category]}xx"
        )
    existing = _REGISTRY.get(code)
    if existing is not None and existing is not cls:
        if f"{existing.__module__}.{existing.__qualname__}" == where:
            # The same module imported twice (e.g. by path and by package): keep the first.
            return
        raise RuleDefinitionError(f"{where}: code {code} is already used by {existing.__name__}")
    for other in _REGISTRY.values():
        if other.name == name and other is not cls:
            raise RuleDefinitionError(f"{where}: name {name!r} is already used by {other.code}")
    if not _opens_with_what_it_does(cls.__doc__) and not cls.sections().get("what it does"):
        raise RuleDefinitionError(f"{where}: the docstring needs a '## What it does' section")
    visitors = list(cls.visitor_methods())
    if visitors:  # imported here: the rule manifest's users never need LibCST
        import libcst as cst
    for attr in visitors:
        node_name = attr.split("_", 1)[1]
        if not isinstance(getattr(cst, node_name, None), type):
            raise RuleDefinitionError(f"{where}: {attr} names no LibCST node class")
    _REGISTRY[code] = cls


class PluginError(Exception):
    """A third-party rule pack could not be loaded."""


def _load_builtin_rules() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    from mllint.importcache import import_libcst

    import_libcst()  # before the rule modules import it plainly: with its import cache
    import pkgutil  # here: runs that use the rule manifest never walk the pack

    import mllint.builtin_rules  # noqa: F401  (engine rules: ML001, ML002, ...)
    import mllint.rules as pack

    for info in pkgutil.walk_packages(pack.__path__, prefix=pack.__name__ + "."):
        importlib.import_module(info.name)
    _BUILTINS_LOADED = True


def _load_plugins() -> None:
    """Import third-party rule packs registered under the entry-point group ``mllint.rules``.

    An entry point may name a module (importing it registers its rules), a Rule subclass,
    or a callable returning rule classes.
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    for entry in entry_points(group="mllint.rules"):
        try:
            loaded = entry.load()
            if callable(loaded) and not (isinstance(loaded, type) and issubclass(loaded, Rule)):
                loaded()
        except RuleDefinitionError:
            raise
        except Exception as error:  # a broken plugin must say which one
            raise PluginError(
                f"cannot load rule plugin {entry.name!r} ({entry.value}): {error}"
            ) from error


def all_rules(*, plugins: bool = True) -> dict[str, type[Rule]]:
    """Every registered rule by code, built-in pack first, sorted by code."""
    _load_builtin_rules()
    if plugins:
        _load_plugins()
    return dict(sorted(_REGISTRY.items()))


@contextmanager
def temporary_rules(*rules: type[Rule]) -> Iterator[None]:
    """Register rules (declared with ``register=False``) for the duration of a block."""
    all_rules()
    try:
        for rule in rules:
            _register(rule)
        yield
    finally:
        for rule in rules:
            if _REGISTRY.get(rule.code) is rule:
                del _REGISTRY[rule.code]


def find_rule(code_or_name: str) -> type[Rule] | None:
    rules = all_rules()
    key = code_or_name.strip()
    if key.upper() in rules:
        return rules[key.upper()]
    for rule in rules.values():
        if rule.name == key.lower():
            return rule
    return None
