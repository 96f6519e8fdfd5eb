import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POSTGRES_SCRIPT = str(REPO / "scripts" / "postgres.sh")
MARIADB_SCRIPT = str(REPO / "scripts" / "mariadb.sh")
TRACKING_SCRIPT = REPO / "scripts" / "tracking_servers.sh"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Importing TensorFlow asks `uname -p` once per process (h5py, through platform.processor()):
# asked here, before the no-process guard below, so the first fast test to import it is not
# failed for starting a process that is Python's, not the test's.
platform.processor()


def _pin_xdist_worker() -> None:
    """Under pytest-xdist, each worker (and every process its tests start, which inherit the
    mask) gets its own share of the cores. Unpinned, two workers' tests each start backends
    sized to every core (hpo sizes its thread pools from the affinity mask), and on 2 cores the
    oversubscribed pools spin against each other: the torch kill test took 111 s in the suite
    and 36 s alone (2026-12-03)."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit()) or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    index, count_ = int(worker[2:]), int(count)
    if count_ > 1 and len(cores) >= count_:
        os.sched_setaffinity(0, set(cores[index % count_::count_]))


_pin_xdist_worker()


@pytest.fixture(autouse=True)
def isolated_runtime(tmp_path, monkeypatch):
    """Every test gets its own runtime directory, no inherited storage URL and no tracking
    (set empty rather than deleted: monkeypatch then also undoes what a test's flags set)."""
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "hpo-runs"))
    monkeypatch.delenv("HPO_STORAGE", raising=False)
    for variable in ("HPO_TENSORBOARD", "HPO_MLFLOW"):
        monkeypatch.setenv(variable, "")
    return tmp_path / "hpo-runs"


def _refusing_processes(item):
    """Run a test phase with process creation refused unless the test is marked ``slow``."""
    if item.get_closest_marker("slow") is not None:
        return (yield)
    real = subprocess.Popen._execute_child

    def refuse(self, args, *rest, **kwargs):
        raise AssertionError(f"{item.nodeid} starts a process ({args!r}); mark it @pytest.mark.slow")

    subprocess.Popen._execute_child = refuse
    try:
        return (yield)
    finally:
        subprocess.Popen._execute_child = real


# The fast lane (``-m "not slow"``) starts no process: a test that does (hpo's CLI, a worker, a
# server, a browser), itself or through a fixture of any scope it sets up, must be marked
# ``slow``, and fails if it is not. Setup and call only: a session fixture of other tests
# (the PostgreSQL server) is torn down in whichever test runs last, which may be a fast one.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _refusing_processes(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _refusing_processes(item))


