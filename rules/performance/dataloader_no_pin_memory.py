"""ML802 dataloader-no-pin-memory: batches are copied to the GPU from pageable memory."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import keyword_value
from mllint.analysis.dataloaders import dataset_is_in_memory, loader_feeds
from mllint.diagnostic import Severity
from mllint.rule import Rule


class DataloaderNoPinMemory(Rule):
    """
    ## What it does
    Reports a `DataLoader` without `pin_memory=True` whose batches a training loop
    copies to a GPU (`x.cuda()`, `x.to(device)` with an evident CUDA device, or
    `x.to(device, non_blocking=True)`).

    The loader must be built in the same file (directly, through a variable, or passed to
    a local training function); loaders built with `**kwargs` are not judged (the
    classic `cuda_kwargs = {"pin_memory": True}` pattern), and neither are loaders over
    a `TensorDataset` (pinning would add a copy of tensors already in memory). A warning
    when the copy asks for `non_blocking=True`, which has no effect from pageable memory;
    otherwise info.

    ## Why is this bad?
    A copy from ordinary (pageable) host memory is staged through a pinned buffer by the
    driver and cannot overlap with computation. Measured with
    `benchmarks/perf_rules_gpu.py` (one H200, PyTorch 2.11): copying eight
    64x3x224x224 float32 batches took 31.1 ms from pageable memory (9.9 GB/s, the same
    with `non_blocking=True`) and 5.6 ms from pinned memory (55 GB/s), 5.6x faster.

    ## Example
    ```python
    loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    ```

    ## Use instead
    ```python
    loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8, pin_memory=True)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    ```

    ## References
    - [PyTorch: A guide on good usage of non_blocking and pin_memory()](https://pytorch.org/tutorials/intermediate/pinmem_nonblock.html)
    - [PyTorch: Memory pinning (torch.utils.data)](https://pytorch.org/docs/stable/data.html#memory-pinning)
    - [NVIDIA: How to optimize data transfers in CUDA C/C++](https://developer.nvidia.com/blog/how-optimize-data-transfers-cuda-cc/)
    """

    code = "ML802"
    name = "dataloader-no-pin-memory"
    category = "performance"
    severity = Severity.INFO
    requires_imports = frozenset({"torch"})

    def leave_Module(self, original_node) -> None:
        reported: set[int] = set()
        for feed in loader_feeds(self.context):
            loader = feed.loader
            if id(loader) in reported or not feed.gpu_moves or feed.loader_has_star_arguments:
                continue
            pin = keyword_value(loader, "pin_memory")
            if pin is not None and not (isinstance(pin, cst.Name) and pin.value == "False"):
                continue  # pinned, or decided by a variable (pin_memory=use_cuda)
            if dataset_is_in_memory(self.context, loader):
                continue  # pinning each batch is one more copy of tensors already in memory
            reported.add(id(loader))
            asynchronous = [move for move in feed.gpu_moves if move.non_blocking]
            move = (asynchronous or feed.gpu_moves)[0]
            line = self.context.position(move.call)[0].row
            copy = f"`{self.context.code(move.call)}` (line {line})"
            if asynchronous:
                message = (
                    f"the loop copies batches of `{self.context.code(feed.iterable)}` with "
                    f"{copy}, which cannot be asynchronous from pageable memory; pass "
                    "`pin_memory=True`"
                )
            else:
                message = (
                    f"the loop copies batches of `{self.context.code(feed.iterable)}` to the "
                    f"GPU with {copy} from pageable memory; pass `pin_memory=True` for "
                    "faster copies"
                )
            self.report(
                loader,
                message,
                severity=Severity.WARNING if asynchronous else None,
            )
