"""The baseline every benchmark reports its ratios against: a plain PyTorch autograd SGD loop on the same
linear network and data, one thread, run for a fixed wall time in the same process."""
import time


def autograd_sgd(Z, ws0, seconds: float, lr: float = 0.5, dtype_name: str = "float64"):
    """(final weights as numpy, steps, wall seconds, CPU seconds) of SGD on R(W) = mean softplus(-<w_prod, z_i>)
    for `seconds`; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    dt = getattr(torch, dtype_name)
    Zt = torch.tensor(Z, dtype=dt)
    ws = [torch.tensor(w, dtype=dt, requires_grad=True) for w in ws0]
    opt = torch.optim.SGD(ws, lr=lr)
    w0, c0, steps = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - w0 < seconds:
        opt.zero_grad()
        w = ws[0]
        for m in ws[1:]:
            w = m @ w
        torch.nn.functional.softplus(-(Zt @ w[0])).mean().backward()
        opt.step()
        steps += 1
    return [w.detach().numpy() for w in ws], steps, time.perf_counter() - w0, time.process_time() - c0
