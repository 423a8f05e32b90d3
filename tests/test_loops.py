"""The training-loop analysis as other rules use it: which loop, which block, which facts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

from mllint.analysis.loops import find_eval_blocks, find_training_loops, loop_analysis
from mllint.context import FileContext
from mllint.source import SourceFile


def context_for(code: str, path: str = "train.py") -> FileContext:
    text = textwrap.dedent(code)
    source = SourceFile(path=Path(path), display_path=path, raw=text.encode(), text=text)
    return FileContext(source, cst.parse_module(text))


def line_of(context: FileContext, node: cst.CSTNode) -> int:
    return context.position(node)[0].row


def find_call(context: FileContext, snippet: str) -> cst.Call:
    for node in loop_analysis(context).index.calls:
        if context.code(node) == snippet:
            return node
    raise AssertionError(f"no call {snippet!r}")


NANOGPT_STYLE = """
import torch
from model import GPT

model = GPT()
optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4)
scaler = torch.amp.GradScaler("cuda")

def log(msg):
    print(msg)

for it in range(1000):
    for micro in range(8):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x, y) / 8
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    log(f"loss {loss.item()}")
"""


def test_training_loop_through_autocast_and_scaler():
    context = context_for(NANOGPT_STYLE)
    loops = find_training_loops(context)
    assert [line_of(context, loop.node) for loop in loops] == [12]
    loop = loops[0]
    assert loop.optimizers == ["optimizer"]
    assert [e.scaled for e in loop.backward_calls] == [True]
    assert [e.receiver for e in loop.step_calls] == ["optimizer"]
    assert loop.step_calls[0].scaled and loop.step_calls[0].scaler == "scaler"
    assert len(loop.zero_grad_calls) == 1
    assert loop.step_calls[0].receiver_object.kind == "optimizer"
    assert loop.step_calls[0].receiver_object.detail == "AdamW"


def test_training_loop_at_answers_for_nodes_in_the_loop_and_its_helpers():
    context = context_for(NANOGPT_STYLE)
    analysis = loop_analysis(context)
    inside = find_call(context, 'log(f"loss {loss.item()}")')
    assert analysis.training_loop_at(inside) is analysis.training_loops[0]
    in_helper = find_call(context, "print(msg)")
    assert analysis.training_loop_at(in_helper) is analysis.training_loops[0]
    outside = find_call(context, 'torch.amp.GradScaler("cuda")')
    assert analysis.training_loop_at(outside) is None


ACCUMULATION = """
import torch

def train(model, loader, opt, accum):
    for i, (x, y) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(x), y) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            opt.step()
            opt.zero_grad()
"""


def test_accumulation_guard_is_recorded():
    context = context_for(ACCUMULATION)
    (loop,) = find_training_loops(context)
    assert [line_of(context, guard) for guard in loop.accumulation_guards] == [8]
    assert loop.function.name.value == "train"


def test_an_epoch_loop_is_not_itself_a_training_loop():
    context = context_for(
        """
        import torch

        def fit(model, loader, opt, epochs):
            for epoch in range(epochs):
                for x, y in loader:
                    opt.zero_grad()
                    model(x).sum().backward()
                    opt.step()
        """
    )
    (loop,) = find_training_loops(context)
    assert line_of(context, loop.node) == 6
    assert [line_of(context, outer) for outer in loop.enclosing] == [5]


def test_env_step_is_not_an_optimizer_step():
    context = context_for(
        """
        import torch

        for episode in range(10):
            state, reward, done, info = env.step(action)
            loss.backward()
        """
    )
    assert find_training_loops(context) == []


EVALUATION = """
import torch
import lightning as L

def evaluate(model, val_loader):
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)

class Lit(L.LightningModule):
    def validation_step(self, batch, batch_idx):
        return self.model(batch)
"""


def test_eval_blocks_and_their_facts():
    context = context_for(EVALUATION)
    blocks = {(b.kind, b.label): b for b in find_eval_blocks(context)}
    loop_block = blocks[("loader-loop", "val_loader")]
    assert loop_block.eval_mode and loop_block.no_grad and not loop_block.framework_managed
    function_block = blocks[("function", "evaluate()")]
    assert function_block.function.name.value == "evaluate"
    lightning = blocks[("function", "validation_step()")]
    assert lightning.framework_managed
    analysis = loop_analysis(context)
    call = find_call(context, "model(x)")
    assert analysis.eval_block_at(call) is loop_block
    assert analysis.is_framework_managed(find_call(context, "self.model(batch)"))
    assert not analysis.is_framework_managed(call)


def test_analysis_is_computed_once_per_file():
    context = context_for(ACCUMULATION)
    assert loop_analysis(context) is loop_analysis(context)
    calls = []
    assert context.cached("k", lambda: calls.append(1) or 42) == 42
    assert context.cached("k", lambda: calls.append(1) or 43) == 42
    assert calls == [1]


def _helpers_calling_each_other(count: int, no_grad_entry: bool) -> str:
    """A trainer-like class whose helpers call each other (as in transformers'
    trainer.py), with an evaluation loop reached only through them."""
    lines = ["import torch", "", "class Trainer:"]
    for index in range(count):
        calls = [f"self.step_{(index + k) % count}()" for k in (1, 2, 3)]
        lines += [f"    def step_{index}(self):", *[f"        {call}" for call in calls]]
        lines.append("        self.evaluate()")
    lines += [
        "    def evaluate(self):",
        "        self.model.eval()",
        "        for x, y in self.val_loader:",
        "            self.model(x)",
        "    def run(self):",
    ]
    if no_grad_entry:
        lines += ["        with torch.no_grad():", "            self.evaluate()"]
    else:
        lines += ["        self.evaluate()"]
    return "\n".join(lines) + "\n"


def test_no_grad_through_helpers_that_call_each_other_is_decided_quickly():
    """Helpers that call each other in cycles once made the no-grad question explore every
    caller chain (minutes on transformers' trainer.py). The answer: not every caller
    disables gradients, so the block is not under no_grad."""
    for no_grad_entry in (False, True):
        context = context_for(_helpers_calling_each_other(40, no_grad_entry))
        blocks = {(b.kind, b.label): b for b in find_eval_blocks(context)}
        block = blocks[("function", "evaluate()")]
        assert block.eval_mode
        assert not block.no_grad


def test_no_grad_through_a_single_caller_chain():
    context = context_for(
        """
        import torch

        def evaluate(model, loader):
            model.eval()
            for x, y in loader:
                model(x)

        def validate(model, loader):
            return evaluate(model, loader)

        def main(model, loader):
            with torch.no_grad():
                validate(model, loader)
        """
    )
    blocks = {(b.kind, b.label): b for b in find_eval_blocks(context)}
    assert blocks[("function", "evaluate()")].no_grad
