"""One array namespace for numpy and torch (CPU or CUDA): choose a backend by name, move arrays to it
and back.

Kernels written against `Backend.xp` (the Array API namespace given by array-api-compat) run unchanged
on every backend; numpy is the reference the others must agree with (tests/test_backend.py).

Names: "numpy" | "torch-cpu" | "torch-cuda", plus the device words of the command line:
"cpu" -> numpy, "cuda" -> torch-cuda, "torch" -> torch-cuda if CUDA is available else torch-cpu,
"auto" -> torch-cuda if torch and CUDA are available, else numpy.  torch is an optional extra.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

NAMES = ("numpy", "torch-cpu", "torch-cuda")
DEVICES = ("auto", "cpu", "cuda", "torch", *NAMES)


class BackendUnavailable(ValueError):
    """The requested backend cannot run here (torch missing, or no CUDA device)."""


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    if not torch_available():
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve(device: str = "auto") -> str:
    """The backend name a device word selects (raises BackendUnavailable with the reason)."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {list(DEVICES)}")
    if device == "auto":
        return "torch-cuda" if cuda_available() else "numpy"
    if device in ("cpu", "numpy"):
        return "numpy"
    if not torch_available():
        raise BackendUnavailable(f"device {device!r} needs torch: pip install 'aligncheck[torch]' (torch==2.13.0)")
    if device == "torch":
        return "torch-cuda" if cuda_available() else "torch-cpu"
    if device in ("cuda", "torch-cuda") and not cuda_available():
        raise BackendUnavailable(f"device {device!r}: torch {_torch_version()} sees no CUDA device")
    return {"cuda": "torch-cuda"}.get(device, device)


def _torch_version():
    import torch

    return torch.__version__


@dataclass(frozen=True)
class Backend:
    name: str           # one of NAMES
    dtype: str = "float64"

    @property
    def is_torch(self) -> bool:
        return self.name.startswith("torch")

    @property
    def device(self):
        return {"numpy": "cpu", "torch-cpu": "cpu", "torch-cuda": "cuda"}[self.name]

    @property
    def xp(self):
        """The Array API namespace (array_api_compat.numpy or array_api_compat.torch)."""
        if self.is_torch:
            import array_api_compat.torch as xp
        else:
            import array_api_compat.numpy as xp
        return xp

    @property
    def float_dtype(self):
        return getattr(self.xp, self.dtype)

    def asarray(self, a):
        """Copy an array (numpy or torch) onto this backend with its float dtype."""
        if self.is_torch:
            import torch

            if isinstance(a, torch.Tensor):
                return a.to(device=self.device, dtype=self.float_dtype)
            return torch.as_tensor(np.asarray(a), dtype=self.float_dtype, device=self.device)
        return np.asarray(to_numpy(a), dtype=self.dtype)

    def synchronize(self):
        """Wait for queued device work (for timings)."""
        if self.name == "torch-cuda":
            import torch

            torch.cuda.synchronize()

    @contextmanager
    def small_kernels(self):
        """torch CPU: one intra-op thread while running many tiny kernels (the linear-network steps).
        Measured on 2 cores: B = 64 runs of widths 20, 200 steps took 8.8 s with torch's default 2
        threads and 0.53 s with 1 (DESIGN.md section 8 saw the same).  The setting is restored after."""
        if self.name != "torch-cpu":
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def describe(self) -> str:
        if self.name == "torch-cuda":
            import torch

            return f"torch {torch.__version__} on {torch.cuda.get_device_name(0)} ({self.dtype})"
        if self.is_torch:
            return f"torch {_torch_version()} on CPU ({self.dtype})"
        return f"numpy {np.__version__} ({self.dtype})"


@lru_cache(maxsize=None)
def get(device: str = "auto", dtype: str = "float64") -> Backend:
    """The backend for a device word (see the module docstring); float64 unless asked otherwise."""
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be float64 or float32; got {dtype!r}")
    return Backend(resolve(device), dtype)


def to_numpy(a) -> np.ndarray:
    """A numpy copy of a numpy array or a torch tensor (on any device)."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def available() -> list[str]:
    """Backends usable here, numpy first."""
    out = ["numpy"]
    if torch_available():
        out.append("torch-cpu")
    if cuda_available():
        out.append("torch-cuda")
    return out
