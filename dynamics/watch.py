"""Recording the paper's layer quantities on any torch model while it trains (and on saved weights).

Per dense layer W (an nn.Linear weight, rows = outputs): ||W||_2, ||W||_F, the ratio ||W||_2/||W||_F, its
lower bound 1/sqrt(min(shape)), the stable rank ||W||_F^2/||W||_2^2, and for adjacent layers k, k+1 the
alignment |<v_{k+1}, u_k>| (top right singular vector of the next layer against the top left one of this
layer; Lemma 2.6 / Theorem 2.2 say it tends to 1 on deep linear networks).  For a bias-free linear chain
with one output and data (X, y), also cos(w_prod, ubar), w_prod = (W_L ... W_1)^T against the max-margin
direction of Z = y[:, None] * X (Theorem 2.2: it tends to 1).

Layers are found in forward order: pre-hooks on every leaf module trace the first forward call; until one
happens, module order stands in.  Two dense layers are adjacent when only elementwise modules
(activations, dropout, reshapes: ELEMENTWISE) run between them and their shapes chain.  Activations
written as functions inside forward() are invisible and count as elementwise.

||W||_2 and the singular vectors come from warm-started power iteration on the weights' device (a lower
bound on ||W||_2), except at exact records (the first one, and `close()`): a float64 SVD there.  Recorded
values stay on the device until `history()`.  torch is imported inside the functions (optional extra).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

# leaf modules that act elementwise or only reshape: dense layers with only these between them are adjacent
ELEMENTWISE = frozenset({
    "Identity", "Dropout", "Dropout1d", "AlphaDropout", "FeatureAlphaDropout", "Flatten", "Unflatten",
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Tanh",
    "Sigmoid", "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus", "Softsign", "LogSigmoid", "Tanhshrink",
    "Softshrink", "Hardshrink", "Threshold",
})
LINEAR_ONLY = frozenset({"Identity", "Dropout", "Flatten", "Unflatten"})  # allowed in a linear chain
COLUMNS = ("step", "layer", "rows", "cols", "spectral_norm", "frobenius_norm", "ratio", "lower_bound",
           "stable_rank", "next_layer", "alignment", "exact", "margin_cos")
POWER_ITERS = 2   # warm-started: the weights move little between records


# ---- spectral quantities of one weight tensor -----------------------------------------------------------

def top_singular(w, v=None, iters: int = POWER_ITERS):
    """(sigma, u, v) of a 2-D tensor: a float64 SVD when v is None, else `iters` power-iteration steps
    warm-started at v in w's dtype (sigma = ||W^T u||, a lower bound on ||W||_2).  Stays on w's device.
    Non-finite weights (a diverged run) give NaN at an exact record instead of failing in the SVD."""
    import torch

    with torch.no_grad():
        if v is None:
            w = w.detach().double()
            if not bool(torch.isfinite(w).all()):   # a diverged run: NaN, not a LinAlgError from the SVD
                nan = torch.full((max(w.shape),), math.nan, dtype=w.dtype, device=w.device)
                return nan[0], nan[: w.shape[0]], nan[: w.shape[1]]
            U, S, Vh = torch.linalg.svd(w, full_matrices=False)
            return S[0], U[:, 0], Vh[0]
        w = w.detach()
        v = v.to(w.dtype)
        for _ in range(iters):
            u = w @ v
            u = u / torch.linalg.vector_norm(u).clamp_min(torch.finfo(w.dtype).tiny)
            v = w.T @ u
            sigma = torch.linalg.vector_norm(v)
            v = v / sigma.clamp_min(torch.finfo(w.dtype).tiny)
        return sigma, u, v


def frobenius(w, exact: bool = True):
    """||W||_F on w's device: accumulated in float64 when exact, else in w's dtype (cheaper)."""
    import torch

    with torch.no_grad():
        return torch.linalg.vector_norm(w.detach(), dtype=torch.float64 if exact else None)


def product_direction(weights):
    """w_prod = (W_L ... W_1)^T of a chain with one output, float64 on the weights' device."""
    import torch

    with torch.no_grad():
        r = weights[-1].detach().double()
        for w in reversed(weights[:-1]):
            r = r @ w.detach().double()
        return r.reshape(-1)


