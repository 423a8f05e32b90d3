"""Where code writes artifacts: checkpoints, model files, downloaded data, logs, tracker runs.

The project index records a ``write`` event for each call that evidently writes an
artifact to a path the code spells out (``torch.save(ckpt, os.path.join(out_dir,
"ckpt.pt"))`` with ``out_dir = "out"``), and for the folders frameworks write by default
(Lightning's ``lightning_logs/``, TensorBoard's ``runs/``, W&B's ``wandb/``, MLflow's
``mlruns/``). Project checks (ML901, ML903) compare them with ``.gitignore``.

Paths are resolved from string literals, f-strings, ``os.path.join``, ``pathlib`` ``/``,
names bound to such values earlier in the same scope or at module level, and argparse
defaults (``parser.add_argument("--out_dir", default="out")`` then ``args.out_dir``).
``os.path.dirname(__file__)`` and ``Path(__file__).parent`` become :data:`HERE` (the
module's folder). Unknown parts become ``*``; a path whose start is unknown is not
resolved (it is the caller's choice, as in a library).
"""

from __future__ import annotations

import posixpath

from mllint.analysis.calls import argument, keyword_value
from mllint.importcache import cst  # LibCST, imported when a file is parsed

#: Stands for the folder of the module that writes (``os.path.dirname(__file__)``).
HERE = "$HERE"

#: Kinds of artifact.
CHECKPOINT = "checkpoint"  # model weights, trainer checkpoints, model folders
DATA = "data"  # downloaded or prepared data sets
LOGS = "logs"  # training logs and tracker runs

#: Library calls that write a file or a folder: qualified name ->
#: (kind, position, keyword, is_folder, default path when the argument is absent).
WRITER_CALLS: dict[str, tuple[str, int, str, bool, str | None]] = {
    "torch.save": (CHECKPOINT, 1, "f", False, None),
    "safetensors.torch.save_file": (CHECKPOINT, 1, "filename", False, None),
    "safetensors.torch.save_model": (CHECKPOINT, 1, "filename", False, None),
    "joblib.dump": (CHECKPOINT, 1, "filename", False, None),
    "numpy.save": (DATA, 0, "file", False, None),
    "numpy.savez": (DATA, 0, "file", False, None),
    "numpy.savez_compressed": (DATA, 0, "file", False, None),
    "urllib.request.urlretrieve": (DATA, 1, "filename", False, None),
    "torch.utils.tensorboard.SummaryWriter": (LOGS, 0, "log_dir", True, "runs"),
    "torch.utils.tensorboard.writer.SummaryWriter": (LOGS, 0, "log_dir", True, "runs"),
    "tensorboardX.SummaryWriter": (LOGS, 0, "logdir", True, "runs"),
    "lightning.pytorch.callbacks.ModelCheckpoint": (CHECKPOINT, 0, "dirpath", True, None),
    "lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint": (
        CHECKPOINT,
        0,
        "dirpath",
        True,
        None,
    ),
    "pytorch_lightning.callbacks.ModelCheckpoint": (CHECKPOINT, 0, "dirpath", True, None),
    "transformers.TrainingArguments": (CHECKPOINT, 0, "output_dir", True, None),
    "transformers.Seq2SeqTrainingArguments": (CHECKPOINT, 0, "output_dir", True, None),
    "trl.SFTConfig": (CHECKPOINT, 0, "output_dir", True, None),
    "lightning.pytorch.loggers.TensorBoardLogger": (LOGS, 0, "save_dir", True, None),
    "lightning.pytorch.loggers.CSVLogger": (LOGS, 0, "save_dir", True, None),
    "pytorch_lightning.loggers.TensorBoardLogger": (LOGS, 0, "save_dir", True, None),
    "pytorch_lightning.loggers.CSVLogger": (LOGS, 0, "save_dir", True, None),
    "keras.callbacks.ModelCheckpoint": (CHECKPOINT, 0, "filepath", False, None),
    "tensorflow.keras.callbacks.ModelCheckpoint": (CHECKPOINT, 0, "filepath", False, None),
}

#: Lightning trainers: ``default_root_dir`` or ``lightning_logs/`` in the working folder.
LIGHTNING_TRAINERS = frozenset(
    {
        "lightning.Trainer",
        "lightning.pytorch.Trainer",
        "pytorch_lightning.Trainer",
        "lightning.pytorch.trainer.Trainer",
        "lightning.pytorch.trainer.trainer.Trainer",
    }
)

