"""Ministries and the cabinet centre: the PDCA cycle on safety standards.

A ministry supervises sectors. It sees only the incidents operators report, so its
picture of risk is as biased as concealment makes it: the more is hidden, the lower its
estimate of a threat's rate, and the later a measure against it looks worth mandating.
It corrects the reports for the measures it knows are in place (its own standards, and
what operators report having), so that a measure that works is not judged by the few
failures it lets through, and for the reporting rate it estimates from the hidden
incidents found out (their number over the chance of finding one out is the number
hidden). Once a fiscal year it tests each sector's serious failures against the Basic
Plan's target (:mod:`riskmodel.abm.targets`): an exact conditional test of the year's
count against the reference year's, both over-dispersed Poisson with the threats'
dispersion, at the scenario's false-alarm rate, so that noise alone misses a target only
that often and more reports under immunity do not read as failure. Where the target is
missed it makes mandatory, within its yearly capacity, the recommended measures whose
estimated social loss removed (every layer, from its reported failure rates) best covers
the sector's compliance cost and the state's cost of enforcing a standard, and wherever
compliance costs more than the risk a mandatory measure removes, it moves that measure
back to recommended. It sets up its sectors' CEPTOARs when their time comes, and their
operators decide each year whether to be members.

The cabinet centre (NISC) is the coordinating kind: it also sets the Basic Plan's targets
from the indicators of the year before each plan, runs the cross-sector exercises and the
awareness campaigns, and decides immunity for reporting and the CEPTOAR Council.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
from scipy import stats

from riskmodel.abm.choices import SOCIETY, Changes, evaluate_changes

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


QUANTILES = 64  # Beta quantiles the over-dispersed test integrates over


class Ministry(mesa.Agent):
    """A ministry supervising one or more critical sectors."""

    model: CriticalInfrastructureModel

    def __init__(self, model: CriticalInfrastructureModel, ministry_id: str, sectors: list[int]):
        super().__init__(model)
        self.ministry_id = ministry_id
        self.sectors = sectors
        # failures a year by sector and threat before measures, as reports let it see them
        self.estimated_rate = np.full((model.world.n_sectors, len(model.world.threat_ids)), np.nan)
        self.indicator: dict[int, float] = {}
        self.missed: dict[int, bool] = {}
        self.p_value: dict[int, float] = {}
        self.mandates_left = 0

    @property
    def mandatory_measures(self) -> int:
        return int(self.model.mandatory[self.sectors].sum())

    @property
    def recommended_measures(self) -> int:
        return int((self.model.recommended[self.sectors] & ~self.model.mandatory[self.sectors]).sum())

    @property
    def targets_missed(self) -> int:
        return sum(self.missed.values())

    def plan_year(self, fiscal_year: int) -> None:
        """At the start of a fiscal year: set up the CEPTOARs whose time has come; the
        operators of the working ones decide on membership."""
        for sector in self.sectors:
            if self.model.ceptoar_start.get(sector) == fiscal_year:
                self.model.establish_ceptoar(sector)
            elif self.model.ceptoar_active[sector]:
                self.model.decide_membership(sector)

    def estimate_reporting(self) -> None:
        """The share of its sectors' non-public IT failures reported, from what it can
        observe: the reported ones and the hidden ones found out, over the chance of
        finding one out (pooled over its sectors, with the scenario's prior worth
        ``prior_weight`` incidents). Without any chance of finding out, the prior."""
        model = self.model
        pdca = model.settings.pdca
        detection = model.detection_probability
        reported = float(model.fy_nonpublic_reported[self.sectors].sum())
        if detection <= 0.0:
            estimate = pdca.reporting_prior
        else:
            hidden = float(model.fy_found_out[self.sectors].sum()) / detection
            weight = pdca.prior_weight
            estimate = (reported + weight * pdca.reporting_prior) / (reported + hidden + weight) if (
                reported + hidden + weight > 0) else pdca.reporting_prior  # fmt: skip
        model.reporting_estimate[self.sectors] = min(max(estimate, 1e-6), 1.0)

    def review(self, fiscal_year: int) -> None:
        """The yearly CHECK and ACT: indicators against targets, then the standards."""
        model = self.model
        pdca = model.settings.pdca
        seen = self._seen_rates()
        self.estimate_reporting()
        exposure = model.serious_exposure()
        for sector in self.sectors:
            self.indicator[sector] = float(model.fy_serious[sector]) / exposure[sector] / model.sector_size[sector]
            known = self.estimated_rate[sector]
            self.estimated_rate[sector] = np.where(
                np.isnan(known), seen[sector], pdca.memory * seen[sector] + (1.0 - pdca.memory) * known
            )
            self.p_value[sector] = self._test(sector, fiscal_year, exposure[sector])
            self.missed[sector] = self.p_value[sector] < pdca.false_alarm_rate
        if not pdca.enabled or not self.sectors:
            return
        self.mandates_left = pdca.mandate_capacity
        rows = np.flatnonzero(np.isin(model.world.operators.sector, self.sectors))
        options = np.arange(model.world.catalogue.n_options)
        changes = evaluate_changes(
            model.world, model.values, self._estimated_rates(), model.in_place, rows, options, SOCIETY
        )
        held = model.held(rows)
        sector_of_row = model.world.operators.sector[rows]
        for sector in self.sectors:
            in_sector = sector_of_row == sector
            self._demote(sector, changes, held, in_sector)
            if self.missed[sector]:
                self._mandate(sector, changes, held, in_sector)

    def _test(self, sector: int, fiscal_year: int, exposure: float) -> float:
        """The mid-p value of the year's serious failures against the target, one-sided.

        Under the target the year's true rate is ``ratio`` times the reference year's;
        the reported counts are Poisson with means the true rates times the estimated
        reporting (``exposure``) and yearly Gamma multipliers of shape ``1 / dispersion``
        (the threats' over-dispersion, weighted by the sector's reported mix). Given the
        two counts' sum ``n``, the year's count is binomial with success probability
        ``rho B / (1 - B + rho B)``, ``rho = ratio * exposure / reference exposure`` and
        ``B`` Beta(shape, shape): integrated over ``B`` at its quantiles. 1 (no miss)
        before the sector has a target."""
        model = self.model
        plans = model.targets
        if fiscal_year not in plans.ratio:
            return 1.0
        reference = plans.reference[fiscal_year]
        k0, k1 = float(reference.count[sector]), float(model.fy_serious[sector])
        n = int(k0 + k1)
        if n == 0:
            return 1.0
        rho = plans.ratio[fiscal_year][sector] * exposure / reference.exposure[sector]
        mix = model.fy_reported[sector] * ~model.public_threats
        dispersion = float(np.sum(model.world.threats.dispersion * mix**2) / max(mix.sum(), 1) ** 2)
        if dispersion > 0:
            shape = 1.0 / dispersion
            b = stats.beta.ppf((np.arange(QUANTILES) + 0.5) / QUANTILES, shape, shape)
        else:
            b = np.array([0.5])
        p = rho * b / (1.0 - b + rho * b)
        mid = stats.binom.sf(k1, n, p) + 0.5 * stats.binom.pmf(k1, n, p)
        return float(mid.mean())

    def _seen_rates(self) -> np.ndarray:
        """This year's reported failures per sector and threat, brought back to before the
        measures in place (the ministry knows its standards and who complies): reported
        failures over the share of failures the measures let through."""
        model = self.model
        rate = model.values.rate
        through = model.sector_sums(rate * model.measure_survive())
        expected = model.sector_sums(rate)
        let_through = np.divide(through, expected, out=np.ones_like(through), where=expected > 0)
        return np.divide(model.fy_reported, let_through, out=np.zeros_like(through), where=let_through > 0)

    def _estimated_rates(self) -> np.ndarray:
        """Failures a year per operator and threat as the ministry sees them: its estimate of
        each sector's rate, spread over the operators as the hazard spreads them."""
        model = self.model
        rate = model.values.rate
        sector = model.world.operators.sector
        totals = model.sector_sums(rate)[sector]
        share = np.divide(rate, totals, out=np.zeros_like(rate), where=totals > 0)
        estimate = np.nan_to_num(self.estimated_rate)[sector]
        return share * estimate * np.isin(sector, self.sectors)[:, None]

    def _mandate(self, sector: int, changes: Changes, held: np.ndarray, in_sector: np.ndarray) -> None:
        """Make mandatory the recommended measures whose estimated social loss removed, at
        the sector's operators that lack them, best covers what their compliance costs."""
        model = self.model
        pdca = model.settings.pdca
        rules = model.rules
        has = model.mandatory[sector]
        candidates, ratios = [], []
        for m in np.flatnonzero(model.recommended[sector] & ~has):
            if (rules.requires[m] & ~has).any() or (rules.excludes[m] & has).any():
                continue
            lacking = in_sector & ~held[:, m]
            first = rules.first_option[m]
            gain = changes.loss_removed[first, lacking].sum()
            cost = changes.cost_added[first, lacking].sum()
            if gain > 0 and gain >= pdca.mandate_ratio * (cost + pdca.mandate_cost):
                candidates.append(int(m))
                ratios.append(gain / cost if cost > 0 else np.inf)
        chosen: list[int] = []
        for k in np.argsort(-np.array(ratios), kind="stable"):
            if len(chosen) == min(pdca.max_new_mandatory, self.mandates_left):
                break
            if not rules.excludes[candidates[k], chosen].any():
                chosen.append(candidates[k])
        self.mandates_left -= len(chosen)
        model.mandatory[sector, chosen] = True

    def _demote(self, sector: int, changes: Changes, held: np.ndarray, in_sector: np.ndarray) -> None:
        """Move back to recommended a mandatory measure whose compliance costs more than
        ``1 / demote_ratio`` times the estimated social loss it removes, over all the
        sector's operators: those that have it (what dropping it would add) and those that
        lack it (what adding it would remove)."""
        model = self.model
        pdca = model.settings.pdca
        rules = model.rules
        # a measure another mandatory measure requires stays as long as that one does
        needed = rules.requires[model.mandatory[sector]].any(axis=0)
        for m in np.flatnonzero(model.mandatory[sector] & ~needed):
            having, lacking = in_sector & held[:, m], in_sector & ~held[:, m]
            levels = rules.option_measure[changes.options] == m
            at_level = ~changes.adds[levels] & having  # the level each operator has
            removed = -changes.loss_removed[levels][at_level].sum()
            cost = -changes.cost_added[levels][at_level].sum()
            first = rules.first_option[m]
            removed += changes.loss_removed[first, lacking].sum()
            cost += changes.cost_added[first, lacking].sum()
            cost += pdca.mandate_cost
            if cost > 0 and removed < pdca.demote_ratio * cost:
                model.mandatory[sector, m] = False


