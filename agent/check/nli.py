"""The shipped claim-verifier model: a MiniLM cross-encoder fine-tuned by train/verifier.py.

It reads (claim, abstract sentence) pairs and gives P(supports), P(contradicts), P(neither). It runs
on onnxruntime (already installed by chromadb) with the tokenizer shipped for the embedder; torch is
needed only to train it. Training imports `encode` from here so both sides tokenize identically.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from agent.check.calibration import softmax
from agent.core import offline  # onnxruntime's telemetry off before it is imported
from agent.core.errors import SurveyError

MODEL_DIR = Path(__file__).parents[1] / "data" / "verifier"
TOKENIZER = Path(__file__).parents[1] / "data" / "minilm" / "tokenizer.json"
MAX_TOKENS = 128


def tokenizer() -> Any:
    """The MiniLM WordPiece tokenizer, truncating pairs longest-first and padding per batch."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS, strategy="longest_first")
    return tok


def encode(tok: Any, claims: list[str], sentences: list[str]) -> dict[str, np.ndarray]:
    """Model inputs for claim/sentence pairs, padded to the longest pair of the batch."""
    encodings = tok.encode_batch(list(zip(claims, sentences)))
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class NLIModel:
    """ONNX inference for the fine-tuned cross-encoder in `folder` (model.onnx + meta.json)."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None) -> None:
        self.folder = folder
        self.threads = threads or os.cpu_count() or 1
        if not (folder / "model.onnx").is_file():
            raise SurveyError(f"{folder}/model.onnx: verifier model missing; reinstall survey-agent or run train/verifier.py fit")

    @cached_property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.folder / "meta.json").read_text())

    @cached_property
    def _session(self) -> Any:
        import onnxruntime as ort

        offline.quiet_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tok(self) -> Any:
        return tokenizer()

    def probabilities(self, claims: list[str], sentences: list[str], batch: int = 32) -> np.ndarray:
        """Rows of [P(supports), P(contradicts), P(neither)], one per pair."""
        if not claims:
            return np.zeros((0, 3), dtype=np.float32)
        names = {i.name for i in self._session.get_inputs()}
        out = []
        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = sorted(range(len(claims)), key=lambda i: len(claims[i]) + len(sentences[i]))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            inputs = encode(self._tok, [claims[i] for i in rows], [sentences[i] for i in rows])
            logits = self._session.run(None, {k: v for k, v in inputs.items() if k in names})[0]
            out.append(softmax(logits.astype(np.float32)))
        probs = np.concatenate(out)
        result = np.empty_like(probs)
        result[order] = probs
        return result
