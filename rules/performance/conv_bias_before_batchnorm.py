"""ML805 conv-bias-before-batchnorm: a convolution's bias is cancelled by the batch norm next."""

from __future__ import annotations

import itertools

import libcst as cst

from mllint.analysis.calls import argument
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import file_index
from mllint.analysis.walk import calls_in
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule

_CONVOLUTIONS = frozenset(
    f"torch.nn.{kind}{dims}d"
    for kind in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose")
    for dims in (1, 2, 3)
)
_BATCH_NORMS = frozenset(
    {f"torch.nn.{kind}{dims}d" for kind in ("BatchNorm", "LazyBatchNorm") for dims in (1, 2, 3)}
    | {"torch.nn.SyncBatchNorm"}
)
_SEQUENTIAL = frozenset({"torch.nn.Sequential"})
#: ``bias`` is the 8th positional parameter of every convolution class.
_BIAS_POSITION = 7


class ConvBiasBeforeBatchnorm(Rule):
    """
    ## What it does
    Reports a convolution with a bias (the default, `bias=True`) whose output goes
    straight into batch normalisation: consecutive layers of an `nn.Sequential(...)` or
    of a list of layers (`[conv, nn.BatchNorm2d(c), nn.ReLU()]`), or a module's
    `self.bn(self.conv(x))` (also as `x = self.conv(x)` then `x = self.bn(x)`) in
    `forward` with both layers built in `__init__`.

    Layers built in `__init__` but applied in another order (pre-activation blocks apply
    the norm first) are not reported: the link must be seen in `forward`.

    ## Why is this bad?
    Batch norm subtracts the per-channel mean of its input, which removes any constant
    per-channel bias added just before it: the bias parameters are trained, stored and
    computed for nothing (their gradient is zero up to rounding). Measured with
    `benchmarks/perf_rules_gpu.py` (one H200, PyTorch 2.11): eight 64-channel 3x3
    conv+BN blocks at 56x56, batch 64, took 8.65 ms per forward and backward with
    biases and 8.04 ms without (8%), and the biases were 512 wasted parameters. The
    ResNet paper's architecture and torchvision's ResNets use `bias=False` here.

    ## Example
    ```python
    block = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU())
    ```

    ## Use instead
    ```python
    block = nn.Sequential(
        nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU()
    )
    ```

    ## Fix safety
    Unsafe: the model's `state_dict` loses the `bias` entries, so checkpoints saved
    before the change no longer load with `strict=True`.

    ## References
    - [Ioffe & Szegedy 2015, Batch Normalization, §3.2 ("the bias b can be ignored")](https://arxiv.org/abs/1502.03167)
    - [PyTorch: Performance Tuning Guide, "Disable bias for convolutions before a batch norm"](https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html)
    """

    code = "ML805"
    name = "conv-bias-before-batchnorm"
    category = "performance"
    severity = Severity.WARNING
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"torch"})

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.call_name(node) in _SEQUENTIAL:
            self._consecutive(
                [arg.value for arg in node.args if arg.keyword is None and not arg.star], node
            )

    def visit_List(self, node: cst.List) -> None:
        self._consecutive([element.value for element in node.elements], node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        index = file_index(self.context)
        init = index.method(node, "__init__")
        forward = index.method(node, "forward")
        if init is None or forward is None:
            return
        layers: dict[str, cst.Call] = {}
        for binding_name, in_class in self._attribute_bindings().get(id(node), {}).items():
            inside = [b for b in in_class if b.scope is init and isinstance(b.value, cst.Call)]
            if len(inside) == 1 and len(in_class) == 1:
                layers[binding_name] = inside[0].value
        # Only a convolution followed by a batch norm can be reported: without both, the
        # walk of ``forward`` is skipped.
        names = [self.context.call_name(layer) for layer in layers.values()]
        if not any(name in _CONVOLUTIONS for name in names) or not any(
            name in _BATCH_NORMS for name in names
        ):
            return
        for conv_name, norm_name in _applied_pairs(forward):
            conv, norm = layers.get(conv_name), layers.get(norm_name)
            if conv is not None and norm is not None:
                self._check_pair(conv, norm)

    def _attribute_bindings(self) -> dict[int, dict[str, list]]:
        """``self.<name>`` bindings by class (its id) and name, from one pass over the
        file's bindings rather than one per class."""

        def group() -> dict[int, dict[str, list]]:
            found: dict[int, dict[str, list]] = {}
            for binding_name, bindings in file_index(self.context).bindings.items():
                if binding_name.startswith("self."):
                    for binding in bindings:
                        if binding.klass is not None:
                            by_name = found.setdefault(id(binding.klass), {})
                            by_name.setdefault(binding_name, []).append(binding)
            return found

        return self.context.cached((self.code, "self-bindings"), group)

    def _consecutive(self, items: list[cst.BaseExpression], at: cst.CSTNode) -> None:
        for first, second in itertools.pairwise(items):
            conv = self._call_of(first, at)
            norm = self._call_of(second, at)
            if conv is not None and norm is not None:
                self._check_pair(conv, norm)

    def _call_of(self, expression: cst.BaseExpression, at: cst.CSTNode) -> cst.Call | None:
        if isinstance(expression, cst.Call):
            return expression
        if isinstance(expression, cst.Name):  # torchvision's `conv2d = nn.Conv2d(...)`
            bindings = file_index(self.context).candidates(expression.value, at)
            if len(bindings) == 1 and isinstance(bindings[0].value, cst.Call):
                return bindings[0].value
        return None

    def _check_pair(self, conv: cst.Call, norm: cst.Call) -> None:
        reported = self.context.cached((self.code, "reported"), set)
        if id(conv) in reported:
            return
        if self.context.call_name(conv) not in _CONVOLUTIONS:
            return
        if self.context.call_name(norm) not in _BATCH_NORMS:
            return
        if any(arg.star for arg in conv.args):
            return
        bias = argument(conv, "bias", _BIAS_POSITION)
        if bias is not None and not (isinstance(bias, cst.Name) and bias.value == "True"):
            return
        reported.add(id(conv))
        fix = None
        if bias is None:
            args = list(conv.args)
            if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            args.append(
                cst.Arg(
                    keyword=cst.Name("bias"),
                    value=cst.Name("False"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            )
            fix = self.context.replacement_fix(
                conv, conv.with_changes(args=args), "Pass `bias=False`", Applicability.UNSAFE
            )
        self.report(
            conv,
            f"the bias of `{self.context.code(conv.func)}` is cancelled by the "
            f"`{self.context.code(norm.func)}` that follows it; pass `bias=False`",
            fix=fix,
        )


def _applied_pairs(forward: cst.FunctionDef) -> list[tuple[str, str]]:
    """(conv, norm) attribute names such that forward applies ``norm`` to ``conv``'s
    output: ``self.bn(self.conv(x))``, or ``h = self.conv(x)`` then ``h = self.bn(h)``."""
    pairs: list[tuple[str, str]] = []
    for node in calls_in(forward):
        outer = dotted_name(node.func)
        if outer and outer.startswith("self.") and len(node.args) == 1:
            inner = node.args[0].value
            if isinstance(inner, cst.Call):
                name = dotted_name(inner.func)
                if name and name.startswith("self."):
                    pairs.append((name, outer))
    _sequential_statements(forward.body, pairs)
    return pairs


def _sequential_statements(block: cst.BaseSuite, pairs: list[tuple[str, str]]) -> None:
    body = getattr(block, "body", ())
    previous: tuple[str, str] | None = None  # (variable, layer) of the last assignment
    for statement in body:
        current = None
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Call)
            ):
                layer = dotted_name(small.value.func)
                if layer and layer.startswith("self.") and len(small.value.args) == 1:
                    variable = small.targets[0].target.value
                    argument_name = dotted_name(small.value.args[0].value)
                    if previous is not None and argument_name == previous[0]:
                        pairs.append((previous[1], layer))
                    current = (variable, layer)
        elif isinstance(statement, cst.BaseCompoundStatement):
            _sequential_statements(statement.body, pairs)
        previous = current
