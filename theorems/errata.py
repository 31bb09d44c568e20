"""Printed statements of the paper that the suite found false, with the reason; one table.

A claim listed here that fails is reported as `erratum` (with its counterexample), never as a pass,
and its corrected form is a separate claim.  The tests turn these into strict xfails, so a listed
claim that stops failing is flagged too.  Add an entry only with a counterexample the suite found.
"""

ERRATA = {
    "LC.7b-printed": (
        "the bracket is misplaced as printed: 1 - D + 3R(W(0)) + ||W_{k+1}(0)||^2 + ||W_k(0)||^2/||W_{k+1}||^2 "
        "exceeds 1 whenever 3R(W(0)) + ||W_{k+1}(0)||^2 > D, already at t = 0; the proof concludes LC.7b-proof"),
    "T3.7-B3": (
        "||W_1|| >= 1 + sqrt(2R(W(0)))/eps gives 1/||W_1|| + sqrt(2R(W(0)))/||W_1|| <= eps only when eps >= 1; "
        "for eps < 1 the threshold must be (1 + sqrt(2R(W(0))))/eps (T3.7-B3-corrected)"),
    "EQC.11": (
        "derived from eq. (C.9), whose eta^2 terms have the wrong sign as printed: gradient descent gives exactly "
        "W_k W_k^T(t) - W_{k+1}^T W_{k+1}(t) = A_{k,k+1} + P_k(t) - Q_{k+1}(t), so the bound that follows is "
        "sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2 - tr Q_{k+1}(t) (EQC.11-corrected); with tr P_k(t) it fails "
        "when layer k+1's gradients dominate (e.g. d_0 = d_1 = 1, where the bound is tight)"),
    "EQC.9": (
        "the eta^2 sums enter with the wrong sign as printed: expanding W(t+1) = W(t) - eta G, the eta terms cancel "
        "by (C.8) and W_{k+1}^T W_{k+1}(t) - W_{k+1}^T W_{k+1}(0) - Q_{k+1}(t) = W_k W_k^T(t) - W_k W_k^T(0) - P_k(t) "
        "(EQC.9-corrected); the printed form is off by 2 (Q_{k+1}(t) - P_k(t))"),
    "EQC.12": "the trace of the printed (C.9), wrong the same way: the correct form has + tr P_k(t) - tr Q_{k+1}(t) (EQC.12-corrected)",
    "EQB.16-printed": (
        "the middle step lacks a factor 2: d||W_1||_F^2/dt = 2 <W_1, dW_1/dt> (EQB.16-printed-corrected); "
        "the end result, eq. (B.16), is right"),
}
