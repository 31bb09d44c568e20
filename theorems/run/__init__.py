"""Running the checks: the profiles (which runs, how many, how long), the hypothesis strategies that draw
runs, the one plan deciding what is checked on a run, and verify (simulate each run once, check every
claim the plan applies, hunt counterexamples)."""
