"""The observation model: what a data set holds is what passed its reporting filter.

A data set is described by a targets file (TOML; the default is
``riskmodel/data/incidents_targets.toml``) of reporting filters, each with its provenance:

* ``kinds``: the threat kinds the filter reports (a list of IT failures holds no disasters);
* ``min_duration_hours``: the reporting threshold: shorter outages are never in the data,
  so reported durations are truncated there;
* ``min_operator_share``: only failures of an operator with at least this share of its
  sector's users are reportable (a press list names national leaders, not small operators);
* ``coverage``: the probability that a failure above the threshold is reported (press
  coverage, operator disclosure), the same for every such failure: a number (known), or a
  range ``[low, high]`` when it is not known (see below);
* ``first_year``, ``last_year``: the years in which the data set is a complete record of
  what passed the filter, so that counts in them are count targets. Rows outside the
  window still inform the severities.

Optional ``[[counts]]`` rows give aggregate count targets (``filter``, ``sector``,
``threat_kind``, ``year``, ``count``) that replace the count the incident rows give for
that cell, for data that are published only as counts.

A failure of threat ``h`` in sector ``s`` passes the filter with probability
``coverage * Q_s * P(duration >= min_duration_hours)``: ``Q_s`` the chance that the
failing operator is a major one (the engine picks a failure's operator by its share), the
last under the model's lognormal duration (the threat's median times the sector's outage
scale), so the expected reported count is
the model's rate times that probability: counts are corrected for under-reporting.
Coverage and the rate enter only as their product, so the data identify the reported
rate; the true rate is as uncertain as the stated coverage.

**An uncertain coverage.** ``coverage = [low, high]`` states that the coverage lies in
that range and no more: its prior is uniform on ``log coverage`` from ``log low`` to
``log high``. Log-uniform because the coverage divides the true rate, so the prior treats
ratios alike ("half of the failures reported or all of them" weighs as much as "a quarter
or half") as the rate's own log-normal prior does, and because a Beta would need a mean and
a concentration that no source gives; the range's ends are the whole statement. The rate
posterior integrates the coverage out (:mod:`riskmodel.calibration.frequency`): the data
cannot narrow it (they identify only the product), so its posterior stays near the prior
and the true rates carry its spread. Prior moments: ``E[1/c^k] = (low^-k - high^-k) /
(k log(high / low))``. ``[c, c]`` is the number ``c``. At most one filter of a targets file
may have a range (the grid gets one coverage dimension; two would multiply its size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from riskmodel.errors import InputError
from riskmodel.scenario import packaged_file, read_toml
from riskmodel.schema import THREAT_KINDS

DEFAULT_TARGETS = "incidents_targets.toml"
DEFAULT_DATA = "incidents_press_2003_2020.csv"


@dataclass(frozen=True)
class ReportingFilter:
    """One reporting filter of a data set (see the module's docstring)."""

    id: str
    kinds: tuple[str, ...]
    min_duration_hours: float
    min_operator_share: float
    coverage: tuple[float, float]  # prior range (low, high); low == high: known
    first_year: int
    last_year: int
    provenance: str

    @property
    def years(self) -> int:
        return self.last_year - self.first_year + 1

    @property
    def uncertain(self) -> bool:
        """The coverage is a range, not a number."""
        return self.coverage[0] < self.coverage[1]

    def inverse_coverage_moment(self, k: int) -> float:
        """``E[coverage^-k]`` under the coverage's prior (``c^-k`` for a known ``c``)."""
        low, high = self.coverage
        if not self.uncertain:
            return low**-k
        return (low**-k - high**-k) / (k * np.log(high / low))

    def coverage_text(self) -> str:
        """The coverage as the targets file states it."""
        low, high = self.coverage
        return f"{low:.0%}" if not self.uncertain else f"{low:.0%}-{high:.0%}, log-uniform"


@dataclass(frozen=True)
class Targets:
    """A data set's reporting filters and its aggregate count targets."""

    filters: tuple[ReportingFilter, ...]
    counts: pd.DataFrame  # filter, sector, threat_kind, year, count
    path: Path

    @property
    def filter_ids(self) -> list[str]:
        return [f.id for f in self.filters]

    def filter(self, name: str) -> ReportingFilter:
        return self.filters[self.filter_ids.index(name)]

    @property
    def uncertain(self) -> ReportingFilter | None:
        """The filter whose coverage is a range (at most one), if any."""
        return next((f for f in self.filters if f.uncertain), None)


def _field(path: Path, table: dict, where: str, name: str, kind: type | tuple[type, ...], expected: str):
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InputError(path, f"{where}.{name}", value if name in table else "(missing)", expected)
    return value


def _coverage(path: Path, table: dict, where: str) -> tuple[float, float]:
    """A filter's coverage: a probability, or a range ``[low, high]`` of them."""
    expected = "a probability above 0, at most 1, or a range [low, high] of them with low <= high"
    value = _field(path, table, where, "coverage", (int, float, list), expected)
    ends = value if isinstance(value, list) else [value, value]
    if len(ends) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in ends):
        raise InputError(path, f"{where}.coverage", value, expected)
    low, high = float(ends[0]), float(ends[1])
    if not 0 < low <= high <= 1:
        raise InputError(path, f"{where}.coverage", value, expected)
    return low, high


