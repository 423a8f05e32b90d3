"""Library knowledge for the value-flow analysis: which calls fit on rows, split, pass rows
through, score, resample or augment (sklearn, imblearn, pandas, NumPy, Keras, torchvision).

Everything the leakage rules know about libraries lives in these tables, keyed by the
qualified names that :mod:`mllint.analysis.names` resolves through imports. The analysis
(:mod:`mllint.analysis.dataflow`) asks the helper functions at the bottom; rules never
consult a library name themselves.
"""

from __future__ import annotations

import re

# -- what an estimator object does when it is fitted ---------------------------------------

#: Transformers whose fitted parameters depend on the rows they see, without the target:
#: fitting them on rows that later reach the test side is preprocessing leakage (ML201).
UNSUPERVISED_TRANSFORMERS = frozenset(
    {
        # sklearn.preprocessing
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "QuantileTransformer",
        "PowerTransformer",
        "KBinsDiscretizer",
        "OneHotEncoder",
        "OrdinalEncoder",
        "SplineTransformer",
        # sklearn.impute
        "SimpleImputer",
        "KNNImputer",
        "IterativeImputer",
        # sklearn.decomposition / manifold
        "PCA",
        "IncrementalPCA",
        "KernelPCA",
        "SparsePCA",
        "TruncatedSVD",
        "FastICA",
        "NMF",
        "FactorAnalysis",
        "LatentDirichletAllocation",
        "TSNE",
        # sklearn.feature_extraction.text
        "CountVectorizer",
        "TfidfVectorizer",
        "TfidfTransformer",
        # unsupervised selection
        "VarianceThreshold",
        # Keras text preprocessing (fit_on_texts)
        "Tokenizer",
    }
)

#: Target-dependent steps: supervised feature selection and target encoding (ML203).
SUPERVISED_SELECTORS = frozenset(
    {
        "SelectKBest",
        "SelectPercentile",
        "SelectFpr",
        "SelectFdr",
        "SelectFwe",
        "GenericUnivariateSelect",
        "RFE",
        "RFECV",
        "SelectFromModel",
        "SequentialFeatureSelector",
        "TargetEncoder",
        "NeighborhoodComponentsAnalysis",
    }
)

#: Over-samplers: their output holds copies (or interpolations) of input rows (ML204).
OVERSAMPLERS = frozenset(
    {
        "SMOTE",
        "ADASYN",
        "RandomOverSampler",
        "BorderlineSMOTE",
        "SVMSMOTE",
        "KMeansSMOTE",
        "SMOTENC",
        "SMOTEN",
        "SMOTEENN",
        "SMOTETomek",
    }
)

#: Transformers that learn nothing from the rows (or only their shape): never a leak.
STATELESS_TRANSFORMERS = frozenset(
    {
        "FunctionTransformer",
        "Normalizer",
        "Binarizer",
        "PolynomialFeatures",
        "HashingVectorizer",
        "FeatureHasher",
        "MissingIndicator",
    }
)

#: Encoders meant for the target; fitting them on all labels is the intended use.
LABEL_ENCODERS = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})

#: Under-samplers drop rows; they duplicate nothing into the test side.
UNDERSAMPLERS = frozenset(
    {
        "RandomUnderSampler",
        "NearMiss",
        "TomekLinks",
        "EditedNearestNeighbours",
        "RepeatedEditedNearestNeighbours",
        "AllKNN",
        "CondensedNearestNeighbour",
        "OneSidedSelection",
        "NeighbourhoodCleaningRule",
        "InstanceHardnessThreshold",
        "ClusterCentroids",
    }
)

#: Objects that hold a sequence of steps; what fitting them means follows from the steps.
PIPELINE_CONSTRUCTORS = frozenset(
    {
        "sklearn.pipeline.Pipeline",
        "sklearn.pipeline.make_pipeline",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.make_union",
        "sklearn.compose.ColumnTransformer",
        "sklearn.compose.make_column_transformer",
        "sklearn.compose.TransformedTargetRegressor",
        "imblearn.pipeline.Pipeline",
        "imblearn.pipeline.make_pipeline",
    }
)

#: Hyperparameter searches: ``fit`` runs a cross-validation over its input rows.
SEARCH_CLASSES = frozenset(
    {
        "GridSearchCV",
        "RandomizedSearchCV",
        "HalvingGridSearchCV",
        "HalvingRandomSearchCV",
    }
)

#: Cross-validation splitters: ``splitter.split(X, y)`` yields (train, test) index pairs.
CV_SPLITTERS = frozenset(
    {
        "KFold",
        "StratifiedKFold",
        "GroupKFold",
        "StratifiedGroupKFold",
        "RepeatedKFold",
        "RepeatedStratifiedKFold",
        "TimeSeriesSplit",
        "ShuffleSplit",
        "StratifiedShuffleSplit",
        "GroupShuffleSplit",
        "LeaveOneOut",
        "LeavePOut",
        "LeaveOneGroupOut",
        "LeavePGroupsOut",
        "PredefinedSplit",
    }
)

#: Baselines: scoring one next to the real model on the test set is not model selection.
BASELINE_PREFIXES = ("sklearn.dummy.",)

