"""Portfolios robust to parameter uncertainty: the SAA's years across posterior draws,
against the portfolio chosen at the posterior means, judged out of sample per draw.

Known answers: identical draws change nothing (the robust portfolio is the plain one, the
paired difference exactly 0); a toy world whose outage durations are either short-tailed
or heavy-tailed, where a measure pays only on the mixture (the mean parameter makes the
tail look thin), so the robust portfolio differs from the plug-in one, each is the
enumerated optimum of its own SAA, and the robust one is better out of sample; the
per-draw figures are those of a direct run of each draw's world on the draw's years, F-N
counts included (the kernel's own counts as the reference).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.engine.simulate import BLOCK_YEARS, simulate
from riskmodel.errors import InputError
from riskmodel.measures import annual_cost
from riskmodel.metrics import fn_exceeds
from riskmodel.optimize import optimize
from riskmodel.optimize.build import build_instance
from riskmodel.optimize.evaluate import cvar, evaluate
from riskmodel.optimize.instance import ALL_LAYERS
from riskmodel.optimize.posterior import PosteriorDraws
from riskmodel.optimize.robust import COLUMNS, _fn_counts, per_draw
from riskmodel.optimize.run import problems_of
from riskmodel.optimize.sample import draw_events
from riskmodel.portfolio import in_place_matrix
from riskmodel.report.build import build_report
from riskmodel.runs import optimize as optimize_kind
from riskmodel.schema import Scenario
from riskmodel.toy import compound_poisson_document, write_toml
from riskmodel.world import build_world

SIGMA = "threats[id=fault].duration.sigma"
SHIELD_COST = 2.0e6  # yen a year: between what the shield saves at the mean sigma and on the mixture
QUICK = {"replications": 0, "frontier_points": 0, "mode": "society"}


def toy_document(cost: float = SHIELD_COST) -> dict:
    """One sector whose users lose 1,000 yen an hour per person, two faults a year, and
    one measure (a shield stopping 80% of faults). Users' loss is linear in the outage
    duration, lognormal with log-sd ``sigma``: its mean grows as ``exp(sigma^2 / 2)``,
    so the loss at the mean sigma understates the mean loss over a spread of sigmas."""
    document = compound_poisson_document(n_sectors=1, rate=2.0, median_share=1e-9, sigma=0.5, value_of_time=1000.0)
    document["sectors"][0]["acceptability"]["cvar_max"] = 1e15  # no binding bar: the objective decides
    document["measures"] = [{"id": "shield", "name": "Shield", "pillar": "systems", "levels": [
        {"cost_fixed": cost, "effects": {"frequency": {"fault": 0.8}}, "assumption": "toy"}]}]  # fmt: skip
    return document


def toy_world(cost: float = SHIELD_COST):
    return build_world(Scenario.model_validate(toy_document(cost)))


def write_draws(path: Path, columns: dict[str, list[float]]) -> str:
    n = len(next(iter(columns.values())))
    pd.DataFrame({"draw": np.arange(n), **columns}).to_parquet(path)
    return str(path)


def test_identical_draws_give_the_plain_portfolio_and_no_difference(tmp_path):
    """Every draw at the scenario's own sigma: the SAA years are the plain run's years, so
    the robust portfolio is the plain optimum and the one at the means; paired, the two
    are the same portfolio on the same years, so every difference is exactly 0."""
    world = toy_world(cost=1.0e6)
    draws = write_draws(tmp_path / "same.parquet", {SIGMA: [1.0] * 4})
    settings = {"years": 2 * BLOCK_YEARS, "eval_years": 4 * BLOCK_YEARS, **QUICK}
    robust = optimize(world, posterior=draws, **settings)
    plain = optimize(world, **settings)
    assert robust.portfolio() == plain.portfolio() == {"sector_0": ["shield"]}
    np.testing.assert_array_equal(robust.posterior_mean[0].solution.x, robust.problems[0].solution.x)
    assert robust.objective == plain.objective
    table = robust.robustness
    assert list(table.columns) == list(COLUMNS) and (table["draws"] == 4).all()
    for column in ("robust_minus_mean", "robust_minus_mean_ci_low", "robust_minus_mean_ci_high"):
        assert (table[column] == 0.0).all(), column
    np.testing.assert_array_equal(table["robust"], table["posterior_mean"])


@pytest.fixture(scope="module")
def two_regimes(tmp_path_factory):
    """Forty draws alternating a thin (sigma 0.2) and a heavy (sigma 2.0) duration tail."""
    path = tmp_path_factory.mktemp("draws") / "regimes.parquet"
    draws = write_draws(path, {SIGMA: [0.2, 2.0] * 20})
    world = toy_world()
    result = optimize(world, posterior=draws, years=2 * BLOCK_YEARS, eval_years=40 * BLOCK_YEARS, **QUICK)
    return world, draws, result


def enumerated_best(instance) -> np.ndarray:
    """The cheapest feasible portfolio by enumeration (the catalogue is one option)."""
    shape = (instance.n_sectors, instance.n_options)
    portfolios = np.array([np.reshape(bits, shape) for bits in itertools.product([False, True], repeat=np.prod(shape))])
    evaluation = evaluate(instance, portfolios)
    objective = np.where(evaluation.feasible, evaluation.objective, np.inf)
    return portfolios[int(np.argmin(objective))]


def test_robust_differs_from_the_plug_in_and_is_better_out_of_sample(two_regimes):
    """At the mean sigma (1.1) the shield saves less than it costs, so the plug-in planner
    skips it; over the two regimes it saves more (the heavy tail dominates the mean), so
    the robust planner buys it. Each is the enumerated optimum of its own SAA, and on
    fresh years across the draws the robust portfolio costs society less, with a paired
    interval below 0."""
    world, draws, result = two_regimes
    posterior = PosteriorDraws.read(world, draws)
    assert result.portfolio() == {"sector_0": ["shield"]}
    assert result.posterior_mean[0].solution.x.tolist() == [[False]]
    mixed = draw_events(world, 2 * BLOCK_YEARS, 0, block_inputs=posterior.block_inputs(None))
    settings = result.settings
    (_, robust_instance), = problems_of(build_instance(world, mixed), settings)
    mean_world = posterior.mean_world()
    (_, mean_instance), = problems_of(build_instance(mean_world, draw_events(mean_world, 2 * BLOCK_YEARS, 0)), settings)
    np.testing.assert_array_equal(enumerated_best(robust_instance), result.problems[0].solution.x)
    np.testing.assert_array_equal(enumerated_best(mean_instance), result.posterior_mean[0].solution.x)
    total = result.robustness.set_index(["sector", "figure"]).loc[("total", "social_cost")]
    assert total["robust_minus_mean_ci_high"] < 0 < total["posterior_mean"] - total["robust"]
    assert total["draws"] == 40
    outcomes = optimize_kind.outcomes(result)  # what an experiment records of the run
    assert outcomes["value_of_robustness"] == -total["robust_minus_mean"]
    assert outcomes["value_of_robustness_ci_low"] == -total["robust_minus_mean_ci_high"] > 0
    assert outcomes["acceptable_share_robust.sector_0"] == outcomes["acceptable_share_posterior_mean.total"] == 1.0


def test_per_draw_figures_are_direct_runs_of_each_draws_world(japan, tmp_path):
    """Two draws of the default scenario (finance exposed to twice the unintentional
    failures in draw 1): block 0 is draw 0, block 1 draw 1. A direct run of each draw's
    world gives, on that draw's years, the same social cost, objective, CVaR verdict and
    F-N counts (the kernel's own, disasters' hits summed per sector) as the posterior run;
    the table's figure is their average."""
    path = "sectors[id=finance].exposure.unintentional"
    base = japan.scenario.sectors[japan.sector_ids.index("finance")].exposure.unintentional
    draws = write_draws(tmp_path / "two.parquet", {path: [base, 2 * base]})
    posterior = PosteriorDraws.read(japan, draws)
    chosen = {japan.sector_ids.index("finance"): [0, 3], japan.sector_ids.index("railways"): [1]}
    sectors = japan.critical_sectors
    bars = {s: (0.99, japan.scenario.sectors[s].acceptability.cvar_max) for s in sectors}
    weights = np.ones(len(ALL_LAYERS))
    years, seed = 2 * BLOCK_YEARS, 5
    judged = per_draw(japan, posterior, chosen, sectors, weights, bars, True, years, seed)
    in_place = in_place_matrix(japan, chosen)
    cost = np.bincount(japan.operators.sector, weights=annual_cost(japan, in_place), minlength=japan.n_sectors)
    names = [japan.sector_ids[s] for s in sectors]
    elt = tmp_path / "elt.parquet"
    simulate(japan, in_place, years=years, seed=seed, elt=elt, block_inputs=posterior.block_inputs(in_place))
    counts = _fn_counts(japan, elt, posterior.draw_of_year(np.arange(years)), {0: 0, 1: 1})
    for d in range(2):
        drawn = posterior.world_of(d)
        upto = simulate(drawn, in_place, years=(d + 1) * BLOCK_YEARS, seed=seed, ylt=True)
        fn_counts = upto.fn_counts.copy()
        if d:
            fn_counts -= simulate(drawn, in_place, years=BLOCK_YEARS, seed=seed).fn_counts
        ylt = upto.ylt[upto.ylt["year"] >= d * BLOCK_YEARS]
        total = (ylt.pivot(index="year", columns="sector", values="total")
                 .reindex(range(d * BLOCK_YEARS, (d + 1) * BLOCK_YEARS), fill_value=0.0)
                 .reindex(columns=names, fill_value=0.0).to_numpy())  # fmt: skip
        np.testing.assert_allclose(judged.social_cost[d], cost[sectors] + total.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(judged.objective[d], judged.social_cost[d], rtol=1e-12)
        for k, s in enumerate(sectors):
            rule = japan.scenario.sectors[s].acceptability
            expected = cvar(total[:, k], 0.99) <= rule.cvar_max and not fn_exceeds(fn_counts[s], BLOCK_YEARS, rule)
            assert judged.acceptable[d, k] == expected, (d, names[k])
        # the F-N counts behind the verdicts, against the kernel's
        np.testing.assert_array_equal(counts[d], fn_counts[: japan.n_sectors])
    assert not judged.acceptable.all() and judged.acceptable.any()  # the verdicts are not all alike


def run_cli(tmp_path: Path, out: str, *extra: str):
    scenario = write_toml(toy_document(), tmp_path / "toy.toml")
    args = ["optimize", "--scenario", str(scenario), "--years", "2048", "--eval-years", "4096", "--replications", "0",
            "--frontier-points", "0", "--out", str(tmp_path / out), *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_cli_prints_and_writes_the_table_same_seed_same_bytes(tmp_path, two_regimes):
    _, draws, _ = two_regimes
    first = run_cli(tmp_path, "a", "--posterior", draws)
    run_cli(tmp_path, "b", "--posterior", draws, "--threads", "2")  # same bytes whatever the threads
    assert first.exit_code == 0, first.output
    assert "value of robustness" in first.stdout and "P(acceptable)" in first.stdout
    for name in ("robustness.csv", "optimize_summary.json", "portfolio.toml", "portfolio_posterior_mean.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    table = pd.read_csv(tmp_path / "a" / "robustness.csv")
    assert list(table.columns) == list(COLUMNS)
    assert set(table["figure"]) == {"social_cost", "objective", "acceptable"}
    assert "Robust to parameter uncertainty" in build_report(tmp_path / "a")


@pytest.mark.parametrize(
    ("draws", "extra", "pieces"),
    [
        ("not parquet", (), ("a Parquet file of posterior draws",)),
        ({"sectors[id=sector_0].cascade.share": [0.1, 0.2]}, (), ("draw 0", "change only what generates events")),
        ({SIGMA: [1.0, 1.5]}, ("--years", "1000"), ("--years", "at least 2,048 years with a posterior")),
    ],
)
def test_bad_draws_give_one_line_and_exit_2(tmp_path, draws, extra, pieces):
    path = tmp_path / "draws.parquet"
    if isinstance(draws, str):
        path.write_text(draws)
    else:
        write_draws(path, draws)
    done = run_cli(tmp_path, "o", "--posterior", str(path), *extra)
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and all(piece in lines[0] for piece in pieces), lines


def test_settings_refuse_a_posterior_with_instruments():
    with pytest.raises(InputError, match="no instruments with a posterior"):
        optimize(toy_world(), posterior="x.parquet", instruments=True, years=2048)
