"""Per-image test losses as a run publishes them (``test_losses.npz``), read with bounds.

Every member's ``.npy`` header is read first and its declared size checked against the
member's real size, so a file that claims a huge array is refused before numpy allocates.
"""

from __future__ import annotations

import os
import stat
import zipfile

import numpy as np

from taskonomy.affinity._input import limit_bytes, show, show_path
from taskonomy.errors import AffinityError

#: A losses file may be this many times the size limit of a table (losses of every
#: candidate on every test image are far larger than the affinities they give).
LOSSES_FACTOR = 64


def _check_members(path: str | os.PathLike[str], where: str) -> None:
    budget = LOSSES_FACTOR * limit_bytes()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if sum(i.file_size for i in infos) > budget:
            raise AffinityError(
                f"{where}: the arrays hold more than {budget / 1e6:g} MB; raise the limit with "
                "TASKONOMY_MAX_INPUT_MB if this is right"
            )
        for info in infos:
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > info.file_size:
                raise AffinityError(
                    f"{where}: member {show(info.filename)} claims {declared:,} bytes of data "
                    f"but holds {info.file_size:,}; the file is corrupt"
                )


def load_test_losses(
    path: str | os.PathLike[str],
) -> dict[str, dict[tuple[str, ...], np.ndarray]]:
    """Per-image test losses keyed like the release (``"src1__src2__target"``), as a run
    publishes them in ``test_losses.npz``: ``{target: {sources: losses}}``.

    Raises:
        AffinityError: unreadable file, a key not in the release form, losses that are
            not a finite 1-D array, or candidates of one target on different images.
    """
    from taskonomy.affinity.table import parse_key

    where = show_path(path)
    out: dict[str, dict[tuple[str, ...], np.ndarray]] = {}
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise AffinityError(f"cannot read test losses {where}: not a regular file")
        _check_members(path, where)
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                sources, target = parse_key(key)
                arr = np.asarray(npz[key], dtype=np.float64)
                if arr.ndim != 1 or not arr.size or not np.isfinite(arr).all():
                    raise AffinityError(
                        f"losses of {show(key)} must be a non-empty finite 1-D array"
                    )
                out.setdefault(target, {})[sources] = arr
    except AffinityError as exc:
        text = str(exc)
        raise AffinityError(text if where in text else f"{where}: {text}") from None
    except (OSError, ValueError, EOFError, TypeError, MemoryError, zipfile.BadZipFile) as exc:
        raise AffinityError(
            f"cannot read test losses {where} ({show(str(exc))[1:-1]}); give a run's "
            "test_losses.npz"
        ) from None
    for target, cands in out.items():
        if len({a.size for a in cands.values()}) > 1:
            raise AffinityError(f"{where}: candidates of {target!r} have different image counts")
    return out