def read_targets(path: str | Path | None = None) -> Targets:
    """The targets file at ``path`` (default: the packaged one), checked."""
    path = Path(path) if path is not None else packaged_file(DEFAULT_TARGETS)
    data = read_toml(path)
    tables = data.get("filters")
    if not isinstance(tables, list) or not tables:
        raise InputError(path, "filters", tables if tables is not None else "(missing)", "one or more [[filters]]")
    filters = []
    for i, table in enumerate(tables):
        where = f"filters[{i}]"
        if not isinstance(table, dict):
            raise InputError(path, where, table, "a table")
        ident = _field(path, table, where, "id", str, "a name")
        kinds = _field(path, table, where, "kinds", list, f"a list of threat kinds ({', '.join(THREAT_KINDS)})")
        if not kinds or any(k not in THREAT_KINDS for k in kinds):
            raise InputError(path, f"{where}.kinds", kinds, f"a list of threat kinds ({', '.join(THREAT_KINDS)})")
        threshold = _field(path, table, where, "min_duration_hours", (int, float), "a number of hours above 0")
        share = _field(path, table, where, "min_operator_share", (int, float), "a share from 0 to 1")
        coverage = _coverage(path, table, where)
        if not 0 <= share <= 1:
            raise InputError(path, f"{where}.min_operator_share", share, "a share from 0 to 1")
        first = _field(path, table, where, "first_year", int, "a year")
        last = _field(path, table, where, "last_year", int, "a year")
        if not 0 < threshold <= 8760:
            raise InputError(path, f"{where}.min_duration_hours", threshold, "a number of hours above 0")
        if not 1950 <= first <= last <= 2200:
            raise InputError(path, f"{where}.last_year", last, f"a year from first_year ({first}) to 2200")
        provenance = "; ".join(str(table[k]) for k in ("source", "assumption") if str(table.get(k, "")).strip())
        if not provenance:
            raise InputError(path, where, "(no provenance)", 'source = "..." or assumption = "why"')
        filters.append(
            ReportingFilter(ident, tuple(kinds), float(threshold), float(share), coverage, first, last, provenance)
        )
    ids = [f.id for f in filters]
    if len(set(ids)) != len(ids):
        raise InputError(path, "filters", ids, "filters with different ids")
    ranged = [f.id for f in filters if f.uncertain]
    if len(ranged) > 1:
        raise InputError(path, "filters", ranged, "a coverage range in at most one filter (the others: a number)")
    rows = []
    for i, row in enumerate(data.get("counts", [])):
        where = f"counts[{i}]"
        name = _field(path, row, where, "filter", str, f"a filter: {', '.join(ids)}")
        if name not in ids:
            raise InputError(path, f"{where}.filter", name, f"a filter: {', '.join(ids)}")
        count = _field(path, row, where, "count", int, "a whole number of incidents")
        if count < 0:
            raise InputError(path, f"{where}.count", count, "a whole number of incidents, 0 or more")
        rows.append({"filter": name, "sector": _field(path, row, where, "sector", str, "a sector"),
                     "threat_kind": _field(path, row, where, "threat_kind", str, "a threat kind"),
                     "year": _field(path, row, where, "year", int, "a year"), "count": count})  # fmt: skip
    counts = pd.DataFrame(rows, columns=["filter", "sector", "threat_kind", "year", "count"])
    return Targets(tuple(filters), counts, path)


