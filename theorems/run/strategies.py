"""Hypothesis strategies for runs: separable problems, architectures (L = 2..5, widths 1..8),
initialisations (generic, and built to sit near a bound: balanced, W_1 = 0, equal singular values, a broken chain;
repaired to satisfy Assumption 1.2, or left as drawn to exercise the vacuous path)
and dynamics.  They draw `RunSpec`s, so every example is a reproducible, printable run."""
from __future__ import annotations

from hypothesis import strategies as st

from dynamics.runs import RunSpec

seeds = st.integers(0, 2**16)


@st.composite
def data_sources(draw: st.DrawFn, min_d: int = 1) -> tuple:
    if draw(st.booleans()):
        d = draw(st.integers(max(min_d, 2), 4))
        return ("a27", d, draw(st.integers(0, 6)), draw(st.sampled_from([0.2, 0.3, 0.5])), draw(seeds))
    return ("random", draw(st.integers(2, 12)), draw(st.integers(min_d, 4)),
            draw(st.sampled_from([0.05, 0.1, 0.3])), draw(seeds))


# generic draws (gaussian twice as often) and the initialisations built to sit near a bound
INITS = ["gaussian", "gaussian", "balanced", "zero_first", "flat_zero_last", "flat_heavy_last", "broken_chain"]
architectures = st.lists(st.integers(1, 8), min_size=1, max_size=4).map(tuple)  # hidden widths: L = 2..5


@st.composite
def run_specs(draw: st.DrawFn, method: str | None = None, loss: str | None = None, a12: bool | None = True,
              horizon_scale: float = 1.0) -> RunSpec:
    """A RunSpec.  method: "flow" | "gd" | None (either); a12: True, False or None (either)."""
    method = method or draw(st.sampled_from(["flow", "gd"]))
    hidden, init = draw(architectures), draw(st.sampled_from(INITS))
    if init == "broken_chain":  # it needs a second hidden layer of width >= 2
        hidden = (hidden[0], max(2, hidden[1] if len(hidden) > 1 else 2)) + hidden[2:]
    spec = RunSpec(
        data=draw(data_sources()),
        loss=loss or draw(st.sampled_from(["logistic", "exp"])),
        hidden=hidden,
        init=init,
        scale=draw(st.sampled_from([0.3, 0.7, 1.2])),
        seed=draw(seeds),
        a12=draw(st.booleans()) if a12 is None else a12,
        method=method,
        horizon=30.0 * horizon_scale,
        checkpoints=12,
    )
    if method == "gd":
        policy = draw(st.sampled_from(["a35", "a35", "constant-radius", "constant"]))
        if spec.loss == "exp" and policy != "constant":
            policy = "constant"
        kw = {"a35": dict(policy="a35"),
              "constant-radius": dict(policy="constant", radius=draw(st.sampled_from([1.0, 1.5, 2.5]))),
              "constant": dict(policy="constant", eta=draw(st.sampled_from([0.01, 0.1, 0.5])))}[policy]
        spec = spec.with_(horizon=int(300 * horizon_scale), **kw)
    return spec
