"""Exact SHAP paths against Kernel SHAP with every coalition, for each model family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge, SGDClassifier,
                                  SGDRegressor)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clarify_engine.explain._baseline import encode_features
from clarify_engine.explain._exact import (EXACT_LINEAR, EXACT_TREE, KERNEL_SHAP, ExactUnavailable, choose_exact,
                                           exact_shap)
from clarify_engine.explain._kernel_shap import kernel_shap
from clarify_engine.predict import InProcessModel

M = 6
FEATURES = [f"f{j}" for j in range(M)]


def data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, M))
    X[:, 5] = rng.integers(0, 4, n)  # a few repeated values: ties with thresholds
    margin = X[:, 0] - 0.7 * X[:, 1] * X[:, 2] + 0.4 * X[:, 3] + 0.3 * X[:, 5]
    return X, margin, rng


def xgb(kind, **kw):
    xgboost = pytest.importorskip("xgboost")
    return getattr(xgboost, kind)(n_estimators=25, max_depth=3, random_state=0, n_jobs=1, **kw)


def lgb(kind, **kw):
    lightgbm = pytest.importorskip("lightgbm")
    params = {"n_estimators": 25, "num_leaves": 8, "min_child_samples": 5, "random_state": 0, "n_jobs": 1,
              "verbose": -1, **kw}
    return getattr(lightgbm, kind)(**params)


def lgb_booster(X, y, **params):
    """A bare lightgbm Booster from ``lightgbm.train``."""
    lightgbm = pytest.importorskip("lightgbm")
    params = {"num_leaves": 8, "min_data_in_leaf": 5, "seed": 0, "num_threads": 1, "verbose": -1, **params}
    return lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=20)


def fitted(name, seed=0):
    X, margin, rng = data(seed)
    y_bin = (margin + 0.3 * rng.normal(size=len(margin)) > 0).astype(int)
    y_multi = np.digitize(margin, [-0.5, 0.5])
    y_two = np.column_stack([margin, np.sin(X[:, 0])])
    frame = pd.DataFrame(X, columns=FEATURES)
    makers = {
        "gbr": lambda: GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(frame, margin),
        "gbc": lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(frame, y_bin),
        "gbc_exp": lambda: GradientBoostingClassifier(loss="exponential", n_estimators=20, random_state=0).fit(
            frame, y_bin),
        "gbc_multi": lambda: GradientBoostingClassifier(n_estimators=10, random_state=0).fit(frame, y_multi),
        "rfr": lambda: RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, margin),
        "rfr_multi": lambda: RandomForestRegressor(n_estimators=8, max_depth=4, random_state=0).fit(X, y_two),
        "rfc": lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(frame, y_bin),
        "rfc_multi": lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y_multi),
        "etr": lambda: ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, margin),
        "etc": lambda: ExtraTreesClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y_multi),
        "hgbr": lambda: HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, margin),
        "hgbc": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(frame, y_bin),
        "hgbc_multi": lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y_multi),
        "xgbr": lambda: xgb("XGBRegressor").fit(X, margin),
        "xgbc": lambda: xgb("XGBClassifier").fit(frame, y_bin),
        "xgbc_multi": lambda: xgb("XGBClassifier").fit(X, y_multi),
        "lgbr": lambda: lgb("LGBMRegressor").fit(X, margin),
        "lgbr_rf": lambda: lgb("LGBMRegressor", boosting_type="rf", subsample=0.7, subsample_freq=1).fit(X, margin),
        "lgbc": lambda: lgb("LGBMClassifier").fit(frame, y_bin),
        "lgbc_multi": lambda: lgb("LGBMClassifier").fit(X, y_multi),
        "lgb_booster": lambda: lgb_booster(X, margin, objective="regression"),
        "lgb_booster_binary": lambda: lgb_booster(X, y_bin, objective="binary", sigmoid=0.7),
        "linreg": lambda: LinearRegression().fit(frame, margin),
        "linreg_multi": lambda: LinearRegression().fit(X, y_two),
        "ridge": lambda: Ridge(alpha=0.5).fit(X, margin),
        "lasso": lambda: Lasso(alpha=0.01).fit(X, margin),
        "enet": lambda: ElasticNet(alpha=0.01).fit(X, margin),
        "sgdr": lambda: SGDRegressor(random_state=0).fit(X, margin),
        "logreg": lambda: LogisticRegression().fit(frame, y_bin),
        "logreg_multi": lambda: LogisticRegression().fit(X, y_multi),
        "sgdc": lambda: SGDClassifier(loss="log_loss", random_state=0).fit(X, y_bin),
        "pipeline": lambda: make_pipeline(StandardScaler(), LinearRegression()).fit(X, margin),
    }
    return makers[name](), X


def kernel_reference(model, X, B, weights, explain, link):
    """Kernel SHAP with every coalition enumerated: the exact Shapley values of the job's game."""
    predictor = InProcessModel(model)

    def predict(rows):
        return predictor.predict(pd.DataFrame(rows, columns=FEATURES)).scores

    m = M if explain is None else len(explain)
    return kernel_shap(predict, X, B, weights=weights, explain=explain, num_samples=2**m - 2, link=link)


