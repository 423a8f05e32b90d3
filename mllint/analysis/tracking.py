"""Experiment tracking and checkpointing: what a program records and what it saves.

Shared by the logging (ML3xx) and checkpointing (ML4xx) rules and by ``mllint audit``.
Like seeding, these are properties of programs, judged per entry point over the project
index (:mod:`mllint.analysis.project`), so that a ``save_checkpoint()`` helper in
``utils.py`` called from ``train.py`` counts as checkpointing and a ``Logger`` class
wrapping wandb counts as tracking.

Two halves:

1. **Recognition** (per file, inside the project summariser's walk):
   :func:`record_call` adds events to the module summary for the calls that matter here,
   and :func:`loop_spans` records the file's loops (which of them train, by
   :mod:`mllint.analysis.loops`). Event kinds added (``Event.kind``):

   - ``tracker``: an experiment tracker or metrics record is set up or written to;
     ``data``: ``tracker`` (:data:`TRACKERS` key), ``config`` (the run's configuration
     is passed here), ``implicit`` (a framework default, e.g. Lightning's default logger).
   - ``hparams``: the configuration reaches a tracker (``data["tracker"]``).
   - ``code_version``: the run records its code version (git commit) explicitly.
   - ``save``: model state is persisted; ``data``: ``how``, ``contents`` (list of
     :data:`CONTENT_KINDS`, or None when unknown), ``whole_module``, ``periodic``
     (a framework checkpoints during training), ``best`` (model selection), ``param``
     (the saved object is this parameter of the enclosing function), ``opaque`` (a call
     we cannot see into whose name says it saves).
   - ``checkpointing_off``: a framework's own checkpointing is disabled
     (``data["framework"]``).
   - ``framework``: a framework trainer is built (``data``: ``framework``
     ``lightning``/``hf``, ``checkpointing``, ``logger``).
   - ``fit``: a Keras ``fit`` (a training run that is not a visible loop).
   - ``selection``: early stopping or best-checkpoint selection (``data["how"]``).
   - call events get ``data["saved_args"]`` when an argument is a checkpoint-like value
     (a dict of state dicts), so that contents follow a ``save_checkpoint(state)`` helper.

2. **Facts** (per run): :func:`program_facts` answers, for one entry point, which
   trackers it uses, whether hyperparameters and the code version reach them, where model
   state is saved (inside or after the training loop, and what the checkpoint holds) and
   whether it stops early or keeps the best checkpoint. Every fact carries
   :class:`Evidence`: the event, its module and the call chain from the entry point.

Limits: contents are read from literal dicts, ``x.state_dict()`` calls and dicts built by
name in the same function; anything else is "unknown" and no rule judges it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mllint.analysis.calls import argument, has_star_arguments, keyword_value
from mllint.analysis.names import dotted_name
from mllint.importcache import cst  # LibCST, imported when a file is parsed
from mllint.lazyre import lazy_compile

if TYPE_CHECKING:
    from mllint.analysis.project import Event, ModuleSummary, Traced

#: Tracker name -> (label for messages, records the code version by itself).
TRACKERS: dict[str, tuple[str, bool]] = {
    "wandb": ("Weights & Biases", True),
    "mlflow": ("MLflow", True),
    "tensorboard": ("TensorBoard", False),
    "comet": ("Comet", True),
    "neptune": ("Neptune", True),
    "aim": ("Aim", True),
    "clearml": ("ClearML", True),
    "dvclive": ("DVCLive", True),
    "lightning": ("a Lightning logger", False),
    "hf": ("the Hugging Face Trainer's reporting", False),
    "keras": ("a Keras logging callback", False),
    "accelerate": ("Accelerate's trackers", False),
    "file": ("a metrics file", False),
    "logging": ("the logging module", False),
}

#: What a checkpoint may hold.
CONTENT_KINDS = ("model", "optimizer", "scheduler", "scaler", "counter", "config", "other")
#: What a framework's or a resume helper's checkpoint holds.
_EVERYTHING = ("model", "optimizer", "scheduler", "counter")

_LIGHTNING_ROOTS = ("lightning", "pytorch_lightning", "lightning_fabric")
_HF_TRAINER_ROOTS = ("transformers", "trl", "setfit", "sentence_transformers")
_KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")

_OPTIMIZER = re.compile(r"optim|(^|_)opt($|_|\d|imi)", re.I)
_SCHEDULER = re.compile(r"sched|lr_?policy|warmup", re.I)
_SCALER = re.compile(r"scaler", re.I)
_COUNTER = lazy_compile(
    r"^(epoch|epochs|step|steps|global_step|iter|iteration|iter_num|it|batch_idx|start_epoch"
    r"|best_.*|.*_step|.*_epoch|num_updates|updates|rng.*)$",
    re.I,
)
_CONFIG = lazy_compile(
    r"^(config|cfg|args|hparams|hyper_?parameters|model_args|arch|settings)$", re.I
)
_MODELISH = lazy_compile(
    r"(^|_)(model|net|network|module|classifier|regressor|estimator|clf|pipe|pipeline"
    r"|booster|encoder|decoder|generator|discriminator|backbone|unet|gpt|bert|ema|policy"
    r"|learner|transformer|autoencoder|vae|gan|critic|actor)s?($|_|\d)"
    r"|(model|net)$",
    re.I,
)
_NOT_MODEL = lazy_compile(
    r"token|processor|vocab|feature_extractor|config|scaler|encoder_?map", re.I
)
_BEST = re.compile(r"best|improv|lowest|highest|min_val|max_val|patience", re.I)
_SAVE_NAME = re.compile(
    r"^(save_(checkpoint|ckpt|model|weights|state|network|net|models)|checkpoint"
    r"|save_best(_model)?|save_snapshot|save|dump_checkpoint)$"
)
_SAVING_HELPER = re.compile(r"save|checkpoint|ckpt|snapshot|dump|persist|store", re.I)
_METRICS_PATH = re.compile(r"log|metric|history|result|score|csv|json|jsonl|stats", re.I)

# -- recognition ------------------------------------------------------------------------


def record_call(summarizer, node: cst.Call, qualified: str | None) -> None:
    """Add this module's tracking and checkpointing events for one call (see module doc)."""
    try:
        _record(summarizer, node, qualified)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return  # recognition is best-effort; a summary without the event is still valid


