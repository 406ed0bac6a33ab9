"""The thin client: SageMaker SDK-compatible processing and Clarify classes (local or SageMaker jobs)."""
