"""The sbatch scripts of a literal plan: a golden file, submitit's own writer, hostile paths.

Set ``TASKONOMY_UPDATE_GOLDEN=1`` to rewrite the golden file after an intended change.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from taskonomy.errors import ExecutionError, SpecError
from taskonomy.executor.slurm.header import (
    ArraySubmission,
    extra_flags,
    sbatch_headers,
    stage_arrays,
    stage_submissions,
)
from taskonomy.executor.slurm.partitions import parse_partition_limits, parse_slurm_minutes
from taskonomy.kinds import JobKind
from taskonomy.planner.jobs import Job, Plan, Resources
from taskonomy.spec.executor import ExecutorSpec

GOLDEN = Path(__file__).parent / "golden" / "literal_plan.sh"
#: A work directory with everything a shell could trip over, save '%' and '\'.
HOSTILE = Path('/scratch/O\'Brien "runs" $HOME `whoami` ;&|<>*?[x]{a,b} #tab\there/work dir')


def job(job_id: str, kind: JobKind, stage: str, res: Resources, est: float = 60.0) -> Job:
    return Job(
        id=job_id,
        kind=kind,
        params={},
        deps=(),
        hash=f"hash-{job_id}",
        stage=stage,
        order=None,
        target=None,
        resources=res,
        est_seconds=est,
    )


def literal_plan() -> Plan:
    enc = Resources(gpus=1, cpus=8, mem_gb=32, time_min=120)
    tr = Resources(gpus=1, cpus=4, mem_gb=7.5, time_min=30, partition="gpu-short", jobs_per_task=2)
    tax = Resources(gpus=0, cpus=2, mem_gb=4, time_min=30)
    jobs = [
        job("encoder/a", JobKind.ENCODER, "encoder", enc),
        job("encoder/b", JobKind.ENCODER, "encoder", enc, est=9000.0),
        *(job(f"transfer/1/{s}->t", JobKind.TRANSFER, "transfer (order 1)", tr) for s in "abcde"),
        job("taxonomy/1", JobKind.TAXONOMY, "taxonomy", tax),
    ]
    return Plan(name="lit", jobs={j.id: j for j in jobs}, hash="h", transfer_slots={})


EXECUTOR = ExecutorSpec(
    kind="slurm",
    slurm_account="vision-lab",
    slurm_qos="high",
    slurm_array_parallelism=2,
    slurm_extra_flags=["--constraint=a100", "--exclusive"],
)


def submissions(workdir: Path = HOSTILE, max_array_size: int = 1001) -> list[ArraySubmission]:
    plan = literal_plan()
    return [
        sub
        for stage, jobs in stage_arrays(plan).items()
        for sub in stage_submissions(
            plan.name, stage, jobs, EXECUTOR, workdir / "logs" / "slurm", max_array_size
        )
    ]


def test_scripts_match_the_golden_file() -> None:
    text = "".join(f"### {s.name}\n{s.script(python='python3')}" for s in submissions())
    if os.environ.get("TASKONOMY_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_scripts_are_what_submitit_writes() -> None:
    from submitit.slurm.slurm import _make_sbatch_string

    for sub in submissions():
        for parallelism in (sub.parallelism, None):
            sub = attrs.evolve(sub, parallelism=parallelism)
            folder = str(sub.folder)
            expected = _make_sbatch_string(
                command=f"python3 -u -m submitit.core._submit {shlex.quote(folder)}",
                folder=sub.folder,
                map_count=sub.tasks if sub.tasks > 1 else None,
                **sub.submitit_parameters(),
            )
            assert sub.script(python="python3") == expected, sub.name


def test_the_command_line_survives_a_hostile_work_directory(tmp_path: Path) -> None:
    """Run the script's command with a stub srun that records the arguments it gets."""
    sub = submissions()[1]  # the transfer array
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv"
    srun = bin_dir / "srun"
    srun.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {shlex.quote(str(record))}\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": "/home/x"}
    script = tmp_path / "job.sh"
    script.write_text(sub.script(python="python3"))
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=30)
    folder = str(HOSTILE / "logs" / "slurm" / "transfer-o1")
    assert record.read_text().split("\0")[:-1] == [
        "--unbuffered",
        "--output",
        f"{folder}/%A_%a_%t_log.out",
        "--error",
        f"{folder}/%A_%a_%t_log.err",
        "python3",
        "-u",
        "-m",
        "submitit.core._submit",
        folder,
    ]


