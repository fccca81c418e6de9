"""Every figure of the package, drawn from tidy data: the writers' PNG files, the HTML
reports and the dashboard's panels call these, so a figure looks the same wherever it is
seen. Money is in billions of yen, as in the tables; each function returns a matplotlib
``Figure`` (made without pyplot, so it is safe in the dashboard's threads) and
:func:`save` writes one.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from riskmodel.engine.kernels import LAYERS
from riskmodel.schema import Acceptability

BILLION = 1e9
CLASS_COLOURS = {"unacceptable": "tab:red", "tolerable": "tab:orange", "broadly_acceptable": "tab:green"}


def save(fig: Figure, path: str | Path, dpi: int = 110) -> None:
    """Write a figure to ``path`` (format from its suffix)."""
    fig.savefig(path, dpi=dpi)


def svg(fig: Figure) -> bytes:
    """A figure as SVG, for pages that must stay sharp when printed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _band(ax: Axes, frame: pd.DataFrame, label: str, colour: str | None = None, alpha: float = 0.2) -> None:
    """An exceedance curve (billion yen against return period) with its band where finite."""
    frame = frame[frame["loss"] > 0]
    line = ax.plot(frame["return_period"], frame["loss"] / BILLION, label=label, color=colour)[0]
    finite = frame.dropna(subset=["low", "high"])
    if len(finite):
        ax.fill_between(finite["return_period"], finite["low"] / BILLION, finite["high"] / BILLION,
                        color=line.get_color(), alpha=alpha, lw=0)  # fmt: skip


def ep_curves(curves: pd.DataFrame, years: int) -> Figure:
    """Exceedance curves (ORD return periods) of the total and of each sector, with the 95%
    Monte Carlo bands of :mod:`riskmodel.report.curves`; ``curves`` has its columns."""
    fig = Figure(figsize=(12, 5), constrained_layout=True)
    left, right = fig.subplots(1, 2)
    total = curves[curves["sector"] == "total"]
    for kind, label in (("AEP", "aggregate (AEP)"), ("OEP", "occurrence (OEP)")):
        part = total[total["kind"] == kind]
        if len(part):
            _band(left, part, label)
    left.set_title(f"All sectors, {years:,} simulated years (band: 95% Monte Carlo interval)", fontsize=9)
    aggregate = curves[(curves["kind"] == "AEP") & (curves["sector"] != "total")]
    for sector, part in aggregate.groupby("sector", sort=False):
        _band(right, part, str(sector), alpha=0.08)
    right.set_title("Aggregate loss by the sector whose failures cause it", fontsize=9)
    for ax in (left, right):
        ax.set(xscale="log", yscale="log", xlabel="return period (years)", ylabel="annual loss (billion yen)")
        ax.grid(True, which="both", alpha=0.3)
    left.legend()
    right.legend(fontsize=7, ncols=2)
    return fig


