"""The project index: modules, entry points, and calls followed across files.

"Missing X" rules (no seed, no determinism, no checkpoint) are properties of programs, not
files. The index answers questions such as "is ``torch.manual_seed`` reached from
``train.py`` before the model is built?" with the call chain as evidence.

It is built in two steps:

1. Per file (in the worker that already parsed it, never re-parsing):
   :func:`summarize_module` walks the CST once and records, per function (and for the
   module's top level), the *events* that matter in source order: calls into other code,
   imports, seeds, uses of random number generators, determinism switches, training
   steps, scikit-learn calls that take ``random_state``, and ``DataLoader``s. The summary
   is plain data, picklable and cacheable.
2. Per run (in the main process): :class:`ProjectIndex` names the modules (flat layout,
   ``src/`` layout, packages, namespace packages, scripts importing their siblings),
   decides which are entry points, resolves calls (module functions, imported functions,
   re-exports, ``self.method()``, methods of locally constructed classes), and
   :meth:`ProjectIndex.trace` linearises what an entry point executes: the events of its
   top level, with every resolved call expanded where it happens (each function once).

Limits: calls through variables holding functions, ``getattr``, decorators that replace
functions, and receivers whose class is not evident are not followed; a function's events
are in source order, so a loop that seeds on its second iteration counts as seeding.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mllint.analysis import artifacts, rng, tracking
from mllint.analysis.calls import argument, has_star_arguments, keyword_value
from mllint.analysis.names import dotted_name
from mllint.importcache import cst  # LibCST, imported when a file is parsed
from mllint.sha import sha256  # hashlib's, without loading OpenSSL

MODULE_BODY = "<module>"

#: Top-level modules that are never project code (calls into them are library calls).
_LIBRARY_ROOTS = frozenset(sys.stdlib_module_names) | {
    "builtins", "torch", "torchvision", "torchaudio", "torchtext", "numpy", "pandas",
    "sklearn", "scipy", "tensorflow", "keras", "jax", "flax", "optax", "transformers",
    "datasets", "accelerate", "lightning", "pytorch_lightning", "lightning_fabric", "timm",
    "wandb", "mlflow", "tqdm", "matplotlib", "seaborn", "PIL", "cv2", "xgboost", "lightgbm",
    "catboost", "imblearn", "hydra", "omegaconf", "yaml", "requests", "rich", "click",
    "typer", "pydantic", "einops", "safetensors", "huggingface_hub", "tokenizers", "peft",
    "trl", "deepspeed", "apex", "numba", "joblib", "pytest", "absl", "fire", "tensorboard",
}  # fmt: skip

#: Module-level calls that are set-up, not program work (a library module may have them).
_SETUP_CALLS = {
    "logging.getLogger", "typing.TypeVar", "typing.NewType", "typing.NamedTuple",
    "collections.namedtuple", "re.compile", "os.getenv", "os.environ.get", "pathlib.Path",
    "dataclasses.field", "functools.partial", "warnings.filterwarnings",
    "warnings.simplefilter", "builtins.set", "builtins.dict", "builtins.list",
    "builtins.tuple", "builtins.frozenset", "builtins.object", "builtins.int",
    "builtins.float", "builtins.str", "enum.Enum", "typing.cast", "os.path.join",
    "os.path.dirname", "os.path.abspath", "logging.basicConfig", "builtins.len",
    "builtins.range", "builtins.sorted",
}  # fmt: skip


@dataclass
class Event:
    """Something a function does that a project rule may care about, where it does it."""

    kind: str  # call | import | seed | use | generator | determinism | benchmark | train | sklearn
    # (and the tracking/checkpointing kinds listed in analysis/tracking.py)
    # | write (mllint.analysis.artifacts)
    line: int
    column: int
    end_line: int
    end_column: int
    text: str
    families: tuple[str, ...] = ()
    target: str | None = None
    data: dict = field(default_factory=dict)

    def __reduce__(self):
        # Pickled as a constructor call on the fields' values rather than a state dict
        # (the default): the result cache holds ~45 events per module, and a warm run
        # unpickles them all; this is a quarter faster and 12% smaller.
        return (
            Event,
            (
                self.kind,
                self.line,
                self.column,
                self.end_line,
                self.end_column,
                self.text,
                self.families,
                self.target,
                self.data,
            ),
        )


@dataclass
class FunctionSummary:
    """What the project index keeps of a function: its events, in order."""

    name: str
    line: int
    events: list[Event] = field(default_factory=list)

    def __reduce__(self):  # as Event's (the cache holds ~14 functions per module)
        return (FunctionSummary, (self.name, self.line, self.events))


@dataclass
class ClassSummary:
    """What the project index keeps of a class: its bases and random generators."""

    name: str
    line: int
    bases: list[str] = field(default_factory=list)
    #: ``self.<attr> = <generator constructor>(...)``: attr -> (seeded, line, text)
    instance_generators: dict[str, tuple[bool, int, str]] = field(default_factory=dict)
    #: attr -> methods that draw from ``self.<attr>``
    generator_uses: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ModuleSummary:
    """What the project index keeps of one module (file or notebook)."""

    path: str  # as displayed (relative to the working directory)
    relative: str  # relative to the project root, posix
    is_notebook: bool = False
    has_main_guard: bool = False
    top_level_work: bool = False
    #: The last line of the module's header (docstring, ``__future__`` and other top-level
    #: imports before the first other statement): where a program-wide fix inserts code.
    header_end_line: int = 0
    imports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    #: (first line, last line, trains) of the file's loops (see analysis/tracking.py).
    loops: list[tuple[int, int, bool]] = field(default_factory=list)
    #: :func:`structure_digest` of the finished summary ("" when built by hand: then the
    #: index computes it).
    structure: str = field(default="", compare=False, repr=False)
    #: Other paths relative to the project root by which imports reach this file: through
    #: a symbolic link (``pkg -> real_pkg``); the index names the module by them too. Set
    #: by the engine's project phase, not by summarising the file.
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_test(self) -> bool:
        # String operations, not PurePosixPath: asked for every module by every rule.
        parts = [part for part in self.relative.split("/") if part and part != "."]
        name = parts[-1] if parts else ""
        return (
            name.startswith("test_")
            or name.endswith("_test.py")
            or name == "conftest.py"
            or "tests" in parts[:-1]
            or "test" in parts[:-1]
        )


# -- step 1: summarising one file -------------------------------------------------------


def _literal_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value in ("False", "None")


def _literal_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _int_value(node: cst.BaseExpression | None) -> int | None:
    if type(node) is cst.Integer:
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


class _Summarizer:
    """Builds a ModuleSummary in one walk; resolves names with the file's alias table."""

    def __init__(self, context, summary: ModuleSummary) -> None:
        self.context = context
        self.summary = summary
        self.scopes: list[FunctionSummary] = []
        self.classes: list[ClassSummary] = []
        #: per scope (the module's first): variable -> the call target it was built from
        self.local_types: list[dict[str, str]] = [{}]
        #: names of functions nested in each function scope (for resolving inner calls)
        self.nested: list[set[str]] = []
        self.module_scope = FunctionSummary(MODULE_BODY, 1)
        summary.functions[MODULE_BODY] = self.module_scope
        self.module_defs = self._module_level_definitions(context.module)
        self.paths = artifacts.PathTracker(context)
        #: How often a fact of the whole file (not of the statement being walked) was read:
        #: a top-level statement that read one is not reused (see :class:`StatementSummary`).
        self.whole_file_reads = 0
        #: While recording a top-level statement: the functions and classes it added.
        self._added: list[tuple[str, str, FunctionSummary | ClassSummary]] | None = None

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def _module_level_definitions(module: cst.Module) -> set[str]:
        names = set()
        for statement in module.body:
            if type(statement) in (cst.FunctionDef, cst.ClassDef):
                names.add(statement.name.value)
        return names

    @property
    def scope(self) -> FunctionSummary:
        return self.scopes[-1] if self.scopes else self.module_scope

    def _event(self, kind: str, node: cst.CSTNode, **kwargs) -> Event:
        start, end = self.context.position(node)
        text = self.context.code(node)
        if len(text) > 80 or "\n" in text:
            text = text.split("\n", 1)[0][:77].rstrip() + "..."
        event = Event(kind, start.row, start.column, end.row, end.column, text, **kwargs)
        self.scope.events.append(event)
        return event

    def _qualified_function_name(self, name: str) -> str:
        if self.classes and self._class_is_innermost():
            return f"{self.classes[-1].name}.{name}"
        if self.scopes:
            return f"{self.scope.name}.{name}"
        return name

    def _class_is_innermost(self) -> bool:
        for node in reversed(self.context.ancestors):
            if type(node) is cst.ClassDef:
                return True
            if type(node) is cst.FunctionDef:
                return False
        return False

    def _call_target(self, func: cst.BaseExpression) -> str | None:
        """Where a call may lead inside the project, as a target the index resolves."""
        if type(func) is cst.Name:
            name = func.value
            for nested, scope in zip(reversed(self.nested), reversed(self.scopes), strict=False):
                if name in nested:
                    return f"local:{scope.name}.{name}"
            if name in self.module_defs:
                return f"local:{name}"
            qualified = self.context.qualified_name(func)
            return self._project_candidate(qualified)
        if type(func) is cst.Attribute:
            receiver = func.value
            method = func.attr.value
            if type(receiver) is cst.Name:
                if receiver.value == "self" and self.classes:
                    return f"local:{self.classes[-1].name}.{method}"
                for types in reversed(self.local_types):
                    if receiver.value in types:
                        return f"{types[receiver.value]}.{method}"
            qualified = self.context.qualified_name(func)
            return self._project_candidate(qualified)
        return None

    @staticmethod
    def _project_candidate(qualified: str | None) -> str | None:
        if not qualified:
            return None
        root = qualified.split(".")[0]
        if qualified.startswith(".") or root not in _LIBRARY_ROOTS:
            return qualified
        return None

    # -- scopes -------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.nested:
            self.nested[-1].add(node.name.value)
        name = self._qualified_function_name(node.name.value)
        start, _ = self.context.position(node.name)
        function = FunctionSummary(name, start.row)
        self.summary.functions[name] = function
        if self._added is not None:
            self._added.append(("function", name, function))
        self.scopes.append(function)
        self.local_types.append({})
        self.nested.append(set())
        self.paths.enter_function()

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.local_types.pop()
        self.nested.pop()
        self.paths.leave_function()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        name = node.name.value if not self.scopes else f"{self.scope.name}.{node.name.value}"
        start, _ = self.context.position(node.name)
        bases = []
        for base in node.bases:
            qualified = self.context.qualified_name(base.value)
            if qualified is None and type(base.value) is cst.Name:
                qualified = f"local:{base.value.value}"
            if qualified:
                bases.append(qualified)
        summary = ClassSummary(name, start.row, bases)
        self.summary.classes[name] = summary
        if self._added is not None:
            self._added.append(("class", name, summary))
        self.classes.append(summary)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    # -- statements ---------------------------------------------------------------

    def visit_If(self, node: cst.If) -> None:
        if not self.scopes and _is_main_guard(node.test):
            self.summary.has_main_guard = True

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            if name and name.split(".")[0] not in _LIBRARY_ROOTS:
                self._event("import", node, target=name)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = "." * len(node.relative) + (dotted_name(node.module) if node.module else "")
        if module.split(".")[0] in _LIBRARY_ROOTS:
            return
        targets = [module]
        if type(node.names) is not cst.ImportStar:
            # `from pkg import submodule` imports pkg.submodule too.
            separator = "" if module.endswith(".") else "."
            targets += [
                f"{module}{separator}{dotted_name(alias.name)}"
                for alias in node.names
                if dotted_name(alias.name)
            ]
        self._event("import", node, target=module, data={"also": targets[1:]})

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            self._assignment(target.target, value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node.target, node.value, node)

    def _assignment(self, target, value, statement) -> None:
        self.paths.assign(target, value)
        qualified = self.context.qualified_name(target) if type(target) is cst.Attribute else None
        if qualified in ("torch.backends.cudnn.deterministic",) and _literal_true(value):
            self._event("determinism", statement)
        elif qualified == "torch.backends.cudnn.benchmark" and _literal_true(value):
            self._event("benchmark", statement)
        tracking.record_assignment(self, target, statement)
        if type(value) is not cst.Call:
            return
        # `x = LocalClass(...)`: later `x.method()` calls resolve to that class.
        if type(target) is cst.Name and self.local_types:
            constructed = self._call_target(value.func)
            if constructed is not None:
                self.local_types[-1][target.value] = constructed
        # `self.rng = np.random.default_rng(seed)` inside a class.
        if (
            self.classes
            and type(target) is cst.Attribute
            and type(target.value) is cst.Name
            and target.value.value == "self"
        ):
            constructor = self.context.call_name(value)
            if constructor in rng.GENERATOR_CONSTRUCTORS:
                seeded = bool(value.args) and not _literal_false(value.args[0].value)
                start, _ = self.context.position(statement)
                self.classes[-1].instance_generators[target.attr.value] = (
                    seeded,
                    start.row,
                    self.context.code(value),
                )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `self.rng.<draw>(...)` inside a method: the method draws from an instance generator.
        if (
            self.classes
            and self.scopes
            and type(node.value) is cst.Attribute
            and type(node.value.value) is cst.Name
            and node.value.value.value == "self"
        ):
            attr = node.value.attr.value
            method = self.scope.name.rsplit(".", 1)[-1]
            uses = self.classes[-1].generator_uses.setdefault(attr, [])
            if method not in uses:
                uses.append(method)

    def visit_Expr(self, node: cst.Expr) -> None:
        if not self.scopes and not self.classes and type(node.value) is cst.Call:
            qualified = self.context.call_name(node.value)
            if qualified not in _SETUP_CALLS:
                self.summary.top_level_work = True

    def visit_For(self, node: cst.For) -> None:
        if not self.scopes and not self.classes:
            self.summary.top_level_work = True

    def visit_While(self, node: cst.While) -> None:
        if not self.scopes and not self.classes:
            self.summary.top_level_work = True

    def visit_With(self, node: cst.With) -> None:
        if not self.scopes and not self.classes:
            self.summary.top_level_work = True

    # -- calls --------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.call_name(node)
        if (
            not self.scopes
            and not self.classes
            and qualified not in _SETUP_CALLS
            and self._is_top_level_assignment_value(node)
        ):
            self.summary.top_level_work = True
        if qualified is not None:
            self._library_call(node, qualified)
        written = self.paths.call(node, qualified)
        if written is not None:  # `write`: path, artifact kind, whether it is a folder
            path, kind, folder = written
            self._event("write", node, data={"path": path, "artifact": kind, "folder": folder})
        func = node.func
        if type(func) is cst.Attribute:
            method = func.attr.value
            if method == "backward":
                self._event("train", node, data={"how": "backward"})
            elif method in ("fit", "train") and self._looks_like_trainer(func.value):
                self._event("train", node, data={"how": method})
        tracking.record_call(self, node, qualified)
        target = self._call_target(func)
        if target is not None:
            event = self._event("call", node, target=target)
            saved = tracking.saved_arguments(self, node)
            if saved:
                event.data["saved_args"] = saved

    def _is_top_level_assignment_value(self, node: cst.Call) -> bool:
        ancestors = self.context.ancestors
        return bool(ancestors) and type(ancestors[-1]) in (cst.Assign, cst.AnnAssign)

    def _looks_like_trainer(self, receiver: cst.BaseExpression) -> bool:
        if type(receiver) is cst.Call:  # `pl.Trainer(...).fit(model)`
            receiver = receiver.func
        name = dotted_name(receiver) or ""
        return name.split(".")[-1].lower().endswith("trainer")

    def _library_call(self, node: cst.Call, qualified: str) -> None:
        families = rng.SEEDERS.get(qualified)
        if families:
            self._event("seed", node, families=tuple(sorted(families)))
            if qualified in rng.DETERMINISM_CALLS:
                self._event("determinism", node)
            return
        families = rng.FRAMEWORK_SEEDERS.get(qualified)
        if families:
            self._event("seed", node, families=tuple(sorted(families)), data={"framework": True})
            return
        if qualified in rng.DETERMINISM_CALLS:
            if not _literal_false(argument(node, "mode", 0)):
                self._event("determinism", node)
            return
        if qualified.endswith("Trainer") and qualified.split(".")[0] in (
            "lightning",
            "pytorch_lightning",
        ):
            if _literal_true(keyword_value(node, "deterministic")):
                self._event("determinism", node)
            return
        if qualified.endswith("TrainingArguments") and _literal_true(
            keyword_value(node, "full_determinism")
        ):
            self._event("determinism", node)
            return
        family = rng.rng_use(qualified)
        if family is not None:
            if keyword_value(node, "generator") is not None:
                return  # an explicit torch.Generator, not the global one
            data = {}
            if rng.is_initialisation(qualified):
                data["init"] = True
            if rng.is_deferred(qualified):
                data["deferred"] = True
            self._event("use", node, families=(family,), data=data)
            return
        if qualified in rng.SHUFFLING_LOADERS:
            self._data_loader(node)
            return
        if qualified in rng.GENERATOR_CONSTRUCTORS:
            first = node.args[0].value if node.args else keyword_value(node, "seed")
            if (first is None or _literal_false(first)) and not has_star_arguments(node):
                self._event("generator", node, data={"kind": rng.GENERATOR_CONSTRUCTORS[qualified]})
            return
        if qualified in rng.JAX_KEYS:
            seed = argument(node, "seed", 0)
            if seed is not None and self._nondeterministic(seed):
                self._event("generator", node, data={"kind": f"`{self.context.code(node.func)}`"})
            return
        if qualified in rng.SKLEARN_RANDOM or qualified in rng.SHUFFLE_SPLITTERS:
            self._sklearn(node, qualified)

    def _nondeterministic(self, expression: cst.BaseExpression) -> bool:
        for call in _calls_in(expression):
            name = self.context.call_name(call) or ""
            if name.startswith(rng.NONDETERMINISTIC_SOURCES):
                return True
        return False

    def _data_loader(self, node: cst.Call) -> None:
        shuffle = keyword_value(node, "shuffle")
        if shuffle is not None and not _literal_false(shuffle):
            self._event("use", node, families=(rng.TORCH,), data={"deferred": True})
        workers = keyword_value(node, "num_workers")
        worker_count = _int_value(workers)
        dataset = argument(node, "dataset", 0)
        self._event(
            "loader",
            node,
            data={
                "workers": worker_count or 0,
                "workers_dynamic": workers is not None and worker_count is None,
                "worker_init_fn": keyword_value(node, "worker_init_fn") is not None
                or has_star_arguments(node),
                "dataset": self._dataset_class(dataset),
            },
        )

    def _dataset_class(self, dataset: cst.BaseExpression | None) -> str | None:
        if type(dataset) is cst.Call:
            return self._call_target(dataset.func)
        if type(dataset) is cst.Name:
            for types in reversed(self.local_types):
                if dataset.value in types:
                    return types[dataset.value]
        return None

    def _sklearn(self, node: cst.Call, qualified: str) -> None:
        shuffle = keyword_value(node, "shuffle")
        if qualified in rng.SHUFFLE_SPLITTERS and not _literal_true(shuffle):
            return  # KFold(shuffle=False) must not take a random_state
        if qualified.endswith("train_test_split") and _literal_false(shuffle):
            return  # an ordered split (time series): random_state has no effect
        if has_star_arguments(node):
            return
        value = keyword_value(node, "random_state")
        if value is not None and not _literal_false(value):
            return
        status = "missing" if value is None else "none"
        # Judged by ML103 (random-state-not-set) alone, not also as a NumPy use for ML101.
        self._event(
            "sklearn",
            node,
            target=qualified,
            data={"status": status},
        )


