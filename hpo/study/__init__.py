"""What a study states: its specification (:class:`StudySpec`), the study script that holds
it (:func:`load_study_script`), which way a metric is better (:func:`direction_of`: a table,
never a guess) and the Keras ``fit`` options it may set.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.study._fit_options import class_weights
    from hpo.study._metrics import direction_of
    from hpo.study._script import load_study_script
    from hpo.study._spec import IDENTITY_FIELDS, Direction, StudySpec, cli_settings

__all__ = [
    "Direction", "IDENTITY_FIELDS", "StudySpec", "class_weights", "cli_settings", "direction_of",
    "load_study_script",
]

_EXPORTS = {
    "hpo.study._fit_options": ("class_weights",),
    "hpo.study._metrics": ("direction_of",),
    "hpo.study._script": ("load_study_script",),
    "hpo.study._spec": ("Direction", "IDENTITY_FIELDS", "StudySpec", "cli_settings"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