def fn_curves(fn: pd.DataFrame, rules: Mapping[str, Acceptability], classes: Mapping[str, str], years: int) -> Figure:
    """Each sector's F-N curve (events a year affecting N or more persons; ``fn`` has a
    ``persons`` column and one per sector) against its tolerability line and its
    broadly-acceptable line, titled with its class."""
    sectors = list(classes)
    columns = 5
    rows = -(-len(sectors) // columns)
    fig = Figure(figsize=(3.2 * columns, 3.0 * rows + 0.6), constrained_layout=True)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, sector in zip(axes.ravel(), sectors, strict=False):
        keep = fn[sector] > 0
        ax.step(fn["persons"][keep], fn[sector][keep], where="post", color="black")
        rule = rules.get(sector)
        if rule is not None:
            n = np.logspace(np.log10(rule.fn_min_persons), 10, 50)
            ax.plot(n, rule.fn_constant / n**rule.fn_exponent, color="tab:red")
            ax.plot(n, rule.broadly_factor * rule.fn_constant / n**rule.fn_exponent, ":", color="tab:green")
        ax.set(xscale="log", yscale="log", xlim=(1, 1e9), ylim=(1.0 / years / 2, None))
        ax.set_title(f"{sector}\n{classes[sector].replace('_', ' ')}", fontsize=9,
                     color=CLASS_COLOURS.get(classes[sector], "black"))  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.ravel()[len(sectors) :]:
        ax.axis("off")
    fig.legend(
        handles=[
            Line2D([], [], color="black", drawstyle="steps-post", label="simulated F-N curve"),
            Line2D([], [], color="tab:red", label="tolerability line (above it: unacceptable)"),
            Line2D([], [], color="tab:green", ls=":", label="broadly-acceptable line"),
        ],
        loc="outside upper center", ncols=3,
    )  # fmt: skip
    fig.supxlabel("persons affected N")
    fig.supylabel("events a year affecting N or more persons")
    return fig


def _over_runs(runs: Sequence[Mapping], value: Callable[[Mapping], float]) -> tuple[np.ndarray, ...]:
    """Fiscal years and, over the runs, the median and the range of ``value(year's row)``."""
    years = sorted(runs[0]["fiscal_years"], key=int)
    table = np.array([[value(run["fiscal_years"][y]) for y in years] for run in runs], dtype=float)
    x = np.array([int(y) for y in years])
    return x, np.nanmedian(table, axis=0), np.nanmin(table, axis=0), np.nanmax(table, axis=0)


def _series(ax: Axes, runs: Sequence[Mapping], value: Callable[[Mapping], float], style: str, label: str,
            **kwargs) -> Line2D:  # fmt: skip
    """The median over runs as a line, the range over runs as a band (when there are several)."""
    x, mid, low, high = _over_runs(runs, value)
    line = ax.plot(x, mid, style, label=label, **kwargs)[0]
    if len(runs) > 1:
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
    return line


def abm_timeseries(runs: Sequence[Mapping]) -> Figure:
    """The agent model's indicators by fiscal year from ``abm_summary.json`` documents (one
    per replication; several give the median and a band over them): failures true and
    reported, losses by layer, the standards and compliance, spend, the botnet and
    infections, and the anxious share against the Basic Plan's target."""
    fig = Figure(figsize=(15, 8.5), constrained_layout=True)
    axes = fig.subplots(2, 3)
    (failures, losses, standards), (spend, botnet, anxious) = axes

    _series(failures, runs, lambda r: r["true_failures"], "o-", "true")
    _series(failures, runs, lambda r: r["reported_failures"], "s--", "reported to ministries")
    failures.set(title="IT failures a year", ylabel="failures a year", ylim=(0, None))
    failures.legend()

    x, _, _, _ = _over_runs(runs, lambda r: 0.0)
    bottom = np.zeros(x.size)
    for layer in LAYERS:
        values = _over_runs(runs, lambda r, layer=layer: r["loss"][layer] / BILLION)[1]
        losses.bar(x, values, bottom=bottom, label=layer)
        bottom += values
    losses.set(title="Losses by layer", ylabel="billion yen a year")
    losses.legend()

    lines = [_series(standards, runs, lambda r: r["mandatory_measures"], "o-", "mandatory")]
    lines.append(_series(standards, runs, lambda r: r["recommended_measures"], "s--", "recommended only"))
    standards.set(title="Measures in the sector standards", ylabel="measures (sum over sectors)", ylim=(0, None))
    share = standards.twinx()
    lines.append(_series(share, runs, lambda r: 100 * r["compliance"], ":", "compliance (right)", color="black"))
    share.set(ylim=(0, 100), ylabel="operators' compliance (%)")
    standards.legend(handles=lines, loc="lower right")

    _series(spend, runs, lambda r: r["security_spend"] / BILLION, "o-", "spend")
    spend.set(title="Operators' security spend", ylabel="billion yen a year", ylim=(0, None))

    bots = _series(botnet, runs, lambda r: r["botnet_size"] / 1e6, "o-", "bots worldwide (left)")
    botnet.set(title="Botnet and domestic infections", ylabel="bots (millions)", ylim=(0, None))
    infected = botnet.twinx()
    machines = _series(infected, runs, lambda r: 100 * r["infected_share"], "s--", "machines infected, Japan (right)",
                       color="tab:red")  # fmt: skip
    infected.set(ylabel="machines infected (%)", ylim=(0, None))
    botnet.legend(handles=[bots, machines], loc="lower right")

    _series(anxious, runs, lambda r: 100 * r["anxious_share"], "o-", "anxious about using IT")
    _series(anxious, runs, lambda r: 100 * r["anxious_target"] if r["anxious_target"] is not None else np.nan, "k--",
            "Basic Plan target")  # fmt: skip
    anxious.set(title="Individuals anxious about IT", ylabel="% of individuals", ylim=(0, None))
    anxious.legend()

    for ax in [*axes.ravel(), share, infected]:
        ax.set_xlabel("fiscal year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax not in (share, infected):
            ax.grid(True, alpha=0.3)
        low, high = ax.get_ylim()
        if low == 0:  # room above the highest point, so no marker sits on the frame
            ax.set_ylim(0, high * 1.1 or 1)
    first = runs[0]
    replications = f", {len(runs)} replications (line: median, band: range)" if len(runs) > 1 else ""
    fig.suptitle(f"{first['scenario']}: agent model, seed {first['seed']}{replications}")
    return fig


def frontier(frame: pd.DataFrame, summary: Mapping, chosen: Mapping[str, tuple[float, float, float | None]]) -> Figure:
    """The cost-risk frontier (``frontier.csv``) of each problem, with the chosen optimum
    (star; ``chosen[problem] = (cost, expected loss, CVaR or None)``), the cheapest
    acceptable portfolio (circle), the CVaR bar each problem's tail must stay under, and
    in society mode the partial optima (each sector alone) priced on society's losses.

    The points are the weighted-sum (supported) points: exact, but a budget between two
    of them may buy a portfolio that no price finds. Within such a budget the lowest
    loss is at most the cheaper point's (the step drawn) and at least the straight line
    between the points (they lie on the lower convex hull), so the curve is drawn as
    steps, never as a line that would claim points not computed."""
    fig = Figure(figsize=(12, 5), constrained_layout=True)
    left, right = fig.subplots(1, 2)
    bars = _cvar_bars(summary)
    for label, group in frame.groupby("problem", sort=False):
        sweep = group[group["point"].isin(["cheapest", "price"])].dropna(subset=["cost"]).sort_values("cost")
        colour = left.plot(sweep["cost"] / BILLION, sweep["expected_loss"] / BILLION, marker=".", label=label,
                           drawstyle="steps-post")[0].get_color()  # fmt: skip
        right.plot(sweep["cost"] / BILLION, sweep["cvar"] / BILLION, marker=".", ls="none", color=colour)
        for _, row in group[(group["point"] == "cheapest_acceptable") & group["cost"].notna()].iterrows():
            left.plot(row["cost"] / BILLION, row["expected_loss"] / BILLION, "o", mfc="none", color=colour)
            right.plot(row["cost"] / BILLION, row["cvar"] / BILLION, "o", mfc="none", color=colour)
        if label in chosen:
            cost, loss, risk = chosen[label]
            left.plot(cost / BILLION, loss / BILLION, "*", ms=13, color=colour)
            if risk is not None:
                right.plot(cost / BILLION, risk / BILLION, "*", ms=13, color=colour)
        if label in bars:
            right.axhline(bars[label] / BILLION, color=colour, ls="--", label=f"{label}: CVaR bar")
    partial = summary.get("comparison", {}).get("partial")
    if partial:
        left.plot(partial["cost"] / BILLION, partial["loss"] / BILLION, "X", ms=10, color="black",
                  label="partial optima (each sector alone), society's losses")  # fmt: skip
    level = frame["cvar_level"].dropna()
    left.set(xlabel="annual cost of the measures (billion yen)", ylabel="expected counted loss (billion yen a year)")
    left.set_title("Lowest expected loss for the money, risk bars off: supported points, as steps\n"
                   "(star: chosen, circle: cheapest acceptable)", fontsize=9)  # fmt: skip
    right.set(
        xlabel="annual cost of the measures (billion yen)",
        ylabel=f"CVaR {level.iloc[0] if len(level) else ''} of the annual loss, all layers (billion yen)",
    )
    right.set_title("Tail risk of the same portfolios" + ("" if bars else " (no joint CVaR bar in this run)"),
                    fontsize=9)  # fmt: skip
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    left.legend(fontsize=7)
    if bars:
        right.legend(fontsize=7)
    return fig


def _cvar_bars(summary: Mapping) -> dict[str, float]:
    """The CVaR bar of each frontier problem: society's joint bar, or a sector's own."""
    if summary.get("mode") == "society":
        bar = summary.get("society_bar")
        return {"society": bar["cvar_max"]} if bar else {}
    return {sector: entry["cvar_max"] for sector, entry in summary.get("sectors", {}).items() if entry.get("cvar_max")}


def convergence(frame: pd.DataFrame) -> Figure:
    """How the total's AAL (with its 95% interval), VaR 99% and TVaR 99% settle as years
    are added (``convergence.csv``)."""
    fig = Figure(figsize=(12, 4), constrained_layout=True)
    left, right = fig.subplots(1, 2)
    years = frame["years"]
    aal, half = frame["aal"] / BILLION, 1.96 * frame["aal_se"].fillna(0) / BILLION
    left.plot(years, aal, marker=".", label="AAL")
    left.fill_between(years, aal - half, aal + half, alpha=0.2, lw=0, label="95% interval")
    left.set(title="Average annual loss, all sectors", ylabel="billion yen a year")
    left.legend()
    right.plot(years, frame["var_0.99"] / BILLION, marker=".", label="VaR 99%")
    right.plot(years, frame["tvar_0.99"] / BILLION, marker=".", label="TVaR 99%")
    right.set(title="Tail of the annual loss, all sectors", ylabel="billion yen")
    right.legend()
    for ax in (left, right):
        ax.set(xscale="log", xlabel="simulated years")
        ax.grid(True, which="both", alpha=0.3)
    return fig


def area_grid(counts: pd.DataFrame, title: str) -> Figure:
    """A power area x sector table of operators in an outage as a heat map with the
    numbers written in."""
    fig = Figure(figsize=(7, 4.8), constrained_layout=True)
    ax = fig.subplots()
    values = counts.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="Reds", vmin=0, vmax=max(values.max(), 1), aspect="auto")
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in counts.columns], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(counts.shape[0]), [str(r) for r in counts.index], fontsize=8)
    top = max(values.max(), 1)
    for (row, column), value in np.ndenumerate(values):
        if value:
            colour = "white" if value > top / 2 else "black"
            ax.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="operators in an outage", ticks=MaxNLocator(integer=True))
    return fig


