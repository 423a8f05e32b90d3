"""What a name holds in a PyTorch file: an optimizer, a scheduler, a GradScaler, a model, a loss.

Rules about training code must know that ``opt`` is a ``torch.optim.AdamW`` and ``env`` is
not, that ``model`` is an ``nn.Sequential`` ending in ``nn.Softmax``, or that ``backbone``
came from ``from_pretrained``. This module indexes every assignment, parameter and class
of a file once (``FileIndex``) and classifies the value each name was last bound to from
its *construction* (``torch.optim.*``, ``lr_scheduler.*``, ``GradScaler``, ``nn.Module``
subclasses defined in the file, ``from_pretrained``, torchvision/timm constructors),
resolved through the file's import alias table.

Lookups are scope-aware but flow-insensitive: a name's candidates are its bindings in the
function that uses it (parameters included), then the class (``self.x``), then the module.
When candidates disagree the answer is "unknown", never a guess.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from mllint.analysis import walk
from mllint.analysis.calls import argument, keyword_value
from mllint.analysis.names import dotted_name
from mllint.lazyre import lazy_compile

_Scope = cst.FunctionDef | cst.Lambda | None

#: Methods that return the module they are called on (or a copy of the same model).
_SELF_RETURNING = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "float",
        "half",
        "double",
        "bfloat16",
        "train",
        "eval",
        "requires_grad_",
        "share_memory",
        "to_empty",
        "type",
        "module",
    }
)
#: Calls that wrap a model and return something used like it.
_MODEL_WRAPPERS = frozenset(
    {
        "torch.compile",
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.DistributedDataParallelCPU",
        "torch.jit.script",
        "torch.distributed.fsdp.FullyShardedDataParallel",
        "torch.optim.swa_utils.AveragedModel",
    }
)
_SCALERS = frozenset(
    {
        "torch.cuda.amp.GradScaler",
        "torch.cuda.amp.grad_scaler.GradScaler",
        "torch.amp.GradScaler",
        "torch.amp.grad_scaler.GradScaler",
        "torch.GradScaler",
        "torch.cpu.amp.GradScaler",
    }
)
_MODULE_BASES = re.compile(
    r"^(torch\.nn\.|lightning\.|pytorch_lightning\.|lightning_fabric\.|transformers\..*(Model|PreTrainedModel)$)"
)
_LIGHTNING_MODULES = frozenset(
    {
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "lightning.pytorch.core.LightningModule",
        "lightning.pytorch.core.module.LightningModule",
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.lightning.LightningModule",
    }
)
_NOT_A_MODEL = lazy_compile(r"(Tokenizer|Processor|Config|FeatureExtractor|ImageProcessor)\w*$")
_PRETRAINED_LIBS = ("transformers.", "diffusers.", "sentence_transformers.", "peft.")
ADAPTIVE_OPTIMIZERS = frozenset(
    {
        "Adam",
        "AdamW",
        "Adamax",
        "NAdam",
        "RAdam",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "SparseAdam",
        "Adafactor",
        "LAMB",
        "Lamb",
    }
)


@dataclass(frozen=True)
class TorchObject:
    """What an expression evidently holds.

    ``kind`` is one of ``optimizer``, ``scheduler``, ``scaler``, ``model``, ``loss``,
    ``class`` (an instance of a class defined in the file that is not an ``nn.Module``).
    ``detail`` is the class name (``AdamW``, ``CrossEntropyLoss``, ``Sequential``) or, for
    local classes, the class's name. ``node`` is the construction call, ``pretrained``
    says the weights come from a checkpoint (``from_pretrained``, ``weights=``,
    ``pretrained=True``).
    """

    kind: str
    detail: str | None = None
    node: cst.CSTNode | None = field(default=None, compare=False)
    pretrained: bool = False
    klass: cst.ClassDef | None = field(default=None, compare=False)


@dataclass
class Binding:
    """One place a name is bound: ``value`` is None for parameters, loop targets, etc."""

    target: str
    value: cst.BaseExpression | None
    statement: cst.CSTNode
    scope: _Scope
    klass: cst.ClassDef | None
    order: int


def children(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    """The node's non-token children in source order (``mllint.analysis.walk``), from the
    cache filled when the file was indexed."""
    entry = walk.CHILDREN.get(id(node))  # walk.cached_children, inlined: a hot path
    if entry is not None and entry[0] is node:
        return entry[1]
    return tuple(walk.children(node))


#: The node kinds whose visit in :meth:`_Walked._walk_from` records more than order,
#: parent, scope and class.
_RECORDED_KINDS = frozenset(
    (
        cst.FunctionDef,
        cst.Lambda,
        cst.ClassDef,
        cst.For,
        cst.While,
        cst.Call,
        cst.Assign,
        cst.AnnAssign,
        cst.WithItem,
    )
)


class _Walked:
    """What the object index's walk records: parents, order, scopes, classes and bindings
    of the nodes it passes (a whole module, or one top-level statement)."""

    def __init__(self) -> None:
        self.parents: dict[int, cst.CSTNode] = {}
        self.order: dict[int, int] = {}
        self.functions: list[cst.FunctionDef] = []
        self.functions_by_name: dict[str, list[cst.FunctionDef]] = {}
        self.classes: dict[str, cst.ClassDef] = {}
        self.loops: list[cst.For | cst.While] = []
        self.calls: list[cst.Call] = []
        self.bindings: dict[str, list[Binding]] = {}
        self._scope_of: dict[int, _Scope] = {}
        self._class_of: dict[int, cst.ClassDef | None] = {}

    def _walk_from(self, root: cst.CSTNode, parent: cst.CSTNode | None, counter: int, cache) -> int:
        """Walk ``root`` (outside any function or class), numbering its nodes from
        ``counter`` and filling ``cache`` (``walk.CHILDREN``'s shape); returns the next
        number."""
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None, _Scope, cst.ClassDef | None]] = [
            (root, parent, None, None)
        ]
        # Once per node of the file: the tables and types are bound to locals, and the
        # node kinds that record nothing skip the chain of type tests below.
        order, parents = self.order, self.parents
        scope_of, class_of = self._scope_of, self._class_of
        pop, push, node_children = stack.pop, stack.append, walk.children
        recorded = _RECORDED_KINDS
        while stack:
            node, parent, scope, klass = pop()
            key = id(node)
            order[key] = counter
            counter += 1
            if parent is not None:
                parents[key] = parent
            scope_of[key] = scope
            class_of[key] = klass
            inner_scope, inner_class = scope, klass
            kind = type(node)  # exact types: isinstance on LibCST's ABCs is slow here
            if kind not in recorded:
                pass
            elif kind is cst.FunctionDef:
                self.functions.append(node)
                self.functions_by_name.setdefault(node.name.value, []).append(node)
                inner_scope = node
                for param in _params(node.params):
                    self._bind(param.name.value, None, node, node, klass, counter)
            elif kind is cst.Lambda:
                inner_scope = node
            elif kind is cst.ClassDef:
                self.classes.setdefault(node.name.value, node)
                inner_class = node
                inner_scope = None
            elif kind is cst.For or kind is cst.While:
                self.loops.append(node)
                if kind is cst.For:
                    self._bind_target(node.target, None, node, scope, klass, counter)
            elif kind is cst.Call:
                self.calls.append(node)
            elif kind is cst.Assign:
                for target in node.targets:
                    self._bind_target(target.target, node.value, node, scope, klass, counter)
            elif kind is cst.AnnAssign and node.value is not None:
                self._bind_target(node.target, node.value, node, scope, klass, counter)
            elif kind is cst.WithItem and node.asname is not None:
                self._bind_target(node.asname.name, None, node, scope, klass, counter)
            children = tuple(node_children(node))
            cache[key] = (node, children)
            for child in reversed(children):
                # Decorators and default values are evaluated in the enclosing scope, but
                # treating them as inside is harmless for our questions.
                push((child, node, inner_scope, inner_class))
        return counter

    def _bind_target(self, target, value, statement, scope, klass, order) -> None:
        if type(target) in (cst.Tuple, cst.List):
            values: list[cst.BaseExpression | None] = [None] * len(target.elements)
            if type(value) in (cst.Tuple, cst.List) and len(value.elements) == len(values):
                values = [element.value for element in value.elements]
            elif type(value) is cst.Call and _attr(value.func) == "prepare":
                # accelerator.prepare(model, optimizer, loader): each result is its argument.
                positional = [a.value for a in value.args if a.keyword is None and not a.star]
                if len(positional) == len(values):
                    values = positional
            for element, element_value in zip(target.elements, values, strict=True):
                self._bind_target(element.value, element_value, statement, scope, klass, order)
            return
        if type(target) is cst.StarredElement:
            self._bind_target(target.value, None, statement, scope, klass, order)
            return
        name = dotted_name(target)
        if name is not None:
            self._bind(name, value, statement, scope, klass, order)

    def _bind(self, name, value, statement, scope, klass, order) -> None:
        self.bindings.setdefault(name, []).append(
            Binding(name, value, statement, scope, klass, order)
        )


class IndexFragment(_Walked):
    """The walk of one top-level statement, numbered from 0 and without the statement's
    parent (the module): an editor's document keeps it while the statement is unchanged
    (same node), and :class:`FileIndex` splices it in instead of walking the statement
    again. The walk of a top-level statement depends on nothing but its own subtree."""

    def __init__(self, statement: cst.CSTNode) -> None:
        super().__init__()
        self.node = statement
        self.children: dict[int, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}
        self.count = self._walk_from(statement, None, 0, self.children)


class FileIndex(_Walked):
    """Parents, order, scopes and bindings of every node of one module, built in one walk."""

    def __init__(self, module: cst.Module, context) -> None:
        super().__init__()
        self.module = module
        self.context = context
        self._walk()
        self._kind_cache: dict[tuple[tuple[int, int, str], int], TorchObject | None] = {}
        self._plans: dict[
            tuple[int, int, str], tuple[list[Binding], list[int], list[Binding | None]]
        ] = {}
        self._construction_cache: dict[int, tuple[cst.Call, TorchObject | None]] = {}
        self._module_class_cache: dict[str, bool] = {}
        self._calls_by_name: dict[str, list[cst.Call]] | None = None

    def calls_named(self, name: str) -> list[cst.Call]:
        """The calls of the file whose callee is the plain name ``name`` (``train(...)``,
        not ``self.train(...)``), in source order; the table is built on first use."""
        table = self._calls_by_name
        if table is None:
            table = self._calls_by_name = {}
            for call in self.calls:
                func = call.func
                if type(func) is cst.Name:  # exact type: isinstance on LibCST's ABCs is slow
                    table.setdefault(func.value, []).append(call)
        return table.get(name, [])

    # -- building ------------------------------------------------------------------

    def _walk(self) -> None:
        cache = walk.CHILDREN
        cache.clear()
        document = getattr(self.context, "__dict__", {}).get("_incremental_document")
        if document is None or document.module is not self.module:
            self._walk_from(self.module, None, 0, cache)
            return
        # An editor's document: reuse the walks of the unchanged top-level statements.
        module = self.module
        fragments = document.index_fragments
        kept: dict[int, IndexFragment] = {}
        self.order[id(module)] = 0
        self._scope_of[id(module)] = None
        self._class_of[id(module)] = None
        children = tuple(walk.children(module))
        cache[id(module)] = (module, children)
        statements = {id(statement) for statement in module.body}
        counter = 1
        for child in children:
            if id(child) not in statements:  # the module's header and footer lines
                counter = self._walk_from(child, module, counter, cache)
                continue
            fragment = fragments.get(id(child))
            if fragment is None or fragment.node is not child:
                fragment = IndexFragment(child)
            kept[id(child)] = fragment
            counter = self._splice(fragment, module, counter, cache)
        document.index_fragments = kept

    def _splice(self, fragment: IndexFragment, module: cst.Module, base: int, cache) -> int:
        """Add one statement's walk, numbered from ``base``, as the walk would have."""
        self.parents[id(fragment.node)] = module
        self.parents.update(fragment.parents)
        self.order.update({key: number + base for key, number in fragment.order.items()})
        self._scope_of.update(fragment._scope_of)
        self._class_of.update(fragment._class_of)
        cache.update(fragment.children)
        self.functions += fragment.functions
        for function in fragment.functions:
            self.functions_by_name.setdefault(function.name.value, []).append(function)
        for name, klass in fragment.classes.items():
            self.classes.setdefault(name, klass)
        self.loops += fragment.loops
        self.calls += fragment.calls
        bindings = self.bindings
        for name, found in fragment.bindings.items():
            bindings.setdefault(name, []).extend(
                Binding(b.target, b.value, b.statement, b.scope, b.klass, b.order + base)
                for b in found
            )
        return base + fragment.count

    # -- navigation ----------------------------------------------------------------

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(id(node))

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(id(node))
        while current is not None:
            yield current
            current = self.parents.get(id(current))

    def scope_of(self, node: cst.CSTNode) -> _Scope:
        """The innermost function (or lambda) whose body holds ``node``."""
        return self._scope_of.get(id(node))

    def function_of(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        scope = self.scope_of(node)
        while type(scope) is cst.Lambda:
            scope = self.scope_of(scope)
        return scope

    def class_of(self, node: cst.CSTNode) -> cst.ClassDef | None:
        return self._class_of.get(id(node))

    def contains(self, outer: cst.CSTNode, node: cst.CSTNode) -> bool:
        return node is outer or any(a is outer for a in self.ancestors(node))

    def before(self, a: cst.CSTNode, b: cst.CSTNode) -> bool:
        return self.order.get(id(a), 0) < self.order.get(id(b), 0)

    # -- what names hold -----------------------------------------------------------

    def candidates(self, name: str, at: cst.CSTNode) -> list[Binding]:
        """Bindings of ``name`` visible at ``at``: its function's, else the class's
        (``self.x``), else those of enclosing functions, else the module's."""
        bindings = self.bindings.get(name)
        if not bindings:
            return []
        scope = self.scope_of(at)
        while True:
            local = [b for b in bindings if b.scope is scope]
            if local:
                return local
            if scope is None:
                break
            scope = self.scope_of(scope)
        if name.startswith("self."):
            klass = self.class_of(at)
            if klass is not None:
                in_class = [b for b in bindings if b.klass is klass]
                if in_class:
                    return in_class
        return [b for b in bindings if b.scope is None and b.klass is None]

    def _plan(
        self, name: str, at: cst.CSTNode, scope: _Scope
    ) -> tuple[list[Binding], list[int], list[Binding | None]]:
        """What :meth:`object_of` needs to answer for ``name`` anywhere in ``at``'s scope
        (and class): the visible bindings, the distinct orders of those in the scope
        itself, ascending, and for each order the binding a use at that order sees: the
        latest at or before it whose value is not ``name`` itself (the first one bound
        when a statement binds the name twice), or None."""
        candidates = self.candidates(name, at)
        groups: dict[int, list[Binding]] = {}
        for binding in candidates:
            if binding.scope is scope:
                groups.setdefault(binding.order, []).append(binding)
        orders = sorted(groups)
        latest: list[Binding | None] = []
        current: Binding | None = None
        for order in orders:
            for binding in groups[order]:
                if binding.value is None or dotted_name(_strip(binding.value)) != name:
                    current = binding
                    break
            latest.append(current)
        return candidates, orders, latest

    def object_of(
        self, expression: cst.BaseExpression, at: cst.CSTNode | None = None, _depth: int = 0
    ) -> TorchObject | None:
        """What ``expression`` evidently holds at ``at`` (default: where it is), or None."""
        at = at if at is not None else expression
        if _depth > 6:
            return None
        while (
            type(expression) is cst.Call
            and type(expression.func) is cst.Attribute
            and expression.func.attr.value in _SELF_RETURNING
        ):
            expression = expression.func.value
        if type(expression) is cst.Call:
            if _depth or at is not expression:
                return self._construction(expression, at, _depth)
            # Several rules ask what every call of the file builds (ML508, ML509).
            known = self._construction_cache.get(id(expression))
            if known is None or known[0] is not expression:
                known = (expression, self._construction(expression, at, 0))
                self._construction_cache[id(expression)] = known
            return known[1]
        name = dotted_name(expression)
        if name is None:
            return None
        if name == "self":
            klass = self.class_of(at)
            if klass is not None and self.is_module_class(klass):
                return TorchObject("model", klass.name.value, klass, klass=klass)
            return None
        if name not in self.bindings:
            # Never bound in the file (``torch.zeros``, ``x.view``): nothing is evident.
            # Most calls are such; this skips their scope lookups and cache entries.
            return None
        scope = self.scope_of(at)
        klass = self.class_of(at) if name.startswith("self.") else None
        plan_key = (id(scope), id(klass), name)
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = self._plan(name, at, scope)
        candidates, orders, latest = plan
        # Flow-sensitive where it is cheap: the latest assignment before the use, in the
        # same function, skipping ``x = x.to(device)``. The answer depends on that binding
        # (or on all candidates when there is none), never on which use asked first.
        position = bisect_right(orders, self.order.get(id(at), 0)) - 1
        chosen = latest[position] if position >= 0 else None
        key = (plan_key, id(chosen))
        if key in self._kind_cache:
            return self._kind_cache[key]
        self._kind_cache[key] = None  # cycles (x = x.to(device)) resolve to unknown
        if chosen is not None:
            candidates = [chosen]
        found: TorchObject | None = None
        seen: set[TorchObject] = set()
        unknown = False
        for binding in candidates:
            if binding.value is None:
                unknown = True
                break
            value = binding.value
            if dotted_name(_strip(value)) == name:
                continue  # x = x.to(device) keeps what x held
            kind = self.object_of(value, binding.statement, _depth + 1)
            if kind is None:
                unknown = True
                break
            seen.add(kind)
            found = kind
        result = found if (found is not None and not unknown and len(seen) == 1) else None
        self._kind_cache[key] = result
        return result

    def _construction(self, call: cst.Call, at: cst.CSTNode, depth: int) -> TorchObject | None:
        qualified = self.context.call_name(call) or ""
        func_name = dotted_name(call.func) or ""
        last = func_name.rsplit(".", 1)[-1]
        if qualified in _MODEL_WRAPPERS or (last == "prepare" and len(call.args) == 1):
            if call.args:
                return self.object_of(call.args[0].value, at, depth + 1)
            return None
        if qualified in _SCALERS:
            return TorchObject("scaler", "GradScaler", call)
        if qualified.startswith("torch.optim.lr_scheduler.") or qualified.startswith(
            "torch.optim.swa_utils.SWALR"
        ):
            return TorchObject("scheduler", qualified.rsplit(".", 1)[-1], call)
        if qualified.startswith(("transformers.", "diffusers.optimization.")) and re.match(
            r"get_\w*schedule", qualified.rsplit(".", 1)[-1]
        ):
            return TorchObject("scheduler", qualified.rsplit(".", 1)[-1], call)
        if qualified.startswith("torch.optim.") and last[:1].isupper():
            return TorchObject("optimizer", last, call)
        if qualified in (
            "transformers.AdamW",
            "transformers.Adafactor",
            "transformers.optimization.AdamW",
        ):
            return TorchObject("optimizer", last, call)
        if qualified.startswith("bitsandbytes.optim.") and last[:1].isupper():
            return TorchObject("optimizer", last, call)
        if qualified.startswith("torch.nn.") and last[:1].isupper():
            if last.endswith("Loss"):
                return TorchObject("loss", last, call)
            return TorchObject("model", last, call)
        if last == "from_pretrained":
            receiver = func_name.rsplit(".", 1)[0] if "." in func_name else ""
            if _NOT_A_MODEL.search(receiver) or _NOT_A_MODEL.search(qualified):
                return None
            return TorchObject("model", receiver.rsplit(".", 1)[-1] or None, call, pretrained=True)
        if qualified.startswith("torchvision.models.") and last[:1].islower():
            return TorchObject("model", last, call, pretrained=_torchvision_pretrained(call))
        if qualified in ("timm.create_model", "timm.models.create_model"):
            pretrained = keyword_value(call, "pretrained")
            return TorchObject(
                "model",
                "timm",
                call,
                pretrained=type(pretrained) is cst.Name and pretrained.value == "True",
            )
        if type(call.func) is cst.Name and call.func.value in self.classes:
            klass = self.classes[call.func.value]
            if self.is_module_class(klass):
                return TorchObject("model", klass.name.value, call, klass=klass)
            return TorchObject("class", klass.name.value, call, klass=klass)
        return None

    def is_module_class(self, klass: cst.ClassDef) -> bool:
        """A class defined here that subclasses ``nn.Module`` (directly or through a local
        class, a torch.nn container, a LightningModule or a transformers model)."""
        name = klass.name.value
        if name in self._module_class_cache:
            return self._module_class_cache[name]
        self._module_class_cache[name] = False
        result = False
        for base in klass.bases:
            qualified = self.context.qualified_name(base.value) or ""
            local = dotted_name(base.value)
            if _MODULE_BASES.match(qualified):
                result = True
            elif local in self.classes and self.classes[local] is not klass:
                result = self.is_module_class(self.classes[local])
            if result:
                break
        self._module_class_cache[name] = result
        return result

    def is_lightning_module(self, klass: cst.ClassDef) -> bool:
        for base in klass.bases:
            qualified = self.context.qualified_name(base.value) or ""
            if qualified in _LIGHTNING_MODULES or qualified.endswith(".LightningModule"):
                return True
            local = dotted_name(base.value)
            if (
                local in self.classes
                and self.classes[local] is not klass
                and self.is_lightning_module(self.classes[local])
            ):
                return True
        return False

    def is_hf_trainer(self, klass: cst.ClassDef) -> bool:
        for base in klass.bases:
            qualified = self.context.qualified_name(base.value) or ""
            if qualified.startswith(("transformers.", "trl.")) and qualified.endswith("Trainer"):
                return True
            local = dotted_name(base.value)
            if (
                local in self.classes
                and self.classes[local] is not klass
                and self.is_hf_trainer(self.classes[local])
            ):
                return True
        return False

    def method(self, klass: cst.ClassDef, name: str) -> cst.FunctionDef | None:
        for statement in klass.body.body:
            if type(statement) is cst.FunctionDef and statement.name.value == name:
                return statement
        return None

    def function_named(self, name: str, at: cst.CSTNode) -> cst.FunctionDef | None:
        """The function a call of ``name`` at ``at`` runs: a def nested in an enclosing
        function, a module-level def, or (``self.name``) a method of the enclosing class."""
        if name.startswith("self."):
            klass = self.class_of(at)
            return self.method(klass, name[5:]) if klass is not None else None
        if "." in name:
            return None
        named = self.functions_by_name.get(name)
        if not named:
            return None
        scope = self.function_of(at)
        while scope is not None:
            nested = [f for f in named if f is not scope and self.function_of(f) is scope]
            if nested:
                earlier = [f for f in nested if self.before(f, at)]
                return (earlier or nested)[-1]
            scope = self.function_of(scope)
        for function in named:
            if self.scope_of(function) is None and self.class_of(function) is None:
                return function
        return None


def _strip(expression: cst.BaseExpression) -> cst.BaseExpression:
    while (
        type(expression) is cst.Call
        and type(expression.func) is cst.Attribute
        and expression.func.attr.value in _SELF_RETURNING
    ):
        expression = expression.func.value
    return expression


def _attr(expression: cst.BaseExpression) -> str | None:
    return expression.attr.value if type(expression) is cst.Attribute else None


def _torchvision_pretrained(call: cst.Call) -> bool:
    weights = keyword_value(call, "weights")
    if weights is not None:
        return not (type(weights) is cst.Name and weights.value == "None")
    pretrained = keyword_value(call, "pretrained")
    return type(pretrained) is cst.Name and pretrained.value == "True"


def _params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if type(star) is cst.Param:
            found.append(star)
    return found


def learning_rate(call: cst.Call) -> cst.BaseExpression | None:
    """The ``lr`` passed to an optimizer construction (keyword, or second positional)."""
    return argument(call, "lr", 1)


def file_index(context) -> FileIndex:
    """The file's index, built once per file and shared by every rule."""
    return context.cached(
        ("mllint.analysis", "file_index"), lambda: FileIndex(context.module, context)
    )


# -- what a tensor is: logits, probabilities or log-probabilities -----------------------

_SOFTMAX = frozenset({"torch.softmax", "torch.nn.functional.softmax", "torch.special.softmax"})
_LOG_SOFTMAX = frozenset(
    {"torch.log_softmax", "torch.nn.functional.log_softmax", "torch.special.log_softmax"}
)
_SIGMOID = frozenset({"torch.sigmoid", "torch.nn.functional.sigmoid", "torch.special.expit"})
_LOG = frozenset({"torch.log", "torch.log2", "torch.log10"})
#: Tensor methods and functions that keep what a tensor holds (shape and dtype changes).
_PRESERVING = frozenset(
    {
        "squeeze",
        "unsqueeze",
        "view",
        "reshape",
        "flatten",
        "float",
        "double",
        "half",
        "contiguous",
        "permute",
        "transpose",
        "to",
        "cuda",
        "cpu",
        "clamp",
        "clip",
        "type_as",
    }
)
_LAYER_ACTIVATIONS = {
    "Softmax": "softmax",
    "Softmax2d": "softmax",
    "LogSoftmax": "log_softmax",
    "Sigmoid": "sigmoid",
    "Linear": "logits",
    "LazyLinear": "logits",
    "Bilinear": "logits",
    "Conv1d": "logits",
    "Conv2d": "logits",
    "Conv3d": "logits",
}


def output_activation(
    index: FileIndex,
    expression: cst.BaseExpression,
    at: cst.CSTNode | None = None,
    depth: int = 0,
) -> tuple[str, cst.CSTNode] | None:
    """What ``expression`` holds: ``("softmax" | "log_softmax" | "sigmoid" | "logits",
    node that shows it)``, or None when it is not evident.

    Follows local assignments (the nearest earlier one in the same function), shape
    operations, ``nn.Sequential`` (its last layer), layers assigned in ``__init__``, and
    a locally defined module's ``forward`` return.
    """
    at = at if at is not None else expression
    if depth > 8:
        return None
    if type(expression) is cst.Subscript:
        return output_activation(index, expression.value, at, depth + 1)
    if type(expression) is cst.Call:
        qualified = index.context.call_name(expression) or ""
        method = expression.func.attr.value if type(expression.func) is cst.Attribute else None
        if qualified in _SOFTMAX or (method == "softmax" and not qualified):
            return "softmax", expression
        if qualified in _LOG_SOFTMAX or (method == "log_softmax" and not qualified):
            return "log_softmax", expression
        if qualified in _SIGMOID or (method == "sigmoid" and not qualified):
            return "sigmoid", expression
        if qualified in _LOG or (method == "log" and not qualified):
            return "log_softmax", expression  # log of probabilities: what NLLLoss wants
        if method in _PRESERVING and not qualified:
            return output_activation(index, expression.func.value, at, depth + 1)
        if (
            qualified in ("torch.clamp", "torch.clip", "torch.squeeze", "torch.flatten")
            and expression.args
        ):
            return output_activation(index, expression.args[0].value, at, depth + 1)
        return _module_output(index, expression, depth)
    name = dotted_name(expression)
    if name is None:
        return None
    binding = latest_binding(index, name, at)
    if binding is None or binding.value is None:
        return None
    return output_activation(index, binding.value, binding.statement, depth + 1)


def latest_binding(index: FileIndex, name: str, at: cst.CSTNode) -> Binding | None:
    """The binding of ``name`` that reaches ``at``: the latest earlier one in the same
    function; else the only one visible from the class or module."""
    candidates = index.candidates(name, at)
    if not candidates:
        return None
    scope = index.scope_of(at)
    here = index.order.get(id(at), 0)
    local = [b for b in candidates if b.scope is scope and b.order <= here]
    if local:
        return max(local, key=lambda b: b.order)
    if len(candidates) == 1:
        return candidates[0]
    return None


def _module_output(index: FileIndex, call: cst.Call, depth: int) -> tuple[str, cst.CSTNode] | None:
    """The activation of ``model(x)`` when the model is evident."""
    obj = index.object_of(call.func, call)
    if obj is None or obj.kind != "model":
        return None
    return module_activation(index, obj, depth)


def module_activation(
    index: FileIndex, obj: TorchObject, depth: int = 0
) -> tuple[str, cst.CSTNode] | None:
    if obj.detail in _LAYER_ACTIVATIONS and type(obj.node) is cst.Call:
        return _LAYER_ACTIVATIONS[obj.detail], obj.node
    if obj.detail == "Sequential" and type(obj.node) is cst.Call:
        layers = [a.value for a in obj.node.args if a.keyword is None and not a.star]
        if not layers or any(a.star for a in obj.node.args):
            return None
        last = layers[-1]
        if type(last) is cst.Call:
            inner = index._construction(last, last, depth + 1)
            if inner is not None and inner.kind == "model":
                return module_activation(index, inner, depth + 1)
        return None
    if obj.klass is not None and index.is_module_class(obj.klass):
        forward = index.method(obj.klass, "forward")
        if forward is None:
            return None
        results = set()
        shown = None
        for ret in _returns(forward):
            if ret.value is None:
                return None
            found = output_activation(index, ret.value, ret, depth + 1)
            if found is None:
                return None
            results.add(found[0])
            shown = found[1]
        if len(results) == 1 and shown is not None:
            return results.pop(), shown
    return None


def _returns(function: cst.FunctionDef) -> list[cst.Return]:
    found = []
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            continue
        if type(node) is cst.Return:
            found.append(node)
        stack.extend(children(node))
    return found


_MODE_SENSITIVE = (
    "Dropout",
    "BatchNorm",
    "AlphaDropout",
    "InstanceNorm",
    "SyncBatchNorm",
    "RNN",
    "LSTM",
    "GRU",
    "Transformer",
    "MultiheadAttention",
)


def mode_sensitive(index: FileIndex, obj: TorchObject, depth: int = 0) -> bool | None:
    """Whether ``train()``/``eval()`` changes what the model computes: True when it has a
    dropout or normalisation layer, False when every layer is evidently insensitive
    (a local module or ``nn.Sequential`` made only of known plain layers), None when
    unknown (pretrained and library models included)."""
    if depth > 4 or obj.kind != "model":
        return None
    if obj.detail == "Sequential" and type(obj.node) is cst.Call:
        layers = [a.value for a in obj.node.args]
        return _layers_sensitive(index, layers, depth)
    if obj.klass is not None:
        if not index.is_module_class(obj.klass) or index.is_lightning_module(obj.klass):
            return None
        init = index.method(obj.klass, "__init__")
        if init is None:
            return None
        values = []
        stack: list[cst.CSTNode] = [init.body]
        while stack:
            node = stack.pop()
            if type(node) is cst.Assign:
                values.append(node.value)
            stack.extend(children(node))
        text = index.module.code_for_node(obj.klass)
        if "dropout" in text.lower() or "batchnorm" in text.lower():
            return True
        return _layers_sensitive(index, values, depth)
    if obj.detail and obj.node is not None and not obj.pretrained and obj.detail[:1].isupper():
        return any(s in obj.detail for s in _MODE_SENSITIVE)
    return None


def _layers_sensitive(index: FileIndex, values, depth: int) -> bool | None:
    unknown = False
    for value in values:
        if type(value) is not cst.Call:
            if isinstance(
                value, cst.Name | cst.Attribute | cst.Integer | cst.Float | cst.SimpleString
            ):
                continue  # hyperparameters and plain attributes
            unknown = True
            continue
        inner = index._construction(value, value, depth + 1)
        if inner is None:
            unknown = True
            continue
        if inner.kind != "model":
            continue
        result = mode_sensitive(index, inner, depth + 1)
        if result:
            return True
        if result is None:
            unknown = True
    return None if unknown else False
