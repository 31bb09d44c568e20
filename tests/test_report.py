"""The report a reader trusts: report.html is self-contained and complete, the tables stream, the
index shows status changes, the figures show what the paper's captions say, and the page renders
in headless Chromium."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aligncheck.reporting import html
from aligncheck.reporting.write import write
from dynamics.runs import RunSpec, simulate
from theorems import REGISTRY
from theorems.engine.evaluate import evaluate
from theorems.experiments import figures
from theorems.model import Outcome, Verdict
from theorems.run import plan
from theorems.run.verify import keep_series, provenance

SMALL = RunSpec(data=("random", 8, 3, 0.2, 1), hidden=(3, 2), horizon=20.0, checkpoints=10)
SMALL_GD = SMALL.with_(method="gd", policy="a35", horizon=60)


def small_outcome() -> Outcome:
    """A real but small outcome: a few claims on two short runs, a failing erratum, a fake
    asymptotic verdict with details (rendered generically) and a fake identity verdict."""
    out = Outcome(specs=[SMALL, SMALL_GD], provenance=provenance("quick", 0, None) | {"seconds": 1.0})
    trajectories = {}
    for i, spec in enumerate(out.specs):
        traj = trajectories[f"run{i:03d}"] = simulate(spec)
        for cid in ("L2.6a", "L2.6b", "EQB.2", "LC.7b-printed", "EQ3.3"):
            claim = REGISTRY[cid]
            if plan.speaks_about(claim, traj):
                out.verdicts.append(evaluate(claim, traj, f"run{i:03d}", spec.to_json()))
                out.controls.append(evaluate(claim.negative_control, traj, f"run{i:03d}", spec.to_json()))
    out.verdicts.append(Verdict("EQ2.1", "proof", "pass", worst_slack=-1e-15, n_checked=3, message="sympy, per shape"))
    out.verdicts.append(Verdict("T2.2a", "run000", "trend", n_checked=10, spec=SMALL.to_json(),
                                details={"thresholds reached": [0.1, 0.01], "fitted rate": {"slope": -1.02, "r2": 0.999}}))
    out.verdicts.append(Verdict("T2.2c", "run000", "trend", n_checked=10, spec=SMALL.to_json(),
                                details={"quantity": "1 - ||W||_2/||W||_F", "proven_rate": 1.0, "fitted_rate": 1.01,
                                         "fitted_rate_se": 0.01, "rate_decades": 2.5, "rate_note": "Lemma 2.6a"}))
    out.verdicts += [plan.check(REGISTRY[cid]) for cid in ("FIG1a", "FIG1b", "FIG2")]
    out.figures.update(figures.figure_runs())
    keep_series(out, list(REGISTRY.values()), trajectories)
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The report of small_outcome()."""
    root = tmp_path_factory.mktemp("reports")
    outcome = small_outcome()
    out = write(outcome, root / "run-b", formats=("csv", "jsonl"), index=False)
    yield outcome, out, (out / "report.html").read_text()


def summary_table(page: str) -> str:
    return page.split('<h2 id="summary">', 1)[1].split("</table>", 1)[0]


def test_every_registered_id_has_a_summary_row(written):
    _, _, page = written
    table = summary_table(page)
    for cid in REGISTRY:
        row = re.search(r"<tr><td><a href=\"#c-[^\"]+\"><code>" + re.escape(cid) + r"</code>.*?</tr>", table, re.S)
        assert row, f"{cid} missing from the summary table"
    # FIG3a is checked from `aligncheck alexnet` output (verify --alexnet): without it, "not checked"
    # with the commands that check it, never dropped
    row = re.search(r"<code>FIG3a</code>.*?</tr>", table, re.S).group(0)
    assert ">not checked</span>" in row and "aligncheck verify --alexnet DIR" in row and "AlexNet" in row
    md = (written[1] / "report.md").read_text()
    assert "Not checked in this run: run `aligncheck alexnet --out DIR` (needs torch)" in md
    assert not re.search(r"## Not implemented yet\n\n[^\n]*FIG3a", md)
    # the redrawn experiments carry their own evidence: finite-time, so `trend`, with the figure's numbers
    for cid in ("FIG1a", "FIG1b", "FIG2"):
        row = re.search(r"<code>" + cid + r"</code>.*?</tr>", table, re.S).group(0)
        assert ">trend</span>" in row, row
    section = page.split('id="c-FIG2"', 1)[1].split('<div class="claim"', 1)[0]
    assert "|&lt;v_2, u_1&gt;|" in section and 'href="#fig2"' in section


def test_statuses_statements_and_evidence_are_shown(written):
    _, _, page = written
    assert ">erratum</span>" in page and ">pass</span>" in page and ">trend</span>" in page
    assert REGISTRY["L2.6b"].statement.replace("<", "&lt;").replace(">", "&gt;") in page
    section = page.split('id="c-LC_7b-printed"', 1)[1].split('<div class="claim"', 1)[0]
    assert "aligncheck check LC.7b-printed --spec" in section  # the reproduce command of the failure
    assert "data:image/png;base64," in section                  # its slack plot
    assert "Known erratum" in section


def test_details_render_generically(written):
    _, _, page = written
    section = page.split('id="c-T2_2a"', 1)[1].split('<div class="claim"', 1)[0]
    assert "fitted rate.slope" in section and "-1.02" in section and "thresholds reached" in section


def test_markdown_tables_keep_their_columns(written):
    """Every row of every table in report.md has its header's cells (a `|` inside a cell is escaped)."""
    _, out, _ = written
    text = (out / "report.md").read_text()
    cells = lambda line: len(re.split(r"(?<!\\)\|", line.strip())) - 2
    tables = [t for t in text.split("\n\n") if t.startswith("|")]
    assert any("fitted exponent" in t for t in tables)
    for table in tables:
        rows = table.splitlines()
        assert {cells(r) for r in rows} == {cells(rows[0])}, table


