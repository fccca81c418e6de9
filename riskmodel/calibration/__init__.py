"""Calibration of the Monte Carlo model's frequencies and severities to incident data.

The data flow, one module each: :mod:`riskmodel.incidents` reads and checks an incident table;
:mod:`.observation` says what a data set's reporting filter lets through (and so what the
model predicts a data set holds); :mod:`.severity` fits outage durations by maximum
likelihood (truncated at the reporting threshold) with profile-likelihood intervals;
:mod:`.frequency` gives Gamma-Poisson posteriors of the failure rates per sector and
threat kind, partially pooled across sectors; :mod:`.fit` puts them together into fitted
values, posterior draws (one column per override path) and a calibrated scenario;
:mod:`.check` asks whether each incident is a plausible draw of the calibrated model;
:mod:`.recovery` fits synthetic data sets drawn from known parameters. The agent model's
behavioural parameters are calibrated by ABC-SMC: :mod:`.abc` (pyABC: priors, distance,
stopping rule, resumable history, draws) and :mod:`.agents` (the agent model as simulator,
its statistics and targets).
"""
