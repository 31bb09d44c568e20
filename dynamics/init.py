"""Initialisations W(0) for given dimensions (d_0, d_1, ..., d_{L-1}, 1)."""
from __future__ import annotations

import numpy as np

from . import network


def _check(dims):
    dims = tuple(int(d) for d in dims)
    if len(dims) < 2 or dims[-1] != 1 or min(dims) < 1:
        raise ValueError(f"dims must be (d_0, ..., d_{{L-1}}, 1) with positive widths; got {dims}")
    return dims


def gaussian(dims, scale: float = 0.5, seed: int = 0):
    """Independent N(0, scale^2 / fan_in) entries."""
    dims = _check(dims)
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((o, i)) * scale / np.sqrt(i) for i, o in zip(dims[:-1], dims[1:]))


def balanced(dims, scale: float = 0.5, seed: int = 0):
    """D = 0: W_k = s u_k u_{k-1}^T with unit u_k (u_L = 1), so W_k W_k^T = W_{k+1}^T W_{k+1}.

    Since d_L = 1 forces W_L W_L^T to be rank one, every balanced initialisation is of this form.
    """
    dims = _check(dims)
    rng = np.random.default_rng(seed)
    us = [v / np.linalg.norm(v) for v in (rng.standard_normal(d) for d in dims[:-1])] + [np.ones(1)]
    return tuple(scale * np.outer(us[k + 1], us[k]) for k in range(len(dims) - 1))


def zero_first(dims, scale: float = 0.5, seed: int = 0):
    """W_1 = 0, the others Gaussian (Appendix A: then R(W(0)) = l(0) and grad R(W(0)) != 0)."""
    ws = gaussian(dims, scale, seed)
    return (np.zeros_like(ws[0]),) + ws[1:]


def equal_frobenius(dims, norm: float = 1.0, seed: int = 0):
    """Gaussian directions rescaled to ||W_k||_F = norm on every layer (as in Figure 3b)."""
    return tuple(w * (norm / network.fro(w)) for w in gaussian(dims, 1.0, seed))


def _flat(rows: int, cols: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """A rows x cols matrix whose min(rows, cols) singular values all equal `scale` (a random orthonormal frame)."""
    q, _ = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    return scale * (q if rows >= cols else q.T)


def flat_zero_last(dims, scale: float = 0.5, seed: int = 0):
    """Near Lemma 2.6's first bound: every layer but the last has equal singular values, W_L = 0.  For L = 2,
    ||W_1||_F^2 - ||W_1||_2^2 = (r - 1) s^2 against D = (r + 1) s^2 (r = rank): the bound is (r-1)/(r+1) tight."""
    dims = _check(dims)
    rng = np.random.default_rng(seed)
    ws = [_flat(o, i, scale, rng) for i, o in zip(dims[:-2], dims[1:-1])]
    return tuple(ws) + (np.zeros((1, dims[-2])),)


def flat_heavy_last(dims, scale: float = 0.5, seed: int = 0):
    """Equal singular values below a last layer holding the largest Frobenius norm (1.5 x the others'): D's
    first two terms cancel, so D rests on its balance terms alone."""
    dims = _check(dims)
    rng = np.random.default_rng(seed)
    ws = [_flat(o, i, scale, rng) for i, o in zip(dims[:-2], dims[1:-1])]
    last = rng.standard_normal((1, dims[-2]))
    target = np.sqrt(1.5 * max(network.fro(w) ** 2 for w in ws))
    return tuple(ws) + (last * (target / network.fro(last)),)


def broken_chain(dims, scale: float = 0.5, seed: int = 0):
    """A balanced chain broken once: W_k = s a_k a_{k-1}^T like `balanced`, except that W_2's output
    direction e_1 and W_3's input direction e_2 are orthogonal, so W_3 W_2 = 0 and w_prod = 0 exactly.
    At the first step dR/dW_1 = 0 while dR/dW_2 = (W_L...W_3)^T grad R(0) W_1^T != 0: layer 2 moves alone,
    Appendix C's tr Q_2 grows while tr P_1 stays 0 (the case that separates eq. (C.11) from its corrected
    form).  Needs L >= 3 and d_2 >= 2."""
    dims = _check(dims)
    if len(dims) < 4 or dims[2] < 2:
        raise ValueError(f"init broken_chain needs L >= 3 layers and d_2 >= 2 (hidden = [d_1, d_2, ...] with "
                         f"d_2 >= 2); got dims {dims}")
    rng = np.random.default_rng(seed)
    us = [v / np.linalg.norm(v) for v in (rng.standard_normal(d) for d in dims[:-1])] + [np.ones(1)]
    us[2] = np.eye(dims[2])[0]   # W_2 = s e_1 a_1^T
    ws = [scale * np.outer(us[k + 1], us[k]) for k in range(len(dims) - 1)]
    ws[2] = scale * np.outer(us[3], np.eye(dims[2])[1])   # W_3 = s a_3 e_2^T: exactly orthogonal to e_1
    return tuple(ws)


def satisfy_a12(ws, Z, loss, max_halvings: int = 60):
    """Make a generic initialisation satisfy Assumption 1.2's R(W(0)) <= l(0).

    Flip W_L so the mean margin is >= 0, then halve W_1 until R <= l(0): for small W_1 the risk is
    l(0) + l'(0) * mean margin + O(|W_1|^2) < l(0).  Returns the new weights (unchanged if already fine).
    """
    ws = tuple(np.array(w) for w in ws)
    if float(np.mean(Z @ network.product(ws))) < 0:
        ws = ws[:-1] + (-ws[-1],)
    for _ in range(max_halvings):
        if network.risk(ws, Z, loss) <= loss.at_zero:
            break
        ws = (ws[0] / 2,) + ws[1:]
    return ws


INITS = {"gaussian": gaussian, "balanced": balanced, "zero_first": zero_first, "equal_frobenius": equal_frobenius,
         "flat_zero_last": flat_zero_last, "flat_heavy_last": flat_heavy_last, "broken_chain": broken_chain}
