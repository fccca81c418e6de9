"""Experiment batches: seeds, designs, the store, the runner, analysis and bad specs.

Most batches here use the ``function`` kind (a plain Python function as the model), so
they take milliseconds a run; one small simulate batch checks real runs and their tables.
The batches killed with SIGKILL and the Dask clusters are in test_experiments_slow.py.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pytest
from experiments_helpers import results_bytes, toy_spec, write_spec
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.experiments import build_design, load_experiment, load_spec, run_experiment
from riskmodel.experiments.analysis import paired_differences, summarize
from riskmodel.experiments.discovery import discover
from riskmodel.experiments.seeds import run_seed
from riskmodel.experiments.sensitivity import DUMMY, sensitivity

ROOT = Path(__file__).resolve().parent.parent
X = (1, 2, 3)


def test_seeds_are_common_across_points_and_distinct_across_replications():
    assert run_seed(7, 3) == run_seed(7, 3)
    assert len({run_seed(7, r) for r in range(100)}) == 100
    assert run_seed(7, 3, point=0) != run_seed(7, 3, point=1)
    assert all(0 <= run_seed(s, r) < 2**63 for s in (0, 2**62) for r in range(5))


def test_same_results_on_one_and_two_workers(tmp_path):
    spec = write_spec(tmp_path, toy_spec(replications=4))
    one = run_experiment(spec, tmp_path / "one.duckdb", workers=1, progress=False)
    two = run_experiment(spec, tmp_path / "two.duckdb", workers=2, progress=False)
    assert one.done == two.done == 32
    assert results_bytes(one.store) == results_bytes(two.store)
    workers = set(load_experiment(two.store).runs.worker)
    assert len(workers) >= 1 and all(":" in w for w in workers)


def test_common_random_numbers_pair_the_levers(tmp_path):
    data = load_experiment(run_experiment(write_spec(tmp_path, toy_spec(replications=5)), tmp_path / "s.duckdb",
                                          progress=False).store)  # fmt: skip
    wide = data.wide()
    # the noise of replication r is the same at every design point
    assert wide.groupby("replication")["noise"].nunique().eq(1).all()
    paired = paired_differences(data).set_index("outcome")
    assert paired.loc["noise", "mean"] == 0 and paired.loc["noise", "se"] == 0
    # y = slope * x + noise: the paired difference of slope 2 over slope 1 is the mean x
    x_mean = data.points["x"].mean()
    assert paired.loc["y", "mean"] == pytest.approx(x_mean)
    table = summarize(data)
    assert set(table.columns) >= {"n", "mean", "se", "ci_low", "ci_high"}
    assert (table.n == 5).all() and (table.ci_low <= table["mean"]).all()


def test_a_failing_design_point_is_stored_and_the_rest_finish(tmp_path):
    spec = toy_spec(replications=2, uncertainties=[], design={"uncertainties": "factorial"},
                    levers=[{"path": "x", "values": [1.0, -1.0, 2.0]}])  # fmt: skip
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    assert (report.done, report.failed) == (4, 2)
    failed = load_experiment(report.store).failures()
    assert set(failed.point_id) == {1}
    assert (failed.error_type == "ValueError").all()
    assert failed.error_message.str.contains("must not be negative").all()
    assert failed.traceback.str.contains("noisy_line").all()
    shown = CliRunner().invoke(app, ["experiment", "status", str(report.store)])
    assert shown.exit_code == 0 and "2 failed" in shown.stdout and "ValueError" in shown.stdout
    again = run_experiment(write_spec(tmp_path, spec), report.store, retry_failed=True, progress=False)
    assert (again.ran, again.failed) == (2, 2)


def test_distributions_map_unit_values_through_their_quantiles():
    from scipy import stats

    from riskmodel.experiments.designs import quantile
    from riskmodel.experiments.spec import Uncertainty

    def u(**fields):
        return Uncertainty(path="p", **fields)

    assert quantile(u(distribution="uniform", low=2.0, high=4.0), 0.25) == pytest.approx(2.5)
    assert quantile(u(distribution="loguniform", low=1.0, high=100.0), 0.5) == pytest.approx(10.0)
    assert quantile(u(distribution="triangular", low=0.0, mode=1.0, high=1.0), 0.25) == pytest.approx(0.5)
    assert quantile(u(distribution="normal", mean=1.0, sd=2.0), 0.975) == pytest.approx(1 + 2 * stats.norm.ppf(0.975))
    assert np.isfinite(quantile(u(distribution="normal", mean=0.0, sd=1.0), 0.0))


def test_joint_design_samples_levers_as_discrete_factors(tmp_path):
    spec = toy_spec(levers=[{"path": "slope", "values": [1.0, 2.0, 5.0]}],
                    design={"uncertainties": "monte_carlo", "samples": 30, "combine": "joint"})  # fmt: skip
    design = build_design(load_spec(write_spec(tmp_path, spec)))
    assert len(design.points) == 30 and set(design.points["lever_set"]) == {0}
    assert set(design.points["slope"]) == {1.0, 2.0, 5.0}
    assert design.problem["names"] == ["slope", "x"]
    factorial = build_design(load_spec(write_spec(tmp_path, toy_spec(design={"uncertainties": "factorial",
                                                                             "levels": 3}))))  # fmt: skip
    assert len(factorial.points) == 2 * 3 and sorted(set(factorial.points.x.round(4))) == [0.1667, 0.5, 0.8333]


def test_posterior_draws_are_sampled_by_row(tmp_path):
    import pandas as pd

    draws = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "slope": [10.0, 20.0, 30.0, 40.0]})
    draws.to_parquet(tmp_path / "draws.parquet")
    spec = toy_spec(levers=[], uncertainties=[{"distribution": "posterior", "file": "draws.parquet"}],
                    design={"uncertainties": "lhs", "samples": 8})  # fmt: skip
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    points = load_experiment(report.store).points
    assert (points.slope == points.x * 100).all() and set(points.x) <= set(draws.x)


def test_ishigami_sobol_indices_through_the_runner_match_the_published_values(tmp_path):
    """Ishigami (a = 7, b = 0.1): S1 = 0.3139, 0.4424, 0 and ST = 0.5576, 0.4424, 0.2437
    (Saltelli et al. 2008, section 4.5 / SALib's docs); within 3 times SALib's own 95%
    bootstrap half-widths, plus a little for the bootstrap's own noise."""
    spec = {
        "experiment": {"name": "ishigami", "seed": 3, "replications": 1},
        "run": {"kind": "function", "function": "riskmodel.experiments.functions:ishigami"},
        "uncertainties": [{"path": f"x{i}", "distribution": "uniform", "low": -np.pi, "high": np.pi} for i in X],
        "design": {"uncertainties": "sobol", "samples": 256},
        "outcomes": {"keep": ["y"]},
    }
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    assert report.done == 256 * 5
    table = sensitivity(load_experiment(report.store), resamples=200).set_index("factor")
    for factor, s1, st in (("x1", 0.3139, 0.5576), ("x2", 0.4424, 0.4424), ("x3", 0.0, 0.2437)):
        row = table.loc[factor]
        assert abs(row.S1 - s1) <= 3 * row.S1_conf + 0.01, (factor, row.S1, row.S1_conf)
        assert abs(row.ST - st) <= 3 * row.ST_conf + 0.01, (factor, row.ST, row.ST_conf)


def test_posterior_first_order_indices_match_the_closed_form(tmp_path):
    """Given-data indices of a posterior's columns: ``y = slope * x`` (``noisy_line``; its
    noise is common to every point) with x ~ U(0, 1) and slope ~ U(1, 2) drawn
    independently, so S1(x) = E[slope]^2 Var(x) / Var(y) = 0.871 and S1(slope) =
    Var(slope) E[x]^2 / Var(y) = 0.097; ``other`` is drawn but unused (S1 = 0). Binning a
    uniform input into M >= 5 equiprobable classes lowers an index by at most 1/M^2 of
    itself; the rest of the tolerance is 3 standard errors (SALib's 95% half-width / 1.96).
    ``x_linked`` (an increasing function of x) and ``minus_slope`` are reported with the
    column they follow, and only the parameters that matter stand above the dummy."""
    import pandas as pd

    n = 512
    rng = np.random.default_rng(11)
    x, slope, other = rng.random(n), 1 + rng.random(n), rng.random(n)
    pd.DataFrame({"x": x, "slope": slope, "other": other, "x_linked": 3 * x - 1,
                  "minus_slope": -slope}).to_parquet(tmp_path / "draws.parquet")  # fmt: skip
    spec = toy_spec(replications=1, levers=[], outcomes={"keep": ["y"]},
                    uncertainties=[{"distribution": "posterior", "file": "draws.parquet"}],
                    design={"uncertainties": "lhs", "samples": n})  # fmt: skip
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    data = load_experiment(report.store)
    assert sorted(data.points["x"]) == sorted(x)  # a Latin hypercube of n points takes every draw once
    table = sensitivity(data, resamples=200).set_index("factor")
    var_y = (2.25 + 1 / 12) / 3 - 2.25 * 0.25
    dummy = table.loc[DUMMY]
    for factor, s1 in (("x", 2.25 / 12 / var_y), ("slope", 0.25 / 12 / var_y), ("other", 0.0)):
        row = table.loc[factor]
        assert abs(row.S1 - s1) <= 3 * row.S1_conf / 1.96 + s1 / 25, (factor, row.S1, row.S1_conf)
        assert (row.S1 - row.S1_conf > dummy.S1 + dummy.S1_conf) == (s1 > 0), factor
    assert table.loc["x", "linked"] == "x_linked" and table.loc["slope", "linked"] == "minus_slope"
    assert len(table) == 4


def test_morris_with_replications_separates_noise(tmp_path):
    spec = {
        "experiment": {"name": "morris", "seed": 5, "replications": 3},
        "run": {"kind": "function", "function": "riskmodel.experiments.functions:ishigami"},
        "uncertainties": [{"path": f"x{i}", "distribution": "uniform", "low": -np.pi, "high": np.pi} for i in X],
        "design": {"uncertainties": "morris", "samples": 10},
    }
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    table = sensitivity(load_experiment(report.store), resamples=50).set_index(["outcome", "factor"])
    assert table.loc[("y", "x1"), "noise_share"] == pytest.approx(0, abs=1e-12)  # Ishigami has no noise
    assert table.loc[("y_noisy", "x1"), "noise_share"] > 0
    assert table.loc[("y", "x3"), "mu_star_rep_sd"] == pytest.approx(0, abs=1e-12)


def test_discovery_finds_the_box(tmp_path):
    spec = toy_spec(replications=2, levers=[{"path": "slope", "values": [0.0, 10.0]}],
                    design={"uncertainties": "lhs", "samples": 40})  # fmt: skip
    data = load_experiment(run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False).store)
    found = discover(data, "y", threshold=5.0)
    assert found.of_interest > 0 and {"coverage", "density"} <= set(found.tradeoff.columns)
    assert "slope" in found.box.index or "x" in found.box.index
    assert "slope" in found.tree_rules or "x" in found.tree_rules


