"""Calibration of the verifier: does a score of 0.8 mean "right 8 times in 10"?

`ece` measures it (expected calibration error over 10 equal-width bins of P(supported)),
`fit_temperature` fixes it (one temperature on the combiner's log-probabilities, fit by likelihood on
training data) and `calibrate` applies it, `supported_probability` reads P(supported) from any judge's verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.check.verdict import SUPPORTED, UNCERTAIN, Verdict


def ece(probabilities: list[float], outcomes: list[bool], bins: int = 10) -> float:
    """Expected calibration error: per bin of predicted probability, |mean prediction - observed rate|,
    weighted by the bin's share of the pairs (0 = calibrated)."""
    if not probabilities:
        return 0.0
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(outcomes, dtype=np.float64)
    # Bin b holds [b/bins, (b+1)/bins); a probability of exactly 1 belongs to the last bin.
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(total)


def fit_temperature(log_probs: Any, labels: Any, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature T minimizing the negative log-likelihood of softmax(log_probs / T) on `labels`
    (golden-section search in log T: the likelihood is unimodal in T)."""
    z = np.asarray(log_probs, dtype=np.float64)
    y = np.asarray(labels)

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(80):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if nll(c) < nll(d):
            b = d
        else:
            a = c
    return float(np.exp((a + b) / 2))


def softmax(logits: Any) -> Any:
    """Row-wise softmax, stable for large logits; float32 logits stay float32 (the encoder's), others float64."""
    z = np.asarray(logits)
    z = z.astype(np.result_type(z.dtype, np.float32), copy=False)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def calibrate(probs: Any, temperature: float) -> Any:
    """Label probabilities softened (T > 1) or sharpened (T < 1) by the temperature `fit_temperature` found."""
    return softmax(np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-9, 1.0)) / temperature)


def supported_probability(verdict: Verdict) -> float:
    """The judge's probability that the paper supports the claim.

    A verdict the checks overruled to another label keeps at most 1 - its new score; a judge without
    probabilities (an LLM's plain label) gives its score for a SUPPORTED verdict and 0 otherwise.
    """
    hopeful = verdict.label in (SUPPORTED, UNCERTAIN)
    if SUPPORTED in verdict.probabilities:
        p = verdict.probabilities[SUPPORTED]
        return p if hopeful else min(p, 1.0 - verdict.score)
    return verdict.score if hopeful else 0.0
