"""Calls that fetch models, configs or datasets from the Hugging Face Hub, and their revision.

Shared by ML703 (trust-remote-code) and ML706 (unpinned-model-revision): which calls
load from the hub (``*.from_pretrained``, ``pipeline``, ``load_dataset``,
``hf_hub_download``, ...), which argument names the repository, and whether the call
pins a revision (a full commit hash; a branch or tag can move).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from mllint.analysis.calls import argument, keyword_value

#: Top-level modules whose import makes hub loading relevant.
HUB_LIBRARIES = frozenset(
    {"transformers", "datasets", "sentence_transformers", "peft", "diffusers", "huggingface_hub"}
)

#: Loader functions by qualified name -> (repository parameter name, its position).
_LOADER_FUNCTIONS: dict[str, tuple[str, int | None]] = {
    "transformers.pipeline": ("model", None),
    "transformers.pipelines.pipeline": ("model", None),
    "datasets.load_dataset": ("path", 0),
    "datasets.load_dataset_builder": ("path", 0),
    "sentence_transformers.SentenceTransformer": ("model_name_or_path", 0),
    "sentence_transformers.CrossEncoder": ("model_name", 0),
    "huggingface_hub.hf_hub_download": ("repo_id", 0),
    "huggingface_hub.snapshot_download": ("repo_id", 0),
}

#: Methods that load from a name or path, on any (Auto)class of these libraries.
_LOADER_METHODS = {"from_pretrained": ("pretrained_model_name_or_path", 0)}

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
#: ``org/name``: what a hub repository id looks like (a local path has more parts, dots
#: or slashes at the start, or a file name).
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class HubCall:
    """A call that loads from the hub: what it is called and which repository it names."""

    callee: str  # as written, e.g. "AutoModel.from_pretrained"
    repository: cst.BaseExpression | None
    #: the parameter's name when the repository was passed by keyword (``model=...``)
    keyword: str | None = None

    def repository_text(self, code: str) -> str:
        """How to show the repository argument: ``model="org/x"`` or ``"org/x"``."""
        return f"{self.keyword}={code}" if self.keyword else code


def hub_call(call: cst.Call, qualified_name: str | None, callee_code: str) -> HubCall | None:
    """The hub loader ``call`` is, or None (``qualified_name``: the callee, resolved)."""
    parameter: tuple[str, int | None] | None = None
    if qualified_name in _LOADER_FUNCTIONS:
        parameter = _LOADER_FUNCTIONS[qualified_name]
    elif isinstance(call.func, cst.Attribute) and call.func.attr.value in _LOADER_METHODS:
        parameter = _LOADER_METHODS[call.func.attr.value]
    if parameter is None:
        return None
    by_keyword = keyword_value(call, parameter[0])
    return HubCall(
        callee_code,
        argument(call, *parameter),
        parameter[0] if by_keyword is not None else None,
    )


def literal_string(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_local_path(node: cst.BaseExpression | None) -> bool:
    """A repository argument that is evidently a local directory (``./ckpt``, ``/data/m``,
    ``os.path.join(...)``, ``Path(...)``, an f-string or concatenation building a path)."""
    text = literal_string(node)
    if text is not None:
        return text.startswith(("/", "./", "../", "~", ".\\")) or "\\" in text
    if isinstance(node, cst.Call):
        return True  # os.path.join(...), Path(...), str(out_dir / "final")
    return isinstance(node, cst.BinaryOperation)  # out_dir / "final"


#: First path parts that name a training run's local output, not a hub organisation.
_LOCAL_DIRECTORIES = frozenset(
    {
        "out",
        "output",
        "outputs",
        "checkpoint",
        "checkpoints",
        "ckpt",
        "ckpts",
        "runs",
        "results",
        "saved_models",
        "saved_model",
        "models",
        "model",
        "artifacts",
        "weights",
        "logs",
        "tmp",
        "exp",
        "experiments",
        "data",
        "save",
    }
)


def looks_like_repo_id(node: cst.BaseExpression | None) -> bool:
    """``"org/name"``, and not a local directory such as ``"outputs/final"``."""
    text = literal_string(node)
    if text is None or not _REPO_ID_RE.match(text) or is_local_path(node):
        return False
    return text.split("/")[0].lower() not in _LOCAL_DIRECTORIES


@dataclass(frozen=True)
class Revision:
    pinned: bool
    #: the literal revision when one is given but is not a commit ("main", "v1.0")
    unpinned_value: str | None = None


def revision_of(call: cst.Call) -> Revision:
    """Whether ``call`` pins a revision: a 40-hex commit, or a value decided elsewhere
    (a variable: the caller may pin it). A branch or tag name is not pinned."""
    if any(arg.star == "**" for arg in call.args):
        return Revision(pinned=True)  # **kwargs may carry revision=
    value = keyword_value(call, "revision")
    if value is None:
        return Revision(pinned=False)
    text = literal_string(value)
    if text is None:
        return Revision(pinned=not (isinstance(value, cst.Name) and value.value == "None"))
    if _COMMIT_RE.match(text):
        return Revision(pinned=True)
    return Revision(pinned=False, unpinned_value=text)
