"""Properties that must hold for every portfolio and seed (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.engine.simulate import simulate
from riskmodel.measures import no_measures, protection

YEARS = 120


def year_losses(world, in_place, seed):
    ylt = simulate(world, in_place, years=YEARS, seed=seed, ylt=True).ylt
    return ylt.pivot(index="year", columns="sector")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_adding_a_measure_never_raises_a_years_loss(japan, data, seed):
    """Common random numbers make losses monotone in the measures in place: with one more
    measure no year's total loss, and no sector's direct or users' loss, goes up."""
    n_ops, n_options = len(japan.operators), japan.catalogue.n_options
    base = no_measures(japan)
    sectors = data.draw(st.lists(st.integers(0, japan.n_sectors - 2), max_size=4))
    for s in sectors:
        options = data.draw(st.lists(st.integers(0, n_options - 1), max_size=6))
        base[np.ix_(japan.operators.sector == s, options)] = True
    extra = base.copy()
    rows = data.draw(st.lists(st.integers(0, n_ops - 1), min_size=1, max_size=n_ops, unique=True))
    option = data.draw(st.integers(0, n_options - 1))
    extra[rows, option] = True
    before, after = year_losses(japan, base, seed), year_losses(japan, extra, seed)
    assert (after["total"].sum(axis=1) <= before["total"].sum(axis=1) * (1 + 1e-12)).all()
    for layer in ("own", "users"):
        assert (after[layer] <= before[layer] * (1 + 1e-12) + 1e-6).all().all()
    assert (after["events"] <= before["events"]).all().all()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_losses_are_non_negative_and_curves_monotone(japan, seed):
    result = simulate(japan, years=60, seed=seed, ylt=True)
    numbers = result.ylt[["own", "users", "others", "external", "total"]].to_numpy()
    assert np.isfinite(numbers).all() and (numbers >= 0).all()
    for j in range(japan.n_sectors + 1):
        losses, prob = result.aggregate.exceedance(j)
        assert np.all(np.diff(losses) >= 0) and np.all(np.diff(prob) <= 0)
        losses, prob = result.occurrence.exceedance(j)
        assert np.all(np.diff(losses) >= 0) and np.all(np.diff(prob) <= 0)
    summary = result.summary()
    for entry in [*summary["sectors"].values(), summary["total"]]:
        levels = [entry["var"][p] for p in ("0.9", "0.99", "0.995", "0.999")]
        assert levels == sorted(levels)
        assert all(entry["tvar"][p] >= entry["var"][p] for p in entry["var"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_protection_multipliers_lie_in_the_unit_interval(japan, data):
    in_place = no_measures(japan)
    for option in data.draw(st.lists(st.integers(0, japan.catalogue.n_options - 1), max_size=12)):
        in_place[:, option] = True
    prot = protection(japan, in_place)
    for name in ("survive", "duration", "depth", "cascade", "direct"):
        values = getattr(prot, name)
        assert (values >= 0).all() and (values <= 1).all(), name
    assert (prot.cost >= 0).all()
