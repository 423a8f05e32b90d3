"""What a name holds (FileIndex.object_of): the answer depends on the use, never on which
use a rule asked about first."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import libcst as cst

from mllint.analysis.torchobjects import FileIndex
from mllint.context import FileContext
from mllint.source import SourceFile

REBOUND = """
import torch
from torch import nn


def build():
    x = nn.Linear(4, 2)
    first = x
    x = torch.optim.SGD(first.parameters(), lr=0.1)
    second = x
    x = x.to("cuda")
    third = x


class Trainer:
    def __init__(self, model):
        self.opt = torch.optim.Adam(model.parameters())

    def reset(self, model):
        self.opt = torch.optim.SGD(model.parameters(), lr=0.1)
        after_reset = self.opt

    def step(self):
        in_step = self.opt
"""


def _uses(text: str) -> tuple[FileIndex, dict[str, cst.BaseExpression]]:
    """A fresh index of ``text`` and the value of each ``name = <use>`` assignment."""
    source = SourceFile(
        path=Path("train.py"), display_path="train.py", raw=text.encode(), text=text
    )
    module = cst.parse_module(text)
    index = FileIndex(module, FileContext(source, module))
    return index, {node.targets[0].target.value: node.value for node in _assignments(module)}


def _assignments(module: cst.Module):
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if type(node.targets[0].target) is cst.Name and type(node.value) in (
                cst.Name,
                cst.Attribute,
            ):
                found.append(node)

    module.visit(Finder())
    return found


def _kind(found) -> str | None:
    return None if found is None else f"{found.kind} {found.detail}"


EXPECTED = {
    "first": "model Linear",
    "second": "optimizer SGD",
    "third": "optimizer SGD",  # x = x.to(...) keeps what x held
    "after_reset": "optimizer SGD",  # the assignment just before, in reset()
    "in_step": None,  # Adam in __init__ or SGD in reset(): not evident
}


def test_each_use_sees_its_own_binding_whatever_the_order_of_questions():
    text = textwrap.dedent(REBOUND)
    names = list(EXPECTED)
    assert set(_uses(text)[1]) == set(names)
    for order in itertools.permutations(names):
        index, uses = _uses(text)
        answers = {name: _kind(index.object_of(uses[name])) for name in order}
        assert answers == EXPECTED, order
