"""Judges of the checklist items answered by the logging, checkpointing and project rules,
from their shared facts: mllint.analysis.tracking (per program), mllint.analysis.projectfiles
(per project root), mllint.analysis.datafiles and mllint.analysis.projectdocs."""

from __future__ import annotations

from mllint.audit.checklist import Verdict, _na, _pass
from mllint.audit.facts import Facts
from mllint.audit.model import Evidence, Status


def _fail(summary: str, evidence: list[Evidence]) -> Verdict:
    return Verdict(Status.FAIL, summary, tuple(evidence))


def _project_roots(facts: Facts) -> list:
    if facts.project is None:
        return []
    from mllint.analysis.projectfiles import projects

    return projects(facts.project)


def _program_facts(facts: Facts) -> list:
    """(entry, tracking.ProgramFacts) of every entry point that trains."""
    if facts.project is None:
        return []
    from mllint.analysis import tracking

    found = []
    for entry in facts.entry_points:
        program = tracking.program_facts(facts.project, entry)
        if program.trains:
            found.append((entry, program))
    return found


def _at(evidence, entry, text: str) -> Evidence:
    """Evidence anchored where ``evidence`` (a tracking.Evidence) happens; the program is
    named when that is in another file."""
    program = "" if evidence.module is entry else f" (in {entry.path})"
    return Evidence(f"{text}{program}", evidence.module.path, evidence.event.line)


def _describe(evidence, entry) -> str:
    text = evidence.describe(entry).replace(f"(line {evidence.event.line})", "").strip()
    # A call cut short in the index ("`torch.save(...`") is shown closed.
    return text.replace("...`", "...)`") if text.count("(") > text.count(")") else text


# -- reproducibility ---------------------------------------------------------------------


def judge_environment(facts: Facts) -> Verdict:
    from mllint.analysis.projectfiles import is_project_root

    # Folders of loose scripts (no .git, pyproject.toml, requirements.txt, ...) are not
    # projects: there is no place where their environment would be declared.
    roots = [files for files in _project_roots(facts) if is_project_root(files.root)]
    if not roots:
        return _na("no project root (a folder with .git, pyproject.toml or requirements.txt)")
    evidence = []
    missing = []
    for files in roots:
        dependencies = files.dependencies()
        if dependencies.lock_files:
            names = ", ".join(files.relative(path) for path in dependencies.lock_files)
            evidence.append(
                Evidence(f"locked by {names}", files.display_path(dependencies.lock_files[0]))
            )
        elif dependencies.files:
            requirements = dependencies.requirements
            pinned = sum(1 for requirement in requirements if requirement.pinned)
            names = ", ".join(files.relative(path) for path in dependencies.files)
            evidence.append(
                Evidence(
                    f"declared in {names} ({pinned} of {len(requirements)} pinned to a version)",
                    files.display_path(dependencies.files[0]),
                )
            )
        else:
            missing.append(
                Evidence(
                    "no requirements.txt, pyproject.toml dependencies, environment.yml or "
                    "lock file",
                    files.display_path(files.root),
                )
            )
    if missing:
        return _fail("the environment is not declared", missing)
    return _pass("the environment is declared", evidence)


def judge_data(facts: Facts) -> Verdict:
    roots = _project_roots(facts)
    from mllint.analysis.datafiles import LARGE_DATA_BYTES, data_facts
    from mllint.analysis.projectfiles import format_size

    evidence = []
    small = 0
    for files in roots:
        data = data_facts(files)
        by_how: dict[str, list] = {}
        for file in data.versioned():
            by_how.setdefault(file.evidence, []).append(file)
        for how, versioned in sorted(by_how.items()):
            total = sum(file.size for file in versioned)
            names = ", ".join(files.relative(file.path) for file in versioned[:3])
            more = f" and {len(versioned) - 3} more" if len(versioned) > 3 else ""
            kind = {"dvc": "DVC", "lfs": "Git LFS", "hash": "a checksum file"}[
                versioned[0].versioned_by
            ]
            evidence.append(
                Evidence(
                    f"{names}{more} ({format_size(total)}) versioned by {kind}: {how}",
                    files.display_path(versioned[0].path),
                )
            )
        small += sum(file.size for file in data.files if file.versioned_by is None)
    if evidence:
        return _pass("the data in the repository is versioned", evidence)
    if small:
        return _na(
            f"only small data files in the repository ({format_size(small)} in all, below "
            f"{format_size(LARGE_DATA_BYTES)} per folder)"
        )
    return _na("no data files in the repository (folders git ignores are not looked at)")


def judge_outputs_ignored(facts: Facts) -> Verdict:
    from mllint.analysis.projectfiles import is_project_root

    evidence = []
    for files in _project_roots(facts):
        if not is_project_root(files.root):
            continue
        shown = [files.display_path(path) for path in files.gitignore.files()]
        if shown:
            evidence.append(
                Evidence(
                    f"what the code writes is ignored by {', '.join(shown)}",
                    files.display_path(files.gitignore.files()[-1]),
                )
            )
        else:
            evidence.append(
                Evidence(
                    "no run output found that git would pick up", files.display_path(files.root)
                )
            )
    if not evidence:
        return _na("no project root (a folder with .git, pyproject.toml or requirements.txt)")
    return _pass("checkpoints, data downloads and logs stay out of git", evidence)


