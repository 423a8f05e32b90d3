"""Training-loop and evaluation-block recognition, shared by every rule about training code.

A **training loop** is a ``for``/``while`` loop whose iteration runs a ``backward()`` and an
optimizer ``step()`` (at least one of them directly in the loop rather than in a nested
loop: the batch loop of an epoch loop, or the outer loop of a nanoGPT-style micro-step
loop). The iteration is read as a sequence of *events* (backward, step, zero_grad,
scheduler step, ``scaler.update()``, ``model.eval()``/``train()``), at any nesting depth,
through ``with`` blocks (``autocast``), ``if``/``else`` branches (kept apart, so that two
exclusive branches are never taken together), one level of calls to helpers defined in the
same file (their parameters mapped to the caller's arguments), and closures passed to
``optimizer.step(closure)`` (LBFGS). ``scaler.scale(loss).backward()``,
``scaler.step(opt)``, ``accelerator.backward(loss)`` and Lightning's
``self.manual_backward(loss)`` are understood.

An **evaluation block** is a loop over a validation/test loader (``val_loader``,
``testloader``, ``dataloaders["val"]``), a function whose name says it evaluates
(``evaluate``, ``validate``, ``test``, ``predict``, ``infer`` ...), or the statements after
``model.eval()``, that calls a model. Each block knows whether eval mode and a no-grad
context are in force (in the block, its function, or every caller in the file).

**Framework-managed** code is a LightningModule's ``*_step`` hooks and the methods of a
Hugging Face ``Trainer`` subclass: the framework clears gradients, switches modes and
disables gradients there.

Use :func:`loop_analysis` (cached per file) and ask it ``training_loop_at(node)``,
``eval_block_at(node)`` or ``is_framework_managed(node)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import FileIndex, TorchObject, children, file_index

_OPTIMIZER_NAME = re.compile(r"(^|_)(opt|optim|optimi[sz]er)s?($|_|[A-Z0-9])|optimi[sz]er", re.I)
_SCHEDULER_NAME = re.compile(r"sched", re.I)
_SCALER_NAME = re.compile(r"scaler", re.I)
_BACKWARD_OWNERS = re.compile(r"(^|\.)(accelerator|fabric|self\.accelerator|self\.fabric)$")
_MODEL_NAME = re.compile(
    r"^(model|net|network|classifier|backbone|encoder|decoder|generator|discriminator|unet"
    r"|transformer|cnn|resnet|ema_model|student)|(model|net)$",
    re.I,
)
#: ``test`` alone (pytorch/examples' ``def test(model, device, test_loader)``) but not
#: ``test_*``: test helpers and test cases are not evaluation passes.
_EVAL_FUNCTION = re.compile(
    r"^_?((run|do)_)?(evaluate|evaluation|eval|validate|validation|val|predict"
    r"|prediction|inference|infer)(_[a-z0-9_]*)?$|^_?((run|do)_)?test$"
)
_EVAL_LOADER = re.compile(
    r"^(val|valid|validation|test|eval|evaluation|dev|holdout)_?"
    r"(loader|dl|dataloader|data_loader|iter|iterator|batches|set|dataset|ds|data|gen)s?$"
    r"|^(loader|dl|dataloader|data_loader)_?(val|valid|validation|test|eval|dev)$",
    re.I,
)
_EVAL_KEYS = frozenset({"val", "valid", "validation", "test", "eval", "dev"})
_ITER_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "track", "progress", "zip", "islice"})
_NO_GRAD = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.set_grad_enabled",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.set_grad_enabled",
        "torch.autograd.grad_mode.set_grad_enabled",
        "torch.autograd.grad_mode.inference_mode",
        "torch.autograd.inference_mode",
    }
)
_GRAD_FUNCTIONS = frozenset(
    {
        "torch.enable_grad",
        "torch.autograd.grad",
        "torch.autograd.enable_grad",
        "torch.autograd.functional.jacobian",
        "torch.autograd.functional.vjp",
        "torch.autograd.functional.hessian",
        "torch.func.grad",
        "torch.func.vjp",
        "torch.func.jacrev",
    }
)
LIGHTNING_MANAGED = frozenset(
    {
        "training_step",
        "validation_step",
        "test_step",
        "predict_step",
        "on_validation_epoch_end",
        "on_test_epoch_end",
        "validation_epoch_end",
        "test_epoch_end",
        "forward",
    }
)


@dataclass
class Event:
    """Something a training iteration does, in order.

    ``kind``: ``backward``, ``step`` (an optimizer), ``zero_grad``, ``scheduler_step``,
    ``scaler_update``, ``eval``, ``train``. ``receiver`` is the object's source text in
    the loop's terms (a helper's parameter is replaced by the caller's argument).
    """

    kind: str
    node: cst.CSTNode
    receiver: str | None = None
    #: The loss of a backward; the closure passed to a step.
    argument: cst.BaseExpression | None = None
    #: backward through ``scaler.scale(loss)``; step through ``scaler.step(opt)``.
    scaled: bool = False
    scaler: str | None = None
    #: (if-node, branch) pairs from the loop down to the event.
    branches: tuple[tuple[cst.If, int], ...] = ()
    #: Inside a loop nested in the analysed loop (in the loop or in a helper).
    nested: bool = False
    helper: cst.FunctionDef | None = None
    receiver_object: TorchObject | None = None
    #: The call in the loop body that led to a helper's event (None: in the body itself).
    via: cst.Call | None = None

    @property
    def anchor(self) -> cst.CSTNode:
        """Where to report about this event in the loop: the helper call, or the event."""
        return self.via if self.via is not None else self.node

    def exclusive(self, other: Event) -> bool:
        """The two events are on different branches of one ``if`` and never both run."""
        mine = {id(node): branch for node, branch in self.branches}
        return any(mine.get(id(node), branch) != branch for node, branch in other.branches)


@dataclass
class TrainingLoop:
    """A loop that trains: one iteration backpropagates and steps an optimizer."""

    node: cst.For | cst.While
    function: cst.FunctionDef | None
    events: list[Event]
    #: Local helpers whose events were followed from this loop.
    helpers: list[cst.FunctionDef] = field(default_factory=list)
    #: ``if`` statements guarding an optimizer step on a counter (gradient accumulation).
    accumulation_guards: list[cst.If] = field(default_factory=list)
    #: Loops around this one, innermost first (the epoch loop).
    enclosing: list[cst.For | cst.While] = field(default_factory=list)
    #: The loop calls local functions deeper than the one level followed: what they do
    #: (a zero_grad, a scaler update) is unknown, so "missing X" rules stay silent.
    opaque_calls: bool = False

    def of(self, kind: str) -> list[Event]:
        return [event for event in self.events if event.kind == kind]

    @property
    def backward_calls(self) -> list[Event]:
        return self.of("backward")

    @property
    def step_calls(self) -> list[Event]:
        return self.of("step")

    @property
    def zero_grad_calls(self) -> list[Event]:
        return self.of("zero_grad")

    @property
    def optimizers(self) -> list[str]:
        seen: list[str] = []
        for event in self.step_calls:
            if event.receiver and event.receiver not in seen:
                seen.append(event.receiver)
        return seen


@dataclass
class EvalBlock:
    """Code that evaluates or runs inference with a model."""

    #: The loop over a validation/test loader, the evaluation function, or the first
    #: statement after ``model.eval()``.
    node: cst.CSTNode
    kind: str  # "loader-loop" | "function" | "after-eval"
    function: cst.FunctionDef | None
    model_calls: list[cst.Call]
    #: What it iterates (``val_loader``) or the function's name, for messages.
    label: str
    eval_mode: bool = False
    no_grad: bool = False
    #: Gradients are wanted here (saliency, adversarial examples, test-time training).
    gradient_based: bool = False
    framework_managed: bool = False


class _Walker:
    """Collects the events of one loop iteration (or one function body)."""

    def __init__(self, analysis: LoopAnalysis, root: cst.CSTNode) -> None:
        self.analysis = analysis
        self.index = analysis.index
        self.root = root
        self.events: list[Event] = []
        self.helpers: list[cst.FunctionDef] = []
        self.opaque_calls = False
        self._via: cst.Call | None = None

    def run(self, body: cst.CSTNode) -> list[Event]:
        self._walk(body, (), False, {}, None, 0)
        return self.events

    def _walk(self, node, branches, nested, subst, helper, depth) -> None:
        if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            return  # a definition runs when called, not here
        if type(node) is cst.If:
            self._walk(node.test, branches, nested, subst, helper, depth)
            self._walk(node.body, (*branches, (node, 0)), nested, subst, helper, depth)
            if node.orelse is not None:
                self._walk(node.orelse, (*branches, (node, 1)), nested, subst, helper, depth)
            return
        if type(node) in (cst.For, cst.While) and node is not self.root:
            head = node.iter if type(node) is cst.For else node.test
            self._walk(head, branches, nested, subst, helper, depth)
            self._walk(node.body, branches, True, subst, helper, depth)
            return
        if type(node) is cst.Assign:
            for target in node.targets:
                self._clear_by_assignment(target.target, node, branches, nested, subst, helper)
        for child in children(node):
            self._walk(child, branches, nested, subst, helper, depth)
        if type(node) is cst.Call:
            self._call(node, branches, nested, subst, helper, depth)

    def _text(self, expression: cst.BaseExpression, subst: dict) -> str | None:
        name = dotted_name(expression)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head in subst:
            return subst[head][0] + dot + rest
        return name

    def _object(self, expression: cst.BaseExpression, subst: dict) -> TorchObject | None:
        name = dotted_name(expression)
        if name is not None and name in subst:
            argument, call_site = subst[name][1], subst[name][2]
            return self.index.object_of(argument, call_site)
        return self.index.object_of(expression)

    def _add(self, kind, node, branches, nested, helper, **extra) -> None:
        self.events.append(
            Event(
                kind, node, branches=branches, nested=nested, helper=helper, via=self._via, **extra
            )
        )

    def _clear_by_assignment(self, target, node, branches, nested, subst, helper) -> None:
        # p.grad = None clears a parameter's gradient.
        if (
            type(target) is cst.Attribute
            and target.attr.value == "grad"
            and type(node.value) is cst.Name
            and node.value.value == "None"
        ):
            self._add("zero_grad", node, branches, nested, helper, receiver="<parameters>")

    def _call(self, call: cst.Call, branches, nested, subst, helper, depth) -> None:
        func = call.func
        if type(func) is cst.Attribute:
            method = func.attr.value
            receiver = func.value
            text = self._text(receiver, subst)
            if method in ("backward", "manual_backward"):
                self._backward(call, receiver, text, branches, nested, subst, helper)
            elif method == "step":
                self._step(call, receiver, text, branches, nested, subst, helper, depth)
            elif method == "zero_grad":
                self._add(
                    "zero_grad",
                    call,
                    branches,
                    nested,
                    helper,
                    receiver=text,
                    receiver_object=self._object(receiver, subst),
                )
            elif (
                method == "zero_"
                and type(receiver) is cst.Attribute
                and (
                    receiver.attr.value == "grad"
                    or (receiver.attr.value == "data" and _attr_name(receiver.value) == "grad")
                )
            ):
                self._add("zero_grad", call, branches, nested, helper, receiver="<parameters>")
            elif method == "update" and text and self._is_scaler(receiver, text, subst):
                self._add("scaler_update", call, branches, nested, helper, receiver=text)
            elif method in ("eval", "train") and text:
                self._mode(call, method, text, branches, nested, helper)
        callee = self._callee(call, subst)
        if callee is not None:
            if depth >= 1:
                self.opaque_calls = True
            elif callee not in self.helpers:
                self._inline(callee, call, branches, nested, subst, depth)

    def _callee(self, call: cst.Call, subst: dict) -> cst.FunctionDef | None:
        name = dotted_name(call.func)
        if name is None:
            return None
        function = self.index.function_named(name, call)
        if function is None or self.index.contains(function, self.root):
            return None  # unknown, or the function this loop is in (recursion)
        return function

    def _inline(self, function, call, branches, nested, subst, depth) -> None:
        mapping: dict[str, tuple[str, cst.BaseExpression, cst.CSTNode]] = {}
        params = [*function.params.posonly_params, *function.params.params]
        offset = (
            1
            if params
            and params[0].name.value in ("self", "cls")
            and type(call.func) is cst.Attribute
            else 0
        )
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for param, arg in zip(params[offset:], positional, strict=False):
            text = self._text(arg.value, subst)
            if text is not None:
                mapping[param.name.value] = (text, arg.value, call)
        by_name = {p.name.value for p in [*params, *function.params.kwonly_params]}
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in by_name:
                text = self._text(arg.value, subst)
                if text is not None:
                    mapping[arg.keyword.value] = (text, arg.value, call)
        self.helpers.append(function)
        self._via = call
        try:
            self._walk(function.body, branches, nested, mapping, function, depth + 1)
        finally:
            self._via = None

    def _backward(self, call, receiver, text, branches, nested, subst, helper) -> None:
        loss: cst.BaseExpression | None = receiver
        scaled = False
        scaler = None
        if type(receiver) is cst.Call and _attr_name(receiver.func) == "scale":
            scaled = True
            scaler = self._text(receiver.func.value, subst)
            loss = receiver.args[0].value if receiver.args else None
        elif call.func.attr.value == "manual_backward" or (
            text is not None and _BACKWARD_OWNERS.search(text)
        ):
            loss = call.args[0].value if call.args else None
        self._add(
            "backward", call, branches, nested, helper, argument=loss, scaled=scaled, scaler=scaler
        )

    def _is_scaler(self, receiver, text, subst) -> bool:
        obj = self._object(receiver, subst)
        if obj is not None:
            return obj.kind == "scaler"
        return bool(_SCALER_NAME.search(text.rsplit(".", 1)[-1]))

    def _kind_of_stepper(self, receiver, text, subst) -> str | None:
        obj = self._object(receiver, subst)
        if obj is not None:
            return obj.kind if obj.kind in ("optimizer", "scheduler", "scaler") else None
        last = text.rsplit(".", 1)[-1]
        if _SCALER_NAME.search(last):
            return "scaler"
        if _SCHEDULER_NAME.search(last):
            return "scheduler"
        if _OPTIMIZER_NAME.search(last):
            return "optimizer"
        return None

    def _step(self, call, receiver, text, branches, nested, subst, helper, depth) -> None:
        if text is None:
            return
        kind = self._kind_of_stepper(receiver, text, subst)
        if kind == "scaler":
            if not call.args:
                return
            optimizer = call.args[0].value
            self._add(
                "step",
                call,
                branches,
                nested,
                helper,
                receiver=self._text(optimizer, subst),
                scaled=True,
                scaler=text,
                receiver_object=self._object(optimizer, subst),
            )
        elif kind == "optimizer":
            closure = call.args[0].value if call.args else None
            if closure is not None:
                self._closure(closure, call, branches, nested, subst, helper)
            self._add(
                "step",
                call,
                branches,
                nested,
                helper,
                receiver=text,
                argument=closure,
                receiver_object=self._object(receiver, subst),
            )
        elif kind == "scheduler":
            self._add("scheduler_step", call, branches, nested, helper, receiver=text)

    def _closure(self, closure, call, branches, nested, subst, helper) -> None:
        """``optimizer.step(closure)`` runs the closure (zero_grad, forward, backward)."""
        if type(closure) is cst.Lambda:
            self._walk(closure.body, branches, nested, subst, helper, 1)
            return
        name = dotted_name(closure)
        function = self.index.function_named(name, call) if name else None
        if function is not None and function not in self.helpers:
            self.helpers.append(function)
            self._walk(function.body, branches, nested, subst, function, 1)

    def _mode(self, call, method, text, branches, nested, helper) -> None:
        kind = method
        if method == "train" and call.args:
            value = call.args[0].value
            if type(value) is cst.Name and value.value == "False":
                kind = "eval"
            elif not (type(value) is cst.Name and value.value == "True"):
                kind = "train_or_eval"
        elif method == "eval" and call.args:
            return  # not nn.Module.eval()
        self._add(kind, call, branches, nested, helper, receiver=text)


def _attr_name(expression: cst.BaseExpression) -> str | None:
    return expression.attr.value if type(expression) is cst.Attribute else None


class LoopAnalysis:
    """Training loops, evaluation blocks and framework-managed code of one file."""

    def __init__(self, context) -> None:
        self.context = context
        self.index: FileIndex = file_index(context)
        self._loop_events: dict[int, _Walker] = {}
        self._no_grad_memo: dict[int, bool] = {}
        self._call_sites_memo: dict[int, list[cst.Call]] = {}
        self._calls_by_name: dict[str, list[tuple[int, cst.Call]]] | None = None
        self.training_loops: list[TrainingLoop] = self._find_training_loops()
        self.eval_blocks: list[EvalBlock] = self._find_eval_blocks()

    # -- queries for rules ---------------------------------------------------------

    def events_of(self, loop: cst.For | cst.While) -> list[Event]:
        """The events of one iteration of any loop (nested loops' events marked nested)."""
        return self._walk(loop).events

    def training_loop_at(self, node: cst.CSTNode) -> TrainingLoop | None:
        """The innermost training loop that runs ``node``: in its body, or in a local
        helper (or closure) it calls."""
        best: TrainingLoop | None = None
        for loop in self.training_loops:
            inside = self.index.contains(loop.node, node) or any(
                self.index.contains(helper, node) for helper in loop.helpers
            )
            if inside and (best is None or self.index.contains(best.node, loop.node)):
                best = loop
        return best

    def training_context_loops(self) -> list[cst.For | cst.While]:
        """Every loop whose iteration trains: training loops, the epoch loops around them,
        and loops that call a local helper holding a training loop (``train_one_epoch``)."""
        found = []
        for loop in self.index.loops:
            events = self.events_of(loop)
            if any(e.kind == "backward" for e in events) and any(e.kind == "step" for e in events):
                found.append(loop)
        return found

    def loss_names(self, loop: TrainingLoop) -> set[str]:
        """Names in the loop body that hold a loss with its graph: what ``backward()`` is
        called on, and results of loss functions (``criterion(...)``, ``F.cross_entropy``)."""
        names = {
            name
            for event in loop.backward_calls
            if event.helper is None and event.argument is not None
            for name in [dotted_name(event.argument)]
            if name
        }
        stack: list[cst.CSTNode] = [loop.node.body]
        while stack:
            node = stack.pop()
            if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
                continue
            if (
                type(node) is cst.Assign
                and type(node.value) is cst.Call
                and self.is_loss_call(node.value)
            ):
                for target in node.targets:
                    name = dotted_name(target.target)
                    if name:
                        names.add(name)
            stack.extend(children(node))
        return names

    def is_loss_call(self, call: cst.Call) -> bool:
        qualified = self.context.call_name(call) or ""
        if qualified.startswith("torch.nn.functional.") and (
            "loss" in qualified or "entropy" in qualified
        ):
            return True
        obj = self.index.object_of(call.func, call)
        return obj is not None and obj.kind == "loss"

    def training_losses(self) -> list[tuple[TrainingLoop, set[str]]]:
        return [(loop, self.loss_names(loop)) for loop in self.training_loops]

    def eval_block_at(self, node: cst.CSTNode) -> EvalBlock | None:
        """The innermost evaluation block holding ``node``."""
        best: EvalBlock | None = None
        for block in self.eval_blocks:
            holder = block.function if block.kind == "function" else block.node
            if block.kind == "after-eval":
                holder = self.index.parent(block.node) or block.node
                if not self.index.before(block.node, node) and node is not block.node:
                    continue
            if (
                holder is not None
                and self.index.contains(holder, node)
                and (best is None or self.index.contains(_holder(best, self.index), holder))
            ):
                best = block
        return best

    def is_framework_managed(self, node: cst.CSTNode) -> bool:
        """``node`` is in a LightningModule step hook or a Hugging Face Trainer subclass."""
        function = self.index.function_of(node)
        while function is not None:
            klass = self.index.class_of(function)
            if klass is not None:
                if self.index.is_hf_trainer(klass):
                    return True
                if function.name.value in LIGHTNING_MANAGED and self.index.is_lightning_module(
                    klass
                ):
                    return True
            function = self.index.function_of(function)
        return False

    # -- training loops ------------------------------------------------------------

    def _walk(self, loop) -> _Walker:
        key = id(loop)
        if key not in self._loop_events:
            walker = _Walker(self, loop)
            walker.run(loop.body)
            self._loop_events[key] = walker
        return self._loop_events[key]

    def _find_training_loops(self) -> list[TrainingLoop]:
        found: list[TrainingLoop] = []
        for loop in self.index.loops:
            walker = self._walk(loop)
            events, helpers = walker.events, walker.helpers
            backwards = [e for e in events if e.kind == "backward"]
            steps = [e for e in events if e.kind == "step"]
            if not backwards or not steps:
                continue
            if all(e.nested for e in backwards) and all(e.nested for e in steps):
                continue  # an epoch loop around the real training loop
            enclosing = [a for a in self.index.ancestors(loop) if type(a) in (cst.For, cst.While)]
            guards = []
            for step in steps:
                for node, _branch in step.branches:
                    if _is_accumulation_test(node.test) and node not in guards:
                        guards.append(node)
            found.append(
                TrainingLoop(
                    node=loop,
                    function=self.index.function_of(loop),
                    events=events,
                    helpers=helpers,
                    accumulation_guards=guards,
                    enclosing=enclosing,
                    opaque_calls=walker.opaque_calls,
                )
            )
        return found

    # -- evaluation blocks ---------------------------------------------------------

    def _find_eval_blocks(self) -> list[EvalBlock]:
        blocks: list[EvalBlock] = []
        training_nodes = {id(loop.node) for loop in self.training_loops}
        for loop in self.index.loops:
            if type(loop) is not cst.For or id(loop) in training_nodes:
                continue
            label = _eval_loader_label(loop.iter)
            if label is None:
                continue
            calls = self._model_calls(loop.body)
            if calls:
                blocks.append(self._block(loop, "loader-loop", calls, label))
        for function in self.index.functions:
            if not _EVAL_FUNCTION.match(function.name.value) or self._is_pytest(function):
                continue
            klass = self.index.class_of(function)
            if (
                klass is not None
                and self.index.is_module_class(klass)
                and not self.index.is_lightning_module(klass)
            ):
                continue  # a module's own predict(): its caller sets the mode
            calls = self._model_calls(function.body)
            if not calls:
                continue
            if (
                not self._call_sites(function)
                and not any(self._iterates(call, function) for call in calls)
                and not self.is_framework_managed(calls[0])
            ):
                # ``def predict(model, x): return model(x)`` with no caller here: a helper
                # whose callers (elsewhere) decide the mode; a pass over data is judged.
                continue
            blocks.append(self._block(function, "function", calls, function.name.value + "()"))
        blocks.extend(self._after_eval_blocks())
        return blocks

    def _iterates(self, call: cst.Call, function: cst.FunctionDef) -> bool:
        """``call`` runs once per item: inside a loop or comprehension of ``function``."""
        for ancestor in self.index.ancestors(call):
            if ancestor is function:
                return False
            if isinstance(
                ancestor,
                cst.For | cst.While | cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp,
            ):
                return True
        return False

    def _is_pytest(self, function: cst.FunctionDef) -> bool:
        if not function.name.value.startswith("test"):
            return False
        path = self.context.source.display_path.replace("\\", "/")
        filename = path.rsplit("/", 1)[-1]
        return (
            filename.startswith("test_")
            or filename.endswith("_test.py")
            or filename == "conftest.py"
            or "/tests/" in "/" + path
            or "/test/" in "/" + path
        )

    def _model_calls(self, body: cst.CSTNode) -> list[cst.Call]:
        calls: list[cst.Call] = []
        stack = [body]
        while stack:
            node = stack.pop()
            if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
                continue
            if type(node) is cst.Call and self.is_model_call(node):
                calls.append(node)
            stack.extend(reversed(children(node)))
        calls.sort(key=lambda c: self.index.order.get(id(c), 0))
        return calls

    def is_model_call(self, call: cst.Call) -> bool:
        """``model(x)``: a call of something that evidently is a torch model."""
        name = dotted_name(call.func)
        if name is None or name == "self" or not call.args:
            return False  # a model is called on an input; ``solver.model()`` is not one
        obj = self.index.object_of(call.func, call)
        if obj is not None:
            return obj.kind == "model" and obj.detail not in _LAYERS_NOT_MODELS
        if self.index.function_named(name, call) is not None or name in self.index.classes:
            return False
        if self.context.qualified_name(call.func):
            return False  # an imported function or class
        return bool(_MODEL_NAME.search(name.rsplit(".", 1)[-1]))

    def _block(self, node, kind, calls, label, region=None) -> EvalBlock:
        function = node if kind == "function" else self.index.function_of(node)
        block = EvalBlock(node=node, kind=kind, function=function, model_calls=calls, label=label)
        block.framework_managed = self.is_framework_managed(calls[0])
        regions = region if region is not None else [node]
        block.gradient_based = any(self._gradient_based(r) for r in regions)
        block.eval_mode = kind == "after-eval" or self._eval_mode_set(block)
        block.no_grad = self._no_grad(calls[0])
        return block

    def _after_eval_blocks(self) -> list[EvalBlock]:
        """``model.eval()`` followed, in the same block, by calls of that model."""
        blocks: list[EvalBlock] = []
        for call in self.index.calls:
            if not (_attr_name(call.func) == "eval" and not call.args):
                continue
            statement = self.index.parent(self.index.parent(call) or call)
            line = self.index.parent(statement) if statement is not None else None
            if type(statement) is not cst.SimpleStatementLine or line is None:
                continue
            suite = line.body if type(line) in (cst.IndentedBlock, cst.Module) else None
            if suite is None:
                continue
            receiver = dotted_name(call.func.value)
            after = list(suite)[list(suite).index(statement) + 1 :]
            calls: list[cst.Call] = []
            first: cst.CSTNode | None = None
            region: list[cst.CSTNode] = []
            for following in after:
                if _calls_method(following, receiver, "train"):
                    break
                region.append(following)
                found = [c for c in self._model_calls(following) if dotted_name(c.func) == receiver]
                if found and first is None:
                    first = following
                calls.extend(found)
            if first is not None and receiver is not None:
                blocks.append(self._block(first, "after-eval", calls, f"{receiver}.eval()", region))
        return blocks

    def _gradient_based(self, region: cst.CSTNode) -> bool:
        """The block wants gradients: backward, autograd.grad, inputs requiring grad."""
        stack = [region]
        while stack:
            current = stack.pop()
            if type(current) is cst.Call:
                method = _attr_name(current.func)
                if method in ("backward", "retain_grad", "manual_backward"):
                    return True
                if method == "requires_grad_" and not _is_false_arg(current):
                    return True
                qualified = self.context.call_name(current) or ""
                if qualified in _GRAD_FUNCTIONS:
                    return True
                if (
                    qualified.endswith("set_grad_enabled")
                    and current.args
                    and type(current.args[0].value) is not cst.Name
                ):
                    return True  # set_grad_enabled(phase == "train"): chosen at run time
            if type(current) in (cst.Name, cst.Attribute) and self._grad_mode_as_value(current):
                return True
            if (
                type(current) is cst.Assign
                and any(_attr_name(t.target) == "requires_grad" for t in current.targets)
                and not (type(current.value) is cst.Name and current.value.value == "False")
            ):
                return True
            stack.extend(children(current))
        return False

    def _grad_mode_as_value(self, node: cst.Name | cst.Attribute) -> bool:
        """``torch.no_grad`` used as a value (``ctx = nullcontext if with_grad else
        torch.no_grad``): the code chooses the grad mode at run time, so it also runs with
        gradients on purpose."""
        if (self.context.qualified_name(node) or "") not in _NO_GRAD:
            return False
        parent = self.index.parent(node)
        if type(parent) is cst.Attribute:
            return False  # part of a longer name
        if type(parent) is cst.Call and parent.func is node:
            holder = self.index.parent(parent)
            return type(holder) not in (cst.WithItem, cst.Decorator)
        return type(parent) is not cst.Decorator

    def _eval_mode_set(self, block: EvalBlock) -> bool:
        """``eval()`` is in force: in the evaluation function, earlier in the enclosing
        function (or a local helper called earlier), in the class, chained on the
        model's construction, or in every caller of the function."""
        first = block.model_calls[0]
        if block.kind == "function":
            if _sets_eval(block.function):
                return True
        else:
            scope = block.function if block.function is not None else self.index.module
            if self._sets_eval_before(scope, first):
                return True
        klass = self.index.class_of(block.node)
        if klass is not None and _sets_eval(klass):
            return True
        for call in block.model_calls:
            obj = self.index.object_of(call.func, call)
            if obj is not None and obj.node is not None and _chained_eval(obj.node, self.index):
                return True
        function = block.function
        return function is not None and self._callers_satisfy(
            function,
            lambda site, caller: caller is not None and self._sets_eval_before(caller, site),
        )

    def _sets_eval_before(self, scope: cst.CSTNode, at: cst.CSTNode) -> bool:
        """An ``eval()`` (or ``train(False)``) call runs in ``scope`` before ``at``: in its
        own statements or in a local function it calls (one level)."""
        here = self.index.order.get(id(at), 0)
        stack: list[cst.CSTNode] = [scope.body if type(scope) is cst.FunctionDef else scope]
        while stack:
            node = stack.pop()
            if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
                continue
            if type(node) is cst.Call and self.index.order.get(id(node), 0) < here:
                if _sets_eval(node, deep=False):
                    return True
                name = dotted_name(node.func)
                callee = self.index.function_named(name, node) if name else None
                if callee is not None and callee is not scope and _sets_eval(callee):
                    return True
            stack.extend(children(node))
        return False

    def _no_grad(self, call: cst.Call) -> bool:
        """Gradients are off where ``call`` runs: a ``no_grad`` block or decorator, grad
        disabled earlier in its scope, or every call of its function is itself in such a
        place. Memoised per call, and a call met again while its answer is being worked
        out (functions that call each other) counts as not proven: without this, the
        caller chains of a 5,000-line module (transformers' trainer.py) were explored
        exponentially, for minutes."""
        memo = self._no_grad_memo
        key = id(call)
        if key in memo:
            return memo[key]
        memo[key] = False
        memo[key] = answer = self._no_grad_uncached(call)
        return answer

    def _no_grad_uncached(self, call: cst.Call) -> bool:
        for ancestor in self.index.ancestors(call):
            if type(ancestor) is cst.With and any(
                self._is_no_grad(item.item) for item in ancestor.items
            ):
                return True
            if type(ancestor) is cst.FunctionDef and self._decorated_no_grad(ancestor):
                return True
        function = self.index.function_of(call)
        scope = function if function is not None else self.index.module
        if self._disables_grad(scope, call):
            return True
        return function is not None and self._callers_satisfy(function, self._caller_no_grad)

    def _is_no_grad(self, expression: cst.BaseExpression) -> bool:
        target = expression.func if type(expression) is cst.Call else expression
        return (self.context.qualified_name(target) or "") in _NO_GRAD

    def _decorated_no_grad(self, function: cst.FunctionDef) -> bool:
        return any(self._is_no_grad(d.decorator) for d in function.decorators)

    def _disables_grad(self, scope: cst.CSTNode, at: cst.CSTNode) -> bool:
        """``torch.set_grad_enabled(False)`` or ``model.requires_grad_(False)`` in scope,
        before ``at``."""
        here = self.index.order.get(id(at), 0)
        stack = [scope]
        while stack:
            node = stack.pop()
            if type(node) is cst.Call and self.index.order.get(id(node), 0) < here:
                if _attr_name(node.func) == "requires_grad_" and _is_false_arg(node):
                    return True
                if self._is_no_grad(node) and _is_false_arg(node):
                    return True
            stack.extend(children(node))
        return False

    def _caller_no_grad(self, call: cst.Call, caller: cst.FunctionDef | None) -> bool:
        return self._no_grad(call)

    def _callers_satisfy(self, function: cst.FunctionDef, predicate, depth: int = 0) -> bool:
        """Every call of ``function`` in this file satisfies ``predicate`` (and there is one),
        looking through callers that are themselves helpers (two levels)."""
        sites = self._call_sites(function)
        if not sites or depth > 2:
            return False
        for site in sites:
            caller = self.index.function_of(site)
            if predicate(site, caller):
                continue
            if (
                caller is not None
                and caller is not function
                and self._callers_satisfy(caller, predicate, depth + 1)
            ):
                continue
            return False
        return True

    def _call_sites(self, function: cst.FunctionDef) -> list[cst.Call]:
        known = self._call_sites_memo.get(id(function))
        if known is None:
            known = self._call_sites_memo[id(function)] = self._find_call_sites(function)
        return known

    def _find_call_sites(self, function: cst.FunctionDef) -> list[cst.Call]:
        name = function.name.value
        by_name = self._calls_by_name
        if by_name is None:  # the file's calls by callee name, in the index's order, once
            by_name = self._calls_by_name = {}
            for position, call in enumerate(self.index.calls):
                called = dotted_name(call.func)
                if called is not None:
                    by_name.setdefault(called, []).append((position, call))
        candidates = by_name.get(name, []) + by_name.get(f"self.{name}", [])
        candidates.sort(key=lambda found: found[0])
        return [
            call
            for _position, call in candidates
            if self.index.function_named(dotted_name(call.func), call) is function
        ]


_LAYERS_NOT_MODELS = frozenset({"Softmax", "LogSoftmax", "Sigmoid", "ReLU", "Flatten", "Identity"})


def _holder(block: EvalBlock, index: FileIndex) -> cst.CSTNode:
    if block.kind == "function":
        return block.function  # type: ignore[return-value]
    if block.kind == "after-eval":
        return index.parent(block.node) or block.node
    return block.node


def _sets_eval(scope: cst.CSTNode | None, deep: bool = True) -> bool:
    """``scope`` calls ``x.eval()`` or ``x.train(False)`` / ``x.train(flag)``."""
    if scope is None:
        return False
    stack = [scope]
    while stack:
        node = stack.pop()
        if type(node) is cst.Call:
            method = _attr_name(node.func)
            if method == "eval" and not node.args:
                return True
            if (
                method == "train"
                and node.args
                and not (
                    type(node.args[0].value) is cst.Name and node.args[0].value.value == "True"
                )
            ):
                return True  # train(False) or train(is_training)
        if deep or node is scope:
            stack.extend(children(node))
    return False


def _chained_eval(node: cst.CSTNode, index: FileIndex) -> bool:
    """``Net().eval()`` / ``model = load(...).eval()``: eval mode set at construction."""
    parent = index.parent(node)
    while type(parent) in (cst.Attribute, cst.Call):
        if type(parent) is cst.Attribute and parent.attr.value == "eval":
            return True
        parent = index.parent(parent)
    return False


def _is_false_arg(call: cst.Call) -> bool:
    if not call.args:
        return False
    value = call.args[0].value
    return type(value) is cst.Name and value.value == "False"


def _calls_method(node: cst.CSTNode, receiver: str | None, method: str) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if (
            type(current) is cst.Call
            and _attr_name(current.func) == method
            and (dotted_name(current.func.value) == receiver)
        ):
            return True
        stack.extend(children(current))
    return False


def _is_accumulation_test(test: cst.BaseExpression) -> bool:
    stack: list[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.Modulo:
            return True
        name = dotted_name(node) if type(node) in (cst.Name, cst.Attribute) else None
        if name and re.search(r"accum|sync_gradients", name, re.I):
            return True
        stack.extend(children(node))
    return False


def _eval_loader_label(iterable: cst.BaseExpression) -> str | None:
    """``val_loader`` for ``enumerate(tqdm(val_loader))``; None if not a held-out loader."""
    expression = iterable
    while type(expression) is cst.Call and expression.args:
        name = dotted_name(expression.func) or ""
        if name.rsplit(".", 1)[-1] not in _ITER_WRAPPERS:
            break
        expression = expression.args[0].value
    if type(expression) is cst.Subscript:
        element = expression.slice[0].slice if expression.slice else None
        if type(element) is cst.Index and type(element.value) is cst.SimpleString:
            key = element.value.evaluated_value
            if isinstance(key, str) and key.lower() in _EVAL_KEYS:
                return f"{dotted_name(expression.value) or 'loaders'}[{key!r}]"
        return None
    if type(expression) is cst.Call:
        name = dotted_name(expression.func) or ""
        last = name.rsplit(".", 1)[-1]
        if re.match(r"^(val|test|eval)_?dataloader$", last):
            return name + "()"
        return None
    name = dotted_name(expression)
    if name and _EVAL_LOADER.match(name.rsplit(".", 1)[-1]):
        return name
    return None


def loop_analysis(context) -> LoopAnalysis:
    """The file's training loops and evaluation blocks, computed once per file."""
    return context.cached(("mllint.analysis", "loops"), lambda: LoopAnalysis(context))


def find_training_loops(context) -> list[TrainingLoop]:
    return loop_analysis(context).training_loops


def find_eval_blocks(context) -> list[EvalBlock]:
    return loop_analysis(context).eval_blocks


def is_optimizer_event(event: Event) -> bool:
    """The event's receiver is (evidently, or by its name) an optimizer."""
    if event.receiver_object is not None:
        return event.receiver_object.kind == "optimizer"
    if event.receiver is None or event.receiver.startswith("<"):
        return False
    return bool(_OPTIMIZER_NAME.search(event.receiver.rsplit(".", 1)[-1]))


def clears_for(clear: Event, step: Event, loop: TrainingLoop) -> bool:
    """Whether a ``zero_grad``/``p.grad = None`` event clears the gradients ``step`` uses.

    An optimizer's ``zero_grad()`` clears its own parameters; a model's ``zero_grad()``
    or ``p.grad = None`` may clear any of them (which model an optimizer holds is not
    tracked), so they count for every optimizer.
    """
    if clear.kind != "zero_grad":
        return False
    if is_optimizer_event(clear):
        return clear.receiver == step.receiver
    return True


#: Conversions after which a tensor no longer holds its graph.
_DETACHING_METHODS = frozenset({"item", "detach", "tolist", "numpy", "detach_"})
_DETACHING_FUNCTIONS = frozenset({"float", "int", "builtins.float", "builtins.int"})


def carries_graph(expression: cst.BaseExpression, losses: set[str]) -> str | None:
    """The loss name whose graph ``expression`` still carries (``loss``, ``loss * n``,
    ``loss.mean()``), or None (``loss.item()``, ``float(loss)``, ``loss.data``, others)."""
    if type(expression) in (cst.Name, cst.Attribute):
        name = dotted_name(expression)
        if name in losses:
            return name
        return None
    if type(expression) is cst.BinaryOperation:
        return carries_graph(expression.left, losses) or carries_graph(expression.right, losses)
    if type(expression) is cst.UnaryOperation:
        return carries_graph(expression.expression, losses)
    if type(expression) is cst.Call:
        func = expression.func
        if type(func) is cst.Attribute:
            if func.attr.value in _DETACHING_METHODS:
                return None
            if func.attr.value in ("mean", "sum", "clone", "squeeze", "view", "reshape"):
                return carries_graph(func.value, losses)
    return None


def backpropagated_names(context, scope: cst.CSTNode) -> set[str]:
    """Names whose value flows into a ``backward()`` in ``scope`` (one function or the
    module): the loss itself, and the lists and totals it was built from."""
    names: set[str] = set()
    assignments: list[tuple[str, cst.CSTNode]] = []
    stack: list[cst.CSTNode] = [scope]
    while stack:
        node = stack.pop()
        if type(node) is cst.Call and type(node.func) is cst.Attribute:
            method = node.func.attr.value
            if method == "backward":
                names |= _names_in(node.func.value)
                names |= {n for a in node.args for n in _names_in(a.value)}
            elif method == "manual_backward":
                names |= {n for a in node.args for n in _names_in(a.value)}
        elif type(node) is cst.Assign:
            for target in node.targets:
                name = dotted_name(target.target)
                if name:
                    assignments.append((name, node.value))
        elif type(node) is cst.AugAssign:
            name = dotted_name(node.target)
            if name:
                assignments.append((name, node.value))
        stack.extend(children(node))
    changed = True
    while changed:
        changed = False
        for name, value in assignments:
            if name in names:
                new = _names_in(value) - names
                if new:
                    names |= new
                    changed = True
    return names


def _names_in(expression: cst.CSTNode) -> set[str]:
    found: set[str] = set()
    stack = [expression]
    while stack:
        node = stack.pop()
        if type(node) in (cst.Name, cst.Attribute):
            name = dotted_name(node)
            if name:
                found.add(name)
                if type(node) is cst.Name:
                    continue
        stack.extend(children(node))
    return found
