"""The bundled mini dataset: rendered scenes and their labels, written split by split."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from taskonomy.data.formats import TaskLike, check_label, label_maker, stores_label, task_info
from taskonomy.data.render import render_random
from taskonomy.data.splits import (
    SPLITS,
    SplitWriter,
    common_index,
    split_seed,
    split_sizes,
    write_index,
)

#: Images rendered together; each chunk has its own seed, so chunks render in parallel
#: and the result does not depend on the number of threads.
CHUNK = 128


def prepare_mini(
    params: Mapping[str, Any], tasks: Sequence[TaskLike], out_dir: Path, size: int
) -> dict[str, Any]:
    seed = int(params.get("seed") or 0)
    sizes = split_sizes(params)
    stored = [t for t in tasks if stores_label(task_info(t))]
    makers = {task_info(t).name: label_maker(t) for t in stored}
    infos = [task_info(t) for t in stored]
    start = time.perf_counter()
    index = common_index(params, size, infos)
    index["splits"] = {}
    for split in SPLITS:
        n = sizes[split]
        writer = SplitWriter(out_dir / split, n, size, infos)
        chunks = split_seed(seed, split).spawn((n + CHUNK - 1) // CHUNK)

        def work(i: int, writer: SplitWriter = writer, chunks: Any = chunks, n: int = n) -> None:
            lo, hi = i * CHUNK, min(n, (i + 1) * CHUNK)
            buf = render_random(np.random.default_rng(chunks[i]), hi - lo, size)
            writer.images[lo:hi] = buf.image
            for info in infos:
                label = check_label(info, makers[info.name](buf), hi - lo, size)
                writer.labels[info.name][lo:hi] = label

        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(work, range(len(chunks))))
        writer.close()
        index["splits"][split] = {"n": n}
    seconds = time.perf_counter() - start
    write_index(out_dir, index)
    total = sum(sizes.values())
    return {
        "kind": "mini",
        "image_size": size,
        "images": dict(sizes),
        "tasks": [t.name for t in infos],
        "seconds": round(seconds, 3),
        "images_per_s": round(total / seconds, 1) if seconds > 0 else float("inf"),
    }
