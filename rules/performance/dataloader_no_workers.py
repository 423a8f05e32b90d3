"""ML801 dataloader-no-workers: a training loop's DataLoader loads batches in the main process."""

from __future__ import annotations

from mllint.analysis.calls import keyword_value
from mllint.analysis.dataloaders import dataset_is_in_memory, loader_feeds
from mllint.diagnostic import Severity
from mllint.rule import Rule


class DataloaderNoWorkers(Rule):
    """
    ## What it does
    Reports a `DataLoader` without `num_workers` (or with `num_workers=0`) that feeds a
    training loop copying its batches to a GPU. With no workers, every batch is read,
    decoded and augmented in the training process while the GPU waits.

    Off by default: whether workers help depends on what the data set does per item,
    which a static tool cannot see. It does not matter for data already in memory as
    tensors (`TensorDataset`, not reported), for cheap items (pre-tokenised arrays,
    small tabular rows), or where worker start-up dominates (tiny data sets, notebooks
    on macOS and Windows, where workers are spawned and may need a `__main__` guard).
    It matters most for images and audio decoded per item.

    ## Why is this bad?
    Measured with `benchmarks/perf_rules_gpu.py` (one H200, PyTorch 2.11): an epoch of
    1,024 items that each cost ~10 ms of CPU work (decode/augment-like) took 10.6 s with
    `num_workers=0` and 1.8 s with 8 workers (5.8x), the GPU idle for most of the slow
    epoch. PyTorch's performance tuning guide recommends `num_workers > 0` for the same
    reason.

    ## Example
    ```python
    loader = DataLoader(ImageFolder("data/train", transform=augment), batch_size=64, shuffle=True)
    for images, labels in loader:
        images, labels = images.cuda(), labels.cuda()
        ...
    ```

    ## Use instead
    ```python
    loader = DataLoader(
        ImageFolder("data/train", transform=augment),
        batch_size=64,
        shuffle=True,
        num_workers=8,  # about the number of CPU cores per GPU
        persistent_workers=True,
    )
    ```

    ## References
    - [PyTorch: Performance Tuning Guide, "Enable async data loading"](https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html)
    - [PyTorch: Single- and multi-process data loading](https://pytorch.org/docs/stable/data.html#single-and-multi-process-data-loading)
    """

    code = "ML801"
    name = "dataloader-no-workers"
    category = "performance"
    severity = Severity.INFO
    enabled_by_default = False
    requires_imports = frozenset({"torch"})

    def leave_Module(self, original_node) -> None:
        reported: set[int] = set()
        for feed in loader_feeds(self.context):
            loader = feed.loader
            if id(loader) in reported or not feed.gpu_moves or feed.loader_has_star_arguments:
                continue
            workers = keyword_value(loader, "num_workers")
            if workers is not None and self.context.code(workers).strip() != "0":
                continue  # workers, or a number decided elsewhere (args.workers)
            if dataset_is_in_memory(self.context, loader):
                continue
            reported.add(id(loader))
            move = feed.gpu_moves[0]
            line = self.context.position(move.call)[0].row
            what = "with `num_workers=0`" if workers is not None else "without `num_workers`"
            self.report(
                loader,
                f"`{self.context.code(feed.iterable)}` loads batches in the training process "
                f"({what}) while the loop sends them to the GPU (line {line}); set "
                "`num_workers` to a few processes so the GPU does not wait for data",
            )
