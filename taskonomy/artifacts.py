"""The artifact contract: the files each job kind writes, and the run's published outputs.

Every job's artifact is a directory in the content-addressed store (see
:mod:`taskonomy.executor.store`); the names below are what a kind writes there and what
the kinds downstream read. The published outputs are the files at the top of a work
directory that users, ``taskonomy solve`` and the report read. Nothing here imports
anything, so every layer (jobs, reports, the command line) can name a file the same way.
"""

from __future__ import annotations

# --- per job kind (inside the kind's artifact directory) ---------------------------------
#: ``encoder``: the task network (its encoder is frozen downstream).
NETWORK_FILE = "network.pt"
#: ``scratch`` / ``transfer``: the readout and decoder (plus the stem for scratch).
MODEL_FILE = "model.pt"
#: ``evaluate``: float32 ``(n_test,)`` per-image test losses.
TEST_LOSSES_FILE = "losses.npy"
#: ``evaluate``: ``{"model", "target", "sources": [...]}`` (``["self"]``, ``["pixels"]``).
CANDIDATE_FILE = "candidate.json"
#: ``rank``: ``{"target": t, "ranked": [best source first, ...], "scores": {...}}``.
RANKING_FILE = "ranking.json"
#: ``affinity``: AHP scores and raw win rates per candidate.
AFFINITY_FILE = "affinity.json"
#: ``affinity``: every candidate's per-image losses, one array per source set.
CANDIDATE_LOSSES_FILE = "losses.npz"
#: ``taxonomy``: one solution in the ``taskonomy solve`` JSON schema.
SOLUTION_FILE = "solution.json"
#: ``assess``: gain and quality per taxonomy and target.
EVALUATION_FILE = "evaluation.json"
#: ``bootstrap``: support of every taxonomy edge and tree cluster over resampled images.
SUPPORT_FILE = "support.json"
#: ``report``: the folder with ``index.html`` and the figures.
REPORT_DIR = "report"


def features_file(split: str) -> str:
    """``features``: float16 ``(N, C, h, w)`` representations of one split."""
    return f"{split}.npy"


#: What each kind's artifact holds (``features`` adds one file per split it caches).
KIND_FILES: dict[str, tuple[str, ...]] = {
    "dataset": (),  # the dataset directory itself (taskonomy.data.splits)
    "encoder": (NETWORK_FILE,),
    "features": (features_file("transfer_train"), features_file("test")),
    "scratch": (MODEL_FILE,),
    "transfer": (MODEL_FILE,),
    "evaluate": (TEST_LOSSES_FILE, CANDIDATE_FILE),
    "rank": (RANKING_FILE,),
    "affinity": (AFFINITY_FILE, CANDIDATE_LOSSES_FILE),
    "taxonomy": (SOLUTION_FILE,),
    "assess": (EVALUATION_FILE,),
    "bootstrap": (SUPPORT_FILE,),
    "report": (REPORT_DIR,),
}

# --- published outputs (at the top of the work directory) --------------------------------
#: AHP affinities in the release convention ``{"src1__src2__target": p}``.
AFFINITIES_OUTPUT = "affinities.json"
#: Each candidate's raw mean win rate before AHP, same keys.
RAW_AFFINITIES_OUTPUT = "raw_affinities.json"
#: ``{"solutions": [...]}``, one per (budget, order).
TAXONOMY_OUTPUT = "taxonomy.json"
#: ``{"taxonomies": [...]}``: gain and quality per taxonomy and target.
EVALUATION_OUTPUT = "evaluation.json"
#: ``{"resamples", "edges": [...], "clusters": [...]}``: the bootstrap support.
SUPPORT_OUTPUT = "support.json"
#: Every candidate's per-image test losses, ``{"src1__src2__target": losses}`` (npz), so
#: that ``taskonomy solve --losses`` can redo the bootstrap from a run's outputs.
TEST_LOSSES_OUTPUT = "test_losses.npz"
#: The report folder.
REPORT_OUTPUT = REPORT_DIR
#: The run's records, written by the executor: the validated spec, the plan, what ran.
SPEC_FILE = "spec.json"
PLAN_FILE = "plan.json"
RUN_FILE = "run.json"

PUBLISHED_OUTPUTS = (
    AFFINITIES_OUTPUT,
    RAW_AFFINITIES_OUTPUT,
    TAXONOMY_OUTPUT,
    EVALUATION_OUTPUT,
    SUPPORT_OUTPUT,
    TEST_LOSSES_OUTPUT,
    REPORT_OUTPUT,
)
