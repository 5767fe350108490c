"""Element types: MLIR names, NumPy storage, and bf16 (which NumPy lacks)."""

import numpy as np

from .errors import BPTError

# bf16 is stored as uint16 holding the upper half of an f32.
_STORAGE = {
    "f32": np.float32,
    "f64": np.float64,
    "f16": np.float16,
    "bf16": np.uint16,
    "i1": np.bool_,
    "i32": np.int32,
    "i64": np.int64,
}


def storage(elem):
    """The NumPy dtype that holds an MLIR element type in memory."""
    try:
        return np.dtype(_STORAGE[elem])
    except KeyError:
        raise BPTError(f"element type {elem} is not supported") from None


def to_bf16(x):
    """Rounds float values to bf16 (nearest, ties to even), as uint16."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    out[nan] = 0x7FC0
    return out


def from_bf16(x):
    """bf16 bits (uint16) to float32 values."""
    return (np.asarray(x, dtype=np.uint16).astype(np.uint32) << 16).view(
        np.float32)


def to_storage(values, elem):
    """Float values to the storage of `elem` (rounding as the type does)."""
    if elem == "bf16":
        return to_bf16(values)
    return np.ascontiguousarray(values, dtype=storage(elem))


def to_float(stored, elem):
    """Stored values of `elem` as float64, for comparisons."""
    if elem == "bf16":
        return from_bf16(stored).astype(np.float64)
    return np.asarray(stored).astype(np.float64)
