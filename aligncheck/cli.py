"""The command line, every command: `aligncheck verify | claims | check | problem | prepare | figures | alexnet |
inspect | mutants` (also `python -m aligncheck`); inspect and mutants are defined beside their code
(aligncheck.monitor, aligncheck.mutants_cli) and imported when run (`_Group`).

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import NoReturn

import click

# Heavy modules (numpy, scipy, pandas, sympy, the claim registry) are imported inside the commands, so that
# `aligncheck --help` and the usage errors answer at once (tests/test_cli.py checks --help imports none of them).
# User errors: dynamics.data.DataError and dynamics.geometry.NotSeparable are ValueErrors.
USER_ERRORS = (ValueError, OSError)

# The group's --help epilog: theorems.model.STATUS_MEANINGS written out, so that --help imports no claim
# (tests/test_cli.py checks that the two are equal).
STATUS_MEANINGS = {
    "pass": "held at every checked point of every run (within its stated tolerance)",
    "fail": "violated by more than 100 x its tolerance on some run, confirmed in high precision (a finding: "
            "see its counterexample)",
    "erratum": "false as printed, a catalogued erratum (its corrected form is a claim of its own)",
    "vacuous": "its hypotheses were not met on any run (never counted as a pass)",
    "inconclusive": "not decided: a limit still improving but short of its threshold, or too few records to tell "
                    "(horizon too short or the run stalled: `verify --horizon-scale X` runs longer); or a violation "
                    "within 100 x its tolerance, or not confirmed in high precision (rounding)",
    "trend": "a limit or an experiment: finite-time evidence consistent with it (never a pass)",
    "error": "the check itself broke, or its simulation failed",
    "not checked": "left out of this run (`--claim`, or Figure 3 without `--alexnet`)",
    "met k/n": "an assumption: held on k of the n runs (the claims resting on it are vacuous on the others)",
}


def _fail(msg: str) -> NoReturn:
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)


def _statuses_help() -> str:
    return "\b\nStatuses (one meaning each):\n" + "\n".join(f"  {s:<13} {m}" for s, m in STATUS_MEANINGS.items())


class _Group(click.Group):
    """The commands defined beside their code are imported only when run (`inspect`: aligncheck.monitor,
    which needs numpy; `mutants`: aligncheck.mutants_cli); --help lists them by their own help text, read
    from their source (the function's docstring, by ast) without importing it."""

    LAZY = {"inspect": ("aligncheck.monitor", "inspect_command"),
            "mutants": ("aligncheck.mutants_cli", "mutants_command")}
    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.LAZY:
            return super().get_command(ctx, name)
        module, attr = self.LAZY[name]
        if self._listing and module not in sys.modules:
            return click.Command(name, help=_docstring(module, attr))
        from importlib import import_module

        return getattr(import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


def _docstring(module: str, function: str) -> str | None:
    """The docstring of a module-level function, from the module's source, without importing the module."""
    import ast
    from importlib.util import find_spec

    spec = find_spec(module)
    if spec is None or spec.origin is None:
        return None
    for node in ast.parse(Path(spec.origin).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_docstring(node, clean=False)   # as click reads __doc__
    return None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
             epilog=_statuses_help())
@click.version_option(package_name="aligncheck", prog_name="aligncheck")
def main() -> None:
    """Check, claim by claim, Ji & Telgarsky (2019): gradient descent aligns the layers of deep
    linear networks."""


@main.command()
@click.option("--profile", type=click.Choice(["quick", "ci", "thorough"]), default="ci", show_default=True,
              help="how many runs, how long, how hard to shrink counterexamples")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="report directory [default: reports/<timestamp>-<profile>-s<seed>]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", "data_file", type=click.Path(), default=None,
              help="run every claim on your dataset (.csv with a 'y' column, or .npz with X and y)")
@click.option("--claim", "claims", multiple=True, help="check only these claim IDs (repeatable)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "torch"]), default="auto", show_default=True,
              help="backend for gradient-descent runs: auto = CUDA if torch sees one, else numpy; flows and all "
                   "analysis stay numpy float64; a torch backend also records the agreement of a few runs with "
                   "the numpy reference (on the suite's tiny networks numpy measured fastest: quick profile 34 s vs "
                   "44 s on torch-CPU)")
@click.option("--format", "formats", multiple=True, type=click.Choice(["csv", "jsonl", "parquet"]),
              default=("csv", "jsonl"), show_default=True,
              help="results table formats (results.csv is always written; parquet needs pyarrow)")
@click.option("--alexnet", "alexnet_dir", type=click.Path(), default=None, metavar="DIR",
              help="a finished `aligncheck alexnet --out DIR` folder: adds Figure 3 (FIG3a, FIG3b) to the report")
@click.option("--horizon-scale", type=click.FloatRange(min=0.01, max=1000.0), default=1.0, show_default=True,
              help="run every simulation this many times longer (limits left `inconclusive` need longer runs)")
@click.option("--hunt", "hunt_examples", type=click.IntRange(min=0, max=100_000), default=None, metavar="N",
              help="drawn runs steered towards every inequality's bound (hypothesis target() on its relative "
                   "slack); the report gives each claim's tightest instance [default: the profile's: quick 10, "
                   "ci 60, thorough 1500]")
@click.option("--overwrite", is_flag=True, help="--out may be an existing report folder: it is emptied first")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="finish an interrupted run in DIR with its own options, skipping the runs it finished")
@click.option("--jobs", type=click.IntRange(min=1, max=1024), default=None,
              help="simulations run at once, each in its own process; 1: one after the other, in this process "
                   "(the results are the same) [default: this machine's cores]")
