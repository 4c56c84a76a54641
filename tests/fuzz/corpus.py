"""A seeded generator of malformed specs and overrides: mutations of the bundled examples.

Every case is invalid by construction (a value outside its field's range or type, a
string a script could not take, a YAML bomb, a special file, a plan too large, ...),
so ``taskonomy validate`` and ``taskonomy plan`` must both refuse it with exit code 2
and a message naming the file and, where there is one, the field. :func:`flips` makes
random byte flips as well, which may or may not stay valid; they must only end cleanly.
"""

from __future__ import annotations

import copy
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASES = {
    "mini": (EXAMPLES / "mini.yaml").read_text(encoding="utf-8"),
    "paper": (EXAMPLES / "taskonomy26.yaml").read_text(encoding="utf-8"),
}
PLACEHOLDER = "FUZZVALUE"


@dataclass(frozen=True)
class Case:
    """One malformed input.

    Attributes:
        ident: what the case is, for failure messages (``class/mode/field/value``).
        text: the spec file's content (str or bytes); None when ``special`` says what
            the spec path is.
        overrides: command-line overrides after the spec.
        expect: substrings the error must contain besides the file name (the field).
        special: a special spec path to make: dir, fifo, socket, symlink loop, ...
        plan_args: extra arguments for ``plan`` only (``--workdir``); validate skips
            a case whose malformation is only there.
        heavy: a case that tries to use time or memory (checked under tracemalloc).
    """

    ident: str
    text: str | bytes | None
    overrides: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    special: str | None = None
    plan_args: tuple[str, ...] = ()
    heavy: bool = False


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    return yaml


def with_value(base: str, dotted: str, token: str) -> str:
    """``base`` YAML with the value at ``dotted`` replaced by the raw YAML ``token``."""
    yaml = _yaml()
    root = YAML(typ="safe", pure=True).load(BASES[base])  # comments would move about
    node: Any = root
    keys: list[str | int] = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            assert isinstance(key, int)
            while len(node) <= key:
                node.append(PLACEHOLDER)
            if last:
                node[key] = PLACEHOLDER
            else:
                if isinstance(node[key], str):
                    node[key] = {"name": node[key]}
                node = node[key]
        else:
            if last:
                node[key] = PLACEHOLDER
            else:
                child = node.get(key)
                if not isinstance(child, (dict, list)):
                    node[key] = (
                        [] if isinstance(keys[i + 1], int) and key != "beam_per_order" else {}
                    )
                node = node[key]
    out = io.StringIO()
    yaml.dump(root, out)
    text = out.getvalue()
    assert text.count(PLACEHOLDER) == 1, dotted
    return text.replace(PLACEHOLDER, token)


# Fields that take numbers, with each one's path as an override writes it.
NUMERIC = [
    "seed",
    "max_jobs",
    "dataset.image_size",
    "dataset.seed",
    "dataset.splits.encoder_train",
    "dataset.splits.transfer_train",
    "dataset.splits.test",
    "model.encoder.width",
    "model.encoder.blocks.0",
    "model.representation.channels",
    "model.representation.size",
    "model.readout.hidden",
    "training.encoder.steps",
    "training.encoder.batch_size",
    "training.encoder.lr",
    "training.transfer.weight_decay",
    "training.transfer.epochs",
    "training.scratch.seed",
    "training.scratch.batch_size",
    "tasks.0.label_cost",
    "tasks.1.importance",
    "transfers.max_order",
    "transfers.beam",
    "transfers.beam_per_order.4",
    "taxonomy.budgets.0",
    "taxonomy.orders.0",
    "taxonomy.bootstrap",
    "taxonomy.solver_options.time_limit_s",
    "taxonomy.solver_options.threads",
    "executor.threads",
    "executor.workers",
    "executor.resources.encoder.gpus",
    "executor.resources.encoder.cpus",
    "executor.resources.transfer.mem_gb",
    "executor.resources.transfer.time_min",
    "executor.resources.evaluate.slurm_jobs_per_task",
    "executor.slurm_array_parallelism",
    "executor.slurm_jobs_per_task",
    "executor.slurm_max_retries",
    "executor.slurm_oom_mem_factor",
    "executor.slurm_max_mem_gb",
]
# Raw YAML tokens no numeric field accepts.
BAD_NUMBERS = [
    ".inf",
    "-.inf",
    ".nan",
    "-1",
    "1e300",
    "-1e300",
    "true",
    "false",
    "'12'",
    "[1]",
    "{a: 1}",
    "9" * 400,
    "-" + "9" * 400,
    "7" * 5000,
]

