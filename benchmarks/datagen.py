"""Mini dataset generation speed: images per second by image size and split size.

Run: ``python benchmarks/datagen.py [--sizes 32 64] [--counts 256 1024]``. Prints, for each
image size and image count, the rate of rendering alone and of ``prepare_dataset`` with
the tasks of ``examples/mini.yaml`` (render + labels + writing the npy files), and the
images per CPU-second of the latter (the wall rate on an idle machine with one core;
prepare uses two threads).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from taskonomy.data import prepare_dataset, render_random
from taskonomy.spec import load_spec, resolve_tasks

#: The default spec, so the benchmark measures what `taskonomy run examples/mini.yaml` makes.
MINI_SPEC = Path(__file__).resolve().parent.parent / "examples" / "mini.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--counts", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    tasks = [t.info for t in resolve_tasks(load_spec(MINI_SPEC).spec)]
    print(
        f"{'px':>4} {'images':>7} {'render img/s':>13} {'prepare img/s':>14} "
        f"{'seconds':>8} {'img/cpu-s':>10}"
    )
    for size in args.sizes:
        for count in args.counts:
            start = time.perf_counter()
            render_random(np.random.default_rng(0), count, size)
            render_rate = count / (time.perf_counter() - start)
            splits = {"encoder_train": count, "transfer_train": 1, "test": 1}
            params = {"kind": "mini", "image_size": size, "splits": splits, "seed": 0}
            cpu = time.process_time()
            with tempfile.TemporaryDirectory() as tmp:
                stats = prepare_dataset(params, tasks, Path(tmp))
            cpu = time.process_time() - cpu
            print(
                f"{size:>4} {count:>7} {render_rate:>13.0f} "
                f"{stats['images_per_s']:>14.0f} {stats['seconds']:>8.2f} "
                f"{(count + 2) / cpu:>10.0f}"
            )


if __name__ == "__main__":
    main()
