"""The built-in objectives' output layer and loss, by task."""

from hpo.objectives._output import output_head


def test_classification_and_regression_heads():
    classes = output_head(10)
    assert (classes.units, classes.activation, classes.loss, classes.metrics) == (
        10, "softmax", "sparse_categorical_crossentropy", ("accuracy",))
    regression = output_head(None)
    assert (regression.units, regression.activation, regression.metrics) == (1, None, ("mae",))
