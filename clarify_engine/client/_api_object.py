"""``FeatureStoreOutput``, ``DatasetDefinition`` and the ``ApiObject`` conversion they use.

An API object keeps snake_case attributes and converts them to and from the service's
CamelCase request shapes: ``FeatureStoreOutput(feature_group_name="fg")`` becomes
``{"FeatureGroupName": "fg"}`` in a ``ProcessingOutput``'s request entry. Nested API objects
(``DatasetDefinition(athena_dataset_definition=AthenaDatasetDefinition(...))``) convert
recursively; None attributes are left out. Same classes as ``sagemaker.apiutils`` and
``sagemaker.dataset_definition.inputs`` of SDK 2.199.
"""

from __future__ import annotations

from typing import Any


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class ApiObject:
    """Keyword attributes, converted to a boto request shape by :meth:`to_boto`."""

    def __init__(self, **kwargs: Any):
        self.__dict__.update(kwargs)

    #: attribute → API object class of a nested value (converted back by :meth:`from_boto`).
    _custom_boto_types: dict[str, type] = {}

    @classmethod
    def from_boto(cls, boto_dict: dict | None, **kwargs: Any):
        """The object for a service answer's dict (``None`` for ``None``)."""
        if boto_dict is None:
            return None
        values = {}
        for key, value in boto_dict.items():
            if key == "ResponseMetadata":
                continue
            name = _snake(key)
            nested = cls._custom_boto_types.get(name)
            values[name] = nested.from_boto(value) if nested and isinstance(value, dict) else value
        values.update(kwargs)
        return cls(**values)

    @classmethod
    def to_boto(cls, obj: "ApiObject | dict") -> dict:
        """The request dict of ``obj``: its non-None public attributes, CamelCase, nested ones converted."""
        items = obj.items() if isinstance(obj, dict) else vars(obj).items()
        return {_camel(key): (type(value).to_boto(value) if isinstance(value, ApiObject) else value)
                for key, value in items if not key.startswith("_") and value is not None}

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class FeatureStoreOutput(ApiObject):
    """A Feature Store destination of a processing output (``sagemaker.processing.FeatureStoreOutput``).

    Parameters
    ----------
    feature_group_name : str
        The feature group the job's application writes to (``AppManaged`` output).
    """

    feature_group_name = None


class RedshiftDatasetDefinition(ApiObject):
    """A Redshift query whose result SageMaker stages as a processing input."""

    def __init__(self, cluster_id=None, database=None, db_user=None, query_string=None, cluster_role_arn=None,
                 output_s3_uri=None, kms_key_id=None, output_format=None, output_compression=None):
        super().__init__(cluster_id=cluster_id, database=database, db_user=db_user, query_string=query_string,
                         cluster_role_arn=cluster_role_arn, output_s3_uri=output_s3_uri, kms_key_id=kms_key_id,
                         output_format=output_format, output_compression=output_compression)


class AthenaDatasetDefinition(ApiObject):
    """An Athena query whose result SageMaker stages as a processing input."""

    def __init__(self, catalog=None, database=None, query_string=None, output_s3_uri=None, work_group=None,
                 kms_key_id=None, output_format=None, output_compression=None):
        super().__init__(catalog=catalog, database=database, query_string=query_string, output_s3_uri=output_s3_uri,
                         work_group=work_group, kms_key_id=kms_key_id, output_format=output_format,
                         output_compression=output_compression)


class DatasetDefinition(ApiObject):
    """A processing input made by SageMaker from a query (``sagemaker.dataset_definition.inputs``).

    Passed through to ``CreateProcessingJob``; a local job refuses it with the reason.
    """

    _custom_boto_types = {"redshift_dataset_definition": RedshiftDatasetDefinition,
                          "athena_dataset_definition": AthenaDatasetDefinition}

    def __init__(self, data_distribution_type="ShardedByS3Key", input_mode="File", local_path=None,
                 redshift_dataset_definition=None, athena_dataset_definition=None):
        super().__init__(data_distribution_type=data_distribution_type, input_mode=input_mode, local_path=local_path,
                         redshift_dataset_definition=redshift_dataset_definition,
                         athena_dataset_definition=athena_dataset_definition)


class S3Input(ApiObject):
    """The S3 part of a processing input (``sagemaker.dataset_definition.inputs.S3Input``)."""

    def __init__(self, s3_uri=None, local_path=None, s3_data_type="S3Prefix", s3_input_mode="File",
                 s3_data_distribution_type="FullyReplicated", s3_compression_type=None):
        super().__init__(s3_uri=s3_uri, local_path=local_path, s3_data_type=s3_data_type, s3_input_mode=s3_input_mode,
                         s3_data_distribution_type=s3_data_distribution_type, s3_compression_type=s3_compression_type)
