"""The SageMaker Spark processing image for a Spark version, region and instance type.

The same answer and errors as ``sagemaker.image_uris.retrieve("spark", ...)`` of SDK 2.199:
``<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-spark-processing:<version>-cpu[-<py>][-v<n>]``.
The versions and the account of each region come from the SDK's ``image_uri_config/spark.json``,
copied into ``_spark_images.json`` by ``tools/record_sdk_requests.py``.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

TABLE = Path(__file__).with_name("_spark_images.json")


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def _validate_arg(arg, options, arg_name: str) -> None:
    """The SDK's ``image_uris._validate_arg`` check and message."""
    if arg not in options:
        raise ValueError(
            f"Unsupported {arg_name}: {arg}. You may need to upgrade your SDK version (pip install -U sagemaker) "
            f"for newer {arg_name}s. Supported {arg_name}(s): {', '.join(options)}.")


def instance_family(instance_type) -> str:
    """``ml.c5.xlarge`` → ``c5``; ``""`` for anything else (``sagemaker.utils.get_instance_type_family``)."""
    if isinstance(instance_type, str):
        match = re.match(r"^ml[\._]([a-z\d]+)\.?\w*$", instance_type)
        if match is not None:
            return match[1]
    return ""


def _processor(instance_type, available: list[str]) -> str:
    if len(available) == 1 and not instance_type:
        return available[0]
    if not instance_type:
        raise ValueError("Empty SageMaker instance type. For options, see: "
                         "https://aws.amazon.com/sagemaker/pricing/instance-types")
    if instance_type.startswith("local"):
        processor = "cpu" if instance_type == "local" else "gpu"
    else:
        family = instance_family(instance_type)
        if not family:
            raise ValueError(f"Invalid SageMaker instance type: {instance_type}. For options, see: "
                             "https://aws.amazon.com/sagemaker/pricing/instance-types")
        processor = family if family in available else ("gpu" if family[0] in ("g", "p") else "cpu")
    _validate_arg(processor, available, "processor")
    return processor


def retrieve(region: str | None, version: str | None, instance_type: str | None, py_version: str | None = None,
             container_version: str | None = None) -> str:
    """The Spark processing image URI (``container_version`` already prefixed with ``v``).

    Raises
    ------
    ValueError
        An unknown version, Python version, region or instance type, with the SDK's message.
    """
    table = _table()
    versions = table["versions"]
    _validate_arg(version, list(versions), "spark version")
    config = versions[version]
    if py_version is not None:
        _validate_arg(py_version, config["py_versions"], "Python version")
    _validate_arg(region, list(config["registries"]), "region")
    processor = _processor(instance_type, table["processors"])
    tag = "-".join(x for x in (version, processor, py_version, container_version) if x)
    suffix = "amazonaws.com.cn" if str(region).startswith("cn-") else "amazonaws.com"
    return f"{config['registries'][region]}.dkr.ecr.{region}.{suffix}/{config['repository']}:{tag}"
