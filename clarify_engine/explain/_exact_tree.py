"""Tree ensembles as flat node arrays, for exact interventional TreeSHAP.

:func:`tree_ensemble` reads a fitted model into a :class:`TreeEnsemble`: every tree's nodes in
one set of arrays, leaf values per output column, an intercept, and what the model's scores
are in terms of the summed trees (``output``):

* ``"additive"``: the scores *are* ``intercept + sum of trees`` (regressors with an identity
  link, random-forest and extra-trees classifiers, whose probabilities are means of the trees'
  class fractions);
* ``"sigmoid"``: one score, the positive-class probability ``sigmoid(intercept + sum of
  trees)`` (binary gradient boosting with the logistic loss, xgboost ``binary:logistic``);
* ``"other"``: anything else (softmax of several sums, exp of a sum, ...), which no exact path
  here explains.

Families read: scikit-learn ``GradientBoosting*``, ``RandomForest*``, ``ExtraTrees*``,
``DecisionTree*``, ``ExtraTree*``, ``HistGradientBoosting*``; xgboost's ``XGBRegressor`` /
``XGBClassifier`` (``gbtree`` booster); LightGBM's ``LGBMRegressor``, ``LGBMClassifier`` and
``Booster`` (read from ``dump_model()``). Anything else gives a reason instead of an ensemble.
The arrays use one rule, ``x <= threshold`` goes left, NaN goes to the default child, on rows
cast to the model's input precision (:attr:`TreeEnsemble.float32`): xgboost's ``x < t`` on
float32 is rewritten as ``x <= t'`` with ``t'`` the float32 just below ``t``. LightGBM compares
float64 inputs with float64 thresholds (``x <= t``); its missing-value rules become default
children: ``missing_type`` ``NaN`` sends NaN to the default child, ``None`` treats NaN as 0 (so
the default child is the side 0 takes), ``Zero`` sends 0 *and* NaN to the default child, which
the one-rule layout expresses only when 0 goes that way anyway (otherwise the model is not read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

__all__ = ["TreeEnsemble", "tree_ensemble"]


@dataclass(frozen=True)
class TreeEnsemble:
    """A fitted tree ensemble as flat arrays (see the module docstring).

    Attributes
    ----------
    roots : int64 (T,)
    left, right, feature : int64 (N,)
        ``left[node] < 0`` for a leaf.
    threshold : float64 (N,)
    default_left : uint8 (N,)
    value : float64 (N, D)
    intercept : float64 (D,)
    depth : int
        Most splits on any root-to-leaf path.
    float32 : bool
        The model compares float32 copies of the inputs.
    output : {"additive", "sigmoid", "other"}
    scale : float
        For ``"sigmoid"``: the score is ``sigmoid(scale * (intercept + sum of trees))``.
    family : str
        Module and class of the model, for the manifest.
    """

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    intercept: np.ndarray
    depth: int
    float32: bool
    output: str
    scale: float
    family: str

    def margin(self, rows: np.ndarray) -> np.ndarray:
        """``intercept + sum of trees`` for model-input rows (r, P): (r, D), by plain traversal
        (used to check the arrays against the model's own predictions)."""
        rows = _cast(rows, self.float32)
        out = np.tile(self.intercept, (rows.shape[0], 1))
        for i in range(rows.shape[0]):
            for root in self.roots:
                node = root
                while self.left[node] >= 0:
                    v = rows[i, self.feature[node]]
                    go_left = bool(self.default_left[node]) if np.isnan(v) else v <= self.threshold[node]
                    node = self.left[node] if go_left else self.right[node]
                out[i] += self.value[node]
        return out


def _cast(rows, float32):
    rows = np.asarray(rows, dtype=np.float64)
    return rows.astype(np.float32).astype(np.float64) if float32 else rows


def _family(model) -> str:
    cls = type(model)
    return f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"


class _Nodes:
    """Accumulates trees into flat arrays."""

    def __init__(self, n_out):
        self.n_out = n_out
        self.parts = {k: [] for k in ("left", "right", "feature", "threshold", "default_left", "value")}
        self.roots = []
        self.size = 0
        self.depth = 0

    def add(self, left, right, feature, threshold, default_left, leaf_value, column=None):
        """One tree; ``leaf_value`` (n,) feeds ``column`` only, or (n, D) every column."""
        n = left.shape[0]
        is_leaf = left < 0
        self.parts["left"].append(np.where(is_leaf, -1, left + self.size).astype(np.int64))
        self.parts["right"].append(np.where(is_leaf, -1, right + self.size).astype(np.int64))
        self.parts["feature"].append(np.where(is_leaf, 0, feature).astype(np.int64))
        self.parts["threshold"].append(np.asarray(threshold, dtype=np.float64))
        self.parts["default_left"].append(np.asarray(default_left, dtype=np.uint8))
        value = np.zeros((n, self.n_out))
        if column is None:
            value[:] = np.asarray(leaf_value, dtype=np.float64).reshape(n, self.n_out)
        else:
            value[:, column] = leaf_value
        value[~is_leaf] = 0.0
        self.parts["value"].append(value)
        self.roots.append(self.size)
        self.depth = max(self.depth, _depth(left, right))
        self.size += n

    def ensemble(self, intercept, float32, output, scale, family):
        cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.parts.items()}
        return TreeEnsemble(
            roots=np.array(self.roots, dtype=np.int64), left=cat["left"], right=cat["right"],
            feature=cat["feature"], threshold=cat["threshold"], default_left=cat["default_left"].astype(np.uint8),
            value=cat["value"].reshape(-1, self.n_out), intercept=np.asarray(intercept, dtype=np.float64).reshape(-1),
            depth=self.depth, float32=float32, output=output, scale=float(scale), family=family)


