"""The agent model as a whole: it runs the engine's hazards, reproducibly, and writes its outputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
from abm_helpers import ALL_OFF, run, with_abm, yearly

from riskmodel.abm.choices import LossWeights, evaluate_changes
from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.outputs import AGENTS_SCHEMA, TIMESERIES_SCHEMA, summary
from riskmodel.abm.reporters import DAILY_SERIES
from riskmodel.abm.valuation import event_values, expected_losses
from riskmodel.engine.simulate import simulate
from riskmodel.measures import effect_products, no_measures, protection
from riskmodel.runs import RunSpec
from riskmodel.runs import run as run_spec
from riskmodel.runs.writers import write_files


def test_with_every_mechanism_off_it_is_the_engine(japan):
    """A year of days through the engine's kernel has the engine's failure counts, by sector,
    and its annual loss: the agent model adds behaviour, not a second hazard model."""
    runs = [run(japan, ALL_OFF, seed, 9) for seed in range(8)]
    counts = np.array([f.sum(axis=1) for m in runs for f in yearly(m, "true_failures")])
    losses = np.array([f[:, :3].sum() for m in runs for f in yearly(m, "loss")])
    values = event_values(japan)
    expected = np.bincount(japan.operators.sector, weights=values.rate.sum(axis=1), minlength=japan.n_sectors)
    se = counts.std(axis=0, ddof=1) / math.sqrt(len(counts))
    critical = japan.critical_sectors
    assert (np.abs(counts.mean(axis=0) - expected)[critical] < 4 * se[critical]).all()
    engine = simulate(japan, years=20_000, seed=3)
    total = japan.n_sectors
    combined = math.hypot(losses.std(ddof=1) / math.sqrt(losses.size), engine.aggregate.standard_error(total))
    assert abs(losses.mean() - engine.aggregate.mean(total)) < 4 * combined


def test_expected_losses_match_the_engine(japan):
    """The closed-form expectations that agents decide by agree with the engine's means."""
    values = event_values(japan)
    own, users, others = expected_losses(values, values.rate, protection(japan, no_measures(japan)))
    result = simulate(japan, years=20_000, seed=8, ylt=True)
    ylt = result.ylt
    for layer, expected in (("own", own), ("users", users)):
        by_sector = np.bincount(japan.operators.sector, weights=expected.sum(axis=1), minlength=japan.n_sectors)
        for s in japan.critical_sectors:
            column = ylt[ylt.sector == japan.sector_ids[s]][layer]
            se = column.std() / math.sqrt(len(column))
            assert abs(column.mean() - by_sector[s]) < 4 * se, (layer, japan.sector_ids[s])
    # the cascade: unclipped expectation, never below the engine's clipped losses by more than noise
    others_by_sector = np.bincount(japan.operators.sector, weights=others.sum(axis=1), minlength=japan.n_sectors)
    for s in japan.critical_sectors:
        column = ylt[ylt.sector == japan.sector_ids[s]].others
        assert column.mean() < others_by_sector[s] + 4 * column.std() / math.sqrt(len(column))


