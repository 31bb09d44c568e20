"""Layer algebra of a deep linear network W = (W_1, ..., W_L), W_k of shape d_k x d_{k-1}, d_L = 1.

Weights are tuples ordered from the input: ws[0] = W_1, ws[-1] = W_L.  The risk gradient of the
predictor is returned as exp(log_c) * ghat with ||ghat|| <= 1, so that nothing underflows however
large the margins are (softmax-style weights of the per-example derivatives).
"""
from __future__ import annotations

from functools import reduce

import numpy as np
from scipy.special import logsumexp, softmax

Weights = tuple  # tuple[np.ndarray, ...]


def dims(ws: Weights) -> tuple[int, ...]:
    """(d_0, d_1, ..., d_L)."""
    return (ws[0].shape[1],) + tuple(w.shape[0] for w in ws)


def product(ws: Weights) -> np.ndarray:
    """w_prod = (W_L ... W_1)^T as a vector of R^{d_0}."""
    return reduce(lambda acc, w: w @ acc, ws[1:], ws[0])[0] if len(ws) > 1 else ws[0][0].copy()


def _suffixes(ws: Weights) -> list[np.ndarray]:
    """a_k = (W_L ... W_{k+1})^T for k = 1..L (a_L = [1])."""
    out = [np.ones(1)]
    for w in reversed(ws[1:]):
        out.append(w.T @ out[-1])
    return out[::-1]


def layer_grads_from(ws: Weights, g: np.ndarray) -> tuple[np.ndarray, ...]:
    """dR/dW_k = W_{k+1}^T...W_L^T g^T W_1^T...W_{k-1}^T (eq. EQ-GRAD): a rank-one outer product
    a_k c_k^T, with a_k = (W_L...W_{k+1})^T and c_k = W_{k-1}...W_1 g."""
    a = _suffixes(ws)
    grads, c = [], g
    for k, w in enumerate(ws):
        grads.append(np.outer(a[k], c))
        c = w @ c
    return tuple(grads)


def risk_parts(w: np.ndarray, Z: np.ndarray, loss):
    """(margins, log R(w), log_c, ghat) with grad R(w) = exp(log_c) * ghat, ||ghat|| <= 1.

    grad R(w) = (1/n) sum_i l'(m_i) z_i = -(1/n) sum_i exp(log|l'(m_i)|) z_i (eq. EQ-GRADW).
    """
    m = Z @ w
    n = len(m)
    log_risk = float(logsumexp(loss.log_value(m)) - np.log(n))
    lg = loss.log_neg_deriv(m)
    log_c = float(logsumexp(lg) - np.log(n))
    ghat = -(softmax(lg) @ Z)
    return m, log_risk, log_c, ghat


def risk(ws: Weights, Z: np.ndarray, loss) -> float:
    return float(np.exp(risk_parts(product(ws), Z, loss)[1]))


def predictor_grad(w: np.ndarray, Z: np.ndarray, loss) -> np.ndarray:
    """grad R(w) in R^d (float64; underflows to 0 only where the true value is below 1e-308)."""
    _, _, log_c, ghat = risk_parts(w, Z, loss)
    return np.exp(log_c) * ghat


def layer_grads(ws: Weights, Z: np.ndarray, loss) -> tuple[np.ndarray, ...]:
    return layer_grads_from(ws, predictor_grad(product(ws), Z, loss))


def fro(w: np.ndarray) -> float:
    return float(np.linalg.norm(w))


def top_triplet(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(sigma, u, v): top singular value and vectors.  Signs are arbitrary: compare |<.,.>|."""
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    return float(s[0]), u[:, 0], vt[0]


def spectral(w: np.ndarray) -> float:
    return float(np.linalg.norm(w, 2))


def balance(ws: Weights) -> list[np.ndarray]:
    """A_{k,k+1} = W_k W_k^T - W_{k+1}^T W_{k+1}, k = 1..L-1 (constant along gradient flow)."""
    return [ws[k] @ ws[k].T - ws[k + 1].T @ ws[k + 1] for k in range(len(ws) - 1)]


def D(ws0: Weights) -> float:
    """D := max_k ||W_k(0)||_F^2 - ||W_L(0)||_F^2 + sum_{k<L} ||A_{k,k+1}||_2 (Section 2.1)."""
    return (max(fro(w) ** 2 for w in ws0) - fro(ws0[-1]) ** 2
            + sum(spectral(a) for a in balance(ws0)))


def max_fro(ws: Weights) -> float:
    """The smallest R with W in B(R) = {max_k ||W_k||_F <= R}."""
    return max(fro(w) for w in ws)


def beta_of_R(R: float, L: int, beta: float, G: float) -> float:
    """beta(R) = 2 L^2 R^{2L-2} (beta + G), Lemma 3.2."""
    return 2.0 * L**2 * R ** (2 * L - 2) * (beta + G)
