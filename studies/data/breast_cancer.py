"""scikit-learn's bundled breast-cancer data (569 tumours, 30 features, 37% malignant)."""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from hpo import Data


def load(seed):
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return Data((x_train, y_train), validation=0.25, test=(x_test, y_test))
