"""Trace a training step on fake CPU tensors and record every storage allocation and free.

The user's `build(batch_size)` runs under `FakeTensorMode`, so tensors carry shapes and
dtypes but no memory. A `TorchDispatchMode` sits on top and sees every aten op after
autograd: each new output storage is an allocation (rounded to 512 B like the CUDA caching
allocator), and a `weakref.finalize` on the storage's Python object records its free. The
resulting event stream is what the allocator model (`allocator.py`) replays.

CUDA differences that a CPU trace cannot see are injected here as synthetic events by
`cuda_rules.CudaRules` (autocast policy, attention and cuDNN workspaces, the foreach optimizer
default); see that module for the evidence behind each rule.
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from mllint.probe import cuda_rules
from mllint.probe.units import round_alloc

# Categories used in the breakdown. A storage's category is fixed when it is allocated,
# except gradients and optimizer state, which are recognised after the step that made them.
PARAMETERS = "parameters"
GRADIENTS = "gradients"
OPTIMIZER_STATE = "optimizer_state"
ACTIVATIONS = "activations"
TEMPORARIES = "temporaries"
WORKSPACES = "workspaces"
INPUTS = "inputs"
HOST = "host"  # tensors a CUDA run keeps on the CPU; dropped from the device accounting
CATEGORIES = (
    PARAMETERS,
    GRADIENTS,
    OPTIMIZER_STATE,
    ACTIVATIONS,
    TEMPORARIES,
    WORKSPACES,
    INPUTS,
)

PRECISIONS = ("fp32", "bf16", "fp16", "amp-bf16", "amp-fp16")
OPTIMIZERS = ("adamw", "adam", "sgd", "adamw-fused", "adam-fused")


class ProbeError(Exception):
    """A problem with the user's build function or its outputs, reported without traceback."""


@dataclass
class Event:
    """One allocation (`nbytes > 0`) or free (`nbytes < 0`) of an allocator block."""

    uid: int
    nbytes: int  # rounded request size; negative for a free
    op: int  # index into Trace.ops of the op that caused it
    step: int  # training step (0-based); -1 during setup


@dataclass
class Trace:
    """Everything the estimator needs from one traced run."""

    events: list[Event] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    category: dict[int, str] = field(default_factory=dict)
    param_count: int = 0
    param_bytes: int = 0
    steps: int = 0
    mode: str = "train"
    notes: list[str] = field(default_factory=list)

    def device_events(self) -> list[Event]:
        """The events of tensors that a CUDA run would place on the GPU."""
        host = {uid for uid, cat in self.category.items() if cat == HOST}
        return [ev for ev in self.events if ev.uid not in host] if host else self.events

    def live_curve(self) -> list[int]:
        """Live allocated bytes after each event."""
        live, curve = 0, []
        for ev in self.events:
            live += ev.nbytes
            curve.append(live)
        return curve


