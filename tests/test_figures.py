"""The figures of riskmodel.report.figures: what each must show to be read without the code."""

from __future__ import annotations

import pandas as pd

from riskmodel.report import curves, figures


def abm_document(years: int = 3) -> dict:
    row = {
        "true_failures": 500, "reported_failures": 380, "loss": {"own": 2e11, "users": 3e11, "others": 2e11},
        "mandatory_measures": 12, "recommended_measures": 250, "compliance": 0.9, "security_spend": 4e10,
        "botnet_size": 5_990_000, "infected_share": 0.0014, "anxious_share": 0.44, "anxious_target": 0.4,
    }  # fmt: skip
    return {"scenario": "japan", "seed": 0, "fiscal_years": {str(2006 + k): dict(row) for k in range(years)}}


def labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [text.get_text() for text in legend.get_texts()] if legend else []


def test_fn_curves_name_their_lines(japan_run):
    world = japan_run.world
    rules = {world.sector_ids[s]: world.scenario.sectors[s].acceptability for s in japan_run.critical}
    classes = {world.sector_ids[s]: japan_run.sector_acceptability(s) for s in japan_run.critical}
    fig = figures.fn_curves(japan_run.fn_table(), rules, classes, japan_run.years)
    (legend,) = fig.legends
    texts = " ".join(t.get_text() for t in legend.get_texts())
    assert "tolerability line" in texts and "broadly-acceptable line" in texts


def test_ep_curves_are_in_billions_with_bands(japan_run):
    frame = curves.exceedance(japan_run.aggregate, japan_run.series(), "AEP")
    total = frame[frame["sector"] == "total"].set_index("return_period")
    assert (total["low"] <= total["loss"] * (1 + 1e-9)).all()
    assert (total["high"].dropna() >= total["loss"][total["high"].notna()] * (1 - 1e-9)).all()
    assert total.loc[japan_run.years, "loss"] == japan_run.aggregate.largest(1, japan_run.total)
    fig = figures.ep_curves(frame, japan_run.years)
    left, right = fig.axes
    assert "billion yen" in left.get_ylabel()
    assert left.collections  # the band
    assert len(labels(right)) == len(japan_run.critical)


def test_abm_panels_label_every_series_and_start_the_botnet_at_zero():
    fig = figures.abm_timeseries([abm_document()])
    by_title = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    botnet = by_title["Botnet and domestic infections"]
    assert botnet.get_ylim()[0] == 0  # a 0.6% change must not look steep
    assert len(labels(botnet)) == 2  # bots and infections, both named
    assert by_title["Measures in the sector standards"].get_ylabel()


def test_frontier_draws_the_cvar_bar_and_the_partial_optima():
    frame = pd.DataFrame({
        "problem": "society", "point": ["cheapest", "price", "price"], "price": [None, 2.0, 1.0],
        "status": "optimal", "cost": [0.0, 5e10, 9e10], "expected_loss": [9e11, 3e11, 2e11],
        "cvar": [2e12, 8e11, 5e11], "cvar_level": 0.99, "meets_bars": [False, True, True],
    })  # fmt: skip
    summary = {"mode": "society", "society_bar": {"cvar_level": 0.99, "cvar_max": 1e12, "cvar": 6e11},
               "comparison": {"partial": {"cost": 1e11, "loss": 2.5e11}}, "sectors": {}}  # fmt: skip
    fig = figures.frontier(frame, summary, {"society": (8e10, 2.1e11, 6e11)})
    left, right = fig.axes
    assert any("CVaR bar" in text for text in labels(right))
    assert any("partial optima" in text for text in labels(left))
    assert any(line.get_ydata()[0] == 1e3 for line in right.get_lines())  # the bar at 1,000 bn yen


def test_a_discovery_tree_draws_and_saves(tmp_path):
    """plot_tree measures its boxes with the figure's renderer: the figure must have one."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    x = rng.random((60, 2))
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, x[:, 0] > 0.5)
    fig = figures.decision_tree(tree, ["rate", "severity"])
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert any("rate <= " in text for text in texts)
    figures.save(fig, tmp_path / "tree.png", dpi=60)
    assert (tmp_path / "tree.png").stat().st_size > 1000
