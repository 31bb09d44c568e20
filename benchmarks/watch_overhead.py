"""What recording costs: `aligncheck.watch(model, every=10)` against the same training without it, as a
percentage of one training step.  Measures, asserts nothing (the issue's target: <= 5%).

python benchmarks/watch_overhead.py [--every 10] [--steps 200] [--repeats 5] [--batch 128] [--device auto]
      [--threads N] [--json out.json]

Models: a 4-layer MLP of width 512 (dense 512 -> 512 -> 512 -> 512 -> 10, ReLUs) on CPU, and AlexNet
(dynamics.alexnet, the paper's width: dense 1024 -> 4096 -> 4096 -> 10) on CUDA when torch sees one.
One training step: forward, cross-entropy, backward, SGD with momentum on a random batch.

Two numbers per model:
- end-to-end: blocks of --steps steps without and with a monitor, interleaved --repeats times (each with
  its own median); overhead = (with - without) / without, the median over the repeats.  On a machine
  shared with other work this is noisy (it can even come out negative).
- per record: the time of one record (`monitor.record()`: warm-started power iteration and Frobenius
  norms of every dense layer, values left on the device), divided by --every and by the step time: the
  overhead recording adds by itself, less exposed to the noise of a shared machine.
CUDA timings synchronise before reading the clock.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from aligncheck import watch


def mlp(width: int = 512, depth: int = 4, classes: int = 10) -> torch.nn.Module:
    dims = [width] * depth + [classes]
    layers: list[torch.nn.Module] = []
    for a, b in zip(dims, dims[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def alexnet() -> torch.nn.Module:
    from dynamics.alexnet import AlexNet

    return AlexNet(1.0, dropout=0.0)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(name: str, model: torch.nn.Module, shape: tuple, device: str, *, every: int, steps: int, repeats: int,
            batch: int) -> dict:
    torch.manual_seed(0)
    model = model.to(device)
    X = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def block(monitor=None) -> float:
        _sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(X), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if monitor is not None:
                monitor.step()
        _sync(device)
        return (time.perf_counter() - t) / steps

    block()   # warm-up (allocator, kernels)
    # one monitor throughout: its exact (SVD) records, at the start and at close(), stay outside the timing
    mon = watch(model, every=every)
    plain, watched, ratios = [], [], []
    for _ in range(repeats):
        a = block()
        b = block(mon)
        plain.append(a)
        watched.append(b)
        ratios.append(b / a - 1.0)
    records = []
    for _ in range(max(20, repeats * 4)):
        _sync(device)
        t = time.perf_counter()
        mon.record()
        _sync(device)
        records.append(time.perf_counter() - t)
    mon.close()
    step = statistics.median(plain)
    record = statistics.median(records)
    dense = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    out = {"model": name, "device": device if device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
           "dense_shapes": dense, "batch": batch, "every": every, "steps_per_block": steps, "repeats": repeats,
           "torch_threads": torch.get_num_threads(), "step_ms": 1e3 * step,
           "step_with_watch_ms": 1e3 * statistics.median(watched),
           "overhead_end_to_end_pct": 100 * statistics.median(ratios),
           "overhead_end_to_end_pct_each": [100 * r for r in ratios],
           "record_ms": 1e3 * record, "overhead_per_record_pct": 100 * record / every / step}
    print(f"{name} on {out['device']}: step {out['step_ms']:.2f} ms, with watch(every={every}) "
          f"{out['step_with_watch_ms']:.2f} ms: end-to-end overhead {out['overhead_end_to_end_pct']:+.2f}% "
          f"(repeats: {', '.join(f'{r:+.1f}' for r in out['overhead_end_to_end_pct_each'])}); one record "
          f"{out['record_ms']:.3f} ms = {out['overhead_per_record_pct']:.2f}% of a step at every={every}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--steps", type=int, default=200, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="auto: the MLP on CPU, and AlexNet on CUDA when present")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    kw = {"every": a.every, "steps": a.steps, "repeats": a.repeats, "batch": a.batch}
    results = []
    if a.device in ("auto", "cpu"):
        results.append(measure("MLP 4 x 512", mlp(), (512,), "cpu", **kw))
    if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device")
        results.append(measure("AlexNet dense layers", alexnet(), (3, 32, 32), "cuda", **kw))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return results


if __name__ == "__main__":
    main()