def day_lines(frame: pd.DataFrame, lines: Mapping[str, str], title: str, ylabel: str,
              scale: float = 1.0, dashed: Sequence[str] = (), stacked: bool = False) -> Figure:  # fmt: skip
    """Daily series of a running model against the day (``lines``: column -> label),
    divided by ``scale``; ``dashed`` columns are targets; ``stacked`` stacks them as areas.
    The y-axis starts at zero so that small changes look small."""
    fig = Figure(figsize=(6, 3.4), constrained_layout=True)
    ax = fig.subplots()
    if stacked and len(frame):
        ax.stackplot(frame["day"], *(frame[c] / scale for c in lines), labels=list(lines.values()))
    else:
        for column, label in lines.items():
            ax.plot(frame["day"], frame[column] / scale, "--" if column in dashed else "-", label=label)
    ax.set(title=title, xlabel="day", ylabel=ylabel)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.15 or 1)  # from zero, with room for the legend
    ax.grid(True, alpha=0.3)
    if len(frame):
        ax.legend(fontsize=8, loc="upper left")
    return fig


def intervals(summary: pd.DataFrame, outcome: str) -> Figure:
    """An experiment's outcome at each design point: the mean over replications with its
    95% interval (one marker and bar a point, in the order of the design)."""
    rows = summary[summary["outcome"] == outcome].reset_index(drop=True)
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(rows))
    mean = rows["mean"].to_numpy(dtype=float)
    low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
    ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="o", capsize=3, label="mean, 95% interval")
    ax.set(xlabel="design point", ylabel=outcome, title=f"{outcome} by design point")
    ax.set_xticks(x, [str(p) for p in rows["point_id"]], fontsize=7)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def setting_intervals(table: pd.DataFrame, outcome: str, title: str) -> Figure:
    """An experiment's outcome by lever setting (``table``: mean, ci_low, ci_high indexed
    by the setting's label), with its 95% interval."""
    fig = Figure(figsize=(7, 0.5 + 0.4 * len(table)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))
    mean = table["mean"].to_numpy(dtype=float)
    ax.errorbar(mean, y, xerr=[mean - table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float)
                               - mean], fmt="o", capsize=3)  # fmt: skip
    ax.set_yticks(y, table.index)
    ax.set_xlabel(f"{outcome} (mean, 95% interval)")
    ax.set_title(title, fontsize=9)
    return fig


