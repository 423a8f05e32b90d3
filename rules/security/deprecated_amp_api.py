"""ML704 deprecated-amp-api: ``torch.cuda.amp`` / ``torch.cpu.amp`` instead of ``torch.amp``."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint.analysis.names import dotted_name
from mllint.diagnostic import Applicability, Edit, Fix, Severity
from mllint.rule import Rule

_AUTOCAST = ("enabled", "dtype", "cache_enabled")
_SCALER = ("init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled")


@dataclass(frozen=True)
class _Api:
    """A deprecated ``torch.cuda.amp``/``torch.cpu.amp`` callable and its ``torch.amp`` form."""

    name: str  # the name in torch.amp
    device: str
    #: parameters of the deprecated callable, in order (positional arguments become
    #: keywords); None for the decorators, which take ``device_type=`` as a keyword.
    parameters: tuple[str, ...] | None


_DEPRECATED: dict[str, _Api] = {
    "torch.cuda.amp.autocast": _Api("autocast", "cuda", _AUTOCAST),
    "torch.cuda.amp.autocast_mode.autocast": _Api("autocast", "cuda", _AUTOCAST),
    "torch.cpu.amp.autocast": _Api("autocast", "cpu", _AUTOCAST),
    "torch.cpu.amp.autocast_mode.autocast": _Api("autocast", "cpu", _AUTOCAST),
    "torch.cuda.amp.GradScaler": _Api("GradScaler", "cuda", _SCALER),
    "torch.cuda.amp.grad_scaler.GradScaler": _Api("GradScaler", "cuda", _SCALER),
    "torch.cpu.amp.GradScaler": _Api("GradScaler", "cpu", _SCALER),
    "torch.cpu.amp.grad_scaler.GradScaler": _Api("GradScaler", "cpu", _SCALER),
    "torch.cuda.amp.custom_fwd": _Api("custom_fwd", "cuda", None),
    "torch.cuda.amp.custom_bwd": _Api("custom_bwd", "cuda", None),
}
_DEPRECATED_MODULES = {"torch.cuda.amp": "torch.amp", "torch.cpu.amp": "torch.amp"}


def _with_comma(arg: cst.Arg) -> cst.Arg:
    if isinstance(arg.comma, cst.Comma):
        return arg
    return arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def _new_arguments(call: cst.Call, api: _Api) -> list[cst.Arg] | None:
    """``call``'s arguments for the ``torch.amp`` form, or None when that is not mechanical."""
    args = list(call.args)
    if any(arg.star for arg in args):
        return None
    device = cst.SimpleString(f'"{api.device}"')
    if api.parameters is None:  # custom_fwd / custom_bwd: device_type is keyword-only
        if any(arg.keyword is not None and arg.keyword.value == "device_type" for arg in args):
            return None
        if args:
            args[-1] = _with_comma(args[-1])
        return [*args, _keyword("device_type", device)]
    positional = [arg for arg in args if arg.keyword is None]
    if len(positional) > len(api.parameters):
        return None
    converted = []
    for index, arg in enumerate(args):
        if arg.keyword is None:
            arg = arg.with_changes(
                keyword=cst.Name(api.parameters[index]),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        converted.append(arg)
    first = cst.Arg(value=device)
    if converted:
        first = _with_comma(first)
    return [first, *converted]


class DeprecatedAmpApi(Rule):
    """
    ## What it does
    Reports the deprecated device-specific mixed-precision APIs of `torch.cuda.amp`.

    They are `torch.cuda.amp.autocast(...)`, `torch.cpu.amp.autocast(...)`,
    `torch.cuda.amp.GradScaler(...)`, `torch.cpu.amp.GradScaler(...)` and the
    `torch.cuda.amp.custom_fwd` / `custom_bwd` decorators, whether reached through the
    module (`torch.cuda.amp.autocast()`, `amp.autocast()`) or imported by name
    (`from torch.cuda.amp import autocast, GradScaler`).

    ## Why is this bad?
    Since PyTorch 2.4 these emit a `FutureWarning` on every use and are slated for
    removal; the device-generic `torch.amp` API replaces them and takes the device as
    an argument: `torch.amp.autocast("cuda", ...)`, `torch.amp.GradScaler("cuda", ...)`,
    `@torch.amp.custom_fwd(device_type="cuda")`. Code written against it also runs on
    other devices (`"cpu"`, `"mps"`, `"xpu"`) by changing one string.

    An import inside an `except ImportError:` fallback is left alone: it exists for
    old PyTorch versions on purpose.

    ## Example
    ```python
    from torch.cuda.amp import GradScaler, autocast

    scaler = GradScaler()
    with autocast(dtype=torch.bfloat16):
        loss = model(x)
    ```

    ## Use instead
    ```python
    from torch.amp import GradScaler, autocast

    scaler = GradScaler("cuda")
    with autocast("cuda", dtype=torch.bfloat16):
        loss = model(x)
    ```

    ## Fix safety
    The fix is safe: it is the replacement PyTorch's own warning prescribes.
    Positional arguments become keywords, because the parameter lists differ
    (`torch.cuda.amp.autocast(True, torch.float16)` becomes
    `torch.amp.autocast("cuda", enabled=True, dtype=torch.float16)`). A module-style call
    becomes `torch.amp.<name>(...)` spelled with the file's own name for `torch`
    (`T.amp.autocast` after `import torch as T`); without an `import torch` no fix is
    offered. For `from torch.cuda.amp import autocast, GradScaler` the finding is on the
    import, and its fix rewrites the import to `from torch.amp import ...` *and* adds the
    device to every use of those names in the file, all at once; when a name is used in
    a way that cannot be rewritten (passed around as a value, rebound, `*args`), the
    finding has no fix. `torch.amp.autocast("cuda")` takes its default dtype from
    `torch.get_autocast_dtype("cuda")`, which is `float16` unless the program changed it.

    ## References
    - [Automatic mixed precision: `torch.amp`](https://pytorch.org/docs/stable/amp.html)
    - [PyTorch 2.4 release notes: deprecation of `torch.cuda.amp`](https://github.com/pytorch/pytorch/releases/tag/v2.4.0)
    """

    code = "ML704"
    name = "deprecated-amp-api"
    category = "security"
    severity = Severity.WARNING
    fixable = Applicability.SAFE
    requires_imports = frozenset({"torch"})
    tags = ("api",)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._imports: list[tuple[cst.ImportFrom, str]] = []

    # -- module-style uses: torch.cuda.amp.autocast(...), amp.GradScaler() -------------

    def visit_Call(self, node: cst.Call) -> None:
        api, _ = self._module_style(node.func, node)
        if api is None:
            return
        fix = None
        args = _new_arguments(node, api)
        func = self._torch_amp(api)
        if args is not None and func is not None:
            replacement = node.with_changes(func=func, args=args)
            fix = self.context.replacement_fix(
                node, replacement, self._fix_message(api), Applicability.SAFE
            )
        self.report(node, self._message(self.context.code(node.func), api), fix=fix)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if isinstance(node.decorator, cst.Call):
            return  # visit_Call handles @torch.cuda.amp.custom_fwd(cast_inputs=...)
        api, _ = self._module_style(node.decorator, node)
        if api is None:
            return
        fix = None
        func = self._torch_amp(api)
        if func is not None:
            call = cst.Call(func=func, args=_new_arguments(cst.Call(func=func), api) or ())
            fix = self.context.replacement_fix(
                node, node.with_changes(decorator=call), self._fix_message(api), Applicability.SAFE
            )
        self.report(node.decorator, self._message(self.context.code(node.decorator), api), fix=fix)

    def _module_style(
        self, expression: cst.BaseExpression, anchor: cst.CSTNode
    ) -> tuple[_Api | None, str | None]:
        """The deprecated API ``expression`` names, unless it is a from-imported name
        (those are handled at their import) or a fallback for old PyTorch versions."""
        qualified = self.context.qualified_name(expression)
        api = _DEPRECATED.get(qualified or "")
        if api is None:
            return None, None
        dotted = dotted_name(expression) or ""
        head = dotted.split(".")[0]
        if self.context.imports.aliases.get(head) == qualified:
            return None, None
        if self._is_version_fallback(anchor):
            return None, None
        return api, qualified

    def _is_version_fallback(self, anchor: cst.CSTNode) -> bool:
        """Inside ``except ...:``, or in the branch of an ``if``/conditional expression
        whose other branch already uses ``torch.amp`` (``torch.amp.GradScaler("cuda") if
        TORCH_2_4 else torch.cuda.amp.GradScaler()``): compatibility code on purpose."""
        # The nodes above the call (or decorator), ending with the call itself.
        ancestors = [*self.context.ancestors, anchor]
        for index, node in enumerate(ancestors):
            if isinstance(node, cst.ExceptHandler):
                return True
            if not isinstance(node, cst.If | cst.IfExp) or index + 1 >= len(ancestors):
                continue
            branch = ancestors[index + 1]
            other = node.orelse if branch is node.body else node.body
            if other is None or branch is getattr(node, "test", None):
                continue
            finder = _ModernAmp(self)
            other.visit(finder)
            if finder.found:
                return True
        return False

    def _torch_amp(self, api: _Api) -> cst.BaseExpression | None:
        torch_name = self.context.imports.local_name_for("torch")
        if torch_name is None:
            return None
        return cst.Attribute(
            value=cst.Attribute(value=cst.Name(torch_name), attr=cst.Name("amp")),
            attr=cst.Name(api.name),
        )

    def _message(self, written: str, api: _Api) -> str:
        return f"`{written}` is deprecated; use {self._replacement_text(api)}"

    @staticmethod
    def _replacement_text(api: _Api) -> str:
        if api.parameters is None:
            return f'`torch.amp.{api.name}(device_type="{api.device}")`'
        return f'`torch.amp.{api.name}("{api.device}", ...)`'

    def _fix_message(self, api: _Api) -> str:
        return f"Use {self._replacement_text(api)}"

    # -- from torch.cuda.amp import autocast, GradScaler -------------------------------

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if module not in _DEPRECATED_MODULES:
            return
        if self._is_version_fallback(node):
            return  # `except ImportError:` or `if torch < 2.4:` branch for old versions
        if isinstance(node.names, cst.ImportStar):
            return
        self._imports.append((node, module))

    def finish(self) -> None:
        if not self._imports:
            return
        references = _References()
        self.context.module.visit(references)
        for node, module in self._imports:
            self._report_import(node, module, references)

    def _report_import(self, node: cst.ImportFrom, module: str, references: _References) -> None:
        assert not isinstance(node.names, cst.ImportStar)
        imported: dict[str, _Api] = {}  # local name -> API
        complete = True
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            api = _DEPRECATED.get(f"{module}.{name}")
            local = alias.evaluated_alias or name
            if api is None:
                complete = False  # e.g. `from torch.cuda.amp import common`: not movable
                continue
            imported[local] = api
        if not imported:
            return
        names = ", ".join(self.context.code(alias.name) for alias in node.names)
        uses = ", ".join(
            f'`{local}(device_type="{api.device}")`'
            if api.parameters is None
            else f'`{local}("{api.device}")`'
            for local, api in imported.items()
        )
        message = (
            f"`from {module} import {names}` imports deprecated AMP APIs; import them from "
            f"`torch.amp` and pass the device: {uses}"
        )
        fix = self._import_fix(node, imported, references) if complete else None
        self.report(node, message, fix=fix)

    def _import_fix(
        self, node: cst.ImportFrom, imported: dict[str, _Api], references: _References
    ) -> Fix | None:
        table = self.context.imports
        replacements: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        for local, api in imported.items():
            if local in table.locally_bound:
                return None
            if table.aliases.get(local) != f"{dotted_name(node.module)}.{api.name}":
                return None  # bound again by another import
            for use, parent in references.uses.get(local, ()):
                if isinstance(parent, cst.Call) and parent.func is use:
                    args = _new_arguments(parent, api)
                    if args is None:
                        return None
                    replacements.append((parent, parent.with_changes(args=args)))
                elif isinstance(parent, cst.Decorator) and parent.decorator is use:
                    if api.parameters is not None:
                        return None
                    call = cst.Call(func=use, args=_new_arguments(cst.Call(func=use), api) or ())
                    replacements.append((parent, parent.with_changes(decorator=call)))
                else:
                    return None  # used as a value: the rewrite is not mechanical
        new_module = cst.Attribute(value=cst.Name("torch"), attr=cst.Name("amp"))
        replacements.append((node, node.with_changes(module=new_module)))
        edits: list[Edit] = []
        for original, replacement in replacements:
            single = self.context.replacement_fix(original, replacement, "", Applicability.SAFE)
            edits.extend(single.edits)
        return Fix(
            applicability=Applicability.SAFE,
            message="Import from `torch.amp` and pass the device at every use",
            edits=tuple(edits),
        )


class _ModernAmp(cst.CSTVisitor):
    """Finds a use of ``torch.amp`` or ``torch.autocast`` in a subtree."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.found = False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = dotted_name(node.module) if node.module is not None else None
        if module == "torch.amp" or (
            module == "torch"
            and not isinstance(node.names, cst.ImportStar)
            and any(dotted_name(alias.name) in ("amp", "autocast") for alias in node.names)
        ):
            self.found = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        name = self.rule.context.qualified_name(node) or ""
        if name.startswith("torch.amp.") or name in ("torch.amp", "torch.autocast"):
            self.found = True
        return not self.found


class _References(cst.CSTVisitor):
    """Every ``Name`` used as a value in the module, with its parent node."""

    def __init__(self) -> None:
        self.stack: list[cst.CSTNode] = []
        self.uses: dict[str, list[tuple[cst.Name, cst.CSTNode]]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and self.stack:
            parent = self.stack[-1]
            if not (
                (isinstance(parent, cst.Attribute) and parent.attr is node)
                or (isinstance(parent, cst.Arg) and parent.keyword is node)
                or isinstance(parent, cst.ImportAlias | cst.AsName)
            ):
                self.uses.setdefault(node.value, []).append((node, parent))
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