def _record(summarizer, node: cst.Call, qualified: str | None) -> None:
    event = summarizer._event
    func = node.func
    method = func.attr.value if type(func) is cst.Attribute else None
    receiver = dotted_name(func.value) if type(func) is cst.Attribute else None
    q = qualified or ""
    root = q.split(".")[0]
    roots = summarizer.context.imports.imported_roots

    # -- experiment trackers ----------------------------------------------------------
    if root == "wandb":
        if q in ("wandb.init",):
            config = _has(node, "config") or has_star_arguments(node)
            event("tracker", node, data={"tracker": "wandb", "config": config})
            if config:
                event("hparams", node, data={"tracker": "wandb"})
        elif q.startswith("wandb.config.") or q in ("wandb.config",):
            event("hparams", node, data={"tracker": "wandb"})
        elif q.startswith(("wandb.log", "wandb.keras", "wandb.integration", "wandb.run")):
            event("tracker", node, data={"tracker": "wandb"})
        return
    if root == "mlflow":
        name = q.rsplit(".", 1)[-1]
        if name in ("log_model", "save_model", "log_state_dict", "save_state_dict"):
            event("save", node, data={"how": f"`{q}`", "contents": ["model"]})
            return
        if name in ("log_param", "log_params", "autolog", "log_dict") or q.endswith(".autolog"):
            event("hparams", node, data={"tracker": "mlflow"})
        if name in ("set_tag", "set_tags"):
            return
        event("tracker", node, data={"tracker": "mlflow", "config": name == "autolog"})
        return
    if (q.endswith("SummaryWriter") and root in ("torch", "tensorboardX", "tensorboard")) or (
        q.startswith(("tensorflow.summary.", "tf.summary."))
    ):
        event("tracker", node, data={"tracker": "tensorboard"})
        return
    if q.startswith("tensorboard.plugins.hparams"):
        event("hparams", node, data={"tracker": "tensorboard"})
        return
    if (root == "comet_ml" and q.rsplit(".", 1)[-1][:1].isupper()) or q == "comet_ml.start":
        event("tracker", node, data={"tracker": "comet"})
        return
    if root == "neptune" and ("init" in q or q.endswith("Run")):
        event("tracker", node, data={"tracker": "neptune"})
        return
    if root == "aim" and q.rsplit(".", 1)[-1] in ("Run", "Repo", "Session"):
        event("tracker", node, data={"tracker": "aim"})
        return
    if root == "clearml" and q.endswith("Task.init"):
        # ClearML captures argparse arguments and the git state by itself.
        event("tracker", node, data={"tracker": "clearml", "config": True})
        event("hparams", node, data={"tracker": "clearml"})
        return
    if root == "dvclive" and q.endswith("Live"):
        event("tracker", node, data={"tracker": "dvclive"})
        return
    if (root in _LIGHTNING_ROOTS and ".loggers." in q) or q.endswith(
        ("WandbLogger", "MLFlowLogger")
    ):
        event("tracker", node, data={"tracker": "lightning"})
        return
    if root in ("loguru",) or (root == "logging" and q != "logging.getLogger"):
        if root == "logging" and q.rsplit(".", 1)[-1] in ("disable",):
            return
        event("tracker", node, data={"tracker": "logging"})
        return
    if q == "logging.getLogger":
        event("tracker", node, data={"tracker": "logging"})
        return
    if root == "hydra" and q.endswith("main"):
        event("tracker", node, data={"tracker": "logging"})  # hydra logs each run to a file
        return
    if root == "accelerate" and q.endswith("Accelerator") and _has(node, "log_with"):
        event("tracker", node, data={"tracker": "accelerate"})
        return
    if method == "init_trackers":
        event("tracker", node, data={"tracker": "accelerate", "config": _has(node, "config")})
        if _has(node, "config") or len(node.args) > 1:
            event("hparams", node, data={"tracker": "accelerate"})
        return
    if method in ("save_hyperparameters", "log_hyperparams"):
        event("hparams", node, data={"tracker": "lightning"})
        return
    if method == "add_hparams":
        event("hparams", node, data={"tracker": "tensorboard"})
        return
    if method in ("log_parameters", "log_params") and receiver not in (None, "self"):
        event("hparams", node, data={"tracker": receiver})
        return

    # -- metrics files and code version ------------------------------------------------
    if q in ("json.dump", "csv.writer", "csv.DictWriter", "yaml.dump", "yaml.safe_dump"):
        event("tracker", node, data={"tracker": "file", "how": q})
        return
    if method in ("to_csv", "to_json", "to_parquet") or q in ("numpy.savetxt",):
        event("tracker", node, data={"tracker": "file", "how": method or q})
        return
    if q == "builtins.open" or (type(func) is cst.Name and func.value == "open"):
        mode = argument(node, "mode", 1)
        path = argument(node, "file", 0)
        mode_text = mode.evaluated_value if type(mode) is cst.SimpleString else ""
        if isinstance(mode_text, str) and (
            "a" in mode_text
            or ("w" in mode_text and path is not None and _METRICS_PATH.search(_text(path)))
        ):
            event("tracker", node, data={"tracker": "file", "how": "open"})
        return
    if (q.startswith("subprocess.") and "rev-parse" in _text(node)) or q.startswith("git.Repo"):
        event("code_version", node, data={"how": q})
        return

    # -- framework trainers ------------------------------------------------------------
    if type(func) is cst.Name and func.value in summarizer.summary.classes:
        for base in summarizer.summary.classes[func.value].bases:
            if base.endswith("Trainer") and base.split(".")[0] in _HF_TRAINER_ROOTS:
                q, root = base, base.split(".")[0]  # a Trainer subclass: judged as one
                break
    if root in _LIGHTNING_ROOTS and q.endswith(".Trainer"):
        checkpointing = not _false(keyword_value(node, "enable_checkpointing"))
        logger = not _false(keyword_value(node, "logger"))
        event(
            "framework",
            node,
            data={"framework": "lightning", "checkpointing": checkpointing, "logger": logger},
        )
        if checkpointing:
            event(
                "save",
                node,
                data={
                    "how": "Lightning `Trainer` checkpointing",
                    "periodic": True,
                    "contents": list(_EVERYTHING),
                },
            )
        else:
            event("checkpointing_off", node, data={"framework": "lightning"})
        if logger:
            event("tracker", node, data={"tracker": "lightning", "implicit": True})
        return
    if root in _LIGHTNING_ROOTS and q.endswith("LightningCLI"):
        event("framework", node, data={"framework": "lightning", "checkpointing": True})
        event("save", node, data={"how": "LightningCLI", "periodic": True, "contents": None})
        event("tracker", node, data={"tracker": "lightning", "implicit": True, "config": True})
        event("hparams", node, data={"tracker": "lightning"})
        return
    if root in _LIGHTNING_ROOTS and q.endswith("ModelCheckpoint"):
        best = _has(node, "monitor")
        event(
            "save",
            node,
            data={"how": "`ModelCheckpoint`", "periodic": True, "best": best, "contents": None},
        )
        if best:
            event("selection", node, data={"how": "`ModelCheckpoint(monitor=...)`"})
        return
    if root in (*_LIGHTNING_ROOTS, *_KERAS_ROOTS, *_HF_TRAINER_ROOTS) and "EarlyStopping" in q:
        event("selection", node, data={"how": f"`{q.rsplit('.', 1)[-1]}`"})
        return
    if root in _HF_TRAINER_ROOTS and q.endswith(("TrainingArguments", "SFTConfig", "DPOConfig")):
        strategy = keyword_value(node, "save_strategy")
        if _attr_is(strategy, "NO") or (
            type(strategy) is cst.SimpleString and strategy.evaluated_value == "no"
        ):
            event("checkpointing_off", node, data={"framework": "hf"})
        report = keyword_value(node, "report_to")
        reports = not (
            type(report) is cst.SimpleString and report.evaluated_value == "none"
        ) and not (type(report) is cst.List and not report.elements)
        event(
            "tracker",
            node,
            data={"tracker": "hf", "implicit": True, "reports": reports, "config": True},
        )
        event("hparams", node, data={"tracker": "hf"})
        if _true(keyword_value(node, "load_best_model_at_end")):
            event("selection", node, data={"how": "`load_best_model_at_end=True`"})
        return
    if root in _HF_TRAINER_ROOTS and q.endswith("Trainer") and q.split(".")[-1][:1].isupper():
        event("framework", node, data={"framework": "hf", "checkpointing": True, "logger": True})
        event(
            "save",
            node,
            data={
                "how": f"`{q.rsplit('.', 1)[-1]}` checkpointing",
                "periodic": True,
                "framework": "hf",
                "contents": list(_EVERYTHING),
            },
        )
        return

    # -- Keras --------------------------------------------------------------------------
    if root in _KERAS_ROOTS or q.startswith("tf.keras"):
        name = q.rsplit(".", 1)[-1]
        if name == "ModelCheckpoint" or name == "BackupAndRestore":
            weights_only = _true(keyword_value(node, "save_weights_only"))
            best = _true(keyword_value(node, "save_best_only"))
            event(
                "save",
                node,
                data={
                    "how": f"`{name}`",
                    "periodic": True,
                    "best": best,
                    "contents": ["model"] if weights_only else None,
                },
            )
            if best:
                event("selection", node, data={"how": "`ModelCheckpoint(save_best_only=True)`"})
            return
        if name in ("TensorBoard", "CSVLogger"):
            # Callbacks that log by themselves: counted as tracking, but like framework
            # defaults they are not where a configuration is passed (implicit).
            tracker = "keras" if name == "CSVLogger" else "tensorboard"
            event("tracker", node, data={"tracker": tracker, "implicit": True})
            return
        if q.endswith(("CheckpointManager", "Checkpoint")) and "train" in q:
            event(
                "save",
                node,
                data={"how": f"`{name}`", "contents": None, "periodic": False, "deferred": True},
            )
            return
        if name in ("save_model", "save_weights"):
            event("save", node, data={"how": f"`{q}`", "contents": ["model"]})
            return
    if (
        method == "fit"
        and roots & {"keras", "tensorflow", "tf_keras"}
        and any(
            _has(node, k) for k in ("epochs", "callbacks", "validation_data", "validation_split")
        )
        and not (receiver or "").lower().endswith("trainer")
    ):
        event("fit", node, data={"framework": "keras", "receiver": receiver})
        return

    # -- saving model state ---------------------------------------------------------------
    if q in ("torch.save", "accelerate.Accelerator.save") or (
        method == "save"
        and receiver is not None
        and receiver.split(".")[-1] in ("accelerator", "fabric")
    ):
        saved_at = 1 if receiver and receiver.split(".")[-1] == "fabric" else 0
        obj = argument(node, "state" if saved_at else "obj", saved_at)
        _save(summarizer, node, obj, f"`{_callee(node)}`")
        return
    if q in (
        "safetensors.torch.save_file",
        "safetensors.torch.save_model",
        "safetensors.flax.save_file",
    ):
        obj = (
            argument(node, "tensors", 0) if q.endswith("save_file") else argument(node, "model", 0)
        )
        _save(summarizer, node, obj, f"`{q}`")
        return
    if q in (
        "joblib.dump",
        "pickle.dump",
        "dill.dump",
        "cloudpickle.dump",
        "torch.jit.save",
        "torch.onnx.export",
        "torch.export.save",
    ):
        obj = argument(node, "value", 0) or argument(node, "obj", 0)
        if q.startswith("torch.") or (obj is not None and _MODELISH.search(_text(obj))):
            event("save", node, data={"how": f"`{q}`", "contents": ["model"]})
        return
    if method in ("save_state", "save_checkpoint") and receiver is not None:
        # accelerator.save_state(), trainer.save_checkpoint(): everything to resume.
        event("save", node, data={"how": f"`{_callee(node)}`", "contents": list(_EVERYTHING)})
        return
    if method in ("save_pretrained", "save_model", "save_weights", "save") and receiver is not None:
        last = receiver.split(".")[-1]
        if _NOT_MODEL.search(last) and not _MODELISH.search(last):
            return
        if method == "save" and not (_MODELISH.search(last) or roots & {"keras", "tensorflow"}):
            return
        if method == "save" and last in ("self", "os", "np", "numpy", "plt", "fig", "image"):
            return
        event("save", node, data={"how": f"`{_callee(node)}`", "contents": ["model"]})
        return
    if q.startswith("shutil.copy") and _BEST.search(_text(node)):
        event("selection", node, data={"how": f"`{_callee(node)}` to a best checkpoint"})
        return

    # A call we may not see into (a library or an unresolved helper) whose name saves.
    name = method or (func.value if type(func) is cst.Name else None)
    if name and _SAVE_NAME.match(name) and root not in ("os", "numpy", "matplotlib", "PIL"):
        target = summarizer._call_target(func)
        event(
            "save",
            node,
            data={"how": f"`{_callee(node)}`", "opaque": True, "target": target, "contents": None},
        )


