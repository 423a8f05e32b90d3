"""Reaching definitions and value flow inside a scope: where data rows and fitted state go.

The analysis is a small abstract interpreter over LibCST statements, run once per file
(module top level, then every function body as its own scope). It walks statements in
program order, so the value a name holds is the one its reaching definition gave it:
``X`` after ``X = scaler.fit_transform(X)`` is a different value from ``X`` before, and a
name reused after a split is a new value. Branches (``if``, ``try`` handlers,
``match`` cases, loop bodies) run on a layer over the state and are joined afterwards;
only names a branch wrote are compared, so the cost stays linear in the file's size. A
loop body is analysed once and joined with the state before the loop (zero iterations).
The analysis is intraprocedural plus one level of local calls; it needs no types.

An abstract value records:

- ``rows``: row-lineage tags. Data read from a file, a parameter or anything unknown gets
  a fresh *origin* tag; a split gives each side a *part* tag whose ancestors are the
  split input's tags. Assignments, subscripts and slicing (``df[cols]``, ``.loc``,
  ``.iloc``, ``.values``, ``.to_numpy()``), arithmetic, pandas/NumPy calls (``drop``,
  ``fillna``, ``astype``, ``concat``, ``np.hstack``, ...) and transforms keep the rows of
  their data inputs;
- ``fits``: the fit events (``scaler.fit(X)``, ``X.mean()``, ``smote.fit_resample``)
  whose learned state shaped the value;
- ``objs``: estimator objects the value may be (constructed at a call site, with a kind
  from :mod:`mllint.analysis.ml_api`); their fitted state lives in a flow-sensitive heap,
  so ``scaler.fit(X)`` followed by ``scaler.transform(Z)`` carries the fit into the result
  and ``StandardScaler().fit(X).transform(X)`` works as a chain;
- tuple elements (``train_test_split`` outputs alternate train and test per array,
  for any number of arrays), dictionary entries with string keys, the (train, test)
  index pairs a ``KFold.split`` loop yields, and two "must" flags for ML206 (the value is
  certainly an augmenting transform / certainly names evaluation data).

Predictions carry the evaluation that produced them, so an evaluation is known to be
*scored* when its predictions reach a metric (``accuracy_score(y_test, pred)``) or an
average (``(pred == y_test).mean()``), or when it is ``score``/``evaluate`` itself.

The interpreter records *events* in program order: fits, splits (``train_test_split``,
``random_split``, ``<splitter>.split``), cross-validations (``cross_val_score`` and
friends, ``GridSearchCV(...).fit``), uses (data reaching a model fit, a prediction, a
split or a CV), evaluations of models on data, and augmentation applied to evaluation
data. :mod:`mllint.analysis.leakage` turns them into findings.

Calls to functions defined at the top level of the same file are analysed one level
deep at each call site, with the arguments' values (a context-sensitive summary), so
``df = preprocess(df)`` before a split sees the scaler fitted inside ``preprocess``.

Known limits (by design, to stay linear and precise):

- one level of local calls; methods of user classes and functions in other modules are
  opaque (their result carries the rows of their arguments);
- a loop body is analysed once; values that change only on a later iteration are missed;
- container mutation (``lst.append(X)``) and aliasing through attributes of arbitrary
  objects are not tracked (``self.x = ...`` is tracked as a dotted name);
- positional splits by hand (``X[:800]``, ``X[800:]``) are not recognised as splits
  (slicing keeps the rows); ``train = df.sample(frac=0.8)`` followed by
  ``test = df.drop(train.index)`` is;
- a maximum over a whole array without an axis (``X / X.max()``, ``np.max(images)``) is
  treated as a fixed scale, so pandas' per-column ``df / df.max()`` is missed;
- the index of a subscript never contributes its fitted state (``df[df.a > df.a.mean()]``
  filters rows, it does not transform them);
- Keras preprocessing layers (``Normalization.adapt``) and training loops written by hand
  (picking the best epoch on a test loader) are not modelled.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import libcst as cst

from mllint.analysis import ml_api
from mllint.analysis.calls import keyword_value
from mllint.analysis.names import dotted_name
from mllint.analysis.statements import nested_statements
from mllint.gcpause import gc_paused

EMPTY: frozenset[int] = frozenset()

#: Function bodies longer than this many statements are not analysed at call sites.
MAX_INLINE_STATEMENTS = 400
#: Total statements analysed at call sites per scope (keeps huge files linear).
INLINE_BUDGET = 20_000


@dataclass(frozen=True, slots=True)
class Value:
    """What the analysis knows about one value (see the module docstring)."""

    rows: frozenset[int] = EMPTY
    fits: frozenset[int] = EMPTY
    objs: frozenset[int] = EMPTY
    elems: tuple[Value, ...] | None = None
    keys: tuple[tuple[str, Value], ...] | None = None
    #: For an index array from ``splitter.split``: the part tag it selects.
    index_rows: frozenset[int] = EMPTY
    #: For the result of ``splitter.split(...)``: the split event's id.
    split_iter: int | None = None
    #: For ``train_test_split(*arrays)``: the split whose outputs alternate train, test.
    split_pair: int | None = None
    #: Predictions: the evaluation events (``model.predict(X)``) this value came from.
    preds: frozenset[int] = EMPTY
    augment: bool = False
    evalpath: bool = False

    def flat(self) -> Value:
        """The value without its structure (elements, keys, split iterator)."""
        if (
            self.elems is None
            and self.keys is None
            and self.split_iter is None
            and self.split_pair is None
        ):
            return self
        return replace(self, elems=None, keys=None, split_iter=None, split_pair=None)


NOTHING = Value()


def combine(values: list[Value] | tuple[Value, ...]) -> Value:
    """A value computed from all of ``values`` (an operation over operands)."""
    values = [v for v in values if v is not NOTHING]
    if not values:
        return NOTHING
    if len(values) == 1:
        return values[0].flat()
    return Value(
        rows=frozenset().union(*(v.rows for v in values)),
        fits=frozenset().union(*(v.fits for v in values)),
        objs=frozenset().union(*(v.objs for v in values)),
        index_rows=frozenset().union(*(v.index_rows for v in values)),
        preds=frozenset().union(*(v.preds for v in values)),
        augment=any(v.augment for v in values),
        evalpath=any(v.evalpath for v in values),
    )


def alternatives(values: list[Value] | tuple[Value, ...]) -> Value:
    """A value that is one of ``values`` (branches, an element of a collection)."""
    if not values:
        return NOTHING
    first = values[0]
    if all(v == first for v in values):
        return first
    return Value(
        rows=frozenset().union(*(v.rows for v in values)),
        fits=frozenset().union(*(v.fits for v in values)),
        objs=frozenset().union(*(v.objs for v in values)),
        index_rows=frozenset().union(*(v.index_rows for v in values)),
        preds=frozenset().union(*(v.preds for v in values)),
        split_iter=first.split_iter
        if all(v.split_iter == first.split_iter for v in values)
        else None,
        augment=all(v.augment for v in values),
        evalpath=all(v.evalpath for v in values),
    )


# -- facts the interpreter records -------------------------------------------------------


@dataclass
class Tag:
    """A row-lineage tag: an origin, or one side of a split."""

    id: int
    #: The tag and every tag it was split from.
    closure: frozenset[int]
    split: int | None = None
    side: str | None = None  # "train" or "test"


@dataclass
class Obj:
    """An estimator object, identified by the call that constructed it."""

    id: int
    node: cst.CSTNode
    kind: str  # see ml_api.estimator_kind, plus "unknown" and "loaded"
    #: For pipelines: the leak kind of the transforming steps ("" when stateless).
    transform_kind: str = ""
    is_model: bool = True
    loops: tuple[int, ...] = ()
    augment: bool = False


@dataclass
class Fit:
    id: int
    seq: int
    node: cst.Call
    kind: str  # unsupervised, supervised, resample, stat, model, label, stateless
    rows: frozenset[int]
    obj: int | None
    via: cst.Call | None
    function: str | None


@dataclass
class Split:
    id: int
    seq: int
    node: cst.Call
    kind: str  # "split" (train/test), "cv" (splitter.split loop), "cvfunc" (CV helper, search)
    rows: frozenset[int]  # closure of the input rows
    fits: frozenset[int]  # fitted state carried by the input
    loops: tuple[int, ...]
    train: int | None = None  # part tags
    test: int | None = None


@dataclass
class Use:
    """Data reaching a consumer: a model fit, a prediction, a split or a CV."""

    seq: int
    node: cst.CSTNode
    fits: frozenset[int]
    rows: frozenset[int]  # closure of the rows
    split: int | None = None  # the split/CV event when the consumer is one


@dataclass
class Eval:
    """A model evaluated on data (``predict``/``score``/``evaluate``) or tuned on it
    (``validation_data=``/``eval_set=``)."""

    seq: int
    node: cst.CSTNode
    kind: str  # "score" or "validation"
    objs: frozenset[int]
    model_fits: frozenset[int]
    rows: frozenset[int]  # direct tags, not the closure
    loops: tuple[int, ...]
    early_stopping: bool = False
    keyword: str | None = None
    #: The result was scored: ``model.score``/``evaluate``, or predictions passed to a
    #: metric (``accuracy_score``) or averaged (``(pred == y_test).mean()``).
    scored: bool = False
    #: The function the evaluation is written in (its own scope, or inlined).
    function: str | None = None


@dataclass
class AugmentOnEval:
    node: cst.CSTNode
    transform: cst.CSTNode
    data: cst.CSTNode
    reason: str


@dataclass
class Facts:
    """Everything the analysis of one file found."""

    tags: list[Tag] = field(default_factory=list)
    objs: list[Obj] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    evals: list[Eval] = field(default_factory=list)
    augment_on_eval: list[AugmentOnEval] = field(default_factory=list)
    splits_by_sample: dict[int, Split] = field(default_factory=dict)

    def closure(self, rows: frozenset[int]) -> frozenset[int]:
        if not rows:
            return EMPTY
        return frozenset().union(*(self.tags[t].closure for t in rows))


# -- the interpreter ---------------------------------------------------------------------


class Layer(dict):
    """A mapping layered over a read-only parent: a branch writes its own layer, so
    starting a branch costs nothing and joining costs only what the branches wrote."""

    __slots__ = ("parent",)

    def __init__(self, parent: Layer | None = None, items: dict | None = None) -> None:
        super().__init__(items or {})
        self.parent = parent

    def lookup(self, key, default=None):
        layer = self
        while layer is not None:
            if dict.__contains__(layer, key):
                return dict.__getitem__(layer, key)
            layer = layer.parent
        return default

    def has(self, key) -> bool:
        layer = self
        while layer is not None:
            if dict.__contains__(layer, key):
                return True
            layer = layer.parent
        return False


@dataclass
class State:
    env: Layer
    heap: Layer

    def branch(self) -> State:
        return State(Layer(self.env), Layer(self.heap))


def join_branches(before: State, branches: list[State]) -> None:
    """Write into ``before`` the join of its branches; only keys some branch wrote can
    differ from ``before``, so only those are compared (linear in what was written)."""
    env_keys = set().union(*branches_keys(b.env for b in branches))
    for name in env_keys:
        values = [b.env.lookup(name) for b in branches]
        first = values[0]
        if all(v is first for v in values):
            if first is not None:
                before.env[name] = first
            continue
        before.env[name] = alternatives([NOTHING if v is None else v for v in values])
    heap_keys = set().union(*branches_keys(b.heap for b in branches))
    for obj in heap_keys:
        before.heap[obj] = frozenset().union(*(b.heap.lookup(obj, EMPTY) for b in branches))


def branches_keys(layers):
    return [set(layer) for layer in layers]


class Interpreter:
    """Walks the statements of one file and records :class:`Facts`."""

    def __init__(self, module: cst.Module, resolve) -> None:
        self.module = module
        #: ``resolve(expr) -> qualified name | None`` (the import alias table).
        self.resolve = resolve
        self.facts = Facts()
        self.seq = itertools.count()
        self.loops: list[int] = []
        self.loop_ids = itertools.count()
        self.functions: dict[str, cst.FunctionDef] = {
            stmt.name.value: stmt for stmt in module.body if type(stmt) is cst.FunctionDef
        }
        self.state = State(Layer(), Layer())
        self.origin_cache: dict[str, Value] = {}
        #: Tags of ``df.sample(frac=...)`` results: (call, seq, input rows, fits, loops).
        self.samples: dict[int, tuple] = {}
        self.site_objs: dict[int, int] = {}
        #: Set while analysing a local function's body at a call site.
        self.via: cst.Call | None = None
        self.via_function: str | None = None
        #: The function whose body is being analysed as a scope (None: the module).
        self.scope_name: str | None = None
        self.outer_env: Layer | None = None
        self.returns: list[Value] | None = None
        self.inline_budget = INLINE_BUDGET

    # -- entry points --------------------------------------------------------------------

    def run(self) -> Facts:
        self.block(self.module.body)
        for function in _all_functions(self.module):
            self.state = State(Layer(), Layer())
            self.origin_cache = {}
            self.inline_budget = INLINE_BUDGET
            self.function_scope(function)
        return self.facts

    def function_scope(self, function: cst.FunctionDef) -> None:
        self.scope_name = function.name.value
        for param in _params(function.params):
            self.state.env[param.name.value] = self.origin(param.name.value)
        self.returns = []
        self.block(function.body)
        self.returns = None

    # -- helpers -------------------------------------------------------------------------

    def new_tag(self, parents: frozenset[int] = EMPTY, split=None, side=None) -> int:
        tag_id = len(self.facts.tags)
        self.facts.tags.append(Tag(tag_id, frozenset({tag_id}) | parents, split, side))
        return tag_id

    def origin(self, key: str) -> Value:
        value = self.origin_cache.get(key)
        if value is None:
            value = Value(rows=frozenset({self.new_tag()}))
            self.origin_cache[key] = value
        return value

    def new_obj(self, node: cst.CSTNode, kind: str, **extra) -> int:
        # One object per construction site (and per analysis of that site).
        obj_id = len(self.facts.objs)
        self.facts.objs.append(Obj(obj_id, node, kind, loops=tuple(self.loops), **extra))
        self.set_heap(obj_id, EMPTY)
        return obj_id

    def lookup(self, name: str) -> Value:
        value = self.state.env.lookup(name)
        if value is not None:
            return value
        if self.outer_env is not None and self.outer_env.has(name):
            return self.outer_env.lookup(name)
        return self.origin(name)

    # -- statements ----------------------------------------------------------------------

    def block(self, body) -> None:
        if isinstance(body, cst.BaseSuite):
            body = body.body
        for statement in body:
            self.statement(statement)

    def statement(self, node: cst.CSTNode) -> None:
        if type(node) is cst.SimpleStatementLine:
            for small in node.body:
                self.small(small)
        elif type(node) is cst.If:
            self.expr(node.test)
            orelse = node.orelse
            if orelse is None:
                self.branches([lambda: self.block(node.body), None])
            elif type(orelse) is cst.If:
                self.branches([lambda: self.block(node.body), lambda: self.statement(orelse)])
            else:
                self.branches([lambda: self.block(node.body), lambda: self.block(orelse.body)])
        elif type(node) is cst.For:
            item = self.iter_item(node.iter)
            self.loop(node.body, node.orelse, lambda: self.bind(node.target, item))
        elif type(node) is cst.While:
            self.expr(node.test)
            self.loop(node.body, node.orelse, None)
        elif type(node) in (cst.Try, cst.TryStar):
            # The body runs; then maybe one handler (from the state after the body, an
            # approximation of "anywhere in the body").
            self.block(node.body)
            self.branches([None, *(self._runner(h.body) for h in node.handlers)])
            if node.orelse is not None:
                self.block(node.orelse.body)
            if node.finalbody is not None:
                self.block(node.finalbody.body)
        elif type(node) is cst.With:
            for item in node.items:
                value = self.expr(item.item)
                if item.asname is not None:
                    self.bind(item.asname.name, value)
            self.block(node.body)
        elif type(node) is cst.Match:
            self.expr(node.subject)
            self.branches([None, *(self._runner(case.body) for case in node.cases)])
        elif type(node) in (cst.FunctionDef, cst.ClassDef):
            return  # bodies are separate scopes (functions) or skipped (class bodies)

    def _runner(self, body):
        return lambda: self.block(body)

    def branches(self, runs) -> None:
        """Run each branch (None: do nothing) on a layer over the state, then join them."""
        before = self.state
        results = []
        try:
            for run in runs:
                self.state = before.branch()
                if run is not None:
                    run()
                results.append(self.state)
        finally:
            self.state = before
        join_branches(before, results)

    def loop(self, body, orelse, bind) -> None:
        """A loop body runs zero times or once (joined); then the ``else`` block."""

        def once() -> None:
            self.loops.append(next(self.loop_ids))
            try:
                if bind is not None:
                    bind()
                self.block(body)
            finally:
                self.loops.pop()

        self.branches([None, once])
        if orelse is not None:
            self.block(orelse.body)

    def assign(self, key: str, value: Value) -> None:
        self.state.env[key] = value

    def set_heap(self, obj: int, fits: frozenset[int]) -> None:
        self.state.heap[obj] = fits

    def heap_of(self, obj: int) -> frozenset[int]:
        return self.state.heap.lookup(obj, EMPTY)

    def small(self, node: cst.BaseSmallStatement) -> None:
        if type(node) is cst.Assign:
            value = self.expr(node.value)
            for target in node.targets:
                self.bind(target.target, value)
        elif type(node) is cst.AnnAssign:
            if node.value is not None:
                self.bind(node.target, self.expr(node.value))
        elif type(node) is cst.AugAssign:
            value = self.expr(node.value)
            old = self.expr(node.target)
            self.bind(node.target, combine([old, value]))
        elif type(node) is cst.Expr:
            self.expr(node.value)
        elif type(node) is cst.Return:
            value = self.expr(node.value) if node.value is not None else NOTHING
            if self.returns is not None:
                self.returns.append(value)
        elif type(node) is cst.Del:
            for name in _target_names(node.target):
                self.assign(name, NOTHING)

    def bind(self, target: cst.BaseExpression, value: Value) -> None:
        if type(target) is cst.Name:
            self.assign(target.value, value)
        elif type(target) in (cst.Tuple, cst.List):
            elements = target.elements
            starred = any(type(e) is cst.StarredElement for e in elements)
            if value.split_pair is not None and not starred:
                split = self.facts.splits[value.split_pair]
                for index, element in enumerate(elements):
                    side = split.train if index % 2 == 0 else split.test
                    self.bind(element.value, Value(rows=frozenset({side}), fits=value.fits))
            elif value.elems is not None and len(value.elems) == len(elements) and not starred:
                for element, part in zip(elements, value.elems, strict=True):
                    self.bind(element.value, part)
            else:
                whole = alternatives(value.elems) if value.elems else value.flat()
                for element in elements:
                    self.bind(element.value, whole)
        elif type(target) is cst.StarredElement:
            self.bind(target.value, value)
        elif type(target) is cst.Attribute:
            dotted = dotted_name(target)
            if dotted is not None:
                self.assign(dotted, value)
            self._update_base(target.value, value)
        elif type(target) is cst.Subscript:
            self._update_base(target.value, value)

    def _update_base(self, base: cst.BaseExpression, value: Value) -> None:
        """``df["a"] = expr`` / ``X.loc[:, cols] = expr``: ``df`` now holds ``expr`` too."""
        while type(base) in (cst.Subscript, cst.Attribute) and dotted_name(base) is None:
            base = base.value
        if type(base) is cst.Attribute and base.attr.value in {"loc", "iloc", "at", "iat"}:
            base = base.value
        key = dotted_name(base)
        if key is None:
            return
        old = self.lookup(key)
        self.assign(
            key,
            replace(old.flat(), fits=old.fits | value.fits, augment=old.augment or value.augment),
        )

    def iter_item(self, node: cst.BaseExpression) -> Value:
        """Evaluate the iterable ``node``; the value of one of its items."""
        if type(node) is cst.Call and self.resolve(node.func) in {
            "builtins.enumerate",
            "builtins.zip",
        }:
            items = [self.iter_item(a.value) for a in node.args if a.keyword is None]
            if self.resolve(node.func) == "builtins.enumerate":
                return Value(elems=(NOTHING, items[0] if items else NOTHING))
            return Value(elems=tuple(items))
        return self.iterate(self.expr(node))

    def iterate(self, value: Value) -> Value:
        """The value of one item of an iterable ``value``."""
        if value.split_iter is not None:
            split = self.facts.splits[value.split_iter]
            return Value(
                elems=(
                    Value(index_rows=frozenset({split.train})),
                    Value(index_rows=frozenset({split.test})),
                )
            )
        if value.elems:
            return alternatives(value.elems)
        if value.keys:
            return alternatives([v for _k, v in value.keys])
        return value.flat()

    # -- expressions ---------------------------------------------------------------------

    def expr(self, node: cst.BaseExpression | None) -> Value:
        if node is None:
            return NOTHING
        # Exact types (LibCST's node classes have no subclasses): a failed isinstance on
        # LibCST's ABC-based classes costs ~0.7 us, and this chain is asked per expression.
        kind = type(node)
        if kind is cst.Name:
            name = node.value
            if name in {"True", "False", "None"}:
                return NOTHING
            unbound = not self.state.env.has(name) and (
                self.outer_env is None or not self.outer_env.has(name)
            )
            if unbound and (self.resolve(node) is not None or name in self.functions):
                return NOTHING  # an imported module, class or function; a builtin
            return self.lookup(name)
        if kind is cst.Attribute:
            dotted = dotted_name(node)
            if dotted is not None and self.state.env.has(dotted):
                return self.state.env.lookup(dotted)
            if (
                dotted is not None
                and self.resolve(node) is not None
                and not self.state.env.has(node_head(node))
            ):
                return NOTHING  # a module attribute (np.nan, torch.float32)
            base = self.expr(node.value)
            if base.objs:
                fits = frozenset().union(*(self.heap_of(o) for o in base.objs))
                return Value(objs=base.objs, fits=fits | base.fits)
            return base.flat()
        if kind is cst.Call:
            return self.call(node)
        if kind is cst.Subscript:
            return self.subscript(node)
        if kind in (cst.SimpleString, cst.ConcatenatedString):
            text = _text(node) if kind is cst.SimpleString else None
            if kind is cst.ConcatenatedString:
                text = self.module.code_for_node(node)
            if isinstance(text, bytes):
                text = text.decode("latin-1")
            return Value(evalpath=True) if text and ml_api.is_eval_path(text) else NOTHING
        if kind is cst.FormattedString:
            parts = []
            literal = ""
            for part in node.parts:
                if type(part) is cst.FormattedStringText:
                    literal += part.value
                else:
                    parts.append(self.expr(part.expression))
                    literal += "/"
            if ml_api.is_eval_path(literal):
                parts.append(Value(evalpath=True))
            return combine(parts)
        if kind is cst.BinaryOperation:
            return combine([self.expr(node.left), self.expr(node.right)])
        if kind is cst.UnaryOperation:
            return self.expr(node.expression)
        if kind is cst.BooleanOperation:
            return alternatives([self.expr(node.left), self.expr(node.right)])
        if kind is cst.Comparison:
            values = [self.expr(node.left)]
            values.extend(self.expr(c.comparator) for c in node.comparisons)
            return combine(values).flat()
        if kind is cst.IfExp:
            self.expr(node.test)
            return alternatives([self.expr(node.body), self.expr(node.orelse)])
        if kind in (cst.Tuple, cst.List, cst.Set):
            elems = tuple(self.expr(e.value) for e in node.elements)
            flat = combine(elems)
            return replace(flat, elems=elems)
        if kind is cst.Dict:
            keys: list[tuple[str, Value]] = []
            values: list[Value] = []
            for element in node.elements:
                if type(element) is cst.DictElement:
                    value = self.expr(element.value)
                    self.expr(element.key)
                    values.append(value)
                    if type(element.key) is cst.SimpleString:
                        key = _text(element.key)
                        if isinstance(key, str):
                            keys.append((key, value))
                else:
                    values.append(self.expr(element.value))
            flat = combine(values)
            if len(keys) == len(values):
                return replace(flat, keys=tuple(keys))
            return flat
        if kind in (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp):
            return self.comprehension(node)
        if kind is cst.Await:
            return self.expr(node.expression)
        if kind is cst.NamedExpr:
            value = self.expr(node.value)
            self.bind(node.target, value)
            return value
        if kind is cst.StarredElement:
            return self.expr(node.value)
        if kind is cst.Lambda:
            return NOTHING
        return NOTHING

    def comprehension(self, node) -> Value:
        saved = self.state.env
        self.state.env = Layer(saved)
        try:
            clause = node.for_in
            while clause is not None:
                self.bind(clause.target, self.iter_item(clause.iter))
                for condition in clause.ifs:
                    self.expr(condition.test)
                clause = clause.inner_for_in
            if type(node) is cst.DictComp:
                self.expr(node.key)
                return self.expr(node.value).flat()
            return self.expr(node.elt).flat()
        finally:
            self.state.env = saved

    def subscript(self, node: cst.Subscript) -> Value:
        base = self.expr(node.value)
        indexes: list[Value] = []
        first: cst.BaseExpression | None = None
        for position, element in enumerate(node.slice):
            if type(element.slice) is cst.Index:
                if position == 0:
                    first = element.slice.value
                indexes.append(self.expr(element.slice.value))
            else:
                for part in (element.slice.lower, element.slice.upper, element.slice.step):
                    self.expr(part)
        if indexes and indexes[0].index_rows:
            return Value(rows=indexes[0].index_rows, fits=base.fits)
        if base.elems is not None and first is not None:
            index = _int_literal(first)
            if index is not None and -len(base.elems) <= index < len(base.elems):
                return base.elems[index]
            return alternatives(base.elems)
        if base.keys is not None and first is not None:
            if type(first) is cst.SimpleString:
                for key, value in base.keys:
                    if key == _text(first):
                        return value
            return alternatives([v for _k, v in base.keys])
        return base.flat()

    # -- calls ---------------------------------------------------------------------------

    def call(self, node: cst.Call) -> Value:
        func = node.func
        head = node_head(func)
        qualified = None
        if head is None or not self.state.env.has(head):
            qualified = self.resolve(func)
        if qualified is not None:
            return self.library_call(node, qualified)
        if (
            type(func) is cst.Name
            and func.value in self.functions
            and not self.state.env.has(func.value)
        ):
            return self.local_call(node, self.functions[func.value])
        if type(func) is cst.Attribute:
            receiver = self.expr(func.value)
            return self.method_call(node, receiver, func.attr.value)
        callee = self.expr(func)
        args = self.args(node)
        if callee.objs:  # calling an estimator-like object (a Keras model on data)
            return Value(rows=combine(args).rows, fits=combine([*args, callee]).fits)
        return self.unknown_call(node, args, dotted_name(func) or "")

    def args(self, node: cst.Call) -> list[Value]:
        return [self.expr(arg.value) for arg in node.args]

    def unknown_call(self, node: cst.Call, args: list[Value], name: str) -> Value:
        result = combine(args)
        short = name.rsplit(".", 1)[-1]
        if short[:1].isupper():
            return Value(objs=frozenset({self.site_obj(node, "unknown")}), fits=result.fits)
        if ml_api.is_model_loader(name):
            return Value(objs=frozenset({self.site_obj(node, "loaded")}))
        if not result.rows:
            result = replace(result, rows=frozenset({self.new_tag()}))
        return result

    def site_obj(self, node: cst.CSTNode, kind: str, **extra) -> int:
        key = id(node)
        obj = self.site_objs.get(key)
        if obj is None or self.facts.objs[obj].node is not node:
            obj = self.new_obj(node, kind, **extra)
            self.site_objs[key] = obj
        return obj

    def local_call(self, node: cst.Call, function: cst.FunctionDef) -> Value:
        args = self.args(node)
        size = _statement_count(function)
        if self.via is not None or size > MAX_INLINE_STATEMENTS or size > self.inline_budget:
            return self.unknown_call(node, args, function.name.value)
        self.inline_budget -= size
        saved = (self.state.env, self.outer_env, self.returns, self.via, self.via_function)
        env: dict[str, Value] = {}
        params = _params(function.params)
        positional = [
            (arg, value)
            for arg, value in zip(node.args, args, strict=True)
            if arg.keyword is None and not arg.star
        ]
        for param, (_arg, value) in zip(
            [*function.params.posonly_params, *function.params.params], positional, strict=False
        ):
            env[param.name.value] = value
        for arg, value in zip(node.args, args, strict=True):
            if arg.keyword is not None:
                env[arg.keyword.value] = value
        for param in params:
            if param.name.value not in env:
                env[param.name.value] = self.expr(param.default) if param.default else NOTHING
        self.outer_env = saved[0] if saved[1] is None else saved[1]
        self.state.env = Layer(None, env)
        self.returns = []
        self.via, self.via_function = node, function.name.value
        self.block(function.body)
        result = alternatives(self.returns) if self.returns else NOTHING
        self.state.env, self.outer_env, self.returns, self.via, self.via_function = saved
        return result

    def library_call(self, node: cst.Call, qualified: str) -> Value:
        if qualified in ml_api.SPLIT_FUNCTIONS or qualified in ml_api.RANDOM_SPLIT_FUNCTIONS:
            return self.split_call(node, qualified)
        cv = ml_api.CV_FUNCTIONS.get(qualified)
        if cv is not None:
            return self.cv_call(node, cv)
        kind = ml_api.estimator_kind(qualified)
        if kind is not None:
            return self.construct(node, qualified, kind)
        args = self.args(node)
        if ml_api.is_metric(qualified):
            self.mark_scored(args)
        if qualified in ml_api.SCALAR_BUILTINS:
            return NOTHING
        if qualified in ml_api.STAT_FUNCTIONS:
            data = args[0] if args else NOTHING
            self.mark_scored(args[:1])
            if data.rows and not _rowwise(node) and not _global_max(node, qualified):
                fit = self.add_fit(node, "stat", data.rows, None)
                return Value(fits=data.fits | {fit})
            return combine(args)
        if qualified in ml_api.FITTING_FUNCTIONS:
            data = args[0] if args else NOTHING
            fit = self.add_fit(node, "unsupervised", data.rows, None)
            return Value(rows=data.rows, fits=data.fits | {fit})
        if ml_api.is_augmenting_transform(qualified):
            return Value(augment=True)
        if qualified in {"builtins.list", "builtins.tuple", "builtins.sorted"} and args:
            return args[0]
        self.check_augmented_dataset(node, args)
        # Library functions return data: estimator objects among the arguments (an
        # argparse namespace, a model) do not flow into the result.
        result = replace(combine(args), objs=EMPTY)
        if ml_api.is_model_loader(qualified):
            return Value(objs=frozenset({self.site_obj(node, "loaded")}))
        if qualified.startswith("builtins."):
            return result
        short = qualified.rsplit(".", 1)[-1]
        if not result.rows and not result.augment:
            if short[:1].isupper() and not ml_api.passes_rows(qualified):
                return Value(objs=frozenset({self.site_obj(node, "unknown")}))
            return replace(result, rows=frozenset({self.new_tag()}))
        return result

    def construct(self, node: cst.Call, qualified: str, kind: str) -> Value:
        args = self.args(node)
        extra: dict = {}
        if kind == "pipeline":
            step_kinds = {self.facts.objs[o].kind for a in args for o in _all_objs(a)}
            step_kinds |= {
                self.facts.objs[o].transform_kind
                for a in args
                for o in _all_objs(a)
                if self.facts.objs[o].kind == "pipeline"
            }
            for leak in ("supervised", "unsupervised"):
                if leak in step_kinds:
                    extra["transform_kind"] = leak
                    break
            last_is_model = _last_step_is_model(self, node, args)
            extra["is_model"] = last_is_model
        elif kind == "datagen":
            extra["augment"] = any(
                arg.keyword is not None
                and arg.keyword.value in ml_api.AUGMENTING_GENERATOR_KEYWORDS
                and not _falsy(arg.value)
                for arg in node.args
            )
        elif kind in {"unsupervised", "supervised", "resample", "stateless", "label"}:
            extra["is_model"] = False
        obj = self.site_obj(node, kind, **extra)
        self.set_heap(obj, EMPTY)
        return Value(objs=frozenset({obj}))

    def mark_scored(self, values: list[Value]) -> None:
        for value in values:
            for eval_id in _all_preds(value):
                self.facts.evals[eval_id].scored = True

    def add_fit(self, node: cst.Call, kind: str, rows: frozenset[int], obj: int | None) -> int:
        fit_id = len(self.facts.fits)
        self.facts.fits.append(
            Fit(fit_id, next(self.seq), node, kind, rows, obj, self.via, self.via_function)
        )
        return fit_id

    def add_use(self, node, values: list[Value], split: int | None = None) -> None:
        whole = combine(values)
        self.facts.uses.append(
            Use(next(self.seq), node, whole.fits, self.facts.closure(whole.rows), split)
        )

    def new_split(self, node: cst.Call, kind: str, data: list[Value]) -> Split:
        whole = combine(data)
        rows = self.facts.closure(whole.rows)
        split_id = len(self.facts.splits)
        split = Split(split_id, next(self.seq), node, kind, rows, whole.fits, tuple(self.loops))
        split.train = self.new_tag(rows, split_id, "train")
        split.test = self.new_tag(rows, split_id, "test")
        self.facts.splits.append(split)
        self.facts.uses.append(Use(split.seq, node, whole.fits, rows, split_id))
        return split

    def sample(self, node: cst.Call, receiver: Value) -> Value:
        """``train = df.sample(frac=0.8)``: a split once ``df.drop(train.index)`` takes the
        rest as the test set; until then, just a sample (subsampling for speed)."""
        rows = self.facts.closure(receiver.rows)
        tag = self.new_tag(rows)
        self.samples[tag] = (node, next(self.seq), rows, receiver.fits, tuple(self.loops))
        return Value(rows=frozenset({tag}), fits=receiver.fits)

    def drop_sample(self, node: cst.Call, receiver: Value, args: list[Value]) -> Value | None:
        for value in args:
            for tag in value.rows:
                if tag not in self.samples:
                    continue
                sample_node, seq, rows, fits, loops = self.samples[tag]
                if not rows & self.facts.closure(receiver.rows):
                    continue
                split = self.facts.splits_by_sample.get(tag)
                if split is None:
                    split = Split(
                        len(self.facts.splits), seq, sample_node, "split", rows, fits, loops
                    )
                    split.train = tag
                    split.test = self.new_tag(rows, split.id, "test")
                    self.facts.tags[tag].split, self.facts.tags[tag].side = split.id, "train"
                    self.facts.splits.append(split)
                    self.facts.uses.append(Use(seq, sample_node, fits, rows, split.id))
                    self.facts.splits_by_sample[tag] = split
                return Value(rows=frozenset({split.test}), fits=receiver.fits)
        return None

    def split_call(self, node: cst.Call, qualified: str) -> Value:
        positional = [a for a in node.args if a.keyword is None]
        values = [self.expr(a.value) for a in positional]
        for arg in node.args:
            if arg.keyword is not None:
                self.expr(arg.value)
        if any(a.star for a in positional):
            split = self.new_split(node, "split", values)
            return Value(
                rows=frozenset({split.train, split.test}),
                fits=combine(values).fits,
                split_pair=split.id,
            )
        if qualified in ml_api.RANDOM_SPLIT_FUNCTIONS:
            data = values[:1]
            split = self.new_split(node, "split", data)
            lengths = positional[1].value if len(positional) > 1 else None
            count = len(lengths.elements) if type(lengths) in (cst.List, cst.Tuple) else 2
            fits = data[0].fits if data else EMPTY
            parts = [Value(rows=frozenset({split.train}), fits=fits)]
            parts += [Value(rows=frozenset({split.test}), fits=fits)] * (count - 1)
            return Value(elems=tuple(parts))
        split = self.new_split(node, "split", values)
        outputs: list[Value] = []
        for value in values:
            outputs.append(Value(rows=frozenset({split.train}), fits=value.fits))
            outputs.append(Value(rows=frozenset({split.test}), fits=value.fits))
        return Value(elems=tuple(outputs))

    def cv_call(self, node: cst.Call, positions: tuple[int, int]) -> Value:
        positional = [a for a in node.args if a.keyword is None and not a.star]
        values = {id(a): self.expr(a.value) for a in node.args}
        data: list[Value] = []
        for name, position in (("X", positions[0]), ("y", positions[1])):
            expr = keyword_value(node, name)
            if expr is None and position < len(positional):
                expr = positional[position].value
            if expr is not None:
                data.append(self.expr(expr))
        del values
        self.new_split(node, "cvfunc", data)
        return NOTHING

    # -- methods -------------------------------------------------------------------------

    def method_call(self, node: cst.Call, receiver: Value, method: str) -> Value:
        if receiver.objs:
            return self.object_method(node, receiver, method)
        args = self.args(node)
        if method == "sample" and receiver.rows and _samples_a_fraction(node):
            return self.sample(node, receiver)
        if method == "drop" and self.samples:
            dropped = self.drop_sample(node, receiver, args)
            if dropped is not None:
                return dropped
        if method in ml_api.STAT_METHODS or method == "sum":
            self.mark_scored([receiver])
        if (
            method in ml_api.STAT_METHODS
            and receiver.rows
            and not _rowwise(node)
            and not _windowed(node)
            and not _global_max(node, method)
        ):
            fit = self.add_fit(node, "stat", receiver.rows, None)
            return Value(fits=receiver.fits | {fit})
        extra = combine(args)
        rows = receiver.rows
        if method in ml_api.ROW_UNION_METHODS:
            rows = rows | extra.rows
        return Value(
            rows=rows,
            fits=receiver.fits | extra.fits,
            index_rows=receiver.index_rows,
            augment=receiver.augment or extra.augment,
            evalpath=receiver.evalpath or extra.evalpath,
        )

    def _data_args(self, node: cst.Call) -> tuple[Value, Value, list[Value]]:
        """(X, y, all argument values) of a fit/transform/predict-like call."""
        values = []
        x_value = y_value = NOTHING
        positional = 0
        for arg in node.args:
            value = self.expr(arg.value)
            values.append(value)
            if arg.keyword is None and not arg.star:
                if positional == 0:
                    x_value = value
                elif positional == 1:
                    y_value = value
                positional += 1
            elif arg.keyword is not None and arg.keyword.value in {"X", "x", "raw_documents"}:
                x_value = value
            elif arg.keyword is not None and arg.keyword.value == "y":
                y_value = value
        return x_value, y_value, values

    def object_method(self, node: cst.Call, receiver: Value, method: str) -> Value:
        objs = [self.facts.objs[o] for o in sorted(receiver.objs)]
        state = frozenset().union(*(self.heap_of(o.id) for o in objs))
        kinds = {o.kind for o in objs}
        obj_id = objs[0].id if len(objs) == 1 else None
        if method == "split" and "splitter" in kinds:
            x_value, y_value, _ = self._data_args(node)
            split = self.new_split(node, "cv", [x_value])
            return Value(split_iter=split.id)
        if method in ml_api.GENERATOR_FLOW_METHODS and "datagen" in kinds:
            args = self._data_args(node)[2]
            self.check_generator_flow(node, objs, args)
            return Value(rows=combine(args).rows, fits=combine(args).fits | state)
        if method in ml_api.FIT_METHODS or method in ml_api.FIT_TRANSFORM_METHODS:
            x_value, y_value, values = self._data_args(node)
            fit_kind = _fit_kind(objs, method)
            if "search" in kinds:
                self.new_split(node, "cvfunc", [x_value, y_value])
            fit = self.add_fit(node, fit_kind, x_value.rows or y_value.rows, obj_id)
            new_state = frozenset({fit}) | x_value.fits
            for obj in objs:
                if len(objs) == 1:
                    self.set_heap(obj.id, new_state)
                else:
                    self.set_heap(obj.id, self.heap_of(obj.id) | new_state)
            if fit_kind in {"model", "baseline"} or "search" in kinds:
                self.add_use(node, values)
                self.validation_evals(node, receiver, new_state)
            if method in ml_api.FIT_TRANSFORM_METHODS:
                return Value(rows=x_value.rows, fits=x_value.fits | new_state)
            return Value(objs=receiver.objs, fits=new_state)
        if method in ml_api.RESAMPLE_METHODS:
            x_value, y_value, _ = self._data_args(node)
            if "resample" in kinds:
                fit = self.add_fit(node, "resample", x_value.rows or y_value.rows, obj_id)
                added = frozenset({fit})
            else:
                added = EMPTY
            return Value(
                elems=(
                    Value(rows=x_value.rows, fits=x_value.fits | added),
                    Value(rows=y_value.rows, fits=y_value.fits | added),
                )
            )
        if method in ml_api.TRANSFORM_METHODS:
            x_value, _y, _values = self._data_args(node)
            return Value(rows=x_value.rows, fits=x_value.fits | state)
        if method in ml_api.EVAL_METHODS:
            x_value, y_value, _values = self._data_args(node)
            data = combine([x_value, y_value])
            self.add_use(node, [data])
            eval_id = len(self.facts.evals)
            self.facts.evals.append(
                Eval(
                    next(self.seq),
                    node,
                    "score",
                    receiver.objs,
                    state,
                    data.rows,
                    tuple(self.loops),
                    scored=method in ml_api.SCORE_METHODS,
                    function=self.via_function or self.scope_name,
                )
            )
            return Value(rows=x_value.rows, fits=x_value.fits | state, preds=frozenset({eval_id}))
        args = self.args(node)
        return Value(objs=receiver.objs, fits=state | combine(args).fits)

    def validation_evals(self, node: cst.Call, receiver: Value, state: frozenset[int]) -> None:
        early = any(
            arg.keyword is not None and arg.keyword.value in ml_api.EARLY_STOPPING_KEYWORDS
            for arg in node.args
        )
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in ml_api.VALIDATION_KEYWORDS:
                value = self.expr(arg.value)
                rows = _all_rows(value)
                self.facts.evals.append(
                    Eval(
                        next(self.seq),
                        arg.value,
                        "validation",
                        receiver.objs,
                        state,
                        rows,
                        tuple(self.loops),
                        early_stopping=early,
                        keyword=arg.keyword.value,
                    )
                )

    # -- augmentation (ML206) ------------------------------------------------------------

    def _is_eval_data(self, value: Value) -> bool:
        if value.evalpath:
            return True
        return any(self.facts.tags[t].side == "test" for t in _all_rows(value))

    def check_augmented_dataset(self, node: cst.Call, args: list[Value]) -> None:
        transform_arg = None
        for arg, value in zip(node.args, args, strict=True):
            if arg.keyword is not None and arg.keyword.value in {"transform", "transforms"}:
                transform_arg = (arg, value)
        if transform_arg is None or not transform_arg[1].augment:
            return
        reason = None
        data_node: cst.CSTNode = node
        for arg, value in zip(node.args, args, strict=True):
            if arg is transform_arg[0]:
                continue
            keyword = arg.keyword.value if arg.keyword is not None else None
            is_false = type(arg.value) is cst.Name and arg.value.value == "False"
            if keyword == "train" and is_false:
                reason, data_node = "train=False", arg.value
            elif (
                keyword == "split"
                and type(arg.value) is cst.SimpleString
                and _text(arg.value).lower() in ml_api.EVAL_SPLIT_NAMES
            ):
                reason, data_node = "split", arg.value
            elif self._is_eval_data(value):
                reason, data_node = "data", arg.value
        if reason is not None:
            self.facts.augment_on_eval.append(
                AugmentOnEval(node, transform_arg[0].value, data_node, reason)
            )

    def check_generator_flow(self, node: cst.Call, objs: list[Obj], args: list[Value]) -> None:
        if not any(o.augment for o in objs):
            return
        subset = keyword_value(node, "subset")
        if type(subset) is cst.SimpleString and _text(subset) == "validation":
            self.facts.augment_on_eval.append(
                AugmentOnEval(node, _receiver(node), subset, "subset")
            )
            return
        for arg, value in zip(node.args, args, strict=True):
            if arg.keyword is not None and arg.keyword.value == "subset":
                continue
            if self._is_eval_data(value):
                self.facts.augment_on_eval.append(
                    AugmentOnEval(node, _receiver(node), arg.value, "data")
                )
                return


# -- small syntax helpers ----------------------------------------------------------------


def _text(node: cst.SimpleString) -> str:
    """A string literal's text, cheaply (no escapes processed; ``evaluated_value`` calls
    ``ast.literal_eval``, which dominated the analysis of large files)."""
    raw = node.value.lstrip("rRbBuUfF")
    quote = raw[:3] if raw[:3] in {'"""', "'''"} else raw[:1]
    return raw[len(quote) : len(raw) - len(quote)]


