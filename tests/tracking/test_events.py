"""What trackers are told: a trial's end described in one line."""

from hpo.tracking._events import TrialEnd


def test_an_end_says_how_the_trial_ended():
    assert TrialEnd(3, "COMPLETE", 0.97, 8, "trial-3").describe() == "COMPLETE, value 0.97"
    assert TrialEnd(3, "PRUNED", None, 4, "trial-3").describe() == "PRUNED at epoch 4"
    assert TrialEnd(3, "PRUNED", None, 3, "trial-3", paused_at=3).describe() == "PRUNED (paused at epoch 3)"
    assert TrialEnd(3, "FAIL", None, None, "trial-3", "loss became nan at epoch 2").describe() == (
        "FAIL: loss became nan at epoch 2")
    assert TrialEnd(3, "FAIL", None, None, "trial-3").describe() == "FAIL: no reason recorded"
