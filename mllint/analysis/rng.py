"""Library knowledge about randomness: which calls draw from which RNG, which calls seed it.

Families are the independent random number generators a Python ML program can use:

- ``python``: the ``random`` module's global generator;
- ``numpy``: NumPy's legacy global generator (``np.random.rand``, ``np.random.shuffle``, and
  scikit-learn estimators whose ``random_state`` is None);
- ``torch``: PyTorch's default generators (CPU and CUDA): ``torch.rand*``, weight
  initialisation of layers, dropout, shuffling ``DataLoader``s and random samplers,
  torchvision's random transforms;
- ``tensorflow``: TensorFlow/Keras global seeds (``tf.random.*``, Keras layer initialisers,
  ``Dropout``, ``model.fit(shuffle=True)``).

Unseeded *instances* (``np.random.default_rng()``, ``np.random.RandomState()``,
``random.Random()`` without a seed, ``jax.random.PRNGKey(time.time())``) are reported on
their own: no global seed reaches them.

All names are fully qualified, as :class:`mllint.analysis.names.ImportTable` resolves them.
"""

from __future__ import annotations

PYTHON, NUMPY, TORCH, TENSORFLOW = "python", "numpy", "torch", "tensorflow"
FAMILIES = (PYTHON, NUMPY, TORCH, TENSORFLOW)

#: How to seed each family, for messages.
SEED_ADVICE = {
    PYTHON: "random.seed(...)",
    NUMPY: "np.random.seed(...)",
    TORCH: "torch.manual_seed(...)",
    TENSORFLOW: "tf.random.set_seed(...)",
}

#: Calls that seed one or more families (whatever the argument: a configurable seed counts).
SEEDERS: dict[str, frozenset[str]] = {
    "random.seed": frozenset({PYTHON}),
    "numpy.random.seed": frozenset({NUMPY}),
    "torch.manual_seed": frozenset({TORCH}),
    "torch.random.manual_seed": frozenset({TORCH}),
    # CUDA-only seeding leaves the CPU generator (initialisation, dropout on CPU,
    # DataLoader shuffling) unseeded, so it does not count as seeding torch.
    "tensorflow.random.set_seed": frozenset({TENSORFLOW}),
    "tensorflow.set_random_seed": frozenset({TENSORFLOW}),
    "tensorflow.compat.v1.set_random_seed": frozenset({TENSORFLOW}),
    # Framework helpers that seed several generators at once.
    "tensorflow.keras.utils.set_random_seed": frozenset({PYTHON, NUMPY, TENSORFLOW}),
    "keras.utils.set_random_seed": frozenset({PYTHON, NUMPY, TENSORFLOW, TORCH}),
    "lightning.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.pytorch.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.fabric.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.fabric.utilities.seed.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning_fabric.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "pytorch_lightning.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "pytorch_lightning.utilities.seed.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "transformers.set_seed": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "transformers.trainer_utils.set_seed": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "transformers.enable_full_determinism": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "accelerate.utils.set_seed": frozenset({PYTHON, NUMPY, TORCH}),
    "accelerate.utils.random.set_seed": frozenset({PYTHON, NUMPY, TORCH}),
}

#: Constructors that seed for you: HF ``Trainer`` calls ``set_seed(args.seed)`` (default 42)
#: in ``__init__``; ``LightningCLI`` seeds with ``seed_everything=True`` by default.
FRAMEWORK_SEEDERS: dict[str, frozenset[str]] = {
    "transformers.Trainer": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "transformers.Seq2SeqTrainer": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "transformers.trainer.Trainer": frozenset({PYTHON, NUMPY, TORCH, TENSORFLOW}),
    "trl.SFTTrainer": frozenset({PYTHON, NUMPY, TORCH}),
    "trl.DPOTrainer": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.pytorch.cli.LightningCLI": frozenset({PYTHON, NUMPY, TORCH}),
    "pytorch_lightning.cli.LightningCLI": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.LightningCLI": frozenset({PYTHON, NUMPY, TORCH}),
}

_PYTHON_RANDOM = {
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
    "gauss", "normalvariate", "lognormvariate", "expovariate", "betavariate", "gammavariate",
    "triangular", "vonmisesvariate", "paretovariate", "weibullvariate", "getrandbits",
    "randbytes", "binomialvariate",
}  # fmt: skip

