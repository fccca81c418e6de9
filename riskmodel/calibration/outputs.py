"""Declared schemas of the calibration's tables (units and meaning in each field's metadata)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from riskmodel.outputs import described

FITTED_SCHEMA = pa.schema(
    [
        described("parameter", pa.string(), "duration_shift (delta: added to the log median durations of the "
                  "kind's threats), duration_spread (kappa: factor on their log-sds), exposure_factor (factor on "
                  "a sector's exposure to the kind), common_factor (the kind's factor shared by the sectors, mu) or "
                  "coverage (the share of its reportable failures that the targets' filter with a coverage range "
                  "reports; integrated out of the factors, prior-driven: the data identify only the reported rate)"),
        described("kind", pa.string(), "threat kind, empty for the coverage"),
        described("sector", pa.string(), "sector, empty for a kind's parameter"),
        described("path", pa.string(), "override path the parameter changes (empty: none of its own)"),
        described("data", pa.int64(), "reported durations (duration_*) or reported failures (factors, coverage) "
                  "it rests on"),
        described("estimate", pa.float64(), "maximum-likelihood estimate (duration_*), posterior mean (factors, "
                  "coverage)"),
        described("low", pa.float64(), "lower end of the 90% interval: profile likelihood (duration_*), "
                  "posterior (factors, coverage); -inf/0 where the data set no bound"),
        described("high", pa.float64(), "upper end of the 90% interval (inf where the data set no bound)"),
        described("posterior_mean", pa.float64(), "posterior mean (the calibrated scenario's value comes from it)"),
        described("posterior_low", pa.float64(), "5% posterior quantile"),
        described("posterior_high", pa.float64(), "95% posterior quantile"),
        described("prior_low", pa.float64(), "5% prior quantile"),
        described("prior_high", pa.float64(), "95% prior quantile"),
        described("width_ratio", pa.float64(), "posterior 90% width over the prior's (log scale for factors, "
                  "coverage and kappa): near 1 the prior decides, near 0 the data"),
        described("identified", pa.bool_(), "the data narrow the prior's 90% interval by more than half"),
    ]
)  # fmt: skip

CHECK_SCHEMA = pa.schema(
    [
        described("date", pa.string(), "incident date as reported"),
        described("sector", pa.string(), "sector"),
        described("event", pa.string(), "incident, as the data name it"),
        described("magnitude", pa.string(), "duration_hours, persons_affected, or persons_affected | duration "
                  "(persons among reported failures of a like duration)"),
        described("reported", pa.string(), "the reported figure or range"),
        described("p_below", pa.float64(), "predictive probability that a reported failure of the sector is at "
                  "most the figure (the range's upper end)"),
        described("p_above", pa.float64(), "predictive probability that it is at least the figure (the range's "
                  "lower end)"),
        described("plausible", pa.bool_(), "inside the central 90% predictive region: both probabilities >= 5%"),
    ]
)  # fmt: skip

RECOVERY_SCHEMA = pa.schema(
    [
        described("parameter", pa.string(), "parameter, as in the fitted table"),
        described("kind", pa.string(), "threat kind, empty for the coverage"),
        described("sector", pa.string(), "sector, empty for a kind's parameter"),
        described("truth", pa.float64(), "value the synthetic data sets were drawn with (mean over data sets for "
                  "sector factors drawn anew each time)"),
        described("data_sets", pa.int64(), "synthetic data sets fitted"),
        described("coverage", pa.float64(), "share of data sets whose nominal 90% interval covers the truth"),
        described("coverage_se", pa.float64(), "binomial standard error of the coverage, sqrt(0.9 x 0.1 / n)"),
        described("median_width", pa.float64(), "median width of the interval"),
        described("median_estimate", pa.float64(), "median estimate"),
    ]
)  # fmt: skip


def conform(frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """``frame`` with exactly the schema's columns, in its order (a missing one is a bug)."""
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False).to_pandas()


def draws_schema(paths: list[str]) -> pa.Schema:
    """The posterior draws file: a draw number, then one column per override path."""
    fields = [described("draw", pa.int64(), "draw number, 0-based")]
    fields += [described(path, pa.float64(), "value set by this override path in this draw") for path in paths]
    return pa.schema(fields)
