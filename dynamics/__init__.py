"""Deep linear networks on separable data: losses, data, max-margin geometry and the dynamics.

This package knows nothing of the paper's claims; `theorems` imports it, never the reverse.
"""
