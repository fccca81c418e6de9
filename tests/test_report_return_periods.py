"""Return-period losses by OasisLMF's ORD convention, against a direct sort of the YLT."""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.metrics import GROWTH, LossSketch


def ord_losses(losses: np.ndarray, periods: list[float]) -> np.ndarray:
    """ORD done by hand: the k-th largest of P years at period P / k, linear in the period
    between ranks (np.interp wants the periods increasing: largest rank first)."""
    ordered = np.sort(losses)[::-1]
    ranks = np.arange(1, ordered.size + 1)
    return np.interp(periods, (ordered.size / ranks)[::-1], ordered[::-1])


PERIODS = [2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 3.7, 333]


def test_ord_matches_a_sorted_ylt_of_a_run(japan_run):
    ylt = japan_run.ylt
    for sector, s in japan_run.series():
        if sector == "total":
            losses = ylt.groupby("year")["total"].sum().to_numpy()
        else:
            losses = ylt[ylt["sector"] == sector].sort_values("year")["total"].to_numpy()
        expected = ord_losses(losses, PERIODS)
        got = np.array([japan_run.aggregate.return_period_loss(t, s) for t in PERIODS])
        np.testing.assert_allclose(got, expected, rtol=GROWTH - 1, err_msg=sector)


def test_ord_is_one_rank_above_the_lower_quantile():
    losses = np.random.default_rng(5).lognormal(20, 3, 1000)
    sketch = LossSketch.from_losses(losses)
    ordered = np.sort(losses)
    assert sketch.return_period_loss(200) == pytest.approx(ordered[-5], rel=1e-12)  # 5th largest
    assert sketch.quantile(1 - 1 / 200) == pytest.approx(ordered[-6], rel=1e-12)  # the VaR convention: 6th
    assert sketch.return_period_loss(5000) == pytest.approx(ordered[-1], rel=1e-12)  # beyond P: the largest


def test_summary_and_ep_table_follow_ord(japan_run):
    """One convention for return-period losses everywhere: the summary's, the EP table's
    and the sketch's agree, and ORD's loss is never below the VaR convention's."""
    entry = japan_run.summary()["total"]
    total = japan_run.ep_table().query("sector == 'total'").set_index("return_period")
    for period, loss in entry["return_period_loss"].items():
        assert loss == japan_run.aggregate.return_period_loss(int(period), japan_run.total)
        assert loss >= japan_run.aggregate.quantile(1.0 - 1.0 / int(period), japan_run.total)
    assert total.loc[100, "aep_loss"] == entry["return_period_loss"]["100"]