def test_resume_runs_only_what_is_not_done(tmp_path):
    spec = write_spec(tmp_path, toy_spec(replications=3))
    store = tmp_path / "s.duckdb"
    first = run_experiment(spec, store, progress=False)
    with duckdb.connect(str(store)) as con:  # as if killed: three runs interrupted, none committed
        con.execute("UPDATE runs SET status = 'running' WHERE run_id IN (1, 5, 20)")
        con.execute("DELETE FROM outcomes WHERE run_id IN (1, 5, 20)")
    again = run_experiment(spec, store, progress=False)
    assert (first.ran, again.ran) == (24, 3)
    fresh = run_experiment(spec, tmp_path / "fresh.duckdb", progress=False)
    assert results_bytes(store) == results_bytes(fresh.store)
    assert run_experiment(spec, store, progress=False).ran == 0


def test_simulate_batch_keeps_tables_in_shards(tmp_path):
    spec = {
        "experiment": {"name": "sim", "seed": 1, "replications": 2},
        "run": {"kind": "simulate", "size": 200},
        "levers": [{"path": "threats[id=ddos].frequency.rate", "values": [1.0, 3.0], "scale": True}],
        "outcomes": {"keep": ["aal.total", "failures.*"], "tables": ["sectors"]},
    }
    report = run_experiment(write_spec(tmp_path, spec), tmp_path / "s.duckdb", progress=False)
    assert report.done == 4
    data = load_experiment(report.store)
    assert data.outcome_names[0] == "aal.total" and any(n.startswith("failures.") for n in data.outcome_names)
    sectors = data.table("sectors")
    assert sorted(sectors.run_id.unique()) == [0, 1, 2, 3]
    assert len(sectors) == 4 * len(sectors[sectors.run_id == 0])
    assert list((tmp_path / "s.duckdb.tables" / "sectors").glob("*.parquet"))
    wide = data.wide().set_index(["replication", "threats[id=ddos].frequency.rate"])
    assert (wide.xs(3.0, level=1)["failures.total"] > wide.xs(1.0, level=1)["failures.total"]).all()