def test_fitted_rates_say_how_many_decades_they_span(written):
    _, out, page = written
    row = next(r for r in (out / "report.md").read_text().splitlines() if r.startswith("| `T2.2c`") and "fitted" not in r
               and "2.50" in r)
    assert "(short)" in row and "1.01" in row
    assert "over 2.50 decades of x (under 3 decades)" in page


def test_html_is_self_contained(written):
    _, _, page = written
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, re.I)
    assert refs
    assert all(r.startswith(("#", "data:image/png;base64,")) for r in refs), {r[:40] for r in refs}
    for tag in ("<script", "<link", "<iframe", "@import", "url("):
        assert tag not in page.lower()
    assert page.count('<figure id="fig') == 3  # Figures 1a, 1b, 2


def test_jsonl_stream(written):
    outcome, out, _ = written
    lines = (out / "verdicts.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert len(recs) == len(outcome.verdicts) + len(outcome.controls)
    assert {"claim_id", "status", "worst_slack", "spec", "details", "control"} <= set(recs[0])
    assert any(r["control"] for r in recs) and any(r["details"] for r in recs)


def test_parquet_or_clear_error(tmp_path):
    outcome = small_outcome()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(ValueError, match="pyarrow"):
            write(outcome, tmp_path, formats=("parquet",), html=False, index=False)
        pytest.skip("pyarrow not installed: checked the clear error instead")
    write(outcome, tmp_path, formats=("parquet",), html=False, index=False)
    assert pq.read_table(tmp_path / "results.parquet").num_rows == len(outcome.verdicts) + len(outcome.controls)


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        write(Outcome(provenance=provenance("quick", 0, None)), tmp_path, formats=("xlsx",))


def test_index_links_runs_and_shows_changes(written, tmp_path):
    _, out, _ = written
    a, b = tmp_path / "run-a", tmp_path / "run-b"
    shutil.copytree(out, b)
    a.mkdir()
    s = json.loads((b / "summary.json").read_text())
    s["provenance"]["started"] = "2000-01-01T00:00:00"
    s["claims"]["L2.6b"]["status"] = "fail"
    (a / "summary.json").write_text(json.dumps(s))
    page = html.write_index(tmp_path).read_text()
    assert 'href="run-b/report.html"' in page and 'href="run-a/report.md"' in page
    assert "L2.6b: fail -&gt; pass" in page and 'class="changed"' in page


# ---------------------------------------------------------------- figures

def test_figures_show_what_the_captions_say():
    facts = figures.figure_facts()
    # Figure 1a: both networks end at the max-margin direction
    assert all(v < 0.5 for k, v in facts["FIG1a"].items() if k.startswith("angle"))
    # Figure 1b: every layer's ||W||_2/||W||_F tends to 1
    last = [float(v.split("->")[1]) for v in facts["FIG1b"].values()]
    assert min(last) > 0.98
    # Figure 2: the mapped data flattens layer after layer, and v_{i+1} follows u_i
    flat = [v for k, v in facts["FIG2"].items() if "sigma2/sigma1" in k]
    assert flat[0] < 0.05 and flat[1] < flat[0]
    assert all(v > 0.999 for k, v in facts["FIG2"].items() if k.startswith("|<v_"))


def test_figures_command_draws_three_pngs(tmp_path):
    from click.testing import CliRunner

    from aligncheck.cli import main

    r = CliRunner().invoke(main, ["figures", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for name in ("fig1a", "fig1b", "fig2"):
        assert not_blank(tmp_path / f"{name}.png")


def not_blank(png: Path) -> bool:
    from matplotlib.image import imread

    img = imread(png)[..., :3]
    return img.std() > 0.02 and (img < 0.5).mean() > 0.001  # real content, not a white (or grey) page


# ---------------------------------------------------------------- Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars"]


# Chromium's own services (sign-in, updates, time) still try the network offline: not the page's requests
CHROMIUM_SERVICES = ("google.com", "googleapis.com", "gstatic.com", "chromium.org")


def page_requests(net_log: str) -> list[str]:
    """URLs in Chromium's net log that the page asked for beyond itself (inline data: is no request)."""
    urls = set(re.findall(r'"(?:url|original_url)":"([^"]+)"', net_log))
    host = lambda u: re.sub(r"^[a-z]+://([^/:]*).*$", r"\1", u)  # noqa: E731
    return sorted(u for u in urls if not u.startswith(("data:", "file:", "chrome", "about:"))
                  and not host(u).endswith(CHROMIUM_SERVICES))


def screenshot(page: Path, tmp_path: Path) -> tuple[Path, str, str]:
    shot, log = tmp_path / "shot.png", tmp_path / "net.json"
    r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={log}",
                        "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1280,2400",
                        page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return shot, (log.read_text() if log.is_file() else ""), r.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium; .ci/run does it)")
def test_report_renders_in_headless_chromium(written, tmp_path):
    _, out, _ = written
    shot, net, stderr = screenshot(out / "report.html", tmp_path)
    assert shot.is_file(), stderr[-2000:]
    assert not_blank(shot)
    assert net, "no net log written"
    assert page_requests(net) == []


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium; .ci/run does it)")
def test_chromium_check_catches_a_page_that_fetches(tmp_path):
    """Negative control of the test above: a page with a remote image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><p>remote</p><img src="http://example.invalid/x.png"></body></html>')
    _, net, _ = screenshot(bad, tmp_path)
    assert page_requests(net) == ["http://example.invalid/x.png"]
