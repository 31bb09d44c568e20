"""Watch your own network: the paper's alignment predictions on any torch model while it trains
(`watch`), and on saved checkpoints (`aligncheck inspect`).

    mon = aligncheck.watch(model, every=10)        # or: with aligncheck.watch(model) as mon: ...
    for x, y in batches:
        loss(model(x), y).backward(); opt.step(); opt.zero_grad(); mon.step()
    mon.close()                                    # a final exact record (the `with` block does it)
    mon.history()                                  # pandas: step, layer, ||W||_2, ||W||_F, ratio, bound, ...
    mon.verdicts(), mon.controls()                 # theorems.model.Verdict lists

Recording: dynamics.watch; judging: theorems.experiments.watch (Figure 3's rule).  torch is imported only
when a network is watched or a checkpoint read.
"""
from __future__ import annotations

import json
import pickle
import re
import sys
import warnings
from pathlib import Path
from typing import NoReturn

import click

from dynamics.watch import Recorder


class Monitor(Recorder):
    """A dynamics.watch.Recorder that judges its history (theorems.experiments.watch)."""

    def verdicts(self) -> list:
        """theorems.model.Verdict per rule: WATCH-RATIO per layer; WATCH-ALIGN per adjacent pair when the
        layers are a bias-free linear chain; WATCH-MARGIN when data was given.  Status trend / fail /
        inconclusive (fewer than two records) / vacuous (a vector layer)."""
        from theorems.experiments.watch import verdicts

        return verdicts(self.history(), linear=self.linear_chain)

    def controls(self) -> list:
        """The negative controls (the untrained network: final := initial): each must be `fail`."""
        from theorems.experiments.watch import controls

        return controls(self.history(), linear=self.linear_chain)


def watch(model, every: int = 10, layers: list[str] | None = None, data=None, optimizer=None) -> Monitor:
    """Watch `model`'s dense layers (nn.Linear, forward order; `layers` names some): record now, then
    every `every` calls of `monitor.step()` (or optimizer steps, given `optimizer`).  `data` = (X, y) with
    y in {-1, +1}: also cos(w_prod, max-margin direction) (bias-free linear chain with one output only)."""
    return Monitor(model, every=every, layers=layers, data=data, optimizer=optimizer)


# ---- aligncheck inspect ---------------------------------------------------------------------------------

class Refused(ValueError):
    """A checkpoint that is not plain weights (its pickle names a callable)."""


def load_weights(path: str | Path) -> list:
    """The 2-D tensors (name, tensor) of a state_dict file in file order: torch.load with
    weights_only=True (a pickle naming any callable: Refused, nothing executed) or .safetensors."""
    import torch

    from dynamics.watch import dense_tensors

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ValueError(f"{path}: reading .safetensors needs the safetensors package") from None
        return dense_tensors(load_file(str(path), device="cpu"))
    try:
        with warnings.catch_warnings():   # torch warns (many lines) about pickle protocols it will refuse anyway
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise Refused(f"{path}: refused: {_unpickling_reason(str(exc))}, not plain weights (nothing was "
                      "executed; save a state_dict)") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a torch checkpoint ({str(exc).splitlines()[0][:200]})") from None
    tensors = dense_tensors(state)
    if not tensors:
        raise ValueError(f"{path}: no 2-D weight tensors in it")
    return tensors


def _unpickling_reason(message: str) -> str:
    """torch's many-line weights_only refusal, as a few words: the callable it names, else its reason."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        return f"its pickle names the callable {found.group(1)}"
    after = message.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
    return f"its pickle is not a weights-only pickle ({after[0][:120] if after else 'unreadable'})"


def inspect_table(paths: list[str]):
    """The history table over a series of checkpoints (step = position in the series), exact values."""
    from dynamics.watch import frame, weights_table

    rows = []
    for i, p in enumerate(paths):
        rows += [dict(r, checkpoint=str(p)) for r in weights_table(load_weights(p), step=i)]
    return frame(rows).assign(checkpoint=[r["checkpoint"] for r in rows])


def _verdict_line(v) -> str:
    return f"  {v.claim_id} {v.run_id}: {v.status}; initial {v.details['initial']:.4g}, final {v.details['final']:.4g}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON (table, verdicts, controls)")
@click.option("--linear", is_flag=True,
              help="the checkpoints are of a bias-free linear network: judge the adjacent alignments too")
def inspect_command(checkpoints: tuple[str, ...], as_json: bool, linear: bool) -> None:
    """Dense layers of saved state_dicts (torch weights_only, .safetensors): ||W||_2, ||W||_F, ratio,
    lower bound, stable rank, adjacent alignment (where shapes chain); over a series, Figure 3's rule from
    first to last (state_dicts hold no activations: say --linear to judge the alignments too)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        _fail("`inspect` needs torch: pip install 'aligncheck[torch]'")
    from theorems.experiments.watch import controls, verdicts

    try:
        table = inspect_table(list(checkpoints))
    except ValueError as exc:
        _fail(str(exc))
    names = table["layer"].unique()
    if len(checkpoints) > 1 and any(set(table[table["step"] == s]["layer"]) != set(names) for s in table["step"]):
        _fail("the checkpoints do not hold the same 2-D tensors; a series must be of one network")
    found, caught = verdicts(table, linear), controls(table, linear)
    if as_json:
        click.echo(json.dumps({"table": json.loads(table.to_json(orient="records")),
                               "verdicts": [v.row() for v in found], "controls": [c.row() for c in caught]},
                              indent=1))
        return
    cols = ["step", "layer", "rows", "cols", "spectral_norm", "frobenius_norm", "ratio", "lower_bound",
            "stable_rank", "alignment"]
    for i, p in enumerate(checkpoints):
        click.echo(f"[{i}] {p}")
    click.echo(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if len(checkpoints) > 1:
        click.echo("verdicts (first -> last checkpoint):")
        for v, c in zip(found, caught):
            click.echo(_verdict_line(v) + ("" if v.status == "vacuous" else
                                           "; negative control " + ("caught" if c.status == "fail" else "NOT CAUGHT")))


def _fail(msg: str) -> NoReturn:
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)
