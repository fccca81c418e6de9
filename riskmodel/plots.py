"""Figures of a simulation: exceedance-probability curves and F-N curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from riskmodel.engine.simulate import SimulationResult
from riskmodel.metrics import fn_curve


def plot_ep_curves(result: SimulationResult, path: str | Path) -> None:
    """Aggregate (AEP) and occurrence (OEP) exceedance curves of the total loss, and the
    AEP of each sector, against return period."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    total = result.total
    for sketch, label in ((result.aggregate, "aggregate (AEP)"), (result.occurrence, "occurrence (OEP)")):
        loss, prob = sketch.exceedance(total)
        keep = (loss > 0) & (prob > 0)
        left.step(1.0 / prob[keep], loss[keep], where="post", label=label)
    left.set(xscale="log", yscale="log", xlabel="return period (years)", ylabel="annual loss (yen)")
    left.set_title(f"All sectors, {result.years:,} years")
    left.legend()
    for s in result.critical:
        loss, prob = result.aggregate.exceedance(s)
        keep = (loss > 0) & (prob > 0)
        right.step(1.0 / prob[keep], loss[keep], where="post", label=result.world.sector_ids[s])
    right.set(xscale="log", yscale="log", xlabel="return period (years)", ylabel="annual loss (yen)")
    right.set_title("Aggregate loss by sector whose failures cause it")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fn_curves(result: SimulationResult, path: str | Path) -> None:
    """F-N curve of each critical sector with its tolerability line (solid) and its
    broadly-acceptable line (dotted)."""
    sectors = result.critical
    columns = 5
    rows = -(-len(sectors) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False, constrained_layout=True)
    for ax, s in zip(axes.ravel(), sectors, strict=False):
        persons, frequency = fn_curve(result.fn_counts[s], result.years)
        keep = frequency > 0
        ax.step(persons[keep], frequency[keep], where="post", color="black")
        rule = result.world.scenario.sectors[s].acceptability
        if rule is not None:
            n = np.logspace(np.log10(rule.fn_min_persons), 10, 50)
            ax.plot(n, rule.fn_constant / n**rule.fn_exponent, color="tab:red", label="tolerable limit")
            ax.plot(n, rule.broadly_factor * rule.fn_constant / n**rule.fn_exponent, ":", color="tab:green")
        ax.set(xscale="log", yscale="log", xlim=(1, 1e9), ylim=(1.0 / result.years / 2, None))
        ax.set_title(f"{result.world.sector_ids[s]}\n{result.sector_acceptability(s)}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.ravel()[len(sectors) :]:
        ax.axis("off")
    fig.supxlabel("persons affected N")
    fig.supylabel("events per year affecting N or more persons")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_abm(summary: dict, path: str | Path) -> None:
    """The agent model's main series by fiscal year: failures (true and reported), losses by
    layer, the standards and compliance, security spend, the botnet, and the anxious share
    against the Basic Plan's target."""
    years = sorted(summary["fiscal_years"], key=int)
    rows = [summary["fiscal_years"][y] for y in years]
    x = np.array([int(y) for y in years])
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), constrained_layout=True)
    (failures, losses, standards), (spend, botnet, anxious) = axes

    failures.plot(x, [r["true_failures"] for r in rows], "o-", label="true")
    failures.plot(x, [r["reported_failures"] for r in rows], "s--", label="reported to ministries")
    failures.set(title="IT failures a year", ylim=(0, None))
    failures.legend()

    bottom = np.zeros(x.size)
    for layer in ("direct", "users", "economy"):
        values = np.array([r["loss"][layer] for r in rows]) / 1e9
        losses.bar(x, values, bottom=bottom, label=layer)
        bottom += values
    losses.set(title="Losses (billion yen a year)")
    losses.legend()

    lines = standards.plot(x, [r["mandatory_measures"] for r in rows], "o-", label="mandatory")
    lines += standards.plot(x, [r["recommended_measures"] for r in rows], "s--", label="recommended only")
    standards.set(title="Measures in the sector standards (sum over sectors)", ylim=(0, None))
    share = standards.twinx()
    lines += share.plot(x, [r["compliance"] for r in rows], ":", color="black", label="compliance (right)")
    share.set(ylim=(0, 1.05), ylabel="compliance")
    standards.legend(handles=lines, loc="center left")

    spend.plot(x, [r["security_spend"] / 1e9 for r in rows], "o-")
    spend.set(title="Operators' security spend (billion yen a year)", ylim=(0, None))

    botnet.plot(x, [r["botnet_size"] / 1e6 for r in rows], "o-", label="bots (millions)")
    botnet.set(title="Botnet and individuals' infections")
    infected = botnet.twinx()
    infected.plot(x, [100 * r["infected_share"] for r in rows], ":", color="black")
    infected.set(ylabel="% of machines infected (domestic)")
    botnet.legend(loc="upper left")

    anxious.plot(x, [100 * r["anxious_share"] for r in rows], "o-", label="anxious about using IT")
    targets = [100 * r["anxious_target"] if r["anxious_target"] is not None else np.nan for r in rows]
    anxious.plot(x, targets, "k--", label="Basic Plan target")
    anxious.set(title="Individuals anxious about IT (%)", ylim=(0, None))
    anxious.legend()

    for ax in axes.ravel():
        ax.set_xlabel("fiscal year")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{summary['scenario']}: agent model, seed {summary['seed']}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
