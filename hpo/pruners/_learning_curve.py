"""A pruner that extrapolates each trial's learning curve (after Domhan, Springenberg and
Hutter, "Speeding up automatic hyperparameter optimization of deep neural networks by
extrapolation of learning curves", IJCAI 2015).

Optuna has no such pruner, and NNI's curve-fitting assessor handles accuracy-like metrics only.
Domhan et al. combine eleven parametric curve families by MCMC; we keep their idea and make
it cheap enough to run at every epoch boundary:

* six saturating families (power law, exponential, log-linear, inverse log, MMF, Weibull) and
  a straight line (a curve that has not started to bend cannot be extrapolated yet) are
  fitted by least squares (Levenberg-Marquardt on parameters kept positive through exp), each
  in a few milliseconds;
* each family that fits adequately predicts the value at the last epoch with an uncertainty
  (delta method on the fit covariance), and the families are mixed with equal weights, so
  that disagreement between them counts as uncertainty;
* a curve that could not reach the best even at twice its fastest gain per epoch so far
  (learning curves have diminishing returns) gets no chance from the extrapolation; before
  a family can be fitted, this is all the curve itself tells;
* the study's finished curves (and its pruned ones, for the epochs they ran) say how much a
  curve still gained after the same epoch; this estimate is pooled with the extrapolation,
  which counts as ``fit_weight`` curves (our addition: a parametric family knows nothing of
  the study, while the study's own curves come from the same model and data);
* a trial is pruned when the pooled chance that its best value by the last epoch beats the
  best finished trial is below ``threshold``.

Minimised metrics are turned around, so every curve is "higher is better" (losses on a log
scale, see ``rising_scale``). The best value a noisy curve will report is the maximum of its
noisy values, above its trend (the finished trials' best values are such maxima too), so
that lift is added before comparing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

import hpo.records as records


@dataclass(frozen=True)
class _Family:
    name: str
    # f(x, *theta) with x the 1-based epoch; theta unconstrained (positivity through exp)
    function: Callable[..., np.ndarray]
    initial: Callable[[np.ndarray, np.ndarray], list[float]]
    # index of a slope parameter that must be significantly positive for the family to count
    rising_slope: int | None = None


def _span(y: np.ndarray) -> float:
    return float(max(np.ptp(y), 1e-3))


def _safe_exp(z):
    # Most calls get one fitted parameter, where np.clip's dispatch cost 4 µs of the 5 µs a
    # call took (profiled: 380,000 calls in one simulated study); math.exp on the clipped
    # float takes well under one.
    if isinstance(z, (float, np.floating)):
        return math.exp(min(max(float(z), -50.0), 50.0))
    return np.exp(np.clip(z, -50.0, 50.0))


FAMILIES: tuple[_Family, ...] = (
    # c - a * x^-alpha: the power law most learning curves follow
    _Family("pow3", lambda x, c, la, lalpha: c - _safe_exp(la) * x ** -_safe_exp(lalpha),
            lambda x, y: [y[-1] + 0.1 * _span(y), math.log(_span(y)), 0.0]),
    # c - a * exp(-b x): fast saturation
    _Family("exp3", lambda x, c, la, lb: c - _safe_exp(la) * _safe_exp(-_safe_exp(lb) * x),
            lambda x, y: [y[-1] + 0.05 * _span(y), math.log(_span(y)), math.log(0.3)]),
    # a + b log x: slow, unbounded growth (the optimistic family)
    _Family("loglinear", lambda x, a, b: a + b * np.log(x),
            lambda x, y: [float(y[0]), float((y[-1] - y[0]) / max(math.log(x[-1]), 1e-3))]),
    # a + b x: a curve that has not started to bend yet; its extrapolation is the optimistic
    # one, and it stays among the adequate fits only while the curve is still straight
    _Family("linear", lambda x, a, b: a + b * x,
            lambda x, y: [float(y[0]), float((y[-1] - y[0]) / max(x[-1] - 1, 1.0))], rising_slope=1),
    # c - a / log(x + 1)
    _Family("ilog2", lambda x, c, la: c - _safe_exp(la) / np.log(x + 1.0),
            lambda x, y: [y[-1] + 0.1 * _span(y), math.log(_span(y))]),
    # MMF: alpha - (alpha - beta) / (1 + (kappa x)^delta)
    _Family("mmf", lambda x, alpha, beta, lkappa, ldelta:
            alpha - (alpha - beta) / (1.0 + (_safe_exp(lkappa) * x) ** _safe_exp(ldelta)),
            lambda x, y: [y[-1] + 0.1 * _span(y), float(y[0]), math.log(0.5), 0.0]),
    # Weibull: alpha - (alpha - beta) exp(-(kappa x)^delta)
    _Family("weibull", lambda x, alpha, beta, lkappa, ldelta:
            alpha - (alpha - beta) * _safe_exp(-(_safe_exp(lkappa) * x) ** _safe_exp(ldelta)),
            lambda x, y: [y[-1] + 0.05 * _span(y), float(y[0]), math.log(0.3), 0.0]),
)


@dataclass(frozen=True)
class FamilyFit:
    name: str
    at_horizon: float  # the fitted trend's value at the horizon
    std: float  # uncertainty of the trend's value there (its parameters, not the noise)
    rmse: float  # residual error per degree of freedom, so extra parameters do not flatter


@dataclass(frozen=True)
class Extrapolation:
    """The families that fit the curve adequately, and the curve's noise level."""

    fits: tuple[FamilyFit, ...]
    noise: float
    epochs_left: int

    @property
    def mean(self) -> float:
        return float(np.mean([fit.at_horizon for fit in self.fits]))

    def chance_to_exceed(self, target: float) -> float:
        """P(best reported value by the horizon > target): an equal-weight mixture over the
        adequate families. The best of m more noisy epochs lies about sigma * sqrt(2 ln m)
        above the trend, give or take sigma * 1.28 / sqrt(2 ln m) (the maximum of m normals
        is Gumbel-like), so each family is a normal around its trend plus that lift, with
        the trend's and the maximum's uncertainty combined.

        Equal weights, not BIC weights: on a few epochs several families fit about equally
        well yet extrapolate differently, and BIC weights would trust one of them. With equal
        weights a trial is pruned only when every plausible family says it will lose.
        """
        spread = math.sqrt(2.0 * math.log(max(self.epochs_left, 2)))
        lift, maximum_std = self.noise * spread, self.noise * GUMBEL_STD / spread
        chances = []
        for fit in self.fits:
            std = math.sqrt(fit.std ** 2 + maximum_std ** 2)
            z = (target - (fit.at_horizon + lift)) / max(std, 1e-12)
            chances.append(0.5 * math.erfc(z / math.sqrt(2.0)))
        return float(np.mean(chances))


