"""One module per statement of the paper (or per proof, for its intermediate steps).

Every module here is imported when `theorems` is, and registers its claims; adding a statement is
adding a file here.  Each module's docstring quotes the paper.
"""
import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
