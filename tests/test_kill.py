"""Killed runs leave nothing half-written, and an output folder never mixes two runs.

``simulate``, ``abm`` and ``optimize`` are started in a subprocess into a folder that holds
an earlier run's results and killed with SIGKILL at random moments (ten times each, half of
them late in the run, where the files are written and swapped in). After each kill every
visible file is byte-identical to the earlier run's or to a complete run's of the new
spec; unless a swap was interrupted (its journal left behind), the visible set is exactly
one of the two; and the next run's recovery (:func:`riskmodel.runs.writers.recover`)
finishes an interrupted swap, removes the dead run's staging folder and leaves exactly one
run's set. Deterministic tests cover the swap's crash window, SIGTERM, and an infeasible
optimisation replacing an earlier feasible one as a set.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_bad_input import run_cli

from riskmodel.runs import writers
from riskmodel.runs.writers import KIND_FILES, manifest_name, recover

ENTRY = [sys.executable, "-c", "from riskmodel.cli import main; main()"]
KILLS = 10
RUNS = {
    "simulate": ["simulate", "--years", "600"],
    "abm": ["abm", "--years", "1"],
    "optimize": [
        *("optimize", "--sector", "finance", "--years", "40", "--eval-years", "100"),
        *("--replications", "0", "--frontier-points", "2", "--no-fn"),
    ],
}


def visible(folder: Path) -> dict[str, bytes]:
    """The files a reader sees (hidden staging folders, journals and manifests aside)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()}


def hidden_debris(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((writers.STAGE_PREFIX, writers.JOURNAL_PREFIX)))