ADEQUATE_ERROR_RATIO = 2.5  # a family fits adequately within this factor of the best fit's error
# A family joins once the curve has this many more points than it has parameters: a 4-parameter
# family through 6 points fits any smooth start and extrapolates it wildly.
MIN_RESIDUAL_DOF = 3
# The delta method linearises the fit; far from the data (the last epoch seen from the fifth)
# it understates how far an asymptote can move, so its standard deviation is tripled. On 300
# random synthetic curves (power, exponential and inverse-log laws, noise 0.002-0.02, 40
# epochs) the extrapolation alone at 0.05 pruned 0 of 44 winners and 238 of 244 losers, at a
# median of 6 epochs; at 0.12 (what the default threshold means when the only finished trial
# says nothing) 2 of 44 winners and 242 of 244 losers.
PARAMETER_VAR_INFLATION = 9.0
GUMBEL_STD = math.pi / math.sqrt(6.0)  # the standard Gumbel distribution's standard deviation
# What the extrapolation says before any family can be fitted (the first epochs) about a curve
# within reach at its pace (``PACE_MARGIN``): nothing, so a coin toss. Weighted as
# ``fit_weight`` curves, it lets the study's own curves prune that early only once more than
# 4 * fit_weight of them (21 by default) say the trial cannot win.
UNINFORMED_CHANCE = 0.5
# On the rising scale learning curves mostly have diminishing returns, so a curve's fastest
# gain per epoch so far, kept up to the last epoch, bounds where it can end; twice that pace
# leaves room for noise and late starters. In five random-search digits-MLP studies (272
# curves) 9 curves seen at epoch 3 gained more than that by their end, and the 14 trials
# still behind at epoch 3 that went on to beat the best had an eightfold margin; at epoch 2,
# 1 of 15 such trials had not risen yet (its loss went up 6%), and the study's curves kept
# it. A curve that cannot reach the best even at twice its pace gets no chance from the
# extrapolation. This decides the first epochs, before a family can be fitted: a trial stuck
# near chance level (log-loss 2.3 against a best of 0.2) was otherwise kept by the coin toss
# for 5 epochs while the study had few curves.
PACE_MARGIN = 2.0