ADDITIVE = ["gbr", "rfr", "rfr_multi", "rfc", "rfc_multi", "etr", "etc", "hgbr", "xgbr", "lgbr", "lgbr_rf",
            "lgb_booster", "linreg", "linreg_multi",
            "ridge", "lasso", "enet", "sgdr"]
SIGMOID = ["gbc", "gbc_exp", "hgbc", "xgbc", "lgbc", "lgb_booster_binary", "logreg", "sgdc"]


def tolerance(name):
    return 2e-5 if name.startswith("xgb") else 1e-8


def compare(name, link, n_base, explain=None, weighted=False):
    model, X = fitted(name)
    rng = np.random.default_rng(7)
    B = X[rng.choice(len(X), n_base, replace=False)]
    weights = rng.uniform(0.5, 2.0, n_base) if weighted else None
    rows = X[:40]
    choice = choose_exact(model, features=FEATURES, link=link, X=rows, baseline=B, weights=weights)
    assert choice.method in (EXACT_TREE, EXACT_LINEAR), choice.reason
    got = exact_shap(choice, rows, B, weights=weights, explain=explain)
    want = kernel_reference(model, rows, B, weights, explain, link)
    assert want.exact
    tol = tolerance(name)
    assert got.values.shape == want.values.shape
    np.testing.assert_allclose(got.values, want.values, rtol=0, atol=tol)
    np.testing.assert_allclose(got.expected_value, want.expected_value, rtol=0, atol=tol)
    np.testing.assert_allclose(got.fx, want.fx, rtol=0, atol=tol)
    np.testing.assert_allclose(got.reference, want.reference, rtol=0, atol=tol)
    assert not got.standard_errors.any() and got.exact and got.method == choice.method
    return got


@pytest.mark.parametrize("n_base", [1, 10])
@pytest.mark.parametrize("name", ADDITIVE)
def test_additive_scores_exact(name, n_base):
    compare(name, "identity", n_base)


@pytest.mark.parametrize("name", SIGMOID)
def test_log_odds_exact_with_one_baseline_row(name):
    compare(name, "logit", 1)


@pytest.mark.parametrize("name", ["gbr", "rfc_multi", "hgbr", "linreg_multi"])
def test_weighted_baseline_and_features_to_explain(name):
    compare(name, "identity", 10, explain=np.array([0, 2, 5]), weighted=True)


def test_logit_with_baseline_rows_all_equal_is_one_row():
    model, X = fitted("gbc")
    B = np.repeat(X[3:4], 4, axis=0)
    choice = choose_exact(model, features=FEATURES, link="logit", X=X[:5], baseline=B, weights=[1, 2, 0, 1])
    assert choice.method == EXACT_TREE
    want = kernel_reference(model, X[:20], B, [1, 2, 0, 1], None, "logit")
    np.testing.assert_allclose(exact_shap(choice, X[:20], B).values, want.values, atol=1e-8, rtol=0)


@pytest.mark.parametrize("name, link, n_base, reason", [
    ("gbc", "identity", 1, "probabilities, a sigmoid of an additive margin, which are not additive; set use_logit"),
    ("logreg", "identity", 10, "probabilities, a sigmoid of an additive margin"),
    ("gbc", "logit", 10, "with use_logit and 10 baseline rows the logit is taken of the mean probability"),
    ("logreg", "logit", 3, "with use_logit and 3 baseline rows"),
    ("gbc_multi", "identity", 1, "are not the sum of its trees or a sigmoid of it (e.g. a softmax over classes)"),
    ("hgbc_multi", "logit", 1, "are not the sum of its trees or a sigmoid of it"),
    ("xgbc_multi", "identity", 1, "are not the sum of its trees or a sigmoid of it"),
    ("lgbc_multi", "identity", 1, "scores of this lightgbm.LGBMClassifier are not the sum of its trees"),
    ("lgbc", "identity", 10, "scores of this lightgbm.LGBMClassifier are probabilities, a sigmoid"),
    ("logreg_multi", "logit", 1, "are not the sum of its terms or a sigmoid of it"),
    ("rfc", "logit", 1, "use_logit takes the logit of scores of this sklearn.RandomForestClassifier, which are not"),
    ("pipeline", "identity", 1, "it is a sklearn.Pipeline, neither a tree ensemble nor a linear model"),
])
def test_falls_back_with_a_reason(name, link, n_base, reason):
    model, X = fitted(name)
    choice = choose_exact(model, features=FEATURES, link=link, X=X[:5], baseline=X[:n_base])
    assert choice.method == KERNEL_SHAP
    assert reason in choice.reason


