"""ML803 tensor-created-then-moved: a tensor is built on the CPU only to be copied to a device."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument, keyword_value
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule

#: Factories whose result does not depend on the device they run on: moving the
#: ``device=`` into the call gives the same tensor (a safe fix).
DETERMINISTIC_FACTORIES = frozenset(
    {"zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye"}
)
#: Random factories: the CPU and CUDA generators give different numbers, so the fix
#: changes results (an unsafe fix).
RANDOM_FACTORIES = frozenset({"rand", "randn", "randint", "randperm", "normal"})
_DEVICE_WORDS = ("device", "cuda", "gpu", "rank")


class TensorCreatedThenMoved(Rule):
    """
    ## What it does
    Reports a tensor made by a factory (`torch.zeros`, `ones`, `empty`, `full`,
    `arange`, `linspace`, `logspace`, `eye`, `rand`, `randn`, `randint`, `randperm`,
    `normal`) and immediately moved to a device: `torch.zeros(n, d).cuda()`,
    `torch.arange(n).to(device)`.

    `.to(...)` counts only when its argument is evidently a device: a `"cuda..."`
    string, `torch.device(...)`, or a name such as `device`, `self.device`,
    `x.device`, `local_rank`; `.to(torch.float16)` is a dtype cast and is left alone.
    `torch.tensor([...])` from Python data is not reported: it is built on the host
    either way.

    ## Why is this bad?
    The tensor is allocated and filled on the CPU, then copied over PCIe and the CPU copy
    thrown away. Measured with `benchmarks/perf_rules_gpu.py` (one H200, PyTorch 2.11):
    `torch.zeros(2048, 2048).cuda()` took 1.28 ms per call against 6 µs for
    `torch.zeros(2048, 2048, device="cuda")` (209x). Inside a `forward()` or a training
    loop this runs every step.

    ## Example
    ```python
    mask = torch.ones(seq_len, seq_len).to(device)
    noise = torch.randn(batch, dim).cuda()
    ```

    ## Use instead
    ```python
    mask = torch.ones(seq_len, seq_len, device=device)
    noise = torch.randn(batch, dim, device="cuda")
    ```

    ## Fix safety
    Safe for deterministic factories (same values). Unsafe for random ones: a tensor drawn
    on the GPU comes from the CUDA generator, so the numbers (not their distribution)
    change. No fix when the factory already takes `device=` or `out=`, or `.to()` has more
    arguments than the device.

    ## References
    - [PyTorch: Performance Tuning Guide, "Create tensors directly on the target device"](https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html)
    - [PyTorch: Tensor creation ops (the `device` argument)](https://pytorch.org/docs/stable/torch.html#creation-ops)
    """

    code = "ML803"
    name = "tensor-created-then-moved"
    category = "performance"
    severity = Severity.WARNING
    fixable = Applicability.SAFE
    requires_imports = frozenset({"torch"})

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("to", "cuda"):
            return
        created = func.value
        if not isinstance(created, cst.Call):
            return
        qualified = self.context.call_name(created) or ""
        factory = qualified.removeprefix("torch.")
        if not qualified.startswith("torch.") or factory not in (
            DETERMINISTIC_FACTORIES | RANDOM_FACTORIES
        ):
            return
        if keyword_value(created, "device") is not None:
            return  # already on a device; `.to` moves it elsewhere on purpose
        device = self._device(node, func.attr.value)
        if device is None:
            return
        fix = None
        simple = func.attr.value == "cuda" or (len(node.args) == 1 and node.args[0].keyword is None)
        if (
            simple
            and keyword_value(created, "out") is None
            and not any(a.star for a in created.args)
        ):
            applicability = (
                Applicability.SAFE if factory in DETERMINISTIC_FACTORIES else Applicability.UNSAFE
            )
            replacement = created.with_changes(args=_with_device(created.args, device))
            fix = self.context.replacement_fix(
                node,
                replacement,
                f"Create it with `device={self.context.code(device)}`",
                applicability,
            )
        self.report(
            node,
            f"`{self.context.code(node)}` fills the tensor on the CPU and then copies it; "
            f"create it on the device with `device={self.context.code(device)}`",
            fix=fix,
        )

    def _device(self, node: cst.Call, method: str) -> cst.BaseExpression | None:
        if method == "cuda":
            if node.args:
                return None  # .cuda(rank): keep as written
            return cst.SimpleString('"cuda"')
        device = argument(node, "device", 0)
        if device is None:
            return None
        if isinstance(device, cst.SimpleString):
            value = device.evaluated_value
            return (
                device
                if isinstance(value, str) and value.startswith(("cuda", "mps", "xpu"))
                else None
            )
        if isinstance(device, cst.Call):
            return device if self.context.call_name(device) == "torch.device" else None
        text = self.context.code(device).lower()
        last = text.rsplit(".", 1)[-1]
        if any(word in last for word in _DEVICE_WORDS) and "dtype" not in last:
            return device
        return None


_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _with_device(args, device: cst.BaseExpression) -> list[cst.Arg]:
    """``args`` plus ``device=<device>`` at the end (keeping a trailing comma style)."""
    args = list(args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    args.append(cst.Arg(keyword=cst.Name("device"), value=device, equal=_EQUAL))
    return args