def rising_scale(minimize: bool, curves: list[list[float]]) -> Callable[[list[float]], list[float]]:
    """The map onto a scale where higher is better, one for all of ``curves``.

    A positive minimised metric (a loss) is modelled as -log(value): loss curves fall by
    factors (close to power laws), their noise grows with their level, and a loss cannot go
    below 0, which a straight negation would let the optimistic families ignore. Other
    minimised metrics are negated; maximised ones are kept as they are.
    """
    if not minimize:
        return list
    if all(v > 0 for curve in curves for v in curve):
        return lambda values: [-math.log(v) for v in values]
    return lambda values: [-v for v in values]


def extrapolate(curve: list[float] | np.ndarray, horizon: int,
                families: tuple[_Family, ...] = FAMILIES) -> Extrapolation | None:
    """Fit the curve families to ``curve`` (values at epochs 1..n, higher is better) and
    predict the value at epoch ``horizon``; None when no family fits."""
    from scipy.optimize import OptimizeWarning

    y = np.asarray(curve, dtype=np.float64)
    x = np.arange(1, len(y) + 1, dtype=np.float64)
    with warnings.catch_warnings():
        # exp and powers overflow far from the data; such fits are dropped as non-finite
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fits = [fit for family in families if (fit := _fit(family, x, y, horizon)) is not None]
    if not fits:
        return None
    best_rmse = min(fit.rmse for fit in fits)
    adequate = tuple(fit for fit in fits if fit.rmse <= ADEQUATE_ERROR_RATIO * best_rmse + 1e-9)
    noise = float(np.median([fit.rmse for fit in adequate]))
    return Extrapolation(fits=adequate, noise=noise, epochs_left=max(horizon - len(y), 0))


def _fit(family: _Family, x: np.ndarray, y: np.ndarray, horizon: int) -> FamilyFit | None:
    from scipy.optimize import curve_fit

    n, k = len(y), len(family.initial(x, y))
    if n < k + MIN_RESIDUAL_DOF:
        return None
    try:
        theta, covariance = curve_fit(family.function, x, y, p0=family.initial(x, y),
                                      method="lm", maxfev=200 * (k + 1))
    except (RuntimeError, ValueError, FloatingPointError):
        return None
    fitted = family.function(x, *theta)
    at_horizon = float(family.function(np.array([float(horizon)]), *theta)[0])
    if not (np.all(np.isfinite(fitted)) and math.isfinite(at_horizon)):
        return None
    if family.rising_slope is not None:
        slope, slope_var = theta[family.rising_slope], covariance[family.rising_slope, family.rising_slope]
        if not (np.isfinite(slope_var) and slope > 2.0 * math.sqrt(max(slope_var, 0.0))):
            return None  # a flat or falling straight line is no reason for hope
    sse = float(np.sum((y - fitted) ** 2))
    noise_var = max(sse / (n - k), 1e-12)
    # A parameter the curve does not pin down (a flat curve's rate) gives a huge or infinite
    # covariance; the trend cannot plausibly move more than twice the curve's own range.
    parameter_var = min(PARAMETER_VAR_INFLATION * _delta_method_variance(family, theta, covariance, horizon),
                        (2 * _span(y)) ** 2)
    return FamilyFit(family.name, at_horizon, math.sqrt(parameter_var), math.sqrt(noise_var))


