"""scikit-learn's bundled diabetes data (442 patients, 10 features, a disease-progression score):
a data module as a user writes one. hpo calls load(seed) once per process."""

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from hpo import Data


def load(seed):
    x, y = load_diabetes(return_X_y=True)
    # The test split never moves with the study's seed; the validation split (20% of the rest) does.
    x_train, x_test, y_train, y_test = train_test_split(x, y.astype("float32"), test_size=0.2, random_state=0)
    return Data((x_train, y_train), validation=0.2, test=(x_test, y_test))