# Fields that take strings, and values none of them accepts (YAML double-quoted escapes).
STRINGS = [
    "name",
    "workdir",
    "tasks.0.kind",
    "dataset.root",
    "dataset.buildings.test.0",
    "executor.slurm_partition",
    "executor.slurm_account",
    "executor.slurm_qos",
    "executor.resources.encoder.slurm_partition",
    "executor.slurm_extra_flags.0",
]
BAD_STRINGS = [
    '"gpu\\n#SBATCH --qos=high"',
    '"gpu\\r--x"',
    '"a\\tb"',
    '"a\\0b"',
    '"\\e[2J"',
    '"a\\u2028b"',
    '"a\\u200bb"',
    "x" * 10_000,
]

# Sections and settings given a value of the wrong type.
SHAPES = {
    "name": ["1", "true", "[1]", "{zz: 1}"],
    "tasks": ["1", "true", "x", "{zz: 1}", "[]", "[rgb2depth]"],
    "dataset": ["1", "true", "x", "[1]", "{zz: 1}"],
    "dataset.splits": ["1", "x", "[1]", "{zz: 1}"],
    "dataset.buildings": ["1", "x", "[1]"],
    "model": ["1", "x", "[1]", "{zz: 1}"],
    "model.encoder": ["1", "x", "[1]", "{zz: 1}"],
    "model.encoder.blocks": ["1", "x", "[]", "{zz: 1}"],
    "model.representation": ["1", "x", "[1]"],
    "model.readout": ["1", "x", "[1]"],
    "training": ["1", "x", "[1]", "{zz: 1}"],
    "training.encoder": ["1", "x", "[1]", "{zz: 1}"],
    "transfers": ["1", "x", "[1]", "{zz: 1}"],
    "transfers.baselines": ["1", "x", "[1]", "{zz: 1}"],
    "transfers.beam_per_order": ["1", "x", "[1]", "{x: 1}"],
    "transfers.include_own_encoder": ["2", "maybe", "[true]", "1.5"],
    "transfers.cache_features": ["2", "maybe", "[true]", "1.5"],
    "transfers.baselines.self": ["2", "maybe", "[true]", "-1"],
    "taxonomy": ["1", "x", "[1]", "{zz: 1}"],
    "taxonomy.solver_options": ["1", "x", "[1]", "{zz: 1}"],
    "executor": ["1", "x", "[1]", "{zz: 1}"],
    "executor.resources": ["1", "x", "[1]", "{nope: {gpus: 1}}"],
    "executor.resources.encoder": ["1", "x", "[1]", "{zz: 1}"],
    "executor.slurm_extra_flags": ["1", "x", "{zz: 1}", "[--ok, 'no dashes']"],
    "taxonomy.budgets": [
        "[]",
        "''",
        "'1-6:0.0000001'",
        "'1-100000000'",
        "'6-1'",
        "a-b",
        "'1-6:0'",
        "'-1'",
        "0",
        "','",
        "true",
        "'1.00000001,1.00000002'",
        "[1, 1.0000001]",
        "'1-1000001'",
        "'" + "1" * 5000 + "'",
    ],
    "taxonomy.orders": ["[]", "[0]", "[9]", "[5]", "'1-2'", "[true]", "x"],
}

