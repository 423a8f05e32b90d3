"""ML301 print-for-metrics: training metrics reported with print() and nowhere else."""

from __future__ import annotations

import re

import libcst as cst

from mllint.analysis.calls import keyword_value
from mllint.analysis.loops import loop_analysis
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import children
from mllint.diagnostic import Severity
from mllint.lazyre import lazy_compile
from mllint.rule import Rule

#: Words that name a metric inside an identifier (``train_loss``, ``val_acc``, ``top1``).
_METRIC_WORDS = frozenset(
    {
        "loss", "losses", "acc", "accs", "accuracy", "f1", "auc", "auroc", "roc", "precision",
        "recall", "ppl", "perplexity", "bleu", "rouge", "mse", "mae", "rmse", "r2", "score",
        "scores", "metric", "metrics", "correct", "top1", "top5", "iou", "miou", "dice",
        "nll", "elbo", "reward", "rewards", "wer", "cer", "lossf", "mfu",
    }
)  # fmt: skip
#: Calls that print to the terminal: judged alike.
_PRINTERS = frozenset({"builtins.print", "tqdm.tqdm.write", "tqdm.write", "tqdm.auto.tqdm.write"})
_PRINT_RECEIVERS = lazy_compile(r"(^|\.)(accelerator|fabric|pbar|progress_bar|progress)$")
_STD_STREAMS = frozenset({"sys.stdout", "sys.stderr"})
#: Method names that record values somewhere other than the terminal.
_RECORDING_METHODS = frozenset(
    {
        "log", "log_metrics", "log_metric", "log_dict", "log_scalar", "log_scalars",
        "add_scalar", "add_scalars", "add_histogram", "info", "debug", "warning",
        "writerow", "writerows", "dump", "record", "track", "report", "log_text",
        "add_text", "log_row", "update_metrics",
    }
)  # fmt: skip
_TRACKER_ROOTS = frozenset(
    {"wandb", "mlflow", "logging", "loguru", "comet_ml", "neptune", "aim", "clearml", "dvclive"}
)


