"""Assumption 3.5: "The step size eta_t = min{1/beta(R_t), 1}, where R_t satisfies W(t) in B(R_t - 1),
and if W(t+1) in B(R_t - 1), R_{t+1} = R_t."  The growth rule is dynamics.descent.Assumption35's
(stated in the report); this claim checks every kept step of such a run against the three conditions.
"""
from dynamics import network
from dynamics.trajectory import Rule

from ..model import Claim, register
from ._paper import beta_of


def _a35_steps(traj) -> str:
    """Only a run stepped by Assumption 3.5's rule can meet it."""
    return "" if traj.policy.rule is Rule.ASSUMPTION_35 else f"step sizes are {traj.policy}, not Assumption 3.5's"


def _sides(pair, traj, rule=1.0):
    a, b = pair
    if traj.policy.rule is not Rule.ASSUMPTION_35:
        return None
    R = a.radius
    eta = rule * min(1.0 / beta_of(R, traj.L, traj.loss.name), 1.0)
    stays = network.max_fro(b.ws) <= R - 1
    lhs = [abs(a.step_size - eta), network.max_fro(a.ws) - (R - 1), abs(b.radius - R) if stays else 0.0]
    return lhs, 0.0, [a.step_size, R, R]


register(Claim(
    "A3.5", "Assumption 3.5", "step",
    "eta_t = min(1/beta(R_t), 1), W(t) in B(R_t - 1), R_{t+1} = R_t while W(t+1) in B(R_t - 1)",
    sides=_sides, runs="gd", hypotheses=("A3.1",), requires=_a35_steps, section="setting",
    control=lambda p, t: _sides(p, t, rule=0.5), control_note="step rule halved: eta_t = min(1/beta(R_t), 1)/2",
))