def layer_row(step: int, name: str, shape, sigma: float, fro: float, exact: bool) -> dict:
    """One history row from a layer's ||W||_2 and ||W||_F (float64)."""
    rows, cols = int(shape[0]), int(shape[1])
    return {"step": step, "layer": name, "rows": rows, "cols": cols, "spectral_norm": sigma,
            "frobenius_norm": fro, "ratio": sigma / fro if fro > 0 else math.nan,
            "lower_bound": 1.0 / math.sqrt(min(rows, cols)),
            "stable_rank": fro * fro / (sigma * sigma) if sigma > 0 else math.nan,
            "next_layer": None, "alignment": math.nan, "exact": exact, "margin_cos": math.nan}


def chain_pairs(names: list[str], shapes: dict, between: dict) -> list[tuple[str, str]]:
    """Adjacent (k, k+1) among consecutive dense layers: shapes chain (rows of W_k = columns of W_{k+1})
    and only ELEMENTWISE modules run between them (`between[(a, b)]`: class names of those leaves)."""
    return [(a, b) for a, b in zip(names, names[1:])
            if shapes[b][1] == shapes[a][0] and set(between.get((a, b), ())) <= ELEMENTWISE]


def to_host(scalars: list) -> list[float]:
    """0-d tensors (any devices and dtypes) as floats, with one device-to-host copy per device and dtype."""
    import torch

    out: list = [None] * len(scalars)
    for kind in {(t.device, t.dtype) for t in scalars}:
        idx = [i for i, t in enumerate(scalars) if (t.device, t.dtype) == kind]
        values = torch.stack([scalars[i] for i in idx]).to(torch.float64).cpu().tolist()
        for i, x in zip(idx, values):
            out[i] = x
    return out


# ---- weights from a file (`aligncheck inspect`) --------------------------------------------------------