def _delta_method_variance(family: _Family, theta: np.ndarray, covariance: np.ndarray,
                           horizon: int) -> float:
    """Var f(horizon; theta) from the fit's covariance (infinite when the fit has none)."""
    at = np.array([float(horizon)])
    base = float(family.function(at, *theta)[0])
    if not np.all(np.isfinite(covariance)):
        return math.inf
    gradient = np.empty(len(theta))
    for i in range(len(theta)):
        step = 1e-6 * max(1.0, abs(theta[i]))
        shifted = theta.copy()
        shifted[i] += step
        gradient[i] = (float(family.function(at, *shifted)[0]) - base) / step
    variance = float(gradient @ covariance @ gradient)
    return variance if math.isfinite(variance) and variance >= 0 else math.inf


def within_pace(curve: list[float], target: float, horizon: int, margin: float = PACE_MARGIN) -> bool:
    """Whether ``curve`` (higher is better) could reach ``target`` by epoch ``horizon`` at
    ``margin`` times its fastest gain per epoch so far (True while one point says nothing)."""
    if len(curve) < 2:
        return True
    pace = max(max(later - earlier for earlier, later in zip(curve, curve[1:])), 0.0)
    return max(curve) + margin * pace * (horizon - len(curve)) >= target


def chance_from_finished_curves(curve: list[float], target: float, finished: Sequence[list[float]],
                                pruned: Sequence[list[float]] = ()) -> tuple[int, int]:
    """How many of the study's other curves, had they stood where ``curve`` stands now, would
    have gone on to beat ``target``: (count, number of curves that tell).

    A finished curve's gain after epoch n is how much its best value rose after epoch n (0
    when it had stopped early by then: early stopping ends a curve that stopped improving).
    A pruned curve tells only while it is longer than n, and then with the gain it showed
    before it was stopped (a lower bound, but the pruner stopped it because little more was
    coming). All curves are on the rising scale of ``rising_scale``, so a loss's gains are
    factors.
    """
    n, current = len(curve), max(curve)
    count = total = 0
    for other in [*finished, *(other for other in pruned if len(other) > n)]:
        gain = max(other) - max(other[:n]) if len(other) > n else 0.0
        count += current + gain > target
        total += 1
    return count, total