def pytest_collection_modifyitems(items):
    """Slow tests first, in their order, then the fast ones. pytest-xdist hands its workers the
    tests in this order, so the minute-long ones (a study killed and resumed, two hosts) start
    early and the fast ones fill the end: in file order, one worker could start a 60 s test
    while the other had nothing left. The same order in every worker (a stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'studies.db'}"


def write_study_script(directory: Path, name: str = "tiny", **settings) -> Path:
    """A study script for a tiny, fast study on the digits data."""
    values = {
        "name": name, "objective": "mlp", "dataset": "digits", "n_trials": 3,
        "max_epochs": 3, "patience": 2, "seed": 0, **settings,
    }
    body = ",\n    ".join(f"{key}={value!r}" for key, value in values.items())
    path = directory / f"{name}.py"
    path.write_text(
        "import sys\nfrom hpo import StudySpec\n\n"
        f"STUDY = StudySpec(\n    {body},\n)\n\n"
        "if __name__ == '__main__':\n"
        "    from hpo.cli import main\n"
        "    sys.exit(main(['run', __file__, *sys.argv[1:]]))\n"
    )
    return path


GATED_MLP = '''"""The built-in MLP (or another objective's) with a gate for kill tests: while the file
HPO_TEST_GATE names exists, a trial that went on from a checkpoint (a retry, a continuation, a PBT segment) waits at the end
of its second epoch of its own, before hpo saves and reports that epoch, so a test can kill it
there however loaded the machine is. With HPO_TEST_GATE_AT=N every trial waits at the end of
epoch N + 1 instead, with N epochs saved and reported; with HPO_TEST_GATE_AFTER=K too, only
the trials of a process after its first K do."""
import itertools
import os
import time

import keras

IMPORT_BASE


TRIALS = itertools.count()  # the trials this process trained (one callbacks() call each)


class Gate(keras.callbacks.Callback):
    first = None

    def __init__(self):
        super().__init__()
        self.open = next(TRIALS) < int(os.environ.get("HPO_TEST_GATE_AFTER", "0"))

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch

    def on_epoch_end(self, epoch, logs=None):
        gate, deadline = os.environ.get("HPO_TEST_GATE", ""), time.monotonic() + 300
        at = os.environ.get("HPO_TEST_GATE_AT")
        if not self.open and ((epoch == int(at)) if at else (self.first and epoch == self.first + 1)):
            while gate and os.path.exists(gate) and time.monotonic() < deadline:
                time.sleep(0.05)


def callbacks(params):
    return [Gate()]
'''


MLP_IMPORT = "from hpo.objectives.mlp import DEFAULT_PARAMS, build, param_count, suggest  # noqa: F401"
# Another objective module's suggest and build, by its path, gated the same way.
FILE_IMPORT = """import importlib.util

_spec = importlib.util.spec_from_file_location("gated_base", {path!r})
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
suggest, build = _base.suggest, _base.build"""


def write_gated_objective(directory: Path, base: Path | None = None) -> tuple[Path, Path]:
    """(objective module, gate file) of :data:`GATED_MLP` (or of the objective module ``base``
    with the same gate): the gate is closed (the file exists) until the test removes it; pass
    the gate's path to hpo as ``HPO_TEST_GATE``."""
    module, gate = directory / "gated_mlp.py", directory / "gate"
    module.write_text(GATED_MLP.replace("IMPORT_BASE", FILE_IMPORT.format(path=str(base)) if base else MLP_IMPORT))
    gate.touch()
    return module, gate


def quadratic(trial):
    """A trivial objective with a three-step learning curve: trials in milliseconds."""
    x = trial.suggest_float("x", -1.0, 1.0)
    for step in range(1, 4):
        trial.report(x * x, step)
    return x * x


def quick_spec(**settings):
    """A spec for :func:`quadratic` (study "q", minimised "loss", random sampler, 5 trials)."""
    from hpo.study._spec import StudySpec

    return StudySpec(**{"name": "q", "metric": "loss", "n_trials": 5, "sampler": "random", **settings})


def run_quick(spec, url, objective=quadratic):
    """``driver.run`` with a plain objective; returns (outcome, printed lines)."""
    from hpo.driver import _optimize as driver

    lines = []
    outcome = driver.run(spec, storage_url=url, objective=objective, out=lines.append)
    return outcome, lines


def hpo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hpo", *args]


def running_trial_and_worker(url, name, home, *, epochs=1):
    """(trial, pid of the process training it) of a RUNNING trial with at least ``epochs``
    epochs reported, or (None, None). The pid comes from hpo's running-trial marker."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    try:
        trials = optuna.load_study(study_name=name, storage=url).trials
    except (KeyError, SQLAlchemyError):  # the file exists, its tables or the study not yet
        return None, None
    for trial in trials:
        if trial.state.name == "RUNNING" and len(trial.intermediate_values) >= epochs:
            for marker in Path(home).glob(f"studies/*/running/{trial._trial_id}"):
                return trial, int(marker.read_text().rpartition(":")[2])
    return None, None


@pytest.fixture(scope="session")
def built_in_study(tmp_path_factory):
    """The built-in study script (studies/digits_mlp.py), cut to 4 trials of 3 epochs, run once
    by `hpo run` and shared by the report tests."""
    import subprocess

    home = tmp_path_factory.mktemp("built-in") / "hpo-runs"
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    result = subprocess.run(
        hpo_command("run", "studies/digits_mlp.py", "--n-trials", "4", "--max-epochs", "3"),
        capture_output=True, text=True, timeout=300, cwd=REPO, env=env,
    )
    assert result.returncode == 0, result.stderr
    return {"home": home, "env": env, "name": "digits_mlp", "url": f"sqlite:///{home / 'hpo.db'}"}


def _database_server(script: str, state_variable: str, what: str):
    """A throwaway database server of ``script`` (scripts/postgres.sh, scripts/mariadb.sh) for
    the session; yields the environment its script needs (:func:`_start_server`: under CI it
    must start)."""
    import subprocess
    import tempfile

    # Not under pytest's tmp_path: its parent is private to root, and the server runs as the
    # postgres (mysql) user when the tests run as root.
    state = tempfile.mkdtemp(prefix="hpo-database-")
    os.chmod(state, 0o755)
    env = {**os.environ, state_variable: os.path.join(state, "server")}
    _start_server(["bash", script, "start"], what, env=env, timeout=600)
    yield env
    subprocess.run(["bash", script, "stop"], capture_output=True, env=env, timeout=120)
    os.rmdir(state)


def _fresh_database(script: str, server_env: dict, request) -> str:
    """The URL of a new, empty database for one test on the session's server of ``script``."""
    import re
    import subprocess

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    made = subprocess.run(["bash", script, "database", name], capture_output=True, text=True,
                          env=server_env, timeout=60, check=True)
    return made.stdout.strip()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server (scripts/postgres.sh) for the session: its script's environment."""
    yield from _database_server(POSTGRES_SCRIPT, "HPO_POSTGRES_DIR", "PostgreSQL")


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh database on the session's PostgreSQL server, for one test."""
    return _fresh_database(POSTGRES_SCRIPT, postgres_server, request)


@pytest.fixture(scope="session")
def mariadb_server():
    """A throwaway MariaDB server (scripts/mariadb.sh) for the session: its script's environment."""
    yield from _database_server(MARIADB_SCRIPT, "HPO_MARIADB_DIR", "MariaDB")


@pytest.fixture
def mariadb_url(mariadb_server, request):
    """A fresh database on the session's MariaDB server, for one test."""
    return _fresh_database(MARIADB_SCRIPT, mariadb_server, request)


def _start_server(command: list[str], what: str, *, env=None, timeout: int = 300) -> str:
    """Run the project's script that starts a server; what it printed (its URL).

    CI must run the tests that use it: there a server that cannot start is a failure.
    Elsewhere, a machine that cannot run it (no root to install PostgreSQL) skips them."""
    import subprocess

    started = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if started.returncode != 0:
        message = f"{what} did not start: {started.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return started.stdout.strip()


def _tracking_server(kind: str, *args: str) -> str:
    """A server of scripts/tracking_servers.sh; its URL."""
    return _start_server(["bash", str(TRACKING_SCRIPT), kind, *args], f"{kind} server")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1 for the session (runs and artifacts in a
    temporary directory): its URL."""
    import subprocess

    state = tmp_path_factory.mktemp("mlflow-server")
    yield _tracking_server("mlflow", str(state))
    subprocess.run(["bash", str(TRACKING_SCRIPT), "stop", str(state)], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def tensorboard_server(tmp_path_factory):
    """A real TensorBoard server on 127.0.0.1 for the session: (its URL, the log directory it
    reads, which tests write runs into)."""
    import subprocess

    state, logdir = tmp_path_factory.mktemp("tensorboard-server"), tmp_path_factory.mktemp("tensorboard-logs")
    yield _tracking_server("tensorboard", str(logdir), str(state)), logdir
    subprocess.run(["bash", str(TRACKING_SCRIPT), "stop", str(state)], capture_output=True, timeout=60)
