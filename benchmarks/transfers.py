"""Transfer-stage benchmark: the mini spec's whole first-order stage, four ways, one run.

Every first-order transfer of ``examples/mini.yaml`` (every source -> every other
target, 90 on the bundled tasks) on the generated data, timed side by side:

* ``naive, in-process``: ``transfers.cache_features=false``; each head loads its encoder
  and re-encodes every training batch, one head after another in this process.
* ``cached, one head at a time``: each source's representation computed once (its
  ``features`` job, timed and counted), then the heads one after another on the fp16
  caches (``run_transfers(..., batched=False)``).
* ``cached, packed heads``: the same features, then the heads trained as packed heads
  (``run_transfers``, the default the executor calls): one model per pack, one optimiser
  step for all of its heads. The final losses are compared with the previous line's
  (packing must not change results).
* ``naive, one process per job``: naive jobs each in a fresh Python process, as SLURM
  array tasks run them, to show what process start-up costs. This line runs a subset
  (``--process-jobs``) and extrapolates to the whole stage.

Ratios are against ``naive, in-process``; seconds per step are per head and step.
``GFLOP/s`` is the heads' own work (the convolutions and matrix products of one training
step of each plain readout, forward and backward, as ``torch.utils.flop_counter`` counts
them, times the steps) over each line's seconds, so every line is judged on the same
work; ``% peak`` sets it against a large matrix product timed on the same device in the
same run and precision. Encoders train for 3 steps only (their weights do not change the
cost).

    python benchmarks/transfers.py [--steps 40] [--device auto|cpu|cuda] [--threads N]
        [--precision fp32|bf16|fp16] [--process-jobs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskonomy.executor.context import JobContext
from taskonomy.executor.store import ArtifactStore
from taskonomy.kinds import JobKind
from taskonomy.planner.build import build_plan
from taskonomy.planner.jobs import Plan
from taskonomy.spec import Spec, load_spec
from taskonomy.spec.rules import resolve_tasks

MINI = Path(__file__).resolve().parents[1] / "examples" / "mini.yaml"
GOAL_CPU, GOAL_GPU = 5.0, 20.0


def make_spec(args: argparse.Namespace, cached: bool) -> Spec:
    overrides = [
        "training.encoder.steps=3",
        f"training.transfer.steps={args.steps}",
        f"training.transfer.precision={args.precision}",
        f"transfers.cache_features={str(cached).lower()}",
        "transfers.max_order=1",
        "taxonomy.orders=[1]",
        f"executor.device={args.device}",
    ]
    if args.threads:
        overrides.append(f"executor.threads={args.threads}")
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
    """Run one job unless its artifact is complete (the plans share their upstream)."""
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


def naive_job(args: argparse.Namespace) -> None:
    """Entry point of one naive job process (``--naive-job``)."""
    spec = make_spec(args, cached=False)
    run_one(spec, build_plan(spec), ArtifactStore(args.workdir), args.naive_job, args.device)


def heads(
    spec: Spec, plan: Plan, store: ArtifactStore, jobs: list[str], device: str, **kw: Any
) -> tuple[float, list[float]]:
    """Seconds to train ``jobs`` in one ``run_transfers`` call, and their final losses."""
    from taskonomy.jobs import training

    ctxs = [context(spec, plan, store, j, device) for j in jobs]
    began = time.perf_counter()
    metas = training.run_transfers(ctxs, **kw)
    seconds = time.perf_counter() - began
    for ctx in ctxs:
        store.discard(ctx.out)
    return seconds, [float(m["final_train_loss"]) for m in metas if m]


def step_flops(spec: Spec, plan: Plan, store: ArtifactStore, jobs: list[str], device: str) -> float:
    """FLOPs of one training step (forward + backward) of every head in ``jobs``, summed:
    counted once per architecture (target, number of inputs) on the plain readout."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from taskonomy.jobs._training_io import RepresentationCache, training_head
    from taskonomy.models.losses import training_loss

    cache = RepresentationCache(torch.device(device))
    per_arch: dict[tuple[str, int], int] = {}
    total = 0
    for job_id in jobs:
        ctx = context(spec, plan, store, job_id, device)
        head, _ = training_head(ctx, cache, stem=False)
        store.discard(ctx.out)
        model, task = head.model.to(cache.device).train(), head.model.task
        arch = (task.name, model.n_inputs)
        if arch not in per_arch:
            assert head.indices is not None
            idx = torch.from_numpy(head.indices[0]).to(cache.device)
            pick = [
                s[idx] if isinstance(s, torch.Tensor) else s(idx)
                for s in (head.inputs, head.labels)
            ]
            counter = FlopCounterMode(display=False)
            with counter:
                training_loss(model(pick[0].permute(0, 3, 1, 2).float()), pick[1], task).backward()
            per_arch[arch] = counter.get_total_flops()
        total += per_arch[arch]
    return float(total)


