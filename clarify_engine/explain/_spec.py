"""What the explainers compute, resolved from the config by the job planner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clarify_engine.explain._exact_spec import ExactSpec

__all__ = ["BaselineSpec", "PdpSpec", "ShapSpec"]


@dataclass(frozen=True)
class BaselineSpec:
    """Where the Kernel SHAP baseline comes from: given rows, a file, or clustering.

    At most one of ``given`` and ``location`` is set; with neither, the dataset is clustered
    into ``num_clusters`` rows (or a number chosen by silhouette when None).

    Attributes
    ----------
    given : list or dict or None
        Inline baseline as the config writes it (JSON lists and objects): rows of feature
        values, JSON Lines objects, or a JSON document.
    location : str or None
        A baseline file, read in ``dataset_type``.
    """

    given: Any = None
    location: str | None = None
    dataset_type: str = "text/csv"
    features_path: str | None = None
    num_clusters: int | None = None

    @property
    def source(self) -> str:
        if self.given is not None:
            return "config"
        if self.location is not None:
            return "file"
        return "clustering"


@dataclass(frozen=True)
class ShapSpec:
    """Kernel SHAP on tabular features.

    Attributes
    ----------
    features : tuple of str
        The model-input features, in model order.
    explain : tuple of int
        Indices into ``features`` of the features explained (``features_to_explain``).
    baseline : BaselineSpec
    num_samples : int or None
        The coalition budget as configured (None: the default for the feature count).
    seed : int or None
    agg_method : {"mean_abs", "median", "mean_sq"}
    link : {"identity", "logit"}
    save_local : bool
        Whether ``explanations_shap/`` local values are written.
    joinsource : str or None
        Column written first in the local values.
    exact : ExactSpec
        Whether an exact path may replace Kernel SHAP for an in-process model
        (``methods.shap.exact``, ``--kernel-shap-only``).
    regression_adjusted : {"auto", "on", "off"}
        Kernel SHAP's regression adjustment (``methods.shap.regression_adjusted``): "auto" uses
        it when the model is called remotely (an endpoint or model server), where model calls
        cost more than the surrogate fits; "on" always; "off" never.
    """

    features: tuple[str, ...]
    explain: tuple[int, ...]
    baseline: BaselineSpec
    num_samples: int | None = None
    seed: int | None = None
    agg_method: str = "mean_abs"
    link: str = "identity"
    save_local: bool = True
    joinsource: str | None = None
    exact: ExactSpec = ExactSpec()
    regression_adjusted: str = "auto"

    @property
    def explained(self) -> tuple[str, ...]:
        return tuple(self.features[j] for j in self.explain)


@dataclass(frozen=True)
class PdpSpec:
    """Partial dependence.

    Attributes
    ----------
    features : tuple of str or None
        The features to plot, in the order given; None: the ``top_k_features`` of the
        job's SHAP result.
    top_k_features : int
    grid_resolution : int
    """

    features: tuple[str, ...] | None
    top_k_features: int = 10
    grid_resolution: int = 15