def count_targets(data: pd.DataFrame, targets: Targets, sectors: list[str]) -> pd.DataFrame:
    """Reported counts per filter, sector, threat kind and year inside each filter's window
    (zeros included): the incident rows' counts, replaced by the targets file's
    ``[[counts]]`` where it gives them."""
    cells = []
    for f in targets.filters:
        for sector in sectors:
            for kind in f.kinds:
                for year in range(f.first_year, f.last_year + 1):
                    cells.append((f.id, sector, kind, year))
    frame = pd.DataFrame(cells, columns=["filter", "sector", "threat_kind", "year"])
    observed = data.groupby(["observation", "sector", "threat_kind", "year"]).size().rename("count").reset_index()
    observed = observed.rename(columns={"observation": "filter"})
    frame = frame.merge(observed, how="left", on=["filter", "sector", "threat_kind", "year"])
    frame["count"] = frame["count"].fillna(0).astype(int)
    if not targets.counts.empty:
        keys = ["filter", "sector", "threat_kind", "year"]
        given = targets.counts.set_index(keys)["count"]
        frame = frame.set_index(keys)
        inside = given.index.isin(frame.index)
        if not inside.all():
            bad = given.index[~inside][0]
            raise InputError(targets.path, "counts", list(bad), "a (filter, sector, threat kind, year) inside the "
                             "filter's kinds and years, with a critical sector")  # fmt: skip
        frame.loc[given.index, "count"] = given.to_numpy()
        frame = frame.reset_index()
    return frame


def exceedance(mu: np.ndarray, sigma: np.ndarray, log_scale: np.ndarray, hours: float) -> np.ndarray:
    """``P(duration >= hours)`` for each (sector, threat): lognormal with log-median
    ``mu[h] + log_scale[s]`` and ``sigma[h]``, as the engine draws durations."""
    z = (np.log(hours) - mu[None, :] - log_scale[:, None]) / sigma[None, :]
    return norm.sf(z)


def major_share(shares: list[np.ndarray], groups: list[tuple[int, np.ndarray, float]], n_threats: int,
                minimum: float) -> np.ndarray:  # fmt: skip
    """``[sector, threat]``: the chance that a failure strikes at least ``minimum`` of the
    sector's users. A failure of a shared group (``groups``: sector position, share of each
    threat's failures striking it, its members' share of users) takes all its members down
    and passes on their summed share, as the predictive check counts it; any other strikes
    one operator, in proportion to its share (``shares[s]``, summing to 1)."""
    single = np.array([share[share >= minimum].sum() for share in shares])
    grouped = np.zeros((len(shares), n_threats))
    passing = np.zeros((len(shares), n_threats))
    for s, share, members in groups:
        grouped[s] += share
        passing[s] += share * (members >= minimum)
    return single[:, None] * (1.0 - grouped) + passing


def reportable_rates(
    rate: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    log_scale: np.ndarray,
    shares: list[np.ndarray],
    groups: list[tuple[int, np.ndarray, float]],
    kind_of: np.ndarray,
    f: ReportingFilter,
) -> dict[str, np.ndarray]:
    """Expected failures a year that filter ``f`` could report, per kind of ``f``, for each
    sector: those above its threshold at a major operator, before the coverage coin (the
    reported rate is this times the coverage, which the rate posterior integrates over).

    ``rate[s, h]``: the model's failures a year (no measures); ``kind_of[h]``: the threat's
    kind index. A failure is reportable with probability ``Q_sh * P(D >= threshold)``
    (:func:`major_share`; ``groups`` as there).
    """
    passing = rate * exceedance(mu, sigma, log_scale, f.min_duration_hours)
    passing *= major_share(shares, groups, rate.shape[1], f.min_operator_share)
    return {kind: passing[:, kind_of == THREAT_KINDS.index(kind)].sum(axis=1) for kind in f.kinds}
