"""The claims' own transcriptions of the paper's formulas (theorems/claims/_paper.py), pinned against values
worked by hand; tolerances with a cap: a run too inaccurate to judge is an `error`, never a wider tolerance."""
import math

import numpy as np
import pytest

from dynamics import data, flow, init, losses
from theorems.claims import _paper
from theorems.engine.evaluate import evaluate
from theorems.model import REGISTRY

W1 = np.array([[1.0, 0.0], [0.0, 2.0]])
W2 = np.array([[1.0, 1.0]])


def test_D_by_hand():
    # max ||W_k||_F^2 = 5, ||W_L||_F^2 = 2, A = W1 W1^T - W2^T W2 = [[0, -1], [-1, 3]], ||A||_2 = (3 + sqrt 13)/2
    assert _paper.D_of((W1, W2)) == pytest.approx(5 - 2 + (3 + math.sqrt(13)) / 2, rel=1e-15)
    w1, w2 = np.array([[3.0, 4.0]]), np.array([[5.0]])
    assert _paper.D_of((w1, w2)) == pytest.approx(0.0, abs=1e-12)   # W1 W1^T = 25 = W2^T W2, max - last = 0


def test_beta_by_hand():
    # beta(R) = 2 L^2 R^(2L-2) (beta + G), logistic beta = 1/4, G = 1: L = 3, R = 2 -> 2 * 9 * 16 * 1.25 = 360
    assert _paper.beta_of(2.0, 3, "logistic") == pytest.approx(360.0, rel=1e-15)
    assert _paper.beta_of(1.0, 1, "logistic") == pytest.approx(2.5, rel=1e-15)
    with pytest.raises(KeyError):
        _paper.beta_of(1.0, 2, "exp")   # the exp loss has no finite G (Assumption 3.1 fails)


def test_spectral_quantities_by_hand():
    class T:
        ws0 = (W1, W2)
    assert _paper.spectral0(T) == pytest.approx([2.0, math.sqrt(2.0)], rel=1e-15)
    assert _paper.A_norms(T) == pytest.approx([(3 + math.sqrt(13)) / 2], rel=1e-15)


def test_an_inaccurate_flow_is_an_error_not_a_wider_tolerance():
    ds = data.random_separable(10, 3, 0.1, seed=2)
    loss = losses.get("logistic")
    ws0 = init.satisfy_a12(init.gaussian((3, 4, 3, 1), 0.7, 1), ds.Z, loss)
    sloppy = flow.gradient_flow(ws0, ds.Z, loss, horizon=50.0, checkpoints=12, rtol=1e-3, atol=1e-3)
    v = evaluate(REGISTRY["L2.6a"], sloppy)
    assert v.status == "error" and "not accurate enough" in v.message, v.message
    accurate = flow.gradient_flow(ws0, ds.Z, loss, horizon=50.0, checkpoints=12)
    assert evaluate(REGISTRY["L2.6a"], accurate).status == "pass"


LONG = {"gd": dict(method="gd", policy="constant", eta=0.01, horizon=10**7),
        "relative": dict(method="gd", policy="relative", eta=1e-5, max_norm=1e6, horizon=10**7),
        "geometric flow": dict(method="flow", param="geometric", max_norm=1e6, hidden=(16, 16), data=("random", 50, 20, 0.1, 3))}


@pytest.mark.parametrize("kind", LONG)
def test_every_simulator_keeps_the_time_budget(kind):
    import time

    from dynamics.budget import BudgetExceeded
    from dynamics.runs import RunSpec, simulate

    begin = time.perf_counter()
    with pytest.raises(BudgetExceeded):
        simulate(RunSpec(checkpoints=5, **LONG[kind]), max_seconds=0.2)
    assert time.perf_counter() - begin < 5


def test_a_simulation_past_its_budget_is_an_error_not_a_hang():
    from dynamics.runs import RunSpec
    from theorems.model import Outcome
    from theorems.run.verify import _check_run

    spec = RunSpec(checkpoints=5, **LONG["gd"])
    out = Outcome()
    _check_run(out, [REGISTRY["EQ3.3"]], "run000", spec, "numpy", {}, max_seconds=0.2)
    assert out.verdicts[0].status == "error" and "budget" in out.verdicts[0].message