def record_assignment(summarizer, target: cst.BaseExpression, statement: cst.CSTNode) -> None:
    """``wandb.config.lr = ...``, ``run["parameters"] = params`` (Neptune, Aim): the
    configuration reaches a tracker through an assignment."""
    if type(target) is cst.Attribute:
        qualified = summarizer.context.qualified_name(target) or ""
        if qualified.startswith("wandb.config."):
            summarizer._event("hparams", statement, data={"tracker": "wandb"})
        return
    if type(target) is not cst.Subscript:
        return
    qualified = summarizer.context.qualified_name(target.value) or ""
    if qualified == "wandb.config":
        summarizer._event("hparams", statement, data={"tracker": "wandb"})
        return
    if len(target.slice) != 1 or type(target.slice[0].slice) is not cst.Index:
        return
    key = target.slice[0].slice.value
    text = key.evaluated_value if type(key) is cst.SimpleString else None
    if isinstance(text, str) and re.fullmatch(
        r"(parameters|params|hparams|hyperparameters|config|cfg|args)(/.*)?", text
    ):
        receiver = dotted_name(target.value) or ""
        if re.search(r"run|experiment|exp|task|tracker|logger", receiver, re.I):
            summarizer._event("hparams", statement, data={"tracker": receiver})


def _save(summarizer, node: cst.Call, obj: cst.BaseExpression | None, how: str) -> None:
    data: dict = {"how": how, "contents": None}
    if obj is not None:
        contents = _contents(summarizer, obj)
        data["contents"] = sorted(contents) if contents is not None else None
        summarizer.whole_file_reads += 1  # the object index
        if is_whole_module(summarizer.context, obj):
            data["whole_module"] = True
            data["contents"] = ["model"]
        if isinstance(obj, cst.Name) and data["contents"] is None:
            index = _parameter_index(summarizer, obj.value)
            if index is not None:
                data["param"] = obj.value
                data["param_index"] = index
    guard = _guard_text(summarizer)
    if _BEST.search(guard) or _BEST.search(_text(argument(node, "f", 1) or node)):
        data["best"] = True
    summarizer._event("save", node, data=data)


