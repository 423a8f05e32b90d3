"""Data-leakage findings (ML201 to ML207) derived from the value-flow facts of one file.

:mod:`mllint.analysis.dataflow` records fits, splits, uses and evaluations in program
order; this module decides which of them leak and words the message, naming both ends
with their lines. It is computed once per file and shared by the seven rules.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from mllint.analysis import ml_api
from mllint.rule import Rule

if TYPE_CHECKING:
    from mllint.analysis.dataflow import Facts, Fit, Split
    from mllint.context import FileContext


@dataclass(frozen=True)
class Finding:
    code: str
    node: cst.CSTNode
    message: str


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: The rule each kind of fit breaks when it sees rows of a later split / of a CV's folds.
_SPLIT_RULE = {"unsupervised": "ML201", "stat": "ML201", "supervised": "ML203", "resample": "ML204"}
_CV_RULE = {"unsupervised": "ML207", "stat": "ML207", "supervised": "ML203", "resample": "ML204"}


def _may_leak(context: FileContext) -> bool:
    """Whether the value flow can record a fit or an augmentation of evaluation data in
    this file (without one there is nothing to report). It needs one of: a call of a
    statistic or fitting method (``.mean``, ``.fit``, ``.fit_transform``,
    ``.fit_resample``, a Keras generator's ``.flow``), a statistic or fitting function
    (``np.percentile``, or one imported by name: ``from numpy import max``), or a
    ``transform``/``transforms`` keyword. A name the analysis resolves ends with the
    attribute the file spells or with the name an import statement spells, so a file
    whose text has none of these words after a dot, none among its imports and no
    ``transform`` word skips the analysis (~10% of a check of a PyTorch script) with the
    same, empty, result; such a word in a comment or string only keeps the analysis."""
    global _LEAK_WORDS
    if _LEAK_WORDS is None:
        functions = frozenset(
            name.rsplit(".", 1)[-1] for name in ml_api.STAT_FUNCTIONS | ml_api.FITTING_FUNCTIONS
        )
        methods = (
            ml_api.STAT_METHODS
            | ml_api.FIT_METHODS
            | ml_api.FIT_TRANSFORM_METHODS
            | ml_api.RESAMPLE_METHODS
            | ml_api.GENERATOR_FLOW_METHODS
            | functions
        )
        # An attribute may follow its dot across spaces, a line continuation or (inside
        # brackets) a comment and a new line.
        pattern = r"\.(?:[\s\\]|#[^\n]*)*(?:" + "|".join(sorted(methods)) + r")\b"
        _LEAK_WORDS = (re.compile(pattern + r"|\btransforms?\b"), functions)
    words, functions = _LEAK_WORDS
    if words.search(context.source.text) is not None:
        return True
    return any(
        target.rsplit(".", 1)[-1] in functions for target in context.imports.aliases.values()
    )


_LEAK_WORDS: tuple[re.Pattern, frozenset[str]] | None = None


def leakage_findings(context: FileContext) -> list[Finding]:
    """Every leakage finding in the file (cached per file)."""
    found = _CACHE.get(context)
    if found is None and not _may_leak(context):
        found = _CACHE[context] = []
    if found is None:
        # Here: a file that cannot leak (most PyTorch scripts) never imports the analysis.
        from mllint.analysis.dataflow import analyse

        facts = analyse(context.module, context.qualified_name)
        found = _Judge(context, facts).findings()
        _CACHE[context] = found
    return found


class LeakageRule(Rule):
    """Base of the ML2xx rules: report this rule's share of the file's leakage findings."""

    def visit_Module(self, node: cst.Module) -> None:
        return None  # the analysis runs once, in finish()

    def finish(self) -> None:
        for finding in leakage_findings(self.context):
            if finding.code == self.code:
                self.report(finding.node, finding.message)


def _is_test_function(name: str | None) -> bool:
    return bool(name) and (name.startswith("test_") or name == "test")


class _Judge:
    def __init__(self, context: FileContext, facts: Facts) -> None:
        self.context = context
        self.facts = facts
        self.found: list[Finding] = []
        self.seen: set[tuple[str, int]] = set()
        self.seen_lines: set[tuple[str, int]] = set()

    # -- wording -------------------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        return self.context.position(node)[0].row

    def text(self, node: cst.CSTNode, limit: int = 60) -> str:
        """The code of ``node`` on one line; long calls keep their shape with their
        arguments elided: ``SelectFromModel(...).fit(X, y)``."""
        code = " ".join(self.context.code(node).split())
        if len(code) <= limit:
            return code
        if isinstance(node, cst.Call):
            args = " ".join(self.context.code(node).split())[len(self.text(node.func, 10**6)) :]
            inner = args[1:-1] if args.startswith("(") else args
            head = self.text(node.func, limit)
            shown = inner if len(inner) <= 24 and len(head) + len(inner) <= limit else "..."
            return f"{head}({shown})"
        if isinstance(node, cst.Attribute):
            return f"{self.text(node.value, limit)}.{node.attr.value}"
        return code[: limit - 3] + "..."

    def where(self, fit: Fit) -> str:
        text = f"`{self.text(fit.node)}` on line {self.line(fit.node)}"
        if fit.via is not None:
            text += f" (in `{fit.function}`, called on line {self.line(fit.via)})"
        return text

    def split_name(self, split: Split) -> str:
        return f"`{self.text(split.node.func)}` on line {self.line(split.node)}"

    def add(self, code: str, node: cst.CSTNode, message: str) -> None:
        key = (code, id(node))
        if key in self.seen:
            return
        # Two statistics on one line ((X - X.mean()) / X.std()) are one finding.
        line_key = (code, self.line(node))
        if line_key in self.seen_lines:
            return
        self.seen.add(key)
        self.seen_lines.add(line_key)
        self.found.append(Finding(code, node, message))

    # -- decisions -----------------------------------------------------------------------

    def findings(self) -> list[Finding]:
        if not (self.facts.fits or self.facts.augment_on_eval):
            return []
        self.preprocessing_before_split()
        self.fit_on_test()
        self.test_reuse()
        self.augmentation_on_eval()
        return self.found

    def _used_with(self, fit: Fit, split: Split) -> bool:
        """The fit's state reaches the cross-validation, or a model's fit or evaluation on
        data from one of the split's sides (a split nobody trains on leaks nothing)."""
        if split.kind == "cvfunc":
            return fit.id in split.fits
        sides = {split.train, split.test}
        return any(
            fit.id in use.fits and use.split is None and use.seq > split.seq and use.rows & sides
            for use in self.facts.uses
        )

    def preprocessing_before_split(self) -> None:
        for fit in self.facts.fits:
            if fit.kind not in _SPLIT_RULE or not fit.rows:
                continue
            for split in self.facts.splits:
                if fit.rows.isdisjoint(split.rows):
                    continue
                if not self._used_with(fit, split):
                    continue
                self._report_preprocessing(fit, split)
                break

    def _report_preprocessing(self, fit: Fit, split: Split) -> None:
        where = self.where(fit)
        later = "later " if fit.seq < split.seq else ""
        if split.kind == "cvfunc":
            code = _CV_RULE[fit.kind]
            what = {
                "ML207": "is fitted outside the cross-validation of",
                "ML203": "selects features with the targets of every fold of",
                "ML204": "resamples before",
            }[code]
            advice = {
                "ML207": "so each fold's validation rows shaped it; put the preprocessing "
                "in a `Pipeline` passed to the cross-validation",
                "ML203": "so each fold's validation rows shaped it; put the selector in a "
                "`Pipeline` passed to the cross-validation",
                "ML204": "so copies of each fold's validation rows end up in its training "
                "rows; resample inside an imblearn `Pipeline`",
            }[code]
            self.add(code, fit.node, f"{where} {what} {self.split_name(split)}, {advice}")
            return
        if split.kind == "cv":
            code = _CV_RULE[fit.kind]
            side = "the validation folds"
        else:
            code = _SPLIT_RULE[fit.kind]
            side = "the validation set" if self._splits_training_data(split) else "the test set"
        fold = "inside the loop on each training fold" if split.kind == "cv" else ""
        if fit.kind == "stat":
            message = (
                f"{where} is computed over rows that {self.split_name(split)} {later}puts in "
                f"{side}; compute it {fold or 'on the training split'} only"
            )
        elif fit.kind == "resample":
            message = (
                f"{where} creates copies of rows that {self.split_name(split)} {later}puts in "
                f"{side}, so they leak into training; resample the training split only"
            )
        elif fit.kind == "supervised":
            message = (
                f"{where} selects with the targets of rows that {self.split_name(split)} "
                f"{later}puts in {side}; fit the selector on the training split only"
            )
        else:
            message = (
                f"{where} sees rows that {self.split_name(split)} {later}puts in {side}; "
                f"fit it {fold or 'on the training split'} only"
            )
        self.add(code, fit.node, message)

    def fit_on_test(self) -> None:
        tags = self.facts.tags
        for fit in self.facts.fits:
            if fit.kind in {"stat", "stateless"}:
                continue
            test_parts = [tags[t] for t in fit.rows if tags[t].side == "test"]
            if test_parts and self._fit_used(fit, {t.id for t in test_parts}):
                split = self.facts.splits[test_parts[0].split]
                x = self._first_arg(fit.node)
                self.add(
                    "ML202",
                    fit.node,
                    f"{self.where(fit)} fits on `{x}`, which holds test rows of "
                    f"{self.split_name(split)}; fit on the training split and only transform "
                    "or score the test data",
                )
                continue
            if fit.kind not in {"model", "baseline"}:
                continue
            self._model_before_split(fit)

    def _fit_used(self, fit: Fit, test_tags: set[int]) -> bool:
        """A fitted transformer's state reaches a consumer; a model fitted on test rows is
        scored on those same rows (a model fitted on a holdout for calibration, stacking
        or blending is scored elsewhere)."""
        if fit.kind in {"model", "baseline"}:
            return any(
                fit.id in e.model_fits and e.kind == "score" and e.rows & test_tags
                for e in self.facts.evals
            )
        return any(fit.id in use.fits for use in self.facts.uses)

    def _model_before_split(self, fit: Fit) -> None:
        tags = self.facts.tags
        for split in self.facts.splits:
            if split.kind == "cvfunc" or split.seq < fit.seq or not fit.rows & split.rows:
                continue
            for evaluation in self.facts.evals:
                if evaluation.kind != "score" or fit.id not in evaluation.model_fits:
                    continue
                rows = evaluation.rows
                if any(tags[t].split == split.id and tags[t].side == "test" for t in rows):
                    self.add(
                        "ML202",
                        fit.node,
                        f"{self.where(fit)} trains on rows that {self.split_name(split)} "
                        f"later puts in the test set, and `{self.text(evaluation.node)}` on "
                        f"line {self.line(evaluation.node)} scores them; fit on the training "
                        "split only",
                    )
                    return

    def _first_arg(self, node: cst.Call) -> str:
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value in {"X", "x"}:
                return self.text(arg.value, 40)
        return "its data"

    def test_reuse(self) -> None:
        facts = self.facts
        tags = facts.tags
        by_test: dict[int, list] = {}
        for evaluation in facts.evals:
            for tag in evaluation.rows:
                if tags[tag].side == "test" and self._is_test_split(facts.splits[tags[tag].split]):
                    by_test.setdefault(tag, []).append(evaluation)
        for tag, evaluations in by_test.items():
            split = facts.splits[tags[tag].split]
            scores = [e for e in evaluations if e.kind == "score"]
            # Candidates are compared on scores; predictions compared with each other
            # (``assert_array_equal(a.predict(X_test), b.predict(X_test))``) select nothing.
            # Unit tests compare models on purpose (``assert score_a == score_b``).
            scored = [e for e in scores if e.scored and not _is_test_function(e.function)]
            for evaluation in evaluations:
                if evaluation.kind != "validation":
                    continue
                later = [e for e in scores if e.seq > evaluation.seq]
                if not later and not evaluation.early_stopping:
                    continue
                shown = f"{evaluation.keyword}={self.text(evaluation.node, 40)}"
                tail = (
                    f", and `{self.text(later[0].node)}` on line {self.line(later[0].node)} "
                    "reports it as the final score"
                    if later
                    else " for early stopping"
                )
                self.add(
                    "ML205",
                    evaluation.node,
                    f"`{shown}` on line {self.line(evaluation.node)} tunes "
                    f"training on the test set of {self.split_name(split)}{tail}; hold out a "
                    "separate validation split",
                )
            self._candidates(split, scored)

    def _splits_training_data(self, split: Split) -> bool:
        """A split of a training side (``X_train`` into train and validation)."""
        tags = self.facts.tags
        return any(tags[t].side == "train" for t in split.rows)

    def _is_test_split(self, split: Split) -> bool:
        """Its test side is a test set (not a validation split carved from training data)."""
        return split.kind == "split" and not self._splits_training_data(split)

    def _candidates(self, split: Split, scores: list) -> None:
        objs = self.facts.objs
        counted: list = []
        seen_objs: set[int] = set()
        for evaluation in scores:
            models = [
                objs[o]
                for o in sorted(evaluation.objs)
                if objs[o].kind not in {"baseline", "loaded", "splitter", "datagen"}
            ]
            varying = any(
                set(obj.loops) & set(evaluation.loops) - set(split.loops) for obj in models
            )
            new = [o for o in models if o.id not in seen_objs]
            # Several objects in one value are candidates only when a loop goes over them
            # (``for name, model in models.items()``); ``candidates[best_name]`` is one model.
            in_loop = bool(set(evaluation.loops) - set(split.loops))
            if len(models) > 1 and not in_loop:
                continue
            if (len(models) > 1 and in_loop) or varying:
                count = "several" if varying else str(len(models))
                self.add(
                    "ML205",
                    evaluation.node,
                    f"`{self.text(evaluation.node)}` on line {self.line(evaluation.node)} scores "
                    f"{count} candidate models on the test set of {self.split_name(split)}, "
                    "which selects the model on the data meant for the final score; compare "
                    "candidates with cross-validation or a validation split",
                )
            elif new and counted:
                first = counted[0]
                self.add(
                    "ML205",
                    evaluation.node,
                    f"`{self.text(evaluation.node)}` on line {self.line(evaluation.node)} scores "
                    f"another model on the test set of {self.split_name(split)}, already used "
                    f"by `{self.text(first.node)}` on line {self.line(first.node)}; compare "
                    "candidates with cross-validation or a validation split and score the "
                    "test set once",
                )
            if new:
                counted.append(evaluation)
                seen_objs.update(o.id for o in new)

    def augmentation_on_eval(self) -> None:
        for event in self.facts.augment_on_eval:
            if event.reason == "subset":
                data = 'subset="validation"'
            elif event.reason == "train=False":
                data = "train=False"
            elif event.reason == "split":
                data = f"split={self.text(event.data, 30)}"
            else:
                data = self.text(event.data, 40)
            self.add(
                "ML206",
                event.node,
                f"`{self.text(event.node)}` on line {self.line(event.node)} applies the random "
                f"augmentation `{self.text(event.transform, 40)}` to evaluation data "
                f"(`{data}`); evaluate with a deterministic transform (resize, center crop, "
                "normalize)",
            )
