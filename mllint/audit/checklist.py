"""The experiment checklist: its sections and items, and how each item is answered.

An item fails when a rule behind it reported a finding (the findings are its evidence).
Otherwise its *judge* reads facts the engine already established (the project index and
its traces, the modules' imports, the shared facts of the rules) to say what satisfied it,
or that it does not apply to this project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mllint.audit.facts import Facts
from mllint.audit.model import Evidence, Status

#: Evidence lines listed per item; the rest are counted.
MAX_EVIDENCE = 5


@dataclass(frozen=True)
class Verdict:
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()


Judge = Callable[[Facts], Verdict]


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str
    #: Codes or code prefixes whose findings fail the item.
    rules: tuple[str, ...]
    judge: Judge


SECTIONS: dict[str, str] = {
    "reproducibility": "Reproducibility",
    "data": "Data handling",
    "training": "Training",
    "documentation": "Documentation",
}


def _pass(summary: str, evidence: list[Evidence] | tuple = ()) -> Verdict:
    return Verdict(Status.PASS, summary, tuple(evidence))


def _na(summary: str) -> Verdict:
    return Verdict(Status.NOT_APPLICABLE, summary)


def _capped(evidence: list[Evidence]) -> list[Evidence]:
    return evidence[:MAX_EVIDENCE]


# -- reproducibility -------------------------------------------------------------


_FAMILY_NAMES = {"python": "random", "numpy": "NumPy", "torch": "torch", "tensorflow": "TensorFlow"}


def judge_seeds(facts: Facts) -> Verdict:
    evidence = []
    drawing = 0
    for entry in facts.entry_points:
        trace = facts.trace(entry)
        seeds = [t for t in trace if t.event.kind == "seed"]
        # A program that seeds (a framework trainer seeds for it) is judged too: its
        # generators may be drawn from inside libraries mllint does not look into.
        if not seeds and not any(t.event.kind in ("use", "sklearn", "generator") for t in trace):
            continue
        drawing += 1
        if seeds:
            families = sorted({family for t in seeds for family in t.event.families})
            names = ", ".join(_FAMILY_NAMES.get(family, family) for family in families)
            text, line = facts.describe(seeds[0], entry)
            evidence.append(Evidence(f"seeded {text} ({names})", entry.path, line))
    if not drawing:
        return _na("no program draws random numbers")
    if not evidence:
        return _pass("no program draws from an unseeded generator")
    return _pass(f"{len(evidence)} of {drawing} programs seed their generators", evidence)


def judge_determinism(facts: Facts) -> Verdict:
    if not facts.training_entries:
        return _na("no program trains a model")
    evidence = []
    missing = []
    for entry, step in facts.training_entries:
        switches = facts.events(entry, "determinism")
        if switches:
            text, line = facts.describe(switches[0], entry)
            evidence.append(Evidence(f"enabled {text}", entry.path, line))
        else:
            missing.append(
                Evidence(
                    f"trains with `{step.event.text}` "
                    "and never enables deterministic algorithms (ML102 reports this once the "
                    "program seeds torch)",
                    entry.path,
                    step.anchor(entry).event.line,
                )
            )
    if missing:
        return Verdict(
            Status.FAIL, "a training program never enables deterministic algorithms", tuple(missing)
        )
    return _pass("every training program enables deterministic algorithms", evidence)


def judge_no_finding(what: str, imports: tuple[str, ...] = (), absent: str = "") -> Judge:
    """Passes when the item's rules ran without a finding over modules importing one of
    ``imports`` (any module when empty); not applicable when there is none."""

    def judge(facts: Facts) -> Verdict:
        modules = facts.modules_importing(*imports) if imports else facts.modules
        if not modules:
            return _na(absent or "nothing in the project that this applies to")
        noun = "file" if len(modules) == 1 else "files"
        used = sorted(
            {
                root
                for module in modules
                for qualified in module.imports.values()
                for root in imports
                if qualified == root or qualified.startswith(root + ".")
            }
        )
        paths = [module.path for module in modules]
        shown = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")
        uses = f" (using {', '.join(used)})" if used else ""
        evidence = [Evidence(f"checked {shown}{uses}: no finding")]
        return _pass(f"no {what} in {len(modules)} {noun}", evidence)

    return judge


def judge_training_loop(facts: Facts) -> Verdict:
    torch_modules = facts.modules_importing("torch", "lightning", "pytorch_lightning")
    if not facts.training_entries and not torch_modules:
        return _na("no PyTorch training code")
    evidence = [
        Evidence(
            f"{entry.path} trains with `{step.event.text}`",
            step.module.path,
            step.event.line,
        )
        for entry, step in facts.training_entries
    ]
    return _pass("no known training-loop mistake", evidence)


TABULAR = ("sklearn", "imblearn", "pandas", "polars", "xgboost", "lightgbm", "catboost")
AUGMENTATION = (
    "torchvision",
    "albumentations",
    "kornia.augmentation",
    "keras.preprocessing.image",
    "tensorflow.keras.preprocessing.image",
    "keras.layers",
    "tensorflow.keras.layers",
)
DEEP = ("torch", "tensorflow", "keras", "jax", "lightning", "pytorch_lightning", "transformers")


def default_items() -> list[Item]:
    """The checklist, in the order it is reported. Items whose rules come from other
    modules (logging, checkpointing, project files) get their judges from mllint.audit.extra."""
    from mllint.audit import extra

    return [
        Item(
            "seeds",
            "reproducibility",
            "Random number generators seeded",
            ("ML101", "ML103", "ML104"),
            judge_seeds,
        ),
        Item(
            "determinism",
            "reproducibility",
            "Deterministic algorithms enabled",
            ("ML102",),
            judge_determinism,
        ),
        Item(
            "environment",
            "reproducibility",
            "Environment captured (dependencies pinned)",
            ("ML902",),
            extra.judge_environment,
        ),
        Item("data-versioned", "reproducibility", "Data versioned", ("ML906",), extra.judge_data),
        Item(
            "outputs-ignored",
            "reproducibility",
            "Run outputs kept out of git",
            ("ML901", "ML903"),
            extra.judge_outputs_ignored,
        ),
        Item(
            "code-version",
            "reproducibility",
            "Runs record the code version",
            ("ML907",),
            extra.judge_code_version,
        ),
        Item(
            "split-before-preprocessing",
            "data",
            "Data split before preprocessing",
            ("ML201", "ML203", "ML204", "ML207"),
            judge_no_finding(
                "preprocessing fitted before a split or outside cross-validation",
                (*TABULAR, "keras", "tensorflow"),
                "no scikit-learn, pandas or Keras preprocessing in the project",
            ),
        ),
        Item(
            "test-data-isolated",
            "data",
            "Test data kept out of training and model selection",
            ("ML202", "ML205"),
            judge_no_finding(
                "fit on test data or test set reused for model selection",
                (*TABULAR, *DEEP),
                "no data splitting code in the project",
            ),
        ),
        Item(
            "augmentation-train-only",
            "data",
            "Augmentation only on training data",
            ("ML206",),
            judge_no_finding(
                "random augmentation applied to evaluation data",
                AUGMENTATION,
                "no data augmentation library in the project",
            ),
        ),
        Item(
            "experiment-tracking",
            "training",
            "Experiments tracked",
            ("ML302",),
            extra.judge_tracking,
        ),
        Item(
            "metrics-logged",
            "training",
            "Metrics logged, not printed",
            ("ML301",),
            extra.judge_metrics,
        ),
        Item(
            "hyperparameters-logged",
            "training",
            "Hyperparameters logged",
            ("ML303",),
            extra.judge_hyperparameters,
        ),
        Item(
            "checkpointing",
            "training",
            "Checkpoints saved during training",
            ("ML4",),
            extra.judge_checkpointing,
        ),
        Item(
            "early-stopping",
            "training",
            "Early stopping or best-checkpoint selection",
            ("ML908",),
            extra.judge_early_stopping,
        ),
        Item(
            "training-loop",
            "training",
            "Training loop free of known mistakes",
            ("ML5",),
            judge_training_loop,
        ),
        Item(
            "evaluation",
            "training",
            "Evaluation in eval mode without gradients",
            ("ML6",),
            judge_no_finding(
                "evaluation pass in training mode or with gradients",
                ("torch", "lightning", "pytorch_lightning", "transformers"),
                "no PyTorch evaluation code",
            ),
        ),
        Item(
            "readme",
            "documentation",
            "README with setup instructions",
            ("ML909",),
            extra.judge_readme,
        ),
    ]


def rule_codes(items: list[Item], registered: set[str]) -> set[str]:
    """The registered rules the checklist needs (prefixes expanded)."""
    return {code for code in registered for item in items if code.startswith(item.rules)}