class CabinetCentre(Ministry):
    """The cabinet centre (NISC): a ministry for its own sectors that also coordinates."""

    def plan_year(self, fiscal_year: int) -> None:
        """At the start of a fiscal year: immunity and the Council, exercises, awareness."""
        super().plan_year(fiscal_year)
        model = self.model
        abm = model.settings
        immunity = abm.concealment.immunity_from_fiscal_year
        model.set_immunity(immunity is not None and fiscal_year >= immunity)
        council = abm.information_sharing.council_from_fiscal_year
        model.council = council is not None and fiscal_year >= council
        exercises = abm.exercises
        if exercises.enabled and fiscal_year >= exercises.from_fiscal_year:
            self._invite_to_exercise(fiscal_year)
        awareness = abm.awareness
        anxious = model.year_figures.get("anxious_share", model.anxious_share)
        due = awareness.enabled and fiscal_year >= awareness.from_fiscal_year
        campaign = due and anxious > awareness.anxiety_threshold
        model.campaign(campaign)
        model.campaigning = campaign
        if campaign:
            model.fy_state_cost += awareness.cost_per_campaign

    def _invite_to_exercise(self, fiscal_year: int) -> None:
        """The largest operators not exercised within the effect period are invited; one
        takes part if the exercise is worth its staff time to it: the share of its own
        expected outage losses the exercise cuts, over the effect years as it fades."""
        model = self.model
        exercises = model.settings.exercises
        free = np.flatnonzero(model.exercised_until < fiscal_year)
        largest = free[np.argsort(-model.world.operators.revenue[free], kind="stable")]
        invited = largest[: exercises.participants_per_year]
        fading = (1.0 - exercises.effect_decay) ** np.arange(exercises.effect_years)
        worth = exercises.duration_cut * fading.sum() * model.own_outage_loss(invited)
        chosen = invited[worth >= exercises.cost_per_participant]
        model.exercised_until[chosen] = fiscal_year + exercises.effect_years - 1
        model.exercised_in[chosen] = fiscal_year
        model.fy_exercise_cost += exercises.cost_per_participant * chosen.size

    def evaluate(self, fiscal_year: int) -> None:
        """At a fiscal year's end, after the ministries' review: fix the next plan's
        targets when its baseline year ends, and let the accident-investigation body (if
        any) investigate the year's largest reported IT failures."""
        model = self.model
        missed = np.zeros(model.world.n_sectors, dtype=bool)
        for ministry in model.ministries:
            for sector, flag in ministry.missed.items():
                missed[sector] = flag
        model.targets.update(fiscal_year, model, missed)
        body = model.settings.investigation
        if body is not None and body.enabled and fiscal_year >= body.from_fiscal_year:
            largest = sorted(model.fy_public_failures, reverse=True)[: body.investigations_per_year]
            for _, threat in largest:
                model.lessons[threat] += 1
            model.fy_state_cost += body.cost_per_investigation * len(largest)
