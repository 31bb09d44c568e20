"""`python -m aligncheck ...`: the same as the `aligncheck` command."""
from .cli import main

main(prog_name="aligncheck")