def _receiver(node: cst.Call) -> cst.CSTNode:
    return node.func.value if type(node.func) is cst.Attribute else node.func


def node_head(node: cst.BaseExpression) -> str | None:
    while type(node) is cst.Attribute:
        node = node.value
    return node.value if type(node) is cst.Name else None


def _int_literal(node: cst.BaseExpression) -> int | None:
    if type(node) is cst.Integer:
        return int(node.evaluated_value)
    if (
        type(node) is cst.UnaryOperation
        and type(node.operator) is cst.Minus
        and type(node.expression) is cst.Integer
    ):
        return -int(node.expression.evaluated_value)
    return None


def _rowwise(node: cst.Call) -> bool:
    """``X.mean(axis=1)``: a statistic of each row, which learns nothing across rows."""
    axis = keyword_value(node, "axis")
    if axis is None:
        return False
    if type(axis) is cst.Integer:
        return axis.value == "1"
    if type(axis) is cst.UnaryOperation and type(axis.expression) is cst.Integer:
        return True  # axis=-1
    if type(axis) is cst.SimpleString:
        return _text(axis) == "columns"
    return False


def _samples_a_fraction(node: cst.Call) -> bool:
    """``df.sample(frac=0.8)`` (not ``frac=1``, a shuffle)."""
    frac = keyword_value(node, "frac")
    if type(frac) in (cst.Float, cst.Integer):
        return float(frac.value) < 1.0
    return frac is not None