@click.option("--executor", "executor_kind", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="where the runs go: local processes (--jobs), or a dask.distributed cluster (--scheduler; "
                   "pip install 'aligncheck[dask]'; its workers need aligncheck installed: start them with "
                   "--nthreads 1)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="the dask scheduler of --executor dask, e.g. tcp://host:8786")
def verify(profile: str, out: str | None, seed: int, data_file: str | None, claims: tuple[str, ...], device: str,
           formats: tuple[str, ...], alexnet_dir: str | None, horizon_scale: float, overwrite: bool,
           resume_dir: str | None, jobs: int | None, executor_kind: str, scheduler: str | None,
           hunt_examples: int | None) -> None:
    """Run every claim and write the verification report (report.html, report.md, results, summary.json).

    Ctrl-C (SIGINT) or SIGTERM stops at the next run's end and writes the report of what finished, marked
    interrupted; `--resume DIR` completes it.  Every finished run is journalled in DIR/journal.jsonl as it ends.

    \b
    Exit status: 0 every claim held, is a catalogued erratum, or shows its trend;
                 1 a claim failed (not a catalogued erratum), a check errored, or a claim was checked
                   nowhere (vacuous or inconclusive on every run; with --data this is reported, not an error);
                 2 bad input or usage; 130 interrupted by SIGINT; 143 by SIGTERM."""
    from tqdm import tqdm

    from dynamics import backend
    from theorems import REGISTRY
    from theorems.experiments.alexnet import load_result
    from theorems.run.profiles import long_specs, profile_specs
    from theorems.run.executor import make as make_executor
    from theorems.run.verify import Interrupted
    from theorems.run.verify import verify as run_verify

    from .reporting import journal

    from .reporting import summary as summaries
    from .reporting.write import write

    if resume_dir is not None:
        profile, seed, data_file, claims, device, formats, alexnet_dir, horizon_scale, hunt_examples = \
            _resumed(resume_dir)
    unknown = [c for c in claims if c not in REGISTRY]
    if unknown:
        _fail(f"unknown claim id(s) {unknown}; see `aligncheck claims`")
    if data_file:
        _check_data(data_file)
    alexnet = None
    if alexnet_dir is not None:  # plain JSON (no torch), read before the long run so a bad folder fails fast
        try:
            alexnet = load_result(alexnet_dir)
        except ValueError as exc:
            _fail(str(exc))
    if "parquet" in formats:  # fail before the long run, not after
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            _fail("--format parquet needs pyarrow: pip install pyarrow")
    try:
        backend.resolve(device)
    except backend.BackendUnavailable as exc:
        _fail(str(exc))
    try:
        selected = [REGISTRY[c] for c in claims] if claims else list(REGISTRY.values())
        total = len(profile_specs(profile, seed, data_file)) + len(long_specs(selected, profile, seed, data_file)) + 1
        total += any(c.experiment is not None for c in selected)
    except USER_ERRORS as exc:
        _fail(str(exc))
    try:   # before the folder and the long run: a bad --executor/--scheduler fails fast
        runner = make_executor(executor_kind, jobs, scheduler)
    except USER_ERRORS as exc:
        _fail(str(exc))
    if resume_dir is not None:
        out_dir, finished = Path(resume_dir), journal.read(Path(resume_dir))
    else:
        out_dir, finished = _output_dir(out, profile, seed, overwrite), {}
        journal.start(out_dir, dict(profile=profile, seed=seed, data=data_file, claims=list(claims), device=device,
                                    formats=list(formats), alexnet=alexnet_dir, horizon_scale=horizon_scale,
                                    hunt=hunt_examples))
    signals = journal.Signals()
    with tqdm(total=total, desc=f"verify [{profile}]", unit="run", file=sys.stderr, dynamic_ncols=True) as bar, signals, \
            runner:
        def tick(label):
            if label.startswith(("shrink", "hunt")):
                bar.set_postfix_str(label)
            else:
                bar.update(1)
        try:
            outcome = run_verify(profile, seed, data_file, list(claims) or None, progress=tick, device=device,
                                 alexnet=alexnet, horizon_scale=horizon_scale, finished=finished,
                                 on_run=lambda run_id, vs, cs: journal.append(out_dir, run_id, vs, cs),
                                 stop=signals.received, executor=runner, hunt_examples=hunt_examples)
        except Interrupted as stopped:
            write(stopped.outcome, out_dir, formats=formats)
            click.echo(f"interrupted ({stopped.done} of {stopped.total} runs): partial report in {out_dir}; "
                       f"finish it with `aligncheck verify --resume {out_dir}`", err=True)
            sys.exit(signals.exit_code())
    write(outcome, out_dir, formats=formats)
    summary = summaries.summarise(outcome)
    click.echo(f"report: {out_dir / 'report.html'}  (also report.md)")
    click.echo("  " + ", ".join(f"{k}: {v}" for k, v in summaries.status_counts(summary).items()))
    for cid, row in summary.items():
        if row["status"] in ("fail", "error"):
            click.echo(f"  {row['status'].upper()}: {cid}", err=True)
    nowhere = summaries.checked_nowhere(summary)
    if nowhere:
        why = ("on your data (--data): its hypotheses or horizon are not met there" if data_file else
               "a check that cannot fail in this profile (try --horizon-scale for inconclusive limits)")
        click.echo(f"  CHECKED NOWHERE ({why}): {', '.join(nowhere)}", err=True)
    failed = any(r["status"] in ("fail", "error") for r in summary.values())
    sys.exit(1 if failed or (nowhere and not data_file) else 0)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable list")
@click.option("--markdown", is_flag=True, help="the catalogue page (docs/claims.md is this output)")
def claims(as_json: bool, markdown: bool) -> None:
    """List the registered claims, in catalogue order."""
    from theorems.model import REGISTRY, ordered

    rows = [{"id": c.id, "paper_ref": c.ref, "kind": c.kind, "statement": c.statement, "runs": c.runs,
             "hypotheses": list(c.hypotheses), "negative_control": c.control_note or None,
             "erratum": c.erratum or None} for c in ordered(REGISTRY.values())]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if markdown:
        from .reporting.summary import catalogue_markdown

        click.echo(catalogue_markdown(), nl=False)
        return
    click.echo(f"{'ID':<26} {'KIND':<10} {'RUNS':<5} {'PAPER':<45} STATEMENT")
    for r in rows:
        click.echo(f"{r['id']:<26} {r['kind']:<10} {r['runs']:<5} {r['paper_ref']:<45} {r['statement']}")


def _output_dir(out: str | None, profile: str, seed: int, overwrite: bool) -> Path:
    """The report folder, made now (before any simulation): --out if it is new, empty, or --overwrite (then
    emptied); else a new folder reports/<timestamp>-<profile>-s<seed>[-k], unique even for runs started in
    the same second."""
    import shutil

    from .reporting.write import default_run_id

    if out is None:
        base = Path("reports") / default_run_id(profile, seed)
        for k in range(1, 1000):
            path = base if k == 1 else base.with_name(f"{base.name}-{k}")
            try:
                path.mkdir(parents=True)   # atomic: exactly one of two concurrent runs gets each name
                return path
            except FileExistsError:
                continue
            except OSError as exc:
                _fail(f"cannot create the report folder {path}: {exc.strerror}")
        _fail(f"no free report folder name beside {base}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        _fail(f"--out {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            _fail(f"--out {path} is not empty: give --overwrite to replace it, or --resume {path} to finish it")
        for child in path.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create --out {path}: {exc.strerror}")
    return path


def _resumed(resume_dir: str) -> tuple:
    """The options an interrupted run was started with (its run.json)."""
    from .reporting import journal

    try:
        cfg = journal.config(Path(resume_dir))
    except ValueError as exc:
        _fail(str(exc))
    return (cfg["profile"], cfg["seed"], cfg["data"], tuple(cfg["claims"]), cfg["device"], tuple(cfg["formats"]),
            cfg["alexnet"], cfg["horizon_scale"], cfg.get("hunt"))


def _check_data(path):
    from dynamics.data import load

    try:
        return load(path)
    except USER_ERRORS as exc:
        _fail(str(exc))


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


@main.command()
@click.option("--data", "data_file", type=click.Path(), required=True)
@click.option("--json", "as_json", is_flag=True)
def problem(data_file: str, as_json: bool) -> None:
    """The certified quantities of a dataset: margin, max-margin direction, support, alpha, thresholds."""
    import os

    # Its linear algebra is on matrices of at most n x min(n, d) + 1 (one QR of the data, then small ones): a
    # single BLAS thread is enough, and on a busy machine OpenBLAS's extra thread spins waiting for a core
    # (measured at load 6 on 2 cores: n = 20000, d = 50 took 9.6 s, 4.8 s with one thread).  Set before numpy
    # is imported (the command line imports it only here); a value the user set is kept.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from theorems.claims._problem import certify

    ds = _check_data(data_file)
    try:
        g = certify(ds.Z)   # the max-margin problem was solved once, by the Dataset check (geometry's cache)
    except USER_ERRORS as exc:  # e.g. geometry.TooManyVertices: alpha's enumeration refused, one line
        _fail(f"{data_file}: {exc}")
    info = {
        "separable": True, "n": ds.n, "d": ds.d, "gamma": g.gamma, "ubar": g.ubar.tolist(),
        "support": g.support.tolist(), "dual": g.dual[g.support].tolist(), "kkt_residual": g.kkt_residual,
        "assumption_2_7": g.spans_space, "assumption_2_7_relaxed": g.spans_data, "alpha": _clean(g.alpha),
        "lemma_2_11_thresholds": {k: {r: _clean(v) for r, v in d.items()} for k, d in g.thresholds().items()},
    }
    if as_json:
        click.echo(json.dumps(info, indent=1))
        return
    for k, v in info.items():
        click.echo(f"{k:>24}: {v}")


@main.command()
@click.argument("source", type=click.Path())
@click.argument("target", type=click.Path())
@click.option("--label", default="y", show_default=True, help="the label column of a CSV source")
def prepare(source: str, target: str, label: str) -> None:
    """Bring a two-class dataset into the paper's setting and say what was done: labels to -1/+1, features
    centred and scaled, a bias coordinate appended (so data separable by any hyperplane is separable through
    the origin), ||x_i|| <= 1.  TARGET is .csv or .npz."""
    from dynamics import prepare as prep

    if Path(target).suffix not in (".csv", ".npz"):
        _fail(f"{target}: the prepared data is written as .csv or .npz")
    try:
        X, labels, names = prep.read_raw(source, label)
        Xp, y, notes = prep.prepare(X, labels)
        prep.write(target, Xp, y, names)
    except USER_ERRORS as exc:
        _fail(str(exc))
    for line in notes:
        click.echo(f"  {line}")
    click.echo(f"wrote {target} ({len(y)} rows, {Xp.shape[1]} features): `aligncheck problem --data {target}`")


@main.command()
@click.argument("claim_id")
@click.option("--spec", default=None, help="RunSpec JSON (as printed in a report); default: a standard run")
@click.option("--alexnet", "alexnet_dir", type=click.Path(), default=None, metavar="DIR",
              help="FIG3a/FIG3b: the finished `aligncheck alexnet --out DIR` folder they are judged on")
@click.option("--json", "as_json", is_flag=True,
              help="print the verdict as one JSON object (claim_id, status, worst_slack, rel_slack, message, ...)")
def check(claim_id: str, spec: str | None, alexnet_dir: str | None, as_json: bool) -> None:
    """Check one claim on one run: the reproduce command of every row of a report (same status, same slack).
    Exit status: 0 pass/trend/vacuous/inconclusive, 1 fail or error, 2 bad input."""
    from dynamics.runs import RunSpec, simulate
    from theorems import REGISTRY
    from theorems.run import plan

    if claim_id not in REGISTRY:
        _fail(f"unknown claim id {claim_id!r}; see `aligncheck claims`")
    claim = REGISTRY[claim_id]
    if not plan.needs_run(claim) and claim.kind == "experiment" and claim.experiment is None:
        v = _figure3_verdict(claim_id, alexnet_dir)
    elif not plan.needs_run(claim):
        v = plan.check(claim)
    else:
        try:
            run = RunSpec.from_json(spec) if spec else RunSpec(method="flow" if claim.runs != "gd" else "gd",
                                                               policy=None if claim.runs != "gd" else "a35")
            traj = simulate(run)
        except (json.JSONDecodeError, TypeError) as exc:
            _fail(f"bad --spec: {exc}")
        except USER_ERRORS as exc:
            _fail(str(exc))
        if not plan.speaks_about(claim, traj):
            _fail(f"{claim_id} speaks about {claim.runs} runs; this spec is a {traj.method} run")
        v = plan.check(claim, traj, "check", run.to_json())
    if as_json:
        keys = ("claim_id", "status", "worst_slack", "rel_slack", "trivial_share", "lhs", "rhs", "tol", "where",
                "n_checked", "message", "spec")
        click.echo(json.dumps({k: _clean(getattr(v, k)) for k in keys} | {"erratum": claim.erratum or None}))
    else:
        known = f" (known erratum: {claim.erratum})" if v.status == "fail" and claim.erratum else ""
        click.echo(f"{claim_id}: {v.status}{known}  (checked {v.n_checked} points, worst slack {v.worst_slack}, "
                   f"relative slack {v.rel_slack})")
        if v.message:
            click.echo("  " + v.message.splitlines()[0])
    sys.exit(1 if v.status in ("fail", "error") else 0)


def _figure3_verdict(claim_id: str, alexnet_dir: str | None):
    """FIG3a/FIG3b's verdict, judged on a finished `aligncheck alexnet` folder."""
    from theorems.experiments.alexnet import HINT, load_result, report_verdicts

    if alexnet_dir is None:
        _fail(f"{claim_id} is judged on a finished AlexNet run: {HINT} (or `aligncheck check {claim_id} --alexnet DIR`)")
    try:
        verdicts, _ = report_verdicts(load_result(alexnet_dir))
    except ValueError as exc:
        _fail(str(exc))
    found = [v for v in verdicts if v.claim_id == claim_id]
    if not found:
        _fail(f"{alexnet_dir} holds no run for {claim_id}")
    return found[0]


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default="reports/figures", show_default=True,
              help="directory for the PNG files")
def figures(out: str) -> None:
    """Redraw the paper's Figures 1 and 2 (fig1a.png, fig1b.png, fig2.png) from the project's simulators."""
    from theorems.experiments.figures import figure_facts, figure_runs

    from .reporting.plots import draw_figures

    paths = draw_figures(figure_runs(), out)
    for name, facts in figure_facts().items():
        click.echo(f"{name}: " + "; ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}"
                                          for k, v in facts.items()))
    for p in paths:
        click.echo(str(p))


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="folder with CIFAR-10's python batches (data_batch_1..5); default: the stand-in "
                   "(scikit-learn load_digits upsampled to 32x32x3, or generated images)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--epochs", type=float, default=None, help="[default: 30 on CUDA, 60 on CPU]")
