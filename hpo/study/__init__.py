"""What a study states: its specification (:mod:`~hpo.study.spec`), the study script that
holds it (:mod:`~hpo.study.script`), the table of metric directions
(:mod:`~hpo.study.metrics`) and the Keras ``fit`` options it may set
(:mod:`~hpo.study.fit_options`)."""
