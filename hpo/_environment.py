"""Every environment variable hpo reads, named once.

The ones a user sets:

* ``HPO_HOME`` - the runtime directory (databases, checkpoints, models, reports; default ``hpo-runs``);
* ``HPO_STORAGE`` - the storage URL (``--storage`` wins over it, it wins over the study script's);
* ``HPO_ARTIFACTS`` - the artifact store, a directory or ``s3://bucket/prefix`` (same precedence);
* ``HPO_TENSORBOARD`` - the directory trials are written to as TensorBoard runs (same precedence);
* ``HPO_MLFLOW`` - the MLflow tracking URI trials are logged to (same precedence; :mod:`hpo.tracking`);
* ``HPO_STORAGE_PATIENCE`` - seconds a storage call waits for a database server that went away
  (or a full disk under a SQLite file) before hpo gives up (default 600; :mod:`hpo.storage._outages`);
* ``HPO_HOST`` - this host's name in hpo's records (default: the machine's host name);
* ``HPO_DATA_DIR`` - where the ``keras.datasets`` files of the built-in datasets are looked for;
* ``HPO_THREADS`` - CPU threads per worker (``hpo run --workers N`` sets it for its workers);
* ``HPO_TF_VERBOSE=1`` - keep TensorFlow's start-up messages;
* ``HPO_CURVE_BANK`` - the folder of recorded learning curves :mod:`hpo.simulation` replays
  (default ``benchmarks/curve_bank``).

The ones ``hpo run`` sets for the worker processes it starts:

* ``HPO_PARENT_PID`` - a worker stops when its parent is no longer this process;
* ``HPO_QUIET_STOP=1`` - the parent announces a stop once for all workers;
* ``HPO_WORKER_LABELS=1`` - prefix workers' lines with w1, w2, ... when there are several;
* ``HPO_PROGRESS=bar`` - print no progress line per trial: the parent, in a notebook, shows a bar;
* ``HPO_RUN_CLOCK`` - when the run started and how many trials were done then, so a recycled
  worker's progress line goes on with the run's clock.
"""

HOME_ENV = "HPO_HOME"
STORAGE_ENV = "HPO_STORAGE"
STORAGE_PATIENCE_ENV = "HPO_STORAGE_PATIENCE"
ARTIFACTS_ENV = "HPO_ARTIFACTS"
TENSORBOARD_ENV = "HPO_TENSORBOARD"
MLFLOW_ENV = "HPO_MLFLOW"
HOST_ENV = "HPO_HOST"
DATA_DIR_ENV = "HPO_DATA_DIR"
THREADS_ENV = "HPO_THREADS"
TF_VERBOSE_ENV = "HPO_TF_VERBOSE"
CURVE_BANK_ENV = "HPO_CURVE_BANK"

PARENT_PID_ENV = "HPO_PARENT_PID"
QUIET_STOP_ENV = "HPO_QUIET_STOP"
WORKER_LABELS_ENV = "HPO_WORKER_LABELS"
RUN_CLOCK_ENV = "HPO_RUN_CLOCK"
PROGRESS_ENV = "HPO_PROGRESS"