#: Libraries whose CamelCase callables construct estimators (models when nothing else).
ESTIMATOR_ROOTS = frozenset(
    {"sklearn", "imblearn", "xgboost", "lightgbm", "catboost", "keras", "tensorflow"}
)

#: Calls that return a model read from disk: a reloaded model is not a new candidate.
MODEL_LOADERS = re.compile(r"(^|\.)(load_model|load_learner|from_pretrained)$")
MODEL_LOAD_FUNCTIONS = frozenset(
    {"joblib.load", "pickle.load", "pickle.loads", "dill.load", "cloudpickle.load", "torch.load"}
)

# -- splits and cross-validation --------------------------------------------------------

#: Functions that split arrays into (train, test) pairs: outputs alternate train, test.
SPLIT_FUNCTIONS = frozenset({"sklearn.model_selection.train_test_split"})

#: ``torch.utils.data.random_split(dataset, lengths)``: the first part trains.
RANDOM_SPLIT_FUNCTIONS = frozenset({"torch.utils.data.random_split"})

#: Cross-validation helpers: (position of X, position of y) after the estimator.
CV_FUNCTIONS = {
    "sklearn.model_selection.cross_val_score": (1, 2),
    "sklearn.model_selection.cross_validate": (1, 2),
    "sklearn.model_selection.cross_val_predict": (1, 2),
    "sklearn.model_selection.learning_curve": (1, 2),
    "sklearn.model_selection.validation_curve": (1, 2),
    "sklearn.model_selection.permutation_test_score": (1, 2),
}

# -- methods -----------------------------------------------------------------------------

FIT_METHODS = frozenset({"fit", "partial_fit", "fit_on_texts"})
FIT_TRANSFORM_METHODS = frozenset({"fit_transform", "fit_predict"})
RESAMPLE_METHODS = frozenset({"fit_resample", "fit_sample"})
TRANSFORM_METHODS = frozenset(
    {
        "transform",
        "inverse_transform",
        "texts_to_sequences",
        "texts_to_matrix",
        "sequences_to_matrix",
    }
)
#: Methods that evaluate a fitted model on the rows passed to them.
EVAL_METHODS = frozenset(
    {
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "score",
        "evaluate",
        "score_samples",
    }
)
#: Evaluation methods whose result is a score (the others return predictions).
SCORE_METHODS = frozenset({"score", "evaluate"})
#: Keyword arguments of ``fit`` that hold data the model is tuned on while it trains.
VALIDATION_KEYWORDS = frozenset({"validation_data", "eval_set", "valid_sets", "X_val"})
#: Keyword arguments of ``fit`` that mean "pick the best epoch / stop on the validation data".
EARLY_STOPPING_KEYWORDS = frozenset({"callbacks", "early_stopping_rounds"})

#: Data methods that combine the rows of their arguments with the receiver's.
ROW_UNION_METHODS = frozenset({"append", "combine_first", "union"})

# -- hand-written statistics ---------------------------------------------------------------

#: ``X.mean()``, ``df["a"].median()``: aggregates over rows (ML201 when they transform data).
STAT_METHODS = frozenset({"mean", "std", "var", "median", "min", "max", "quantile"})
#: Receivers whose aggregates are local windows over earlier rows, not fits over all rows:
#: ``s.rolling(24).mean()``, ``s.expanding().mean()``, ``s.ewm(span=7).mean()``.
WINDOW_METHODS = frozenset({"rolling", "expanding", "ewm", "resample"})

#: NumPy aggregates and pandas binning that learn from the rows (axis 0 or all axes).
STAT_FUNCTIONS = frozenset(
    {
        "numpy.mean",
        "numpy.std",
        "numpy.var",
        "numpy.median",
        "numpy.min",
        "numpy.max",
        "numpy.amin",
        "numpy.amax",
        "numpy.percentile",
        "numpy.quantile",
        "numpy.nanmean",
        "numpy.nanstd",
        "numpy.nanvar",
        "numpy.nanmedian",
        "numpy.nanmin",
        "numpy.nanmax",
        "numpy.nanpercentile",
        "pandas.qcut",
    }
)

#: Function forms of row-dependent scalers: fit and transform in one call.
FITTING_FUNCTIONS = frozenset(
    {
        "sklearn.preprocessing.scale",
        "sklearn.preprocessing.minmax_scale",
        "sklearn.preprocessing.maxabs_scale",
        "sklearn.preprocessing.robust_scale",
        "sklearn.preprocessing.quantile_transform",
        "sklearn.preprocessing.power_transform",
    }
)

#: Builtins whose result carries no rows of their arguments (sizes, flags, text).
SCALAR_BUILTINS = frozenset(
    {
        "builtins.len",
        "builtins.print",
        "builtins.range",
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.isinstance",
        "builtins.type",
        "builtins.hasattr",
        "builtins.round",
        "builtins.abs",
        "builtins.repr",
        "builtins.format",
        "builtins.id",
        "builtins.open",
        "builtins.max",
        "builtins.min",
        "builtins.sum",
        "builtins.any",
        "builtins.all",
    }
)