def saved_arguments(summarizer, node: cst.Call) -> dict | None:
    """For a call into project code: the checkpoint-like arguments it passes (position or
    keyword -> contents), so that ``save_checkpoint({...}, path)`` carries its contents."""
    name = dotted_name(node.func) or ""
    if not _SAVING_HELPER.search(name.rsplit(".", 1)[-1]):
        return None
    found: dict = {}
    positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
    for position, arg in enumerate(positional):
        contents = _contents(summarizer, arg.value)
        if contents is not None:
            found[str(position)] = sorted(contents)
    for arg in node.args:
        if arg.keyword is not None:
            contents = _contents(summarizer, arg.value)
            if contents is not None:
                found[arg.keyword.value] = sorted(contents)
    return found or None


def _contents(summarizer, obj: cst.BaseExpression, literal_only: bool = False) -> set[str] | None:
    if isinstance(obj, cst.Call):
        func = obj.func
        if isinstance(func, cst.Attribute) and func.attr.value == "state_dict":
            return {_state_owner(dotted_name(func.value) or summarizer.context.code(func.value))}
        if isinstance(func, cst.Name) and func.value == "dict" and not has_star_arguments(obj):
            return {
                _key_kind(arg.keyword.value, arg.value, summarizer)
                for arg in obj.args
                if arg.keyword
            }
        return None
    if isinstance(obj, cst.Dict):
        kinds = set()
        for element in obj.elements:
            if not isinstance(element, cst.DictElement):
                return None  # **other: unknown
            key = element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else ""
            kinds.add(_key_kind(key if isinstance(key, str) else "", element.value, summarizer))
        return kinds or None
    if isinstance(obj, cst.Name) and not literal_only:
        return _named_dict(summarizer, obj.value)
    return None


