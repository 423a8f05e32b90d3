"""Which DataLoader feeds a training loop, and how the loop moves its batches to the GPU.

Performance rules (ML801 workers, ML802 pinned memory, ML806 host syncs) need the same
facts about a file's training loops (:func:`mllint.analysis.loops.find_training_loops`):
the ``torch.utils.data.DataLoader`` construction the loop iterates (through
``enumerate``/``tqdm``/``zip``, a variable, or one level of a local function's parameter
bound at its call sites), the names the loop binds to each batch, and the calls in the
loop that copy a batch to a GPU (``x.cuda()``, ``x.to(device)`` with a CUDA device,
``x.to(device, non_blocking=True)``). Computed once per file and shared.

A device counts as a GPU when it is evidently one: ``"cuda"``/``"cuda:0"``, a name or
attribute bound to an expression mentioning ``cuda`` (``torch.device("cuda" if
torch.cuda.is_available() else "cpu")``), ``.cuda()``, or any copy with
``non_blocking=True``. ``accelerator.device`` and other devices from elsewhere do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint.analysis import walk
from mllint.analysis.calls import argument, has_star_arguments, keyword_value
from mllint.analysis.loops import TrainingLoop, find_training_loops
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import FileIndex, file_index

DATALOADERS = frozenset(
    {
        "torch.utils.data.DataLoader",
        "torch.utils.data.dataloader.DataLoader",
    }
)
_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "track", "zip", "islice", "trange"})
#: Data sets that hold tensors in memory: worker processes only add overhead.
IN_MEMORY_DATASETS = frozenset(
    {
        "torch.utils.data.TensorDataset",
        "torch.utils.data.dataset.TensorDataset",
    }
)


@dataclass
class BatchMove:
    """A copy of a batch to the device inside a training loop."""

    call: cst.Call  # ``x.to(device)`` / ``x.cuda()``
    name: str  # the batch variable moved
    non_blocking: bool


@dataclass
class LoaderFeed:
    """A training loop fed by a DataLoader constructed in the same file."""

    loop: TrainingLoop
    loader: cst.Call  # the ``DataLoader(...)`` construction
    iterable: cst.BaseExpression  # what the loop iterates, as written
    batch_names: set[str] = field(default_factory=set)
    #: Copies of batches to an evident GPU, in source order.
    gpu_moves: list[BatchMove] = field(default_factory=list)

    @property
    def loader_has_star_arguments(self) -> bool:
        return has_star_arguments(self.loader)


def is_dataloader(context, call: cst.Call) -> bool:
    return context.call_name(call) in DATALOADERS


def loader_feeds(context) -> list[LoaderFeed]:
    """The file's training loops that iterate a DataLoader built in the file."""
    return context.cached(("mllint.analysis", "loader_feeds"), lambda: _find(context))


def gpu_moves_in(context, loop: TrainingLoop, names: set[str]) -> list[BatchMove]:
    """Calls in ``loop``'s body that copy one of ``names`` to an evident GPU."""
    index = file_index(context)
    moves: list[BatchMove] = []
    # The calls in source order, as a LibCST visitor would see them, without descending
    # into nested function definitions (they run when called, not in the loop); the
    # engine's walk, not LibCST's visit, which rebuilds every node and token it passes.
    stack: list[cst.CSTNode] = [loop.node.body]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.FunctionDef:
            continue
        if kind is cst.Call:
            move = _move(context, index, node, names)
            if move is not None:
                moves.append(move)
        kids = walk.cached_children(node)
        if kids:
            stack.extend(kids[::-1])
    return moves


def _find(context) -> list[LoaderFeed]:
    index = file_index(context)
    feeds: list[LoaderFeed] = []
    for loop in find_training_loops(context):
        node = loop.node
        if type(node) is not cst.For:
            continue
        iterable = _unwrap(node.iter)
        loader = _loader_of(context, index, iterable, node)
        if loader is None:
            continue
        names = _target_names(node.target)
        feed = LoaderFeed(loop, loader, iterable, names)
        feed.gpu_moves = gpu_moves_in(context, loop, names)
        feeds.append(feed)
    return feeds


def _unwrap(expression: cst.BaseExpression) -> cst.BaseExpression:
    """``enumerate(tqdm(train_loader))`` -> ``train_loader``."""
    for _ in range(4):
        if type(expression) is cst.Call and expression.args:
            name = dotted_name(expression.func) or ""
            if name.split(".")[-1] in _WRAPPERS:
                expression = expression.args[0].value
                continue
        break
    return expression