# -- augmentation (ML206) --------------------------------------------------------------------

#: Random, training-time image transforms (torchvision, albumentations), by class name.
AUGMENTING_TRANSFORMS = frozenset(
    {
        "RandomResizedCrop",
        "RandomCrop",
        "RandomHorizontalFlip",
        "RandomVerticalFlip",
        "RandomRotation",
        "RandomAffine",
        "RandomPerspective",
        "RandomErasing",
        "RandomGrayscale",
        "RandomApply",
        "RandomChoice",
        "RandomOrder",
        "RandomInvert",
        "RandomPosterize",
        "RandomSolarize",
        "RandomAdjustSharpness",
        "RandomAutocontrast",
        "RandomEqualize",
        "RandomPhotometricDistort",
        "RandomZoomOut",
        "RandomIoUCrop",
        "ColorJitter",
        "RandAugment",
        "AutoAugment",
        "TrivialAugmentWide",
        "AugMix",
        "ElasticTransform",
        # albumentations
        "HorizontalFlip",
        "VerticalFlip",
        "ShiftScaleRotate",
        "RandomBrightnessContrast",
        "RandomSizedCrop",
        "HueSaturationValue",
        "CoarseDropout",
        "GridDistortion",
        "OpticalDistortion",
        "Flip",
        "Transpose",
        "RandomRotate90",
    }
)
AUGMENTING_ROOTS = frozenset({"torchvision", "albumentations"})

#: ``ImageDataGenerator`` keyword arguments that switch random augmentation on.
AUGMENTING_GENERATOR_KEYWORDS = frozenset(
    {
        "rotation_range",
        "width_shift_range",
        "height_shift_range",
        "shear_range",
        "zoom_range",
        "horizontal_flip",
        "vertical_flip",
        "brightness_range",
        "channel_shift_range",
    }
)
GENERATOR_FLOW_METHODS = frozenset({"flow", "flow_from_directory", "flow_from_dataframe"})

#: A path segment naming evaluation data: ``data/val``, ``test_images``, ``valid.csv``.
EVAL_PATH_RE = re.compile(
    r"(^|[/\\_.\-])(val|valid|validation|test|testing|eval|evaluation|holdout)([/\\_.\-]|$)",
    re.IGNORECASE,
)
TRAIN_PATH_RE = re.compile(r"(^|[/\\_.\-])train", re.IGNORECASE)
EVAL_SPLIT_NAMES = frozenset({"val", "valid", "validation", "test", "eval", "evaluation"})


# -- questions ------------------------------------------------------------------------------


def _split(qualified: str) -> tuple[str, str]:
    root = qualified.split(".", 1)[0]
    return root, qualified.rsplit(".", 1)[-1]


def estimator_kind(qualified: str) -> str | None:
    """What constructing ``qualified`` gives: a kind of estimator object, or None.

    Kinds: ``unsupervised``, ``supervised``, ``resample``, ``undersample``, ``stateless``,
    ``label``, ``pipeline``, ``search``, ``splitter``, ``datagen``, ``baseline``, ``model``.
    """
    if qualified in PIPELINE_CONSTRUCTORS:
        return "pipeline"
    root, name = _split(qualified)
    if root not in ESTIMATOR_ROOTS:
        return None
    if name == "ImageDataGenerator":
        return "datagen"
    if name == "Tokenizer" and root not in {"keras", "tensorflow"}:
        return None
    for kind, names in (
        ("unsupervised", UNSUPERVISED_TRANSFORMERS),
        ("supervised", SUPERVISED_SELECTORS),
        ("resample", OVERSAMPLERS),
        ("undersample", UNDERSAMPLERS),
        ("stateless", STATELESS_TRANSFORMERS),
        ("label", LABEL_ENCODERS),
        ("search", SEARCH_CLASSES),
        ("splitter", CV_SPLITTERS),
    ):
        if name in names:
            return kind
    if qualified.startswith(BASELINE_PREFIXES):
        return "baseline"
    if name[:1].isupper():
        return "model"
    return None


def is_augmenting_transform(qualified: str) -> bool:
    root, name = _split(qualified)
    return root in AUGMENTING_ROOTS and name in AUGMENTING_TRANSFORMS


def is_eval_path(text: str) -> bool:
    return bool(EVAL_PATH_RE.search(text)) and not TRAIN_PATH_RE.search(text)


def is_metric(qualified: str) -> bool:
    """A function that scores predictions (``sklearn.metrics.accuracy_score``)."""
    return qualified.startswith(
        ("sklearn.metrics.", "keras.metrics.", "tensorflow.keras.metrics.", "scipy.stats.")
    ) or qualified.endswith(("_score", "_error", "_loss"))


def is_model_loader(qualified_or_name: str) -> bool:
    return qualified_or_name in MODEL_LOAD_FUNCTIONS or bool(
        MODEL_LOADERS.search(qualified_or_name)
    )


def passes_rows(qualified: str) -> bool:
    """Library functions whose result holds the rows of their arguments (NumPy, pandas)."""
    root = qualified.split(".", 1)[0]
    return root in {"numpy", "pandas", "scipy", "torch", "tensorflow", "keras", "sklearn"}
