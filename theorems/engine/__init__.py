"""Pure checking: a claim evaluated on a trajectory with its hypotheses (evaluate), limits and experiments
judged by their trend rules (asymptotic).  No simulation happens here."""