CHOICES = {
    "executor.kind": ["nope", "SLURM", "3"],
    "executor.device": ["gpu", "''", "[cuda]"],
    "taxonomy.solver": ["cplex", "''", "1"],
    "training.encoder.precision": ["fp64", "''", "32"],
    "model.encoder.family": ["vit", "''", "1"],
    "dataset.kind": ["imagenet", "''", "1"],
    "tasks.0.role": ["teacher", "''", "1"],
    "tasks.1.kind": ["rgb2dpeth", "''", "'no.such.module:THING'", "'x:y:z'", "'a\tb'"],
}

TASK_NAMES = [
    "_depth",
    "depth_",
    "a__b",
    "Depth",
    "1depth",
    "self",
    "pixels",
    "d" * 65,
    "'dé'",
    "a-b",
    "'a b'",
    "''",
    "rgb2mist",  # a duplicate of another task
]

UNKNOWN_KEYS = [
    "zzz",
    "dataset.zzz",
    "dataset.splits.train",
    "model.zzz",
    "model.encoder.depth",
    "training.zzz",
    "training.encoder.optimizer",
    "transfers.max_ordr",
    "transfers.baselines.pixels",
    "taxonomy.budget",
    "taxonomy.solver_options.gap",
    "executor.slurm_partitions",
    "executor.resources.encoder.gpu",
    "tasks.0.cost",
]


def _mode(i: int) -> str:
    return "file" if i % 2 == 0 else "override"


def _base(i: int) -> str:
    return "paper" if i % 3 == 0 else "mini"


def field_cases() -> Iterator[Case]:
    """A bad value at a named field, written in the file or as an override."""
    groups: list[tuple[str, str, list[str]]] = []
    groups += [("number", f, BAD_NUMBERS) for f in NUMERIC]
    groups += [("string", f, BAD_STRINGS) for f in STRINGS]
    groups += [("shape", f, v) for f, v in SHAPES.items()]
    groups += [("choice", f, v) for f, v in CHOICES.items()]
    groups += [("task_name", "tasks.0.name", TASK_NAMES)]
    i = 0
    for cls, dotted, tokens in groups:
        for token in tokens:
            for mode in ("file", "override") if cls != "number" else (_mode(i),):
                base = _base(i)
                i += 1
                ident = f"{cls}/{mode}/{base}/{dotted}/{token[:30]}"
                heavy = "0.0000001" in token or "100000000" in token
                heavy = heavy or (len(token) > 1000 and i % 8 == 0)
                expect = (_expected_field(dotted),)
                if mode == "file":
                    yield Case(ident, with_value(base, dotted, token), (), expect, heavy=heavy)
                else:
                    text = BASES[base]
                    yield Case(ident, text, (f"{dotted}={token}",), expect, heavy=heavy)
    for j, dotted in enumerate(UNKNOWN_KEYS):
        base = _base(j)
        key = dotted.rsplit(".", 1)[-1]
        yield Case(f"unknown/file/{dotted}", with_value(base, dotted, "1"), (), (key,))
        yield Case(f"unknown/override/{dotted}", BASES[base], (f"{dotted}=1",), (key,))


def _expected_field(dotted: str) -> str:
    if dotted == "tasks.0.name":
        return "tasks."  # a duplicate is reported at the second occurrence
    return dotted.rsplit(".", 1)[0] if dotted.endswith((".0", ".4")) else dotted


def bomb(levels: int, fanout: int) -> str:
    lines = ["name: bomb", "tasks: [rgb2depth, rgb2mist]", "x0: &x0 [lol]"]
    for k in range(1, levels + 1):
        refs = ", ".join([f"*x{k - 1}"] * fanout)
        lines.append(f"x{k}: &x{k} [{refs}]")
    lines.append(f"dataset: {{buildings: {{test: *x{levels}}}}}")
    return "\n".join(lines) + "\n"


