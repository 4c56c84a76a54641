"""The SLURM backend.

:mod:`.header` (what each array's sbatch looks like), :mod:`.states`, :mod:`.accounting`,
:mod:`.cluster` and :mod:`.poll` need neither a cluster nor submitit at import; submitit
is imported lazily where a script is rendered.
"""

from taskonomy.executor.slurm.accounting import JobRecord
from taskonomy.executor.slurm.cluster import (
    ArrayChunk,
    Cluster,
    ClusterLimits,
    RetryPolicy,
    SchedulerError,
    TransientSchedulerError,
    split_array,
    with_retries,
)
from taskonomy.executor.slurm.header import (
    ArraySubmission,
    sbatch_headers,
    stage_submissions,
)
from taskonomy.executor.slurm.poll import Poller, PollSchedule, PollTimeoutError
from taskonomy.executor.slurm.states import JobStatus, from_slurm, reconcile

__all__ = [
    "ArrayChunk",
    "ArraySubmission",
    "Cluster",
    "ClusterLimits",
    "JobRecord",
    "JobStatus",
    "PollSchedule",
    "PollTimeoutError",
    "Poller",
    "RetryPolicy",
    "SchedulerError",
    "TransientSchedulerError",
    "from_slurm",
    "reconcile",
    "sbatch_headers",
    "split_array",
    "stage_submissions",
    "with_retries",
]
