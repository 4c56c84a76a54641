"""Hostile input at the spec layer (issue 14): ranges, reading bounds, paths, names."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from taskonomy.budgets import MAX_BUDGETS, parse_budgets
from taskonomy.errors import SpecError
from taskonomy.spec import load_spec, parse_override
from taskonomy.spec.reading import MAX_DEPTH, MAX_SPEC_BYTES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MINI = EXAMPLES / "mini.yaml"
BASE = "name: t\ntasks: [rgb2depth, rgb2mist, reshade]\n"


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "dataset: {splits: {test: true}}",
            r"dataset\.splits\.test \(line 3\): expected a number, "
            r"got the boolean true",
        ),
        ("training: {encoder: {lr: .inf}}", r"training\.encoder\.lr \(line 3\): .*finite"),
        ("training: {encoder: {lr: .nan}}", r"training\.encoder\.lr \(line 3\): .*finite"),
        ("tasks_x: 1", r"unknown key 'tasks_x'"),
        (
            "dataset: {splits: {test: " + "9" * 400 + "}}",
            r"dataset\.splits\.test \(line 3\): "
            r"Input should be less than or equal to 100000000",
        ),
        ("seed: " + "7" * 5000, r"seed \(line 3\): a number of 5,000 digits is far outside"),
        ("executor: {resources: {encoder: {mem_gb: .inf}}}", r"mem_gb \(line 3\).*finite"),
        ("executor: {resources: {encoder: {gpus: -1}}}", r"gpus \(line 3\).*greater than or equal"),
        ("executor: {resources: {encoder: {time_min: 1e12}}}", r"time_min.*less than or equal"),
        ("taxonomy: {budgets: [.inf]}", r"taxonomy\.budgets\.0 \(line 3\).*finite"),
        ("taxonomy: {budgets: []}", r"taxonomy\.budgets \(line 3\).*at least 1"),
        ("taxonomy: {orders: []}", r"taxonomy\.orders \(line 3\).*at least 1"),
        ("taxonomy: {budgets: ''}", r"budgets is empty"),
        ("taxonomy: {budgets: '1-6:0.0000001'}", r"expand to 50,000,001 or more budgets"),
        ("taxonomy: {budgets: [1, 1.0000001]}", r"both read as '1'"),
        ("transfers: {beam_per_order: {4: 30}}", r"beam_per_order\.4.*less than or equal to 26"),
        ("training: {encoder: {batch_size: '32'}}", r"got the text '32'; write it unquoted"),
        ("label: &b true\ndataset: {splits: {test: *b}}", r"dataset\.splits\.test.*boolean"),
    ],
)
def test_numbers_and_values_out_of_range(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        load_spec(write(tmp_path, BASE + extra + "\n"))
    assert "spec.yaml" in str(info.value)


def test_yaml_values_no_field_takes_are_named(tmp_path: Path) -> None:
    text = "name: !!binary aGVsbG8=\ntasks: [rgb2depth, rgb2mist]\n"
    with pytest.raises(SpecError, match=r"name \(line 1\): Input should be a valid string"):
        load_spec(write(tmp_path, text))


def test_override_numbers_name_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(SpecError, match=r"seed \(set by override 'seed=7777.*5,000 digits"):
        load_spec(path, ["seed=" + "7" * 5000])
    with pytest.raises(SpecError, match=r"dataset\.splits\.test \(set by override.*boolean"):
        load_spec(path, ["dataset.splits.test=true"])
    with pytest.raises(SpecError, match=r"spec\.yaml: override 'name=nnn.*is 20,005 characters"):
        load_spec(path, ["name=" + "n" * 20_000])


def test_override_by_task_name_is_reported_at_the_override(tmp_path: Path) -> None:
    """Issue 14: an override addressing a task by name used to report the file's line."""
    path = write(tmp_path, "name: t\ntasks:\n  - rgb2depth\n  - rgb2mist\n  - reshade\n")
    with pytest.raises(
        SpecError,
        match=r"tasks\.1\.role \(set by override 'tasks\.rgb2mist\.role=teacher'\)",
    ):
        load_spec(path, ["tasks.rgb2mist.role=teacher"])


def test_parse_budgets_counts_before_expanding() -> None:
    start = time.perf_counter()
    for text in ("1-6:0.0000001", "1-100000000", "0-999999999999999:0.000000000000001"):
        with pytest.raises(ValueError, match=r"or more budgets, more than the 100,000"):
            parse_budgets(text)
    assert time.perf_counter() - start < 0.5
    assert len(parse_budgets(f"1-{MAX_BUDGETS}")) == MAX_BUDGETS
    for bad in ("", ",", "1-", "inf", "nan", "1e5", "-1", "1" * 20):
        with pytest.raises(ValueError, match=r"empty|cannot read"):
            parse_budgets(bad)
    for value in (float("inf"), float("nan"), 0, -1, True):
        with pytest.raises(ValueError, match=r"finite number|boolean"):
            parse_budgets(value)


def test_special_files_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = {
        fifo: "is a named pipe",
        Path("/dev/zero"): "is a character device",
        Path("/dev/urandom"): "is a character device",
        tmp_path: "is a directory",
        write(tmp_path, b"\x7fELF\x00\x01"): "is a binary file",
        tmp_path / "missing.yaml": "does not exist",
    }
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_SPEC_BYTES + 1))
    cases[big] = r"is 65,537 bytes; a spec is at most 64 KiB"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    cases[latin] = r"line 1: byte 9 is not UTF-8 text"
    for path, message in cases.items():
        start = time.perf_counter()
        with pytest.raises(SpecError, match=message):
            load_spec(path)
        assert time.perf_counter() - start < 0.5, path
    with pytest.raises(SpecError, match=r"cannot contain a NUL byte"):
        load_spec("a\0b.yaml")
    with pytest.raises(SpecError, match=r"File name too long"):
        load_spec("p" * 10_000 + ".yaml")