def yaml_cases() -> Iterator[Case]:
    """Malformed YAML and documents that try to use time or memory."""
    for levels in range(4, 14):
        for fanout in (5, 10):
            yield Case(f"yaml/bomb/{levels}x{fanout}", bomb(levels, fanout), heavy=True)
    levels = ["&l0 [" + ", ".join(["lol"] * 10) + "]"]
    for k in range(1, 10):
        levels.append(f"&l{k} [" + ", ".join([f"*l{k - 1}"] * 10) + "]")
    yield Case(
        "override/bomb", BASES["mini"], (f"tasks=[{', '.join(levels)}]",), ("override",), heavy=True
    )
    for n in (40, 500, 5000, 30_000):
        yield Case(f"yaml/deep-seq/{n}", "name: d\ntasks: " + "[" * n + "]" * n + "\n", heavy=True)
        yield Case(
            f"yaml/deep-map/{n}",
            "name: d\ntasks: " + "{a: " * n + "1" + "}" * n + "\n",
            heavy=True,
        )
        yield Case(
            f"override/deep/{n}",
            BASES["mini"],
            ("transfers.beam=" + "[" * n + "]" * n,),
            ("override",),
            heavy=True,
        )
    block = "name: d\ntasks: [rgb2depth, rgb2mist]\nx:\n" + "".join(
        "  " * (k + 1) + f"k{k}:\n" for k in range(200)
    )
    yield Case("yaml/deep-block", block + "  " * 201 + "v: 1\n")
    yield Case("yaml/self-alias-seq", "name: d\ntasks: &a [rgb2depth, *a]\n")
    yield Case("yaml/self-alias-map", "name: d\ntasks: [rgb2depth, rgb2mist]\nx: &a {b: *a}\n")
    syntax = {
        "dup-top": "name: a\nname: b\ntasks: [rgb2depth, rgb2mist]\n",
        "dup-nested": BASES["mini"] + "extra:\n  a: 1\n  a: 2\n",
        "dup-flow": "name: a\ntasks: [rgb2depth, rgb2mist]\ntransfers: {beam: 1, beam: 2}\n",
        "dup-task-map": "name: a\ntasks:\n  - {name: rgb2depth, name: x}\n  - rgb2mist\n",
        "unclosed-quote": "name: 'abc\ntasks: [rgb2depth]\n",
        "unclosed-flow": "name: a\ntasks: [rgb2depth, rgb2mist\n",
        "tab-indent": "name: a\ntasks:\n\t- rgb2depth\n",
        "colon-soup": "name: : :\n",
        "bad-indent": "name: a\n  tasks: [x]\n",
        "undefined-alias": "name: *nope\ntasks: [rgb2depth, rgb2mist]\n",
        "bad-merge": "name: a\n<<: *nope\n",
        "merge-scalar": "name: a\ntasks: [rgb2depth, rgb2mist]\ndataset:\n  <<: 1\n",
        "directive": "%YAML 9.9\n---\nname: a\n",
        "python-tag": "name: !!python/object/apply:os.system ['true']\ntasks: [a, b]\n",
        "python-name": "name: !!python/name:os.system\ntasks: [a, b]\n",
        "binary-tag": "name: !!binary aGVsbG8=\ntasks: [rgb2depth, rgb2mist]\n",
        "custom-tag": "name: !foo bar\ntasks: [rgb2depth, rgb2mist]\n",
        "set-tag": "name: a\ntasks: !!set {rgb2depth, rgb2mist}\n",
        "omap-tag": "name: a\ntasks: !!omap [a: 1]\n",
        "timestamp-name": "name: 2020-01-01\ntasks: [rgb2depth, rgb2mist]\n",
        "complex-key": "? [a, b]\n: 1\nname: a\ntasks: [rgb2depth, rgb2mist]\n",
        "null-key": "~: 1\nname: a\ntasks: [rgb2depth, rgb2mist]\n",
        "int-key": "1: 1\nname: a\ntasks: [rgb2depth, rgb2mist]\n",
        "multi-doc": "name: a\n---\nname: b\n",
        "list-top": "- a\n- b\n",
        "scalar-top": "42\n",
        "string-top": "'just text'\n",
        "null-top": "~\n",
        "empty": "",
        "comments-only": "# nothing here\n",
        "no-tasks": "name: a\n",
        "no-name": "tasks: [rgb2depth, rgb2mist]\n",
        "long-line": "name: " + "n" * 60_000 + "\ntasks: [rgb2depth, rgb2mist]\n",
        "many-keys": "name: a\ntasks: [rgb2depth, rgb2mist]\n"
        + "".join(f"k{k}: {k}\n" for k in range(2000)),
        "too-many-items": "name: a\ntasks: [" + ", ".join(["rgb2depth"] * 5000) + "]\n",
        "huge-comments": BASES["mini"] + "#" * (70 * 1024) + "\n",
        "block-seq-deep": "name: d\ntasks:\n" + "- " * 3000 + "x\n",
        "unbalanced-brackets": "name: d\ntasks: " + "[" * 5000 + "\n",
        "quoted-brackets": "name: '" + "[" * 5000 + "'\ntasks: [rgb2depth, rgb2mist]\n",
    }
    for name, text in syntax.items():
        yield Case(f"yaml/{name}", text, heavy=name in ("long-line", "many-keys"))
    binary = {
        "invalid-utf8": BASES["mini"].encode() + b"\xff\xfe\n",
        "latin1": "name: caf\xe9\ntasks: [rgb2depth, rgb2mist]\n".encode("latin-1"),
        "utf16": BASES["mini"].encode("utf-16"),
        "nul-bytes": b"name: a\x00\ntasks: [rgb2depth, rgb2mist]\n",
        "elf": b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4,
        "random": random.Random(7).randbytes(4096),
        "random-no-nul": bytes(b or 1 for b in random.Random(8).randbytes(4096)),
        "big-1mb": b"# " + b"x" * (1 << 20) + b"\n",
        "big-20mb": b"a: 1\n" * (4 << 20),
    }
    for name, data in binary.items():
        yield Case(f"bytes/{name}", data, heavy=name.startswith("big"))


