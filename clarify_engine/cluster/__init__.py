"""Running a job's plan on a ``dask.distributed`` cluster (``analyze(..., cluster=)``, ``--cluster``).

The job is planned and its data loaded on the client, as without a cluster; the stages that
call the model run on the workers, in contiguous partitions of the row order gathered back in
that order (predicted labels, PDP grid rows, Kernel SHAP shards), with one concurrency budget
for every worker's requests. See ``docs/scale.md``, section "Dask".

Multi-host processing jobs (``/opt/ml/config/resourceconfig.json``) form such a cluster from
their hosts: roles in ``_roles.py``, the leader and the workers in ``_hosts.py``
(``docs/scale.md``, section "Multi-instance jobs").
"""

from clarify_engine.cluster._executor import Cluster, DaskExecutor, check_job, connect

__all__ = ["Cluster", "DaskExecutor", "check_job", "connect"]
