"""aligncheck: claim-by-claim verification of Ji & Telgarsky (2019), "Gradient descent aligns the layers
of deep linear networks".

The public API (everything else is private):
    aligncheck.__version__
    aligncheck.claims(kind=None, runs=None)          the registered claims, in catalogue order
    aligncheck.trajectory(weights, X, y, *, loss="logistic", method="gd", step_sizes=None, times=None)
                                                     a trajectory from weights you recorded
    aligncheck.check(claim_id, trajectory)           one claim's verdict on it (.status, .worst_slack, .rel_slack, .message)
    aligncheck.verify(profile="ci", seed=0, data=None, ...)   every claim on a profile's runs (an Outcome)
    aligncheck.load_report(DIR)                      a written report as a pandas DataFrame
    aligncheck.watch(model, every=N)                 alignment of any torch model's dense layers during training
The command line is `aligncheck` (aligncheck.cli); the pytest plugin is aligncheck.pytest_plugin.
Names are loaded on first use, so `import aligncheck` and the command line start fast.
"""
from importlib import metadata

try:
    __version__ = metadata.version("aligncheck")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "claims", "trajectory", "check", "verify", "load_report", "watch"]
_API = {"claims": "api", "trajectory": "api", "check": "api", "verify": "api", "load_report": "api", "watch": "monitor"}


def __getattr__(name: str) -> object:
    if name in _API:
        from importlib import import_module

        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'aligncheck' has no attribute {name!r}")
