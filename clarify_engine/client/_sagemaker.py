"""SageMaker processing jobs through boto3 (``sagemaker.Session``, the parts a processor needs).

Standard AWS settings only: profiles, regions and endpoint overrides (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``) are read by boto3 itself.

Notes
-----
Follows ``src/sagemaker/session.py`` of SDK v2.199: ``process`` sends ``CreateProcessingJob``
with the keys the SDK sets (absent ones left out), ``default_bucket`` is
``sagemaker-<region>-<account>`` (created when missing), waiting polls
``DescribeProcessingJob``, logs come from CloudWatch Logs group
``/aws/sagemaker/ProcessingJobs``, streams ``<job name>/<host>-<epoch>``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from clarify_engine.client import _sdk_config
from clarify_engine.client._session import TERMINAL_STATUSES, check_job_status, show_log_line, upload_path

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/ProcessingJobs"


class Session:
    """A SageMaker session: S3 uploads, processing jobs, their logs.

    Parameters
    ----------
    boto_session : boto3.Session, optional
        Default: ``boto3.Session()`` (standard AWS configuration).
    sagemaker_client : botocore client, optional
    default_bucket : str, optional
        Default: ``sagemaker-<region>-<account id>``, created when first needed.
    s3_client, logs_client, iam_client : botocore clients, optional
        Default: made from ``boto_session``.
    poll_seconds : float, default 10
        Interval between ``DescribeProcessingJob`` calls while waiting (the SDK's ``poll``).
    """

    local_mode = False

    def __init__(self, boto_session=None, sagemaker_client=None, default_bucket=None, s3_client=None,
                 logs_client=None, iam_client=None, poll_seconds: float = 10.0):
        import boto3

        self.boto_session = boto_session or boto3.Session()
        if self.boto_session.region_name is None:
            raise ValueError("Must setup local AWS configuration with a region supported by SageMaker: set "
                             "AWS_DEFAULT_REGION or a profile's region (found none)")
        self.sagemaker_client = sagemaker_client or self.boto_session.client("sagemaker")
        self.s3_client = s3_client or self.boto_session.client("s3")
        self._logs = logs_client
        self._iam = iam_client
        config = _sdk_config.load()
        self._default_bucket_name = default_bucket or _sdk_config.value(config, _sdk_config.BUCKET)
        #: Key prefix under the default bucket (SDK config ``DefaultS3ObjectKeyPrefix``), or None.
        self.default_bucket_prefix = _sdk_config.value(config, _sdk_config.PREFIX)
        self._default_bucket: str | None = None
        self.poll_seconds = poll_seconds

    @property
    def boto_region_name(self) -> str:
        return self.boto_session.region_name

    @property
    def logs_client(self):
        if self._logs is None:
            self._logs = self.boto_session.client("logs")
        return self._logs

    # -- S3 -------------------------------------------------------------------------------

    def account_id(self) -> str:
        return self.boto_session.client("sts").get_caller_identity()["Account"]

    def default_bucket(self) -> str:
        """The session's bucket (``sagemaker-<region>-<account>`` unless given); created if missing."""
        if self._default_bucket:
            return self._default_bucket
        name = self._default_bucket_name or f"sagemaker-{self.boto_region_name}-{self.account_id()}"
        try:
            self.s3_client.head_bucket(Bucket=name)
        except Exception as exc:  # botocore ClientError: 404 → create it
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
            args: dict[str, Any] = {"Bucket": name}
            if self.boto_region_name != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.boto_region_name}
            self.s3_client.create_bucket(**args)
            log.info("Created S3 bucket: %s", name)
        self._default_bucket = name
        return name

    def upload_file(self, local_path, destination, kms_key=None) -> str:
        """Upload a file into the S3 folder ``destination``; return the file's URI.

        A folder's files are uploaded under ``destination`` with their relative paths and
        the prefix is returned.
        """
        return upload_path(self.s3_client, local_path, str(destination), kms_key)

    def upload_string_as_file_body(self, body, bucket, key, kms_key=None) -> str:
        """Write ``body`` to ``s3://bucket/key`` and return that URI."""
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self.s3_client.put_object(Body=body.encode("utf-8") if isinstance(body, str) else body, Bucket=bucket,
                                  Key=key, **extra)
        return f"s3://{bucket}/{key}"

    def expand_role(self, role: str) -> str:
        """A role name becomes its ARN (IAM ``GetRole``); an ARN is returned unchanged."""
        if "/" in role:
            return role
        if self._iam is None:
            self._iam = self.boto_session.client("iam")
        return self._iam.get_role(RoleName=role)["Role"]["Arn"]

    # -- processing jobs ------------------------------------------------------------------

    @staticmethod
    def processing_request(inputs, output_config, job_name, resources, stopping_condition, app_specification,
                           environment, network_config, role_arn, tags, experiment_config=None) -> dict:
        """The ``CreateProcessingJob`` request, keys in the SDK's order, ``None`` pieces left out."""
        request: dict[str, Any] = {"ProcessingJobName": job_name, "ProcessingResources": resources,
                                   "AppSpecification": app_specification, "RoleArn": role_arn}
        if inputs:
            request["ProcessingInputs"] = inputs
        if output_config.get("Outputs"):
            request["ProcessingOutputConfig"] = output_config
        if environment is not None:
            request["Environment"] = environment
        if network_config is not None:
            request["NetworkConfig"] = network_config
        if stopping_condition is not None:
            request["StoppingCondition"] = stopping_condition
        if tags is not None:
            request["Tags"] = tags
        if experiment_config and len(experiment_config) > 0:
            request["ExperimentConfig"] = experiment_config
        return request

    def process(self, inputs, output_config, job_name, resources, stopping_condition, app_specification,
                environment, network_config, role_arn, tags, experiment_config=None) -> dict:
        """Send ``CreateProcessingJob``; returns its answer (``ProcessingJobArn``)."""
        request = self.processing_request(inputs, output_config, job_name, resources, stopping_condition,
                                          app_specification, environment, network_config, role_arn, tags,
                                          experiment_config)
        log.info("Creating processing-job with name %s", job_name)
        return self.sagemaker_client.create_processing_job(**request)

    def describe_processing_job(self, job_name) -> dict:
        """``DescribeProcessingJob`` without the response metadata."""
        desc = self.sagemaker_client.describe_processing_job(ProcessingJobName=job_name)
        desc.pop("ResponseMetadata", None)
        return desc

    def stop_processing_job(self, job_name) -> None:
        """``StopProcessingJob``: the job moves to ``Stopping`` then ``Stopped``."""
        self.sagemaker_client.stop_processing_job(ProcessingJobName=job_name)

    def wait_for_processing_job(self, job, poll=None) -> dict:
        """Poll until the job ends; raise :class:`UnexpectedStatusException` if it failed."""
        poll = self.poll_seconds if poll is None else poll
        while True:
            desc = self.describe_processing_job(job)
            if desc["ProcessingJobStatus"] in TERMINAL_STATUSES:
                break
            time.sleep(poll)
        check_job_status(job, desc)
        return desc

    def logs_for_processing_job(self, job_name, wait=False, poll=None) -> None:
        """Print the job's CloudWatch log events; with ``wait``, follow them until the job ends.

        Streams ``<job_name>/...`` of ``/aws/sagemaker/ProcessingJobs`` are read from the head;
        once the job has ended one last pass picks up the final lines, then the status is
        checked (a failed job raises).
        """
        poll = self.poll_seconds if poll is None else poll
        tokens: dict[str, str | None] = {}
        while True:
            desc = self.describe_processing_job(job_name)
            finished = desc["ProcessingJobStatus"] in TERMINAL_STATUSES
            self._print_new_events(job_name, tokens)
            if finished or not wait:
                break
            time.sleep(poll)
        if wait:
            check_job_status(job_name, desc)

    def _print_new_events(self, job_name: str, tokens: dict) -> None:
        client = self.logs_client
        try:
            streams = []
            kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": job_name + "/"}
            while True:
                page = client.describe_log_streams(**kwargs)
                streams += [s["logStreamName"] for s in page.get("logStreams", [])]
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        except client.exceptions.ResourceNotFoundException:
            return  # no log group yet: the job has not logged anything
        prefix = len(streams) > 1
        for stream in sorted(streams):
            while True:
                kwargs = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
                if tokens.get(stream):
                    kwargs["nextToken"] = tokens[stream]
                page = client.get_log_events(**kwargs)
                for event in page.get("events", []):
                    host = stream.split("/", 1)[-1].split("-")[0]
                    show_log_line(f"[{host}] {event['message']}" if prefix else event["message"])
                token = page.get("nextForwardToken")
                if not page.get("events") or token == tokens.get(stream):
                    tokens[stream] = token
                    break
                tokens[stream] = token
