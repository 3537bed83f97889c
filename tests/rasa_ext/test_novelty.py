"""The novelty check: a message unlike its predicted label's examples loses confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from rasa_ext.nlu import LinearClassifier
from rasa_ext.novelty import Novelty
from tests.rasa_ext.test_nlu import Pipeline, context, training_data


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def two_labels(weight: float = 2.0) -> Novelty:
    # label 0 around the x axis, label 1 around the y axis
    vectors = np.stack(
        [unit(1, 0.1, 0), unit(1, -0.1, 0), unit(1, 0, 0.1), unit(0.1, 1, 0), unit(-0.1, 1, 0)]
    )
    return Novelty.fit(
        vectors, np.array([0, 0, 0, 1, 1]), 2, neighbours=2, quantile=0.0, weight=weight
    )


def test_a_message_as_close_as_the_labels_own_examples_keeps_its_confidence() -> None:
    novelty = two_labels()
    confidences = np.array([0.9, 0.1])
    assert novelty.penalty(unit(1, 0, 0), 0) == 0.0
    np.testing.assert_array_equal(novelty.adjust(confidences, unit(1, 0, 0)), confidences)


def test_a_message_far_from_its_labels_examples_loses_the_gap_times_the_weight() -> None:
    novelty = two_labels(weight=0.5)
    far = unit(0.3, 0, 1)
    similarity = novelty.similarity(far, 0)
    assert similarity is not None
    reference = float(novelty.reference[0])
    assert similarity < reference
    penalty = novelty.penalty(far, 0)
    assert penalty == pytest.approx(0.5 * (reference - similarity), rel=1e-5)
    assert 0 < penalty < 0.9
    adjusted = novelty.adjust(np.array([0.9, 0.1]), far)
    assert adjusted[0] == pytest.approx(0.9 - penalty, abs=1e-6)
    assert adjusted[1] / adjusted[0] == pytest.approx(0.1 / 0.9, rel=1e-5)  # the same order


def test_a_penalty_larger_than_the_confidence_leaves_almost_nothing_in_the_same_order() -> None:
    adjusted = two_labels(weight=10.0).adjust(np.array([0.1, 0.9]), unit(0.3, 0, 1))
    assert 0 < adjusted[0] < adjusted[1]  # label 1 still ranks first
    assert adjusted[1] == pytest.approx(0.9e-6)


def test_exempt_labels_and_labels_with_one_example_are_never_penalised() -> None:
    vectors = np.stack([unit(1, 0, 0), unit(1, 0.1, 0), unit(0, 1, 0)])
    novelty = Novelty.fit(
        vectors, np.array([0, 0, 1]), 2, neighbours=3, quantile=0.1, weight=5.0, exempt=[0]
    )
    far = unit(0, 0, 1)
    assert novelty.penalty(far, 0) == 0.0  # exempt (an open class such as out_of_scope)
    assert novelty.penalty(far, 1) == 0.0  # one example: no reference to compare with


def test_the_check_survives_storage_as_arrays() -> None:
    novelty = two_labels()
    again = Novelty.from_arrays(novelty.to_arrays(), neighbours=2, weight=2.0)
    assert again is not None
    far = unit(0.3, 0, 1)
    assert again.penalty(far, 0) == pytest.approx(novelty.penalty(far, 0), abs=1e-6)
    assert Novelty.from_arrays({}, neighbours=2, weight=2.0) is None


def classifier(storage: LocalModelStorage, name: str, config: Dict[str, Any]) -> LinearClassifier:
    return LinearClassifier.create(
        {**LinearClassifier.get_default_config(), **config}, storage, Resource(name), context(name)
    )


def test_the_classifier_lowers_an_unlike_question_and_keeps_a_typical_one(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    pipeline = Pipeline(storage)
    data = pipeline.featurize_training(training_data())
    plain = classifier(storage, "plain", {})
    plain.train(data)
    checked = classifier(storage, "checked", {"novelty_weight": 3.0, "novelty_quantile": 0.0})
    checked.train(data)
    assert plain.novelty is None and checked.novelty is not None

    typical = [pipeline.featurize("hello")]
    np.testing.assert_allclose(checked.rank(typical), plain.rank(typical), rtol=1e-5)

    unlike = [pipeline.featurize("what is the boiling point of mercury in kelvin")]
    before, after = plain.rank(unlike)[0], checked.rank(unlike)[0]
    assert after.max() < before.max()
    assert np.argsort(-after).tolist() == np.argsort(-before).tolist()

    loaded = LinearClassifier.load(
        {**LinearClassifier.get_default_config(), "novelty_weight": 3.0},
        storage,
        Resource("checked"),
        context("checked"),
    )
    assert loaded.novelty is not None
    np.testing.assert_allclose(loaded.rank(unlike), checked.rank(unlike), rtol=1e-5)