def _depth(left, right):
    depth = np.zeros(left.shape[0], dtype=np.int64)
    best = 0
    stack = [0]
    while stack:
        node = stack.pop()
        if left[node] >= 0:
            for child in (left[node], right[node]):
                depth[child] = depth[node] + 1
                stack.append(int(child))
        else:
            best = max(best, int(depth[node]))
    return best


def _sklearn_tree(nodes, tree, leaf_value, column=None):
    """Add a fitted ``sklearn.tree._tree.Tree``."""
    default = getattr(tree, "missing_go_to_left", None)
    default = np.zeros(tree.node_count, np.uint8) if default is None else np.asarray(default, np.uint8)
    nodes.add(np.asarray(tree.children_left), np.asarray(tree.children_right), np.asarray(tree.feature),
              np.asarray(tree.threshold), default, leaf_value, column)


def _classifier_fractions(tree):
    """Class fractions of each node of a classification tree (n_nodes, n_classes)."""
    value = np.asarray(tree.value, dtype=np.float64)[:, 0, :]
    total = value.sum(axis=1, keepdims=True)
    return np.divide(value, total, out=np.zeros_like(value), where=total > 0)


def _forest(model, family):
    """RandomForest*, ExtraTrees*, and single decision trees: the mean of the trees."""
    trees = getattr(model, "estimators_", None)
    trees = [model] if trees is None else list(trees)
    first = trees[0].tree_
    if getattr(model, "n_outputs_", 1) != 1 and hasattr(model, "classes_"):
        return "a multi-output classifier (predict_proba returns one matrix per output)"
    classifier = hasattr(model, "classes_")
    if classifier:
        n_classes = first.value.shape[2]
        n_out = 1 if n_classes == 2 else n_classes
    else:
        n_out = first.value.shape[1]
    nodes = _Nodes(n_out)
    for est in trees:
        tree = est.tree_
        if classifier:
            frac = _classifier_fractions(tree)
            leaf = frac[:, 1:] if n_out == 1 else frac
        else:
            leaf = np.asarray(tree.value, dtype=np.float64)[:, :, 0]
        _sklearn_tree(nodes, tree, leaf / len(trees))
    return nodes.ensemble(np.zeros(n_out), True, "additive", 1.0, family)


