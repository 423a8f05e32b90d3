"""ML904 mixed-frameworks: one training program imports both PyTorch and TensorFlow."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mllint.analysis import projectfiles
from mllint.diagnostic import Severity
from mllint.lazyre import lazy_compile
from mllint.rule import ProjectRule

_TORCH = ("torch",)
_TENSORFLOW = ("tensorflow",)


class MixedFrameworks(ProjectRule):
    """
    ## What it does
    Reports a training program (an entry point that trains, with the project modules it
    imports, directly or not) that imports both PyTorch and TensorFlow.

    Keras 3 on its PyTorch backend (`import keras`) and `torch.utils.tensorboard` are
    not TensorFlow; a project whose PyTorch and TensorFlow code live in separate
    programs (a TF export script beside a PyTorch trainer) is not reported either.

    ## Why is this bad?
    Two frameworks in one process means two GPU memory allocators: by default
    TensorFlow maps nearly all of the GPU's memory on its first operation, leaving
    PyTorch to fail with out-of-memory errors that have nothing to do with the model.
    Each framework also has its own random number generators and determinism switches
    (`torch.manual_seed` does not seed `tf.random`), its own CUDA/cuDNN builds that must
    match the driver, and both start thread pools. Usually TensorFlow is only there for
    one utility (`tf.data`, TFRecord reading, `tf.keras.utils`) that has a PyTorch or
    plain-Python equivalent.

    ## Example
    ```python
    import tensorflow as tf  # only for reading TFRecords
    import torch

    dataset = tf.data.TFRecordDataset(files)
    model = torch.nn.Linear(512, 10).cuda()
    ```

    ## Use instead
    ```python
    import torch
    from tfrecord.torch.dataset import TFRecordDataset  # or convert the data once

    dataset = TFRecordDataset(path, index_path=None)
    model = torch.nn.Linear(512, 10).cuda()
    ```

    ## Notes
    If both frameworks are needed, keep TensorFlow off the GPU
    (`tf.config.set_visible_devices([], "GPU")`) or let it grow its memory
    (`tf.config.experimental.set_memory_growth`). Reported once per program, at its
    first TensorFlow import.

    ## References
    - [TensorFlow: Limiting GPU memory growth](https://www.tensorflow.org/guide/gpu#limiting_gpu_memory_growth)
    - [PyTorch: Reproducibility](https://pytorch.org/docs/stable/notes/randomness.html)
    """

    code = "ML904"
    name = "mixed-frameworks"
    category = "project"
    severity = Severity.INFO

    def check(self) -> None:
        index = self.project.index
        reported: set = set()
        for entry in index.entry_points():
            trace = self.project.trace(entry)
            if not any(traced.event.kind == "train" for traced in trace):
                continue
            reached = {id(entry): entry}
            for traced in trace:
                reached.setdefault(id(traced.module), traced.module)
            pending = list(reached.values())
            while pending:  # and the project modules they import, transitively
                module = pending.pop()
                for imported in _imported_modules(index, module):
                    if id(imported) not in reached:
                        reached[id(imported)] = imported
                        pending.append(imported)
            modules = list(reached.values())
            if not any(_imports(module, _TORCH) for module in modules):
                continue
            for module in modules:
                if module.is_test or not _imports(module, _TENSORFLOW):
                    continue
                key = (module.relative, entry.relative)
                if module.relative in reported or key in reported:
                    break
                reported.add(module.relative)
                line = _import_line(projectfiles.module_file(self.project, module), module)
                where = "" if module is entry else f" through `{module.path}`"
                self.report_at(
                    module,
                    line,
                    f"the training program `{entry.path}` imports both PyTorch and "
                    f"TensorFlow{where}: two GPU allocators in one process (TensorFlow maps "
                    "most of the GPU memory by default); drop TensorFlow or keep it off the "
                    "GPU",
                )
                break


def _imported_modules(index, module) -> list:
    found = []
    for function in module.functions.values():
        for event in function.events:
            if event.kind == "import":
                for target in [event.target or "", *event.data.get("also", [])]:
                    resolved = index.resolve_module(target, module)
                    if resolved is not None:
                        found.append(resolved)
    return found


def _is(name: str, roots: tuple[str, ...]) -> bool:
    return name.split(".")[0] in roots


def _imports(module, roots: tuple[str, ...]) -> bool:
    return any(_is(qualified, roots) for qualified in module.imports.values())


_TF_IMPORT = lazy_compile(r"^[ \t]*(?:import\s+tensorflow\b|from\s+tensorflow\b)", re.MULTILINE)


@dataclass(frozen=True)
class _Line:
    """Where a finding is reported: an import's line and columns."""

    line: int
    column: int
    end_line: int
    end_column: int


def _import_line(path, module) -> _Line:
    """The span of the first TensorFlow import in the module's file (line 1 when not
    found, e.g. in a notebook, whose rows are cells')."""
    if not module.is_notebook:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        match = _TF_IMPORT.search(text)
        if match is not None:
            row = text.count("\n", 0, match.start()) + 1
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_end = text.find("\n", match.start())
            line_end = len(text) if line_end < 0 else line_end
            column = len(text[line_start : match.end()]) - len(match.group().lstrip()) + 1
            return _Line(row, column, row, line_end - line_start + 1)
    return _Line(1, 1, 1, 1)