def _calls_in(expression: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

    expression.visit(_Collect())
    return found


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = [side.value for side in sides if type(side) is cst.Name]
    strings = [side.evaluated_value for side in sides if type(side) is cst.SimpleString]
    return names == ["__name__"] and strings == ["__main__"]


class ModuleSummarizer(_Summarizer):
    """The summariser as a participant of the engine's single walk over a file.

    The engine dispatches nodes to its ``visit_*``/``leave_*`` methods together with the
    rules' (so summarising costs no extra traversal), then calls :meth:`finish_summary`.
    """

    code = "project-index"

    def __init__(self, context, relative: str) -> None:
        summary = ModuleSummary(
            path=context.source.display_path,
            relative=relative,
            is_notebook=bool(getattr(context.source, "is_notebook", False)),
            imports=dict(context.imports.aliases),
        )
        super().__init__(context, summary)

    @classmethod
    def visitor_methods(cls):
        methods = cls.__dict__.get("_visitor_methods")
        if methods is None:  # computed once per class, not with dir() for every file
            # Only the methods written here: LibCST's visitor base defines a no-op for
            # every node type and attribute, and dispatching those would cost a call per
            # node.
            methods = []
            for attr in dir(cls):
                method = getattr(cls, attr) if attr.startswith(("visit_", "leave_")) else None
                if callable(method) and method is not getattr(cst.CSTVisitor, attr, None):
                    methods.append(attr)
            methods = cls._visitor_methods = tuple(methods)
        return iter(methods)

    def finish_summary(self) -> ModuleSummary:
        self.summary.header_end_line = _header_end_line(self.context)
        if self.summary.is_notebook:
            self.summary.top_level_work = True
        self.summary.loops = tracking.loop_spans(self.context, self.summary)
        from mllint.analysis.validation import record_validation_passes

        record_validation_passes(self.context, self.summary)
        self.summary.structure = structure_digest(self.summary)
        return self.summary


class StatementSummary:
    """What the summariser recorded for one top-level statement of an editor's document,
    replayed when the next check of the document has the same statement node (its text is
    unchanged) and the summariser reaches it in the same state (:meth:`state_key`): the events
    of the module's top level, the functions and classes it defined (rows shifted when
    the statement moved), the flags it set and the module-level state it left. A
    statement whose summary read a fact of the whole file (the object index, the
    module's other statements) is not recorded."""

    __slots__ = ("added", "after", "events", "key", "main_guard", "node", "row", "work")

    def __init__(self, node, key, row, events, added, main_guard, work, after) -> None:
        self.node = node
        self.key = key
        self.row = row
        self.events: list[Event] = events
        self.added: list[tuple[str, str, FunctionSummary | ClassSummary]] = added
        self.main_guard: bool = main_guard
        self.work: bool = work
        self.after: tuple[dict, dict, dict] = after

    @staticmethod
    def state_key(summarizer: _Summarizer) -> tuple:
        """The module-level state a top-level statement's summary depends on (besides the
        file-wide facts of :func:`file_key`)."""
        return (
            tuple(summarizer.local_types[0].items()),
            tuple(summarizer.paths.scopes[0].items()),
            tuple(summarizer.paths.arg_defaults.items()),
            tuple((name, tuple(c.bases)) for name, c in summarizer.summary.classes.items()),
        )

    @staticmethod
    def file_key(summarizer: _Summarizer) -> tuple:
        """What every statement's summary may read of the file: the import table, the
        module-level definitions and the module's names."""
        imports = summarizer.context.imports
        summary = summarizer.summary
        return (
            tuple(imports.aliases.items()),
            frozenset(imports.locally_bound),
            frozenset(imports.imported_roots),
            frozenset(summarizer.module_defs),
            summary.path,
            summary.relative,
            summary.is_notebook,
        )

    @classmethod
    def record(cls, summarizer: _Summarizer, node, key, row: int, walk) -> StatementSummary | None:
        """Run ``walk()`` (the summariser's visit of top-level statement ``node``, at
        ``row``) and return what it recorded, or None when it read whole-file facts."""
        summary = summarizer.summary
        events = summarizer.module_scope.events
        first = len(events)
        reads = summarizer.whole_file_reads
        main_guard, work = summary.has_main_guard, summary.top_level_work
        summary.has_main_guard = summary.top_level_work = False
        summarizer._added = added = []
        try:
            walk()
        finally:
            summarizer._added = None
            set_guard, set_work = summary.has_main_guard, summary.top_level_work
            summary.has_main_guard = main_guard or set_guard
            summary.top_level_work = work or set_work
        if summarizer.whole_file_reads != reads or summarizer.scopes or summarizer.classes:
            return None
        return cls(
            node,
            key,
            row,
            [_shifted_event(event, 0) for event in events[first:]],
            [(kind, name, _shifted_definition(found, 0)) for kind, name, found in added],
            set_guard,
            set_work,
            (
                dict(summarizer.local_types[0]),
                dict(summarizer.paths.scopes[0]),
                dict(summarizer.paths.arg_defaults),
            ),
        )

    def replay(self, summarizer: _Summarizer, row: int) -> None:
        """Add to ``summarizer`` what walking the statement (now at ``row``) would."""
        delta = row - self.row
        summary = summarizer.summary
        summarizer.module_scope.events.extend(_shifted_event(e, delta) for e in self.events)
        for kind, name, found in self.added:
            table = summary.functions if kind == "function" else summary.classes
            table[name] = _shifted_definition(found, delta)  # type: ignore[assignment]
        if self.main_guard:
            summary.has_main_guard = True
        if self.work:
            summary.top_level_work = True
        for state, after in zip(
            (summarizer.local_types[0], summarizer.paths.scopes[0], summarizer.paths.arg_defaults),
            self.after,
            strict=True,
        ):
            state.clear()
            state.update(after)


def _copied(value):
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    return value


def _shifted_event(event: Event, delta: int) -> Event:
    """A copy of ``event`` (its data too) moved ``delta`` rows."""
    return Event(
        event.kind,
        event.line + delta,
        event.column,
        event.end_line + delta,
        event.end_column,
        event.text,
        event.families,
        event.target,
        _copied(event.data),
    )


def _shifted_definition(found, delta: int):
    if type(found) is FunctionSummary:
        return FunctionSummary(
            found.name, found.line + delta, [_shifted_event(e, delta) for e in found.events]
        )
    return ClassSummary(
        found.name,
        found.line + delta,
        list(found.bases),
        {
            attr: (seeded, line + delta, text)
            for attr, (seeded, line, text) in found.instance_generators.items()
        },
        {attr: list(methods) for attr, methods in found.generator_uses.items()},
    )


def summarize_module(context, relative: str) -> ModuleSummary:
    """The project-level facts of one parsed file, in a walk of its own (for tests and
    tools; the engine summarises during its shared walk instead)."""
    summarizer = ModuleSummarizer(context, relative)
    context.ancestors.clear()
    _walk_with_ancestors(context.module, summarizer, context.ancestors)
    return summarizer.finish_summary()


def _header_end_line(context) -> int:
    end = 0
    for index, statement in enumerate(context.module.body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(small, cst.Import | cst.ImportFrom)
            or (
                index == 0
                and isinstance(small, cst.Expr)
                and isinstance(small.value, cst.SimpleString)
            )
            for small in statement.body
        ):
            end = context.position(statement)[1].row
        else:
            break
    if end == 0:
        # No imports: after the leading comments (a shebang or coding line stays first).
        end = sum(1 for line in context.module.header if line.comment is not None)
    return end


def _walk_with_ancestors(module: cst.Module, visitor: _Summarizer, ancestors: list) -> None:
    class _Tracker(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            method = getattr(visitor, f"visit_{type(node).__name__}", None)
            if method is not None:
                method(node)
            ancestors.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            ancestors.pop()
            method = getattr(visitor, f"leave_{type(original_node).__name__}", None)
            if method is not None:
                method(original_node)

        def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
            return None

        def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
            return None

    module.visit(_Tracker())


# -- step 2: the index ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One link of a call chain: the event in ``module`` that led further."""

    module: ModuleSummary
    event: Event


@dataclass(frozen=True)
class Traced:
    """An event reached from an entry point, with the chain of calls that led to it."""

    module: ModuleSummary
    event: Event
    chain: tuple[Step, ...]

    def anchor(self, entry: ModuleSummary) -> Step:
        """Where to report it in ``entry``: the deepest step of the chain still in the entry
        point's file (``model = Net()`` inside ``main()`` rather than the ``main()`` call),
        or the event itself when it is there."""
        if self.module is entry:
            return Step(self.module, self.event)
        in_entry = [step for step in self.chain if step.module is entry]
        if in_entry:
            return in_entry[-1]
        return self.chain[0] if self.chain else Step(self.module, self.event)

    def via_from(self, anchor: Step) -> str:
        """The calls after ``anchor`` that lead to the event: "`build()` (model.py:40)"."""
        steps = list(self.chain)
        if anchor in steps:
            steps = steps[steps.index(anchor) :]
        return " -> ".join(
            f"`{step.event.text}` ({step.module.path}:{step.event.line})" for step in steps
        )

    def where(self) -> str:
        return f"{self.module.path}:{self.event.line}"

    def via(self) -> str:
        """``train.py:30 `main()` -> model.py:40 `build()```, or "" when direct."""
        if not self.chain:
            return ""
        return " -> ".join(
            f"{step.module.path}:{step.event.line} `{step.event.text}`" for step in self.chain
        )


def module_names(relative: str) -> list[str]:
    """Dotted names a file may be imported as: from the root, below ``src/``, and as a
    sibling script (``from data import x`` next to ``data.py``)."""
    # String operations (as PurePosixPath would split it): asked for every module.
    parts = [part for part in relative.split("/") if part and part != "."]
    if parts:
        name = parts[-1]
        dot = name.rfind(".")
        if 0 < dot < len(name) - 1:
            parts[-1] = name[:dot]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    names = []
    for start in range(len(parts)):
        name = ".".join(parts[start:])
        if name and all(part.isidentifier() for part in parts[start:]):
            names.append(name)
    return names


class ProjectIndex:
    """Every module of the run, its entry points, and call resolution across files."""

    def __init__(self, summaries: list[ModuleSummary], cache=None) -> None:
        self.modules = sorted(summaries, key=lambda s: s.relative)
        self._by_name: dict[str, list[ModuleSummary]] = {}
        self._full_name: dict[str, str] = {}
        for module in self.modules:
            names = module_names(module.relative)
            if names:
                self._full_name[module.relative] = names[0]
            for alias in module.aliases:  # reached through a symbolic link too
                names += [name for name in module_names(alias) if name not in names]
            for name in names:
                self._by_name.setdefault(name, []).append(module)
        self._imported: set[str] = set()
        self._entry_points: list[ModuleSummary] | None = None
        self._resolved_modules: dict[tuple[str, str], ModuleSummary | None] = {}
        #: The absolute name of a relative import -> module (see :meth:`_resolve_module`),
        #: and (package, level) -> the package ``level`` dots name from there.
        self._resolved_relative: dict[str, ModuleSummary | None] = {}
        self._package_prefixes: dict[tuple[str, int], str] = {}
        self._resolved_calls: dict[tuple[str, str], tuple[ModuleSummary, str] | None] = {}
        #: (target, importer) -> the modules whose functions, classes or imports resolving
        #: that call read (a trace depends on them; see :meth:`trace`).
        self._call_reads: dict[tuple[str, str], tuple[str, ...]] = {}
        self._reads: set[str] | None = None
        #: (module, function) -> what expanding it does (see :meth:`_plan`), and the
        #: modules that plan was derived from.
        self._plans: dict[tuple[str, str], tuple | None] = {}
        self._plan_masks: dict[tuple[str, str], int] = {}  # bit n: self.modules[n]
        self._by_relative = {module.relative: module for module in self.modules}
        self._numbers = {module.relative: number for number, module in enumerate(self.modules)}
        self._structures: dict[str, str] = {}
        self._packages: dict[str, str] = {}
        self._depends_digests: dict[bytes, str] = {}
        self._module_hashes: list[int] = []
        self._byte_hashes: dict[int, int] = {}  # position << 8 | byte -> XOR of its modules
        self._layout: str | None = None
        self._event_refs: dict[str, dict[int, tuple[str, int]]] = {}
        #: A :class:`mllint.cache.ResultCache` for traces (set by the engine), and how many
        #: traces this index computed and reused from it.
        self.cache = cache
        self.traces_computed = 0
        self.traces_reused = 0
        #: kind -> (module, event) of every event of that kind (see :meth:`events_of`).
        self._events_by_kind: dict[str, list[tuple[ModuleSummary, Event]]] = {}
        by_kind = self._events_by_kind
        for module in self.modules:
            for function in module.functions.values():
                for event in function.events:
                    kind = event.kind
                    if kind == "call":  # most events: grouped when asked for
                        continue
                    found = by_kind.get(kind)
                    if found is None:
                        found = by_kind[kind] = []
                    found.append((module, event))
        # Each (name, importer) is asked about once here: not memoised per importer.
        resolve = self._resolve_module
        imported = self._imported
        importer = package = None
        for module, event in by_kind.get("import", ()):
            if module is not importer:
                importer, package = module, self.package_of(module)
            also = event.data.get("also")
            for target in (event.target, *also) if also else (event.target,):
                if target:
                    found = resolve(target, module, package)
                    if found is not None and found is not module:
                        imported.add(found.relative)

    def events_of(self, kind: str) -> list[tuple[ModuleSummary, Event]]:
        """Every event of ``kind`` in the project with its module: module by module (in
        the order of :attr:`modules`), function by function, in source order. Shared by
        the rules that look at one kind of event everywhere (one pass over all events)."""
        if kind == "call" and kind not in self._events_by_kind:
            self._events_by_kind[kind] = [
                (module, event)
                for module in self.modules
                for function in module.functions.values()
                for event in function.events
                if event.kind == kind
            ]
        return list(self._events_by_kind.get(kind, ()))

    # -- modules ------------------------------------------------------------------

    def package_of(self, module: ModuleSummary) -> str:
        found = self._packages.get(module.relative)
        if found is None:  # memoised: asked for every relative import
            full = self._full_name.get(module.relative, "")
            if PurePosixPath(module.relative).stem != "__init__":
                full = full.rpartition(".")[0]
            found = self._packages[module.relative] = full
        return found

    def resolve_module(self, name: str, importer: ModuleSummary) -> ModuleSummary | None:
        """The project module ``name`` imported from ``importer`` means, if any.

        Memoised per (name, importer): traces ask the same question millions of times on
        a large package (transformers: 11 million calls, minutes of path arithmetic)."""
        key = (name, importer.relative)
        memo = self._resolved_modules
        if key in memo:
            return memo[key]
        found = memo[key] = self._resolve_module(name, importer)
        return found

    def _resolve_module(
        self, name: str, importer: ModuleSummary, package: str | None = None
    ) -> ModuleSummary | None:
        if not name:
            return None
        if name[0] == ".":
            # String operations, memoised by the absolute name (transformers: 52,000
            # relative imports from 600 packages). ``package``: the importer's, if known.
            rest = name.lstrip(".")
            level = len(name) - len(rest)
            if package is None:
                package = self.package_of(importer)
            if level > 1:
                key = (package, level)
                prefix = self._package_prefixes.get(key)
                if prefix is None:
                    parts = package.split(".") if package else []
                    prefix = ".".join(parts[: len(parts) - (level - 1)])
                    self._package_prefixes[key] = prefix
                package = prefix
            absolute = f"{package}.{rest}" if package and rest else (package or rest)
            memo = self._resolved_relative
            if absolute not in memo:
                candidates = self._by_name.get(absolute, [])
                full = [c for c in candidates if self._full_name.get(c.relative) == absolute]
                memo[absolute] = (full or candidates or [None])[0]
            return memo[absolute]
        candidates = self._by_name.get(name)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        importer_dir = _parent(importer.relative)

        def closeness(candidate: ModuleSummary) -> tuple[int, int]:
            candidate_dir = _parent(candidate.relative)
            same_dir = 0 if candidate_dir == importer_dir else 1
            exact = 0 if self._full_name.get(candidate.relative) == name else 1
            return (same_dir, exact)

        return min(candidates, key=closeness)

    def is_entry_point(self, module: ModuleSummary) -> bool:
        if module.is_test:
            return False
        if module.is_notebook or module.has_main_guard:
            return True
        return module.top_level_work and module.relative not in self._imported

    def entry_points(self) -> list[ModuleSummary]:
        if self._entry_points is None:  # many rules ask; the index does not change
            self._entry_points = [module for module in self.modules if self.is_entry_point(module)]
        return list(self._entry_points)

    # -- calls --------------------------------------------------------------------

    def resolve_call(
        self, target: str, module: ModuleSummary, depth: int = 0
    ) -> tuple[ModuleSummary, str] | None:
        """The (module, function name) a call target leads to, if it is project code."""
        if depth:
            return self._resolve_call(target, module, depth)
        key = (target, module.relative)  # memoised like resolve_module
        memo = self._resolved_calls
        outer = self._reads
        if key in memo:
            if outer is not None:
                outer.update(self._call_reads[key])
            return memo[key]
        self._reads = reads = set()  # what _local reads on the way, for traces' keys
        try:
            found = memo[key] = self._resolve_call(target, module, 0)
        finally:
            self._reads = outer
        self._call_reads[key] = tuple(reads)
        if outer is not None:
            outer.update(reads)
        return found

    def _resolve_call(
        self, target: str, module: ModuleSummary, depth: int
    ) -> tuple[ModuleSummary, str] | None:
        if depth > 8:
            return None
        if target.startswith("local:"):
            return self._local(target[len("local:") :], module, depth)
        # A qualified name: split into a module and an attribute path, longest module first.
        parts = target.split(".")
        leading_dots = len(target) - len(target.lstrip("."))
        parts = target.lstrip(".").split(".")
        for split in range(len(parts) - 1, 0, -1):
            module_name = "." * leading_dots + ".".join(parts[:split])
            found = self.resolve_module(module_name, module)
            if found is not None:
                return self._local(".".join(parts[split:]), found, depth)
        return None

    def _local(
        self, name: str, module: ModuleSummary, depth: int
    ) -> tuple[ModuleSummary, str] | None:
        if self._reads is not None:
            self._reads.add(module.relative)
        if name in module.functions:
            return module, name
        if name in module.classes:
            return self._method(module, name, "__init__", depth)
        head, _, rest = name.partition(".")
        if head in module.classes and rest:
            return self._method(module, head, rest, depth)
        # Re-exported: `from .repro import set_seed` in a package's __init__.
        if head in module.imports:
            qualified = module.imports[head]
            return self.resolve_call(
                f"{qualified}.{rest}" if rest else qualified, module, depth + 1
            )
        return None

    def _method(
        self, module: ModuleSummary, class_name: str, method: str, depth: int
    ) -> tuple[ModuleSummary, str] | None:
        qualified = f"{class_name}.{method}"
        if qualified in module.functions:
            return module, qualified
        for base in module.classes[class_name].bases:  # inherited from a project class
            resolved = self.resolve_call(f"{base}.{method}", module, depth + 1)
            if resolved is not None:
                return resolved
        return None

    def resolve_class(self, target: str, module: ModuleSummary) -> tuple[ModuleSummary, str] | None:
        """The project class a constructor call target names."""
        if target.startswith("local:"):
            name = target[len("local:") :]
            return (module, name) if name in module.classes else None
        leading_dots = len(target) - len(target.lstrip("."))
        parts = target.lstrip(".").split(".")
        for split in range(len(parts) - 1, 0, -1):
            found = self.resolve_module("." * leading_dots + ".".join(parts[:split]), module)
            if found is not None:
                name = ".".join(parts[split:])
                if name in found.classes:
                    return found, name
                if name in found.imports:
                    return self.resolve_class(found.imports[name], found)
        return None

    # -- tracing ------------------------------------------------------------------

    def trace(self, entry: ModuleSummary, *, limit: int = 50_000) -> list[Traced]:
        """What running ``entry`` executes, in order, calls and imports expanded once.

        With a cache (``self.cache``), a trace is stored per entry point together with the
        modules it depended on (those whose functions it expanded, and those that resolving
        its calls read) and a digest of their *structure* (:meth:`structure`: functions,
        the kinds of their events and the targets of their calls and imports, classes and
        their bases, import aliases). A later run reuses it while that digest and the
        project's layout (its module paths) are unchanged; the events themselves (lines,
        texts, data) are taken from the current summaries, so an edit that moves code or
        changes a message's details is still reflected. Anything else re-traces."""
        key = None
        if self.cache is not None:
            key = self.cache.project_key(
                "trace", entry.relative, limit, self.layout(), self.structure(entry.relative)
            )
            reused = self._decode(self.cache.load_value(key))
            if reused is not None:
                self.traces_reused += 1
                return reused
        out, expanded = self._trace(entry, limit)
        self.traces_computed += 1
        if key is not None:
            depends = 0
            masks = self._plan_masks
            for expanded_key in expanded:
                depends |= masks[expanded_key]
            self.cache.store_value(key, self._stored(depends, out))
        return out

    def _trace(self, entry: ModuleSummary, limit: int) -> tuple[list[Traced], set[tuple[str, str]]]:
        """The trace, and the (module, function) pairs it expanded.

        Each function is expanded once (the first time it is reached), within 40 calls of
        the entry point, until ``limit`` events were recorded. What a function's expansion
        does is planned once per index (:meth:`_plan`) and shared by every entry point; the
        chain of a recorded event is materialised only when one is recorded."""
        out: list[Traced] = []
        expanded: set[tuple[str, str]] = set()
        plans = self._plans
        plan_for = self._plan

        def walk(module: ModuleSummary, function: str, key: tuple[str, str], chain: list) -> None:
            expanded.add(key)
            plan = plans[key] if key in plans else plan_for(module, function, key)
            if plan is None:
                return
            frozen = None
            for step, target, name, target_key in plan:
                if step is None:
                    if frozen is None:
                        frozen = tuple(chain)
                    out.append(Traced(module, target, frozen))
                elif target_key not in expanded and len(chain) < 40 and len(out) <= limit:
                    chain.append(step)
                    walk(target, name, target_key, chain)
                    chain.pop()

        if limit >= 0:
            walk(entry, MODULE_BODY, (entry.relative, MODULE_BODY), [])
        return out, expanded

    def _plan(self, module: ModuleSummary, function: str, key: tuple[str, str]) -> tuple | None:
        """What expanding ``function`` of ``module`` does, in source order: for each event
        either ``(None, event, None, None)`` (recorded) or ``(step, module, function, key)``
        (a resolved call or import, expanded there); None when there is no such function."""
        summary = module.functions.get(function)
        reads = {module.relative}
        plan = None
        if summary is not None:
            items: list[tuple] = []
            outer, self._reads = self._reads, reads
            try:
                for event in summary.events:
                    kind = event.kind
                    if kind == "import":
                        step = None
                        for target in [event.target or "", *event.data.get("also", [])]:
                            found = self.resolve_module(target, module)
                            if found is not None and found is not module:
                                if step is None:
                                    step = Step(module, event)
                                items.append(
                                    (step, found, MODULE_BODY, (found.relative, MODULE_BODY))
                                )
                    elif kind == "call" and event.target:
                        resolved = self.resolve_call(event.target, module)
                        if resolved is not None:
                            found, name = resolved
                            items.append((Step(module, event), found, name, (found.relative, name)))
                    else:
                        items.append((None, event, None, None))
            finally:
                self._reads = outer
            plan = tuple(items)
        self._plans[key] = plan
        numbers = self._numbers
        mask = 0
        for relative in reads:
            mask |= 1 << numbers[relative]
        self._plan_masks[key] = mask
        return plan

    # -- the traces' cache keys and their stored form ----------------------------------

    def layout(self) -> str:
        """A digest of the project's module paths (module names and import resolution
        depend on them)."""
        if self._layout is None:
            text = "\n".join(
                "\0".join((module.relative, *module.aliases)) for module in self.modules
            )
            self._layout = sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return self._layout

    def structure(self, relative: str) -> str:
        """A digest of what a trace reads of a module: its functions with the kinds of their
        events and the targets of their calls and imports, its classes with their bases,
        and its import aliases. Lines, texts and other event details are not part of it."""
        found = self._structures.get(relative)
        if found is None:
            module = self._by_relative[relative]
            found = self._structures[relative] = module.structure or structure_digest(module)
        return found

    def _digest_of(self, depends: bytes) -> str:
        """A digest of the structures of the modules a trace depended on: ``depends`` has
        a bit set for each of them, numbered in the order of :attr:`modules` (the layout is
        part of the trace's key). Entry points often depend on the same modules."""
        found = self._depends_digests.get(depends)
        if found is None:
            # The XOR of one 256-bit hash per module (of its path and structure): a set
            # hash, cheap to combine for the thousands of modules a trace may read.
            hashes = self._module_hashes
            if not hashes:
                hashes.extend(
                    int.from_bytes(
                        sha256(
                            f"{m.relative} {self.structure(m.relative)}".encode(
                                "utf-8", "surrogatepass"
                            )
                        ).digest(),
                        "little",
                    )
                    for m in self.modules
                )
            # XOR'd a byte (up to eight modules) at a time; traces share most bytes.
            by_byte = self._byte_hashes
            combined = 0
            for position, byte in enumerate(depends):
                if byte:
                    key = position << 8 | byte
                    part = by_byte.get(key)
                    if part is None:
                        part = 0
                        for bit in _BYTE_BITS[byte]:
                            part ^= hashes[position * 8 + bit]
                        by_byte[key] = part
                    combined ^= part
            found = self._depends_digests[depends] = f"{combined:064x}"
        return found

    def _stored(self, depends: int, out: list[Traced]) -> tuple:
        packed = depends.to_bytes((len(self.modules) + 7) // 8, "little")
        return (self._digest_of(packed), packed, self._encode(out))

    def _event_ref(self, module: ModuleSummary, event: Event) -> tuple[str, int]:
        refs = self._event_refs.get(module.relative)
        if refs is None:
            refs = self._event_refs[module.relative] = {
                id(each): (name, position)
                for name, function in module.functions.items()
                for position, each in enumerate(function.events)
            }
        return refs[id(event)]

    def _encode(self, out: list[Traced]) -> tuple:
        """A trace as plain data: events as (module number, function, position)."""
        modules: dict[str, int] = {}
        steps: dict[int, int] = {}
        step_table: list[tuple] = []
        chains: dict[int, tuple[int, ...]] = {}
        records = []

        def ref(module: ModuleSummary, event: Event) -> tuple:
            number = modules.setdefault(module.relative, len(modules))
            return (number, *self._event_ref(module, event))

        for traced in out:
            chain = chains.get(id(traced.chain))
            if chain is None:
                numbers = []
                for step in traced.chain:
                    number = steps.get(id(step))
                    if number is None:
                        number = steps[id(step)] = len(step_table)
                        step_table.append(ref(step.module, step.event))
                    numbers.append(number)
                chain = chains[id(traced.chain)] = tuple(numbers)
            records.append((ref(traced.module, traced.event), chain))
        return (tuple(modules), tuple(step_table), tuple(records))

    def _decode(self, stored) -> list[Traced] | None:
        """A stored trace rebuilt on the current summaries, or None when it is missing or
        any module it depended on changed structure (or it does not fit)."""
        if stored is None:
            return None
        try:
            digest, depends, (names, step_table, records) = stored
            if len(depends) != (len(self.modules) + 7) // 8 or self._digest_of(depends) != digest:
                return None
            modules = [self._by_relative[relative] for relative in names]

            def event(number: int, function: str, position: int) -> tuple:
                module = modules[number]
                return module, module.functions[function].events[position]

            steps = [Step(*event(*ref)) for ref in step_table]
            chains: dict[tuple[int, ...], tuple[Step, ...]] = {}
            out = []
            for ref, numbers in records:
                chain = chains.get(numbers)
                if chain is None:
                    chain = chains[numbers] = tuple(steps[number] for number in numbers)
                out.append(Traced(*event(*ref), chain))
            return out
        except Exception:  # a foreign or outdated entry: trace again
            return None


@functools.lru_cache(maxsize=65536)
def _parent(relative: str) -> str:
    return str(PurePosixPath(relative).parent)


_BYTE_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))


def structure_digest(module: ModuleSummary) -> str:
    """See :meth:`ProjectIndex.structure`."""
    parts: list = []
    for name, function in module.functions.items():
        parts.append(name)
        for event in function.events:
            kind = event.kind
            if kind == "import":
                parts.append((kind, event.target, tuple(event.data.get("also", ()))))
            elif kind == "call":
                parts.append((kind, event.target))
            else:
                parts.append(kind)
    parts.append(sorted((name, tuple(c.bases)) for name, c in module.classes.items()))
    parts.append(sorted(module.imports.items()))
    return sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