def _gradient_boosting(model, family):
    """GradientBoostingRegressor / GradientBoostingClassifier."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = model.init_
    if not (isinstance(init, str) and init == "zero" or isinstance(init, (DummyClassifier, DummyRegressor))):
        return f"its init estimator {type(init).__name__} predicts a value that depends on the row"
    n_iter, k = model.estimators_.shape
    nodes = _Nodes(k)
    for i in range(n_iter):
        for c in range(k):
            tree = model.estimators_[i, c].tree_
            nodes.add(np.asarray(tree.children_left), np.asarray(tree.children_right), np.asarray(tree.feature),
                      np.asarray(tree.threshold), np.zeros(tree.node_count, np.uint8),
                      model.learning_rate * np.asarray(tree.value, dtype=np.float64)[:, 0, 0], column=c)
    intercept = np.zeros(k)  # read from the model's own raw prediction by the caller's check
    loss = getattr(model, "loss", "")
    if not hasattr(model, "classes_"):
        return nodes.ensemble(intercept, True, "additive", 1.0, family)
    if k == 1 and loss == "log_loss":
        return nodes.ensemble(intercept, True, "sigmoid", 1.0, family)
    if k == 1 and loss == "exponential":
        return nodes.ensemble(intercept, True, "sigmoid", 2.0, family)
    return nodes.ensemble(intercept, True, "other", 1.0, family)


def _hist_gradient_boosting(model, family):
    """HistGradientBoostingRegressor / HistGradientBoostingClassifier."""
    if getattr(model, "_preprocessor", None) is not None or np.any(getattr(model, "is_categorical_", None) or False):
        return "it has categorical splits (bitsets), which the exact path does not read"
    k = len(model._predictors[0])
    nodes = _Nodes(k)
    for per_iter in model._predictors:
        for c, predictor in enumerate(per_iter):
            a = predictor.nodes
            is_leaf = a["is_leaf"].astype(bool)
            nodes.add(np.where(is_leaf, -1, a["left"].astype(np.int64)),
                      np.where(is_leaf, -1, a["right"].astype(np.int64)),
                      a["feature_idx"], a["num_threshold"], a["missing_go_to_left"], a["value"], column=c)
    intercept = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
    loss = type(model._loss).__name__
    if not hasattr(model, "classes_"):
        link_identity = loss in ("HalfSquaredError", "AbsoluteError", "PinballLoss", "HuberLoss")
        return nodes.ensemble(intercept, False, "additive" if link_identity else "other", 1.0, family)
    if k == 1 and loss == "HalfBinomialLoss":
        return nodes.ensemble(intercept, False, "sigmoid", 1.0, family)
    return nodes.ensemble(intercept, False, "other", 1.0, family)


def _xgboost(model, family):
    """XGBRegressor / XGBClassifier with the gbtree booster."""
    booster = model.get_booster()
    learner = json.loads(booster.save_raw("json"))["learner"]
    gb = learner["gradient_booster"]
    if gb.get("name") != "gbtree":
        return f"its booster is {gb.get('name')!r} (only gbtree is read)"
    objective = learner["objective"]["name"]
    n_targets = int(learner["learner_model_param"].get("num_target", "1"))
    n_class = int(learner["learner_model_param"].get("num_class", "0"))
    k = max(1, n_class, n_targets)
    trees = gb["model"]["trees"]
    info = gb["model"]["tree_info"]
    n_trees = len(trees)
    best = getattr(model, "best_iteration", None)
    if best is not None and getattr(model, "early_stopping_rounds", None):
        return "it stopped early (predictions use a tree limit the exact path does not apply)"
    nodes = _Nodes(k)
    for t in range(n_trees):
        tree = trees[t]
        if any(tree.get("split_type", [])):
            return "it has categorical splits, which the exact path does not read"
        left = np.asarray(tree["left_children"], dtype=np.int64)
        right = np.asarray(tree["right_children"], dtype=np.int64)
        cond = np.asarray(tree["split_conditions"], dtype=np.float32)
        # x < t on float32  <=>  x <= the float32 just below t
        thr = np.nextafter(cond, np.float32(-np.inf)).astype(np.float64)
        leaf = cond.astype(np.float64)
        if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
            return "it has vector-leaf trees (multi_strategy), which the exact path does not read"
        nodes.add(left, right, np.asarray(tree["split_indices"]), thr, np.asarray(tree["default_left"]),
                  leaf, column=int(info[t]) if k > 1 else 0)
    intercept = np.zeros(k)  # set by the caller from the model's own margin
    if objective.startswith("reg:") and objective in ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
                                                        "reg:quantileerror"):
        return nodes.ensemble(intercept, True, "additive", 1.0, family)
    if objective == "binary:logistic" and k == 1:
        return nodes.ensemble(intercept, True, "sigmoid", 1.0, family)
    return nodes.ensemble(intercept, True, "other", 1.0, family)


#: LightGBM objectives whose prediction is the raw sum of trees (identity link).
_LGBM_IDENTITY = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")

#: LightGBM treats ``|x| <= kZeroThreshold`` as zero for ``missing_type`` ``Zero``.
_LGBM_ZERO = 1e-35


def _lightgbm_tree(node, out):
    """Flatten one ``dump_model()`` tree (pre-order) into ``out``'s lists; a reason when it
    cannot be read exactly, else None."""
    stack = [(node, -1, False)]
    while stack:
        nd, parent, is_right = stack.pop()
        at = len(out["left"])
        if parent >= 0:
            out["right" if is_right else "left"][parent] = at
        if "leaf_value" in nd or "split_feature" not in nd:
            if "leaf_coeff" in nd:
                return "has linear trees (linear_tree), whose leaves are not constants"
            out["left"].append(-1)
            out["right"].append(-1)
            out["feature"].append(0)
            out["threshold"].append(0.0)
            out["default_left"].append(0)
            out["leaf"].append(float(nd.get("leaf_value", 0.0)))
            continue
        if nd.get("decision_type", "<=") != "<=":
            return "has categorical splits, which the exact path does not read"
        thr = float(nd["threshold"])
        missing = nd.get("missing_type", "None")
        zero_left = 0.0 <= thr
        if missing == "NaN":
            default_left = bool(nd["default_left"])
        elif missing == "None":  # NaN is taken as 0.0
            default_left = zero_left
        else:  # "Zero": 0 and NaN go to the default child
            if bool(nd["default_left"]) != zero_left or -_LGBM_ZERO <= thr < _LGBM_ZERO:
                return ("has zero-as-missing splits that send 0 to the other side than their threshold, "
                        "which the exact path does not read")
            default_left = zero_left
        out["left"].append(0)
        out["right"].append(0)
        out["feature"].append(int(nd["split_feature"]))
        out["threshold"].append(thr)
        out["default_left"].append(int(default_left))
        out["leaf"].append(0.0)
        stack.append((nd["right_child"], at, True))
        stack.append((nd["left_child"], at, False))
    return None


def _lightgbm(model, family):
    """LGBMRegressor / LGBMClassifier (their booster) and a bare lightgbm ``Booster``."""
    booster = model if type(model).__qualname__ == "Booster" else getattr(model, "booster_", None)
    if booster is None:
        return "is not fitted"
    dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split()
    name = objective[0] if objective else ""
    per_iter = int(dump.get("num_tree_per_iteration", 1))
    k = max(1, int(dump.get("num_class", 1)))
    trees = dump["tree_info"]
    best = int(getattr(booster, "best_iteration", 0) or 0)
    if best > 0:  # predictions stop at the best iteration
        trees = trees[: best * per_iter]
    n_iter = max(1, len(trees) // max(per_iter, 1))
    nodes = _Nodes(k)
    for t, info in enumerate(trees):
        out = {key: [] for key in ("left", "right", "feature", "threshold", "default_left", "leaf")}
        why = _lightgbm_tree(info["tree_structure"], out)
        if why:
            return why
        leaf = np.asarray(out["leaf"], dtype=np.float64)
        if dump.get("average_output"):  # random-forest mode: the mean of the trees
            leaf = leaf / n_iter
        nodes.add(np.asarray(out["left"], np.int64), np.asarray(out["right"], np.int64),
                  np.asarray(out["feature"], np.int64), np.asarray(out["threshold"], np.float64),
                  np.asarray(out["default_left"], np.uint8), leaf, column=t % per_iter if k > 1 else 0)
    intercept = np.zeros(k)  # set by the caller from the model's own raw score
    if k == 1 and name in _LGBM_IDENTITY:
        return nodes.ensemble(intercept, False, "additive", 1.0, family)
    if k == 1 and name == "binary":
        sigmoid = [float(p.split(":", 1)[1]) for p in objective[1:] if p.startswith("sigmoid:")]
        return nodes.ensemble(intercept, False, "sigmoid", sigmoid[0] if sigmoid else 1.0, family)
    return nodes.ensemble(intercept, False, "other", 1.0, family)


_SKLEARN_FOREST = ("RandomForestRegressor", "RandomForestClassifier", "ExtraTreesRegressor", "ExtraTreesClassifier",
                   "DecisionTreeRegressor", "DecisionTreeClassifier", "ExtraTreeRegressor", "ExtraTreeClassifier")


def tree_ensemble(model) -> TreeEnsemble | str:
    """Read ``model`` as a :class:`TreeEnsemble`, or say why it cannot be read.

    Returns
    -------
    TreeEnsemble or str
        The ensemble (its ``intercept`` is 0 for the families whose constant term is read from
        the model's own predictions by :func:`clarify_engine.explain._exact.choose_exact`), or a
        reason phrased to follow "the model ...".
    """
    family = _family(model)
    name = type(model).__qualname__
    module = type(model).__module__
    if module.startswith("sklearn."):
        if not hasattr(model, "n_features_in_"):
            return "is not fitted"
        if name in _SKLEARN_FOREST:
            return _forest(model, family)
        if name in ("GradientBoostingRegressor", "GradientBoostingClassifier"):
            return _gradient_boosting(model, family)
        if name in ("HistGradientBoostingRegressor", "HistGradientBoostingClassifier"):
            return _hist_gradient_boosting(model, family)
        return f"is a {family}, not a tree ensemble the exact path reads"
    if module.startswith("xgboost.") and name in ("XGBRegressor", "XGBClassifier"):
        return _xgboost(model, family)
    if module.startswith("lightgbm.") and name in ("LGBMRegressor", "LGBMClassifier", "Booster"):
        return _lightgbm(model, family)
    return f"is a {family}, not a tree ensemble the exact path reads"