class LearningCurvePruner(BasePruner):
    """Prune a trial whose extrapolated learning curve is unlikely to beat the best trial.

    Args:
        max_epochs: the epoch the curve is extrapolated to (the trial's last epoch).
        threshold: prune when P(trial beats the best finished trial) is below this.
        min_epochs: never prune before this many epochs are reported (a family also joins
            only once the curve has 3 more points than it has parameters; before that only a
            study with many curves can prune, see ``chance_to_beat``). The first epoch alone
            says too little; from the second, replaying five random-search studies (5,066
            epochs) pruned no more of the trials that beat the best than from the third.
        n_startup_trials: finished trials needed before anything is pruned.
        interval: check every ``interval`` epochs only.
        fit_weight: how many of the study's curves the trial's own extrapolation counts as.

    Works for maximised and minimised single-objective studies (for several objectives, Optuna
    does not support pruning). Steps are the 1-based epochs hpo reports.
    """

    def __init__(self, max_epochs: int, *, threshold: float = 0.1, min_epochs: int = 2,
                 n_startup_trials: int = 1, interval: int = 1, fit_weight: float = 5.0) -> None:
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be at least 1, got {max_epochs}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if min_epochs < 1 or interval < 1 or n_startup_trials < 0:
            raise ValueError("min_epochs and interval must be >= 1, n_startup_trials >= 0")
        if not fit_weight > 0:
            raise ValueError(f"fit_weight must be positive, got {fit_weight}")
        self.max_epochs = max_epochs
        self.threshold = threshold
        self.min_epochs = min_epochs
        self.n_startup_trials = n_startup_trials
        self.interval = interval
        self.fit_weight = fit_weight

    def prune(self, study: "optuna.Study", trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.min_epochs or step >= self.max_epochs:
            return False
        if (step - self.min_epochs) % self.interval:
            return False
        finished = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                    if t.value is not None and math.isfinite(t.value)]
        if len(finished) < max(1, self.n_startup_trials):
            return False
        values = [value for _, value in sorted(trial.intermediate_values.items())]
        if not values or any(not math.isfinite(v) for v in values):
            return False
        minimize = study.direction == StudyDirection.MINIMIZE
        # The best a finished trial *reported*: its value, unless its value is a mean over folds
        # whose first one alone was reported (hpo.trial._evaluations); then curves meet curves.
        best = (min if minimize else max)(_reported_best(t, minimize) for t in finished)
        finished_curves = _curves(finished)
        pruned_curves = _curves(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
        rise = rising_scale(minimize, [values, [best], *finished_curves, *pruned_curves])
        curve, target = rise(values), rise([best])[0]
        finished_risen, pruned_risen = [rise(c) for c in finished_curves], [rise(c) for c in pruned_curves]
        # The pooled chance is (count + fit_weight * p) / (total + fit_weight) with the
        # extrapolation's p in [0, 1]; when p = 0 and p = 1 agree, the curve fits (most of a
        # check's cost) cannot change the decision. In two simulated digits-MLP studies (seed
        # 7, 1 and 4 workers) this left 773 of 1,339 checks to fit, same decisions, 7.7 -> 5.7 s.
        count, total = chance_from_finished_curves(curve, target, finished_risen, pruned_risen)
        if max(curve) <= target:
            if (count + self.fit_weight) / (total + self.fit_weight) < self.threshold:
                return True
            if count / (total + self.fit_weight) >= self.threshold:
                return False
        return self.chance_to_beat(curve, target, finished_risen, pruned_risen) < self.threshold

    def chance_to_beat(self, curve: list[float], target: float, finished_curves: Sequence[list[float]],
                       pruned_curves: Sequence[list[float]] = ()) -> float:
        """P(the trial's best value by ``max_epochs`` beats ``target``), all on the rising scale.

        Two estimates, pooled: the curve's own extrapolation, and what the study's finished
        curves did after the same epoch (learning from the other curves of the same study,
        as freeze-thaw and Klein et al.'s LC-Net do). The extrapolation acts as a prior worth
        ``fit_weight`` finished trials, so with few finished trials it decides, and with many
        the study's own experience does. On 3,475 (trial, epoch) points of digits-MLP
        studies the extrapolation alone was far too hopeful (of 127 points it gave 10-30%,
        none went on to beat the best), while the finished curves' estimate was about right
        (10-20%: 10% did). Pruned trials' curves count too, for the epochs they ran. Before
        the families can be fitted the prior is a coin toss (``UNINFORMED_CHANCE``), so only
        a study with many curves can prune that early, and only a trial that none of them
        shows could still win; the exception is a curve too slow to reach the target at
        twice its pace (``within_pace``), whose prior is 0.
        """
        if max(curve) > target:  # already better than every finished trial
            return 1.0
        if not within_pace(curve, target, self.max_epochs):
            fit_chance = 0.0  # and no families to fit, which is most of a check's cost
        elif (prediction := extrapolate(curve, self.max_epochs)) is None:
            fit_chance = UNINFORMED_CHANCE
        else:
            fit_chance = prediction.chance_to_exceed(target)
        count, total = chance_from_finished_curves(curve, target, finished_curves, pruned_curves)
        return (count + self.fit_weight * fit_chance) / (total + self.fit_weight)


def _reported_best(trial: FrozenTrial, minimize: bool) -> float:
    reported = [v for v in trial.intermediate_values.values() if math.isfinite(v)]
    if not reported or records.FOLD_VALUES not in trial.user_attrs:
        return float(trial.value)  # type: ignore[arg-type]
    return (min if minimize else max)(reported)


def _curves(trials: list[FrozenTrial]) -> list[list[float]]:
    curves = [[v for _, v in sorted(t.intermediate_values.items())] for t in trials]
    return [c for c in curves if c and all(math.isfinite(v) for v in c)]
