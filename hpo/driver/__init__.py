"""Running a study: create or resume it and top it up to its budget (:func:`run`,
:func:`resume`), join it from another host (:func:`join`), one worker process's loop
(:func:`work`), and retraining the chosen trial (:func:`train_best`). The rest of the room
(study set-up, worker processes, the budget's count and lock, recovery of dead trials, the one
classification of failures, the progress line, GPUs) is private to it.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.driver._best import BestModelResult, train_best
    from hpo.driver._devices import parse_gpus
    from hpo.driver._optimize import join, resume, run, work
    from hpo.driver._outcome import RunOutcome
    from hpo.driver._study_setup import load_hpo_study
    from hpo.driver._workers import available_cores, stop_with_parent

__all__ = [
    "BestModelResult", "RunOutcome", "available_cores", "join", "load_hpo_study", "parse_gpus", "resume",
    "run", "stop_with_parent", "train_best", "work",
]

_EXPORTS = {
    "hpo.driver._best": ("BestModelResult", "train_best"),
    "hpo.driver._devices": ("parse_gpus",),
    "hpo.driver._optimize": ("join", "resume", "run", "work"),
    "hpo.driver._outcome": ("RunOutcome",),
    "hpo.driver._study_setup": ("load_hpo_study",),
    "hpo.driver._workers": ("available_cores", "stop_with_parent"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