def _state_owner(name: str) -> str:
    last = name.split(".")[-1]
    if _OPTIMIZER.search(last):
        return "optimizer"
    if _SCHEDULER.search(last):
        return "scheduler"
    if _SCALER.search(last):
        return "scaler"
    return "model"


def _key_kind(key: str, value: cst.BaseExpression, summarizer) -> str:
    if isinstance(value, cst.Call):
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "state_dict":
            return _state_owner(dotted_name(func.value) or summarizer.context.code(func.value))
    if _OPTIMIZER.search(key):
        return "optimizer"
    if _SCHEDULER.search(key):
        return "scheduler"
    if _SCALER.search(key):
        return "scaler"
    if _COUNTER.match(key):
        return "counter"
    if _CONFIG.match(key):
        return "config"
    if re.search(r"model|state_dict|weights|net|params", key, re.I):
        return "model"
    return "other"


def _named_dict(summarizer, name: str) -> set[str] | None:
    """``checkpoint = {...}`` (and ``checkpoint["optimizer"] = ...``) earlier in the function."""
    scope = _enclosing_function(summarizer)
    if scope is None:
        summarizer.whole_file_reads += 1  # the module's other statements
    body = scope.body if scope is not None else summarizer.context.module
    kinds: set[str] | None = None
    for statement in _simple_statements(body):
        for small in statement.body:
            if not isinstance(small, cst.Assign):
                continue
            for target in small.targets:
                t = target.target
                if isinstance(t, cst.Name) and t.value == name:
                    kinds = _contents(summarizer, small.value, literal_only=True)
                elif (
                    kinds is not None
                    and isinstance(t, cst.Subscript)
                    and isinstance(t.value, cst.Name)
                    and t.value.value == name
                    and len(t.slice) == 1
                    and isinstance(t.slice[0].slice, cst.Index)
                    and isinstance(t.slice[0].slice.value, cst.SimpleString)
                ):
                    key = t.slice[0].slice.value.evaluated_value
                    kinds.add(
                        _key_kind(key if isinstance(key, str) else "", small.value, summarizer)
                    )
    return kinds