def dense_tensors(state: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The 2-D floating-point tensors of a (possibly nested) state_dict, in file order."""
    import torch

    out = []
    if isinstance(state, dict):
        for k, v in state.items():
            out += dense_tensors(v, f"{prefix}{k}.")
    elif isinstance(state, torch.Tensor) and state.ndim == 2 and state.is_floating_point():
        out.append((prefix[:-1], state))
    return out


def weights_table(tensors: list[tuple[str, Any]], step: int = 0) -> list[dict]:
    """History rows (exact, float64 SVD) for named 2-D tensors, with alignments where shapes chain."""
    names = [n for n, _ in tensors]
    shapes = {n: tuple(t.shape) for n, t in tensors}
    tops = {n: top_singular(t) for n, t in tensors}
    rows = {n: layer_row(step, n, shapes[n], float(tops[n][0]), float(frobenius(t)), True) for n, t in tensors}
    for a, b in chain_pairs(names, shapes, {}):
        rows[a]["next_layer"], rows[a]["alignment"] = b, float(abs(tops[b][2] @ tops[a][1]))
    return [rows[n] for n in names]


def frame(rows: Iterable[dict]):
    """The history as a pandas DataFrame with COLUMNS."""
    import pandas as pd

    return pd.DataFrame(list(rows), columns=list(COLUMNS))


# ---- the recorder --------------------------------------------------------------------------------------

class Recorder:
    """Records the quantities of a model's dense layers every `every` calls of `step()`.

    The first record is taken at construction (exact); `close()` takes a final exact record and removes
    the hooks (also on leaving a `with` block).  `history()` is a pandas DataFrame (COLUMNS).
    """

    def __init__(self, model, every: int = 10, layers: list[str] | None = None, data=None, optimizer=None,
                 iters: int = POWER_ITERS):
        import torch

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"watch needs a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.model, self.every, self.iters = model, every, iters
        self.layers = _select(model, layers)
        self.steps, self.closed = 0, False
        self._leaf = {n: m for n, m in model.named_modules() if not any(True for _ in m.children())}
        self._trace: list[str] = []
        self._traced = False
        self._pairs: list[tuple[str, str]] | None = None
        self._hooks = [m.register_forward_pre_hook(self._tracer(n)) for n, m in self._leaf.items()]
        self._hooks.append(model.register_forward_hook(lambda *_: self._end_trace()))
        if optimizer is not None:
            self._hooks.append(optimizer.register_step_post_hook(lambda *_: self.step()))
        self._ubar = _max_margin_direction(data) if data is not None else None
        self._v: dict[str, Any] = {}
        self._records: list[dict] = []
        self.record(exact=True)

    # the forward-order trace: the first forward call, through pre-hooks on every leaf module
    def _tracer(self, name):
        def hook(*_):
            if not self._traced and name not in self._trace:
                self._trace.append(name)
        return hook

    def _end_trace(self):
        if self._trace:
            self._traced = True
            for h in self._hooks[: len(self._leaf) + 1]:
                h.remove()

    def _resolve(self) -> list[tuple[str, str]]:
        """Forward order (the trace, else module order) and the adjacent pairs; fixed once a trace exists."""
        if self._pairs is not None:
            return self._pairs
        order = self._trace + [n for n in self._leaf if n not in self._trace]
        names = sorted(self.layers, key=order.index)
        between = {}
        for a, b in zip(names, names[1:]):
            between[(a, b)] = [type(self._leaf[n]).__name__ for n in order[order.index(a) + 1: order.index(b)]]
        pairs = chain_pairs(names, {n: tuple(self.layers[n].weight.shape) for n in names}, between)
        if self._traced or not self._trace:
            self.layers = {n: self.layers[n] for n in names}
            if self._traced:
                self._pairs = pairs
        self._check_chain(names, pairs, order)
        return pairs

    def _chain_problems(self, names, pairs, order) -> list[str]:
        """Why the watched layers are not a bias-free linear chain (empty: they are one)."""
        kinds = {type(self._leaf[n]).__name__ for n in order if n not in self.layers} - LINEAR_ONLY
        return [p for p, bad in (
            ("a layer has a bias", any(self.layers[n].bias is not None for n in names)),
            ("the layers are not one chain", len(pairs) != len(names) - 1),
            (f"modules other than dense layers ({', '.join(sorted(kinds))})", bool(kinds))) if bad]

    def _check_chain(self, names, pairs, order):
        if self._ubar is None:
            return
        first, last = self.layers[names[0]].weight, self.layers[names[-1]].weight
        problems = self._chain_problems(names, pairs, order) + [p for p, bad in (
            ("the last layer has more than one output", last.shape[0] != 1),
            (f"the data has {len(self._ubar)} features, the first layer {first.shape[1]}",
             len(self._ubar) != first.shape[1])) if bad]
        if problems:
            raise ValueError("data given but the model is not a bias-free linear chain with one output: "
                             + "; ".join(problems))

    @property
    def linear_chain(self) -> bool:
        """Whether the watched layers are a bias-free linear chain (only dense layers, reshapes and dropout
        as modules; activations written as functions in forward() cannot be seen)."""
        pairs = self._resolve()
        order = self._trace + [n for n in self._leaf if n not in self._trace]
        return not self._chain_problems(list(self.layers), pairs, order)

    def step(self) -> None:
        """Count one optimizer step; record every `every` steps."""
        if self._trace and not self._traced:   # a forward ran, but not through the model's own __call__
            self._end_trace()
        self.steps += 1
        if self.steps % self.every == 0:
            self.record()

    def record(self, exact: bool = False) -> None:
        """Record now (exact: a float64 SVD per layer instead of warm-started power iteration)."""
        import torch

        if self._records and self._records[-1]["step"] == self.steps:
            self._records.pop()
        tops, fros = {}, {}
        for n, layer in self.layers.items():
            w = layer.weight
            warm = None if exact or n not in self._v else self._v[n].to(w.device)   # the model may have moved
            s, u, v = top_singular(w, warm, self.iters)
            self._v[n] = v.to(w.dtype)
            tops[n], fros[n] = (s, u, v), frobenius(w, exact)
        rec = {"step": self.steps, "exact": exact, "tops": tops, "fro": fros}
        if self._ubar is not None or self._trace or self._records:
            self._finish(rec)
        self._records.append(rec)
        if self._ubar is not None:
            w = product_direction([self.layers[n].weight for n in self.layers])
            self._ubar = self._ubar.to(w.device)
            rec["cos"] = (w @ self._ubar) / torch.linalg.vector_norm(w)

    def _finish(self, rec):
        """Alignments of a record (needs the pairs); the vectors are dropped afterwards."""
        pairs = self._resolve()
        if "tops" in rec:
            t = rec.pop("tops")
            rec["sigma"] = {n: t[n][0] for n in t}
            rec["align"] = {(a, b): (t[b][2].to(t[a][1].dtype) @ t[a][1]).abs() for a, b in pairs}

    def history(self):
        """Every record as a pandas DataFrame, one row per (step, dense layer), float64 (COLUMNS); the
        recorded values come to the host here, one copy per device."""
        for rec in self._records:
            self._finish(rec)
        keys = [(i, part, k) for i, rec in enumerate(self._records) for part in ("sigma", "fro", "align")
                for k in rec[part]] + [(i, "cos", None) for i, rec in enumerate(self._records) if "cos" in rec]
        got = dict(zip(keys, to_host([self._records[i][p] if k is None else self._records[i][p][k]
                                      for i, p, k in keys])))
        rows = []
        for i, rec in enumerate(self._records):
            out = {n: layer_row(rec["step"], n, tuple(self.layers[n].weight.shape), got[(i, "sigma", n)],
                                got[(i, "fro", n)], rec["exact"]) for n in self.layers}
            for a, b in rec["align"]:
                out[a]["next_layer"], out[a]["alignment"] = b, got[(i, "align", (a, b))]
            for r in out.values():
                r["margin_cos"] = got.get((i, "cos", None), math.nan)
            rows += out.values()
        return frame(rows)

    def pairs(self) -> list[tuple[str, str]]:
        """The adjacent (k, k+1) pairs among the watched layers (forward order once a forward ran)."""
        return list(self._resolve())

    def close(self, record: bool = True) -> None:
        """A final exact record (unless record=False); remove the hooks."""
        if self.closed:
            return
        if record:
            self.record(exact=True)
        for h in self._hooks:
            h.remove()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            for h in self._hooks:
                h.remove()
            self.closed = True
        return False


def _select(model, layers: list[str] | None) -> dict:
    """The dense layers (nn.Linear) by name, module order; `layers` chooses some (unknown names: ValueError)."""
    import torch

    dense = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    if not dense:
        raise ValueError(f"{type(model).__name__} has no dense (nn.Linear) layers to watch")
    if layers is None:
        return dense
    unknown = [n for n in layers if n not in dense]
    if unknown:
        raise ValueError(f"not dense layers of the model: {', '.join(unknown)} (dense layers: {', '.join(dense)})")
    return {n: dense[n] for n in layers}


def _max_margin_direction(data):
    """ubar of data (X, y) (y in {-1, +1}) as a float64 tensor; not separable: ValueError."""
    import torch

    from .geometry import max_margin

    X, y = (np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=float) for a in data)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"data must be X of shape (n, d) and y of shape (n,); got {X.shape} and {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("labels y must be -1 or +1 for the max-margin direction")
    return torch.tensor(max_margin(y[:, None] * X).ubar, dtype=torch.float64)