def test_sbatch_lines_tokenize_back_to_the_exact_paths() -> None:
    # sbatch reads #SBATCH arguments with shell-like quoting (its own parser; the real
    # one is exercised by the slurm-marked tests with a hostile folder).
    sub = submissions()[0]
    options = dict(
        shlex.split(line.removeprefix("#SBATCH "))[0].removeprefix("--").partition("=")[::2]
        for line in sub.header()
    )
    folder = str(HOSTILE / "logs" / "slurm" / "encoder")
    assert options["output"] == f"{folder}/%A_%a_0_log.out"
    assert options["error"] == f"{folder}/%A_%a_0_log.err"
    assert options["account"] == "vision-lab"


@pytest.mark.parametrize("bad", ["100%", "back\\slash", "new\nline"])
def test_paths_sbatch_cannot_take_are_refused(bad: str) -> None:
    with pytest.raises(ExecutionError, match=r"the SLURM log directory .* contains .*choose a"):
        submissions(Path(f"/scratch/{bad}/w"))


def test_headers_split_arrays_larger_than_max_array_size() -> None:
    headers, _ = sbatch_headers(literal_plan(), EXECUTOR, Path("/w"), max_array_size=2)
    assert list(headers) == [
        "encoder",
        "transfer (order 1) [part 1/2]",
        "transfer (order 1) [part 2/2]",
        "taxonomy",
    ]
    assert "#SBATCH --array=0-1%2" in headers["transfer (order 1) [part 1/2]"]
    # one task left over: a plain job, as submitit submits a one-element map_array
    assert not [h for h in headers["transfer (order 1) [part 2/2]"] if "--array" in h]
    assert (
        "#SBATCH --job-name=taskonomy-lit-transfer-o1-2" in headers["transfer (order 1) [part 2/2]"]
    )
    subs = submissions(max_array_size=2)
    assert [(s.offset, s.tasks) for s in subs if s.stage.startswith("transfer")] == [(0, 2), (2, 1)]


def test_headers_warn_about_jobs_longer_than_their_time_limit() -> None:
    headers, warnings = sbatch_headers(literal_plan(), EXECUTOR, Path("/w"))
    assert warnings == [
        "1 encoder job(s) are estimated to exceed their time limit of 120 min (e.g. "
        "encoder/b: ~150 min); raise executor.resources.encoder.time_min"
    ]
    assert headers["taxonomy"][:2] == [
        "#SBATCH --account=vision-lab",
        "#SBATCH --constraint=a100",
    ]
    assert "#SBATCH --time=02:00:00" in headers["encoder"]  # capped at time_min


def stage_plan(n: int, est: float, res: Resources, kind: JobKind = JobKind.EVALUATE) -> Plan:
    jobs = [job(f"{kind}/{i}", kind, str(kind), res, est=est) for i in range(n)]
    return Plan(name="p", jobs={j.id: j for j in jobs}, hash="h", transfer_slots={})


def time_of(header: list[str]) -> str:
    return next(h for h in header if h.startswith("#SBATCH --time=")).split("=", 1)[1]


def test_packed_tasks_ask_for_the_estimate_not_time_min_times_the_pack() -> None:
    """The paper spec's evaluate array: 25 jobs of ~24 s each per task, time_min 120."""
    res = Resources(gpus=1, cpus=4, mem_gb=16, time_min=120)
    plan = stage_plan(1175, 24.0, res)
    sub = stage_submissions("p", "evaluate", list(plan), EXECUTOR, Path("/w"))[0]
    assert sub.jobs_per_task == 25
    # 25 x 24 s = 10 min of work: 3x margin + 5 min start-up = 35 min (was 2-02:00:00).
    assert sub.time_min == 35 and time_of(sub.header()) == "00:35:00"
    tiny = stage_plan(3, 1.0, res)
    assert stage_submissions("p", "e", list(tiny), EXECUTOR, Path("/w"))[0].time_min == 15


