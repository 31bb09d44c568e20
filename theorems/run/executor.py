"""Executors: where the independent simulations of verify (and of a sweep) run.

One interface, three places:

  SerialExecutor   jobs = 1: each task runs in this process when it is submitted (exactly the old loop:
                   nothing runs ahead, so a stop is honoured between two runs, and in-process state such
                   as a claim registered at run time or a patched function is seen)
  LocalExecutor    jobs > 1: a process pool on this machine ('forkserver' where the platform has it, else
                   'spawn': never 'fork', which copies the parent's threads and locks); workers ignore
                   SIGINT, so Ctrl-C reaches only the parent, which stops at its next safe point.  As
                   with any 'spawn'/'forkserver' program, a script that calls verify(jobs > 1) needs
                   the `if __name__ == "__main__":` guard (without it the workers die: BrokenProcessPool)
  DaskExecutor     --executor dask --scheduler ADDRESS: a dask.distributed cluster (pip install
                   'aligncheck[dask]'); every worker needs this package installed, at the same version

`submit(fn, *args)` returns a concurrent.futures.Future; `window` is how many tasks may be in flight at once
(1 for the serial executor: a task is run as it is submitted).  A task is a module-level function of
picklable arguments (workers import it by name), which returns a picklable result.  Results are the same
whichever executor ran them: the simulations are deterministic functions of their RunSpec.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable

EXECUTORS = ("local", "dask")
# what a pool's worker imports once before its first task (the forkserver imports it once for all workers)
PRELOAD = ["theorems.run.verify"]


_ONE_AT_A_TIME = threading.Lock()


def one_at_a_time() -> threading.Lock:
    """The lock a task holds while it simulates and checks: the simulators' caches (lru_cache, the
    max-margin cache) and lazy imports are per process and not made for threads, so a multi-threaded worker
    (a dask worker with --nthreads > 1, or a LocalCluster with processes=False) runs one task at a time; in a
    process pool or with --nthreads 1 it is never contended.  Start dask workers with `--nthreads 1`."""
    return _ONE_AT_A_TIME


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity where the platform says, else os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # macOS, Windows
        return max(1, os.cpu_count() or 1)


class Executor:
    """Runs tasks somewhere; a context manager that closes it on exit (abandoning what is still running
    when the block ends with an exception)."""

    name = "executor"
    window = 1          # tasks in flight at once
    in_process = False  # tasks run in this interpreter (their results are not copied)

    def submit(self, fn: Callable, /, *args) -> Future:
        raise NotImplementedError

    def warm(self) -> None:
        """Start the workers now (they import the suite while this process does other work)."""

    def close(self, abandon: bool = False) -> None:
        """Release the workers; `abandon`: do not wait for running tasks (an error or a second Ctrl-C)."""

    def describe(self) -> str:
        return self.name

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        self.close(abandon=exc_type is not None)


class SerialExecutor(Executor):
    """jobs = 1: the task runs here, now; its Future is already done (an exception is set on it)."""

    name = "serial"
    window = 1
    in_process = True

    def submit(self, fn: Callable, /, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # delivered by future.result(), in the caller's order, like a worker's
            future.set_exception(exc)
        return future


def _ignore_sigint() -> None:
    """A pool worker's initializer: SIGINT (Ctrl-C reaches the whole process group) is the parent's to
    handle; a worker finishes its task and the parent decides what to keep."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _noop() -> None:
    return None


class LocalExecutor(Executor):
    """A pool of `jobs` worker processes on this machine."""

    name = "local"
    in_process = False

    def __init__(self, jobs: int):
        if jobs < 1:
            raise ValueError(f"--jobs must be at least 1; got {jobs}")
        self.jobs = jobs
        self.window = 1 << 30   # submit everything: queued tasks are cancelled on a stop, at most jobs run
        ctx = _context()
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_sigint)
        self._method = ctx.get_start_method()

    def submit(self, fn: Callable, /, *args) -> Future:
        return self._pool.submit(fn, *args)

    def warm(self) -> None:
        """Start the workers from a thread: starting the forkserver waits for its imports."""
        def start() -> None:
            try:
                for _ in range(self.jobs):
                    self._pool.submit(_noop)
            except (RuntimeError, AttributeError):   # closed meanwhile
                pass

        threading.Thread(target=start, name="aligncheck-warm", daemon=True).start()

    def close(self, abandon: bool = False) -> None:
        if self._pool is None:
            return
        processes = list((self._pool._processes or {}).values())   # shutdown() forgets them
        self._pool.shutdown(wait=not abandon, cancel_futures=True)
        if abandon:   # a running simulation may have up to its time budget left: do not wait for it
            for p in processes:
                if p.is_alive():
                    p.terminate()
        self._pool = None

    def describe(self) -> str:
        return f"local ({self.jobs} processes, {self._method})"


class DaskExecutor(Executor):
    """Tasks go to the dask.distributed scheduler at `address` (e.g. tcp://host:8786)."""

    name = "dask"
    in_process = False

    def __init__(self, address: str, timeout: float = 10.0):
        try:
            from distributed import Client
            from distributed.comm import parse_address
            from distributed.comm.registry import backends
        except ImportError:
            raise ValueError("--executor dask needs dask.distributed: pip install 'aligncheck[dask]'") from None
        scheme, location = parse_address(address)   # checked here: a Client refused mid-way hangs at exit
        if scheme not in backends or not location:
            raise ValueError(f"--scheduler {address!r} is not a scheduler address: SCHEME://HOST:PORT with a scheme "
                             f"in {sorted(backends)} (e.g. tcp://host:8786)")
        self.address = address
        self.window = 1 << 30   # the scheduler places the tasks; pending ones are cancelled on a stop
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise OSError(f"cannot reach the dask scheduler at {address}: {exc}") from None
        self._executor = self._client.get_executor(pure=False)

    def submit(self, fn: Callable, /, *args) -> Future:
        return self._executor.submit(fn, *args)

    def close(self, abandon: bool = False) -> None:
        if self._client is None:
            return
        self._executor.shutdown(wait=not abandon)
        self._client.close()
        self._client = None

    def describe(self) -> str:
        return f"dask ({self.address})"


def make(kind: str = "local", jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor a command asked for: `local` with `jobs` processes (None: default_jobs(); 1: serial,
    in this process), or `dask` at `scheduler`.  Bad combinations are a one-line ValueError."""
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; choose one of {list(EXECUTORS)}")
    if kind == "dask":
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        return DaskExecutor(scheduler)
    if scheduler:
        raise ValueError("--scheduler is the address of a dask cluster: give it with --executor dask")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1; got {jobs}")
    return SerialExecutor() if jobs == 1 else LocalExecutor(jobs)
