"""What a tracker is told, and the protocol every tracker follows (:mod:`hpo.tracking`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

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


class Tracker(Protocol):
    name: str

    def trial_started(self, start: TrialStart) -> None: ...

    def epoch_ended(self, number: int, epoch: int, logs: dict[str, float]) -> None: ...

    def trial_finished(self, end: TrialEnd) -> None: ...

    def model_kept(self, number: int, model: Any) -> None: ...

    def study_ended(self, budget_met: bool, chosen: int | None) -> None: ...

    def close(self) -> None: ...

    def where(self) -> str: ...