class _Recorder:
    """Keeps the live set of storages and appends events to a Trace."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.live: dict[int, int] = {}  # storage _cdata -> uid
        self.sizes: dict[int, int] = {}  # uid -> rounded bytes
        self.next_uid = 1
        self.op_index = 0
        self.step = -1
        self.phase = INPUTS
        self.paused = 0
        self._finalizers: list[weakref.finalize] = []

    def set_op(self, name: str) -> None:
        self.trace.ops.append(name)
        self.op_index = len(self.trace.ops) - 1

    def uid_of(self, tensor: torch.Tensor) -> int | None:
        try:
            return self.live.get(tensor.untyped_storage()._cdata)
        except (RuntimeError, NotImplementedError):
            return None

    def track(
        self, tensor: torch.Tensor, category: str | None = None, *, force: bool = False
    ) -> int | None:
        """Count `tensor`'s storage as allocated now, unless it is already counted.

        While `paused` (a region whose CPU allocations a CUDA rule replaces with its own
        model, e.g. cuDNN's RNN), new storages are not counted unless `force` is given.
        """
        if self.paused and not force:
            return None
        try:
            storage = tensor.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return None
        key = storage._cdata
        if key in self.live:
            return self.live[key]
        nbytes = storage.nbytes()
        if nbytes == 0:
            return None
        uid = self.alloc(round_alloc(nbytes), category or self.phase)
        self.live[key] = uid
        fin = weakref.finalize(storage, self._storage_died, key, uid)
        fin.atexit = False
        self._finalizers.append(fin)
        return uid

    def alloc(self, nbytes: int, category: str) -> int:
        uid = self.next_uid
        self.next_uid += 1
        self.sizes[uid] = nbytes
        self.trace.category[uid] = category
        self.trace.events.append(Event(uid, nbytes, self.op_index, self.step))
        return uid

    def free(self, uid: int) -> None:
        nbytes = self.sizes.pop(uid, None)
        if nbytes is not None:
            self.trace.events.append(Event(uid, -nbytes, self.op_index, self.step))

    def _storage_died(self, key: int, uid: int) -> None:
        if self.live.get(key) == uid:
            del self.live[key]
        self.free(uid)

    def detach(self) -> None:
        for fin in self._finalizers:
            fin.detach()
        self._finalizers.clear()


class _TrackingMode(TorchDispatchMode):
    """Records the output storages of every aten op and lets `CudaRules` add CUDA effects."""

    def __init__(self, recorder: _Recorder, rules: cuda_rules.CudaRules) -> None:
        super().__init__()
        self.recorder = recorder
        self.rules = rules

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func.overloadpacket.__name__) if hasattr(func, "overloadpacket") else str(func)
        self.recorder.set_op(name)
        before = self.rules.before_op(name, func, args, kwargs, self.recorder)
        out = func(*args, **kwargs)
        for t in pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.recorder.track(t)
        self.rules.after_op(name, func, args, kwargs, out, self.recorder, before)
        return out


def _as_tuple(inputs: Any) -> tuple:
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (list, tuple)):
        return tuple(inputs)
    if isinstance(inputs, dict):
        return (inputs,)
    raise ProbeError(
        f"build() must return inputs as a tensor or a tuple of tensors, got {type(inputs).__name__}"
    )


def _cast_floats(obj: Any, dtype: torch.dtype) -> Any:
    return pytree.tree_map(
        lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t,
        obj,
    )


def _adopt(model: torch.nn.Module, fake_mode: FakeTensorMode) -> None:
    """Give every parameter and buffer a fake tensor of *our* fake mode.

    `copy.deepcopy` of a module under FakeTensorMode (nn.TransformerEncoder clones its layer
    that way) yields fake tensors of a new mode, which then cannot be mixed with ours.
    """
    done: dict[int, torch.Tensor] = {}

    def fresh(t: torch.Tensor) -> torch.Tensor:
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype)

    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is None or getattr(p, "fake_mode", fake_mode) is fake_mode:
                continue
            if id(p) not in done:
                done[id(p)] = torch.nn.Parameter(fresh(p), p.requires_grad)
            module._parameters[name] = done[id(p)]
        for name, b in list(module._buffers.items()):
            if b is not None and getattr(b, "fake_mode", fake_mode) is not fake_mode:
                module._buffers[name] = fresh(b)
    if done:
        for module in model.modules():
            if isinstance(module, torch.nn.RNNBase):
                module._init_flat_weights()


def _cast_module(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """`model.to(dtype)` for fake tensors.

    `Module.to` swaps tensors in place for tensor subclasses, which fails for tied weights of
    FakeTensors ("Couldn't swap Embedding.weight"); so we replace floating parameters and
    buffers, keeping ties (one new Parameter per old one).
    """
    done: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is None or not p.is_floating_point():
                continue
            if id(p) not in done:
                done[id(p)] = torch.nn.Parameter(p.detach().to(dtype), p.requires_grad)
            module._parameters[name] = done[id(p)]
        for name, b in list(module._buffers.items()):
            if b is not None and b.is_floating_point():
                module._buffers[name] = b.to(dtype)
    if isinstance(model, torch.nn.RNNBase):
        model._init_flat_weights()
    for module in model.modules():
        if isinstance(module, torch.nn.RNNBase):
            module._init_flat_weights()


def make_optimizer(spec: Any, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """Create the optimizer as it would be created on CUDA.

    On CUDA, torch's Adam/AdamW/SGD default to the foreach implementation (one op per list of
    tensors, which materialises whole-model temporaries), while on CPU and under FakeTensorMode
    they default to the for-loop one (`_default_to_fused_or_foreach` requires plain Tensor types
    and a foreach-supported device). So unless the user chose `foreach` or `fused`, foreach is
    forced on here. Evidence: research notes §2.3 (GPT B=1: for-loop 450.6, foreach 523.3, fused
    419.1 MiB) and the H200 runs, whose steady-state peaks include a foreach temporary.
    """
    if callable(spec) and not isinstance(spec, str):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise ProbeError("the optimizer callable must return a torch.optim.Optimizer")
        for group in opt.param_groups:
            if group.get("fused") or group.get("foreach") is not None:
                continue
            if "foreach" in group:
                group["foreach"] = True
        return opt
    name = str(spec).lower()
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4, foreach=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4, foreach=True)
    if name in ("adamw-fused", "adam-fused"):
        cls = torch.optim.AdamW if name == "adamw-fused" else torch.optim.Adam
        return cls(params, lr=1e-4, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-2, momentum=0.9, foreach=True)
    raise ProbeError(f"unknown optimizer {spec!r}; expected one of {', '.join(OPTIMIZERS)}")


def _loss_of(loss_fn, out, targets) -> torch.Tensor:
    if loss_fn is None:
        if isinstance(out, torch.Tensor) and out.dim() == 0:
            return out
        raise ProbeError("loss_fn is None but the model output is not a scalar loss")
    loss = loss_fn(out, targets)
    if not isinstance(loss, torch.Tensor):
        raise ProbeError("loss_fn must return a tensor")
    if loss.dim() != 0:
        loss = loss.mean()
    return loss


def trace_step(
    build,
    *,
    batch_size: int,
    precision: str = "fp32",
    optimizer: Any = "adamw",
    mode: str = "train",
    steps: int = 3,
    rules: cuda_rules.CudaRules | None = None,
    checkpointing: bool = False,
) -> Trace:
    """Run `steps` canonical steps of `build(batch_size)` on fake CPU tensors and record them.

    The step mirrors a standard loop: `zero_grad(set_to_none=True)`; forward (under autocast for
    `amp-*`); loss; `backward()`; `optimizer.step()`. Inference runs the forward in `eval()`
    under `no_grad()`. Three steps, because the optimizer state is created in step 1 and the
    steady state (with that state alive through forward and backward) starts in step 2.
    """
    if precision not in PRECISIONS:
        raise ProbeError(
            f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}"
        )
    if mode not in ("train", "inference"):
        raise ProbeError(f"unknown mode {mode!r}; expected 'train' or 'inference'")
    rules = rules or cuda_rules.CudaRules()
    trace = Trace(mode=mode)
    recorder = _Recorder(trace)
    fake_mode = FakeTensorMode(allow_non_fake_inputs=False)
    autocast_dtype = {"amp-bf16": torch.bfloat16, "amp-fp16": torch.float16}.get(precision)
    cast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    try:
        with fake_mode, rules.installed(autocast_dtype):
            built = build(batch_size)
            if not isinstance(built, (tuple, list)) or len(built) != 4:
                raise ProbeError("build(batch_size) must return (model, inputs, targets, loss_fn)")
            model, inputs, targets, loss_fn = built
            if not isinstance(model, torch.nn.Module):
                raise ProbeError("build() must return a torch.nn.Module as the model")
            inputs = _as_tuple(inputs)
            _adopt(model, fake_mode)
            if cast_dtype is not None:
                _cast_module(model, cast_dtype)
                inputs = _cast_floats(inputs, cast_dtype)
                targets = _cast_floats(targets, cast_dtype)
            if checkpointing:
                cuda_rules.enable_checkpointing(model)
            params = [p for p in model.parameters() if p.requires_grad]
            seen: set[int] = set()
            for p in model.parameters():
                uid = recorder.track(p, PARAMETERS)
                if uid is not None and uid not in seen:
                    seen.add(uid)
                    trace.param_bytes += recorder.sizes[uid]
            trace.param_count = sum(p.numel() for p in model.parameters())
            for b in model.buffers():
                recorder.track(b, PARAMETERS)
            for t in pytree.tree_leaves((inputs, targets)):
                if isinstance(t, torch.Tensor):
                    recorder.track(t, INPUTS)
            rules.prepare_model(model, recorder)
            opt = None
            if mode == "train":
                if not params:
                    raise ProbeError("the model has no trainable parameters")
                opt = make_optimizer(optimizer, params)
            with _TrackingMode(recorder, rules):
                if mode == "train":
                    model.train()
                    carry: dict[str, Any] = {}
                    for step in range(steps):
                        recorder.step = step
                        _train_step(
                            model, opt, inputs, targets, loss_fn, autocast_dtype, recorder, carry
                        )
                        _classify_after_step(trace, recorder, params, opt)
                    carry.clear()
                else:
                    model.eval()
                    for step in range(steps):
                        recorder.step = step
                        recorder.phase = ACTIVATIONS
                        with torch.no_grad(), _autocast(autocast_dtype):
                            out = model(*inputs)
                        del out
            trace.steps = steps
            del model, opt, params, inputs, targets
    finally:
        recorder.detach()
    trace.notes.extend(rules.notes)
    return trace


def _autocast(dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=dtype)


def _train_step(model, opt, inputs, targets, loss_fn, autocast_dtype, recorder, carry) -> None:
    """One step of the canonical loop.

    `carry` holds the previous step's `out` and `loss`: in the usual loop
    (`out = model(x); loss = crit(out, y); loss.backward(); opt.step()`) those names keep the
    output alive through backward, the optimizer step and the next forward, until they are
    reassigned. The H200 runs show it: the step-1 peak of the MLP (batch 4096, AdamW) is
    5 x params + input + the 15.6 MiB logits.
    """
    recorder.phase = TEMPORARIES
    opt.zero_grad(set_to_none=True)
    recorder.phase = ACTIVATIONS
    with _autocast(autocast_dtype):
        out = model(*inputs)
        carry["out"] = out
        loss = _loss_of(loss_fn, out, targets)
        carry["loss"] = loss
    del out
    recorder.phase = TEMPORARIES
    loss.backward()
    del loss
    opt.step()


def _classify_after_step(trace: Trace, recorder: _Recorder, params, opt) -> None:
    """Grads and optimizer state are ordinary op outputs; name them once they are known."""
    for p in params:
        if p.grad is not None:
            uid = recorder.uid_of(p.grad)
            if uid is not None:
                trace.category[uid] = GRADIENTS
    on_device_steps = any(g.get("fused") or g.get("capturable") for g in opt.param_groups)
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                uid = recorder.uid_of(value)
                if uid is None:
                    continue
                # Adam's `step` counters live on the host unless fused/capturable
                # (torch/optim/adam.py: `torch.tensor(0.0)` without a device).
                if key == "step" and value.dim() == 0 and not on_device_steps:
                    trace.category[uid] = HOST
                else:
                    trace.category[uid] = OPTIMIZER_STATE