@click.option("--width-scale", type=float, default=None,
              help="multiplies channels and the dense width 4096 [default: 1 on CUDA, 0.125 on CPU]")
@click.option("--max-steps", type=int, default=None, help="stop after this many SGD steps (overrides --epochs)")
@click.option("--lr", type=float, default=0.05, show_default=True)
@click.option("--dropout", type=float, default=0.0, show_default=True, help="before the first two dense layers")
@click.option("--clip", type=float, default=None,
              help="clip the gradient's norm to this before each SGD step [default: 1 on the generated stand-in "
                   "used without scikit-learn, where plain SGD diverged; none (plain SGD) otherwise; 0: none]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="output folder [default: reports/<timestamp>-alexnet]")
def alexnet(data_dir: str | None, device: str, epochs: float | None, width_scale: float | None, max_steps: int | None,
            lr: float, dropout: float, clip: float | None, seed: int, out: str | None) -> None:
    """Figure 3: train AlexNet (two initialisations) and plot the dense layers' ||W||_2/||W||_F.  The dense
    layers are recorded by `aligncheck.watch`'s recorder; OUT/watch-<init>/ holds its report per run."""
    try:
        import torch  # noqa: F401
    except ImportError:
        _fail("`alexnet` needs torch: pip install 'aligncheck[torch]'")
    from tqdm import tqdm

    from theorems.experiments.alexnet import CLAIMS, RULE, run
    from theorems.experiments.watch import controls as watch_controls
    from theorems.experiments.watch import verdicts as watch_verdicts

    from .monitor import write_report
    from .reporting.files import atomic, write_atomic
    from .reporting.markdown import figure3 as figure3_markdown
    from .reporting.plots import figure3

    out = Path(out) if out else Path("reports") / (time.strftime("%Y%m%d-%H%M%S") + "-alexnet")
    try:
        with tqdm(desc="alexnet", unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
            result = run(data_dir, device, epochs, width_scale, seed=seed, out_dir=out, max_steps=max_steps,
                         lr=lr, dropout=dropout, clip=clip, progress=bar.update)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    with atomic(out / "fig3.png") as tmp:
        figure3(result).savefig(tmp, dpi=120, format="png")
    write_atomic(out / "fig3.md", figure3_markdown(result))
    for kind, history in result.pop("histories").items():   # the same report section as aligncheck.watch's
        r = result["runs"][kind]
        write_report(history, watch_verdicts(history), watch_controls(history), out / f"watch-{kind}",
                     title=f"{CLAIMS.get(kind, kind)}: AlexNet dense layers, init {kind}", x_label="SGD step",
                     notes=[f"data: {result['data']}; width x{result['width_scale']}; device {r['device']}; "
                            f"{r['steps']} SGD steps, lr {r['settings']['lr']}"
                            + (f", gradient norm clipped to {r['settings']['clip_grad_norm']}"
                               if r["settings"]["clip_grad_norm"] else "") + f"; final risk {r['risk'][-1]:.3g}"])
    click.echo(f"figure: {out / 'fig3.png'}; per run: {out / 'watch-<init>' / 'report.html'}")
    click.echo(f"data: {result['data']}; width x{result['width_scale']}; device {result['device']}")
    for v, c in zip(result["verdicts"], result["controls"]):
        click.echo(f"  {v['claim_id']} ({v['init']}): {v['status']}; final ratios "
                   + ", ".join(f"{r:.3f} (bound {b:.3f}, initial {i:.3f})"
                               for r, b, i in zip(v["final_ratio"], v["lower_bound"], v["initial_ratio"]))
                   + f"; risk {v['final_risk']:.3g}; negative control "
                   + ("caught" if c["status"] == "fail" else "NOT CAUGHT"))
    click.echo(f"rule: {RULE}")
    # like verify: a claim that fails (or a control that is not caught) is exit status 1
    sys.exit(1 if any(v["status"] == "fail" for v in result["verdicts"])
             or any(c["status"] != "fail" for c in result["controls"]) else 0)
_Group.LAZY["sweep"] = ("aligncheck.sweep_cli", "sweep_command")   # a grid through verify's executors
_Group.LAZY["regime"] = ("aligncheck.regime_cli", "regime_command")   # reach the asymptotic regime fast
