"""The mutant catalogue (theorems.run.mutants): its records, its patches restoring what they replace, and
one mutant killed end to end (fresh interpreters, a tiny verify limited to the claim it should break)."""
from concurrent.futures import ThreadPoolExecutor

from theorems import model
from theorems.run import mutants as M


def test_catalogue_is_large_and_named_once():
    names = [m.name for m in M.CATALOGUE]
    assert len(names) == len(set(names))
    assert len(names) >= 18
    assert sum(m.counted for m in M.CATALOGUE) >= 15
    for m in M.CATALOGUE:
        assert m.broken and m.where
        assert m.counted or m.why_not_counted, f"{m.name}: a mutant left uncounted must say why"


def test_applying_and_unapplying_restores_the_function():
    from dynamics import network

    original = network.beta_of_R
    with M.by_name("beta-halved").apply():
        assert network.beta_of_R is not original
        assert network.beta_of_R(2.0, 3, 0.25, 1.0) == 0.5 * original(2.0, 3, 0.25, 1.0)
    assert network.beta_of_R is original


def test_claim_mutant_restores_the_registry_entry():
    claim = model.REGISTRY["L2.6a"]
    with M.by_name("L2.6a-D-halved").apply():
        assert model.REGISTRY["L2.6a"] is not claim
    assert model.REGISTRY["L2.6a"] is claim


def test_frozen_field_and_defaults_are_restored():
    from dynamics import flow, losses

    deriv, defaults = losses.LOGISTIC._log_neg_deriv, flow.gradient_flow.__defaults__
    with M.by_name("loss-deriv-x1.5").apply(), M.by_name("flow-tolerance-loose").apply():
        assert losses.LOGISTIC._log_neg_deriv is not deriv and flow.gradient_flow.__defaults__ != defaults
    assert losses.LOGISTIC._log_neg_deriv is deriv and flow.gradient_flow.__defaults__ is defaults


def test_comparison_reports_what_verify_would():
    base = {"status": {"A": "pass", "B": "erratum", "C": "pass"}, "control_caught": {"A": True}, "exit": 0}
    assert M.caught_by(base, base) == []
    worse = {"status": {"A": "pass", "B": "pass", "C": "vacuous"}, "control_caught": {"A": False}, "exit": 1}
    assert M.caught_by(base, worse) == ["A~control (no longer caught)", "B (erratum lost: pass)", "C (vacuous)"]
    row = M.judge_result(M.by_name("beta-halved"), base, {"hang": True, "seconds": 9.0})
    assert row["killed"] and row["by"] == ["hang"]


def test_a_mutant_is_killed_on_a_tiny_verify():
    """beta(R) halved in the simulator: Assumption 3.5's check (beta(R) transcribed on the claims' side)
    sees the steps it did not ask for."""
    cfg = M.RunConfig(profile="quick", claims=["A3.5"], horizon_scale=0.01)
    with ThreadPoolExecutor(max_workers=2) as pool:   # the two fresh interpreters side by side
        base, raw = pool.map(lambda name: M.run_once(name, cfg, timeout=300), [None, "beta-halved"])
    assert base["digest"]["status"]["A3.5"] == "pass"
    row = M.judge_result(M.by_name("beta-halved"), base["digest"], raw)
    assert row["killed"] and any(b.startswith("A3.5") for b in row["by"]), row