def judge_code_version(facts: Facts) -> Verdict:
    from mllint.rules.project.run_not_linked_to_code import records_commit

    evidence = []
    for entry, program in _program_facts(facts):
        if program.code_version:
            first = program.code_version[0]
            evidence.append(_at(first, entry, f"records the commit with {_describe(first, entry)}"))
            continue
        for use in program.explicit_trackers:
            if records_commit(use, entry):
                first = use.evidence[0]
                evidence.append(
                    _at(
                        first,
                        entry,
                        f"{use.label} records the git commit of each run "
                        f"({_describe(first, entry)})",
                    )
                )
                break
    if not evidence:
        return _na("no training program logs to an experiment tracker")
    return _pass("tracked runs record the code version", evidence)


# -- training --------------------------------------------------------------------------


def judge_tracking(facts: Facts) -> Verdict:
    programs = _program_facts(facts)
    if not programs:
        return _na("no program trains a model")
    evidence, missing = [], []
    for entry, program in programs:
        if program.trackers:
            use = (program.explicit_trackers or program.trackers)[0]
            first = use.evidence[0]
            evidence.append(_at(first, entry, f"{use.label} ({_describe(first, entry)})"))
        else:
            step = program.training[0] if program.training else None
            missing.append(
                Evidence(
                    "trains without recording its runs: no tracker, metrics file or log",
                    entry.path,
                    step.event.line if step is not None and step.module is entry else None,
                )
            )
    if missing:
        return _fail("a training program records nothing about its runs", missing)
    return _pass("every training program tracks its runs", evidence)


def judge_metrics(facts: Facts) -> Verdict:
    programs = [(e, p) for e, p in _program_facts(facts) if p.trackers]
    if not programs:
        return _na("no training program logs metrics (see Experiments tracked)")
    evidence = []
    for entry, program in programs:
        use = (program.explicit_trackers or program.trackers)[0]
        last = use.evidence[-1]
        evidence.append(_at(last, entry, f"logs to {use.label} ({_describe(last, entry)})"))
    return _pass("metrics go to a tracker, not only to the console", evidence)


def judge_hyperparameters(facts: Facts) -> Verdict:
    programs = [
        (e, p) for e, p in _program_facts(facts) if p.hyperparameters or p.explicit_trackers
    ]
    if not programs:
        return _na("no training program logs to an experiment tracker")
    evidence, missing = [], []
    for entry, program in programs:
        if program.hyperparameters:
            first = program.hyperparameters[0]
            evidence.append(_at(first, entry, f"logged with {_describe(first, entry)}"))
        else:
            use = program.explicit_trackers[0]
            missing.append(
                _at(
                    use.evidence[0],
                    entry,
                    f"logs to {use.label} but never gives it the run's configuration",
                )
            )
    if missing:
        return _fail("a tracked training program does not log its configuration", missing)
    return _pass("the configuration of each run is logged", evidence)


#: Ways of training that checkpointing is judged for (a visible loop or a framework).
_CHECKPOINTED_KINDS = {"loop", "lightning", "hf", "keras"}


def judge_checkpointing(facts: Facts) -> Verdict:
    programs = [(e, p) for e, p in _program_facts(facts) if p.training_kinds & _CHECKPOINTED_KINDS]
    if not programs:
        return _na("no program trains a model in a loop or with a framework trainer")
    evidence, missing = [], []
    for entry, program in programs:
        periodic = program.periodic_checkpoints
        chosen = periodic[0] if periodic else None
        if chosen is None:
            saved = program.checkpoints[0] if program.checkpoints else None
            step = program.training[0] if program.training else None
            text = (
                f"saves only after training ({_describe(saved.evidence, entry)})"
                if saved is not None
                else "never saves the model's state"
            )
            line = step.event.line if step is not None and step.module is entry else None
            missing.append(Evidence(text, entry.path, line))
            continue
        where = {
            "in-loop": "inside the training loop",
            "framework": "by the framework during training",
        }.get(chosen.placement, chosen.placement.replace("-", " "))
        evidence.append(
            _at(chosen.evidence, entry, f"saves with {_describe(chosen.evidence, entry)} {where}")
        )
    if missing:
        return _fail("a training program does not checkpoint while it trains", missing)
    return _pass("training saves checkpoints", evidence)


def judge_early_stopping(facts: Facts) -> Verdict:
    from mllint.rules.project.no_early_stopping import validations_during_training

    programs = _program_facts(facts)
    if not programs:
        return _na("no program trains a model")
    evidence = []
    validating = 0
    for entry, program in programs:
        best = [c for c in program.checkpoints if c.best]
        if program.selection:
            first = program.selection[0]
            how = first.data.get("how") or _describe(first, entry)
            evidence.append(_at(first, entry, f"selects the model with {how}"))
        elif best:
            evidence.append(
                _at(
                    best[0].evidence,
                    entry,
                    f"keeps the best checkpoint ({_describe(best[0].evidence, entry)})",
                )
            )
        elif validations_during_training(facts.project, entry):
            validating += 1
    if evidence:
        return _pass("training stops early or keeps the best checkpoint", evidence)
    return _na("no training program validates while it trains")


# -- documentation ---------------------------------------------------------------------


def judge_readme(facts: Facts) -> Verdict:
    from mllint.analysis.projectdocs import find_readme
    from mllint.analysis.projectfiles import is_project_root

    evidence = []
    for files in _project_roots(facts):
        if not is_project_root(files.root):
            continue
        readme = find_readme(files.root)
        if readme is not None and readme.setup is not None:
            line, text = readme.setup
            evidence.append(
                Evidence(f"setup instructions: `{text}`", files.display_path(readme.path), line)
            )
    if not evidence:
        return _na("no project root (a folder with .git, pyproject.toml or requirements.txt)")
    return _pass("the README says how to set the project up", evidence)