def test_custom_predict_falls_back():
    """A subclass may predict anything: not read. A predict replaced on a fitted estimator is
    caught by the check against the model's own scores."""
    class Shifted(GradientBoostingRegressor):
        def predict(self, X):
            return super().predict(X) + np.asarray(X)[:, 0] ** 2

    X, margin, _ = data()
    model = Shifted(n_estimators=5, random_state=0).fit(X, margin)
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:5], baseline=X[:2])
    assert choice.method == KERNEL_SHAP
    assert "Shifted, neither a tree ensemble nor a linear model the exact path reads" in choice.reason

    plain = GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, margin)
    original = plain.predict
    plain.predict = lambda rows: original(rows) + np.asarray(rows)[:, 0] ** 2
    choice = choose_exact(plain, features=FEATURES, link="identity", X=X[:5], baseline=X[:2])
    assert choice.method == KERNEL_SHAP
    assert "the sklearn.GradientBoostingRegressor read from the model differs from its own margin by" in choice.reason


def test_callable_falls_back():
    choice = choose_exact(lambda frame: np.zeros(len(frame)), features=FEATURES, link="identity",
                          X=np.zeros((2, M)), baseline=np.zeros((1, M)))
    assert choice.method == KERNEL_SHAP and "neither a tree ensemble nor a linear model" in choice.reason


def test_logit_clip_is_refused():
    """Margins beyond the logit clip: Kernel SHAP explains clipped probabilities, so no exact path."""
    X, margin, _ = data()
    model = LogisticRegression(C=1e6).fit(X, (margin > 0).astype(int))
    big = X * 200.0
    choice = choose_exact(model, features=FEATURES, link="logit", X=big[:5], baseline=np.zeros((1, M)))
    assert choice.method == EXACT_LINEAR
    with pytest.raises(ExactUnavailable, match="beyond the 27.6 where use_logit clips probabilities"):
        exact_shap(choice, big[:5], np.zeros((1, M)))


def test_feature_names_in_another_order():
    """A model fitted on the features in another order gets its columns by name."""
    X, margin, _ = data()
    order = FEATURES[::-1]
    model = GradientBoostingRegressor(n_estimators=10, random_state=0).fit(
        pd.DataFrame(X[:, ::-1], columns=order), margin)
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:5], baseline=X[:3])
    assert choice.columns == tuple(range(M - 1, -1, -1))
    want = kernel_reference(model, X[:10], X[:3], None, None, "identity")
    np.testing.assert_allclose(exact_shap(choice, X[:10], X[:3]).values, want.values, atol=1e-8, rtol=0)


