"""The operators' yearly investment: learn from the year's failures, lose worn-out
measures, comply with the mandatory measures that pay, drop what no longer pays, adopt
what pays by their own objective within their budgets; and the spin-up before the first
fiscal year that gives them the measures they start with.

A mixin of :class:`~riskmodel.abm.model.CriticalInfrastructureModel`.
"""

from __future__ import annotations

import numpy as np

from riskmodel.abm.beliefs import shared_evidence
from riskmodel.abm.choices import Changes, evaluate_changes
from riskmodel.abm.objective import OperatorObjective
from riskmodel.abm.streams import SETUP, SPINUP, stream

FIXED_POINT_TOLERANCE = 1e-9  # the spin-up's last year: largest relative move of a rate that counts as none
FIXED_POINT_CAP = 50  # rounds of the spin-up's last year at most (the packaged scenario needs 4)


class Investment:
    """The operators' investment round at a fiscal year's end; mixed into the model."""

    def decision_rates(self) -> np.ndarray:
        """``[operator, threat]`` failures a year before measures that operators decide on:
        the rates they believe (their public rates times what they learnt), or the true
        rates and the attackers' current aim when beliefs are off."""
        if not self.settings.operators.beliefs.enabled:
            return self.operator_rates()
        return self.public_rates() * self.beliefs.multiplier()

    def objective(self) -> OperatorObjective:
        """The operators' objective with the standards and public rates of now."""
        settings = self.settings
        return OperatorObjective(
            self.world, settings.operators, self.rules, self.mandatory, self.penalty_share, self.public_rates(),
            self.press,
        )  # fmt: skip

    def _invest(self) -> None:
        """A fiscal year's end: operators learn from the year, then decide."""
        self._learn()
        self._decide(self.rng)
        self._apply_operator_factors(self.day)
        self._update_standing_figures()

    def _learn(self) -> None:
        """Update the beliefs with the year's own failures and, for CEPTOAR members, the
        incidents shared in their sector; the year's counts start again."""
        if self.settings.operators.beliefs.enabled:
            expected = self.public_rates() * self.measure_survive()
            ops = self.world.operators
            shared, exposure = shared_evidence(ops.sector, self.member, self.shared_counts, expected)
            self.beliefs.observe(self.op_threat_failures, expected, shared, exposure)
        self.op_threat_failures[:] = 0

    def _decide(self, rng: np.random.Generator) -> None:
        """Measures wear out; operators comply, drop what does not pay, and adopt what pays.

        The draws are a fixed number a round (lapses, compliance, adoption lags), whatever
        is decided. Changes are valued for every operator once; after that only the
        operators whose measures changed are valued again, since nothing else moves
        another's values.
        """
        world = self.world
        n_ops, n_options = len(world.operators), world.catalogue.n_options
        wear = rng.random((n_ops, n_options))
        self.compliance_draws = rng.random((n_ops, len(world.catalogue.measure_ids)))
        self.adoption_draws = rng.random((n_ops, n_options))
        self._wear(wear)
        objective = self.objective()
        rates = self.decision_rates()
        options = np.arange(n_options)

        def value(rows: np.ndarray) -> Changes:
            return evaluate_changes(world, self.values, rates, self.in_place, rows, options, objective)

        changes = value(np.arange(n_ops))

        def decide(method: str, flagged: np.ndarray) -> bool:
            """Let the flagged operators decide; value again those whose measures changed."""
            concerned = self.operators.select(lambda agent: flagged[agent.index])
            moved = concerned.map(method, changes)
            movers = np.array([a.index for a, m in zip(concerned, moved, strict=True) if m], dtype=np.int64)
            if movers.size:
                fresh = value(movers)
                for name in ("adds", "loss_removed", "cost_added"):
                    getattr(changes, name)[:, movers] = getattr(fresh, name)
            return bool(movers.size)

        decide("comply", (self.mandatory[world.operators.sector] & ~self.held()).any(axis=1))
        # a voluntary measure that now costs more than it removes for the operator
        unpaid = ~changes.adds & (changes.cost_added < 0) & (changes.loss_removed > changes.cost_added)
        decide("reconsider", unpaid.any(axis=0))
        for _ in range(len(world.catalogue.measure_ids)):
            self.adoptable_now = self.adoptable(changes)  # an operator's column moves only when it does
            if not decide("adopt", self.adoptable_now.any(axis=0)):
                break
        self._set_protection()

    def _wear(self, draws: np.ndarray) -> None:
        """Measures lapse (``draws[operator, option]`` uniform), each with probability
        ``1 - 0.5 ** (1 / half_life_years)``; those that need a lapsed one lapse too."""
        fatigue = self.settings.fatigue
        if fatigue.enabled:
            self.in_place &= draws >= 1.0 - 0.5 ** (1.0 / fatigue.half_life_years)
            self._drop_orphans()

    def _drop_orphans(self) -> None:
        """A measure whose prerequisite lapsed lapses too (the catalogue's rules hold)."""
        requires = self.rules.requires
        for _ in range(len(self.world.catalogue.measure_ids)):
            held = self.held()
            orphan = (requires[None, :, :] & ~held[:, None, :]).any(axis=2) & held  # [operator, measure]
            if not orphan.any():
                return
            self.in_place &= ~(orphan[:, self.rules.option_measure])

    def adoptable(self, changes: Changes, operator: int | None = None) -> np.ndarray:
        """``[option, operator]`` (or ``[option]`` for one ``operator``): the options an
        operator would adopt by its own cost-benefit and can put in place this year -
        recommended for its sector, not in place, affordable within its budget, removing
        at least ``adoption_ratio`` times their cost of its own yearly cost, and not held
        up (a decided measure works within the year with probability ``adoption_rate``).
        (The catalogue's rules are checked when it adopts.)"""
        ops = self.world.operators
        spec = self.settings.operators
        rows = slice(None) if operator is None else operator
        spent = np.sum(self.option_cost[rows] * self.in_place[rows], axis=-1)
        room = spec.budget_revenue_share * ops.revenue[rows] - spent
        gain, cost = changes.loss_removed[:, rows], changes.cost_added[:, rows]
        recommended = self.recommended[ops.sector[rows]][..., self.rules.option_measure[changes.options]].T
        ready = (self.adoption_draws[rows][..., changes.options] < spec.adoption_rate).T
        return (
            changes.adds[:, rows]
            & (cost > 0)
            & (cost <= room)
            & (gain >= spec.adoption_ratio * cost)
            & recommended
            & ready
        )

    def _put_in_place(self, given: np.ndarray) -> None:
        """Put ``given[operator, option]`` in place on top of the measures there: other
        levels of its measures, measures they exclude and measures that needed those go."""
        rules = self.rules
        held = rules.measures_held(given)
        excluded = (held.astype(np.int64) @ rules.excludes.astype(np.int64)) > 0
        self.in_place &= ~(held | excluded)[:, rules.option_measure]
        self.in_place |= given
        self._drop_orphans()
        self._set_protection()

    def _spin_up(self) -> None:
        """The measures in place at the first fiscal year: operators decide through the
        spin-up years before it at their public rates, nothing learnt yet. After each year
        the rates before measures (``baseline``, over the scenario's) are set so that the
        expected failures per sector and threat under the measures then in place equal
        the scenario's (the first year's incident level): more risk before measures makes
        more measures pay the next year.

        The last year is iterated to a fixed point: its decisions are taken again, from the
        same measures and with the same draws, under the rates its own rescaling gave,
        until the rescaling moves no rate by more than :data:`FIXED_POINT_TOLERANCE`
        (relative). The measures in place at the first fiscal year are then those the
        operators choose at the rates that make them land on the scenario's incident level:
        deciding once more at those rates changes nothing. (Without the iteration they were
        chosen at the year's starting rates, which the rescaling then moved by 14-51% for
        the sector and threat that moved most, seeds 0-2.) The decisions are a step function
        of the rates, so the iteration ends when the same measures come back: 4 rounds on
        the packaged scenario (seeds 0-2). ``spin_up_rounds`` says how many it took and
        ``spin_up_converged`` whether it got there within :data:`FIXED_POINT_CAP` rounds."""
        sector = self.world.operators.sector
        level = self.sector_sums(self.public_rates() / self.baseline[sector])  # the scenario's
        rng = stream(self.seed, SETUP, SPINUP)

        def rescale() -> float:
            """Set the rates that land on ``level`` under the measures in place; the largest
            relative change of a rate."""
            before = self.sector_sums(self.public_rates() / self.baseline[sector] * self.measure_survive())
            baseline = np.divide(level, before, out=np.ones_like(level), where=before > 0)
            change = float(np.max(np.abs(baseline - self.baseline) / self.baseline))
            self.baseline = baseline
            self._set_rates()
            return change

        years = self.settings.operators.start.years
        for _ in range(years - 1):
            self._decide(rng)
            rescale()
        if years == 0:
            return
        start, draws = self.in_place.copy(), rng.bit_generator.state
        change = np.inf
        while change > FIXED_POINT_TOLERANCE and self.spin_up_rounds < FIXED_POINT_CAP:
            self.in_place = start.copy()
            rng.bit_generator.state = draws
            self._decide(rng)
            change = rescale()
            self.spin_up_rounds += 1
        self.spin_up_converged = change <= FIXED_POINT_TOLERANCE
