"""Layer weights as PyTorch state_dict entries (``0.weight``, ``conv1.bias``) in ``.npz`` files.

Read with ``allow_pickle=False`` (an object array in the file is refused, never unpickled),
numeric arrays only, sizes bounded; written atomically.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

MAX_ARRAYS = 1000
MAX_ENTRIES = 50_000_000  # float64 numbers over all arrays: 400 MB


MAX_FILE_BYTES = 1 << 30


def load_npz(path: str, flag: str = "--weights") -> dict[str, Array]:
    """Every array of an .npz file by name, as float64. One line naming the problem otherwise."""
    from convcalc import paths

    if not path.lower().endswith(".npz"):
        raise ConvcalcError(f"must be an .npz file (numpy.savez of a state_dict's arrays), got {path!r}", flag)
    raw = paths.read_bytes(paths.check_inside(path, flag), MAX_FILE_BYTES, f"{flag} ({path})", "weights file")
    out: dict[str, Array] = {}
    total = 0
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            if len(data.files) > MAX_ARRAYS:
                raise ConvcalcError(f"holds {len(data.files)} arrays, more than {MAX_ARRAYS}", flag)
            for name in data.files:
                a = data[name]
                total += a.size
                if total > MAX_ENTRIES:
                    raise ConvcalcError(f"holds more than {MAX_ENTRIES} numbers", flag)
                if a.dtype.kind not in "biuf":
                    raise ConvcalcError(f"array {name!r} has dtype {a.dtype}; only numbers are read", flag)
                out[name] = a.astype(np.float64)
    except ConvcalcError:
        raise
    except ValueError as e:  # an object (pickled) array under allow_pickle=False, a corrupt header
        raise ConvcalcError(f"cannot be read safely: {str(e)[:120]}", flag) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise ConvcalcError(f"cannot read {path}: {type(e).__name__}: {str(e)[:120]}", flag) from None
    return out


def save_npz(arrays: Mapping[str, Array], target: str, flag: str = "--save-weights") -> None:
    """Write named float arrays to ``target`` (.npz), whole or not at all."""
    from convcalc.atomic import write_bytes

    path = Path(target)
    if path.suffix.lower() != ".npz":
        raise ConvcalcError(f"must end in .npz, got {target!r}", flag)
    try:
        folder, is_folder = path.parent.is_dir(), path.is_dir()
    except (OSError, ValueError):
        folder, is_folder = False, False
    if not folder:
        raise ConvcalcError(f"no such folder: {path.parent}", flag)
    if is_folder:
        raise ConvcalcError(f"{target} is a folder", flag)
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
    write_bytes(target, buf.getvalue(), flag)


def random_init(shapes: Mapping[str, tuple[int, ...]], fan_in: Mapping[str, int], seed: int) -> dict[str, Array]:
    """PyTorch's default ranges: U(−1/√fan_in, 1/√fan_in) for weight and bias alike, from NumPy's seeded generator."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        bound = 1 / math.sqrt(max(fan_in[name], 1))
        out[name] = rng.uniform(-bound, bound, size=shape)
    return out