#: Loggers that write a ``wandb/`` folder under ``save_dir`` (default: the working folder).
WANDB_LOGGERS = frozenset(
    {
        "wandb.init",
        "lightning.pytorch.loggers.WandbLogger",
        "pytorch_lightning.loggers.WandbLogger",
    }
)

#: Method names that write a model (the receiver's type is rarely evident).
WRITER_METHODS: dict[str, tuple[str, bool]] = {
    "save_pretrained": (CHECKPOINT, True),
    "save_model": (CHECKPOINT, True),  # transformers.Trainer.save_model(output_dir)
    "save_checkpoint": (CHECKPOINT, False),  # lightning Trainer.save_checkpoint(path)
    "save_weights": (CHECKPOINT, False),  # keras
    "tofile": (DATA, False),  # numpy.ndarray.tofile(path)
}

#: File endings that make ``x.save(path)`` a model file (keras, joblib-like savers).
MODEL_FILE_ENDINGS = (".keras", ".h5", ".pt", ".pth", ".ckpt", ".safetensors", ".onnx")

#: torchvision / torchaudio data set classes download into ``root`` with ``download=True``.
DATASET_PREFIXES = ("torchvision.datasets.", "torchaudio.datasets.", "torchtext.datasets.")


def written_path(call: cst.Call, qualified: str | None, resolve) -> tuple[str, str, bool] | None:
    """``(path, kind, is_folder)`` of the artifact ``call`` writes, if evident.

    ``resolve`` turns an expression into a path string (see :class:`PathResolver`).
    """
    if qualified is not None:
        writer = WRITER_CALLS.get(qualified)
        if writer is not None:
            kind, position, keyword, folder, default = writer
            value = argument(call, keyword, position)
            if value is None:
                return (default, kind, folder) if default else None
            path = resolve(value)
            if path and qualified.startswith("numpy.save") and not path.endswith(".npy"):
                path += ".npz" if qualified != "numpy.save" else ".npy"  # numpy adds it
            return (path, kind, folder) if path else None
        if qualified in LIGHTNING_TRAINERS:
            root = keyword_value(call, "default_root_dir")
            if root is None:
                logger = keyword_value(call, "logger")
                if logger is not None and not _is_true(logger):
                    return None  # its own logger decides (and checkpoints go below it)
                return ("lightning_logs", LOGS, True)
            path = resolve(root)
            return (path, CHECKPOINT, True) if path else None
        if qualified in WANDB_LOGGERS:
            folder = keyword_value(call, "dir" if qualified == "wandb.init" else "save_dir")
            if folder is None:
                return ("wandb", LOGS, True)
            path = resolve(folder)
            return (posixpath.join(path, "wandb"), LOGS, True) if path else None
        if qualified.startswith(DATASET_PREFIXES) and _is_true(keyword_value(call, "download")):
            root = argument(call, "root", 0)
            path = resolve(root) if root is not None else None
            return (path, DATA, True) if path else None
    func = call.func
    if type(func) is cst.Attribute and call.args:
        method = func.attr.value
        first = call.args[0].value if call.args[0].keyword is None else None
        if first is None:
            return None
        if method in WRITER_METHODS:
            kind, folder = WRITER_METHODS[method]
            path = resolve(first)
            return (path, kind, folder) if path else None
        if method == "save":
            path = resolve(first)
            if path and path.lower().endswith(MODEL_FILE_ENDINGS):
                return (path, CHECKPOINT, False)
    return None


def _is_true(node: cst.BaseExpression | None) -> bool:
    return type(node) is cst.Name and node.value == "True"


def _is_false(node: cst.BaseExpression | None) -> bool:
    return type(node) is cst.Name and node.value == "False"


