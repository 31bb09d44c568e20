"""Layer algebra of a deep linear network W = (W_1, ..., W_L), W_k of shape d_k x d_{k-1}, d_L = 1.

Weights are tuples ordered from the input: ws[0] = W_1, ws[-1] = W_L.  The risk gradient of the
predictor is returned as exp(log_c) * ghat with ||ghat|| <= 1, so that nothing underflows however
large the margins are (softmax-style weights of the per-example derivatives).

The dynamics kernels (product .. beta_of_R) are written once against the Array API: they run on numpy
arrays and torch tensors (CPU, CUDA) alike, on one network (W_k of shape (d_k, d_{k-1})) or on a batch
(shape (..., d_k, d_{k-1}); Z of shape (n, d) shared or (..., n, d) per run).  On numpy the reduced
quantities come back as numpy scalars.  The analysis helpers after them (top_triplet .. D) are numpy.
"""
from __future__ import annotations

import math

import numpy as np
from array_api_compat import array_namespace, device

Weights = tuple  # tuple of arrays, one per layer


def dims(ws: Weights) -> tuple[int, ...]:
    """(d_0, d_1, ..., d_L)."""
    return (ws[0].shape[-1],) + tuple(w.shape[-2] for w in ws)


def product(ws: Weights):
    """w_prod = (W_L ... W_1)^T, a vector of R^{d_0} per network (row vector times matrices from the
    output side: O(sum d_k d_{k-1}) work, not the O(d^3) of multiplying the matrices first)."""
    acc = ws[-1]
    for w in reversed(ws[:-1]):
        acc = acc @ w
    return acc[..., 0, :]


def margins(w, Z):
    """m_i = <z_i, w>: shape (..., n)."""
    xp = array_namespace(w, Z)
    if Z.ndim == 2:
        return w @ xp.matrix_transpose(Z)
    return (Z @ w[..., None])[..., 0]


def _logsumexp(xp, a):
    """log sum exp over the last axis (max-shifted; -inf if every entry is -inf)."""
    mx = xp.max(a, axis=-1, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    return mx[..., 0] + xp.log(xp.sum(xp.exp(a - mx), axis=-1))


def log_risk_of(m, loss):
    """log R = log (1/n) sum_i l(m_i) from the margins (..., n)."""
    xp = array_namespace(m)
    return _logsumexp(xp, loss.log_value(m)) - math.log(m.shape[-1])


def grad_parts(m, Z, loss):
    """(log_c, ghat) with grad R(w) = exp(log_c) * ghat, ||ghat|| <= 1, from the margins m = margins(w, Z).

    grad R(w) = (1/n) sum_i l'(m_i) z_i = -(1/n) sum_i exp(log|l'(m_i)|) z_i (eq. EQ-GRADW).
    """
    xp = array_namespace(m, Z)
    lg = loss.log_neg_deriv(m)
    log_c = _logsumexp(xp, lg) - math.log(m.shape[-1])
    p = xp.exp(lg - xp.max(lg, axis=-1, keepdims=True))
    p = p / xp.sum(p, axis=-1, keepdims=True)           # softmax(lg): the weights of the z_i
    return log_c, -(p[..., None, :] @ Z)[..., 0, :]


def risk_parts(w, Z, loss):
    """(margins, log R(w), log_c, ghat) with grad R(w) = exp(log_c) * ghat, ||ghat|| <= 1."""
    m = margins(w, Z)
    return (m, log_risk_of(m, loss), *grad_parts(m, Z, loss))


def risk(ws: Weights, Z, loss) -> float:
    return float(np.exp(risk_parts(product(ws), Z, loss)[1]))


def predictor_grad(w, Z, loss):
    """grad R(w) in R^d (float64; underflows to 0 only where the true value is below 1e-308)."""
    log_c, ghat = grad_parts(margins(w, Z), Z, loss)
    xp = array_namespace(ghat)
    return xp.exp(xp.asarray(log_c))[..., None] * ghat


def grad_factors(ws: Weights, g) -> tuple[list, list]:
    """(a, c) with dR/dW_k = a_k c_k^T (eq. EQ-GRAD: W_{k+1}^T...W_L^T g^T W_1^T...W_{k-1}^T), where
    a_k = (W_L...W_{k+1})^T and c_k = W_{k-1}...W_1 g; g = grad R(w_prod) or any multiple of it."""
    xp = array_namespace(g, *ws)
    a = [xp.ones(g.shape[:-1] + (1,), dtype=g.dtype, device=device(g))]
    for w in reversed(ws[1:]):
        a.append((xp.matrix_transpose(w) @ a[-1][..., None])[..., 0])
    c = [g]
    for w in ws[:-1]:
        c.append((w @ c[-1][..., None])[..., 0])
    return a[::-1], c


def layer_grads_from(ws: Weights, g) -> tuple:
    """dR/dW_k = a_k c_k^T for k = 1..L (grad_factors), as matrices."""
    return tuple(a[..., :, None] * c[..., None, :] for a, c in zip(*grad_factors(ws, g)))


def layer_grads(ws: Weights, Z, loss) -> tuple:
    return layer_grads_from(ws, predictor_grad(product(ws), Z, loss))


def fro(w):
    """||W||_F over the last two axes."""
    xp = array_namespace(w)
    return xp.sqrt(xp.sum(w * w, axis=(-2, -1)))


def spectral(w):
    """||W||_2, the largest singular value, over the last two axes (on the array's device)."""
    return array_namespace(w).linalg.svdvals(w)[..., 0]


def max_fro(ws: Weights):
    """The smallest R with W in B(R) = {max_k ||W_k||_F <= R}."""
    xp = array_namespace(*ws)
    return xp.max(xp.stack([xp.asarray(fro(w)) for w in ws], axis=-1), axis=-1)


def beta_of_R(R, L: int, beta: float, G: float):
    """beta(R) = 2 L^2 R^{2L-2} (beta + G), Lemma 3.2 (elementwise)."""
    return 2.0 * L**2 * R ** (2 * L - 2) * (beta + G)


def top_triplet(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(sigma, u, v): top singular value and vectors.  Signs are arbitrary: compare |<.,.>|."""
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    return float(s[0]), u[:, 0], vt[0]


def balance(ws: Weights) -> list[np.ndarray]:
    """A_{k,k+1} = W_k W_k^T - W_{k+1}^T W_{k+1}, k = 1..L-1 (constant along gradient flow)."""
    return [ws[k] @ ws[k].T - ws[k + 1].T @ ws[k + 1] for k in range(len(ws) - 1)]