def _global_max(node: cst.Call, name: str) -> bool:
    """``X / X.max()``, ``images / np.max(images)``: the maximum over the whole array is
    in practice a fixed scale (255 for pixels), not a learned per-feature statistic."""
    short = name.rsplit(".", 1)[-1]
    if short not in {"max", "amax", "nanmax"} or keyword_value(node, "axis") is not None:
        return False
    positional = [a for a in node.args if a.keyword is None]
    if "." in name:  # np.max(X): the array is the only positional argument
        return len(positional) == 1
    return not positional  # X.max(): no axis given


def _windowed(node: cst.Call) -> bool:
    """``s.rolling(24).mean()``: an aggregate over a window of earlier rows."""
    receiver = node.func.value if type(node.func) is cst.Attribute else None
    while type(receiver) in (cst.Call, cst.Attribute, cst.Subscript):
        if type(receiver) is cst.Call:
            func = receiver.func
            if type(func) is cst.Attribute and func.attr.value in ml_api.WINDOW_METHODS:
                return True
            receiver = func.value if type(func) is cst.Attribute else None
        else:
            receiver = receiver.value
    return False


def _falsy(node: cst.BaseExpression) -> bool:
    if type(node) is cst.Name:
        return node.value in {"False", "None"}
    if type(node) in (cst.Integer, cst.Float):
        return float(node.value) == 0.0
    return False