def test_cli_export_summary_and_changed_spec(tmp_path):
    spec = write_spec(tmp_path, toy_spec())
    store = tmp_path / "toy.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["experiment", "run", str(spec), "--store", str(store)]).exit_code == 0
    for suffix in (".csv", ".parquet"):
        done = runner.invoke(app, ["experiment", "export", str(store), "--out", str(tmp_path / f"r{suffix}")])
        assert done.exit_code == 0 and (tmp_path / f"r{suffix}").stat().st_size > 0
    done = runner.invoke(app, ["experiment", "summary", str(store), "--out", str(tmp_path / "figs")])
    assert done.exit_code == 0 and "Paired differences" in done.stdout
    assert (tmp_path / "figs" / "summary_y.png").is_file()
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    changed = write_spec(tmp_path, toy_spec(replications=4), "changed.toml")
    done = runner.invoke(app, ["experiment", "run", str(changed), "--store", str(store)])
    assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1 and "hash" in done.stderr
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


# --- malformed specs: one line, exit 2, an existing store untouched -----------------------

BASE = {
    "experiment": {"name": "bad", "seed": 1, "replications": 2},
    "run": {"kind": "simulate", "size": 100},
    "levers": [{"path": "threats[id=ddos].frequency.rate", "values": [0.1, 0.2]}],
    "uncertainties": [{"path": "threats[id=web_exploit].frequency.rate", "distribution": "uniform", "low": 0.5,
                       "high": 2.0, "scale": True}],
    "design": {"uncertainties": "lhs", "samples": 2},
    "outcomes": {"keep": ["aal.total"]},
}


