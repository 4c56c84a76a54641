"""Transfer-stage benchmark: cached features + multi-head vs naive, same transfers.

Trains the same first-order transfers of ``examples/mini.yaml`` (default 12, on the
bundled generated data) three ways, side by side in one run, and prints transfers per
hour and the ratios:

* ``cached + multi-head``: each needed source's representation is computed once (its
  ``features`` job, counted in the time), then every head trains in one process on
  the fp16 caches (``run_transfers``).
* ``naive, process per job``: ``transfers.cache_features=false``; each transfer is its
  own job in a fresh Python process (as a SLURM array task runs it), which loads its
  encoder from disk and re-encodes every training batch.
* ``naive, in-process``: the same naive jobs one after another in this process, so the
  start-up cost of a job process is left out (the compute-only ratio).

Encoders are trained for a few steps only (their weights do not change the cost).

    python benchmarks/transfers.py [--device auto|cpu|cuda] [--transfers 12]
        [--steps 80] [--precision fp32|bf16|fp16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from taskonomy.executor.context import JobContext
from taskonomy.executor.store import ArtifactStore
from taskonomy.planner.build import build_plan
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec, load_spec
from taskonomy.spec.models import JobKind
from taskonomy.spec.rules import resolve_tasks

MINI = Path(__file__).resolve().parents[1] / "examples" / "mini.yaml"
GOAL_CPU, GOAL_GPU = 5.0, 20.0


def make_spec(cached: bool, steps: int, precision: str, device: str) -> Spec:
    overrides = [
        "training.encoder.steps=3",
        f"training.transfer.steps={steps}",
        f"training.transfer.precision={precision}",
        f"transfers.cache_features={str(cached).lower()}",
        "transfers.max_order=1",
        "taxonomy.orders=[1]",
        f"executor.device={device}",
    ]
    return load_spec(MINI, overrides).spec


def context(spec: Spec, plan: Plan, store: ArtifactStore, job_id: str, device: str) -> JobContext:
    job = plan.jobs[job_id]
    return JobContext(
        job=job,
        plan=plan,
        spec=spec,
        workdir=store.workdir,
        store=store,
        out=store.begin(job),
        scratch=store.workdir / "scratch" / job.hash,
        device=device,
    )


def run_one(spec: Spec, plan: Plan, store: ArtifactStore, job_id: str, device: str) -> None:
    """Run one job unless its artifact is complete (shared by both plans)."""
    from taskonomy.jobs import training

    job = plan.jobs[job_id]
    if store.state(job).value == "done":
        return
    ctx = context(spec, plan, store, job_id, device)
    if job.kind is JobKind.DATASET:
        from taskonomy.data import prepare_dataset

        infos = [t.info for t in resolve_tasks(spec) if t.info.trainable]
        meta = prepare_dataset(dict(job.params), infos, ctx.out)
    elif job.kind is JobKind.ENCODER:
        meta = dict(training.run_encoder(ctx))
    elif job.kind is JobKind.FEATURES:
        meta = dict(training.run_features(ctx))
    else:
        meta = dict(training.run_transfer(ctx))
    store.commit(job, ctx.out, meta)


def naive_job(workdir: Path, job_id: str, steps: int, precision: str, device: str) -> None:
    """Entry point of one naive job process."""
    spec = make_spec(False, steps, precision, device)
    run_one(spec, build_plan(spec), ArtifactStore(workdir), job_id, device)


def bench(args: argparse.Namespace, workdir: Path) -> None:
    from taskonomy.jobs import training
    from taskonomy.models.device import resolve_device

    device = str(resolve_device(args.device))
    cached = make_spec(True, args.steps, args.precision, args.device)
    naive = make_spec(False, args.steps, args.precision, args.device)
    cplan, nplan = build_plan(cached), build_plan(naive)
    store = ArtifactStore(workdir)
    jobs = [j.id for j in cplan.of_kind(JobKind.TRANSFER)]
    # Spread over targets: take every k-th first-order transfer.
    picked = jobs[:: max(1, len(jobs) // args.transfers)][: args.transfers]
    sources = sorted({s for j in picked for s in cplan.jobs[j].params["sources"]})
    print(
        f"{len(picked)} transfers from {len(sources)} sources, {args.steps} steps each, "
        f"batch {cached.training.transfer.batch_size}, {cached.dataset.image_size} px, "
        f"device {device}, precision {args.precision}"
    )

    began = time.perf_counter()
    run_one(cached, cplan, store, "dataset", args.device)
    for s in sources:
        run_one(cached, cplan, store, f"encoder/{s}", args.device)
    print(f"setup (dataset + {len(sources)} short encoders): {time.perf_counter() - began:.1f}s")

    rows: list[tuple[str, float]] = []
    began = time.perf_counter()
    for s in sources:
        run_one(cached, cplan, store, f"features/{s}", args.device)
    ctxs = [context(cached, cplan, store, j, args.device) for j in picked]
    for ctx, meta in zip(ctxs, training.run_transfers(ctxs), strict=True):
        store.commit(ctx.job, ctx.out, meta)
    rows.append(("cached + multi-head (1 process)", time.perf_counter() - began))

    began = time.perf_counter()
    for j in picked:
        cmd = [
            sys.executable,
            __file__,
            "--naive-job",
            j,
            "--workdir",
            str(workdir),
            "--steps",
            str(args.steps),
            "--precision",
            args.precision,
            "--device",
            args.device,
        ]
        subprocess.run(cmd, check=True)
    rows.append(("naive, one process per job", time.perf_counter() - began))

    began = time.perf_counter()
    for j in picked:
        ctx = context(naive, nplan, store, j, args.device)
        training.run_transfer(ctx)
        store.discard(ctx.out)
    rows.append(("naive, in-process", time.perf_counter() - began))

    print(f"\n{'mode':34} {'seconds':>9} {'transfers/hour':>15}")
    for label, seconds in rows:
        print(f"{label:34} {seconds:9.2f} {3600 * len(picked) / seconds:15.0f}")
    base = rows[0][1]
    goal = GOAL_GPU if device.startswith("cuda") else GOAL_CPU
    for label, seconds in rows[1:]:
        print(f"speed-up of cached + multi-head over {label}: {seconds / base:.1f}x")
    print(
        f"(goal on {'GPU' if goal == GOAL_GPU else 'CPU'}: >= {goal:.0f}x over the naive "
        "job-per-transfer run)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--transfers", type=int, default=12)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--naive-job", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.naive_job:
        naive_job(args.workdir, args.naive_job, args.steps, args.precision, args.device)
        return
    if args.workdir is not None:
        bench(args, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="taskonomy-bench-") as tmp:
        bench(args, Path(tmp))


if __name__ == "__main__":
    main()