def _loader_of(context, index: FileIndex, expression, at: cst.CSTNode, depth: int = 0):
    if depth > 2:
        return None
    if type(expression) is cst.Call:
        return expression if is_dataloader(context, expression) else None
    name = dotted_name(expression)
    if name is None:
        return None
    bindings = index.candidates(name, at)
    values = [binding.value for binding in bindings]
    if len(bindings) == 1 and values[0] is None:
        return _from_parameter(context, index, bindings[0], name, depth)
    loaders = [value for value in values if type(value) is cst.Call]
    if len(loaders) != len(values) or not loaders:
        return None
    found = [value for value in loaders if is_dataloader(context, value)]
    return found[0] if len(found) == 1 and len(loaders) == 1 else None


def _parameter_arguments(index: FileIndex, binding, name: str):
    """For a parameter ``name`` of a local function: ``(argument, call)`` at each call of
    the function in the file, or None when a call does not pass it (or none is seen)."""
    function = binding.statement
    if type(function) is not cst.FunctionDef:
        return None
    params = list(function.params.params)
    position = next((i for i, p in enumerate(params) if p.name.value == name), None)
    if position is None:
        return None
    if params and params[0].name.value in ("self", "cls"):
        return None  # a method: its callers are not local calls by name
    found = []
    for call in index.calls_named(function.name.value):
        value = argument(call, name, position)
        if value is None:
            return None
        found.append((value, call))
    return found or None


def _from_parameter(context, index: FileIndex, binding, name: str, depth: int):
    """A loop over a parameter (``def train(model, loader)``): the DataLoader that every
    call of the function in this file passes (one level)."""
    arguments = _parameter_arguments(index, binding, name)
    if arguments is None:
        return None
    loaders = []
    for value, call in arguments:
        loader = _loader_of(context, index, value, call, depth + 1)
        if loader is None:
            return None
        loaders.append(loader)
    unique = {id(loader): loader for loader in loaders}
    return next(iter(unique.values())) if len(unique) == 1 else None


def _target_names(target: cst.BaseExpression) -> set[str]:
    names: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    target.visit(_Names())
    return names


def _root_name(expression: cst.BaseExpression) -> str | None:
    """``batch`` for ``batch``, ``batch["x"]``, ``batch[0]``, ``batch.x``."""
    while type(expression) in (cst.Subscript, cst.Attribute):
        expression = expression.value
    return expression.value if type(expression) is cst.Name else None


def _move(context, index: FileIndex, call: cst.Call, names: set[str]) -> BatchMove | None:
    func = call.func
    if type(func) is not cst.Attribute or func.attr.value not in ("to", "cuda"):
        return None
    root = _root_name(func.value)
    if root is None or root not in names:
        return None
    non_blocking = _is_true(keyword_value(call, "non_blocking"))
    if func.attr.value == "cuda":
        return BatchMove(call, root, non_blocking)
    if non_blocking:
        return BatchMove(call, root, True)
    device = argument(call, "device", 0)
    if device is not None and is_gpu_device(context, index, device, call):
        return BatchMove(call, root, False)
    return None


def is_gpu_device(context, index: FileIndex, expression, at: cst.CSTNode, depth: int = 0) -> bool:
    """Whether ``expression`` evidently names a CUDA device."""
    if depth > 3:
        return False
    if type(expression) is cst.SimpleString:
        value = expression.evaluated_value
        return isinstance(value, str) and value.startswith("cuda")
    if type(expression) is cst.Call:
        if (context.call_name(expression) or "") in ("torch.device",):
            return "cuda" in context.code(expression)
        return False
    name = dotted_name(expression)
    if name is None:
        return False
    bindings = index.candidates(name, at)
    if len(bindings) == 1 and bindings[0].value is None:  # a parameter: its call sites
        arguments = _parameter_arguments(index, bindings[0], name)
        return arguments is not None and all(
            is_gpu_device(context, index, value, call, depth + 1) for value, call in arguments
        )
    if not bindings or any(binding.value is None for binding in bindings):
        return False
    return all(
        is_gpu_device(context, index, binding.value, binding.statement, depth + 1)
        or "cuda" in context.code(binding.value)
        for binding in bindings
    )


def _is_true(node: cst.BaseExpression | None) -> bool:
    return type(node) is cst.Name and node.value == "True"


def dataset_is_in_memory(context, loader: cst.Call) -> bool:
    """The loader's data set is a ``TensorDataset`` (built inline or bound to a name)."""
    dataset = argument(loader, "dataset", 0)
    if dataset is None:
        return False
    if type(dataset) is cst.Call:
        return context.call_name(dataset) in IN_MEMORY_DATASETS
    name = dotted_name(dataset)
    if name is None:
        return False
    index = file_index(context)
    bindings = index.candidates(name, loader)
    return bool(bindings) and all(
        type(binding.value) is cst.Call and context.call_name(binding.value) in IN_MEMORY_DATASETS
        for binding in bindings
    )
