"""The verification report, read-only over an Outcome (it never simulates): the per-claim summary
(summary), report.md (markdown), report.html and the reports index (html), the results tables with pandas
(tables), the figures (plots), and writing them all into a folder (write)."""