def _set(path: str, value):
    def change(spec: dict) -> None:
        *parents, last = path.split("/")
        node = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is KeyError:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


BAD = {
    "unknown override path": (_set("levers/0/path", "threats[id=ddos].frequency.rat"), "levers[0]"),
    "unknown threat id": (_set("levers/0/path", "threats[id=nope].frequency.rate"), "levers[0]"),
    "malformed path": (_set("uncertainties/0/path", "threats[ddos]..rate"), "uncertainties[0].path"),
    "negative lever value": (_set("levers/0/values", [-1.0]), "levers[0].values[0]"),
    "lever value of a wrong type": (_set("levers/0/values", ["fast"]), "levers[0].values[0]"),
    "low above high": (_set("uncertainties/0/low", 3.0), "uncertainties[0]"),
    "unknown distribution": (_set("uncertainties/0/distribution", "gamma"), "distribution"),
    "normal without sd": (_set("uncertainties/0", {"path": "threats[id=ddos].duration.sigma", "distribution": "normal",
                                                  "mean": 1.0}), "uncertainties[0]"),
    "loguniform from zero": (lambda s: s["uncertainties"][0].update(distribution="loguniform", low=0.0),
                             "uncertainties[0]"),
    "mode outside the range": (_set("uncertainties/0", {"path": "threats[id=ddos].duration.sigma", "low": 0.5,
                                                       "high": 1.0, "mode": 2.0, "distribution": "triangular"}),
                               "uncertainties[0]"),
    "unknown design": (_set("design/uncertainties", "halton"), "design.uncertainties"),
    "zero replications": (_set("experiment/replications", 0), "experiment.replications"),
    "replications as text": (_set("experiment/replications", "20"), "experiment.replications"),
    "lever and uncertainty on one path": (_set("uncertainties/0/path", "threats[id=ddos].frequency.rate"),
                                          "uncertainties[0].path"),
    "repeated lever values": (_set("levers/0/values", [0.1, 0.1]), "levers[0].values"),
    "no lever values": (_set("levers/0/values", []), "levers[0].values"),
    "unknown table": (_set("levres", []), "levres"),
    "unknown experiment field": (_set("experiment/seeds", 3), "experiment.seeds"),
    "missing seed": (_set("experiment/seed", KeyError), "experiment.seed"),
    "negative seed": (_set("experiment/seed", -1), "experiment.seed"),
    "bad experiment name": (_set("experiment/name", "Bad Name"), "experiment.name"),
    "sobol samples not a power of two": (_set("design", {"uncertainties": "sobol", "samples": 10}), "design"),
    "sobol with one factor": (_set("design", {"uncertainties": "sobol", "samples": 8}), "design.uncertainties"),
    "morris on a normal": (lambda s: (s["uncertainties"].append({"path": "threats[id=ddos].duration.sigma",
                                      "distribution": "normal", "mean": 1.0, "sd": 0.1}),
                                      s.update(design={"uncertainties": "morris", "samples": 4})),
                           "uncertainties[1].distribution"),
    "unknown run kind": (_set("run/kind", "simulation"), "run.kind"),
    "unknown run option": (_set("run/options", {"threadz": 2}), "run.options.threadz"),
    "zero size": (_set("run/size", 0), "run.size"),
    "unknown outcome": (_set("outcomes/keep", ["aal.nowhere"]), "outcomes.keep"),
    "unknown run table": (_set("outcomes/tables", ["ep_curve"]), "outcomes.tables"),
    "missing posterior file": (_set("uncertainties/0", {"distribution": "posterior", "file": "nowhere.parquet"}),
                               "uncertainties[0].file"),
    "function kind without a function": (_set("run/kind", "function"), "run"),
    "function that does not import": (_set("run", {"kind": "function", "function": "nowhere:f"}), "run.function"),
    "missing scenario file": (_set("run/scenario", "nowhere.toml"), "run"),
    "missing portfolio file as a lever": (_set("levers/0", {"path": "portfolio", "values": ["nowhere.toml"]}),
                                          "levers[0].values[0]"),
    "option the kind does not have": (_set("levers/0", {"path": "options.budget", "values": [1e9]}),
                                      "levers[0].values[0]"),
}