def sensitivity_bars(rows: pd.DataFrame, outcome: str, method: str) -> Figure:
    """Sensitivity indices of one outcome: mu* (Morris), S1 and ST (Sobol) or S1 (given
    posterior draws), each with SALib's bootstrap interval."""
    fig = Figure(figsize=(7, 0.6 + 0.35 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    if method == "morris":
        ax.barh(y, rows["mu_star"], xerr=rows["mu_star_conf"], capsize=3)
        ax.set_xlabel("mu* (mean absolute elementary effect per unit quantile)")
    elif method == "sobol":
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], capsize=3, label="S1")
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], capsize=3, label="ST")
        ax.legend()
    else:  # given posterior draws: the dummy factor is drawn as the noise floor, not as a bar
        dummy = rows["factor"].str.startswith("(dummy")
        floor = float((rows.loc[dummy, "S1"] + rows.loc[dummy, "S1_conf"]).max()) if dummy.any() else None
        linked = rows["linked"].fillna("").astype(str).str.split(", ").map(lambda names: len([n for n in names if n]))
        rows = rows.assign(factor=rows["factor"] + linked.map(lambda n: f" (+{n} linked)" if n else ""))[~dummy]
        y = np.arange(len(rows))
        ax.barh(y, rows["S1"], xerr=rows["S1_conf"], capsize=3, label="S1 with its 95% interval")
        if floor is not None:
            ax.axvline(floor, color="grey", linestyle="--", label="noise floor (dummy factor, upper bound)")
        ax.set_xlabel("S1: share of the variance explained")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(y, rows["factor"], fontsize=8)
    ax.set_title(outcome, fontsize=9)
    return fig


