"""aligncheck: claim-by-claim verification of Ji & Telgarsky (2019), "Gradient descent aligns the layers
of deep linear networks".  The command line (aligncheck.cli) and the reports (aligncheck.reporting) sit
here, above the paper's claims and their checking (theorems) and the simulators (dynamics)."""
from importlib import metadata

try:
    __version__ = metadata.version("aligncheck")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
