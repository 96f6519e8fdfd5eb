"""Running a study: create or resume and top up to the budget (:mod:`~hpo.driver.optimize`),
with what it composes: study set-up, worker processes, the budget's count and lock, recovery
of dead trials, the one classification of failures, the progress line, GPUs, and retraining
the best trial (:mod:`~hpo.driver.best`)."""
