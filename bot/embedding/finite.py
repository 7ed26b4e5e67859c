"""Vectors a model gives must be finite: NaN or infinity means damaged model files.

A damaged weights file (or ONNX graph) makes the forward pass produce NaN. Cached, such
vectors broke every later question even after the model was repaired, so they are refused
where they are made, before anything keeps them.
"""

from __future__ import annotations

import numpy as np

from bot.settings import SettingsError

DEFAULT_REMEDY = (
    "rebuild it (remove it from CACHE_DIR/models, then `python -m bot model`) or set "
    "EMBEDDING_MODEL to another model"
)


class DamagedModel(SettingsError):
    """The model produced NaN or infinite vectors; one line for the user."""


def require_finite(vectors: np.ndarray, remedy: str = "") -> np.ndarray:
    """`vectors` unchanged when every value is finite; else `DamagedModel`."""
    finite = np.isfinite(vectors)
    if finite.all():
        return vectors
    rows = finite.reshape(len(vectors), -1).all(axis=1) if len(vectors) else finite
    bad = int(np.count_nonzero(~rows))
    raise DamagedModel(
        f"the model produced non-finite vectors; its files may be damaged — "
        f"{remedy or DEFAULT_REMEDY} ({bad} of {len(vectors)} texts gave NaN or infinity)"
    )
