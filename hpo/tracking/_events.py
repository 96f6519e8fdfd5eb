"""What a tracker is told, and the protocol every tracker follows (:mod:`hpo.tracking`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import hpo.records as records


@dataclasses.dataclass(frozen=True)
class TrialStart:
    number: int
    params: dict[str, Any]
    run: str  # the run it writes into: trial-<root of its chain>, or member-<k> in PBT
    links: dict[str, int]  # retry_of / continues / pbt_parent: the trial it goes on from
    replaced_reason: str | None = None  # a retry: why the trial it retries died


@dataclasses.dataclass(frozen=True)
class TrialEnd:
    number: int
    state: str  # COMPLETE, PRUNED or FAIL, as storage holds it
    value: float | None
    last_step: int | None
    run: str
    fail_reason: str | None = None
    paused_at: int | None = None

    def describe(self) -> str:
        if self.state == "FAIL":
            return f"FAIL: {self.fail_reason or records.NO_REASON}"
        if self.paused_at is not None:
            return f"PRUNED (paused at epoch {self.paused_at})"
        if self.state == "PRUNED":
            return f"PRUNED at epoch {self.last_step}"
        return f"COMPLETE, value {self.value}"


class Tracker:
    """Where a study's trials are also written as they train. Subclass it for a tracker of your
    own and name it in the study, ``tracking={"package.module:Name": target}``: hpo calls
    ``Name(target=target)``, with ``study=`` (the Optuna study), ``spec=`` (its
    :class:`hpo.StudySpec`) and ``prepare=`` (True in the process that starts the run) when it
    takes them, in every process that trains. Override what you need; each method does
    nothing here. Every call is guarded: a tracker that raises warns once per trial and is
    skipped for the rest of it, and training goes on.
    """

    name: str = "tracker"

    def trial_started(self, start: TrialStart) -> None:
        """Trial ``start.number`` starts training (a retry or continuation goes on in ``start.run``)."""

    def epoch_ended(self, number: int, epoch: int, logs: dict[str, float]) -> None:
        """Trial ``number`` finished 1-based ``epoch``: Keras' logs and the learning rate."""

    def trial_finished(self, end: TrialEnd) -> None:
        """Trial ``end.number`` ended, in the state storage holds."""

    def model_kept(self, number: int, model: Any) -> None:
        """Trial ``number``'s best-epoch model became the study's kept model."""

    def study_ended(self, budget_met: bool, chosen: int | None) -> None:
        """The run that started here ends, its budget met or not, with the chosen trial."""

    def close(self) -> None:
        """This process stops tracking: write what is queued."""

    def where(self) -> str:
        """Where the runs go, for the run's start line."""
        return self.name
