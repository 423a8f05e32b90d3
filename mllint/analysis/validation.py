"""Validation passes in the project index: evaluation over held-out data during training.

The project summariser calls :func:`record_validation_passes` once per file; it adds an
event of kind ``validation`` to the summary of the function holding each evaluation pass
over validation data (a loop over ``val_loader``, a ``validate()``/``evaluate()`` function,
the code after ``model.eval()``), as :mod:`mllint.analysis.loops` recognises them. Passes
over test data, predictions, framework-managed steps (Lightning's ``validation_step``) and
gradient-based passes are not recorded. A whole-program rule then asks whether an entry
point validates during training (ML908 no-early-stopping, ``mllint audit``).
"""

from __future__ import annotations

import bisect
import re

import libcst as cst

_VALIDATION = re.compile(
    r"(^|[^a-z])(val|valid|validation|dev|eval|evaluate|evaluation|holdout)", re.I
)
_NOT_VALIDATION = re.compile(r"test|predict|infer", re.I)
_TORCH_ROOTS = frozenset({"torch", "lightning", "pytorch_lightning", "accelerate"})


def record_validation_passes(context, summary) -> None:
    """Add ``validation`` events to ``summary`` (a ModuleSummary) for the file's passes."""
    if not context.imports.imports_any(_TORCH_ROOTS):
        return
    from mllint.analysis.loops import loop_analysis
    from mllint.analysis.project import MODULE_BODY, Event

    try:
        blocks = loop_analysis(context).eval_blocks
    except Exception:  # recognition is best-effort: a summary without the events is valid
        return
    by_line = {}
    for name, function in summary.functions.items():
        by_line.setdefault(function.line, []).append(name)
    for block in blocks:
        if block.framework_managed or block.gradient_based:
            continue
        if not _VALIDATION.search(block.label) or _NOT_VALIDATION.search(block.label):
            continue
        if block.function is not None and _NOT_VALIDATION.search(block.function.name.value):
            continue  # `model.eval()` inside `def test(...)`: a pass over test data
        start, end = context.position(block.node)
        owner = MODULE_BODY
        if block.function is not None:
            row = context.position(block.function.name)[0].row
            names = [
                name
                for name in by_line.get(row, [])
                if name.rsplit(".", 1)[-1] == block.function.name.value
            ]
            if not names:
                continue
            owner = names[0]
        text = _first_line(context, block.node)
        event = Event(
            "validation", start.row, start.column, end.row, end.column, text,
            data={"label": block.label, "kind": block.kind},
        )  # fmt: skip
        events = summary.functions[owner].events
        keys = [(e.line, e.column) for e in events]
        events.insert(bisect.bisect_right(keys, (event.line, event.column)), event)


def _first_line(context, node: cst.CSTNode) -> str:
    text = context.code(node).split("\n", 1)[0].strip()
    return text if len(text) <= 80 else text[:77] + "..."
