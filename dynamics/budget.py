"""Time budgets for simulations: `with time_budget(seconds): ...` and, inside the simulators' loops,
`check()`, which raises BudgetExceeded once the budget is spent, so no simulation runs on unbounded,
whatever its dynamics do.  The deadline lives in a context variable (no process-wide state)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("simulation_deadline", default=None)


class BudgetExceeded(TimeoutError):
    """A simulation ran past its time budget."""


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Simulations started inside stop with BudgetExceeded after `seconds` (None: no budget)."""
    token = _DEADLINE.set(None if seconds is None else (time.perf_counter() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise BudgetExceeded if the current budget is spent (cheap: one clock read)."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.perf_counter() > deadline[0]:
        raise BudgetExceeded(f"over its time budget of {deadline[1]:g} s")
