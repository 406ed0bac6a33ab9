"""Dataset loading: one pandas frame per Clarify job, with resolved column roles.

Readers cover ``text/csv``, ``application/jsonlines``, ``application/json`` and
``application/x-parquet``, from a file, a folder of part files, an fsspec URL
(``s3://``) or an in-memory table; gzip files are decompressed transparently.
Separate facet and predicted-label datasets are joined in. The loader reads a
:class:`DataSpec` that the job planner resolves from the config. See ``docs/datasets.md``.
"""

from clarify_engine.data._dataset import Dataset, load_dataset, read_table
from clarify_engine.data._spec import DataSpec, FacetKey
from clarify_engine.data._stream import ChunkedDataset, iter_chunks

__all__ = ["ChunkedDataset", "DataSpec", "Dataset", "FacetKey", "iter_chunks", "load_dataset", "read_table"]