SPECIAL = [
    "dir",
    "fifo",
    "socket",
    "/dev/zero",
    "/dev/urandom",
    "/dev/null",
    "symlink-to-dev-zero",
    "dangling-symlink",
    "symlink-loop",
    "missing",
    "long-path",
]


def special_cases() -> Iterator[Case]:
    """Spec paths that are not regular files (the runner makes each one)."""
    for name in SPECIAL:
        yield Case(f"special/{name}", None, special=name, heavy=True)


def override_cases() -> Iterator[Case]:
    """Overrides that are malformed in themselves (the message names the override)."""
    bad = {
        "no-key": ("=1", "override"),
        "no-equals": ("transfers.max_order", "override"),
        "leading-dot": (".a=1", "override"),
        "trailing-dot": ("a.=1", "override"),
        "double-dot": ("a..b=1", "override"),
        "blank-key": (" =1", "override"),
        "index-out": ("tasks.99.role=source", "tasks.99"),
        "negative-index-out": ("tasks.-99.role=source", "tasks.-99"),
        "no-such-task": ("tasks.nope.role=source", "nope"),
        "value-not-section": ("name.x=1", "name"),
        "deep-value": ("seed.x.y=1", "seed"),
        "unclosed": ("transfers.max_order=[1, 2", "override"),
        "dup-keys": ("transfers={beam: 1, beam: 2}", "override"),
        "digits-5000": ("transfers.max_order=" + "7" * 5000, "transfers.max_order"),
        "digits-400": ("transfers.max_order=" + "7" * 400, "transfers.max_order"),
        "many-parts": ("a." * 40 + "b=1", "override"),
        "huge": ("name=" + "n" * 20_000, "override"),
        "python-tag": ("name=!!python/object/apply:os.system ['true']", "override"),
        "self-alias": ("transfers.beam=&a [*a]", "transfers.beam"),
        "task-name-underscore": ("tasks.0=_x", "tasks.0"),
        "task-name-double": ("tasks.rgb2depth.name=a__b", "tasks.4.name"),
        "task-name-trailing": ("tasks.rgb2mist.name=mist_", "tasks.5.name"),
        "budgets-empty-value": ("taxonomy.budgets=", "taxonomy.budgets"),
        "budgets-empty-list": ("taxonomy.budgets=[]", "taxonomy.budgets"),
        "orders-empty-list": ("taxonomy.orders=[]", "taxonomy.orders"),
        "beam-key-text": ("transfers.beam_per_order.x=1", "transfers.beam_per_order"),
        "header-injection": ("executor.slurm_partition='gpu\n#SBATCH --qos=x'", "override"),
        "workdir-nul": ('workdir="a\\0b"', "workdir"),
        "workdir-long": ("workdir=" + "w" * 10_000, "workdir"),
        "workdir-no-home": ("workdir=~nosuchuser_tx/x", "workdir (set by override"),
        "workdir-deep": ("workdir=" + "/".join(["d" * 200] * 30), "workdir"),
        "max-jobs-low": ("max_jobs=10", "max_jobs"),
        "max-jobs-zero": ("max_jobs=0", "max_jobs"),
    }
    for k, (name, (text, expect)) in enumerate(bad.items()):
        base = "mini" if k % 2 else "paper"
        if name.startswith("task-name"):
            base = "mini"
        yield Case(f"override/{name}", BASES[base], (text,), (expect,), heavy=len(text) > 1000)