_NUMPY_GLOBAL = {
    "rand", "randn", "randint", "random", "random_sample", "ranf", "sample", "choice",
    "shuffle", "permutation", "normal", "uniform", "binomial", "poisson", "beta", "gamma",
    "exponential", "multinomial", "multivariate_normal", "standard_normal", "lognormal",
    "laplace", "logistic", "dirichlet", "geometric", "bytes", "random_integers",
    "standard_cauchy", "standard_t", "chisquare", "triangular", "vonmises", "wald",
    "weibull", "zipf", "rayleigh", "pareto", "power", "gumbel", "hypergeometric",
    "negative_binomial", "noncentral_chisquare", "noncentral_f", "f", "logseries",
    "standard_exponential", "standard_gamma",
}  # fmt: skip

_TORCH_FUNCTIONS = {
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
    "normal", "bernoulli", "multinomial", "poisson",
}  # fmt: skip

#: Layers whose construction draws initial weights from torch's generator.
_TORCH_LAYERS = {
    "Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "Embedding", "EmbeddingBag", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention", "Transformer", "TransformerEncoderLayer", "TransformerDecoderLayer",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "RReLU",
}  # fmt: skip

_TORCH_INIT = {
    "uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "trunc_normal_", "orthogonal_", "sparse_",
}  # fmt: skip