class PathResolver:
    """Resolves path expressions with the string values names were bound to."""

    def __init__(self, qualified_name, lookup) -> None:
        #: ``qualified_name(expression)``: the file's import resolution.
        self.qualified_name = qualified_name
        #: ``lookup(name)``: the path string a name holds, or None.
        self.lookup = lookup

    def __call__(self, expression: cst.BaseExpression, depth: int = 0) -> str | None:
        if depth > 10:
            return None
        if type(expression) in (cst.SimpleString, cst.ConcatenatedString):
            value = expression.evaluated_value
            return value if isinstance(value, str) else None
        if type(expression) is cst.FormattedString:
            return self._fstring(expression, depth)
        if type(expression) is cst.Name:
            return self.lookup(expression.value)
        if type(expression) is cst.Attribute:
            if expression.attr.value == "parent":  # Path(__file__).parent
                inner = self(expression.value, depth + 1)
                if inner == HERE + "/__file__":
                    return HERE
                return posixpath.dirname(inner) if inner else None
            return self.lookup(_dotted(expression))
        if type(expression) is cst.BinaryOperation and isinstance(expression.operator, cst.Divide):
            left = self(expression.left, depth + 1)
            if left is None:
                return None
            right = self(expression.right, depth + 1) or "*"
            return posixpath.join(left, right)
        if type(expression) is cst.Call:
            return self._call(expression, depth)
        return None

    def _fstring(self, node: cst.FormattedString, depth: int) -> str | None:
        parts = []
        for index, part in enumerate(node.parts):
            if type(part) is cst.FormattedStringText:
                parts.append(part.value)
                continue
            value = (
                self(part.expression, depth + 1)
                if type(part) is cst.FormattedStringExpression
                else None
            )
            if value is None and index == 0:
                return None
            parts.append(value if value is not None else "*")
        return "".join(parts)

    def _call(self, call: cst.Call, depth: int) -> str | None:
        name = self.qualified_name(call.func) or ""
        if name in ("os.path.join", "posixpath.join") and call.args:
            first = self(call.args[0].value, depth + 1)
            if first is None:
                return None
            rest = [self(arg.value, depth + 1) or "*" for arg in call.args[1:]]
            return posixpath.join(first, *rest)
        if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath") and call.args:
            return self._call_path(call, depth)
        if name in ("os.path.dirname", "os.path.abspath", "os.path.realpath") and call.args:
            inner = call.args[0].value
            if type(inner) is cst.Name and inner.value == "__file__":
                return HERE if name == "os.path.dirname" else HERE + "/__file__"
            value = self(inner, depth + 1)
            if value is None:
                return None
            return posixpath.dirname(value) if name == "os.path.dirname" else value
        if name in ("builtins.str", "os.fspath", "os.path.expanduser") and call.args:
            return self(call.args[0].value, depth + 1)
        if type(call.func) is cst.Attribute and call.func.attr.value in (
            "resolve",
            "absolute",
        ):
            return self(call.func.value, depth + 1)
        return None

    def _call_path(self, call: cst.Call, depth: int) -> str | None:
        first = call.args[0].value
        if type(first) is cst.Name and first.value == "__file__":
            start = HERE + "/__file__"
        else:
            start = self(first, depth + 1)
        if start is None:
            return None
        rest = [self(arg.value, depth + 1) or "*" for arg in call.args[1:]]
        return posixpath.join(start, *rest)


def _dotted(expression: cst.BaseExpression) -> str:
    if type(expression) is cst.Name:
        return expression.value
    if type(expression) is cst.Attribute:
        return _dotted(expression.value) + "." + expression.attr.value
    return "?"


def argparse_default(call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
    """``("out_dir", <default>)`` for ``parser.add_argument("--out-dir", default=...)``."""
    func = call.func
    if not (type(func) is cst.Attribute and func.attr.value == "add_argument"):
        return None
    default = keyword_value(call, "default")
    if default is None:
        return None
    dest = keyword_value(call, "dest")
    if type(dest) is cst.SimpleString and isinstance(dest.evaluated_value, str):
        return dest.evaluated_value, default
    for arg in call.args:
        if arg.keyword is None and type(arg.value) is cst.SimpleString:
            flag = arg.value.evaluated_value
            if isinstance(flag, str) and flag.startswith("--"):
                return flag[2:].replace("-", "_"), default
    return None


class PathTracker:
    """Follows, during the project summariser's walk over one file, the path strings that
    names hold (per function scope, then module level) and argparse defaults, and names
    the artifact each call writes."""

    def __init__(self, context) -> None:
        self.context = context
        self.scopes: list[dict[str, str | None]] = [{}]
        self.arg_defaults: dict[str, str] = {}
        self.resolve = PathResolver(context.qualified_name, self._lookup)

    def _lookup(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if "." in name:  # args.out_dir, cfg.output_dir
            return self.arg_defaults.get(name.rsplit(".", 1)[1])
        return None

    def enter_function(self) -> None:
        self.scopes.append({})

    def leave_function(self) -> None:
        if len(self.scopes) > 1:
            self.scopes.pop()

    def assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if type(target) is cst.Name:
            self.scopes[-1][target.value] = self.resolve(value)

    def call(self, node: cst.Call, qualified: str | None) -> tuple[str, str, bool] | None:
        default = argparse_default(node)
        if default is not None:
            value = self.resolve(default[1])
            if value is not None:
                self.arg_defaults[default[0]] = value
            return None
        return written_path(node, qualified, self.resolve)
