"""The ``riskmodel`` command line.

Every command turns bad input into one line on stderr that names the file, the field,
the value and what was expected, and exits with status 2; results are written only once
a run has succeeded, so a failed run leaves what was already in the output folder as it
was.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import riskmodel
from riskmodel.errors import InputError
from riskmodel.overrides import Override
from riskmodel.runs.spec import WHERE as SPEC
from riskmodel.runs.spec import RunSpec
from riskmodel.scenario import default_scenario_path, packaged_file

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="IT-failure risk in critical infrastructure: losses, acceptable risk, countermeasures.",
)
scenario_app = typer.Typer(no_args_is_help=True, help="Show, check or export scenario files.")
app.add_typer(scenario_app, name="scenario")
experiment_app = typer.Typer(no_args_is_help=True, help="Batches of runs over levers and uncertainties: run, resume, "
                             "inspect, export and analyse them.")  # fmt: skip
app.add_typer(experiment_app, name="experiment")
console = Console(width=None if sys.stdout.isatty() else 150)
errors = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., object])

ScenarioOption = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario TOML file or packaged name (default: the packaged Japan scenario)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario field: PATH=VALUE sets it, PATH*=FACTOR scales it "
        "(e.g. 'threats[id=ddos].frequency.rate*=1.1'); repeatable.",
    ),
]
# run-spec fields that a command-line flag of another name sets
FLAGS = {"size": "--years", "seed": "--seed", "portfolio": "--portfolio", "scenario": "--scenario", "out": "--out"}


def _flag(field: str) -> str:
    """The command-line flag of a run-spec field (``options.cvar_max`` -> ``--cvar-max``)."""
    if field in FLAGS:
        return FLAGS[field]
    return "--" + field.removeprefix("options.").replace("_", "-")


def reports_input_errors(command: F) -> F:
    """Print an InputError as one line and exit with status 2; a run-spec field is
    named by the command-line flag that sets it."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            if str(exc.file) == SPEC or exc.field == "out":
                expected = re.sub(r"options\.\w+", lambda m: _flag(m.group(0)), exc.expected)
                exc = InputError("(command line)" if str(exc.file) == SPEC else exc.file, _flag(exc.field),
                                 exc.value, expected)  # fmt: skip
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        print(f"riskmodel {riskmodel.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """IT-failure risk in critical infrastructure: losses, acceptable risk, countermeasures."""


def _spec(kind: str, scenario: str | None, settings: list[str] | None, **fields: Any) -> RunSpec:
    """A run spec from a command's options (``--set`` texts parsed into overrides)."""
    overrides = tuple(Override.parse(text) for text in settings or [])
    return RunSpec(kind, scenario=scenario, overrides=overrides, **fields)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr (when it is a terminal) behind the run API's protocol."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield report


def _execute(spec: RunSpec, out: Path) -> tuple[Any, list[str]]:
    """Run a spec and write its files into ``out`` (staged: all or nothing)."""
    from riskmodel.runs.run import prepare, run
    from riskmodel.runs.writers import output_dir, staged, write_files

    prepare(spec)  # bad input is reported before the output folder is touched
    out = output_dir(out)
    with staged(out) as stage:
        with _progress() as report:
            result = run(spec, report, stream_to=stage)
        written = write_files(result, stage)
    return result, written


def _money(value: float) -> str:
    return f"{round(value / 1e9, 1) + 0.0:,.1f}"  # + 0.0: no "-0.0"


@app.command()
@reports_input_errors
def simulate(
    scenario: ScenarioOption = None,
    portfolio: Annotated[Path | None, typer.Option(help="Portfolio TOML: measures in place per sector.")] = None,
    years: Annotated[int, typer.Option(help="Simulated years.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    threads: Annotated[int, typer.Option(help="Worker threads (results do not depend on it).")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for summary.json, ylt.parquet and the plots.")] = Path("out"),
    elt: Annotated[bool, typer.Option(help="Also write the event loss table, elt.parquet.")] = False,
    set_: SetOption = None,
) -> None:
    """Simulate years of IT failures and their losses; print and save the risk measures."""
    spec = _spec("simulate", scenario, set_, portfolio=_text(portfolio), seed=seed, size=years,
                 options={"threads": threads, "elt": elt})  # fmt: skip
    result, written = _execute(spec, out)
    detail = result.detail
    table = Table(title=f"{detail.world.name}: {years:,} years, seed {seed} (billion yen a year)")
    for name in ("sector", "failures/yr", "AAL", "± SE", "direct", "users", "economy", "of it external", "TVaR 99%"):
        table.add_column(name, justify="left" if name == "sector" else "right")
    table.add_column("acceptability")
    for row in result.tables["sectors"].to_dict("records"):
        money = [_money(row[k]) for k in ("aal", "aal_se", "direct", "users", "economy", "external", "tvar_0.99")]
        table.add_row(row["sector"], f"{row['failures_per_year']:,.1f}", *money, row["acceptability"])
    console.print(table)
    console.print(f"wrote {out}/{', '.join(written)}")


@app.command()
@reports_input_errors
def abm(
    scenario: ScenarioOption = None,
    portfolio: Annotated[Path | None, typer.Option(help="Portfolio TOML: measures in place at the start.")] = None,
    years: Annotated[int | None, typer.Option(help="Fiscal years to run (default: the scenario's horizon).")] = None,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for abm_summary.json, the Parquet tables, the plot.")] = Path("out"),
    set_: SetOption = None,
) -> None:
    """Run the agent model day by day through the fiscal years; print and save its series."""
    spec = _spec("abm", scenario, set_, portfolio=_text(portfolio), seed=seed, size=years)
    result, written = _execute(spec, out)
    from riskmodel.abm.outputs import summary

    document = summary(result.detail)
    table = Table(title=f"{document['scenario']}: agent model, seed {seed} (failures a year, billion yen a year)")
    for name in ("fiscal year", "failures", "reported", "direct", "users", "economy", "mandatory", "compliance",
                 "spend", "bots (m)", "anxious", "target"):  # fmt: skip
        table.add_column(name, justify="right")
    for year, row in document["fiscal_years"].items():
        target = row["anxious_target"]
        table.add_row(
            year,
            f"{row['true_failures']:,}",
            f"{row['reported_failures']:,}",
            *(_money(row["loss"][layer]) for layer in ("direct", "users", "economy")),
            str(row["mandatory_measures"]),
            f"{row['compliance']:.2f}",
            _money(row["security_spend"]),
            f"{row['botnet_size'] / 1e6:.2f}",
            f"{row['anxious_share']:.1%}",
            f"{target:.1%}" if target is not None else "",
        )
    console.print(table)
    console.print(f"wrote {out}/{', '.join(written)}")


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _mode(sector: str | None, partial: bool, society: bool) -> str:
    """The mode from the mutually exclusive --sector / --partial / --society (default society)."""
    given = [name for name, on in (("--sector", sector is not None), ("--partial", partial), ("--society", society))
             if on]  # fmt: skip
    if len(given) > 1:
        raise InputError("(command line)", " and ".join(given), "both", "one mode: --sector ID, --partial or --society")
    return "sector" if sector is not None else "partial" if partial else "society"


def _print_optimum(result) -> None:
    """The readable tables: per sector, then totals and (society mode) the comparison."""
    table = Table(title=f"{result.world.name}: {result.settings.mode} optimum, {result.settings.years:,} years, "
                  f"seed {result.settings.seed} (billion yen a year)")  # fmt: skip
    for name in ("sector", "measures", "cost", "loss before", "loss after", "CVaR / bar", "F-N ratio"):
        table.add_column(name, justify="left" if name == "sector" else "right")
    table.add_column("out of sample (95% CI)", justify="right")
    table.add_column("acceptability")
    rows = result.sector_table().to_dict("records")
    for row in rows:
        ci = f"{_money(row['oos_expected_loss'])} ({_money(row['oos_ci_low'])}-{_money(row['oos_ci_high'])})"
        table.add_row(
            row["sector"],
            str(len(row["measures"])),
            _money(row["cost"]),
            _money(row["expected_loss_unmitigated"]),
            _money(row["expected_loss"]),
            f"{_money(row['cvar'])} / {_money(row['cvar_max'])}",
            f"{row['fn_ratio']:.2f}",
            ci,
            row["acceptability"] + ("" if row["oos_meets_bar"] else "; bar broken out of sample"),
        )
    console.print(table)
    for row in rows:
        console.print(f"{row['sector']}: {', '.join(row['measures']) or '(none)'}")
    oos, gap = result.out_of_sample, result.gap
    console.print(f"objective (annual cost + expected counted loss): {_money(result.objective)} bn yen a year")
    if result.status == "time_limit":
        worst = max(p.solution.gap for p in result.problems)
        console.print(f"stopped at the time limit: the best portfolio found, within {worst:.3%} of the optimum")
    console.print(
        f"out of sample ({oos.years:,} fresh engine years): {_money(oos.total[0])} bn yen a year "
        f"(95% CI {_money(oos.total[2])}-{_money(oos.total[3])})"
    )
    if gap is not None:
        console.print(
            f"optimality gap (Mak-Morton-Wood, {len(gap.batches)} batches of {gap.years:,} years, their bars "
            f"relaxed, so an upper bound): {_money(gap.estimate)} bn yen a year, 95% upper bound {_money(gap.ci_upper)}"
            + (f"; the portfolio breaks a bar in {gap.violating} batch(es)" if gap.violating else "")
        )
    if result.comparison is not None:
        frame = result.comparison[result.comparison["sector"] == "total"].set_index("portfolio")
        comparison = Table(title="partial (each sector alone, own losses) against society (all layers), same years")
        for name in ("portfolio", "cost", "direct", "users", "economy", "of it external", "social cost"):
            comparison.add_column(name, justify="left" if name == "portfolio" else "right")
        for name in ("partial", "society"):
            row = frame.loc[name]
            cells = [_money(row[k]) for k in ("cost", "direct", "users", "economy", "external", "social_cost")]
            comparison.add_row(name, *cells)
        console.print(comparison)
        price = frame.loc["partial", "social_cost"] - frame.loc["society", "social_cost"]
        console.print(f"price of externalities (social cost, partial - society): {_money(price)} bn yen a year "
                      "on the SAA years")  # fmt: skip
        if result.externality is not None:
            fresh = result.externality
            console.print(f"  out of sample ({fresh.years:,} fresh engine years, paired): {_money(fresh.mean)} "
                          f"bn yen a year (95% CI {_money(fresh.ci_low)}-{_money(fresh.ci_high)})")  # fmt: skip


@app.command()
@reports_input_errors
def optimize(
    scenario: ScenarioOption = None,
    sector: Annotated[str | None, typer.Option(help="Optimise one critical sector, counting its own losses.")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="Optimise every critical sector alone.")] = False,
    society: Annotated[
        bool, typer.Option("--society", help="Optimise all sectors jointly, every layer (the default mode).")
    ] = False,
    budget: Annotated[
        float | None, typer.Option(help="Yen a year: per sector (--sector, --partial) or in total (--society).")
    ] = None,
    cvar_level: Annotated[float | None, typer.Option(help="CVaR level of the replacing bar, in (0, 1).")] = None,
    cvar_max: Annotated[
        float | None,
        typer.Option(help="Yen: replaces each sector's CVaR bar (--sector, --partial) or bars society's total."),
    ] = None,
    fn: Annotated[bool, typer.Option("--fn/--no-fn", help="Impose the sectors' F-N tolerability lines.")] = True,
    years: Annotated[int, typer.Option(help="Simulated years in the SAA.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    solver: Annotated[str, typer.Option(help="MILP solver: highs or cbc.")] = "highs",
    gap: Annotated[float, typer.Option(help="Relative optimality gap at which the solver may stop.")] = 1e-4,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per solve (default: none).")] = None,
    eval_years: Annotated[int, typer.Option(help="Fresh engine years for the out-of-sample check.")] = 10_000,
    replications: Annotated[int, typer.Option(help="Batches for the optimality-gap estimate (0: none).")] = 5,
    frontier_points: Annotated[int, typer.Option(help="Points on the cost-risk frontier (0: none).")] = 8,
    threads: Annotated[int, typer.Option(help="Engine threads (results do not depend on it).")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for portfolio.toml, optimize_summary.json, frontier.*")] = Path(
        "out"
    ),
    set_: SetOption = None,
) -> None:
    """The most cost-effective countermeasure portfolio under the acceptable-risk bars.

    Modes: --sector ID (one sector, its own losses: direct and its users'), --partial
    (every sector alone that way) or --society (the default: all sectors jointly, every
    loss layer, cascades included, compared with the partial optima). Exit status 3 when
    no portfolio meets the bars within the budget (the reachable risk is printed).
    """
    options = {
        "mode": _mode(sector, partial, society), "sector": sector, "budget": budget, "cvar_level": cvar_level,
        "cvar_max": cvar_max, "fn": fn, "solver": solver, "gap": gap, "time_limit": time_limit,
        "eval_years": eval_years, "replications": replications, "frontier_points": frontier_points, "threads": threads,
    }  # fmt: skip
    spec = _spec("optimize", scenario, set_, seed=seed, size=years, options=options)
    try:
        run_result, written = _execute(spec, out)
    except RuntimeError as exc:  # a solver fault (VerificationError included), never a result
        print(f"error: the solver failed: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    result = run_result.detail
    if result.has_portfolio:
        _print_optimum(result)
    else:
        what = "infeasible: no portfolio meets the bars within the budget" if result.status == "infeasible" else (
            "time limit: no feasible portfolio found in time")  # fmt: skip
        print(what, file=sys.stderr)
        for label, diagnosis in result.diagnoses.items():
            for line in diagnosis.binding():
                print(f"  {line}" if label == "society" or line.startswith(label) else f"  {label}: {line}",
                      file=sys.stderr)  # fmt: skip
    console.print(f"wrote {out}/{', '.join(written)}")
    if not result.has_portfolio:
        raise typer.Exit(3)


@scenario_app.command("show")
@reports_input_errors
def scenario_show(scenario: ScenarioOption = None) -> None:
    """Print a scenario: sectors, operators, threats, measures and interdependency."""
    from riskmodel.interdependency import dependence_ranking, spectral_radius
    from riskmodel.world import load_world

    world = load_world(scenario)
    sc = world.scenario
    console.print(f"[bold]{sc.scenario.title}[/bold] ({sc.scenario.name})")
    console.print(sc.scenario.description)
    console.print(
        f"{len(sc.regions)} regions, {world.n_sectors} sectors, {len(world.operators)} operators, "
        f"{len(sc.threats)} threats, {len(sc.measures)} measures ({world.catalogue.n_options} options), "
        f"horizon FY{sc.horizon.start_fiscal_year}-FY{sc.horizon.end_fiscal_year}"
    )
    sectors = Table(title="Sectors")
    for name in (
        "sector",
        "ministry",
        "operators",
        "users",
        "output (bn yen/yr)",
        "failures/yr",
        "IT dep.",
        "CVaR bar",
    ):
        sectors.add_column(name, justify="left" if name in ("sector", "ministry") else "right")
    counts = [int((world.operators.sector == s).sum()) for s in range(world.n_sectors)]
    for s, spec in enumerate(sc.sectors):
        sectors.add_row(
            spec.id,
            spec.ministry or "",
            str(counts[s]),
            f"{spec.users.total:,.0f}" if spec.users else "",
            _money(world.sector_output[s]),
            f"{world.sector_rate[s].sum():.1f}",
            f"{world.it_dependence[s]:.2f}",
            _money(spec.acceptability.cvar_max) if spec.acceptability else "",
        )
    console.print(sectors)
    threats = Table(title="Threats")
    for name in ("threat", "kind", "mean rate / operator-yr", "median hours", "mean depth"):
        threats.add_column(name)
    for t in sc.threats:
        rate = (
            f"{t.frequency.rate:g}"
            if t.kind != "disaster"
            else f"{sum(t.frequency.regional_rates.values()):g} / yr (regional)"
        )
        depth = t.depth.alpha / (t.depth.alpha + t.depth.beta)
        threats.add_row(t.id, t.kind, rate, f"{t.duration.median_hours:g}", f"{depth:.2f}")
    console.print(threats)
    ranking = dependence_ranking(world.cascade, world.sector_ids, list(world.critical))
    console.print(f"Interdependency: spectral radius of A* {spectral_radius(world.cascade.national):.3f}")
    console.print("Sectors the others depend on most (inoperability of the other critical sectors when one is out):")
    for row in ranking.itertuples(index=False):
        console.print(f"  {row.sector:28s} {row.dependence:6.2f}")


@scenario_app.command("validate")
@reports_input_errors
def scenario_validate(file: Annotated[Path, typer.Argument(help="Scenario TOML file to check.")]) -> None:
    """Check a scenario file: schema, references, and a well-posed interdependency matrix."""
    from riskmodel.world import load_world

    world = load_world(file)
    console.print(
        f"{file}: valid scenario {world.name!r} ({world.n_sectors} sectors, {len(world.operators)} operators, "
        f"{world.catalogue.n_options} measure options)"
    )


@scenario_app.command("export")
@reports_input_errors
def scenario_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the default scenario and its data files into.")],
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> None:
    """Write the default scenario and its data files out, as a start for your own."""
    from riskmodel.scenario import load_scenario

    scenario = load_scenario()
    names = [default_scenario_path().name, scenario.interdependency.io_table]
    if scenario.incidents is not None:
        names.append(scenario.incidents.file)
    if directory.exists() and not directory.is_dir():
        raise InputError(directory, "DIRECTORY", "(an existing file)", "a directory")
    for name in names:
        target = directory / name
        if target.exists() and not force:
            raise InputError(target, "", "(exists)", "a file that does not exist yet (or --force to overwrite)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(directory, "DIRECTORY", exc.strerror or str(exc), "a directory that can be created") from None
    for name in names:
        shutil.copyfile(packaged_file(name), directory / name)
    console.print(f"wrote {', '.join(str(directory / n) for n in names)}")
    console.print(f"edit {directory / names[0]} and run: riskmodel simulate --scenario {directory / names[0]}")


StoreArgument = Annotated[Path, typer.Argument(help="Experiment store (the .duckdb file a run made).")]
WorkersOption = Annotated[int, typer.Option(help="Worker processes (1: in this process). Results do not depend on it.")]
SchedulerOption = Annotated[str | None, typer.Option(help="Run on the Dask cluster of this scheduler (tcp://host:port).")]
DaskOption = Annotated[bool, typer.Option("--dask", help="Run on a local Dask cluster of --workers processes.")]
RetryOption = Annotated[bool, typer.Option(help="Run failed runs again too.")]
FiguresOption = Annotated[Path | None, typer.Option("--out", help="Folder for tables and figures (default: beside "
                                                    "the store, named after it).")]  # fmt: skip


def _batch(spec: Any, store: Path | None, workers: int, scheduler: str | None, dask: bool, retry: bool) -> None:
    from riskmodel.experiments import run_experiment

    report = run_experiment(spec, store, workers=workers, scheduler=scheduler, dask=dask, retry_failed=retry,
                            log=lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    console.print(f"{report.store}: ran {report.ran:,} runs in {report.seconds:,.1f} s ({report.done:,} done, "
                  f"{report.failed:,} failed)")  # fmt: skip
    experiment_status(report.store)


@experiment_app.command("run")
@reports_input_errors
def experiment_run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (TOML), e.g. experiments/blame_immunity.toml.")],
    store: Annotated[Path | None, typer.Option(help="Store file (default: <output>/<name>.duckdb).")] = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
    retry_failed: RetryOption = False,
) -> None:
    """Run an experiment's runs that are not done yet (again: resume), storing each as it ends."""
    from riskmodel.experiments import load_spec

    _batch(load_spec(spec), store, workers, scheduler, dask, retry_failed)


@experiment_app.command("resume")
@reports_input_errors
def experiment_resume(
    store: StoreArgument,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
    retry_failed: RetryOption = False,
) -> None:
    """Run what is not done in a store, from the spec stored in it."""
    from riskmodel.experiments.spec import check_spec
    from riskmodel.experiments.store import stored_spec

    data, folder = stored_spec(store)
    _batch(check_spec(data, store, folder), store, workers, scheduler, dask, retry_failed)


@experiment_app.command("status")
@reports_input_errors
def experiment_status(store: StoreArgument) -> None:
    """Counts of runs by status, and the failed runs' errors."""
    from riskmodel.experiments import load_experiment

    data = load_experiment(store)
    counts = data.runs.status.value_counts()
    by_status = ", ".join(f"{counts.get(s, 0):,} {s}" for s in ("done", "failed", "running", "pending"))
    console.print(f"{data.spec['experiment']['name']}: {len(data.points):,} design points x "
                  f"{data.spec['experiment']['replications']} replications = {len(data.runs):,} runs: {by_status}")
    failed = data.failures()
    for row in failed.head(20).itertuples():
        last = (row.traceback or "").strip().splitlines()[-3:-1]
        console.print(f"  run {row.run_id} (point {row.point_id}, replication {row.replication}): "
                      f"{row.error_type}: {row.error_message}" + (f"  [{last[0].strip()}]" if last else ""),
                      markup=False, highlight=False)  # fmt: skip
    if len(failed) > 20:
        console.print(f"  ... and {len(failed) - 20:,} more failed runs (experiment export --what runs)")


@experiment_app.command("export")
@reports_input_errors
def experiment_export(
    store: StoreArgument,
    out: Annotated[Path, typer.Option(help="File to write; its suffix (.csv or .parquet) sets the format.")],
    what: Annotated[str, typer.Option(help="results (a row per run done: parameters and outcomes), runs, "
                                      "points, or a kept table's name.")] = "results",
) -> None:
    """Write an experiment's results, runs, points or a kept table as CSV or Parquet."""
    from riskmodel.experiments import load_experiment

    if out.suffix not in (".csv", ".parquet"):
        raise InputError("(command line)", "--out", str(out), "a file name ending in .csv or .parquet")
    data = load_experiment(store)
    frames = {"results": data.wide, "runs": lambda: data.runs, "points": lambda: data.points}
    frame = frames[what]() if what in frames else data.table(what)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False) if out.suffix == ".csv" else frame.to_parquet(out, index=False)
    console.print(f"wrote {out} ({len(frame):,} rows)")


OutcomesOption = Annotated[list[str] | None, typer.Option(help="An outcome to analyse (repeatable; default: all).")]


def _known_outcomes(data: Any, outcomes: list[str] | None) -> None:
    for name in outcomes or []:
        if name not in data.outcome_names:
            raise InputError("(command line)", "--outcome", name, f"a kept outcome: {', '.join(data.outcome_names)}")


def _figures_folder(store: Path, out: Path | None) -> Path:
    return out if out is not None else store.with_suffix("")


def _show(frame: Any, title: str) -> None:
    console.print(f"[bold]{title}[/bold]")
    console.print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"), markup=False, highlight=False)


@experiment_app.command("summary")
@reports_input_errors
def experiment_summary(store: StoreArgument, out: FiguresOption = None, outcome: OutcomesOption = None) -> None:
    """Mean, SE and 95% interval per design point and outcome; paired lever differences."""
    from riskmodel.experiments import analysis, load_experiment

    data = load_experiment(store)
    _known_outcomes(data, outcome)
    folder = _figures_folder(store, out)
    folder.mkdir(parents=True, exist_ok=True)
    table = analysis.summarize(data, outcome)
    _show(table.drop(columns="point_id"), "Per design point: mean over replications, SE, 95% interval")
    table.to_csv(folder / "summary.csv", index=False)
    paired = analysis.paired_differences(data, outcome)
    if len(paired):
        _show(paired, "Paired differences (value - baseline), same replications (common random numbers)")
        paired.to_csv(folder / "paired_differences.csv", index=False)
    written = analysis.figures(data, folder, outcome)
    console.print(f"wrote {folder}/summary.csv" + (", paired_differences.csv" if len(paired) else "")
                  + f" and {len(written)} figures")  # fmt: skip


@experiment_app.command("sensitivity")
@reports_input_errors
def experiment_sensitivity(
    store: StoreArgument,
    out: FiguresOption = None,
    outcome: OutcomesOption = None,
) -> None:
    """Morris or Sobol indices (SALib) with bootstrap intervals and Monte Carlo noise."""
    from riskmodel.experiments import load_experiment, sensitivity

    data = load_experiment(store)
    _known_outcomes(data, outcome)
    table = sensitivity.sensitivity(data, outcome)
    folder = _figures_folder(store, out)
    folder.mkdir(parents=True, exist_ok=True)
    _show(table, f"{data.spec['design']['uncertainties'].capitalize()} indices")
    table.to_csv(folder / "sensitivity.csv", index=False)
    written = sensitivity.figures(table, data.spec["design"]["uncertainties"], folder)
    console.print(f"wrote {folder}/sensitivity.csv and {len(written)} figures")


@experiment_app.command("discover")
@reports_input_errors
def experiment_discover(
    store: StoreArgument,
    outcome: Annotated[str, typer.Option(help="The outcome whose high (or low) values to explain.")],
    threshold: Annotated[float, typer.Option(help="A design point is of interest above it (below: --below).")],
    below: Annotated[bool, typer.Option(help="Of interest below the threshold.")] = False,
    min_density: Annotated[float, typer.Option(help="PRIM: the density the box reported must reach.")] = 0.8,
    out: FiguresOption = None,
) -> None:
    """Scenario discovery: PRIM boxes (EMA Workbench) and a CART tree (scikit-learn)."""
    from riskmodel.experiments import discovery, load_experiment

    found = discovery.discover(load_experiment(store), outcome, threshold, below, min_density)
    side = "below" if below else "above"
    console.print(f"{found.of_interest} of {found.cases} design points have {outcome} {side} {threshold:g}",
                  markup=False)  # fmt: skip
    _show(found.tradeoff.reset_index(names="step"), "PRIM peeling trajectory (coverage-density trade-off)")
    _show(found.box.reset_index(names="restricted"), f"PRIM box at step {found.chosen}")
    console.print(f"CART tree (accuracy {found.tree_accuracy:.2f} on the design points):", markup=False)
    console.print(found.tree_rules, markup=False, highlight=False)
    written = discovery.figures(found, _figures_folder(store, out))
    console.print(f"wrote {', '.join(str(p) for p in written)}")


def main() -> None:
    app()
