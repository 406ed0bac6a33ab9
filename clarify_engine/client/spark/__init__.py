"""Spark processing jobs (``sagemaker.spark``): PySpark and jar apps, on SageMaker or a local Spark."""

from clarify_engine.client.spark.processing import FileType, PySparkProcessor, SparkConfigUtils, SparkJarProcessor

__all__ = ["FileType", "PySparkProcessor", "SparkConfigUtils", "SparkJarProcessor"]
