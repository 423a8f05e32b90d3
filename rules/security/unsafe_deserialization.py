"""ML702 unsafe-deserialization: pickle-based loaders on model or data files."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument, keyword_value
from mllint.diagnostic import Severity
from mllint.rule import Rule

#: Loaders that unpickle a file (or file object), by qualified name -> (family, advice).
_PICKLE = (
    "store weights as safetensors and data as JSON, Parquet or plain `.npy`, "
    "or load only files you created"
)
_FILE_LOADERS: dict[str, tuple[str, str]] = {
    "pickle.load": ("pickle", _PICKLE),
    "pickle.Unpickler": ("pickle", _PICKLE),
    "_pickle.load": ("pickle", _PICKLE),
    "cPickle.load": ("pickle", _PICKLE),
    "dill.load": ("dill", _PICKLE),
    "cloudpickle.load": ("cloudpickle", _PICKLE),
    "joblib.load": (
        "joblib",
        "for scikit-learn models you did not produce, use `skops.io` with trusted types or ONNX",
    ),
    "sklearn.externals.joblib.load": (
        "joblib",
        "for scikit-learn models you did not produce, use `skops.io` with trusted types or ONNX",
    ),
    "pandas.read_pickle": ("pandas", "store tables as Parquet or Feather (`pd.read_parquet`)"),
}

#: Loaders of bytes already in memory: reported only when the bytes come from a file or
#: a download (bytes from a queue or a cache of the program itself are its own business).
_BYTES_LOADERS: dict[str, str] = {
    "pickle.loads": "pickle",
    "_pickle.loads": "pickle",
    "cPickle.loads": "pickle",
    "dill.loads": "dill",
    "cloudpickle.loads": "cloudpickle",
}

#: Calls whose result is a downloaded file, a URL's content or a remote file object.
_DOWNLOADS = frozenset(
    {
        "huggingface_hub.hf_hub_download",
        "huggingface_hub.cached_download",
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "requests.get",
        "wget.download",
        "gdown.download",
        "fsspec.open",
        "smart_open.open",
        "kagglehub.model_download",
        "kagglehub.dataset_download",
    }
)
_URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "gcs://", "hf://", "ftp://")
#: Writers whose file argument names a file this program produced: qualified name ->
#: (parameter, position). ``obj.to_pickle(path)`` is matched by method name.
_WRITERS: dict[str, tuple[str, int]] = {
    "pickle.dump": ("file", 1),
    "_pickle.dump": ("file", 1),
    "dill.dump": ("file", 1),
    "cloudpickle.dump": ("file", 1),
    "joblib.dump": ("filename", 1),
    "numpy.save": ("file", 0),
    "numpy.savez": ("file", 0),
}
_OPEN_MODES = frozenset({"r", "rb", "w", "wb", "a", "ab", "r+b", "w+b", "rb+", "wb+", "x", "xb"})
#: Attributes that read a file's or a response's bytes.
_READS = frozenset({"read", "read_bytes", "content", "getvalue"})


class UnsafeDeserialization(Rule):
    """
    ## What it does
    Reports model or data files loaded with pickle-based loaders, which run code.

    The loaders are `pickle.load`,
    `pickle.Unpickler`, `dill.load`, `cloudpickle.load`, `joblib.load`,
    `pandas.read_pickle`, `numpy.load(..., allow_pickle=True)`, and `pickle.loads` (or
    `dill.loads`, `cloudpickle.loads`) of bytes read from a file or a download. A file
    that comes from a download or a URL (`hf_hub_download`, `urlopen`, `requests.get`,
    an `https://` or `s3://` path) is an error; any other file a warning.

    ## Why is this bad?
    Unpickling runs code: a pickle stream names callables and their arguments, and the
    loader calls them. A model, a cached feature table or a "preprocessor.pkl" from a
    colleague's bucket, a model hub or a Kaggle dataset executes whatever its author
    (or anyone who could replace the file) put in it, with your credentials. Formats
    without code execution exist for every use: safetensors for weights, Parquet or
    Feather for tables, `.npy`/`.npz` without object arrays, JSON for configs, and
    `skops.io` (with an explicit list of trusted types) or ONNX for scikit-learn models.

    `pickle.loads(data)` of bytes the program itself produced in memory (a
    multiprocessing queue, a cache it wrote) is not reported; `pickle.loads` of
    `f.read()`, `path.read_bytes()` or a response's `.content` is.

    ## Example
    ```python
    import joblib
    from huggingface_hub import hf_hub_download

    model = joblib.load(hf_hub_download("someone/churn-model", "model.joblib"))
    ```

    ## Use instead
    ```python
    import skops.io as sio
    from huggingface_hub import hf_hub_download

    path = hf_hub_download("someone/churn-model", "model.skops", revision="4f1c2e9...")
    model = sio.load(path, trusted=["sklearn.ensemble._forest.RandomForestClassifier"])
    ```

    ## References
    - [pickle — Python object serialization](https://docs.python.org/3/library/pickle.html)
      ("Warning: The pickle module is not secure")
    - [joblib persistence: security](https://joblib.readthedocs.io/en/stable/persistence.html)
    - [skops.io](https://skops.readthedocs.io/en/stable/persistence.html)
    - [safetensors](https://huggingface.co/docs/safetensors)
    """

    code = "ML702"
    name = "unsafe-deserialization"
    category = "security"
    severity = Severity.WARNING
    requires_imports = frozenset(
        {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "sklearn", "pandas"}
        | {"numpy"}
    )
    tags = ("security",)
    #: Arbitrary code execution when the user loads a malicious file: CVSS 3.1
    #: AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H = 7.8 (high).
    security_severity = 7.8

    def visit_Call(self, node: cst.Call) -> None:
        name = self.context.call_name(node)
        if name is None:
            return
        if name in _FILE_LOADERS:
            _family, advice = _FILE_LOADERS[name]
            source = argument(node, "filepath_or_buffer" if "pandas" in name else "file", 0)
            self._report(node, f"`{self.context.code(node.func)}(...)`", source, advice)
        elif name in _BYTES_LOADERS:
            data = argument(node, "data", 0)
            if data is not None and (self._reads_bytes(data) or self._downloaded(data)):
                self._report(node, f"`{self.context.code(node.func)}(...)`", data, _PICKLE)
        elif name == "numpy.load":
            allow = keyword_value(node, "allow_pickle")
            if isinstance(allow, cst.Name) and allow.value == "True":
                self._report(
                    node,
                    f"`{self.context.code(node.func)}(..., allow_pickle=True)`",
                    argument(node, "file", 0),
                    "save plain numeric arrays and load them with `allow_pickle=False`",
                )

    def _report(
        self, node: cst.Call, what: str, source: cst.BaseExpression | None, advice: str
    ) -> None:
        downloaded = source is not None and self._downloaded(source)
        if not downloaded and source is not None and self._written_here(source):
            return  # a cache this program writes and reads back
        if downloaded:
            self.report(
                node,
                f"{what} unpickles a downloaded file, which runs any code its author put in "
                f"it; {advice}",
                severity=Severity.ERROR,
            )
        else:
            self.report(
                node,
                f"{what} unpickles the file, which runs any code a tampered or shared file "
                f"contains; {advice}",
            )

    # -- where the bytes come from ---------------------------------------------------

    def _written_here(self, source: cst.BaseExpression) -> bool:
        """The file loaded is one this file also writes with a pickle-family writer (the
        same literal path, f-string or path variable): a cache of its own making."""
        written = self._written_paths()
        return bool(written and _PathKeys.of(source, self._assignments()) & written)

    def _assignments(self) -> dict[str, list[cst.BaseExpression]]:
        if not hasattr(self, "_assigned"):
            collector = _Assignments(None)
            self.context.module.visit(collector)
            self._assigned = collector.by_name
        return self._assigned

    def _written_paths(self) -> set[tuple[str, str]]:
        if not hasattr(self, "_written"):
            finder = _Writers(self)
            self.context.module.visit(finder)
            assignments = self._assignments() if finder.targets else {}
            self._written = set()
            for target in finder.targets:
                self._written |= _PathKeys.of(target, assignments)
        return self._written

    def _downloaded(self, expression: cst.BaseExpression) -> bool:
        """The expression is (or reads) a download or a URL, directly or through a name
        assigned from one in the same function."""
        finder = _SourceFinder(self)
        expression.visit(finder)
        if finder.download:
            return True
        if isinstance(expression, cst.Name) or finder.names:
            names = {expression.value} if isinstance(expression, cst.Name) else set()
            return self._assigned_from_download(names | finder.names)
        return False

    def _reads_bytes(self, expression: cst.BaseExpression) -> bool:
        finder = _SourceFinder(self)
        expression.visit(finder)
        return finder.reads

    def _assigned_from_download(self, names: set[str]) -> bool:
        """Follows assignments back a few steps: ``path = hf_hub_download(...)``, then
        ``with open(path, "rb") as f``, then ``pickle.load(f)``."""
        scope = self.context.enclosing(cst.FunctionDef) or self.context.module
        seen: set[str] = set()
        for _ in range(3):
            names -= seen
            if not names:
                return False
            seen |= names
            assignments = _Assignments(names)
            scope.visit(assignments)
            names = set()
            for value in assignments.values:
                finder = _SourceFinder(self)
                value.visit(finder)
                if finder.download:
                    return True
                names |= finder.names
        return False


class _SourceFinder(cst.CSTVisitor):
    """Downloads, URLs, byte reads and plain names inside an expression."""

    def __init__(self, rule: UnsafeDeserialization) -> None:
        self.rule = rule
        self.download = False
        self.reads = False
        self.names: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if self.rule.context.call_name(node) in _DOWNLOADS:
            self.download = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _READS:
            self.reads = True
        if self.rule.context.qualified_name(node) in _DOWNLOADS:
            self.download = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str) and value.startswith(_URL_PREFIXES):
            self.download = True

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


class _Assignments(cst.CSTVisitor):
    """Values assigned to any of ``names`` (all names when None): ``x = ...`` and
    ``with ... as x``."""

    def __init__(self, names: set[str] | None) -> None:
        self.names = names
        self.values: list[cst.BaseExpression] = []
        self.by_name: dict[str, list[cst.BaseExpression]] = {}

    def _add(self, name: str, value: cst.BaseExpression) -> None:
        if self.names is None or name in self.names:
            self.values.append(value)
            self.by_name.setdefault(name, []).append(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self._add(target.target.value, node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self._add(node.asname.name.value, node.item)


class _Writers(cst.CSTVisitor):
    """The file arguments of pickle-family writers in the module."""

    def __init__(self, rule: UnsafeDeserialization) -> None:
        self.rule = rule
        self.targets: list[cst.BaseExpression] = []

    def visit_Call(self, node: cst.Call) -> None:
        writer = _WRITERS.get(self.rule.context.call_name(node) or "")
        target = None
        if writer is not None:
            target = argument(node, *writer)
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "to_pickle":
            target = argument(node, "path", 0)
        if target is not None:
            self.targets.append(target)


class _PathKeys(cst.CSTVisitor):
    """What identifies a path in an expression: string literals (not open modes),
    f-strings by their code, and free names; names assigned in the file are followed."""

    def __init__(self, assignments: dict[str, list[cst.BaseExpression]], depth: int) -> None:
        self.assignments = assignments
        self.depth = depth
        self.keys: set[tuple[str, str]] = set()

    @classmethod
    def of(
        cls,
        expression: cst.BaseExpression,
        assignments: dict[str, list[cst.BaseExpression]],
        depth: int = 3,
    ) -> set[tuple[str, str]]:
        finder = cls(assignments, depth)
        expression.visit(finder)
        return finder.keys

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str) and value not in _OPEN_MODES:
            self.keys.add(("string", value))

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self.keys.add(("f-string", cst.Module(body=[]).code_for_node(node)))
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.keys.add(("name", cst.Module(body=[]).code_for_node(node)))
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        for arg in node.args:  # open(path, "rb"): the path, not the function's name
            arg.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        values = self.assignments.get(node.value)
        if not values or self.depth <= 0:
            self.keys.add(("name", node.value))
            return
        for value in values:
            self.keys |= _PathKeys.of(value, self.assignments, self.depth - 1)
