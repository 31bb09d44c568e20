"""Watch an MLP learn scikit-learn's digits: are its dense layers turning rank one (Figure 3's rule)?

    python examples/watch_digits.py [--steps 600] [--every 20] [--report DIR]
"""
import argparse

import torch
from sklearn.datasets import load_digits

import aligncheck

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=600)
parser.add_argument("--every", type=int, default=20)
parser.add_argument("--report", default=None, help="also write the report (HTML with plots, Markdown, CSV) here")
args = parser.parse_args()

torch.manual_seed(0)
digits = load_digits()
X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

with aligncheck.watch(model, every=args.every) as monitor:   # records at the start, every N steps, at the end
    for step in range(args.steps):
        batch = torch.randint(0, len(X), (128,))
        loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        monitor.step()

history = monitor.history()   # pandas: step, layer, spectral_norm, frobenius_norm, ratio, lower_bound, ...
print(f"final loss {loss.item():.4f}")
print(history[history.step.isin([0, args.steps])][["step", "layer", "ratio", "lower_bound", "stable_rank",
                                                    "alignment"]].to_string(index=False))
for verdict, control in zip(monitor.verdicts(), monitor.controls()):
    print(f"{verdict.claim_id} layer {verdict.run_id}: {verdict.status} ({verdict.message}); "
          f"negative control {'caught' if control.status == 'fail' else 'NOT caught'}")
if args.report:
    print("report:", monitor.report(args.report)["report.html"])