def _fit_kind(objs: list[Obj], method: str) -> str:
    kinds = {o.kind for o in objs}
    for kind in ("supervised", "resample", "unsupervised"):
        if kind in kinds:
            return kind
    for obj in objs:
        if obj.kind == "pipeline":
            if (
                method in ml_api.FIT_TRANSFORM_METHODS
                and obj.transform_kind
                and (method == "fit_transform")
            ):
                return obj.transform_kind
            if not obj.is_model and obj.transform_kind:
                return obj.transform_kind
            if not obj.is_model:
                return "stateless"
    if kinds & {"stateless", "label", "undersample", "datagen"}:
        return next(iter(kinds & {"stateless", "label", "undersample", "datagen"}))
    if "baseline" in kinds:
        return "baseline"
    return "model"


def _last_step_is_model(interp: Interpreter, node: cst.Call, args: list[Value]) -> bool:
    """Whether a pipeline ends with a model (else it only transforms)."""
    qualified = interp.resolve(node.func) or ""
    if qualified.endswith(("ColumnTransformer", "make_column_transformer")):
        return False
    if qualified.endswith(("FeatureUnion", "make_union")):
        return False
    if qualified.endswith("TransformedTargetRegressor"):
        return True
    last: Value | None = None
    if qualified.endswith("make_pipeline"):
        positional = [v for a, v in zip(node.args, args, strict=True) if a.keyword is None]
        last = positional[-1] if positional else None
    elif args:
        steps = args[0]
        if steps.elems:
            last = steps.elems[-1]
            if last.elems and len(last.elems) >= 2:
                last = last.elems[1]
    if last is None or not last.objs:
        return True
    for obj_id in last.objs:
        obj = interp.facts.objs[obj_id]
        if obj.kind in {"model", "unknown", "search", "baseline"} or (
            obj.kind == "pipeline" and obj.is_model
        ):
            return True
    return False