def _simple_statements(body: cst.CSTNode):
    stack = [body]
    while stack:
        node = stack.pop()
        if type(node) is cst.SimpleStatementLine:
            yield node
            continue
        if type(node) in (cst.FunctionDef, cst.ClassDef) and node is not body:
            continue
        if isinstance(node, cst.BaseExpression):
            continue
        stack.extend(reversed(list(node.children)))


def _enclosing_function(summarizer) -> cst.FunctionDef | None:
    for ancestor in reversed(summarizer.context.ancestors):
        if isinstance(ancestor, cst.FunctionDef):
            return ancestor
    return None


def _parameter_index(summarizer, name: str) -> int | None:
    function = _enclosing_function(summarizer)
    if function is None:
        return None
    params = [*function.params.posonly_params, *function.params.params]
    names = [p.name.value for p in params]
    if names and names[0] in ("self", "cls") and summarizer.classes:
        names = names[1:]
    if name in names:
        return names.index(name)
    return None


def is_whole_module(context, obj: cst.BaseExpression) -> bool:
    """``torch.save(model, ...)``: the saved object is evidently a model (an
    ``nn.Module`` built in the file, ``self`` in a module's method, or a name such as
    ``model``/``net``), not its ``state_dict()``."""
    from mllint.analysis.torchobjects import file_index

    name = dotted_name(obj)
    if name is None:
        return False
    try:
        found = file_index(context).object_of(obj)
    except Exception:  # the file index is best-effort here
        found = None
    if found is not None:
        return found.kind == "model"
    last = name.split(".")[-1]
    # Ends with model/net (``best_model``, ``ema_net``); not ``model_state``, ``model_path``.
    return bool(re.fullmatch(r"(\w+_)?(model|net|network)", last, re.I))


def _guard_text(summarizer) -> str:
    texts = []
    for ancestor in reversed(summarizer.context.ancestors):
        if isinstance(ancestor, cst.FunctionDef):
            break
        if isinstance(ancestor, cst.If):
            texts.append(_text(ancestor.test))
    return " ".join(texts)


def _callee(node: cst.Call) -> str:
    name = dotted_name(node.func)
    return f"{name}()" if name else "call"


def _text(node: cst.CSTNode) -> str:
    try:
        return cst.Module([]).code_for_node(node)
    except Exception:
        return ""


def _has(node: cst.Call, keyword: str) -> bool:
    return keyword_value(node, keyword) is not None


def _false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value in ("False", "None")


def _true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _attr_is(node: cst.BaseExpression | None, attr: str) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == attr


def loop_spans(context, summary: ModuleSummary) -> list[tuple[int, int, bool]]:
    """(first line, last line, trains) of every ``for``/``while`` loop of a file that
    trains or saves; ``trains`` comes from :mod:`mllint.analysis.loops` (a loop whose
    iteration backpropagates and steps an optimizer, or an epoch loop around one)."""
    from mllint.analysis.statements import nested_statements

    events = [e for f in summary.functions.values() for e in f.events]
    if not any(e.kind in ("save", "train", "call", "selection") for e in events):
        return []
    loops: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [context.module]
    while stack:  # statements only: far cheaper than an index of every node
        node = stack.pop()
        if isinstance(node, cst.For | cst.While):
            loops.append(node)
        stack.extend(nested_statements(node) if node is not context.module else node.body)
    if not loops:
        return []
    training: set[int] = set()
    if any(e.kind == "train" and e.data.get("how") == "backward" for e in events):
        from mllint.analysis.loops import loop_analysis

        training = {id(loop) for loop in loop_analysis(context).training_context_loops()}
    spans = []
    for loop in loops:
        start, end = context.position(loop)
        spans.append((start.row, end.row, id(loop) in training))
    return sorted(spans)


