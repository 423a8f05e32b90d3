"""`mllint probe --sanity`: the checks practitioners run by hand before a long training run.

Same contract as the memory probe: `build(batch_size) -> (model, inputs, targets, loss_fn)`.
Unlike the memory probe, the steps run for real, on the CPU, on a small batch: forward and
shapes, gradient flow, finite values, the loss at initialisation, overfitting one batch,
same-seed reproducibility, and train/eval-mode behaviour. Each check reports pass / warn /
fail / skip with evidence (names of modules and parameters, values, the loss curve).

`sanity()` runs in the calling process (it is what the CLI's child process runs); the CLI
calls it through runner.py, in a subprocess with a timeout. Run as
`python -m mllint.probe.sanity_checks JOB.json` by the runner only.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import math
import random
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from mllint.probe.runner import child_main

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"

CHECKS = ("forward", "gradients", "finite", "initial_loss", "overfit", "reproducibility", "modes")
TITLES = {
    "forward": "forward and shapes",
    "gradients": "gradient flow",
    "finite": "finite values",
    "initial_loss": "initial loss",
    "overfit": "overfit one batch",
    "reproducibility": "same-seed reproducibility",
    "modes": "train/eval mode",
}
OPTIMIZERS = ("adam", "adamw", "sgd")

# Overfitting one batch: the mean of the last three losses must be at most this share of the
# first loss to pass; between this and WEAK_DROP it warns, above it (a flat or rising curve)
# it fails. Correct small models (nanoGPT-, CNN-, LSTM-style) dropped 27-39 % in 30 AdamW
# steps at lr 1e-3; the check is for curves that do not move, not for slow ones.
CLEAR_DROP = 0.8
WEAK_DROP = 0.95
# Initial cross-entropy: pass when |loss - log(C)| <= max(abs, rel * log(C)).
INIT_ABS, INIT_REL = 0.3, 0.3
MAX_LISTED = 12


class SanityError(Exception):
    """The checks could not run at all (build failed, wrong contract)."""


@dataclass
class Check:
    name: str
    status: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["title"] = self.title
        return data


@dataclass
class SanityReport:
    batch_size: int
    seed: int
    optimizer: str
    lr: float
    steps: int
    checks: list[Check]
    param_count: int = 0
    seconds: float = 0.0
    torch_version: str = torch.__version__

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    @property
    def warned(self) -> bool:
        return any(c.status == WARN for c in self.checks)

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        data["failed"] = self.failed
        return data


# ---- helpers ---------------------------------------------------------------------------


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy comes with torch in practice
        pass


def _to_cpu(obj: Any) -> Any:
    return pytree.tree_map(lambda t: t.cpu() if isinstance(t, torch.Tensor) else t, obj)


def _as_tuple(inputs: Any) -> tuple:
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (list, tuple)):
        return tuple(inputs)
    if isinstance(inputs, dict):
        return (inputs,)
    raise SanityError(
        f"build() must return inputs as a tensor or a tuple of tensors, got {type(inputs).__name__}"
    )


def _call_build(build, batch_size: int, seed: int):
    _seed_everything(seed)
    built = build(batch_size)
    if not isinstance(built, (tuple, list)) or len(built) != 4:
        raise SanityError("build(batch_size) must return (model, inputs, targets, loss_fn)")
    model, inputs, targets, loss_fn = built
    if not isinstance(model, nn.Module):
        raise SanityError(f"build() returned a {type(model).__name__} as the model, not a Module")
    model.to("cpu")
    return model, _as_tuple(_to_cpu(inputs)), _to_cpu(targets), loss_fn


def _loss_of(loss_fn, out, targets) -> torch.Tensor:
    if loss_fn is not None:
        loss = loss_fn(out, targets)
    elif isinstance(out, torch.Tensor):
        loss = out
    else:  # a model that computes its own loss (Hugging Face style: out.loss or out["loss"])
        loss = getattr(out, "loss", None)
        if loss is None and isinstance(out, dict):
            loss = out.get("loss")
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"the loss is a {type(loss).__name__}, not a tensor")
    return loss


def _scalar(loss: torch.Tensor) -> torch.Tensor:
    return loss if loss.dim() == 0 else loss.mean()


def _describe(value: Any) -> Any:
    """Shapes and dtypes of a (nested) value, for the report."""
    if isinstance(value, torch.Tensor):
        return f"{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    return type(value).__name__


def _tensors(obj: Any) -> list[torch.Tensor]:
    return [t for t in pytree.tree_leaves(obj) if isinstance(t, torch.Tensor)]


def _fingerprint(obj: Any) -> str:
    h = hashlib.blake2b(digest_size=12)
    for t in _tensors(obj):
        t = t.detach()
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        if t.numel():
            h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _range(t: torch.Tensor) -> dict[str, Any]:
    if not t.is_floating_point() and not t.is_complex():
        t = t.double()
    t = t.detach().double()
    finite = t[torch.isfinite(t)]
    out: dict[str, Any] = {"shape": list(t.shape)}
    if finite.numel():
        out["min"] = float(finite.min())
        out["max"] = float(finite.max())
    out["nan"] = int(torch.isnan(t).sum())
    out["inf"] = int(torch.isinf(t).sum())
    if finite.numel():
        out["zeros"] = int((finite == 0).sum())
        out["negatives"] = int((finite < 0).sum())
    return out


def _fmt_range(r: dict[str, Any]) -> str:
    if "min" not in r:
        return "no finite values"
    text = f"[{r['min']:.4g}, {r['max']:.4g}]"
    extra = []
    if r.get("nan"):
        extra.append(f"{r['nan']} NaN")
    if r.get("inf"):
        extra.append(f"{r['inf']} Inf")
    if r.get("negatives"):
        extra.append(f"{r['negatives']} negative")
    if r.get("zeros"):
        extra.append(f"{r['zeros']} zero")
    return text + (f" ({', '.join(extra)})" if extra else "")


def _owner(param_name: str) -> str:
    return param_name.rpartition(".")[0] or "(model)"


def _group(names: list[str], model: nn.Module) -> list[dict[str, Any]]:
    """Parameter names grouped by the module that owns them, with its class."""
    modules = dict(model.named_modules())
    params = dict(model.named_parameters(remove_duplicate=False))
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(_owner(n), []).append(n.rpartition(".")[2])
    out = []
    for mod, leaves in groups.items():
        m = modules.get("" if mod == "(model)" else mod)
        count = sum(params[f"{mod}.{p}" if mod != "(model)" else p].numel() for p in leaves)
        out.append(
            {
                "module": mod,
                "type": type(m).__name__ if m is not None else "?",
                "params": leaves,
                "numel": count,
            }
        )
    return out


def _fmt_groups(groups: list[dict[str, Any]]) -> str:
    parts = [f"`{g['module']}` ({g['type']}: {', '.join(g['params'])})" for g in groups]
    if len(parts) > MAX_LISTED:
        parts = [*parts[:MAX_LISTED], f"and {len(parts) - MAX_LISTED} more modules"]
    return "; ".join(parts)


class _ModuleStack:
    """Which module is running (forward pre/post hooks), and per-module output fingerprints."""

    def __init__(self, model: nn.Module, *, record: bool = False) -> None:
        self.stack: list[str] = []
        self.types: dict[str, str] = {}
        self.record = record
        self.order: list[tuple[str, str, str, str]] = []  # (name, type, in fp, out fp)
        self.handles = []
        for name, module in model.named_modules():
            label = name or "(model)"
            self.types[label] = type(module).__name__
            self.handles.append(module.register_forward_pre_hook(self._pre(label)))
            self.handles.append(module.register_forward_hook(self._post(label), with_kwargs=True))

    def _pre(self, label: str):
        def hook(module, args):
            self.stack.append(label)

        return hook

    def _post(self, label: str):
        def hook(module, args, kwargs, output):
            if self.stack and self.stack[-1] == label:
                self.stack.pop()
            if self.record:
                self.order.append(
                    (
                        label,
                        type(module).__name__,
                        _fingerprint((args, kwargs)),
                        _fingerprint(output),
                    )
                )

        return hook

    @property
    def current(self) -> str:
        if not self.stack:
            return "(outside the model)"
        label = self.stack[-1]
        if label == "(model)":
            return f"the forward of {self.types[label]} itself"
        return f"`{label}` ({self.types[label]})"

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _where(found: dict[str, Any]) -> str:
    if found["module"] == "(model)":
        return f"the forward of {found['type']} itself"
    return f"`{found['module']}` ({found['type']})"


def _first_difference(a: list, b: list) -> dict[str, Any] | None:
    """The first module whose output differs between two recorded forwards while its input
    was the same (the module that introduced the difference)."""
    for x, y in zip(a, b, strict=False):
        if x[0] != y[0]:
            return {"module": x[0], "type": x[1], "note": "the modules ran in a different order"}
        if x[3] != y[3] and x[2] == y[2]:
            return {"module": x[0], "type": x[1]}
    for x, y in zip(a, b, strict=False):
        if x[3] != y[3]:
            return {"module": x[0], "type": x[1], "note": "its inputs differed too"}
    return None


_OP_NAMES = {"__getitem__", "__setitem__", "__get__", "__set__"}


def _op_name(func) -> str:
    name = getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", "") or ""
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if name.startswith("__"):
        return f"Tensor.{name}"
    qual = getattr(func, "__qualname__", name)
    if qual.startswith(("TensorBase.", "Tensor.")):
        return f"Tensor.{name}"
    return f"torch.{name}"


class _Watch(TorchFunctionMode):
    """Watches every torch call of a forward: the first op that turned finite inputs into NaN
    (or Inf), and the inputs of the loss functions that have an expected scale."""

    LOSSES = ("cross_entropy", "nll_loss", "binary_cross_entropy")

    def __init__(self, modules: _ModuleStack) -> None:
        super().__init__()
        self.modules = modules
        self.first_nan: dict[str, Any] | None = None
        self.first_inf: dict[str, Any] | None = None
        self.losses: list[dict[str, Any]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name in _OP_NAMES or name.startswith("_"):
            return out
        with contextlib.suppress(Exception):  # the watch must never break the forward
            self._inspect(func, name, args, kwargs, out)
        return out

    def _inspect(self, func, name, args, kwargs, out) -> None:
        if name in self.LOSSES and getattr(func, "__module__", "") == "torch.nn.functional":
            self.losses.append(_loss_facts(name, args, kwargs))
        if self.first_nan is not None and self.first_inf is not None:
            return
        outs = [t for t in _tensors(out) if t.is_floating_point()]
        if not outs:
            return
        ins = [t for t in _tensors((args, kwargs)) if t.is_floating_point()]
        out_nan = any(bool(torch.isnan(t).any()) for t in outs)
        out_inf = any(bool(torch.isinf(t).any()) for t in outs)
        if not (out_nan or out_inf):
            return
        in_nan = any(bool(torch.isnan(t).any()) for t in ins)
        in_inf = any(bool(torch.isinf(t).any()) for t in ins)
        where = {
            "op": _op_name(func),
            "module": self.modules.current,
            "input_ranges": [_range(t) for t in ins[:3]],
        }
        if out_nan and not in_nan and self.first_nan is None:
            self.first_nan = where
        if out_inf and not in_inf and self.first_inf is None:
            self.first_inf = where


_MASK_OPS = {"rand", "rand_like", "bernoulli", "bernoulli_", "uniform_"}
_DROPOUTS = {
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
}
_SAMPLING_OPS = {
    "randn",
    "randn_like",
    "normal",
    "normal_",
    "randint",
    "randint_like",
    "randperm",
    "multinomial",
    "poisson",
    "exponential_",
}


class _RandomOps(TorchFunctionMode):
    """Random torch ops that run during a forward: masks (uniform draws, Bernoulli, dropout
    with training=True) or sampling (normal draws, random integers)."""

    def __init__(self, modules: _ModuleStack) -> None:
        super().__init__()
        self.modules = modules
        self.seen: list[dict[str, str]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        kind = None
        if name in _DROPOUTS:
            training = kwargs.get("training", args[2] if len(args) > 2 else True)
            p = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
            if training and p:
                kind = "mask"
        elif name in _MASK_OPS:
            kind = "mask"
        elif name in _SAMPLING_OPS:
            kind = "sampling"
        if kind:
            self.seen.append({"op": _op_name(func), "module": self.modules.current, "kind": kind})
        return func(*args, **kwargs)


def _loss_facts(name: str, args, kwargs) -> dict[str, Any]:
    inp = args[0] if args else kwargs.get("input")
    target = args[1] if len(args) > 1 else kwargs.get("target")
    facts: dict[str, Any] = {"loss": f"F.{name}"}
    if not isinstance(inp, torch.Tensor):
        return facts
    x = inp.detach()
    facts["input_shape"] = list(x.shape)
    if name in ("cross_entropy", "nll_loss") and x.dim() >= 1:
        classes = x.shape[1] if x.dim() >= 2 else x.shape[0]
        facts["classes"] = int(classes)
        dim = 1 if x.dim() >= 2 else 0
        if name == "cross_entropy" and classes >= 2 and x.is_floating_point():
            sums = x.double().sum(dim)
            facts["input_is_probabilities"] = bool(
                (x.min() >= 0) and (x.max() <= 1) and torch.allclose(sums, torch.ones_like(sums))
            )
        if name == "nll_loss" and x.is_floating_point() and x.numel():
            facts["input_max"] = float(x.max())
        smoothing = kwargs.get("label_smoothing", args[7] if len(args) > 7 else 0.0)
        facts["label_smoothing"] = float(smoothing or 0.0)
        if isinstance(target, torch.Tensor):
            facts["target_floating"] = bool(target.is_floating_point())
    return facts


# ---- the checks --------------------------------------------------------------------------


class _Run:
    """State shared by the checks of one `sanity()` call."""

    def __init__(self, build, batch_size, seed, optimizer, lr, steps, repro_steps, frozen):
        self.build = build
        self.batch_size = batch_size
        self.seed = seed
        self.optimizer = optimizer
        self.lr = lr
        self.steps = steps
        self.repro_steps = repro_steps
        self.frozen = list(frozen or [])
        self.checks: dict[str, Check] = {}
        self.pending: dict[str, nn.Parameter] = {}  # zero gradient so far
        self.grew: set[str] = set()  # zero on the first step, not later

    def make_optimizer(self, params):
        if callable(self.optimizer) and not isinstance(self.optimizer, str):
            return self.optimizer(params)
        name = str(self.optimizer).lower()
        if name == "adam":
            return torch.optim.Adam(params, lr=self.lr)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=self.lr)
        if name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=0.9)
        raise SanityError(f"unknown optimizer {self.optimizer!r}; expected one of adam, adamw, sgd")

    def add(self, check: Check, start: float) -> Check:
        check.seconds = round(time.perf_counter() - start, 3)
        self.checks[check.name] = check
        return check


def _first_pass(run: _Run, model, inputs, targets, loss_fn):
    """Forward, loss and backward once, watched; returns the loss or None when it failed."""
    start = time.perf_counter()
    model.train()
    stack = _ModuleStack(model)
    watch = _Watch(stack)
    caught: list[str] = []
    evidence: dict[str, Any] = {"inputs": _describe(inputs), "targets": _describe(targets)}
    try:
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            with watch:
                out = model(*inputs)
                evidence["output"] = _describe(out)
                raw = _loss_of(loss_fn, out, targets)
            caught += [str(w.message).splitlines()[0] for w in ws]
    except Exception as exc:
        where = stack.current
        stack.remove()
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        in_model = where != "(outside the model)"
        evidence["error"] = f"{type(exc).__name__}: {msg}"
        evidence["module"] = where if in_model else None
        run.add(
            Check(
                "forward",
                FAIL,
                f"the step raised {type(exc).__name__}"
                + (f" in {where}" if in_model else " in the loss")
                + f": {msg}",
                evidence,
            ),
            start,
        )
        return None
    stack.remove()
    evidence["loss"] = _describe(raw)
    loss = _scalar(raw)
    status, notes = PASS, []
    if raw.dim() != 0:
        notes.append(f"the loss has shape {tuple(raw.shape)}, not a scalar; it was averaged")
        status = WARN
    shape_warnings = [w for w in caught if "size" in w.lower() or "broadcast" in w.lower()]
    if shape_warnings:
        notes.append("torch warned: " + shape_warnings[0])
        status = WARN
    if not loss.requires_grad:
        notes.append(
            "the loss does not require grad: no parameter reaches it (everything frozen, a "
            "torch.no_grad() or .detach() in the forward)"
        )
        status = FAIL
    evidence["warnings"] = caught[:5]
    evidence["loss_value"] = float(loss.detach())
    summary = f"output {evidence['output']}, loss {evidence['loss']} = {evidence['loss_value']:.4g}"
    if notes:
        summary += "; " + "; ".join(notes)
    run.add(Check("forward", status, summary, evidence), start)

    # backward (timed with the gradient check)
    start = time.perf_counter()
    backward_error = None
    if loss.requires_grad:
        try:
            loss.backward()
        except Exception as exc:
            backward_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    run.backward_error = backward_error
    run.first_seconds = time.perf_counter() - start
    run.watch = watch
    return loss


def _check_gradients(run: _Run, model, loss, start: float) -> list[str]:
    """Returns the trainable parameters whose gradient is all zero (rechecked after overfit)."""
    params = list(model.named_parameters())
    frozen = [n for n, p in params if not p.requires_grad]
    declared = [n for n in frozen if _declared(run, n)]
    undeclared = [n for n in frozen if n not in declared]
    trainable = [(n, p) for n, p in params if p.requires_grad]
    evidence: dict[str, Any] = {
        "trainable": len(trainable),
        "frozen": _group(frozen, model),
        "frozen_declared": declared,
    }
    if not loss.requires_grad or getattr(run, "backward_error", None):
        why = run.backward_error or "the loss does not require grad"
        evidence["error"] = why
        groups = _group([n for n, _ in trainable], model)
        run.add(
            Check(
                "gradients",
                FAIL,
                f"no gradient reaches any parameter ({why}); trainable: {_fmt_groups(groups)}",
                evidence,
            ),
            start,
        )
        return []
    accepted = [n for n, p in trainable if p.grad is None and _declared(run, n)]
    none = [n for n, p in trainable if p.grad is None and n not in accepted]
    zero = [n for n, p in trainable if p.grad is not None and not bool(p.grad.any())]
    evidence["no_grad_declared"] = accepted
    evidence["no_grad"] = _group(none, model)
    evidence["zero_grad"] = _group(zero, model)
    parts = []
    status = PASS
    if none:
        status = FAIL
        parts.append(
            f"{len(none)} trainable parameters got no gradient (unused in the loss, or cut off "
            f"by .detach()/no_grad; DistributedDataParallel would need "
            f"find_unused_parameters=True): {_fmt_groups(evidence['no_grad'])}"
        )
    if undeclared:
        status = WARN if status == PASS else status
        n_frozen = sum(g["numel"] for g in _group(undeclared, model))
        parts.append(
            f"{len(undeclared)} parameters ({n_frozen:,} values) are frozen "
            f"(requires_grad=False): {_fmt_groups(_group(undeclared, model))}; if intended, "
            "declare them with --frozen PATTERN"
        )
    if status == PASS:
        parts.append(f"all {len(trainable)} trainable parameters got a gradient")
        if declared or accepted:
            parts.append(f"{len(declared) + len(accepted)} not trained, as declared")
    run.add(Check("gradients", status, "; ".join(parts), evidence), start)
    return zero


def _note_gradients(run: _Run) -> None:
    """Parameters whose gradient was zero on the first step and is not zero now."""
    for name, p in list(run.pending.items()):
        if p.grad is not None and bool(p.grad.any()):
            run.grew.add(name)
            del run.pending[name]


def _declared(run: _Run, name: str) -> bool:
    """Not trained on purpose (`frozen` patterns): frozen, or unused (a pooler, an aux head)."""
    return any(fnmatch.fnmatch(name, pat) for pat in run.frozen)


def _recheck_zero(run: _Run, model, zero: list[str]) -> None:
    """A gradient that is zero on the first step may come from zero initialisation (LoRA's B,
    a zero-initialised output layer); one that stays zero after the overfit steps is dead."""
    check = run.checks["gradients"]
    if not zero:
        return
    still = [n for n in zero if n not in run.grew]
    check.evidence["zero_grad_after_overfit"] = _group(still, model)
    if still:
        text = (
            f"{len(still)} parameters had an all-zero gradient on every step: "
            f"{_fmt_groups(_group(still, model))} (dead branch, multiplied by zero, or an "
            "integer path)"
        )
        check.status = FAIL
        check.summary = text if check.summary.startswith("all ") else f"{check.summary}; {text}"
    else:
        check.summary += (
            f"; {len(zero)} had a zero gradient on the first step only (zero initialisation)"
        )


def _check_finite(run: _Run, model, loss, start: float) -> None:
    watch: _Watch = run.watch
    evidence: dict[str, Any] = {}
    bad_grads = [
        n
        for n, p in model.named_parameters()
        if p.grad is not None and not bool(torch.isfinite(p.grad).all())
    ]
    loss_value = float(loss.detach())
    evidence["loss"] = loss_value
    evidence["nonfinite_grads"] = _group(bad_grads, model)
    origin = None
    if not math.isfinite(loss_value):
        origin = watch.first_nan if math.isnan(loss_value) else watch.first_inf
        origin = origin or watch.first_nan or watch.first_inf
        evidence["origin"] = origin
        if origin:
            where = (
                f"`{origin['op']}` in {origin['module']} turned finite inputs "
                f"{', '.join(_fmt_range(r) for r in origin['input_ranges'][:2])} into "
                f"{'NaN' if math.isnan(loss_value) else 'Inf'}"
            )
        else:
            where = "no single op turned finite values into non-finite ones (the inputs?)"
        run.add(Check("finite", FAIL, f"the loss is {loss_value}: {where}", evidence), start)
        return
    if bad_grads:
        backward_op = _anomaly(run, model)
        evidence["backward_op"] = backward_op
        text = f"loss finite but non-finite gradients in {_fmt_groups(_group(bad_grads, model))}"
        if backward_op:
            text += f"; produced by {backward_op} in the backward pass"
        run.add(Check("finite", FAIL, text, evidence), start)
        return
    n = sum(1 for p in model.parameters() if p.grad is not None)
    run.add(Check("finite", PASS, f"loss and {n} gradients are finite", evidence), start)


def _anomaly(run: _Run, model) -> str | None:
    """Name the backward function that produced NaN (autograd anomaly mode)."""
    try:
        m, inputs, targets, loss_fn = _call_build(run.build, run.batch_size, run.seed)
        m.train()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.autograd.detect_anomaly(check_nan=True):
                _scalar(_loss_of(loss_fn, m(*inputs), targets)).backward()
    except RuntimeError as exc:
        text = str(exc)
        if "returned nan" in text.lower() or "Function '" in text:
            return text.split("'")[1] if "'" in text else text.splitlines()[0]
    except Exception:
        return None
    return None


def _check_initial_loss(run: _Run, loss, start: float) -> None:
    facts = [f for f in run.watch.losses if "classes" in f]
    if not facts:
        run.add(
            Check(
                "initial_loss",
                SKIP,
                "not a cross-entropy classification loss (nothing to compare with)",
                {"losses_seen": [f["loss"] for f in run.watch.losses]},
            ),
            start,
        )
        return
    f = facts[0]
    first = float(loss.detach())
    evidence = dict(f, first_loss=first)
    if f.get("input_is_probabilities"):
        run.add(
            Check(
                "initial_loss",
                FAIL,
                f"the input of {f['loss']} is already probabilities (each row sums to 1): "
                "cross_entropy applies log_softmax itself; remove the softmax and pass logits",
                evidence,
            ),
            start,
        )
        return
    if f["loss"] == "F.nll_loss" and f.get("input_max", 0.0) > 0:
        run.add(
            Check(
                "initial_loss",
                FAIL,
                f"the input of F.nll_loss has values up to {f['input_max']:.3g}, but "
                "log-probabilities are <= 0: apply log_softmax (or use cross_entropy on logits)",
                evidence,
            ),
            start,
        )
        return
    classes = f["classes"]
    expected = math.log(classes)
    evidence["expected"] = expected
    tol = max(INIT_ABS, INIT_REL * expected)
    if not math.isfinite(first):
        run.add(Check("initial_loss", SKIP, "the loss is not finite", evidence), start)
        return
    if abs(first - expected) <= tol:
        status = PASS
        text = f"{first:.4g} vs log({classes}) = {expected:.4g}"
    elif first > expected:
        status = WARN
        text = (
            f"{first:.4g} is far above log({classes}) = {expected:.4g}: the initial logits are "
            "large and confidently wrong (initialisation scale, a missing normalisation, or "
            "targets that do not match the output's classes)"
        )
    else:
        status = WARN
        text = (
            f"{first:.4g} is far below log({classes}) = {expected:.4g} before any training: "
            "the targets may be predictable from the inputs (leakage) or nearly constant"
        )
    run.add(Check("initial_loss", status, text, evidence), start)


def _check_overfit(run: _Run, model, inputs, targets, loss_fn, first: float, start: float):
    params = [p for p in model.parameters() if p.requires_grad]
    curve = [first]
    evidence: dict[str, Any] = {"optimizer": str(run.optimizer), "lr": run.lr}
    if not params or not math.isfinite(first):
        why = "no trainable parameters" if not params else "the first loss is not finite"
        run.add(Check("overfit", SKIP, why, evidence), start)
        return curve
    opt = run.make_optimizer(params)
    model.train()
    opt.step()  # the first pass already computed gradients
    try:
        for _ in range(run.steps - 1):
            opt.zero_grad(set_to_none=True)
            loss = _scalar(_loss_of(loss_fn, model(*inputs), targets))
            value = float(loss.detach())
            curve.append(value)
            if not math.isfinite(value):
                break
            loss.backward()
            _note_gradients(run)
            opt.step()
    except Exception as exc:
        evidence["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        text = f"step {len(curve)} raised {evidence['error']}"
        run.add(Check("overfit", FAIL, text, evidence), start)
        return curve
    evidence["curve"] = curve
    last = sum(curve[-3:]) / len(curve[-3:])
    evidence["last"] = last
    steps = len(curve)
    if not math.isfinite(curve[-1]):
        status = FAIL
        text = (
            f"the loss became {curve[-1]} at step {steps} (from {first:.4g}): lower the "
            "learning rate or look for an unstable op"
        )
    else:
        scale = abs(first) if abs(first) > 1e-8 else 1.0
        ratio = 1 - (first - last) / scale
        evidence["ratio"] = ratio
        trend = (
            f"{first:.4g} -> {last:.4g} (mean of the last 3) in {steps} steps ({ratio - 1:+.0%})"
        )
        if ratio <= CLEAR_DROP:
            status, text = PASS, trend
        elif ratio <= WEAK_DROP:
            status = WARN
            text = (
                f"{trend}: it learns, but slowly for one repeated batch (a small learning "
                "rate, heavy regularisation, or a loss/activation mismatch)"
            )
        else:
            status = FAIL
            text = (
                f"{trend}: the model cannot fit one batch (learning rate, a loss/activation "
                "mismatch such as softmax before cross_entropy, or a detached graph)"
            )
    run.add(Check("overfit", status, text, evidence), start)
    return curve


def _check_modes(run: _Run, model, inputs) -> None:
    start = time.perf_counter()
    kinds = {
        "dropout": [
            n for n, m in model.named_modules() if isinstance(m, nn.modules.dropout._DropoutNd)
        ],
        "batchnorm": [
            n
            for n, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats
        ],
    }
    active = [
        n
        for n, m in model.named_modules()
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
    ]
    evidence: dict[str, Any] = {k: v[:MAX_LISTED] for k, v in kinds.items()}
    problems = []
    try:
        with torch.no_grad():
            model.eval()
            buffers = {n: b.clone() for n, b in model.named_buffers()}
            stacks = []
            outs = []
            for seed in (run.seed + 1, run.seed + 2):
                torch.manual_seed(seed)
                stack = _ModuleStack(model, record=True)
                random_ops = _RandomOps(stack)
                try:
                    with random_ops:
                        outs.append(_fingerprint(model(*inputs)))
                finally:
                    stack.remove()
                stacks.append(stack.order)
            changed = [n for n, b in model.named_buffers() if not torch.equal(b, buffers[n])]
            model.train()
            torch.manual_seed(run.seed + 1)
            train_out = _fingerprint(model(*inputs))
            for n, b in model.named_buffers():  # undo running-stat updates of the train forward
                b.copy_(buffers[n])
    except Exception as exc:
        text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        run.add(Check("modes", FAIL, f"a forward raised {text}", {"error": text}), start)
        return
    finally:
        model.train()
    sampling_only = False
    if outs[0] != outs[1]:
        culprit = _first_difference(stacks[0], stacks[1])
        evidence["eval_randomness"] = culprit
        evidence["random_ops_in_eval"] = random_ops.seen[:MAX_LISTED]
        masks = [r for r in random_ops.seen if r["kind"] == "mask"]
        where = f", first in {_where(culprit)}" if culprit else ""
        if masks:
            ops = ", ".join(sorted({f"{r['op']} in {r['module']}" for r in masks}))
            problems.append(
                f"two eval() forwards of the same batch differ{where}: dropout-like "
                f"randomness still runs in eval mode ({ops}): a custom dropout that ignores "
                "self.training, or F.dropout without training=self.training"
            )
        elif random_ops.seen:  # sampling (VAE, diffusion noise): often intended
            sampling_only = True
            ops = ", ".join(sorted({f"{r['op']} in {r['module']}" for r in random_ops.seen}))
            evidence["note"] = "sampling in eval mode"
        else:
            problems.append(
                f"two eval() forwards of the same batch differ{where}: something random "
                "outside torch's generator runs in eval mode (numpy, random, an unseeded "
                "generator)"
            )
    if changed:
        evidence["buffers_changed_in_eval"] = changed[:MAX_LISTED]
        owners = sorted({_owner(n) for n in changed})
        problems.append(
            f"buffers changed during an eval() forward in {', '.join(owners[:MAX_LISTED])}: "
            "running statistics are updated in eval mode (a custom norm that ignores "
            "self.training)"
        )
    if problems:
        run.add(Check("modes", FAIL, "; ".join(problems), evidence), start)
        return
    if sampling_only:
        text = (
            f"two eval() forwards of the same batch differ: the model samples in eval mode "
            f"({ops}); fine for a VAE or diffusion loss, otherwise gate it on self.training"
        )
        run.add(Check("modes", WARN, text, evidence), start)
        return
    if (active or kinds["batchnorm"]) and train_out == outs[0]:
        names = (active + kinds["batchnorm"])[:MAX_LISTED]
        run.add(
            Check(
                "modes",
                WARN,
                f"train() and eval() give the same output although the model has "
                f"{', '.join(names)}: these layers are not active in train mode",
                evidence,
            ),
            start,
        )
        return
    if not (active or kinds["batchnorm"]):
        text = "eval() is deterministic and updates no buffers; no dropout or batch-norm layers"
    else:
        text = (
            f"eval() is deterministic and updates no buffers; train() differs as it should "
            f"({len(active)} dropout, {len(kinds['batchnorm'])} batch-norm layers)"
        )
    run.add(Check("modes", PASS, text, evidence), start)


def _check_reproducibility(run: _Run) -> None:
    start = time.perf_counter()
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    runs = []
    evidence: dict[str, Any] = {"steps": run.repro_steps, "seed": run.seed}
    try:
        for _ in range(2):
            model, inputs, targets, loss_fn = _call_build(run.build, run.batch_size, run.seed)
            state = {
                "init": {n: _fingerprint(p) for n, p in model.named_parameters()},
                "inputs": _fingerprint((inputs, targets)),
                "losses": [],
                "modules": [],
            }
            params = [p for p in model.parameters() if p.requires_grad]
            opt = run.make_optimizer(params) if params else None
            model.train()
            for step in range(run.repro_steps):
                if opt is not None:
                    opt.zero_grad(set_to_none=True)
                stack = _ModuleStack(model, record=step == 0)
                try:
                    loss = _scalar(_loss_of(loss_fn, model(*inputs), targets))
                finally:
                    stack.remove()
                if step == 0:
                    state["modules"] = stack.order
                state["losses"].append(float(loss.detach()))
                if opt is not None and loss.requires_grad:
                    loss.backward()
                    opt.step()
            if not runs:  # keep the first run's weights, compare the second's in place
                state["final"] = {n: p.detach().clone() for n, p in model.named_parameters()}
            else:
                current = {n: p.detach() for n, p in model.named_parameters()}
                state["final_diff"] = _first_param_difference(runs[0].pop("final"), current)
            runs.append(state)
            del model, opt
    except RuntimeError as exc:
        text = str(exc).strip().splitlines()[0]
        if "deterministic" in text:
            run.add(
                Check(
                    "reproducibility",
                    FAIL,
                    f"an op has no deterministic implementation: {text}",
                    dict(evidence, error=text),
                ),
                start,
            )
            return
        raise
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)
    a, b = runs
    evidence["losses"] = [a["losses"], b["losses"]]
    problems = []
    init = next((n for n, h in a["init"].items() if b["init"].get(n) != h), None)
    if init:
        problems.append(
            f"build() gave different initial weights, first `{init}`: some randomness is not "
            "seeded by torch.manual_seed, random.seed or numpy.random.seed"
        )
        evidence["initial_weights"] = init
    if a["inputs"] != b["inputs"]:
        problems.append("build() returned different inputs or targets for the same seed")
        evidence["inputs_differ"] = True
    step = next(
        (
            i
            for i, (x, y) in enumerate(zip(a["losses"], b["losses"], strict=False))
            if not _same_float(x, y)
        ),
        None,
    )
    if step is not None:
        evidence["first_loss_divergence"] = {
            "step": step + 1,
            "losses": [a["losses"][step], b["losses"][step]],
        }
        module = _first_difference(a["modules"], b["modules"]) if not init else None
        where = f", first in the output of {_where(module)}" if module else ""
        evidence["module"] = module
        problems.append(
            f"the losses differ from step {step + 1} "
            f"({a['losses'][step]!r} vs {b['losses'][step]!r}){where}"
        )
    final = b["final_diff"]
    if final and not problems:
        problems.append(
            f"the losses agree but the weights differ after {run.repro_steps} steps, first "
            f"`{final['param']}` (max |diff| {final['max_abs_diff']:.3g})"
        )
    if final:
        evidence["final_weights"] = final
    if problems:
        run.add(Check("reproducibility", FAIL, "; ".join(problems), evidence), start)
        return
    run.add(
        Check(
            "reproducibility",
            PASS,
            f"two runs of {run.repro_steps} steps with seed {run.seed} gave identical losses "
            "and weights (deterministic algorithms on)",
            evidence,
        ),
        start,
    )


def _same_bits(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Bitwise equality (NaN equals NaN when its bits do)."""
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    return torch.equal(x.reshape(-1).view(torch.uint8), y.reshape(-1).view(torch.uint8))


