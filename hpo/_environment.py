"""Every environment variable hpo reads, named once, with what it means.

:data:`USER_VARIABLES` are the ones a user sets (the documentation's environment reference is
generated from them); :data:`WORKER_VARIABLES` are the ones ``hpo run`` sets for the worker
processes it starts. Every ``*_ENV`` name below is in one of the two.
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

USER_VARIABLES: dict[str, str] = {
    HOME_ENV: "the runtime directory: databases, checkpoints, models, reports (default ``hpo-runs``)",
    STORAGE_ENV: "the storage URL (``--storage`` wins over it, it wins over the study script's ``storage``)",
    ARTIFACTS_ENV: "the artifact store, a directory or ``s3://bucket/prefix`` (``--artifacts`` wins over it, "
                   "it wins over the study script's ``artifacts``)",
    TENSORBOARD_ENV: "the directory trials are written to as TensorBoard runs (same precedence, ``--tensorboard``)",
    MLFLOW_ENV: "the MLflow tracking URI trials are logged to (same precedence, ``--mlflow``)",
    STORAGE_PATIENCE_ENV: "seconds a storage call waits for a database server that went away (or for room on a "
                          "full disk under a SQLite file) before hpo stops with one line (default 600)",
    HOST_ENV: "this machine's name in hpo's records: tells its own dead workers from other hosts' "
              "(default: the host name; the tests simulate hosts with it)",
    DATA_DIR_ENV: "where the ``keras.datasets`` files of the built-in datasets are looked for "
                  "(default ``~/.keras/datasets``)",
    THREADS_ENV: "CPU threads per worker process (``hpo run --workers N`` sets cores / N for its workers)",
    TF_VERBOSE_ENV: "``1`` keeps TensorFlow's start-up messages",
    CURVE_BANK_ENV: "the folder of recorded learning curves the simulator replays (default ``benchmarks/curve_bank``)",
}
WORKER_VARIABLES: dict[str, str] = {
    PARENT_PID_ENV: "a worker stops when its parent is no longer this process",
    QUIET_STOP_ENV: "``1``: the parent announces a stop once for all workers",
    WORKER_LABELS_ENV: "``1``: workers' lines are prefixed w1, w2, ... when there are several",
    PROGRESS_ENV: "``bar``: no progress line per trial (the parent, in a notebook, shows a bar)",
    RUN_CLOCK_ENV: "when the run started and how many trials were done then, so a recycled worker's progress "
                   "line goes on with the run's clock",
}