# -- facts ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Evidence:
    """Where a fact comes from: an event reached from the entry point, with its chain."""

    traced: Traced

    @property
    def module(self) -> ModuleSummary:
        return self.traced.module

    @property
    def event(self) -> Event:
        return self.traced.event

    @property
    def data(self) -> dict:
        return self.traced.event.data

    def where(self) -> str:
        """``utils.py:12``."""
        return self.traced.where()

    def via(self) -> str:
        """The call chain from the entry point (``""`` when the event is in the entry)."""
        return self.traced.via()

    def describe(self, entry: ModuleSummary) -> str:
        """``torch.save(...)` (line 40)`` in the entry, or with its file and call chain."""
        if self.traced.module is entry:
            return f"`{self.event.text}` (line {self.event.line})"
        anchor = self.traced.anchor(entry)
        return f"`{self.event.text}` ({self.where()}, reached via {self.traced.via_from(anchor)})"


@dataclass(frozen=True, eq=False)
class TrackerUse:
    """One tracker (or metrics record) a program uses."""

    tracker: str  # a TRACKERS key
    evidence: tuple[Evidence, ...]
    #: Only a framework default (Lightning's default logger, the HF Trainer's reporting).
    implicit: bool

    @property
    def label(self) -> str:
        return TRACKERS.get(self.tracker, (self.tracker, False))[0]

    @property
    def records_code_version(self) -> bool:
        return TRACKERS.get(self.tracker, ("", False))[1]


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """One place model state is persisted."""

    evidence: Evidence
    how: str
    #: ``in-loop`` (inside the training loop or an epoch loop around it),
    #: ``framework`` (a framework checkpoints during training), ``after`` (after training
    #: started, outside its loops), ``before`` (before any training), ``no-training``.
    placement: str
    #: What it holds (:data:`CONTENT_KINDS`), or None when unknown.
    contents: frozenset[str] | None
    whole_module: bool
    #: Model selection: saved when a validation score improves (``best.pt``).
    best: bool
    #: A call we cannot see into whose name says it saves.
    opaque: bool

    @property
    def periodic(self) -> bool:
        return self.placement in ("in-loop", "framework")


@dataclass
class ProgramFacts:
    """What one entry point records and saves."""

    entry: ModuleSummary
    #: How it trains: events of kind ``train`` (``data["how"]``: backward/fit/train) and
    #: ``fit`` (Keras), with the loop kind in :attr:`training_kinds`.
    training: list[Evidence] = field(default_factory=list)
    #: ``loop`` (a visible training loop), ``keras``, ``lightning``, ``hf``, ``other``
    #: (a ``trainer.fit()``/``.train()`` of a library we do not know).
    training_kinds: set[str] = field(default_factory=set)
    trackers: list[TrackerUse] = field(default_factory=list)
    hyperparameters: list[Evidence] = field(default_factory=list)
    code_version: list[Evidence] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    selection: list[Evidence] = field(default_factory=list)
    #: Frameworks whose own checkpointing was switched off: ``lightning``, ``hf``.
    checkpointing_off: set[str] = field(default_factory=set)

    @property
    def trains(self) -> bool:
        return bool(self.training_kinds)

    @property
    def training_run(self) -> bool:
        """The program runs a training job whose tracking and checkpointing are its own to
        decide: a visible training loop, a Keras ``fit``, or a Lightning/HF trainer; not a
        trainer of an unknown library (which may checkpoint and log by itself), nor a
        benchmark or profiling script."""
        name = self.entry.relative.lower()
        if re.search(r"(^|/)(benchmarks?|profil\w*|perf)(/|$)|bench|profil", name):
            return False
        return bool(self.training_kinds - {"other"})

    @property
    def tracked(self) -> bool:
        return bool(self.trackers)

    @property
    def explicit_trackers(self) -> list[TrackerUse]:
        """Trackers other than framework defaults, metrics files and logging."""
        return [t for t in self.trackers if not t.implicit and t.tracker not in ("file", "logging")]

    @property
    def hyperparameters_logged(self) -> bool:
        return bool(self.hyperparameters)

    @property
    def code_version_recorded(self) -> bool:
        return bool(self.code_version) or any(
            t.records_code_version for t in self.explicit_trackers
        )

    @property
    def saves(self) -> bool:
        return bool(self.checkpoints)

    @property
    def periodic_checkpoints(self) -> list[Checkpoint]:
        return [c for c in self.checkpoints if c.periodic]

    @property
    def early_stopping(self) -> bool:
        return any("EarlyStopping" in e.data.get("how", "") for e in self.selection)

    @property
    def best_checkpoint(self) -> bool:
        return any(c.best for c in self.checkpoints) or any(
            "EarlyStopping" not in e.data.get("how", "") for e in self.selection
        )


def program_facts(project, entry: ModuleSummary) -> ProgramFacts:
    """The tracking and checkpointing facts of ``entry`` (cached on the project context)."""
    cache = project.__dict__.setdefault("_tracking_facts", {})
    if entry.relative not in cache:
        cache[entry.relative] = _facts(project.index, project.trace(entry), entry)
    return cache[entry.relative]


