"""Nothing lost: verify refuses a bad --out before any work, gets a fresh folder per run, stops at a safe
point on SIGINT with a partial report (exit 130), and --resume completes it to the uninterrupted results."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from aligncheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ["--claim", "L2.6a", "--claim", "EQ3.3", "--claim", "EQC.10"]


def _verify(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "aligncheck", "verify", "--profile", "quick", *CLAIMS, *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _results(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "results.csv").drop(columns=["seconds"])


@pytest.mark.slow   # three verify runs (about 45 s on a quiet 2-core machine): pytest -m slow
def test_sigint_keeps_what_finished_and_resume_completes_it(tmp_path):
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    proc = _verify("--out", str(cut))
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:   # interrupt once two runs are journalled
        journal = cut / "journal.jsonl"
        if journal.is_file() and len(journal.read_text().splitlines()) >= 2:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.2)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert "interrupted" in (cut / "report.md").read_text()
    assert len(_results(cut)) > 0                                   # the finished runs' verdicts, parseable
    resumed = subprocess.run([sys.executable, "-m", "aligncheck", "verify", "--resume", str(cut)], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    full = _verify("--out", str(whole))
    full.communicate(timeout=600)
    assert full.returncode == 0
    pd.testing.assert_frame_equal(_results(cut), _results(whole))
    assert "interrupted" not in (cut / "report.md").read_text()


def test_bad_out_refused_before_any_work(tmp_path):
    (tmp_path / "file.csv").write_text("x")
    r = CliRunner().invoke(main, ["verify", "--out", str(tmp_path / "file.csv" / "sub")])
    assert r.exit_code == 2 and r.output.count("\n") == 1
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "stale.txt").write_text("from an earlier run")
    r = CliRunner().invoke(main, ["verify", "--out", str(tmp_path / "old")])
    assert r.exit_code == 2 and "--overwrite" in r.output


def test_default_folders_are_unique(tmp_path, monkeypatch):
    from aligncheck.cli import _output_dir

    monkeypatch.chdir(tmp_path)
    a, b = _output_dir(None, "quick", 0, False), _output_dir(None, "quick", 0, False)
    assert a != b and a.is_dir() and b.is_dir()
