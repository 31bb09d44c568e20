"""AlexNet for 32x32 inputs (the CIFAR-10 variant of Figure 3) with SGD training that logs the risk and
the dense layers' alignment ratios ||W_i||_2 / ||W_i||_F, recorded by dynamics.watch.Recorder (the
recorder behind `aligncheck.watch`: one code path).  Needs torch (the optional extra).

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

from .watch import POWER_ITERS, Recorder

CONV = (64, 192, 384, 256, 256)
DENSE = 4096
FRO_NORM = 4.0   # Figure 3b: every dense layer starts with Frobenius norm 4
DIVERGED = 100.0   # a minibatch loss above DIVERGED x the untrained network's (about 2.3) means the run blew up


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
          max_steps: int | None = None, dropout: float = 0.5, clip: float | None = None, progress=None) -> dict:
    """SGD (cross-entropy) on `images` (dynamics.cifar.Images), the gradient's norm clipped to `clip`
    before each step when given (torch.nn.utils.clip_grad_norm_), the dense layers watched by
    dynamics.watch.Recorder every `log_every` steps (the one code path that records them: exact float64
    SVDs at step 0 and at the end, warm-started power iteration between).  Returns the log as plain lists:
    step, epoch, risk (mean minibatch loss since the previous log; step 0: the untrained network on the
    first 1024 images), accuracy, ratio / fro / stable_rank per dense layer, alignment per adjacent pair,
    plus lower bounds, exact initial and final ratios, shapes, timings and settings; "history" is the
    recorder's pandas DataFrame (not JSON: the driver writes it as a report of its own).
    A loss that is not finite or above DIVERGED x the untrained network's, or non-finite weights at the
    end, raise ValueError with one line naming the step and the loss (the run diverged)."""
    dev = pick_device(device)
    torch.manual_seed(seed)
    model = initialise(AlexNet(width_scale, dropout=dropout), init, seed).to(dev)
    X = torch.as_tensor(images.X, device=dev)
    y = torch.as_tensor(images.y, device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    n = len(y)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total = int(round(epochs * steps_per_epoch)) if max_steps is None else int(max_steps)
    recorder = Recorder(model, every=log_every)   # records step 0 now (exact)
    log = {"step": [0], "risk": [], "accuracy": []}

    with torch.no_grad():   # the untrained network (this forward also shows the recorder the layer order)
        model.eval()
        first = X[: min(n, 1024)]
        out = model(first)
        log["risk"].append(float(nn.functional.cross_entropy(out, y[: len(first)])))
        log["accuracy"].append(float((out.argmax(1) == y[: len(first)]).float().mean()))
    limit = DIVERGED * max(log["risk"][0], 1.0)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    start = time.perf_counter()
    step, run_loss, run_acc, run_n, value = 0, 0.0, 0.0, 0, math.nan
    model.train()
    while step < total:
        perm = torch.randperm(n, generator=gen).to(dev)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            out = model(X[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value) or value > limit:   # reported, never turned into NaN weights and a crash
                recorder.close(record=False)
                raise ValueError(diverged(step, value, "" if not math.isfinite(value) else
                                          f"over {DIVERGED:g} x the untrained network's {log['risk'][0]:.3g}"))
            recorder.step()
            run_loss += value * len(idx)
            run_acc += float((out.argmax(1) == y[idx]).float().sum())
            run_n += len(idx)
            if step % log_every == 0 or step == total:
                log["step"].append(step)
                log["risk"].append(run_loss / run_n)
                log["accuracy"].append(run_acc / run_n)
                run_loss, run_acc, run_n = 0.0, 0.0, 0
            if progress is not None:
                progress(1)
            if step >= total:
                break
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):   # the last step blew up
        recorder.close(record=False)
        raise ValueError(diverged(step, value, "non-finite weights after it"))
    recorder.close()   # a final exact record at the last step
    if dev == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    history = recorder.history()
    per_step = _per_step(history, [l for l in recorder.layers], recorder.pairs())
    if per_step["step"] != log["step"]:   # one schedule for the log and the recorder
        raise RuntimeError(f"recorded steps {per_step['step'][:5]}... differ from logged {log['step'][:5]}...")
    weights = [l.weight for l in model.dense()]
    return {
        "step": log["step"], "epoch": [s / steps_per_epoch for s in log["step"]], "risk": log["risk"],
        "accuracy": log["accuracy"], **{k: v for k, v in per_step.items() if k != "step"},
        "lower_bounds": lower_bounds(model), "initial_ratio_exact": per_step["ratio"][0],
        "final_ratio_exact": per_step["ratio"][-1], "layers": list(recorder.layers),
        "shapes": [list(w.shape) for w in weights], "seconds": seconds, "steps": step,
        "device": dev if dev == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
        "settings": {"init": init, "width_scale": width_scale, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                     "momentum": momentum, "seed": seed, "dropout": dropout, "clip_grad_norm": clip or None, "n_train": n,
                     "torch": torch.__version__, "dtype": "float32",
                     "recorder": f"dynamics.watch.Recorder every {log_every} steps ({POWER_ITERS} warm-started "
                                 "power iterations; exact float64 SVD at the first and last records)"},
        "history": history,
    }


def diverged(step: int, loss: float, what: str = "") -> str:
    """The one line a diverged run ends with."""
    return f"training diverged at SGD step {step}: loss {loss:.4g}{' (' + what + ')' if what else ''}; lower --lr"


def _per_step(history, layers: list[str], pairs: list[tuple[str, str]]) -> dict:
    """The recorder's history as per-step lists in layer order: ratio, fro, stable_rank per dense layer,
    alignment per adjacent pair."""
    out = {"step": [], "ratio": [], "fro": [], "stable_rank": [], "alignment": []}
    for step, rows in history.groupby("step", sort=True):
        rows = rows.set_index("layer")
        out["step"].append(int(step))
        for key, col in (("ratio", "ratio"), ("fro", "frobenius_norm"), ("stable_rank", "stable_rank")):
            out[key].append([float(rows.at[n, col]) for n in layers])
        out["alignment"].append([float(rows.at[a, "alignment"]) for a, _ in pairs])
    return out


__all__ = ["AlexNet", "initialise", "lower_bounds", "train", "pick_device", "diverged", "FRO_NORM"]
