"""Cross-validation and re-checks for real: `hpo run` with cv=3 and confirm_top on the digits
MLP, a kill -9 in the middle of a trial's second fold, the resume, `hpo show` and `hpo best`."""

import os
import signal
import subprocess
import time

import optuna
import pytest

import hpo.records as records
from hpo.storage._checkpoints import TrialCheckpoint
from tests.conftest import REPO, hpo_command, write_study_script

pytestmark = pytest.mark.slow

# The built-in MLP with a gate: in the second fold a trial trains in its process, while the file
# HPO_TEST_GATE names exists, it waits at the end of that fold's second epoch, before hpo saves
# it: the fold's checkpoint holds one epoch then, however loaded the machine is.
GATED_FOLDS = '''
import os
import time

import keras

from hpo.objectives.mlp import DEFAULT_PARAMS, build, param_count, suggest  # noqa: F401

FITS = [0]


class Gate(keras.callbacks.Callback):
    def __init__(self, fit):
        super().__init__()
        self.fit = fit

    def on_epoch_end(self, epoch, logs=None):
        gate, deadline = os.environ.get("HPO_TEST_GATE", ""), time.monotonic() + 300
        if self.fit == 2 and epoch == 1:
            while gate and os.path.exists(gate) and time.monotonic() < deadline:
                time.sleep(0.05)


def callbacks(params):
    FITS[0] += 1
    return [Gate(FITS[0])]
'''


def test_a_cross_validated_trial_killed_in_its_second_fold_goes_on_from_that_folds_checkpoint(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    objective, gate = tmp_path / "gated_folds.py", tmp_path / "gate"
    objective.write_text(GATED_FOLDS)
    gate.touch()
    script = write_study_script(tmp_path, name="cv", objective=str(objective), n_trials=2, max_epochs=4,
                                patience=4, cv=3, confirm_top=1, pruner="none", recycle_after=0)
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": "", "HPO_TEST_GATE": str(gate)}
    process = subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, victim = time.monotonic() + 240, None
    while time.monotonic() < deadline and victim is None and process.poll() is None:
        try:
            trials = optuna.load_study(study_name="cv", storage=url).trials
        except Exception:  # noqa: BLE001 - the database or the study is not there yet
            trials = []
        for trial in trials:
            saved = [TrialCheckpoint(path).epochs_done() for path in home.glob(f"studies/cv-*/checkpoints/trial-{trial.number}")]
            if trial.state.name == "RUNNING" and len(records.fold_values(trial.user_attrs)) == 1 and saved == [1]:
                victim = trial  # the gate holds the fold's second epoch: its checkpoint has the first
        time.sleep(0.1)
    assert victim is not None, "no trial was caught in its second fold"
    os.killpg(process.pid, signal.SIGKILL)  # the power goes: hpo and its worker
    process.communicate()
    gate.unlink()

    result = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr
    assert "retry queued from epoch 2" in result.stdout, result.stdout
    trials = optuna.load_study(study_name="cv", storage=url).trials
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == victim.number)
    values = records.fold_values(retry.user_attrs)
    assert retry.state.name == "COMPLETE" and len(values) == 3
    assert values[0] == records.fold_values(victim.user_attrs)[0]  # carried, not trained again
    assert retry.value == pytest.approx(sum(values) / 3) and records.value_se(retry.user_attrs) is not None
    search = [t for t in trials if t.state.name == "COMPLETE" and records.confirms(t.user_attrs) is None]
    assert len(search) == 2
    leader = max(search, key=lambda t: t.value)
    [recheck] = [t for t in trials if records.confirms(t.user_attrs) is not None]
    assert recheck.user_attrs["confirms"] == leader.number and recheck.state.name == "COMPLETE"
    assert len(records.fold_values(recheck.user_attrs)) == 3 + 5  # the leader's folds and 5 fresh ones
    assert "re-checking trial" in result.stdout and f"re-check of #{leader.number}" in result.stdout
    assert "(2/2 search trials, " in result.stdout, result.stdout

    shown = subprocess.run(hpo_command("show", "cv"), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert f"best trial {recheck.number}: value {recheck.value:.4f} ± " in shown.stdout, shown.stdout
    assert f"re-check of trial {leader.number}" in shown.stdout and "cv 3, re-check top 1" in shown.stdout
    best = subprocess.run(hpo_command("best", "cv"), cwd=REPO, env=env, capture_output=True, text=True, timeout=200)
    assert best.returncode == 0, best.stderr
    assert "retrained on training + validation data for" in best.stdout and "test set (used once)" in best.stdout