def test_nesting_and_aliases_are_bounded(tmp_path: Path) -> None:
    deep = BASE + "x: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(SpecError, match=rf"line 3: brackets nest 5,000 levels deep.*{MAX_DEPTH}"):
        load_spec(write(tmp_path, deep))
    recursive = BASE + "x: &a [1, *a]\n"  # ruamel ends the cycle; either way: an error
    with pytest.raises(SpecError, match=r"nests more than 32 levels deep|unknown key 'x'"):
        load_spec(write(tmp_path, recursive))
    with pytest.raises(SpecError, match=r"override 'tasks=.*nests more than 32 levels"):
        load_spec(write(tmp_path, BASE), ["tasks=&a [x, *a]"])
    with pytest.raises(SpecError, match=r"key has more than 32 parts"):
        load_spec(write(tmp_path, BASE), ["a." * 40 + "b=1"])


def test_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(SpecError, match=r"workdir \(set by override .*longer than 4096"):
        load_spec(path, ["workdir=" + "/d" * 5000])
    with pytest.raises(SpecError, match=r"workdir \(line 3\): path of 10000 characters"):
        load_spec(write(tmp_path, BASE + "workdir: " + "w" * 10_000 + "\n"))
    with pytest.raises(SpecError, match=r"workdir \(line 3\).*longer than 255 characters"):
        load_spec(write(tmp_path, BASE + "workdir: " + "w" * 1000 + "\n"))
    with pytest.raises(
        SpecError, match=r"workdir \(line 3\): contains the control character '\\x00'"
    ):
        load_spec(write(tmp_path, BASE + 'workdir: "a\\0b"\n'))
    with pytest.raises(SpecError, match=r"spec\.yaml: --workdir: .*longer than 4096"):
        load_spec(write(tmp_path, BASE), workdir="/tmp/" + "w" * 10_000)

    def no_home(self: Path) -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "expanduser", no_home)
    with pytest.raises(SpecError, match=r"workdir \(line 3\): cannot expand '~'.*set HOME"):
        load_spec(write(tmp_path, BASE + "workdir: ~/runs\n"))


@pytest.mark.parametrize("name", ["_depth", "depth_", "a__b", "Depth", "1a", "d" * 65])
def test_task_names_cannot_make_ambiguous_release_keys(tmp_path: Path, name: str) -> None:
    text = f"name: t\ntasks:\n  - rgb2depth\n  - {{name: '{name}', kind: rgb2mist}}\n"
    with pytest.raises(SpecError, match=r"tasks\.1\.name \(line 4\)"):
        load_spec(write(tmp_path, text))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("executor.slurm_partition", '"gpu\\n#SBATCH --qos=high"'),
        ("executor.slurm_account", '"a\\rb"'),
        ("executor.slurm_qos", '"q\\tq"'),
        ("executor.slurm_extra_flags", '["--constraint=a100\\n#SBATCH --x"]'),
        ("executor.resources.encoder.slurm_partition", '"gpu\\u2028x"'),
        ("dataset.root", '"/data\\n/x"'),
        ("tasks.0.kind", '"rgb2depth\\u200b"'),
    ],
)
def test_control_characters_never_reach_a_script(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.") + r".*\(set by override"):
        load_spec(write(tmp_path, BASE), [f"{key}={value}"])


def test_duplicate_keys_in_overrides_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"override 'transfers=\{beam: 1, beam: 2\}'.*duplicate"):
        load_spec(write(tmp_path, BASE), ["transfers={beam: 1, beam: 2}"])


def test_parse_override_reads_numbers_as_the_file_does() -> None:
    assert parse_override("a=1e-3") == (("a",), 0.001)
    path, value = parse_override("a=" + "7" * 5000)
    assert path == ("a",) and isinstance(value, str) and len(value) == 5000


def test_orders_follow_an_overridden_max_order() -> None:
    """Issue 13: transfers.max_order=3 used to keep taxonomy.orders [1, 2] silently."""
    loaded = load_spec(MINI, ["transfers.max_order=3"])
    assert loaded.spec.taxonomy.orders == [1, 2, 3]
    assert any("taxonomy.orders follows transfers.max_order=3" in n for n in loaded.notes)
    assert load_spec(MINI, ["transfers.max_order=1"]).spec.taxonomy.orders == [1]
    both = load_spec(MINI, ["transfers.max_order=3", "taxonomy.orders=[1, 2]"])
    assert both.spec.taxonomy.orders == [1, 2]
    assert any("solves no taxonomy of that order" in n for n in both.notes)
    assert load_spec(MINI).notes == ()


def test_settings_without_effect_are_warned_about() -> None:
    loaded = load_spec(
        MINI,
        ["transfers.beam_per_order={5: 3}", "executor.slurm_partition=gpu", "transfers.beam=20"],
    )
    text = "\n".join(loaded.notes)
    assert "transfers.beam_per_order.5 has no effect: transfers.max_order is 2" in text
    assert "executor.slurm_partition has no effect with executor.kind local" in text
    assert "transfers.beam 20 is more than the 14 first-order source(s)" in text