def test_same_seed_same_bytes_and_another_seed_differs(japan, tmp_path):
    outputs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        folder = tmp_path / name
        folder.mkdir()
        write_files(run_spec(RunSpec("abm", size=2, seed=seed)), folder)
        outputs.append(folder)
    for name in ("abm_summary.json", "model_timeseries.parquet", "agents_yearly.parquet"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    assert (outputs[0] / "abm_summary.json").read_bytes() != (outputs[2] / "abm_summary.json").read_bytes()


def test_outputs_carry_every_series_and_the_plan_targets(japan, tmp_path):
    years = 4
    result = run_spec(RunSpec("abm", size=years, seed=1))
    model = result.detail.models[0]
    assert model.day == years * DAYS_PER_YEAR and not model.running
    write_files(result, tmp_path)
    series = pq.read_table(tmp_path / "model_timeseries.parquet")
    assert series.schema.equals(TIMESERIES_SCHEMA, check_metadata=True)
    frame = series.to_pandas()
    assert set(frame.variable) == set(DAILY_SERIES)
    assert frame.day.max() == years * DAYS_PER_YEAR - 1
    assert str(frame.date.min()) == "2006-04-01" and frame.fiscal_year.max() == 2006 + years - 1
    failures = frame[frame.variable == "true_failures"]
    assert set(failures.sector) == set(japan.critical_ids) and set(failures.threat) == set(japan.threat_ids)
    assert set(frame[frame.variable == "loss"].layer) == {"own", "users", "others"}

    agents = pq.read_table(tmp_path / "agents_yearly.parquet")
    assert agents.schema.equals(AGENTS_SCHEMA, check_metadata=True)
    table = agents.to_pandas()
    assert len(table) == years * len(model.agents)
    assert set(table.agent_type) == {"Operator", "Ministry", "CabinetCentre", "Attacker", "Individual"}
    operators = table[table.agent_type == "Operator"]
    assert operators.sector.notna().all() and operators.kind.isna().all()
    per_year = operators.groupby("fiscal_year").true_failures.sum()
    assert list(per_year) == [int(f.sum()) for f in yearly(model, "true_failures")]

    document = json.loads((tmp_path / "abm_summary.json").read_text())
    assert document["scenario"] == "japan" and document["seed"] == 1
    fiscal = document["fiscal_years"]
    assert list(fiscal) == [str(2006 + k) for k in range(years)]
    for year in fiscal.values():
        for key in ("true_failures", "reported_failures", "loss", "anxious_share", "botnet_size", "mandatory_measures"):
            assert key in year
        assert set(year["loss"]) == {"own", "users", "others"}
        assert year["reported_failures"] <= year["true_failures"]
    # the first plan fixes its targets at the end of FY2006: the baseline, then 30% below by FY2008
    first = fiscal["2006"]["sectors"]["finance"]
    assert first["failures_target"] == first["failures_per_operator"]
    last = fiscal["2008"]["sectors"]["finance"]["failures_target"]
    reduction = japan.scenario.abm.pdca.failure_reduction
    assert math.isclose(last, first["failures_per_operator"] * (1 - reduction))
    assert fiscal["2008"]["anxious_target"] < fiscal["2006"]["anxious_target"]
    # the second plan (FY2009-FY2011) starts from FY2008: a third of the way down in its first year
    second = fiscal["2009"]["sectors"]["finance"]["failures_target"]
    baseline = fiscal["2008"]["sectors"]["finance"]["failures_per_operator"]
    assert math.isclose(second, baseline * (1 - reduction / 3))
    assert document.pop("provenance")["spec"] == result.spec.to_dict(results_only=True)
    assert document.pop("replications") == {"count": 1, "seeds": [1], "level": 0.95}
    assert summary(model) == document


def test_valuing_changes_is_the_engines_algebra(japan):
    """What an agent expects a change of measures to do is the engine's multipliers priced at
    the expected losses: toggling an option equals protection() of the toggled portfolio."""
    rng = np.random.default_rng(4)
    in_place = rng.random((len(japan.operators), japan.catalogue.n_options)) < 0.2
    values = event_values(japan)
    weights = LossWeights(1.0, 0.3, 0.5)
    rows = np.arange(0, len(japan.operators), 7)
    options = np.array([0, 5, 11, japan.catalogue.n_options - 1])
    changes = evaluate_changes(japan, values, values.rate, in_place, rows, options, weights)

    def loss(portfolio):
        own, users, others = expected_losses(values, values.rate, protection(japan, portfolio))
        return (own + 0.3 * users + 0.5 * others).sum(axis=1)

    before = loss(in_place)
    for k, option in enumerate(options):
        toggled = in_place.copy()
        same = japan.catalogue.option_measure == japan.catalogue.option_measure[option]
        had = toggled[:, option].copy()
        toggled[:, same] = False
        toggled[~had, option] = True
        np.testing.assert_allclose(changes.loss_removed[k], (before - loss(toggled))[rows], rtol=1e-12, atol=1e-3)
        np.testing.assert_array_equal(changes.adds[k], ~had[rows])


def test_refreshing_some_threats_equals_refreshing_all(japan):
    model = CriticalInfrastructureModel(japan, fiscal_years=1, seed=2)
    model.step()
    rng = np.random.default_rng(1)
    model.alert_until[rng.random(model.alert_until.shape) < 0.3] = 50
    threats = np.array([0, 4])
    model._alerts_changed[threats] = True
    model._apply_operator_factors(model.day, threats)
    partial_threat, partial_float = model.engine.op_threat.copy(), model.engine.op_float.copy()
    model._apply_operator_factors(model.day)
    np.testing.assert_array_equal(model.engine.op_float, partial_float)
    np.testing.assert_array_equal(model.engine.op_threat[:, threats], partial_threat[:, threats])


def test_an_alert_cuts_what_the_measures_left_of_the_detection_delay(japan):
    """Alerts and detection measures compose like one more detection measure: the outage
    multiplier becomes D (1 - a (1 - T (1 - d))), not the measures' one times (1 - a d)."""
    cat = japan.catalogue
    in_place = no_measures(japan)
    detection = [int(np.flatnonzero(cat.option_measure == cat.measure_ids.index(name))[0])
                 for name in ("incident_response_team", "log_monitoring")]  # fmt: skip
    in_place[:, detection] = True
    model = CriticalInfrastructureModel(with_abm(japan, ALL_OFF | {"information_sharing.enabled": True}), in_place)
    h = japan.threat_ids.index("intrusion_malware")
    model.alert_until[:5, h] = 100
    model._apply_operator_factors(10, np.array([h]))
    products = effect_products(japan, in_place)
    a, d = japan.threats.detection_share[h], japan.scenario.abm.information_sharing.detection
    expected = products.duration[:5] * (1 - a * (1 - products.detection[:5] * (1 - d)))
    actual = model.protection.duration[:5, h] * model.engine.duration_factor[:5, h]
    np.testing.assert_allclose(actual, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.engine.duration_factor[5:, h], 1.0)  # no alert, no change
