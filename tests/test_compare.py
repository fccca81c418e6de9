"""Portfolios compared on common random numbers: paired differences that are the measures'
effect alone."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.compare import compare_portfolios
from riskmodel.measures import annual_cost
from riskmodel.portfolio import load_portfolio, write_portfolio
from riskmodel.runs import RunSpec, run

YEARS = 1500


@pytest.fixture(scope="module")
def portfolios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("portfolios")
    small, large = folder / "small.toml", folder / "large.toml"
    write_portfolio(small, {"finance": ["backup_site"]})
    write_portfolio(large, {"finance": ["backup_site", "staff_training"], "aviation": ["staff_training"]})
    return str(small), str(large)


@pytest.fixture(scope="module")
def comparison(portfolios):
    return compare_portfolios(["none", *portfolios], years=YEARS, seed=5)


def test_more_measures_never_cost_a_year_more_loss(comparison):
    """Same years, measures only thin and shrink events: every paired loss difference of a
    superset portfolio is at most zero, so the whole interval is."""
    rows = comparison.differences.set_index(["portfolio", "sector", "measure"])
    for portfolio in comparison.portfolios[1:]:
        for layer in ("own", "users", "others", "loss"):
            assert rows.loc[(portfolio, "total", layer), "ci_high"] <= 0.0
    # no aviation measure: aviation's loss moves only by rounding (a disaster's production
    # loss is shared among the sectors it hits in proportion to their shocks)
    untouched = rows.loc[(comparison.portfolios[1], "aviation", "loss")]
    aviation = comparison.summary.set_index(["portfolio", "sector"]).loc[("none", "aviation"), "loss"]
    assert max(abs(untouched.ci_low), abs(untouched.ci_high)) <= 1e-12 * aviation


def test_differences_match_separate_runs_and_costs(comparison, portfolios, japan):
    summary = comparison.summary.set_index(["portfolio", "sector"])
    runs = {p: run(RunSpec("simulate", size=YEARS, seed=5, portfolio=None if p == "none" else p))
            for p in comparison.portfolios}  # fmt: skip
    for portfolio, result in runs.items():
        assert summary.loc[(portfolio, "total"), "loss"] == pytest.approx(result.outcomes["aal.total"], rel=1e-9)
    large = portfolios[1]
    cost = annual_cost(japan, load_portfolio(large, japan))
    assert summary.loc[(large, "total"), "cost"] == pytest.approx(cost.sum(), rel=1e-12)
    finance = japan.operators.sector == japan.sector_ids.index("finance")
    assert summary.loc[(large, "finance"), "cost"] == pytest.approx(cost[finance].sum(), rel=1e-12)
    diff = comparison.differences.set_index(["portfolio", "sector", "measure"])
    expected = summary.loc[(large, "total"), "loss"] - summary.loc[("none", "total"), "loss"]
    assert diff.loc[(large, "total", "loss"), "difference"] == pytest.approx(expected, rel=1e-9)
    tvar = diff.loc[(large, "total", "tvar_0.99")]
    assert tvar.ci_low <= tvar.difference <= tvar.ci_high


def test_a_portfolio_against_itself_differs_by_nothing(portfolios):
    same = compare_portfolios([portfolios[0], portfolios[0]], years=300, seed=1)
    assert np.all(same.differences[["difference", "ci_low", "ci_high"]].to_numpy() == 0.0)


def test_compare_command_writes_its_tables(portfolios, tmp_path):
    done = CliRunner().invoke(app, ["compare", "none", portfolios[0], "--years", "300", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "compare_summary.csv").is_file() and (tmp_path / "compare_differences.csv").is_file()
    bad = CliRunner().invoke(app, ["compare", "none", str(tmp_path / "missing.toml"), "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "missing.toml" in bad.stderr
