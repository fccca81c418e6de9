"""The agent model as an ABC simulator: which parameters, which statistics, which targets.

**Parameters** (:data:`PARAMETERS`): three that shape the reported incident series, each
with a statistic of its own to move, so that the data can tell them apart:

* ``public_persons`` (``abm.concealment.public_persons``): the persons a failure must
  reach to be in the press; it sets the press-reported count (``news``), which the
  press-reported failures of the incident data measure;
* ``base_probability`` (``abm.concealment.base_probability``): hiding at no blame; it
  sets how many of the failures the press does not see reach the ministries (``reported``);
* ``share_probability`` (``abm.information_sharing.share_probability``): the share of
  reported incidents a CEPTOAR member passes on; it sets the incidents shared
  (``shared``) and, through alerts, a little of the failures.

**Statistics** (per fiscal year of the run, critical sectors summed): ``news_<FY>`` (IT
failures the press reported, disasters aside), ``reported_<FY>`` (failures reported to the
ministries), ``shared_<FY>`` (incidents shared through CEPTOARs), each the mean over the
replication seeds (common random numbers: the same seeds for every particle).

**Targets.** The incident data give press counts only: the failures a reporting filter
let through in its complete years, divided by the filter's coverage, compared with the
model's ``news`` of the same (fiscal ~ calendar) year, with Poisson standard errors. A
coverage given as a range divides by its prior instead: the count times ``E[1/c]``, with a
standard error that adds the spread of ``1/c`` to the Poisson one (both reduce to the
fixed coverage's when the range is one point). No
public series of failures reported to the ministries or of incidents shared in CEPTOARs
for FY2006-14 is at hand, so on the default data ``base_probability`` and
``share_probability`` stay prior-driven; :func:`synthetic_targets` gives every statistic,
from the model run at known values on seeds the calibration never uses (recovery).

**Cost.** One replication of the default world, warm (Numba cache loaded), takes about
1-2 s of set-up (the operators' six-year spin-up) and 0.3-0.8 s a fiscal year: a full
FY2006-14 run about 9 s, FY2006-08 about 2 s. ABC needs some hundred particles, so the
default simulator runs FY2006-08 - the three years in which the press counts of the
default data are complete - with two replications spread over ``workers`` processes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.calibration.abc import (
    Observed,
    Prior,
    Settings,
    Statistics,
    poisson_se,
    posterior_draws,
    posterior_summary,
    run_abc,
)
from riskmodel.calibration.observation import DEFAULT_DATA, count_targets, read_targets
from riskmodel.errors import InputError
from riskmodel.incidents import read_incident_data
from riskmodel.overrides import Override
from riskmodel.scenario import packaged_file
from riskmodel.streams import derived_seed, replication_seed
from riskmodel.world import World, load_world, with_overrides

NOISE_RUNS = 8  # runs at the truth that give synthetic targets their standard errors
SYNTHETIC_TARGET_SEED = 5  # purpose of derived_seed: the synthetic data's own seeds (riskmodel.streams' 1-4 taken)
PARAMETERS = (
    Prior("public_persons", "abm.concealment.public_persons", 1e4, 1e7, log=True,
          why="sets the press-reported failures (news), which the press counts of the incident data measure"),
    Prior("base_probability", "abm.concealment.base_probability", 0.02, 0.9,
          why="sets the failures reported to the ministries beyond the public ones (reported)"),
    Prior("share_probability", "abm.information_sharing.share_probability", 0.05, 1.0,
          why="sets the incidents shared through CEPTOARs (shared)"),
)  # fmt: skip


def model_statistics(model: CriticalInfrastructureModel) -> Statistics:
    """The statistics of one finished run, per fiscal year."""
    critical = model.world.critical_sectors
    frame = model.yearly.get_model_vars_dataframe()
    out: Statistics = {}
    for _, row in frame.iterrows():
        year = int(row["fiscal_year"])
        out[f"news_{year}"] = float(row["news"])
        out[f"reported_{year}"] = float(np.asarray(row["reported_failures"])[critical].sum())
        out[f"shared_{year}"] = float(np.asarray(row["shared_incidents"])[critical].sum())
    return out


_WORLDS: dict[str | None, World] = {}  # each process compiles a scenario once


def replicate(scenario: str | None, values: Mapping[str, float], seed: int, years: int) -> Statistics:
    """One replication: the world with ``values`` (override path -> value) run ``years``
    fiscal years on ``seed``."""
    if scenario not in _WORLDS:
        _WORLDS[scenario] = load_world(scenario)
    world = with_overrides(_WORLDS[scenario], [Override(path, value) for path, value in values.items()])
    model = CriticalInfrastructureModel(world, None, fiscal_years=years, seed=seed)
    model.run_model()
    return model_statistics(model)


@dataclass
class AbmSimulator:
    """The agent model's statistics at given parameter values: the mean over the same
    replication seeds every call (``replication_seed(seed, r)``, as ``riskmodel abm``
    uses), replications spread over ``workers`` processes (1: in this process)."""

    scenario: str | None = None
    years: int = 3
    replications: int = 2
    seed: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        self.seeds = [replication_seed(self.seed, r) for r in range(self.replications)]
        self._pool: Executor | None = None

    def __call__(self, values: Mapping[str, float]) -> Statistics:
        return self.mean([dict(values)] * len(self.seeds), self.seeds)

    def mean(self, values: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> Statistics:
        """The mean statistics of one run per (values, seed) pair."""
        runs = self.each(values, seeds)
        return {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}

    def each(self, values: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> list[Statistics]:
        """The statistics of one run per (values, seed) pair, in order."""
        tasks = [(self.scenario, v, s, self.years) for v, s in zip(values, seeds, strict=True)]
        if self.workers > 1 and len(tasks) > 1:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers)
            return list(self._pool.map(replicate, *zip(*tasks, strict=True)))
        return [replicate(*task) for task in tasks]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def fiscal_years(scenario: str | None, years: int) -> list[int]:
    """The fiscal years a run of ``years`` covers."""
    start = load_world(scenario).scenario.horizon.start_fiscal_year
    return list(range(start, start + years))


def data_targets(data: str | Path | None, targets: str | Path | None, years: Sequence[int],
                 scenario: str | None = None) -> Observed:  # fmt: skip
    """The press counts of the incident data as ``news_<year>`` targets: for each simulated
    year inside a filter's complete years (the first such filter), the failures that passed
    it over its coverage, with the Poisson standard error of that estimate.

    An uncertain coverage ``c`` (a range): ``n E[1/c]``, standard error
    ``sqrt(max(n, 1) E[1/c^2] + n^2 Var(1/c))`` (Poisson noise scaled by ``1/c``, plus the
    coverage's spread; ``sqrt(max(n, 1)) / c`` for a known ``c``)."""
    spec = read_targets(targets)
    world = load_world(scenario)
    data_path = Path(data) if data is not None else packaged_file(DEFAULT_DATA)
    frame = read_incident_data(data_path, world.critical_ids, [f.id for f in spec.filters])
    counts = count_targets(frame, spec, world.critical_ids)
    values, se = {}, {}
    for year in years:
        for f in spec.filters:
            if f.first_year <= year <= f.last_year:
                n = float(counts[(counts["filter"] == f.id) & (counts["year"] == year)]["count"].sum())
                m1, m2 = f.inverse_coverage_moment(1), f.inverse_coverage_moment(2)
                values[f"news_{year}"] = n * m1
                se[f"news_{year}"] = math.hypot(poisson_se(n) * math.sqrt(m2), n * math.sqrt(max(m2 - m1**2, 0.0)))
                break
    if not values:
        windows = [f"{f.first_year}-{f.last_year}" for f in spec.filters]
        expected = f"a filter whose complete years overlap the simulated fiscal years {years[0]}-{years[-1]}"
        raise InputError(spec.path, "filters", windows, expected)
    return Observed(values, se)


def synthetic_targets(simulator: AbmSimulator, truth: Mapping[str, float], seed: int) -> Observed:
    """Every statistic from one run at ``truth`` on a seed no calibration replication uses
    (the data), with standard errors from ``NOISE_RUNS`` more runs at ``truth`` on seeds of
    their own (the model's counts are over-dispersed, so Poisson errors would be too small;
    at least 1, so that a statistic that is always 0 at the truth divides by something)."""
    seeds = [derived_seed(seed, SYNTHETIC_TARGET_SEED, i) for i in range(NOISE_RUNS + 1)]
    runs = simulator.each([truth] * len(seeds), seeds)
    values = runs[0]
    se = {key: max(float(np.std([run[key] for run in runs[1:]], ddof=1)), 1.0) for key in values}
    return Observed(values, se)


def check_truth(truth: Mapping[str, float]) -> dict[str, float]:
    """Known parameter values by name (``public_persons=...``) as override path -> value, inside their priors."""
    by_name = {p.name: p for p in PARAMETERS}
    out = {}
    for name, value in truth.items():
        if name not in by_name:
            raise InputError("(command line)", "--truth", name, f"one of {', '.join(by_name)}")
        p = by_name[name]
        if not (math.isfinite(value) and p.low <= value <= p.high):
            raise InputError("(command line)", f"--truth {name}", value, f"a value from {p.low:g} to {p.high:g}")
        out[p.path] = float(value)
    return out


HISTORY_FILE, CONFIG_FILE = "abm_history.db", "abm_calibration.json"
DRAWS_FILE, SUMMARY_FILE = "abm_posterior_draws.parquet", "abm_posterior.csv"
RESUMABLE = ("populations", "workers", "draws")  # settings a resumed calibration may change


def calibrate(folder: Path, config: dict, resume: bool, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate :data:`PARAMETERS` as ``config`` says (data, targets, truth, scenario, years,
    replications, particles, populations, seed, workers, draws), keeping pyABC's history in
    ``folder``; a resumed calibration must have the same settings but ``RESUMABLE``.
    Writes the summary, the draws file and the settings; returns the summary and the draws."""
    truth = check_truth(config["truth"]) if config["truth"] is not None else None
    folder.mkdir(parents=True, exist_ok=True)
    history_path, config_path = folder / HISTORY_FILE, folder / CONFIG_FILE
    if resume:
        if not history_path.exists() or not config_path.exists():
            raise InputError(folder, HISTORY_FILE, "(missing)", "a calibration to resume (run without --resume first)")
        before = json.loads(config_path.read_text())
        for key, value in config.items():
            if key not in RESUMABLE and before.get(key) != value:
                raise InputError(config_path, key, value, f"{before.get(key)!r}, as the calibration being resumed")
    elif history_path.exists():
        raise InputError(folder, HISTORY_FILE, "(exists)", "a new folder, or --resume to continue that calibration")
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    simulator = AbmSimulator(config["scenario"], config["years"], config["replications"], config["seed"],
                             config["workers"])  # fmt: skip
    try:
        if truth is not None:
            observed = synthetic_targets(simulator, truth, config["seed"])
        else:
            years = fiscal_years(config["scenario"], config["years"])
            observed = data_targets(config["data"], config["targets"], years, config["scenario"])
        settings = Settings(config["populations"], config["particles"], config["seed"], config["replications"])
        history = run_abc(list(PARAMETERS), simulator, observed, history_path, settings, progress)
    finally:
        simulator.close()
    summary = posterior_summary(history, list(PARAMETERS))
    summary["why"] = [p.why for p in PARAMETERS]
    draws = posterior_draws(history, list(PARAMETERS), config["draws"], config["seed"])
    summary.to_csv(folder / SUMMARY_FILE, index=False)
    pq.write_table(pa.Table.from_pandas(draws, preserve_index=False), folder / DRAWS_FILE)
    return summary, draws
