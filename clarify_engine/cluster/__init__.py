"""Running a job on more than one process or host with ``dask.distributed``."""