def _all_objs(value: Value) -> frozenset[int]:
    found = set(value.objs)
    for element in value.elems or ():
        found |= _all_objs(element)
    return frozenset(found)


def _all_preds(value: Value) -> frozenset[int]:
    found = set(value.preds)
    for element in value.elems or ():
        found |= _all_preds(element)
    return frozenset(found)


def _all_rows(value: Value) -> frozenset[int]:
    found = set(value.rows)
    for element in value.elems or ():
        found |= _all_rows(element)
    return frozenset(found)


def _params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if type(star) is cst.Param:
            found.append(star)
    return found


def _target_names(target: cst.BaseExpression) -> list[str]:
    if type(target) is cst.Name:
        return [target.value]
    if type(target) in (cst.Tuple, cst.List):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


def _all_functions(module: cst.Module) -> list[cst.FunctionDef]:
    """Every function and method in the file, outermost first."""
    found: list[cst.FunctionDef] = []
    stack: list[cst.CSTNode] = list(reversed(module.body))
    while stack:
        node = stack.pop()
        if type(node) is cst.FunctionDef:
            found.append(node)
        stack.extend(reversed(nested_statements(node)))
    return found


def _statement_count(function: cst.FunctionDef) -> int:
    count = 0
    stack: list[cst.CSTNode] = [function]
    while stack:
        count += 1
        stack.extend(nested_statements(stack.pop()))
    return count


def analyse(module: cst.Module, resolve) -> Facts:
    """Run the value-flow analysis over a module; ``resolve`` maps expressions to
    qualified names (``FileContext.qualified_name``)."""
    # The analysis allocates many small objects and creates no reference cycles; with a
    # large syntax tree alive, the cyclic collector's full passes would dominate its time.
    with gc_paused():
        return Interpreter(module, resolve).run()