@pytest.fixture(scope="module")
def existing_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    return run_experiment(write_spec(folder, toy_spec()), folder / "kept.duckdb", progress=False).store


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_spec_is_one_line_and_leaves_the_store(case, tmp_path, existing_store):
    change, where = BAD[case]
    spec = copy.deepcopy(BASE)
    change(spec)
    path = write_spec(tmp_path, spec)
    before = hashlib.sha256(existing_store.read_bytes()).hexdigest()
    done = CliRunner().invoke(app, ["experiment", "run", str(path), "--store", str(existing_store)])
    lines = done.stderr.strip().splitlines()
    assert done.exit_code == 2, (done.stdout, done.stderr, done.exception)
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and where in lines[0], lines
    assert hashlib.sha256(existing_store.read_bytes()).hexdigest() == before


def test_toml_syntax_error_is_one_line(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text("[experiment\nname = 1\n", encoding="utf-8")
    done = CliRunner().invoke(app, ["experiment", "run", str(path)])
    assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1 and "(syntax)" in done.stderr


def test_the_shipped_specs_are_valid():
    """Every spec in experiments/ loads and has a design (the posterior-draws one reads the
    draws shipped beside the default scenario)."""
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        spec = load_spec(path)
        assert len(build_design(spec).points) > 1, path


def test_the_abm_screening_covers_every_stated_assumption():
    """experiments/abm_assumptions_morris.toml screens every real-valued parameter of an
    [abm] table that states an assumption: a new assumption must join the screening."""
    import tomllib

    from riskmodel.scenario import default_scenario_path

    def assumed(table: dict, path: str) -> set[str]:
        found = set()
        if "assumption" in table:
            found |= {f"{path}.{k}" for k, v in table.items() if isinstance(v, float) and v != 0}
        for key, value in table.items():
            if isinstance(value, dict):
                found |= assumed(value, f"{path}.{key}")
        return found

    scenario = tomllib.loads(default_scenario_path().read_text(encoding="utf-8"))
    spec = tomllib.loads((Path(__file__).parents[1] / "experiments" / "abm_assumptions_morris.toml").read_text())
    assert {u["path"] for u in spec["uncertainties"]} == assumed(scenario["abm"], "abm")
