"""What the paper derives from the data once (ubar, gamma, S, alpha, Lemma 2.11 thresholds), certified
(the max-margin problem is solved exactly by dynamics.geometry, with a KKT certificate)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dynamics import geometry


@dataclass(frozen=True)
class Geometry:
    n: int
    d: int
    ubar: np.ndarray
    gamma: float
    support: np.ndarray
    dual: np.ndarray
    kkt_residual: float
    spans_space: bool      # Assumption 2.7 as stated
    spans_data: bool       # its relaxation: the support vectors span the span of the data
    alpha: float

    @property
    def perp(self) -> np.ndarray:
        """Pi_perp, the projection onto ubar-perp."""
        return np.eye(self.d) - np.outer(self.ubar, self.ubar)

    def thresholds(self) -> dict:
        """Lemma 2.11's thresholds on ||Pi_perp w|| by loss, both readings where the print is ambiguous."""
        t = lemma_2_11_thresholds(self.n, self.alpha)
        return {
            "exp": {"printed: 1 + ln(n)/alpha": t["exp-printed"], "proof: (1 + ln n)/alpha": t["exp-proof"]},
            "logistic": {"proof: 2n/(e alpha)": t["log"], "literal: (2n/e) alpha": t["log-literal"]},
        }


def lemma_2_11_thresholds(n: int, alpha: float) -> dict[str, float]:
    """Lemma 2.11's thresholds on ||Pi_perp w||, every reading of the print (inf when alpha = 0):
    exp loss 1 + ln(n)/alpha as printed and (1 + ln n)/alpha as the proof concludes; logistic loss
    2n/(e alpha) as the proof concludes and (2n/e) alpha as literally printed."""
    if not alpha > 0:
        return {"exp-printed": math.inf, "exp-proof": math.inf, "log": math.inf, "log-literal": 0.0}
    return {"exp-printed": 1 + math.log(n) / alpha, "exp-proof": (1 + math.log(n)) / alpha,
            "log": 2 * n / (math.e * alpha), "log-literal": 2 * n / math.e * alpha}


@lru_cache(maxsize=256)
def _certify(key: bytes, shape: tuple) -> Geometry:
    Z = np.frombuffer(key).reshape(shape)
    mm = geometry.max_margin(Z)
    full, relaxed = geometry.support_spans_data(Z, mm)
    a = geometry.alpha(Z, mm) if relaxed else 0.0
    return Geometry(shape[0], shape[1], mm.ubar, mm.gamma, mm.support, mm.dual, mm.kkt_residual, full, relaxed, a)


def certify(Z: np.ndarray) -> Geometry:
    """Certified max-margin geometry of z_1..z_n (cached on the data's bytes)."""
    Z = np.ascontiguousarray(Z, dtype=float)
    return _certify(Z.tobytes(), Z.shape)
