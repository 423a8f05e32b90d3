"""ML101 seed-not-set: an entry point draws from a random number generator it never seeds."""

from __future__ import annotations

from mllint.analysis import rng
from mllint.diagnostic import Applicability, Edit, Fix, Location, Severity
from mllint.rule import ProjectRule


class SeedNotSet(ProjectRule):
    """
    ## What it does
    Reports a program (a script, a notebook, a training entry point) that draws from a
    random number generator it never seeds before using it: Python's `random`, NumPy's
    global generator, PyTorch's generator (weight initialisation, dropout, shuffling
    `DataLoader`s, random samplers and transforms), or TensorFlow's. It also reports
    generator objects created without a seed (`np.random.default_rng()`,
    `np.random.RandomState()`, `random.Random()`, a JAX key made from the clock), which
    no global seed reaches.

    The whole program is judged, not one file: a seed set in `utils/repro.py` by a
    `set_everything(42)` helper that `train.py` calls counts, and a library module is
    never reported for what its callers do. Framework helpers count as seeding:
    `lightning.seed_everything`, `transformers.set_seed`, `accelerate.utils.set_seed`,
    `keras.utils.set_random_seed`, and Hugging Face's `Trainer` (which seeds from
    `TrainingArguments.seed` when it is constructed).

    ## Why is this bad?
    An unseeded run cannot be repeated: two runs of the same code on the same data give
    different weights, different splits and different scores, so a change that "improved
    accuracy by 0.4 points" may be noise, and a bug seen once cannot be reproduced.
    Seeding after the model is built leaves the initial weights unseeded.

    ## Example
    ```python
    import torch
    from model import Net

    model = Net()  # initial weights drawn from an unseeded generator
    loader = torch.utils.data.DataLoader(train_set, shuffle=True)
    ```

    ## Use instead
    ```python
    import torch
    from model import Net

    torch.manual_seed(0)
    model = Net()
    loader = torch.utils.data.DataLoader(train_set, shuffle=True)
    ```

    ## Notes
    The message names each unseeded generator, one place it is used, and the call chain
    from the entry point when the use is in another module. CUDA-only seeding
    (`torch.cuda.manual_seed_all`) does not count: the CPU generator still initialises
    weights and shuffles data. Order matters: a seed after the first use does not make
    that use reproducible.

    ## References
    - [PyTorch: Reproducibility](https://pytorch.org/docs/stable/notes/randomness.html)
    - [NumPy: random sampling and seeding](https://numpy.org/doc/stable/reference/random/index.html)
    """

    code = "ML101"
    name = "seed-not-set"
    category = "reproducibility"
    summaries = "traced"
    severity = Severity.WARNING

    def check(self) -> None:
        index = self.project.index
        reported_generators: set[tuple[str, int, int]] = set()
        for entry in index.entry_points():
            trace = self.project.trace(entry)
            framework_seeded: set[str] = set()
            for traced in trace:
                if traced.event.kind == "seed" and traced.event.data.get("framework"):
                    framework_seeded.update(traced.event.families)
            # Weight initialisation only matters in a program that trains: an evaluation
            # script builds the model and then loads its weights.
            trains = any(traced.event.kind == "train" for traced in trace)
            # Loaders, samplers, random transforms and dropout draw when used, not when
            # built: for them a seed anywhere in the program counts.
            seeded_somewhere = {
                family
                for traced in trace
                if traced.event.kind == "seed"
                for family in traced.event.families
            }
            seeded: set[str] = set()
            first_use: dict[str, object] = {}
            for traced in trace:
                event = traced.event
                if event.kind == "seed":
                    seeded.update(event.families)
                elif event.kind == "use":
                    if event.data.get("init") and not trains:
                        continue
                    for family in event.families:
                        if event.data.get("deferred") and family in seeded_somewhere:
                            continue
                        if family not in seeded and family not in framework_seeded:
                            # Name an immediate use (weights drawn now) over a deferred one
                            # (a transform that draws later) when the program has both.
                            earlier = first_use.get(family)
                            if earlier is None or (
                                earlier.event.data.get("deferred")
                                and not event.data.get("deferred")
                            ):
                                first_use[family] = traced
                elif event.kind == "generator":
                    key = (traced.module.relative, event.line, event.column)
                    if key not in reported_generators:
                        reported_generators.add(key)
                        self._report_generator(traced)
            if first_use:
                self._report_entry(entry, first_use)

    def _report_entry(self, entry, first_use: dict) -> None:
        families = [family for family in rng.FAMILIES if family in first_use]
        anchors = {family: first_use[family].anchor(entry) for family in families}
        anchor = min(anchors.values(), key=lambda step: (step.event.line, step.event.column))
        uses = []
        for family in families:
            traced = first_use[family]
            if traced.module is entry:
                where = f"line {traced.event.line}"
            else:
                where = f"{traced.where()}, reached via {traced.via_from(anchors[family])}"
            uses.append(f"`{traced.event.text}` ({where})")
        names = [_family_name(family) for family in families]
        verb = "is" if len(families) == 1 else "are"
        advice = " and ".join(f"`{rng.SEED_ADVICE[f]}`" for f in families)
        self.report_at(
            entry,
            anchor.event,
            f"{_join(names, 'and')} {verb} used but never seeded: {'; '.join(uses)}; "
            f"call {advice} (or a seeding helper) at the start of the program",
            fix=_seed_fix(entry, families),
        )

    def _report_generator(self, traced) -> None:
        kind = traced.event.data.get("kind", f"`{traced.event.text}`")
        self.report_at(
            traced.module,
            traced.event,
            f"{kind} creates a generator without a seed, which no global seed reaches; pass a "
            "seed (e.g. from the run's configuration)",
        )


#: family -> (module to import, alias when it must be imported, seeding call on the alias)
_SEED_CODE = {
    rng.PYTHON: ("random", "random", "{}.seed(0)"),
    rng.NUMPY: ("numpy", "np", "{}.random.seed(0)"),
    rng.TORCH: ("torch", "torch", "{}.manual_seed(0)"),
    rng.TENSORFLOW: ("tensorflow", "tf", "{}.random.set_seed(0)"),
}


def _seed_fix(entry, families: list[str]) -> Fix:
    """Insert seeding calls (seed 0) after the entry point's imports, importing what is
    missing. Unsafe: the seed value is the user's choice, and seeding changes results."""
    imports: list[str] = []
    calls: list[str] = []
    for family in families:
        module, default_alias, template = _SEED_CODE[family]
        alias = next((a for a, q in sorted(entry.imports.items()) if q == module), None)
        if alias is None:
            alias = default_alias
            imports.append(f"import {module}" if alias == module else f"import {module} as {alias}")
        calls.append(template.format(alias))
    content = "".join(f"{line}\n" for line in [*imports, *calls])
    at = Location(entry.header_end_line + 1, 1)
    return Fix(
        applicability=Applicability.UNSAFE,
        message=f"Seed {' and '.join(_SEED_CODE[f][0] for f in families)} after the imports",
        edits=(Edit(content, at, at),),
    )


def _family_name(family: str) -> str:
    return {
        rng.PYTHON: "Python's `random`",
        rng.NUMPY: "NumPy's global RNG",
        rng.TORCH: "torch's RNG",
        rng.TENSORFLOW: "TensorFlow's RNG",
    }[family]


def _join(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]
