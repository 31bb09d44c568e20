"""AlexNet for 32x32 inputs (the CIFAR-10 variant of Figure 3) with SGD training that logs the risk and
the dense layers' alignment ratios ||W_i||_2 / ||W_i||_F.  Needs torch (the optional extra).

Architecture (width_scale s multiplies every channel count and the dense hidden width):
  conv 3->64 k3 s2 p1, ReLU, maxpool 2 | conv 64->192 k3 p1, ReLU, maxpool 2 |
  conv 192->384 k3 p1, ReLU | conv 384->256 k3 p1, ReLU | conv 256->256 k3 p1, ReLU, maxpool 2
  -> 256 x 2 x 2 = 1024 features | dropout, dense 1024->4096, ReLU | dropout, dense 4096->4096, ReLU |
  dense 4096->10.
At s = 1 the dense weights are (4096, 1024), (4096, 4096), (10, 4096), the shapes the paper quotes;
the ratios' lower bounds are 1/sqrt(min(shape)) = 1024^-1/2, 4096^-1/2, 10^-1/2.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn

CONV = (64, 192, 384, 256, 256)
DENSE = 4096
FRO_NORM = 4.0   # Figure 3b: every dense layer starts with Frobenius norm 4


def _w(base: int, s: float) -> int:
    return max(1, int(round(base * s)))


class AlexNet(nn.Module):
    def __init__(self, width_scale: float = 1.0, num_classes: int = 10, dropout: float = 0.5):
        super().__init__()
        c = [_w(b, width_scale) for b in CONV]
        h = _w(DENSE, width_scale)
        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], 3, stride=2, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c[0], c[1], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c[4] * 4, h), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(h, h), nn.ReLU(inplace=True),
            nn.Linear(h, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))

    def dense(self) -> list[nn.Linear]:
        """The three dense layers, input side first."""
        return [m for m in self.classifier if isinstance(m, nn.Linear)]


def lower_bounds(model: AlexNet) -> list[float]:
    """1/sqrt(min(rows, cols)) of each dense weight: the smallest ||W||_2/||W||_F can be."""
    return [1.0 / math.sqrt(min(l.weight.shape)) for l in model.dense()]


def initialise(model: AlexNet, kind: str, seed: int = 0) -> AlexNet:
    """"default": PyTorch's own initialisation (FIG3a); "frobenius": dense weights Gaussian, rescaled to
    Frobenius norm 4 on every dense layer (FIG3b; biases and conv layers keep PyTorch's default)."""
    torch.manual_seed(seed)
    for m in model.modules():  # re-draw everything from the seed, in a fixed order
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    if kind == "frobenius":
        with torch.no_grad():
            for layer in model.dense():
                w = torch.randn_like(layer.weight)
                layer.weight.copy_(w * (FRO_NORM / torch.linalg.matrix_norm(w)))
    elif kind != "default":
        raise ValueError(f"unknown AlexNet initialisation {kind!r}; choose 'default' or 'frobenius'")
    return model


class SpectralTracker:
    """||W||_2 of each dense layer by warm-started power iteration on W^T W (a few mat-vecs a log, on
    the weights' device).  Warm starts track the top singular vector as the weights move; the estimate
    is a lower bound on ||W||_2 that `exact()` (svdvals) can confirm."""

    def __init__(self, weights, iters: int = 10, seed: int = 0):
        g = torch.Generator(device="cpu").manual_seed(seed)
        self.v = [torch.randn(w.shape[1], generator=g, dtype=w.dtype).to(w.device) for w in weights]
        self.iters = iters
        self.started = False

    @torch.no_grad()
    def __call__(self, weights) -> list[float]:
        out = []
        n = self.iters if self.started else 10 * self.iters   # a long first solve, then warm starts
        for i, w in enumerate(weights):
            v = self.v[i] / torch.linalg.vector_norm(self.v[i])
            for _ in range(n):
                v = w.T @ (w @ v)
                v = v / torch.linalg.vector_norm(v)
            self.v[i] = v
            out.append(float(torch.linalg.vector_norm(w @ v)))
        self.started = True
        return out

    @staticmethod
    @torch.no_grad()
    def exact(weights) -> list[float]:
        return [float(torch.linalg.svdvals(w)[0]) for w in weights]


@torch.no_grad()
def _exact_ratios(weights) -> list[float]:
    """||W||_2/||W||_F of each dense layer by svdvals (the tracker's power iteration is a lower bound)."""
    return [s / float(torch.linalg.matrix_norm(w)) for s, w in zip(SpectralTracker.exact(weights), weights)]


def pick_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda; got {device!r}")
    return device


def train(images, *, init: str = "default", width_scale: float = 1.0, epochs: float = 1.0, batch_size: int = 128,
          lr: float = 0.01, momentum: float = 0.9, device: str = "auto", seed: int = 0, log_every: int = 10,
          max_steps: int | None = None, dropout: float = 0.5, progress=None) -> dict:
    """SGD (cross-entropy) on `images` (dynamics.cifar.Images); returns the log as plain lists:
    step, epoch, risk (mean minibatch loss since the previous log), accuracy, ratio/fro per dense layer,
    plus lower bounds, exact initial and final ratios (svdvals), shapes, timings and settings."""
    dev = pick_device(device)
    torch.manual_seed(seed)
    model = initialise(AlexNet(width_scale, dropout=dropout), init, seed).to(dev)
    X = torch.as_tensor(images.X, device=dev)
    y = torch.as_tensor(images.y, device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    weights = [l.weight for l in model.dense()]
    tracker = SpectralTracker(weights, seed=seed)
    n = len(y)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total = int(round(epochs * steps_per_epoch)) if max_steps is None else int(max_steps)
    log = {"step": [], "epoch": [], "risk": [], "accuracy": [], "ratio": [], "fro": []}
    initial_exact = _exact_ratios(weights)

    def record(step, risk, acc):
        sig = tracker(weights)
        fro = [float(torch.linalg.matrix_norm(w.detach())) for w in weights]
        log["step"].append(step)
        log["epoch"].append(step / steps_per_epoch)
        log["risk"].append(risk)
        log["accuracy"].append(acc)
        log["fro"].append(fro)
        log["ratio"].append([s / f for s, f in zip(sig, fro)])

    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        model.eval()
        first = X[: min(n, 1024)]
        out = model(first)
        record(0, float(nn.functional.cross_entropy(out, y[: len(first)])),
               float((out.argmax(1) == y[: len(first)]).float().mean()))
    start = time.perf_counter()
    step, run_loss, run_acc, run_n = 0, 0.0, 0.0, 0
    model.train()
    while step < total:
        perm = torch.randperm(n, generator=gen).to(dev)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            out = model(X[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):   # a diverging run is reported, never turned into NaN weights and a crash later
                raise ValueError(f"training diverged at SGD step {step}: loss {value} (lower --lr)")
            run_loss += value * len(idx)
            run_acc += float((out.argmax(1) == y[idx]).float().sum())
            run_n += len(idx)
            if step % log_every == 0 or step == total:
                record(step, run_loss / run_n, run_acc / run_n)
                run_loss, run_acc, run_n = 0.0, 0.0, 0
            if progress is not None:
                progress(1)
            if step >= total:
                break
    if dev == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        **log, "lower_bounds": lower_bounds(model), "initial_ratio_exact": initial_exact,
        "final_ratio_exact": _exact_ratios(weights),
        "shapes": [list(w.shape) for w in weights], "seconds": seconds, "steps": step,
        "device": dev if dev == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
        "settings": {"init": init, "width_scale": width_scale, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                     "momentum": momentum, "seed": seed, "dropout": dropout, "n_train": n,
                     "torch": torch.__version__, "dtype": "float32"},
    }


__all__ = ["AlexNet", "initialise", "lower_bounds", "SpectralTracker", "train", "pick_device", "FRO_NORM"]