def start(args: list[str], out: Path, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    return subprocess.Popen([*ENTRY, *args, "--out", str(out)], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def complete_run(args: list[str], out: Path, cwd: Path) -> float:
    began = time.perf_counter()
    process = start(args, out, cwd)
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err.decode()
    return time.perf_counter() - began


@pytest.mark.slow  # about a minute a kind on two cores: see the note on the slow marker in the report
@pytest.mark.parametrize("kind", list(RUNS))
def test_sigkill_at_random_moments_leaves_one_complete_run(kind: str, tmp_path: Path) -> None:
    args = RUNS[kind]
    pristine = tmp_path / "earlier"
    complete_run([*args, "--seed", "1"], pristine, tmp_path)  # the earlier results
    reference = tmp_path / "reference"
    duration = complete_run([*args, "--seed", "2"], reference, tmp_path)  # what the killed run would write
    old, new = visible(pristine), visible(reference)
    assert set(old) == set(new) and set(old) <= set(KIND_FILES[kind]), (old.keys(), new.keys())
    chance = random.Random(f"kill-{kind}")
    outcomes = []
    for trial in range(KILLS):
        out = tmp_path / f"out{trial}"
        shutil.copytree(pristine, out, symlinks=True)
        delay = chance.uniform(0.0, duration) if trial % 2 else chance.uniform(0.7 * duration, 1.05 * duration)
        process = start([*args, "--seed", "2"], out, tmp_path)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        seen = visible(out)
        for name, content in seen.items():  # nothing half-written: each file the old one or the new one
            assert content in (old.get(name), new.get(name)), f"trial {trial}: {name} is neither run's file"
        journal = any(n.startswith(writers.JOURNAL_PREFIX) for n in hidden_debris(out))
        if not journal:
            assert seen in (old, new), f"trial {trial}: the folder mixes two runs: {sorted(seen)}"
        recover(out)  # what the next run into the folder does first
        assert hidden_debris(out) == [], f"trial {trial}: debris left after recovery"
        after = visible(out)
        assert after in (old, new), f"trial {trial}: the recovered folder mixes two runs"
        if journal:
            assert after == new, "an interrupted swap is finished, not undone"
        manifest = out / manifest_name(kind)
        assert sorted(json.loads(manifest.read_text())["files"]) == sorted(after)
        outcomes.append("new" if after == new else "old")
    assert len(outcomes) == KILLS


def test_the_next_run_removes_a_dead_runs_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = start(["simulate", "--years", "200000"], out, tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob(".partial-*/ylt.parquet")):
        time.sleep(0.2)
    assert list(out.glob(".partial-*/ylt.parquet")), "the run did not start streaming in time"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert list(out.glob(".partial-*")), "a SIGKILL cannot clean up: the staging folder is left"
    assert visible(out) == {}, "nothing a reader would see"
    done = run_cli(["simulate", "--years", "20", "--out", str(out)], real=False, cwd=tmp_path)
    assert done.code == 0, done
    assert hidden_debris(out) == []
    assert set(visible(out)) == set(KIND_FILES["simulate"]) - {"elt.parquet"}


def test_sigterm_removes_the_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = start(["simulate", "--years", "200000"], out, tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(out.glob(".partial-*/ylt.parquet")):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "Traceback" not in err.decode()
    assert hidden_debris(out) == [] and visible(out) == {}


def _staged_run(out: Path, kind: str, files: dict[str, bytes]) -> None:
    writers.output_dir(out, kind)
    with writers.staged(out, kind) as stage:
        for name, content in files.items():
            (stage / name).write_bytes(content)


def test_a_swap_killed_half_way_is_finished_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    old = {name: f"old {name}".encode() for name in KIND_FILES["optimize"][:5]}
    _staged_run(out, "optimize", old)
    assert visible(out) == old
    new = {"optimize_summary.json": b"new summary"}  # an infeasible rerun writes only its summary
    real_replace = os.replace
    calls = []

    def dies_after_the_first_move(source, target):
        calls.append(target)
        if len(calls) == 2:  # the stage was renamed to its journal and one file moved: die here
            raise SystemExit("killed")
        return real_replace(source, target)

    monkeypatch.setattr(writers.os, "replace", dies_after_the_first_move)
    with pytest.raises(SystemExit):
        _staged_run(out, "optimize", new)
    monkeypatch.setattr(writers.os, "replace", real_replace)
    assert any(n.startswith(writers.JOURNAL_PREFIX) for n in hidden_debris(out)), "the journal survives the kill"
    recover(out)
    assert visible(out) == new, "the previous run's portfolio, frontier and measures are gone with it"
    assert hidden_debris(out) == []


def test_a_run_replaces_only_its_own_commands_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _staged_run(out, "simulate", {"summary.json": b"s1", "ylt.parquet": b"y1"})
    _staged_run(out, "abm", {"abm_summary.json": b"a1"})
    (out / "notes.txt").write_bytes(b"mine")
    _staged_run(out, "simulate", {"summary.json": b"s2"})
    assert visible(out) == {"summary.json": b"s2", "abm_summary.json": b"a1", "notes.txt": b"mine"}


def test_an_output_file_that_is_a_link_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_bytes(b"keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").symlink_to(outside)
    (out / writers.LOCK).symlink_to(tmp_path / "lock-outside")
    with pytest.raises(OSError):  # the lock file is never opened through a link
        _staged_run(out, "simulate", {"summary.json": b"new"})
    (out / writers.LOCK).unlink()
    _staged_run(out, "simulate", {"summary.json": b"new"})
    assert outside.read_bytes() == b"keep" and not (tmp_path / "lock-outside").exists()
    assert (out / "summary.json").read_bytes() == b"new" and not (out / "summary.json").is_symlink()


def test_an_infeasible_optimisation_replaces_the_feasible_ones_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    small = ["--sector", "finance", "--years", "40", "--eval-years", "100", "--replications", "0",
             "--frontier-points", "2", "--out", str(out)]  # fmt: skip
    feasible = run_cli(["optimize", *small, "--no-fn"], real=False, cwd=tmp_path)
    assert feasible.code == 0, feasible
    assert {"portfolio.toml", "frontier.csv", "measures.csv"} <= set(visible(out))
    infeasible = run_cli(["optimize", *small, "--budget", "0", "--cvar-level", "0.9", "--cvar-max", "1"], real=False,
                         cwd=tmp_path)  # fmt: skip
    assert infeasible.code == 3, infeasible
    assert set(visible(out)) == {"optimize_summary.json"}
    assert json.loads((out / manifest_name("optimize")).read_text())["files"] == ["optimize_summary.json"]
