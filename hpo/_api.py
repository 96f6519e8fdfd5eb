"""The Python API: tune from a notebook or a script, with data you already hold.

```python
import hpo

data = hpo.Data((x, y), validation=0.2, test=(x_test, y_test))
outcome = hpo.run(hpo.StudySpec(name="mine", objective="my_model.py", metric="val_mae"), data=data)
study = hpo.load_study("mine")  # the Optuna study, for your own analysis
```

``hpo run`` and ``hpo resume`` on the command line do the same with a study script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from hpo.data import Data
    from hpo.driver import RunOutcome
    from hpo.study import StudySpec


def run(spec: "StudySpec", *, data: "Data | None" = None, storage: str | None = None) -> "RunOutcome":
    """Create or resume the study ``spec`` names and run trials until its budget is met.

    With ``data``, trials train on it (in this process) instead of ``spec.dataset``; the study
    records that its data came from memory, so a resume needs the same ``data=`` again.
    """
    from hpo.driver import run as run_study

    return run_study(spec, storage_url=storage, data=data)


def resume(name: str, *, data: "Data | None" = None, storage: str | None = None,
           **overrides: Any) -> "RunOutcome":
    """Continue study ``name`` with its stored settings (keyword arguments replace some)."""
    from hpo.driver import resume as resume_study

    return resume_study(name, storage_url=storage, overrides=overrides, data=data)


def load_study(name: str, *, storage: str | None = None) -> "optuna.Study":
    """The stored Optuna study ``name`` (read-only: nothing is created)."""
    from hpo.driver import load_hpo_study

    return load_hpo_study(name, storage_url=storage)[0]
