"""Which way a metric is better: the table, the names Keras logs, and no guessing."""

import pytest

from hpo.errors import SetupError
from hpo.study._metrics import base_name, direction_of


@pytest.mark.parametrize("metric, direction", [
    ("val_loss", "minimize"), ("loss", "minimize"), ("val_mae", "minimize"), ("val_mse", "minimize"),
    ("val_rmse", "minimize"), ("val_mape", "minimize"), ("val_mean_absolute_error", "minimize"),
    ("val_sparse_categorical_crossentropy", "minimize"), ("val_hinge", "minimize"),
    ("val_false_negatives", "minimize"),
    ("val_accuracy", "maximize"), ("val_acc", "maximize"), ("val_auc", "maximize"),
    ("val_precision", "maximize"), ("val_recall", "maximize"), ("val_true_negatives", "maximize"),
    # KerasTuner infers these two as "min".
    ("val_f1_score", "maximize"), ("val_r2_score", "maximize"),
])
def test_known_metrics_have_their_direction(metric, direction):
    assert direction_of(metric) == direction


def test_output_prefixes_and_keras_duplicate_suffixes_are_read_through():
    assert base_name("val_price_mae") == "mae" and direction_of("val_price_mae") == "minimize"
    assert base_name("val_auc_1") == "auc" and direction_of("val_label_auc_2") == "maximize"
    assert base_name("val_sparse_top_k_categorical_accuracy") == "sparse_top_k_categorical_accuracy"
    assert base_name("val_maestro") is None  # a table name must stand after an underscore


def test_an_unknown_metric_is_one_line_asking_for_a_direction():
    with pytest.raises(SetupError, match=r"metric 'val_score' is not one hpo knows the direction of; "
                                         r"state it: direction='maximize' or direction='minimize'$"):
        direction_of("val_score")