def decision_tree(tree: object, features: list[str]) -> Figure:
    """A fitted scikit-learn classification tree (scenario discovery's CART)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from sklearn.tree import plot_tree

    fig = Figure(figsize=(10, 6), layout="constrained")
    FigureCanvasAgg(fig)  # plot_tree measures its text boxes: it needs a canvas that renders
    ax = fig.subplots()
    plot_tree(tree, feature_names=features, class_names=["other", "of interest"], filled=True, ax=ax, fontsize=7)
    return fig


def _fit_rows(ax: Axes, rows: pd.DataFrame, labels: list[str]) -> None:
    """Fitted parameters one a row: the prior's 90% interval as a grey bar, the fit's 90%
    interval and its estimate in colour (blue: identified by the data; orange: the prior
    decides). Infinite ends (the data set no bound) are drawn to the axis edge."""
    y = np.arange(len(rows))[::-1]
    ax.barh(y, rows["prior_high"] - rows["prior_low"], left=rows["prior_low"], height=0.6, color="0.85",
            label="prior 90%")  # fmt: skip
    for identified, colour, label in ((True, "tab:blue", "fit 90%: data identify it"),
                                      (False, "tab:orange", "fit 90%: the prior decides")):  # fmt: skip
        part = rows["identified"].to_numpy(dtype=bool) == identified
        if not part.any():
            continue
        est = rows["estimate"].to_numpy(dtype=float)[part]
        low, high = rows["low"].to_numpy(dtype=float)[part], rows["high"].to_numpy(dtype=float)[part]
        edge_low, edge_high = ax.get_xlim()
        low = np.where(np.isfinite(low) & (low > 0 if ax.get_xscale() == "log" else True), low, edge_low)
        high = np.where(np.isfinite(high), high, edge_high)
        ax.errorbar(est, y[part], xerr=[est - low, high - est], fmt="o", color=colour, capsize=3, label=label)
    ax.set_yticks(y, labels, fontsize=7)
    ax.grid(True, axis="x", which="both", alpha=0.3)


def calibration_fits(fitted: pd.DataFrame) -> Figure:
    """The calibration's fitted parameters (``fitted``: the columns of
    :data:`riskmodel.calibration.outputs.FITTED_SCHEMA`) against their priors: the rate
    factors on a log scale (left), the duration shift delta and spread kappa (right)."""
    factors = fitted[fitted["parameter"].isin(["common_factor", "exposure_factor"])]
    durations = fitted[fitted["parameter"].isin(["duration_shift", "duration_spread"])]
    fig = Figure(figsize=(12, 1.2 + 0.22 * max(len(factors), 4)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    if len(factors):
        left.set_xscale("log")
        ends = factors[["prior_low", "prior_high", "low", "high", "estimate"]].to_numpy(dtype=float)
        ends = ends[np.isfinite(ends) & (ends > 0)]
        left.set_xlim(ends.min() / 2, ends.max() * 2)
        labels = [f"{r.kind}: {r.sector or 'common (mu)'}" for r in factors.itertuples()]
        _fit_rows(left, factors, labels)
        left.set(xlabel="factor on the scenario's failure rate (log scale)",
                 title="Failure-rate factors by threat kind and sector")  # fmt: skip
        left.axvline(1.0, color="black", lw=0.8, ls=":", label="scenario as written (1)")
        left.legend(fontsize=7, loc="lower right")
    if len(durations):
        ends = durations[["prior_low", "prior_high", "low", "high", "estimate"]].to_numpy(dtype=float)
        ends = ends[np.isfinite(ends)]
        right.set_xlim(ends.min() - 0.5, ends.max() + 0.5)
        names = {"duration_shift": "delta (log-median shift)", "duration_spread": "kappa (log-sd factor)"}
        labels = [f"{r.kind}: {names[r.parameter]}" for r in durations.itertuples()]
        _fit_rows(right, durations, labels)
        right.set(xlabel="delta (log hours); kappa (factor)", title="Outage durations")
        right.legend(fontsize=7, loc="lower right")
    else:
        right.set_axis_off()
    left.set_title(left.get_title(), fontsize=9)
    right.set_title(right.get_title(), fontsize=9)
    return fig


def predictive_check(check: pd.DataFrame, level: float = 0.05) -> Figure:
    """Each incident's posterior predictive tail probabilities: P(a reported failure of the
    sector is at most the figure) and P(at least it), on a log scale, with the ``level``
    below which the figure lies outside the central 90% region."""
    fig = Figure(figsize=(9, 1.0 + 0.28 * len(check)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(check))[::-1]
    floor = 1e-4  # a probability of 0 (no simulated failure as small or large) drawn at the edge
    for column, marker, label in (("p_below", "<", "P(at most the figure)"), ("p_above", ">", "P(at least it)")):
        ax.scatter(np.maximum(check[column].to_numpy(dtype=float), floor), y, marker=marker, s=36, label=label)
    ax.axvspan(floor / 2, level, color="tab:red", alpha=0.1, label=f"outside the central {1 - 2 * level:.0%} region")
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, 1.5)
    labels = [f"{r.date} {r.sector}: {r.magnitude} {r.reported}" for r in check.itertuples()]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set(xlabel=f"posterior predictive probability (log scale; 0 drawn at {floor:g})",
           title="Posterior predictive check of each incident")  # fmt: skip
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def recovery_coverage(table: pd.DataFrame, nominal: float = 0.9) -> Figure:
    """Parameter recovery: the share of synthetic data sets whose 90% interval covered the
    truth, with two binomial standard errors, against the nominal share."""
    fig = Figure(figsize=(8, 1.0 + 0.25 * len(table)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))[::-1]
    ax.errorbar(table["coverage"], y, xerr=2 * table["coverage_se"], fmt="o", capsize=3,
                label="coverage ± 2 standard errors")  # fmt: skip
    ax.axvline(nominal, color="black", ls="--", lw=1, label=f"nominal {nominal:.0%}")
    labels = [f"{r.parameter} {r.kind}{': ' + r.sector if r.sector else ''}" for r in table.itertuples()]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set(xlim=(0, 1.05), xlabel="share of data sets whose 90% interval covers the truth",
           title="Recovery of known parameters")  # fmt: skip
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig
