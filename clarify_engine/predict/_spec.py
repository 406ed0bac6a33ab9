"""How a job reaches and reads its model, resolved from the config by the job planner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """How the job's model is reached and read.

    Attributes
    ----------
    endpoint_name, model_name : str or None
        An existing endpoint, or the model of a shadow endpoint made for the job.
    instance_type, initial_instance_count, accelerator_type, endpoint_name_prefix
        The shadow endpoint.
    target_model, custom_attributes : str or None
        InvokeEndpoint's ``TargetModel`` / ``CustomAttributes``.
    content_type, accept_type : str or None
        Request and reply formats (None: no remote model can be called: the error names
        ``predictor.content_type``).
    content_template, record_template : str or None
    label, probability : str, int or None
        Where the reply holds labels and scores.
    label_headers : tuple or None
        Names of the model's outputs.
    probability_threshold : float
        Score above which a binary model's record gets the positive label.
    """

    endpoint_name: str | None = None
    model_name: str | None = None
    instance_type: str | None = None
    initial_instance_count: int | None = None
    accelerator_type: str | None = None
    endpoint_name_prefix: str = "sm-clarify"
    target_model: str | None = None
    custom_attributes: str | None = None
    content_type: str | None = None
    accept_type: str | None = None
    content_template: Any = None
    record_template: str | None = None
    label: str | int | None = None
    probability: str | int | None = None
    label_headers: tuple | None = None
    probability_threshold: float = 0.5
