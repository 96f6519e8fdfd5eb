"""The optimizers the seed articles name, from a trial's parameters."""

import pytest

from hpo.objectives._optimizers import OPTIMIZERS, make_optimizer


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_takes_the_learning_rate(name):
    optimizer = make_optimizer({"optimizer": name, "learning_rate": 0.02})
    assert optimizer.__class__.__name__.lower() == name
    assert float(optimizer.learning_rate) == pytest.approx(0.02)


def test_adam_and_sgd_read_their_own_parameters():
    adam = make_optimizer({"optimizer": "adam", "learning_rate": 1e-3, "beta_1": 0.8, "epsilon": 1e-6})
    assert float(adam.beta_1) == pytest.approx(0.8) and float(adam.epsilon) == pytest.approx(1e-6)
    assert float(make_optimizer({"optimizer": "sgd", "learning_rate": 0.1}).momentum) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer({"optimizer": "lbfgs", "learning_rate": 0.1})
