"""Our NLU components, trained and run in-process with Rasa's own tokenizer and featurizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.nlu import (
    LinearClassifier,
    SentenceCountVectorsFeaturizer,
    SentenceEmbeddingFeaturizer,
    softmax,
)

EXAMPLES = {
    "faq/returns": [
        "how do I return an item",
        "can I send my order back",
        "return policy",
        "I want to give back the blender",
    ],
    "faq/delivery": [
        "how long does delivery take",
        "when will my parcel arrive",
        "shipping time to riga",
        "how fast do you deliver",
    ],
    "greet": ["hello", "hi there", "good morning", "hey"],
}


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


class Pipeline:
    """Tokenizer, two featurizers and a classifier, as config.yml chains them."""

    def __init__(self, storage: LocalModelStorage) -> None:
        self.storage = storage
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.counts = SentenceCountVectorsFeaturizer.create(
            SentenceCountVectorsFeaturizer.get_default_config(),
            storage,
            Resource("counts"),
            context("counts"),
        )
        self.embeddings = SentenceEmbeddingFeaturizer.create(
            SentenceEmbeddingFeaturizer.get_default_config(),
            storage,
            Resource("embeddings"),
            context("embeddings"),
        )

    def featurize_training(self, data: TrainingData) -> TrainingData:
        self.tokenizer.process_training_data(data)
        self.counts.train(data)
        self.counts.process_training_data(data)
        self.embeddings.process_training_data(data)
        return data

    def featurize(self, text: str) -> Message:
        message = Message(data={"text": text})
        self.tokenizer.process([message])
        self.counts.process([message])
        self.embeddings.process([message])
        return message


def training_data() -> TrainingData:
    messages = []
    for label, texts in EXAMPLES.items():
        intent, _, response = label.partition("/")
        for text in texts:
            data: Dict[str, Any] = {"text": text, "intent": intent}
            if response:
                data["intent_response_key"] = label
            messages.append(Message(data=data))
    responses = {
        "utter_faq/returns": [{"text": "Returns are free within 30 days."}],
        "utter_faq/delivery": [{"text": "Delivery takes 1 to 3 working days."}],
    }
    return TrainingData(training_examples=messages, responses=responses)


@pytest.fixture
def trained(tmp_path: Path) -> Tuple[Pipeline, LinearClassifier, LinearClassifier]:
    storage = LocalModelStorage(tmp_path)
    pipeline = Pipeline(storage)
    data = pipeline.featurize_training(training_data())
    intents = LinearClassifier.create(
        LinearClassifier.get_default_config(), storage, Resource("intents"), context("intents")
    )
    intents.train(data)
    selector_config = {**LinearClassifier.get_default_config(), "retrieval_intent": "faq"}
    selector = LinearClassifier.create(
        selector_config, storage, Resource("selector"), context("selector")
    )
    selector.train(data)
    return pipeline, intents, selector


@pytest.mark.parametrize(
    "options", [{}, {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}], ids=["word", "char"]
)
def test_sentence_counts_are_rasas_without_the_sequence(tmp_path: Path, options: dict) -> None:
    storage = LocalModelStorage(tmp_path)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizers = [
        kind.create(
            {**kind.get_default_config(), **options}, storage, Resource(name), context(name)
        )
        for kind, name in (
            (CountVectorsFeaturizer, "stock"),
            (SentenceCountVectorsFeaturizer, "ours"),
        )
    ]
    data = training_data()
    tokenizer.process_training_data(data)
    for featurizer in featurizers:
        featurizer.train(data)
    loaded = SentenceCountVectorsFeaturizer.load(
        {**SentenceCountVectorsFeaturizer.get_default_config(), **options},
        storage,
        Resource("ours"),
        context("ours"),
    )
    texts = ["how do I return the blender?", "hello", "Žąsis <b>ĄČ</b>' OR 1=1; --", "zzz qqq"]
    for text in texts:
        messages = [Message(data={"text": text}) for _ in range(3)]
        tokenizer.process(messages)
        for featurizer, message in zip((*featurizers, loaded), messages, strict=True):
            featurizer.process([message])
        stock, ours, reloaded = messages
        sequence, sentence = stock.get_sparse_features("text")
        assert sequence is not None  # Rasa's: a row per token
        assert ours.get_sparse_features("text")[0] is None
        for mine in (ours, reloaded):
            same = mine.get_sparse_features("text")[1]
            assert same is not None and sentence is not None
            assert (same.features != sentence.features).nnz == 0
            assert same.features.shape == sentence.features.shape
    # an empty text (Rasa's tokenizer still gives a token): the same sentence row as stock
    empty = [Message(data={"text": ""}) for _ in range(2)]
    tokenizer.process(empty)
    for featurizer, message in zip(featurizers, empty, strict=True):
        featurizer.process([message])
    stock_row, our_row = (m.get_sparse_features("text")[1] for m in empty)
    assert empty[1].get_sparse_features("text")[0] is None
    assert (stock_row is None) == (our_row is None)
    if stock_row is not None and our_row is not None:
        assert (stock_row.features != our_row.features).nnz == 0


def test_the_featurizer_adds_a_unit_sentence_vector(tmp_path: Path) -> None:
    pipeline = Pipeline(LocalModelStorage(tmp_path))
    message = pipeline.featurize("where is my parcel")
    sequence, sentence = message.get_dense_features("text")
    assert sequence is None
    assert sentence is not None
    vector = sentence.features.reshape(-1)
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)


def test_intents_are_ranked_with_confidences_that_sum_to_one(trained: Any) -> None:
    pipeline, intents, _ = trained
    message = pipeline.featurize("hello there")
    intents.process([message])
    assert message.get("intent")["name"] == "greet"
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "greet"
    assert {r["name"] for r in ranking} == {"greet", "faq"}
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-5)


def test_the_selector_writes_rasas_response_selector_output(trained: Any) -> None:
    pipeline, _, selector = trained
    message = pipeline.featurize("how many days does shipping take")
    selector.process([message])
    output = message.get("response_selector")
    assert output["all_retrieval_intents"] == ["faq"]
    response = output["faq"]["response"]
    assert response["intent_response_key"] == "faq/delivery"
    assert response["utter_action"] == "utter_faq/delivery"
    assert response["responses"] == [{"text": "Delivery takes 1 to 3 working days."}]
    keys = [r["intent_response_key"] for r in output["faq"]["ranking"]]
    assert keys == ["faq/delivery", "faq/returns"]
    assert output["faq"]["ranking"][0]["confidence"] == response["confidence"]


def test_a_loaded_model_predicts_what_the_trained_one_did(tmp_path: Path, trained: Any) -> None:
    pipeline, intents, selector = trained
    loaded = LinearClassifier.load(
        {**LinearClassifier.get_default_config(), "retrieval_intent": "faq"},
        pipeline.storage,
        Resource("selector"),
        context("selector"),
    )
    texts = ["can I bring the mixer back", "delivery to vilnius", "hi"]
    before = selector.rank([pipeline.featurize(t) for t in texts])
    after = loaded.rank([pipeline.featurize(t) for t in texts])
    np.testing.assert_allclose(before, after, rtol=1e-5)
    assert loaded.labels == ["faq/delivery", "faq/returns"]


def test_an_untrained_classifier_predicts_nothing_and_does_not_fail(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    classifier = LinearClassifier.load(
        LinearClassifier.get_default_config(), storage, Resource("missing"), context("missing")
    )
    message = Pipeline(storage).featurize("hello")
    classifier.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_a_message_without_features_gets_no_intent(trained: Any) -> None:
    _, intents, _ = trained
    message = Message(data={"text": ""})
    intents.process([message])
    assert message.get("intent")["name"] is None


def test_two_labels_are_ranked_both_ways(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    pipeline = Pipeline(storage)
    data = TrainingData(
        training_examples=[
            Message(data={"text": t, "intent": label})
            for label in ("greet", "goodbye")
            for t in (EXAMPLES["greet"] if label == "greet" else ["bye", "goodbye", "see you"])
        ]
    )
    pipeline.featurize_training(data)
    classifier = LinearClassifier.create(
        LinearClassifier.get_default_config(), storage, Resource("two"), context("two")
    )
    classifier.train(data)
    for text, expected in (("hello", "greet"), ("bye bye", "goodbye")):
        message = pipeline.featurize(text)
        classifier.process([message])
        assert message.get("intent")["name"] == expected


def test_softmax_is_stable_for_large_margins() -> None:
    result = softmax(np.array([[1000.0, 0.0, -1000.0]]), temperature=0.2)
    assert np.isfinite(result).all()
    assert result[0, 0] == pytest.approx(1.0)


def test_the_spelling_corrector_learns_its_vocabulary_and_corrects_what_the_model_reads(
    tmp_path: Path,
) -> None:
    from rasa.shared.nlu.constants import TEXT

    from rasa_ext.nlu import SpellingCorrector

    storage = LocalModelStorage(tmp_path)
    config = SpellingCorrector.get_default_config()
    trained = SpellingCorrector.create(config, storage, Resource("spelling"), context("spelling"))
    examples = [Message(data={TEXT: t}) for t in ["how do I claim the warranty"] * 3]
    trained.train(TrainingData(training_examples=examples))
    loaded = SpellingCorrector.load(config, storage, Resource("spelling"), context("spelling"))
    message = Message(data={TEXT: "waranty claim for order LT-1002"})
    loaded.process([message])
    assert message.get(TEXT) == "warranty claim for order LT-1002"
    # nothing stored: the component loads and corrects nothing
    empty = SpellingCorrector.load(config, storage, Resource("missing"), context("spelling"))
    untouched = Message(data={TEXT: "waranty"})
    empty.process([untouched])
    assert untouched.get(TEXT) == "waranty"


def test_margins_block_by_block_equal_the_joined_rows_times_the_weights() -> None:
    """The classifier's fast path (``margins``) gives the numbers of ``transform(...) @ W.T``:
    sparse count blocks (one row empty, one missing) and a dense block, one message and several."""
    import scipy.sparse

    from rasa_ext.nlu import FeatureScaler

    rng = np.random.default_rng(7)

    def counts(width: int, filled: int) -> scipy.sparse.coo_matrix:
        row = np.zeros((1, width), dtype=np.float32)
        row[0, rng.choice(width, size=filled, replace=False)] = rng.integers(1, 4, size=filled)
        return scipy.sparse.coo_matrix(row)

    def message(filled: int, with_chars: bool = True) -> dict:
        blocks = {
            "words": counts(50, filled),
            "dense": rng.normal(size=(1, 16)).astype(np.float32),
        }
        if with_chars:
            blocks["chars"] = counts(200, 3 * filled)
        return blocks

    training = [message(4) for _ in range(30)]
    scaler = FeatureScaler.fit(training, dense_weight=0.7)
    weights = rng.normal(size=(5, 50 + 200 + 16)).astype(np.float32)
    parts = scaler.split(weights)
    repeated = message(2)  # a COO row naming a column twice: the counts are summed
    repeated["words"] = scipy.sparse.coo_matrix(
        (np.array([1.0, 2.0, 1.0], dtype=np.float32), (np.zeros(3), np.array([4, 9, 4]))),
        shape=(1, 50),
    )
    in_order_twice = message(2)  # the same column twice, in order
    in_order_twice["words"] = scipy.sparse.coo_matrix(
        (np.array([1.0, 2.0, 1.0], dtype=np.float32), (np.zeros(3), np.array([4, 4, 9]))),
        shape=(1, 50),
    )
    out_of_order = message(2)  # each column once, not in order
    out_of_order["words"] = scipy.sparse.coo_matrix(
        (np.array([1.0, 2.0, 3.0], dtype=np.float32), (np.zeros(3), np.array([9, 4, 20]))),
        shape=(1, 50),
    )
    for asked in ([message(3)], [message(0)], [message(2, with_chars=False)], [repeated],
                  [in_order_twice], [out_of_order],
                  [message(3), message(0), message(5, with_chars=False)]):  # fmt: skip
        joined = np.asarray(scaler.transform(asked) @ weights.T)
        np.testing.assert_allclose(scaler.margins(asked, parts), joined, rtol=1e-5, atol=1e-6)


def seed_lines(limit: int = 400) -> list:
    """Real Lithuanian, Latvian and Polish customer-service text (../shared/seeds), if present."""
    from bot.settings import PROJECT_ROOT

    lines: list = []
    for path in sorted((PROJECT_ROOT.parent / "shared" / "seeds").rglob("*")):
        if path.is_file() and path.suffix in {".txt", ".md", ".html", ".csv", ".json"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            lines += [line for line in text.splitlines() if line.strip()][:40]
        if len(lines) >= limit:
            break
    return lines[:limit]


ODD_TEXTS = [
    "Where is my ORDER LT-1002??",
    "Kur mano užsakymas? Ačiū!",
    "Gdzie jest moja paczka – zamówienie PL 2001",
    "Kāpēc   nav  piegādes\tvakar\u00a0un šodien",
    "<script>alert('x')</script> refund",
    "'; DROP TABLE events; --",
    "café naïve coöperate",
    "emoji 📦📦 parcel 🚚",
    "ﬁne ligatures and ＦＵＬＬＷＩＤＴＨ",
    "a",
    "   ",
    "\u200bzero\u200bwidth",
    "line\nbreaks\r\nand\x1cseparators\x85here",
]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"analyzer": "char_wb", "ngram_range": (1, 4)},
        {"analyzer": "char_wb", "ngram_range": (2, 5), "binary": True},
        {"analyzer": "char_wb", "ngram_range": (1, 3), "lowercase": False},
        {"analyzer": "char_wb", "ngram_range": (1, 3), "strip_accents": "unicode"},
        {"analyzer": "char", "ngram_range": (1, 3)},
        {"ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"},
    ],
    ids=["word", "char_wb", "binary", "cased", "accents", "char", "bigrams"],
)
def test_a_row_counted_directly_is_sklearns_transform(options: dict) -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from rasa_ext.nlu import count_row

    texts = [t for texts in EXAMPLES.values() for t in texts] + seed_lines() + ODD_TEXTS
    vectorizer = CountVectorizer(**options).fit(texts[::2] + ODD_TEXTS)
    for _ in range(2):  # the second time from the words' kept counts
        for text in texts:
            expected = vectorizer.transform([text])
            expected.sort_indices()
            expected = expected.tocoo()
            row = count_row(vectorizer, text)
            assert row.shape == expected.shape
            assert row.dtype == expected.dtype and row.col.dtype == expected.col.dtype
            np.testing.assert_array_equal(row.col, expected.col, err_msg=text)
            np.testing.assert_array_equal(row.row, expected.row)
            np.testing.assert_array_equal(row.data, expected.data, err_msg=text)


def test_an_unfitted_vectorizer_is_refused_as_sklearn_refuses_it() -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.feature_extraction.text import CountVectorizer

    from rasa_ext.nlu import count_row

    with pytest.raises(NotFittedError):
        count_row(CountVectorizer(analyzer="char_wb"), "hello")


def test_the_words_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from rasa_ext.nlu import RowCounter

    monkeypatch.setattr(RowCounter, "WORDS_KEPT", 3)
    vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=(1, 2)).fit(["abc def ghi"])
    counter = RowCounter(vectorizer)
    for word in ["abc", "def", "ghi", "jkl", "abc"]:
        counter(word)
        assert len(counter._words) <= 3
    np.testing.assert_array_equal(
        counter("abc def").toarray(), vectorizer.transform(["abc def"]).toarray()
    )