def _same_float(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def _first_param_difference(a: dict, b: dict) -> dict[str, Any] | None:
    for name, x in a.items():
        y = b.get(name)
        if y is None or x.shape != y.shape:
            return {"param": name, "max_abs_diff": float("inf")}
        if not _same_bits(x, y):
            diff = (x.double() - y.double()).abs()
            diff = diff[torch.isfinite(diff)]
            return {"param": name, "max_abs_diff": float(diff.max()) if diff.numel() else 0.0}
    return None


def _skipped(name: str, why: str) -> Check:
    return Check(name, SKIP, why)


def sanity(
    build,
    *,
    batch_size: int = 4,
    seed: int = 0,
    optimizer: Any = "adam",
    lr: float = 1e-3,
    steps: int = 30,
    repro_steps: int = 3,
    frozen: list[str] | tuple[str, ...] = (),
    checks: list[str] | tuple[str, ...] | None = None,
    threads: int | None = None,
) -> SanityReport:
    """Run the sanity checks on `build(batch_size) -> (model, inputs, targets, loss_fn)`.

    Everything runs on the CPU in this process. `optimizer` is `"adam"`, `"adamw"`, `"sgd"`
    (momentum 0.9) or a callable `params -> Optimizer`; `lr` applies to the named ones.
    `steps` is the length of the overfit run, `repro_steps` of each reproducibility run.
    `frozen` lists fnmatch patterns of parameter names that are not trained on purpose
    (frozen, or unused such as a pooler): they pass the gradient-flow check.
    `checks` selects a subset of CHECKS (the first forward always runs).
    `threads` sets torch's intra-op threads for the run (restored after); on a busy machine
    1 is much faster for small models (no spinning thread pool).
    Raises SanityError when build() fails or breaks the contract.
    """
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _sanity(build, batch_size, seed, optimizer, lr, steps, repro_steps, frozen, checks)
    finally:
        torch.set_num_threads(previous_threads)


def _sanity(build, batch_size, seed, optimizer, lr, steps, repro_steps, frozen, checks):
    if batch_size < 1:
        raise SanityError("batch_size must be at least 1")
    if steps < 2:
        raise SanityError("steps must be at least 2")
    wanted = set(CHECKS if checks is None else checks)
    unknown = wanted - set(CHECKS)
    if unknown:
        raise SanityError(f"unknown checks: {', '.join(sorted(unknown))}")
    t0 = time.perf_counter()
    run = _Run(build, batch_size, seed, optimizer, lr, steps, repro_steps, frozen)
    if isinstance(optimizer, str) and optimizer.lower() not in OPTIMIZERS:
        raise SanityError(f"unknown optimizer {optimizer!r}; expected one of adam, adamw, sgd")
    if wanted & {"overfit", "reproducibility"} and isinstance(optimizer, str):
        # the first optimizer imports torch._dynamo (seconds): not part of any check's time
        run.make_optimizer([nn.Parameter(torch.zeros(1))])
    model, inputs, targets, loss_fn = _call_build(build, batch_size, seed)
    param_count = sum(p.numel() for p in model.parameters())
    loss = _first_pass(run, model, inputs, targets, loss_fn)
    if loss is None:
        ordered = [run.checks["forward"]]
        ordered += [_skipped(n, "the forward failed") for n in CHECKS if n != "forward"]
        return SanityReport(
            batch_size, seed, str(optimizer), lr, steps, ordered, param_count,
            round(time.perf_counter() - t0, 3),
        )  # fmt: skip
    start = time.perf_counter() - run.first_seconds
    zero = _check_gradients(run, model, loss, start)
    named = dict(model.named_parameters())
    run.pending = {n: named[n] for n in zero}
    start = time.perf_counter()
    _check_finite(run, model, loss, start)
    _check_initial_loss(run, loss, time.perf_counter())
    if "overfit" in wanted or zero:
        _check_overfit(
            run, model, inputs, targets, loss_fn, float(loss.detach()), time.perf_counter()
        )
        _recheck_zero(run, model, zero)
    if "modes" in wanted:
        _check_modes(run, model, inputs)
    # free the first model before building two more (the loss's graph and the pending
    # gradients reference its parameters)
    del model, loss, named
    run.pending.clear()
    if "reproducibility" in wanted:
        _check_reproducibility(run)
    ordered = []
    for name in CHECKS:
        if name not in wanted:
            continue
        ordered.append(run.checks.get(name) or _skipped(name, "not run"))
    return SanityReport(
        batch_size, seed, str(optimizer), lr, steps, ordered, param_count,
        round(time.perf_counter() - t0, 3),
    )  # fmt: skip


# ---- child-process entry point -----------------------------------------------------------


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from mllint.probe.worker import load_function

    build = load_function(job["file"], job["function"])
    report = sanity(
        build,
        batch_size=job.get("batch_size", 4),
        seed=job.get("seed", 0),
        optimizer=job.get("optimizer", "adam"),
        lr=job.get("lr", 1e-3),
        steps=job.get("steps", 30),
        repro_steps=job.get("repro_steps", 3),
        frozen=job.get("frozen") or (),
        checks=job.get("checks"),
        threads=job.get("threads"),
    )
    return {"report": report.to_dict()}


def main(argv: list[str] | None = None) -> int:
    return child_main(argv, run_job, SanityError)


if __name__ == "__main__":
    sys.exit(main())
