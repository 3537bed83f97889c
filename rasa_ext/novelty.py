"""How unlike its predicted label's training examples a message is: a check on the classifier.

A linear classifier is confident far from its training data: a question about the weather can sit
deep on the "delivery" side of every boundary. Its sentence embedding, though, is far from every
delivery example. ``Novelty`` keeps the training examples' unit sentence vectors by label and
measures a message by the mean cosine similarity of its ``neighbours`` nearest examples of the
predicted label. Each label's *reference* is the ``quantile`` of the same measure over the label's
own examples, each left out of its neighbours: with 0.1, nine in ten training examples of the label
are at least that close to the rest. A message below its label's reference loses
``weight × (reference − similarity)`` of its top confidence (down to a millionth of it, never
zero), and the other confidences shrink in the same ratio, so the ranking keeps its order and a
typical message is not touched.

On CLINC150 (benchmarks/), the classifier's confidence alone separates out-of-scope questions
with an AUROC of 0.952 on the test split; with this check, 0.973.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

FLOOR = 1e-6  # the least share of its confidence a message keeps


class Novelty:
    """Training vectors grouped by label (``order[starts[i]:starts[i + 1]]`` are label ``i``'s)."""

    def __init__(
        self,
        vectors: np.ndarray,
        starts: np.ndarray,
        reference: np.ndarray,
        *,
        neighbours: int,
        weight: float,
        exempt: Sequence[int] = (),
    ) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.starts = starts.astype(np.int64)
        self.reference = reference.astype(np.float32)
        self.neighbours = max(int(neighbours), 1)
        self.weight = float(weight)
        self.exempt = frozenset(int(i) for i in exempt)

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        labels: np.ndarray,
        label_count: int,
        *,
        neighbours: int,
        quantile: float,
        weight: float,
        exempt: Sequence[int] = (),
    ) -> Novelty:
        """``vectors``: one unit vector per training example; ``labels``: its label's index."""
        order = np.argsort(labels, kind="stable")
        # rounded as stored, so that a loaded model measures what the trained one did
        grouped = np.asarray(vectors, dtype=np.float16).astype(np.float32)[order]
        counts = np.bincount(labels, minlength=label_count)
        starts = np.concatenate([[0], np.cumsum(counts)])
        reference = np.full(label_count, -1.0, dtype=np.float32)  # -1: never a penalty
        for label in range(label_count):
            own = grouped[starts[label] : starts[label + 1]]
            if len(own) < 2:
                continue
            similarity = own @ own.T
            np.fill_diagonal(similarity, -np.inf)  # each example left out of its neighbours
            reference[label] = np.quantile(_mean_of_nearest(similarity, neighbours), quantile)
        return cls(grouped, starts, reference, neighbours=neighbours, weight=weight, exempt=exempt)

    def similarity(self, vector: np.ndarray, label: int) -> Optional[float]:
        """Mean cosine similarity of the ``neighbours`` nearest examples of ``label``."""
        own = self.vectors[self.starts[label] : self.starts[label + 1]]
        if not len(own):
            return None
        similarity = own @ vector.astype(np.float32)
        return float(_mean_of_nearest(similarity[None, :], self.neighbours)[0])

    def penalty(self, vector: np.ndarray, label: int) -> float:
        if label in self.exempt or self.reference[label] <= -1.0:
            return 0.0
        similarity = self.similarity(vector, label)
        if similarity is None:
            return 0.0
        return self.weight * max(0.0, float(self.reference[label]) - similarity)

    def adjust(self, confidences: np.ndarray, vector: Optional[np.ndarray]) -> np.ndarray:
        """One message's confidences with its top one lowered by the penalty (same order)."""
        if vector is None or not len(confidences):
            return confidences
        top = int(np.argmax(confidences))
        best = float(confidences[top])
        penalty = self.penalty(vector, top)
        if penalty <= 0.0 or best <= 0.0:
            return confidences
        # never quite zero: all-zero confidences would lose the ranking's order
        return confidences * (max(best - penalty, best * FLOOR) / best)

    def to_arrays(self) -> Dict[str, np.ndarray]:
        return {
            "novelty::vectors": self.vectors.astype(np.float16),
            "novelty::starts": self.starts,
            "novelty::reference": self.reference,
        }

    @classmethod
    def from_arrays(
        cls,
        arrays: Dict[str, np.ndarray],
        *,
        neighbours: int,
        weight: float,
        exempt: Sequence[int] = (),
    ) -> Optional[Novelty]:
        if "novelty::vectors" not in arrays:
            return None
        return cls(
            arrays["novelty::vectors"],
            arrays["novelty::starts"],
            arrays["novelty::reference"],
            neighbours=neighbours,
            weight=weight,
            exempt=exempt,
        )


def _mean_of_nearest(similarity: np.ndarray, neighbours: int) -> np.ndarray:
    """Per row, the mean of the ``neighbours`` largest finite values (fewer if fewer exist)."""
    k = min(neighbours, similarity.shape[1])
    nearest = -np.partition(-similarity, k - 1, axis=1)[:, :k]
    finite = np.isfinite(nearest)
    counts = np.maximum(finite.sum(axis=1), 1)
    return np.where(finite, nearest, 0.0).sum(axis=1) / counts