def explosion_cases() -> Iterator[Case]:
    """Plans too large to build: refused with the count, before anything is built."""
    yield Case(
        "plan/beam26-order8",
        BASES["paper"],
        ("transfers.beam=26", "transfers.max_order=8"),
        ("transfers.max_order", "max_jobs", "GPU-hours"),
        heavy=True,
    )
    yield Case(
        "plan/order8",
        BASES["paper"],
        ("transfers.max_order=8", "transfers.beam=20"),
        ("transfers.max_order", "max_jobs"),
        heavy=True,
    )
    yield Case(
        "plan/budgets-1e5",
        BASES["paper"],
        ("taxonomy.budgets=1-100000",),
        ("taxonomy.budgets", "max_jobs"),
        heavy=True,
    )
    yield Case(
        "plan/beam-per-order",
        BASES["paper"],
        ("transfers.max_order=6", "transfers.beam_per_order={5: 26, 6: 26}"),
        ("transfers.max_order", "max_jobs"),
        heavy=True,
    )
    yield Case("plan/max-jobs", BASES["mini"], ("max_jobs=100",), ("max_jobs", "592 jobs"))
    yield Case(
        "plan/file-order8",
        with_value("paper", "transfers.max_order", "8"),
        ("transfers.beam=12",),
        ("transfers.max_order (line", "max_jobs"),
        heavy=True,
    )
    long_dir = "/tmp/" + "w" * 10_000
    yield Case(
        "plan/workdir-option-long", BASES["mini"], (), ("--workdir",), None, ("-w", long_dir)
    )
    yield Case(
        "plan/workdir-option-deep",
        BASES["mini"],
        (),
        ("--workdir",),
        None,
        ("-w", "/tmp/" + "/".join(["d" * 250] * 20)),
    )


def corpus() -> list[Case]:
    """Every malformed case, in a fixed order."""
    return [
        *field_cases(),
        *yaml_cases(),
        *special_cases(),
        *override_cases(),
        *explosion_cases(),
    ]


def flips(n: int, seed: int = 14) -> list[Case]:
    """``n`` copies of the examples with a few random bytes changed (maybe still valid)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = "mini" if i % 2 else "paper"
        data = bytearray(BASES[base].encode())
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(Case(f"flip/{base}/{i}", bytes(data)))
    return out


def deepcopy_base(base: str) -> Any:
    """The example ``base`` as plain data (for the Hypothesis test)."""
    return copy.deepcopy(YAML(typ="safe", pure=True).load(BASES[base]))