_TORCH_DATA = {"RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "random_split"}

_TF_FUNCTIONS = {
    "normal", "uniform", "shuffle", "truncated_normal", "categorical", "gamma", "poisson",
    "stateless_normal",
}  # fmt: skip

_KERAS_LAYERS = {"Dense", "Conv1D", "Conv2D", "Conv3D", "Embedding", "LSTM", "GRU", "Dropout"}


def is_initialisation(qualified: str) -> bool:
    """Layer construction and ``nn.init``: randomness that only matters for training."""
    module, _, function = qualified.rpartition(".")
    return (
        (module in ("torch.nn", "torch.nn.modules") and function in _TORCH_LAYERS)
        or (module == "torch.nn.init")
        or (module in ("tensorflow.keras.layers", "keras.layers"))
    )


_DEFERRED_LAYERS = {
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "RReLU",
}  # fmt: skip


def is_deferred(qualified: str) -> bool:
    """Objects that draw random numbers later, when used (a shuffling loader draws when
    iterated, a random transform when applied, dropout in the forward pass): a seed set
    after building them, but before using them, still makes them reproducible."""
    module, _, function = qualified.rpartition(".")
    if module in ("torch.nn", "torch.nn.modules"):
        return function in _DEFERRED_LAYERS
    if module.startswith("torch.utils.data"):
        return function != "random_split"
    if qualified in SHUFFLING_LOADERS:
        return True
    return module.startswith("torchvision.transforms") or (
        module in ("tensorflow.keras.layers", "keras.layers") and function == "Dropout"
    )


def rng_use(qualified: str) -> str | None:
    """The family a call to ``qualified`` draws from, or None.

    Calls whose randomness depends on their arguments (``DataLoader(shuffle=True)``,
    scikit-learn's ``random_state``) are judged by the caller, not here.
    """
    module, _, function = qualified.rpartition(".")
    if module == "random" and function in _PYTHON_RANDOM:
        return PYTHON
    if module == "numpy.random" and function in _NUMPY_GLOBAL:
        return NUMPY
    if module in ("torch", "torch.random") and function in _TORCH_FUNCTIONS:
        return TORCH
    if module in ("torch.nn", "torch.nn.modules") and function in _TORCH_LAYERS:
        return TORCH
    if module == "torch.nn.init" and function in _TORCH_INIT:
        return TORCH
    if module == "torch.nn.functional" and function in ("dropout", "dropout2d", "rrelu"):
        return TORCH
    if module.startswith("torch.utils.data") and function in _TORCH_DATA:
        return TORCH
    if module == "torchvision.models" and function[:1].islower() and function != "get_weight":
        return TORCH  # a model builder: weights initialised unless pretrained ones load
    if qualified == "timm.create_model":
        return TORCH
    if module.startswith("torchvision.transforms") and (
        function.startswith("Random") or function in ("AutoAugment", "RandAugment")
    ):
        return TORCH
    if module in ("tensorflow.random", "tf.random") and function in _TF_FUNCTIONS:
        return TENSORFLOW
    if module in ("tensorflow.keras.layers", "keras.layers") and function in _KERAS_LAYERS:
        return TENSORFLOW
    return None


#: Constructors that return an independent generator; unseeded without an argument.
GENERATOR_CONSTRUCTORS = {
    "numpy.random.default_rng": "`np.random.default_rng()`",
    "numpy.random.RandomState": "`np.random.RandomState()`",
    "numpy.random.Generator": "`np.random.Generator(...)`",
    "random.Random": "`random.Random()`",
}

#: Argument names that make a DataLoader (or similar) shuffle.
SHUFFLING_LOADERS = {"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"}

#: Calls that derive a value from the clock or the OS: not a reproducible seed.
NONDETERMINISTIC_SOURCES = (
    "time.time",
    "time.time_ns",
    "time.perf_counter",
    "os.urandom",
    "uuid.uuid4",
    "secrets.",
    "random.",
    "numpy.random.",
    "datetime.datetime.now",
)

JAX_KEYS = {"jax.random.PRNGKey", "jax.random.key"}

#: scikit-learn classes and functions whose result depends on ``random_state``. Splitters
#: that only shuffle when asked (``KFold``, ``StratifiedKFold``) are in SHUFFLE_SPLITTERS.
#: XGBoost, LightGBM and CatBoost are deliberately absent: with no seed they use a fixed
#: default one (XGBoost 0, LightGBM its C++ defaults, CatBoost 0), so their runs repeat.
SKLEARN_RANDOM = {
    "sklearn.model_selection.train_test_split",
    "sklearn.model_selection.ShuffleSplit",
    "sklearn.model_selection.StratifiedShuffleSplit",
    "sklearn.model_selection.GroupShuffleSplit",
    "sklearn.model_selection.RepeatedKFold",
    "sklearn.model_selection.RepeatedStratifiedKFold",
    "sklearn.model_selection.RandomizedSearchCV",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestRegressor",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.ensemble.ExtraTreesRegressor",
    "sklearn.ensemble.GradientBoostingClassifier",
    "sklearn.ensemble.GradientBoostingRegressor",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.ensemble.AdaBoostClassifier",
    "sklearn.ensemble.AdaBoostRegressor",
    "sklearn.ensemble.BaggingClassifier",
    "sklearn.ensemble.BaggingRegressor",
    "sklearn.ensemble.IsolationForest",
    "sklearn.ensemble.RandomTreesEmbedding",
    "sklearn.tree.DecisionTreeClassifier",
    "sklearn.tree.DecisionTreeRegressor",
    "sklearn.tree.ExtraTreeClassifier",
    "sklearn.tree.ExtraTreeRegressor",
    "sklearn.neural_network.MLPClassifier",
    "sklearn.neural_network.MLPRegressor",
    "sklearn.cluster.KMeans",
    "sklearn.cluster.MiniBatchKMeans",
    "sklearn.cluster.SpectralClustering",
    "sklearn.decomposition.TruncatedSVD",
    "sklearn.decomposition.NMF",
    "sklearn.decomposition.FastICA",
    "sklearn.decomposition.LatentDirichletAllocation",
    "sklearn.decomposition.MiniBatchDictionaryLearning",
    "sklearn.manifold.TSNE",
    "sklearn.linear_model.SGDClassifier",
    "sklearn.linear_model.SGDRegressor",
    "sklearn.linear_model.Perceptron",
    "sklearn.linear_model.PassiveAggressiveClassifier",
    "sklearn.linear_model.RANSACRegressor",
    "sklearn.svm.LinearSVC",
    "sklearn.kernel_approximation.RBFSampler",
    "sklearn.kernel_approximation.Nystroem",
    "sklearn.random_projection.GaussianRandomProjection",
    "sklearn.random_projection.SparseRandomProjection",
    "sklearn.utils.shuffle",
    "sklearn.utils.resample",
    "sklearn.datasets.make_classification",
    "sklearn.datasets.make_regression",
    "sklearn.datasets.make_blobs",
    "sklearn.datasets.make_moons",
    "sklearn.datasets.make_circles",
    "imblearn.over_sampling.SMOTE",
    "imblearn.over_sampling.RandomOverSampler",
    "imblearn.over_sampling.ADASYN",
    "imblearn.under_sampling.RandomUnderSampler",
}

#: Defaults that differ: PCA is only random with ``svd_solver="randomized"``/``"arpack"``
#: ("auto" picks randomized for large inputs); it is left out to stay precise.
SHUFFLE_SPLITTERS = {
    "sklearn.model_selection.KFold",
    "sklearn.model_selection.StratifiedKFold",
    "sklearn.model_selection.GroupKFold",
}

#: Calls that make torch's kernels deterministic, and the benchmark switch that undoes it.
DETERMINISM_CALLS = {
    "torch.use_deterministic_algorithms",
    "transformers.enable_full_determinism",
    "transformers.trainer_utils.enable_full_determinism",
}
