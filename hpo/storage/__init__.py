"""Where studies live: the database (:mod:`~hpo.storage.database`: URLs, opening, checks),
the few reads Optuna's API lacks (:mod:`~hpo.storage.queries`), Optuna's private names in one
place (:mod:`~hpo.storage.optuna_private`), a study's local files
(:mod:`~hpo.storage.study_files`), epoch checkpoints (:mod:`~hpo.storage.checkpoints`) and
Optuna's artifact store, shared by hosts (:mod:`~hpo.storage.artifacts`)."""
