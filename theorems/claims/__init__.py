"""One module per statement of the paper (or per proof, for its intermediate steps).

Every public module here is imported when `theorems` is, and registers its claims: adding a statement
is adding a file here.  Each module's docstring quotes the paper.  Modules whose name starts with an
underscore hold what several claims share (quantities of a snapshot, tolerances, the limit rule, the
max-margin certificate, the sympy vocabulary); they register nothing.
"""
import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
