"""Defaults from the SageMaker SDK's configuration files (``sagemaker.config``, SDK 2.199).

The SDK reads ``/etc/xdg/sagemaker/config.yaml`` (admin) and then
``~/.config/sagemaker/config.yaml`` (user; its values win), or the files (or folders holding a
``config.yaml``) named by ``SAGEMAKER_ADMIN_CONFIG_OVERRIDE`` / ``SAGEMAKER_USER_CONFIG_OVERRIDE``.
A processor uses a value there only where the caller passed none:

* ``SageMaker.ProcessingJob.RoleArn`` → ``role``;
* ``SageMaker.ProcessingJob.ProcessingOutputConfig.KmsKeyId`` → ``output_kms_key``;
* ``SageMaker.ProcessingJob.ProcessingResources.ClusterConfig.VolumeKmsKeyId`` → ``volume_kms_key``;
* ``SageMaker.ProcessingJob.NetworkConfig`` (``EnableNetworkIsolation``,
  ``EnableInterContainerTrafficEncryption``, ``VpcConfig.Subnets`` / ``SecurityGroupIds``) →
  the ``network_config`` attributes left unset;
* ``SageMaker.ProcessingJob.Environment`` → ``env``;
* ``SageMaker.ProcessingJob.Tags`` → appended to the job's tags (keys not already there);
* ``SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket`` / ``DefaultS3ObjectKeyPrefix`` → a
  SageMaker session's default bucket and key prefix.

``s3://`` locations of config files (which the SDK also accepts) are refused with the fix.
Reading a file needs PyYAML (not a dependency of this package: the SDK, whose files these are,
installs it; without it a config file present is refused with that fix).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ADMIN_DEFAULT = Path("/etc/xdg/sagemaker/config.yaml")
ADMIN_ENV = "SAGEMAKER_ADMIN_CONFIG_OVERRIDE"
USER_ENV = "SAGEMAKER_USER_CONFIG_OVERRIDE"

ROLE = "SageMaker.ProcessingJob.RoleArn"
OUTPUT_KMS = "SageMaker.ProcessingJob.ProcessingOutputConfig.KmsKeyId"
VOLUME_KMS = "SageMaker.ProcessingJob.ProcessingResources.ClusterConfig.VolumeKmsKeyId"
NETWORK = "SageMaker.ProcessingJob.NetworkConfig"
ENVIRONMENT = "SageMaker.ProcessingJob.Environment"
TAGS = "SageMaker.ProcessingJob.Tags"
BUCKET = "SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket"
PREFIX = "SageMaker.PythonSDK.Modules.Session.DefaultS3ObjectKeyPrefix"


def _user_default() -> Path:
    return Path(os.path.expanduser("~/.config/sagemaker/config.yaml"))


def _file(location: str | None, default: Path, env: str) -> Path | None:
    if location is None:
        return default if default.is_file() else None
    if location.startswith("s3://"):
        raise ValueError(f"{env}={location}: configuration files in S3 are not read by clarify_engine.client; "
                         "download the file and point the variable at its local path")
    path = Path(location).expanduser()
    if path.is_dir():
        path = path / "config.yaml"
    if not path.is_file():
        raise ValueError(f"{env}={location}: no such configuration file; point it at a config.yaml (or its folder), "
                         "or unset it")
    return path


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def load() -> dict:
    """The merged SDK configuration (admin, then user), ``{}`` when there is none.

    Raises
    ------
    ValueError
        A file that is not YAML with a mapping at the top, or an override naming no file.
    """
    merged: dict = {}
    for path in (_file(os.environ.get(ADMIN_ENV), ADMIN_DEFAULT, ADMIN_ENV),
                 _file(os.environ.get(USER_ENV), _user_default(), USER_ENV)):
        if path is None:
            continue
        try:
            import yaml
        except ImportError:
            raise ValueError(f"SageMaker SDK config {path}: reading it needs PyYAML (pip install pyyaml), which the "
                             "SageMaker SDK itself installs; install it, or unset the config") from None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"SageMaker SDK config {path}: not valid YAML ({exc}); fix or remove the file") from None
        if not isinstance(data, dict):
            raise ValueError(f"SageMaker SDK config {path}: expected a mapping at the top (SchemaVersion, SageMaker), "
                             f"found {type(data).__name__}")
        merged = _merge(merged, data)
    return merged


def value(config: dict, dotted: str) -> Any:
    """The value at ``dotted`` (``SageMaker.ProcessingJob.RoleArn``), or None."""
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def resolve(direct: Any, config: dict, dotted: str) -> Any:
    """``direct`` unless None, else the config's value (logged as the SDK does)."""
    if direct is not None:
        return direct
    found = value(config, dotted)
    if found is not None:
        log.info("Applied value from config key = %s", dotted)
    return found


def resolve_network(network_config, config: dict):
    """``network_config`` with its unset attributes filled from the config (a new one if needed)."""
    from clarify_engine.client._processing import NetworkConfig

    settings = value(config, NETWORK) or {}
    vpc = settings.get("VpcConfig") or {}
    fills = {"subnets": vpc.get("Subnets"), "security_group_ids": vpc.get("SecurityGroupIds"),
             "enable_network_isolation": settings.get("EnableNetworkIsolation"),
             "encrypt_inter_container_traffic": settings.get("EnableInterContainerTrafficEncryption")}
    if all(v is None for v in fills.values()):
        return network_config
    if network_config is None:
        network_config = NetworkConfig()
        network_config.enable_network_isolation = None
    for attribute, found in fills.items():
        if found is not None and getattr(network_config, attribute, None) is None:
            setattr(network_config, attribute, found)
            log.info("Applied value from config key = %s (%s)", NETWORK, attribute)
    if network_config.enable_network_isolation is None:
        network_config.enable_network_isolation = False
    return network_config


def append_tags(tags: list | None, config: dict) -> list | None:
    """``tags`` plus the config's tags whose keys are not among them."""
    extra = value(config, TAGS) or []
    if not extra:
        return tags
    tags = list(tags or [])
    keys = {t.get("Key") for t in tags}
    return tags + [t for t in extra if t.get("Key") not in keys]
