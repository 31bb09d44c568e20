"""The paper's experiments (Figures 1, 2 and 3): they run, judge by stated rules and return verdicts like
claims do, and register their claims (FIG1a, FIG1b, FIG2, FIG3a, FIG3b).  Drawing is the report's job."""
from . import figures  # noqa: F401, I001  (registers FIG1a, FIG1b, FIG2; first: the catalogue's order)
from . import alexnet  # noqa: F401  (registers FIG3a, FIG3b)