class PrintForMetrics(Rule):
    """
    ## What it does
    Reports `print()` calls that report training or evaluation metrics (losses,
    accuracies, anything named like a metric: `running_loss`, `val_acc`, `top1`,
    `metrics`) on every iteration or every epoch, when the same code records them
    nowhere else (no `logging`, no experiment tracker, no metrics file).

    Where the line is drawn:

    - **Reported**: a metrics print inside a training loop or the epoch loop around one;
      inside a function that such a loop calls (`train_one_epoch()`, `evaluate()` run
      every epoch); inside a LightningModule's step and epoch-end hooks.
    - **Not reported**: one-off reports after training (a final test accuracy), prints
      before training, argument echoing in `if __name__ == "__main__":`, progress bars
      (`tqdm(...).set_postfix(loss=...)`), `print(..., file=log_file)` (a log file),
      prints in `except` blocks, prints of values that are not named like metrics
      (`print(f"epoch {epoch}")`), and any print in a loop or function that also
      records values (`logger.info`, `wandb.log`, `writer.add_scalar`, `self.log`,
      `mlflow.log_metric`, `csv_writer.writerow`, any method named `log`).
    - `accelerator.print`, `fabric.print`, `tqdm.write`, `pbar.write` and
      `sys.stdout.write`/`sys.stderr.write` are prints and are judged the same way.

    One finding per loop or function, on its first metrics print.

    ## Why is this bad?
    Metrics printed to a terminal are lost with the terminal and cannot be plotted,
    compared across runs or searched. A training curve is the main record of an
    experiment; `logging` (to a file) or an experiment tracker keeps it for the next
    run to be compared with.

    ## Example
    ```python
    for epoch in range(epochs):
        train_loss = train_one_epoch(model, loader, optimizer)
        print(f"epoch {epoch}: train loss {train_loss:.4f}")
    ```

    ## Use instead
    ```python
    writer = SummaryWriter()
    for epoch in range(epochs):
        train_loss = train_one_epoch(model, loader, optimizer)
        writer.add_scalar("train/loss", train_loss, epoch)
    ```

    ## References
    - [PyTorch: Visualizing models, data and training with TensorBoard](https://pytorch.org/tutorials/intermediate/tensorboard_tutorial.html)
    - [Python: Logging HOWTO](https://docs.python.org/3/howto/logging.html)
    """

    code = "ML301"
    name = "print-for-metrics"
    category = "logging"
    severity = Severity.WARNING
    requires_imports = frozenset(
        {
            "torch",
            "tensorflow",
            "keras",
            "jax",
            "lightning",
            "pytorch_lightning",
            "transformers",
            "accelerate",
            "lightning_fabric",
        }
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self._reported: set[int] = set()
        self._records: dict[int, bool] = {}
        self._callers: dict[int, list[cst.CSTNode]] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if not self._is_print(node) or not self._prints_metric(node):
            return
        if any(isinstance(a, cst.ExceptHandler) for a in self.context.ancestors):
            return
        if self._before_exit(node):
            return  # `print("Solved! ..."); break`: a one-off report as the loop ends
        region = self._region(node)
        if region is None or id(region) in self._reported:
            return
        self._reported.add(id(region))
        self.report(
            node,
            f"`{_short(self.context.code(node))}` reports metrics with print() only, where "
            "they are lost with the terminal; record them with `logging` or an experiment "
            "tracker (`SummaryWriter.add_scalar`, `wandb.log`, `mlflow.log_metric`)",
        )

    # -- what is a metrics print -----------------------------------------------------

    def _is_print(self, node: cst.Call) -> bool:
        name = self.context.call_name(node)
        if name in _PRINTERS:
            target = keyword_value(node, "file")
            return target is None or dotted_name(target) in _STD_STREAMS
        if name in ("sys.stdout.write", "sys.stderr.write"):
            return True
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("print", "write"):
            receiver = dotted_name(func.value) or ""
            if func.attr.value == "print" and receiver == "self":
                return loop_analysis(self.context).is_framework_managed(node)
            return bool(_PRINT_RECEIVERS.search(receiver)) and not (
                func.attr.value == "print" and receiver.endswith(("pbar", "progress_bar"))
            )
        return False

    def _prints_metric(self, node: cst.Call) -> bool:
        for arg in node.args:
            if arg.keyword is not None:
                continue
            for name in _identifiers(arg.value):
                words = set(re.split(r"_|(?<=[a-z])(?=[A-Z])", name.lower()))
                if words & _METRIC_WORDS:
                    return True
        return False

    def _before_exit(self, node: cst.Call) -> bool:
        """The print's block, inside a loop, goes on to ``break``/``return``: it runs once,
        as the loop ends (``print("Solved!"); break``)."""
        ancestors = self.context.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            block = ancestors[index]
            if isinstance(block, cst.IndentedBlock | cst.Module):
                in_loop = False
                for outer in reversed(ancestors[:index]):
                    if isinstance(outer, cst.For | cst.While):
                        in_loop = True
                        break
                    if isinstance(outer, cst.FunctionDef):
                        break
                if not in_loop:
                    return False
                statement = ancestors[index + 1] if index + 1 < len(ancestors) else None
                body = list(block.body)
                if statement not in body:
                    return False
                later = body[body.index(statement) + 1 :]
                return any(
                    isinstance(small, cst.Break | cst.Return)
                    for line in later
                    if isinstance(line, cst.SimpleStatementLine)
                    for small in line.body
                )
        return False

    # -- where -----------------------------------------------------------------------

    def _region(self, node: cst.Call) -> cst.CSTNode | None:
        """The loop or function whose every iteration/call prints, or None."""
        analysis = loop_analysis(self.context)
        index = analysis.index
        function = index.function_of(node)
        if analysis.is_framework_managed(node):
            if function is None or function.name.value == "forward":
                return None
            return None if self._records_in(function) else function
        loops = [loop for loop in analysis.training_context_loops() if index.contains(loop, node)]
        if loops:
            outer = min(loops, key=lambda loop: index.order.get(id(loop), 0))
            scope = index.function_of(outer) or self.context.module
            return None if self._records_in(scope) else outer
        if function is None:
            return None
        callers = self._loop_callers().get(id(function), [])
        if not callers:
            return None
        if self._records_in(function):
            return None
        for caller_loop in callers:
            scope = index.function_of(caller_loop) or self.context.module
            if self._records_in(scope):
                return None
        return function

    def _loop_callers(self) -> dict[int, list[cst.CSTNode]]:
        """Functions of this file called from inside a training(-context) loop -> loops."""
        if self._callers is None:
            analysis = loop_analysis(self.context)
            index = analysis.index
            self._callers = {}
            loops = analysis.training_context_loops()
            for call in index.calls:
                name = dotted_name(call.func)
                if name is None:
                    continue
                function = index.function_named(name, call)
                if function is None:
                    continue
                for loop in loops:
                    if index.contains(loop, call):
                        self._callers.setdefault(id(function), []).append(loop)
                        break
        return self._callers

    def _records_in(self, scope: cst.CSTNode) -> bool:
        """``scope`` (a function or the module) also records values somewhere."""
        key = id(scope)
        if key not in self._records:
            self._records[key] = any(self._records_call(call) for call in _calls(scope))
        return self._records[key]

    def _records_call(self, call: cst.Call) -> bool:
        qualified = self.context.call_name(call) or ""
        if qualified in _PRINTERS or qualified in ("sys.stdout.write", "sys.stderr.write"):
            target = keyword_value(call, "file")
            return target is not None and dotted_name(target) not in _STD_STREAMS
        if qualified.split(".")[0] in _TRACKER_ROOTS:
            return True
        if qualified.endswith(("SummaryWriter", "DictWriter", "csv.writer")):
            return True
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = dotted_name(func.value) or ""
            if method in _RECORDING_METHODS:
                return True
            if (
                method == "write"
                and receiver not in _STD_STREAMS
                and not _PRINT_RECEIVERS.search(receiver)
            ):
                return True
        elif isinstance(func, cst.Name) and re.match(r"log(_|$)|.*_log$|record", func.value):
            return True
        return False


def _identifiers(expression: cst.CSTNode) -> list[str]:
    """Names and attribute names read in an expression (f-string parts included), not
    string literals, not called functions' names."""
    found: list[str] = []
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.append(node.value)
            continue
        if isinstance(node, cst.Attribute):
            found.append(node.attr.value)
            stack.append(node.value)
            continue
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)  # loss.item(): the receiver
            stack.extend(arg.value for arg in node.args)
            continue
        if isinstance(node, cst.SimpleString | cst.Lambda):
            continue
        stack.extend(children(node))
    return found


def _calls(scope: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []
    stack = [scope]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            found.append(node)
        if isinstance(node, cst.ClassDef) or (
            isinstance(node, cst.FunctionDef) and node is not scope
        ):
            continue
        stack.extend(children(node))
    return found


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