def matmul_peak(device: str, precision: str) -> float:
    """FLOP/s of a large square matrix product on ``device`` in ``precision`` (best of 5)."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    cuda = device.startswith("cuda")
    n = 8192 if cuda else 2048
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    best = float("inf")
    for _ in range(6):
        if cuda:
            torch.cuda.synchronize()
        began = time.perf_counter()
        for _ in range(4):
            a @ b
        if cuda:
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - began) / 4)
    return 2 * n**3 / best


def processes(args: argparse.Namespace, workdir: Path, jobs: list[str]) -> float:
    base = [sys.executable, __file__, "--workdir", str(workdir), "--steps", str(args.steps)]
    base += ["--precision", args.precision, "--device", args.device]
    if args.threads:
        base += ["--threads", str(args.threads)]
    began = time.perf_counter()
    for j in jobs:
        subprocess.run([*base, "--naive-job", j], check=True)
    return time.perf_counter() - began


def bench(args: argparse.Namespace, workdir: Path) -> None:
    from taskonomy.models.device import configure_threads, resolve_device

    device = str(resolve_device(args.device))
    threads = configure_threads(args.threads)
    cached, naive = make_spec(args, True), make_spec(args, False)
    cplan, nplan = build_plan(cached), build_plan(naive)
    store = ArtifactStore(workdir)
    jobs = [j.id for j in cplan.of_kind(JobKind.TRANSFER)]
    sources = sorted({s for j in jobs for s in cplan.jobs[j].params["sources"]})
    steps = len(jobs) * args.steps
    print(
        f"{len(jobs)} first-order transfers from {len(sources)} sources, {args.steps} steps "
        f"each, batch {cached.training.transfer.batch_size}, {cached.dataset.image_size} px, "
        f"device {device}, {threads} threads, precision {args.precision}"
    )
    began = time.perf_counter()
    run_one(cached, cplan, store, "dataset", args.device)
    for s in sources:
        run_one(cached, cplan, store, f"encoder/{s}", args.device)
    print(f"setup (dataset + {len(sources)} short encoders): {time.perf_counter() - began:.1f}s")

    rows: list[tuple[str, float, str]] = []
    naive_s, _ = heads(naive, nplan, store, jobs, args.device, batched=False)
    rows.append(("naive, in-process", naive_s, "re-encodes every batch"))
    began = time.perf_counter()
    for s in sources:
        run_one(cached, cplan, store, f"features/{s}", args.device)
    features = time.perf_counter() - began
    one_s, one_losses = heads(cached, cplan, store, jobs, args.device, batched=False)
    rows.append(("cached, one head at a time", features + one_s, f"features {features:.1f}s"))
    packed_s, packed_losses = heads(cached, cplan, store, jobs, args.device)
    rows.append(("cached, packed heads", features + packed_s, f"features {features:.1f}s"))
    subset = jobs[:: max(1, len(jobs) // max(1, args.process_jobs))][: args.process_jobs]
    if subset:
        per_job = processes(args, workdir, subset) / len(subset)
        note = f"{len(subset)} jobs, x{len(jobs) / len(subset):.0f}"
        rows.append(("naive, one process per job", per_job * len(jobs), note))

    work = step_flops(cached, cplan, store, jobs, device) * args.steps
    peak = matmul_peak(device, args.precision)
    print(
        f"heads' work: {work / 1e9:.0f} GFLOP ({work / steps / 1e6:.1f} MFLOP per head-step); "
        f"device peak (a {args.precision} matrix product, measured now): {peak / 1e9:.0f} GFLOP/s"
    )
    print(
        f"\n{'mode':28} {'seconds':>8} {'s/step':>8} {'transfers/h':>12} {'vs naive':>9}"
        f" {'GFLOP/s':>8} {'% peak':>7}  note"
    )
    for label, seconds, note in rows:
        rate = work / seconds
        print(
            f"{label:28} {seconds:8.1f} {seconds / steps:8.4f} {3600 * len(jobs) / seconds:12.0f}"
            f" {naive_s / seconds:8.2f}x {rate / 1e9:8.1f} {100 * rate / peak:6.1f}%"
            f"  {note}"
        )
    if subset:
        print(f"  (the process-per-job line ran {len(subset)} of {len(jobs)} jobs, extrapolated)")
    worst = max(
        abs(a - b) / max(abs(b), 1e-12) for a, b in zip(packed_losses, one_losses, strict=True)
    )
    print(f"packed vs one at a time: final train losses agree to {worst:.1e} (relative)")
    goal = GOAL_GPU if device.startswith("cuda") else GOAL_CPU
    ratio = naive_s / rows[2][1]
    print(
        f"cached + packed heads: {ratio:.1f}x naive in-process (goal on "
        f"{'GPU' if goal == GOAL_GPU else 'CPU'}: >= {goal:.0f}x); "
        f"{one_s / packed_s:.1f}x one head at a time, heads only"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=40, help="steps per transfer")
    parser.add_argument("--threads", type=int, default=None, help="default: allotted CPUs")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--process-jobs", type=int, default=3, help="0 skips that line")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--naive-job", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.naive_job:
        naive_job(args)
        return
    if args.workdir is not None:
        bench(args, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="taskonomy-bench-") as tmp:
        bench(args, Path(tmp))


if __name__ == "__main__":
    main()