def test_requests_never_exceed_the_partitions_limit() -> None:
    res = Resources(gpus=1, cpus=4, mem_gb=16, time_min=24 * 60, partition="short")
    plan = stage_plan(4, 3600.0, res, JobKind.ENCODER)
    limits = parse_partition_limits("gpu* 2-00:00:00\nshort 2:00:00\ndebug infinite\n")
    assert limits == {"gpu": 2880, None: 2880, "short": 120}
    sub = stage_submissions("p", "encoder", list(plan), EXECUTOR, Path("/w"), 1001, limits)[0]
    assert sub.time_min == 120
    headers, warnings = sbatch_headers(plan, EXECUTOR, Path("/w"), partition_limits=limits)
    assert time_of(headers["encoder"]) == "02:00:00"
    assert warnings == []
    # Without the partition's limit, the request is the cost model's: 3 x 60 + 5 min.
    sub = stage_submissions("p", "encoder", list(plan), EXECUTOR, Path("/w"))[0]
    assert sub.time_min == 185
    limits = parse_partition_limits("short 30:00\n")
    _, warnings = sbatch_headers(plan, EXECUTOR, Path("/w"), partition_limits=limits)
    assert warnings == [
        "4 encoder job(s) are estimated to exceed their time limit of 30 min (the "
        "partition's limit) (e.g. encoder/0: ~60 min); choose a partition with a longer "
        "limit (executor.resources.encoder.slurm_partition)"
    ]


def test_a_pack_that_cannot_fit_is_reduced_with_a_warning() -> None:
    res = Resources(gpus=1, cpus=4, mem_gb=16, time_min=60, jobs_per_task=10)
    plan = stage_plan(20, 300.0, res, JobKind.TRANSFER)
    sub = stage_submissions("p", "transfer", list(plan), EXECUTOR, Path("/w"))[0]
    # 10 x 5 min x 3 + 5 = 155 min > 60; 3 x 5 min x 3 + 5 = 50 min fits.
    assert sub.jobs_per_task == 3 and sub.tasks == 7 and sub.time_min == 50
    _, warnings = sbatch_headers(plan, EXECUTOR, Path("/w"))
    assert warnings == [
        "transfer: 10 jobs per task would need ~155 min, more than the limit of 60 min; "
        "packing 3 per task instead (set executor.resources.transfer.slurm_jobs_per_task=3, "
        "or raise executor.resources.transfer.time_min)"
    ]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("2-00:00:00", 2880),
        ("12:00:00", 720),
        ("30:00", 30),
        ("45", 45),
        ("1-12", 2160),
        ("infinite", None),
        ("UNLIMITED", None),
        ("n/a", None),
    ],
)
def test_slurm_time_limits_parse(text: str, minutes: int | None) -> None:
    assert parse_slurm_minutes(text) == minutes


def test_extra_flags() -> None:
    assert extra_flags(["--constraint=a100&v100", "--exclusive", "--comment=a=b"]) == (
        ("constraint", "a100&v100"),
        ("exclusive", True),
        ("comment", "a=b"),
    )
    with pytest.raises(
        SpecError, match=r"executor\.slurm_extra_flags\[1\]: '-C a100' is not a long sbatch"
    ):
        extra_flags(["--exclusive", "-C a100"])
    with pytest.raises(
        SpecError, match=r"'--time=10' is set by taskonomy \(set executor\.resources\.<kind>"
    ):
        extra_flags(["--time=10"])


def test_headers_need_no_submitit() -> None:
    code = (
        "import sys; from pathlib import Path; from taskonomy.executor.slurm import *; "
        "from taskonomy.spec.executor import ExecutorSpec; "
        "from taskonomy.executor.slurm.header import ArraySubmission; "
        "s = ArraySubmission('n', 's', 3, 0, 1, None, 1, 0, 1.0, 5, None, None, None, (), "
        "Path('/w')); assert s.header(); assert 'submitit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
