"""ML104 dataloader-worker-seed: worker processes that share one generator's state."""

from __future__ import annotations

from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

_DRAW_METHODS = ("__getitem__", "__iter__", "__next__")


class DataloaderWorkerSeed(ProjectRule):
    """
    ## What it does
    Reports a `DataLoader` with `num_workers > 0` (or a number only known at run time)
    and no `worker_init_fn`, whose dataset draws random numbers in `__getitem__` (or
    `__iter__`) from a generator object stored on the dataset:
    `self.rng = np.random.default_rng(seed)`, `np.random.RandomState(seed)` or
    `random.Random(seed)`.

    ## Why is this bad?
    Each worker process receives a copy of the dataset, generator state included, so
    every worker draws the *same* random numbers: worker 0 and worker 1 apply identical
    "random" crops, noise and masks to different samples, and the augmentation is far
    less random than intended. PyTorch re-seeds its own generator, Python's `random`
    and NumPy's *global* generator in every worker (since PyTorch 1.9, from the loader's
    base seed and the worker id), so code that calls `np.random.rand()` or
    `random.random()` directly is fine and is not reported; generator *objects* are not
    re-seeded, and are reported.

    ## Example
    ```python
    class Crops(Dataset):
        def __init__(self, images, seed=0):
            self.images = images
            self.rng = np.random.default_rng(seed)

        def __getitem__(self, i):
            y, x = self.rng.integers(0, 32, size=2)
            return self.images[i][:, y : y + 224, x : x + 224]


    loader = DataLoader(Crops(images), batch_size=64, num_workers=8)
    ```

    ## Use instead
    ```python
    def reseed(worker_id):
        info = torch.utils.data.get_worker_info()
        info.dataset.rng = np.random.default_rng(info.seed)


    loader = DataLoader(Crops(images), batch_size=64, num_workers=8, worker_init_fn=reseed)
    ```

    ## References
    - [PyTorch: Randomness in multi-process data loading](https://pytorch.org/docs/stable/data.html#data-loading-randomness)
    - `torch/utils/data/_utils/worker.py` (what each worker re-seeds)
    """

    code = "ML104"
    name = "dataloader-worker-seed"
    category = "reproducibility"
    summaries = "traced"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def check(self) -> None:
        index = self.project.index
        for module, event in index.events_of("loader"):
            if not event.data.get("dataset"):
                continue
            data = event.data
            if data.get("worker_init_fn"):
                continue
            if not (data.get("workers", 0) > 0 or data.get("workers_dynamic")):
                continue
            found = index.resolve_class(data["dataset"], module)
            if found is None:
                continue
            dataset_module, class_name = found
            shared = self._shared_generator(index, dataset_module, class_name)
            if shared is None:
                continue
            attribute, line, text = shared
            workers = (
                f"{data['workers']} worker processes"
                if not data.get("workers_dynamic")
                else "worker processes"
            )
            self.report_at(
                module,
                event,
                f"`{event.text}` starts {workers} that each copy "
                f"`{class_name}.{attribute}` (`{text}`, {dataset_module.path}:{line}), "
                "so every worker draws the "
                "same random numbers; re-seed it per worker in a `worker_init_fn` "
                "(from `torch.utils.data.get_worker_info().seed`)",
            )

    def _shared_generator(self, index, module, class_name: str, depth: int = 0):
        """(attribute, line, text) of a generator object the dataset draws from per item."""
        summary = module.classes.get(class_name)
        if summary is None or depth > 5:
            return None
        for attribute, (_seeded, line, text) in summary.instance_generators.items():
            methods = summary.generator_uses.get(attribute, [])
            if any(method in _DRAW_METHODS for method in methods):
                return attribute, line, text
        for base in summary.bases:
            found = index.resolve_class(base, module)
            if found is not None:
                result = self._shared_generator(index, found[0], found[1], depth + 1)
                if result is not None:
                    return result
        return None
