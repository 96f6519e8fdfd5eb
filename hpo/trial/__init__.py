"""One trial: parameters to a trained, scored model (:mod:`~hpo.trial.runner`), Keras
training (:mod:`~hpo.trial.training`), its callbacks (:mod:`~hpo.trial.callbacks`) and the
weight histograms of kept models (:mod:`~hpo.trial.histograms`). Nothing here knows about
workers, budgets or the study loop."""