def test_decoded_integer_and_bool_columns():
    """The exact path explains the model on decoded rows: an integer column truncates a
    baseline centre the way the decoded frame does, a bool column is coded then decoded."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.integers(0, 5, 200), "b": rng.normal(size=200), "c": rng.random(200) > 0.5})
    y = frame["a"] * 0.5 + frame["b"] + frame["c"] * 2.0
    model = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(frame, y)
    base = pd.DataFrame({"a": [2.6], "b": [0.1], "c": [True]})
    X, coder = encode_features(frame, base)
    B = coder.encode(base)
    choice = choose_exact(model, features=["a", "b", "c"], link="identity", X=X, baseline=B, decode=coder)
    assert choice.method == EXACT_TREE, choice.reason
    predictor = InProcessModel(model)
    want = kernel_shap(lambda rows: predictor.predict(coder(rows)).scores, X[:30], B, num_samples=6)
    got = exact_shap(choice, X[:30], B, decode=coder)
    np.testing.assert_allclose(got.values, want.values, atol=1e-10, rtol=0)


def test_string_features_fall_back():
    frame = pd.DataFrame({"a": ["x", "y", "x"], "b": [1.0, 2.0, 3.0]})
    model = LinearRegression().fit(np.array([[0, 1.0], [1, 2.0], [0, 3.0]]), [1.0, 2.0, 3.0])
    X, coder = encode_features(frame)
    choice = choose_exact(model, features=["a", "b"], link="identity", X=X, baseline=X[:1], decode=coder)
    assert choice.method == KERNEL_SHAP
    assert "features ['a'] are not numeric" in choice.reason


@pytest.mark.parametrize("name", ["gbr", "rfr", "xgbr", "hgbr", "lgbr"])
def test_values_next_to_thresholds(name):
    """Records a float64 step beside split thresholds: the model casts inputs (float32 for
    scikit-learn forests and xgboost), so the exact path must send them where the model does."""
    model, X = fitted(name)
    from clarify_engine.explain._exact_tree import tree_ensemble

    ens = tree_ensemble(model)
    inner = ~(ens.left < 0)
    rows = []
    for node in np.flatnonzero(inner)[:60]:
        for direction in (np.inf, -np.inf):
            row = X[len(rows) % 50].copy()
            row[ens.feature[node]] = np.nextafter(ens.threshold[node], direction)
            rows.append(row)
    rows = np.array(rows)
    predictor = InProcessModel(model)
    B = X[100:103]
    choice = choose_exact(model, features=FEATURES, link="identity", X=rows, baseline=B)
    assert choice.method == EXACT_TREE, choice.reason
    want = kernel_shap(lambda r: predictor.predict(pd.DataFrame(r, columns=FEATURES)).scores, rows, B,
                       num_samples=2**M - 2)
    np.testing.assert_allclose(exact_shap(choice, rows, B).values, want.values, atol=tolerance(name), rtol=0)


@pytest.mark.parametrize("name, n_base", [("gbr", 10), ("rfr", 1), ("xgbr", 10), ("gbc", 10), ("lgbr", 10),
                                          ("lgbr", 1), ("lgbc", 10)])
def test_equals_shap_tree_explainer(name, n_base):
    """shap's interventional TreeExplainer where it computes the same output: raw scores of
    regressors (uniform baseline), and the margin of a binary GBM compared on the margin game.
    To shap's float32 rounding of leaf values (1e-7). Not HistGradientBoosting: shap 0.51 casts
    its inputs to float32, which the model does not, and fails its own additivity check on
    these data (docs/explainability.md)."""
    shap = pytest.importorskip("shap")
    model, X = fitted(name)
    B = X[200:200 + n_base]
    rows = X[:30]
    explainer = shap.TreeExplainer(model, data=B, feature_perturbation="interventional",
                                   model_output="raw")
    want = np.asarray(explainer.shap_values(rows, check_additivity=False)).reshape(len(rows), M, -1)
    margin_game = name in ("gbc", "lgbc")
    choice = choose_exact(model, features=FEATURES, link="logit" if margin_game else "identity",
                          X=rows, baseline=B[:1] if margin_game else B)
    if margin_game:  # log-odds need one baseline row; shap's margin game is additive for any
        from clarify_engine.explain._exact import _tree_values

        read = choice.model
        pos = np.arange(M, dtype=np.int64)
        got = _tree_values(read, rows, B, np.full(n_base, 1.0 / n_base), pos, M, 1)[0]
    else:
        got = exact_shap(choice, rows, B).values
    if want.shape[2] == 2:  # lightgbm's binary classifier: shap gives both classes' margins (-m, m)
        want = want[:, :, 1:]
    np.testing.assert_allclose(got, want, atol=1e-5 if name == "xgbr" else 1e-7, rtol=0)


def test_equals_shap_linear_explainer():
    shap = pytest.importorskip("shap")
    model, X = fitted("ridge")
    B = X[200:210]
    want = shap.LinearExplainer(model, B).shap_values(X[:30])
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:30], baseline=B)
    np.testing.assert_allclose(exact_shap(choice, X[:30], B).values[:, :, 0], want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("fit_with_nan", [False, True])
@pytest.mark.parametrize("family", [RandomForestRegressor, HistGradientBoostingRegressor])
def test_missing_values_follow_the_models_default_child(family, fit_with_nan):
    """NaN in records and baseline rows: each node's default child, as the model sends them
    (trees fitted with or without missing values)."""
    X, margin, rng = data(5)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.15] = np.nan
    kwargs = {"max_iter": 10} if family is HistGradientBoostingRegressor else {"n_estimators": 5, "max_depth": 4}
    model = family(random_state=0, **kwargs).fit(Xn if fit_with_nan else X, margin)
    B = Xn[40:43]
    choice = choose_exact(model, features=FEATURES, link="identity", X=Xn[:30], baseline=B)
    assert choice.method == EXACT_TREE, choice.reason
    want = kernel_reference(model, Xn[:30], B, None, None, "identity")
    np.testing.assert_allclose(exact_shap(choice, Xn[:30], B).values, want.values, atol=1e-10, rtol=0)


@pytest.mark.parametrize("fit_with_nan", [False, True])
@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_lightgbm_missing_values(fit_with_nan, zero_as_missing):
    """LightGBM's missing-value rules (NaN to the default child; without missing values in
    training NaN is taken as 0; zero_as_missing sends 0 and NaN to the default child), with NaN
    and exact zeros in records and baseline rows."""
    X, margin, rng = data(5)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.15] = np.nan
    Xn[rng.random(X.shape) < 0.1] = 0.0
    fit_rows = Xn if fit_with_nan else np.where(np.isnan(Xn), 0.5, Xn)
    model = lgb("LGBMRegressor", zero_as_missing=zero_as_missing).fit(fit_rows, margin)
    B = Xn[40:43]
    choice = choose_exact(model, features=FEATURES, link="identity", X=Xn[:30], baseline=B)
    if zero_as_missing:  # its splits send 0 to the default child whatever the threshold says
        assert choice.method == KERNEL_SHAP
        assert "no exact path for this model: it has zero-as-missing splits that send 0 to the other side than " \
               "their threshold" in choice.reason
        return
    assert choice.method == EXACT_TREE, choice.reason
    want = kernel_reference(model, Xn[:30], B, None, None, "identity")
    np.testing.assert_allclose(exact_shap(choice, Xn[:30], B).values, want.values, atol=1e-10, rtol=0)


def test_lightgbm_categorical_and_early_stopping():
    """Categorical splits fall back with the reason; a model stopped early is read up to its
    best iteration (its predictions stop there)."""
    lightgbm = pytest.importorskip("lightgbm")
    X, margin, rng = data(9, n=300)
    cat = pd.DataFrame(X, columns=FEATURES).assign(f5=pd.Categorical(X[:, 5].astype(int)))
    model = lgb("LGBMRegressor", min_data_per_group=5, cat_smooth=1).fit(cat, margin)
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:5], baseline=X[10:12])
    assert choice.method == KERNEL_SHAP
    assert "no exact path for this model: it has categorical splits, which the exact path does not read" \
        in choice.reason

    model = lgb("LGBMRegressor", n_estimators=200).fit(X[:200], margin[:200], eval_X=(X[200:],), eval_y=(margin[200:],),
                                                       callbacks=[lightgbm.early_stopping(3, verbose=False)])
    assert 0 < model.best_iteration_ < 200
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:20], baseline=X[30:33])
    assert choice.method == EXACT_TREE, choice.reason
    want = kernel_reference(model, X[:20], X[30:33], None, None, "identity")
    np.testing.assert_allclose(exact_shap(choice, X[:20], X[30:33]).values, want.values, atol=1e-10, rtol=0)


def _reason_cases():
    X, margin, rng = data(9, n=120)
    ints = np.column_stack([rng.integers(0, 3, 120), X[:, 1:]])
    frame_zz = pd.DataFrame(X, columns=FEATURES[:-1] + ["zz"])
    two_targets = np.column_stack([(margin > 0), (X[:, 1] > 0)]).astype(int)
    with_nan = X.copy()
    with_nan[0, 0] = np.nan
    return [
        (HistGradientBoostingRegressor(categorical_features=[0], max_iter=5).fit(ints, margin), ints,
         "it has categorical splits (bitsets), which the exact path does not read"),
        (GradientBoostingRegressor(init=LinearRegression(), n_estimators=5).fit(X, margin), X,
         "its init estimator LinearRegression predicts a value that depends on the row"),
        (RandomForestClassifier(n_estimators=3, random_state=0).fit(X, two_targets), X,
         "a multi-output classifier (predict_proba returns one matrix per output)"),
        (LinearRegression().fit(frame_zz, margin), X,
         "the model expects features ['zz'] that the dataset does not have"),
        (LinearRegression().fit(np.column_stack([X, X[:, :1]]), margin), X,
         "the model takes 7 features, the dataset has 6"),
        (LinearRegression().fit(X, margin), with_nan, "the model failed on the rows checked (ValueError: "),
    ]


@pytest.mark.parametrize("case", range(6))
def test_reasons_name_what_the_exact_path_cannot_read(case):
    model, X, reason = _reason_cases()[case]
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:5], baseline=X[10:12])
    assert choice.method == KERNEL_SHAP
    assert reason in choice.reason


def test_exact_shap_refuses_a_kernel_shap_choice():
    model, X = fitted("pipeline")
    choice = choose_exact(model, features=FEATURES, link="identity", X=X[:5], baseline=X[:1])
    with pytest.raises(ValueError, match="exact_shap needs an exact method; found 'kernel_shap'"):
        exact_shap(choice, X[:5], X[:1])
