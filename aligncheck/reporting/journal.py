"""What keeps an interrupted verify from losing work: run.json (the options a run was started with),
journal.jsonl (every finished run's verdicts, appended and flushed as each run ends), and the signal
handling that turns SIGINT/SIGTERM into a stop at the next safe point."""
from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict
from pathlib import Path

from theorems.model import Verdict

from .files import write_atomic

JOURNAL, CONFIG = "journal.jsonl", "run.json"


def start(out_dir: Path, config: dict) -> None:
    """A fresh journal and the run's options (what --resume reruns with)."""
    write_atomic(out_dir / CONFIG, json.dumps(config, indent=1))
    (out_dir / JOURNAL).write_text("")


def append(out_dir: Path, run_id: str, verdicts: list, controls: list) -> None:
    """One finished run, as one JSON line (NaN and inf kept exactly), flushed to disk before going on."""
    record = {"run": run_id, "verdicts": [asdict(v) for v in verdicts], "controls": [asdict(v) for v in controls]}
    with open(out_dir / JOURNAL, "a") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def config(out_dir: Path) -> dict:
    path = out_dir / CONFIG
    if not path.is_file():
        raise ValueError(f"{out_dir} holds no {CONFIG}: not a report folder started by `aligncheck verify`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is damaged ({exc})") from None


def read(out_dir: Path) -> dict[str, tuple[list, list]]:
    """{run_id: (verdicts, controls)} of the runs the journal holds; a line cut short by a kill is ignored
    (that run is simply done again)."""
    finished = {}
    path = out_dir / JOURNAL
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        finished[rec["run"]] = ([Verdict(**v) for v in rec["verdicts"]], [Verdict(**v) for v in rec["controls"]])
    return finished


class Signals:
    """Within `with Signals() as s:`, SIGINT and SIGTERM are noted (s.received()) instead of killing the
    process, so the run stops at its next safe point; a second SIGINT interrupts at once."""

    CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict = {}

    def _note(self, signum: int, frame: object) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def received(self) -> bool:
        return self.signum is not None

    def exit_code(self) -> int:
        return self.CODES.get(self.signum, 1)

    def __enter__(self) -> "Signals":
        self._old = {s: signal.signal(s, self._note) for s in self.CODES}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)