def _facts(index, trace: list[Traced], entry: ModuleSummary) -> ProgramFacts:
    facts = ProgramFacts(entry)
    frameworks = {t.event.data.get("framework") for t in trace if t.event.kind == "framework"}
    frameworks |= _framework_subclasses(index, trace)
    facts.checkpointing_off = {
        t.event.data.get("framework") for t in trace if t.event.kind == "checkpointing_off"
    }

    def in_training_loop(module: ModuleSummary, line: int, marked: set) -> bool:
        for start, end, trains in getattr(module, "loops", ()):
            if start <= line <= end and (trains or (module.relative, start) in marked):
                return True
        return False

    # Loops that train through calls into other modules (an epoch loop calling
    # engine.train_one_epoch()): every loop holding a step of a training event's chain.
    marked: set[tuple[str, int]] = set()
    first_training = None
    for position, traced in enumerate(trace):
        event = traced.event
        kind = None
        if event.kind == "train" and event.data.get("how") == "backward":
            # In a training loop of its file, or in a helper that such a loop calls
            # (REINFORCE's finish_episode()).
            positions = [(step.module, step.event.line) for step in traced.chain]
            if any(
                in_training_loop(module, line, set())
                for module, line in [*positions, (traced.module, event.line)]
            ):
                kind = "loop"
        elif event.kind == "fit":
            kind = "keras"
        elif event.kind == "train" and event.data.get("how") in ("fit", "train"):
            kind = (
                "lightning"
                if "lightning" in frameworks
                else "hf"
                if "hf" in frameworks
                else "other"
            )
        if kind is None:
            continue
        facts.training_kinds.add(kind)
        facts.training.append(Evidence(traced))
        if first_training is None:
            first_training = position
        if kind == "loop":
            for step in traced.chain:
                for start, end, _ in getattr(step.module, "loops", ()):
                    if start <= step.event.line <= end:
                        marked.add((step.module.relative, start))

    by_tracker: dict[str, list[Evidence]] = {}
    implicit: dict[str, bool] = {}
    for position, traced in enumerate(trace):
        event = traced.event
        if event.kind == "tracker":
            name = event.data.get("tracker", "")
            if name == "hf" and not event.data.get("reports", True):
                continue
            by_tracker.setdefault(name, []).append(Evidence(traced))
            implicit[name] = implicit.get(name, True) and bool(event.data.get("implicit"))
        elif event.kind == "hparams":
            facts.hyperparameters.append(Evidence(traced))
        elif event.kind == "code_version":
            facts.code_version.append(Evidence(traced))
        elif event.kind == "selection":
            facts.selection.append(Evidence(traced))
        elif event.kind == "save":
            checkpoint = _checkpoint(
                index, traced, position, first_training, in_training_loop, marked, facts
            )
            if checkpoint is not None:
                facts.checkpoints.append(checkpoint)
    facts.trackers = [
        TrackerUse(name, tuple(evidence), implicit.get(name, False))
        for name, evidence in by_tracker.items()
    ]
    return facts


def _checkpoint(index, traced, position, first_training, in_training_loop, marked, facts):
    event = traced.event
    data = event.data
    if data.get("opaque"):
        target = data.get("target")
        if target and index.resolve_call(target, traced.module) is not None:
            return None  # project code: its own saves are in the trace
    framework = data.get("framework")
    if framework in facts.checkpointing_off:
        return None
    contents = data.get("contents")
    if contents is None and data.get("param") is not None and traced.chain:
        call = traced.chain[-1].event
        saved = call.data.get("saved_args") or {}
        contents = saved.get(data["param"]) or saved.get(str(data.get("param_index")))
    positions = [(step.module, step.event.line) for step in traced.chain]
    positions.append((traced.module, event.line))
    if data.get("periodic"):
        placement = "framework"
    elif any(in_training_loop(module, line, marked) for module, line in positions):
        placement = "in-loop"
    elif first_training is None:
        placement = "no-training"
    elif position > first_training:
        placement = "after"
    else:
        placement = "before"
    return Checkpoint(
        evidence=Evidence(traced),
        how=data.get("how", f"`{event.text}`"),
        placement=placement,
        contents=frozenset(contents) if contents is not None else None,
        whole_module=bool(data.get("whole_module")),
        best=bool(data.get("best")),
        opaque=bool(data.get("opaque")),
    )


def _framework_subclasses(index, trace: list[Traced]) -> set[str]:
    """Frameworks whose trainer the program builds through a project subclass
    (``class MyTrainer(transformers.Trainer)``)."""
    found: set[str] = set()
    for traced in trace:
        for step in traced.chain:
            target = step.event.target
            if step.event.kind != "call" or not target:
                continue
            resolved = index.resolve_class(target, step.module)
            if resolved is None:
                continue
            module, name = resolved
            for base in module.classes[name].bases:
                root = base.split(".")[0]
                if base.endswith("Trainer") and root in _HF_TRAINER_ROOTS:
                    found.add("hf")
                elif base.endswith("Trainer") and root in _LIGHTNING_ROOTS:
                    found.add("lightning")
    return found
