"""A growable matrix of embedding rows with a free list, so removals leave no copies behind."""

from __future__ import annotations

import numpy as np

from nasiko.core.routing.embedder import DIM


class VectorMatrix:
    """A growable float32 matrix of unit rows with a free list, so removals leave no copies."""

    def __init__(self) -> None:
        self.vecs = np.zeros((0, DIM), dtype=np.float32)
        self.size = 0
        self.free: list[int] = []

    def take(self) -> int:
        if self.free:
            return self.free.pop()
        if self.size == len(self.vecs):
            grown = np.zeros((max(64, 2 * len(self.vecs)), DIM), dtype=np.float32)
            grown[: self.size] = self.vecs[: self.size]
            self.vecs = grown
        self.size += 1
        return self.size - 1

    def release(self, row: int) -> None:
        self.vecs[row] = 0.0
        self.free.append(row)

    @property
    def nbytes(self) -> int:
        return int(self.vecs.nbytes)
