"""Each trial as a TensorBoard run, written without TensorFlow.

Keras' ``TensorBoard`` callback needs TensorFlow, and KerasTuner writes the HParams plugin's data
only on the TensorFlow backend; torch and JAX workers must not import it (4 s and 600 MB per
process). TensorBoard's own event-file writer and protocol buffers need nothing of TensorFlow
(``tensorboard.summary.writer.record_writer``, ``tensorboard.compat.proto``: checked in the
tests), so this module writes with those, in Keras' layout. (Its ``EventFileWriter`` opens
files through ``tf.io.gfile``, which imports TensorFlow whenever it is installed.)

```
DIR/<study>/trial-7/             the run of trial 7's configuration: HParams session, trial_value
DIR/<study>/trial-7/train/       epoch_loss, epoch_accuracy, epoch_learning_rate, ...
DIR/<study>/trial-7/validation/  epoch_loss, epoch_accuracy, ... (Keras' val_ metrics)
```

A retry or a continuation writes into the run of the trial it goes on from (steps are epochs,
so the curve goes on where it stopped); a PBT member's segments into ``member-K``.

The HParams plugin keeps the first session start and the first session end a run holds (seen
against TensorBoard 2.21), so the run's first trial writes the start (its parameters) and the
trial that ends the configuration the end: ``COMPLETE`` as success with its ``trial_value``,
``FAIL`` as failure, ``PRUNED`` (the plugin has no such status) as success with the
``pruned_at_epoch`` metric. A trial paused by a scheduler writes no end: its continuation
will. The ``trial_state`` text says what each trial of the run ended as.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.tracking._events import Tracker

if TYPE_CHECKING:
    from hpo.tracking._events import TrialEnd, TrialStart

# TensorBoard's own group names for Keras' train and validation logs (keras.callbacks.TensorBoard).
TRAIN, VALIDATION = "train", "validation"
VALUE_TAG = "trial_value"
STATE_TAG = "trial_state"
PRUNED_TAG = "pruned_at_epoch"


def split_logs(logs: dict[str, float]) -> dict[str, dict[str, float]]:
    """Keras' epoch logs by TensorBoard group: ``val_loss`` -> validation ``epoch_loss``,
    ``loss`` -> train ``epoch_loss``, as Keras' TensorBoard callback names them."""
    groups: dict[str, dict[str, float]] = {TRAIN: {}, VALIDATION: {}}
    for key, value in logs.items():
        if key.startswith("val_"):
            groups[VALIDATION][f"epoch_{key[4:]}"] = value
        else:
            groups[TRAIN][f"epoch_{key}"] = value
    return groups


class EventFile:
    """One TensorBoard event file, appended to with TensorBoard's record format (the
    ``events.out.tfevents.<time>.<host>.<pid>.<n>`` name TensorBoard's writers use, so several
    processes writing into one run directory never share a file)."""

    _opened = itertools.count()

    def __init__(self, directory: Path) -> None:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        directory.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{next(self._opened)}"
        self.path = directory / name
        self._records = RecordWriter(open(self.path, "ab"))
        self.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def write(self, event: Any) -> None:
        self._records.write(event.SerializeToString())

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        self._records.close()


class TensorBoardTracker(Tracker):
    """Writes the trials this process runs under ``directory/<study>``."""

    name = "TensorBoard"

    def __init__(self, directory: str | Path, study_name: str) -> None:
        self.root = Path(directory) / study_name
        self._writers: dict[tuple[str, str], EventFile] = {}
        self._runs: dict[int, str] = {}  # trial number -> run directory name

    def where(self) -> str:
        return f"TensorBoard runs in {self.root} (tensorboard --logdir {self.root.parent})"

    def _writer(self, run: str, group: str = "") -> EventFile:
        key = (run, group)
        if key not in self._writers:
            self._writers[key] = EventFile(self.root / run / group if group else self.root / run)
        return self._writers[key]

    def _summary(self, run: str, group: str, step: int, values: dict[str, Any]) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        summary = summary_pb2.Summary()
        for tag, value in values.items():
            if isinstance(value, summary_pb2.Summary.Value):
                summary.value.append(value)
            else:
                summary.value.add(tag=tag, simple_value=float(value))
        self._writer(run, group).write(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def trial_started(self, start: "TrialStart") -> None:
        from tensorboard.plugins.hparams import plugin_data_pb2

        self._runs[start.number] = start.run
        if any((self.root / start.run).glob("events.out.tfevents.*")):
            return  # a retry or continuation: the run's first trial wrote the session start
        # The group names the configuration across studies that share the log directory.
        info = plugin_data_pb2.SessionStartInfo(group_name=f"{self.root.name}/{start.run}", start_time_secs=time.time())
        for key, value in start.params.items():
            if isinstance(value, bool):
                info.hparams[key].bool_value = value
            elif isinstance(value, (int, float)):
                info.hparams[key].number_value = float(value)
            else:
                info.hparams[key].string_value = str(value)
        self._plugin_data(start.run, 0, plugin_data_pb2.HParamsPluginData(session_start_info=info))
        self._writer(start.run).flush()

    def epoch_ended(self, number: int, epoch: int, logs: dict[str, float]) -> None:
        run = self._runs.get(number)
        if run is None:
            return
        for group, values in split_logs(logs).items():
            if values:
                self._summary(run, group, epoch, values)
                # Each epoch reaches the disk: a worker killed -9 loses none of its finished epochs.
                self._writer(run, group).flush()

    def trial_finished(self, end: "TrialEnd") -> None:
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

        run, step = end.run, end.last_step or 0
        self._runs.pop(end.number, None)
        self._text(run, step, STATE_TAG, f"trial {end.number}: {end.describe()}")
        if end.paused_at is None:  # a paused configuration's end is its continuation's
            if end.value is not None and end.state == "COMPLETE":
                self._summary(run, "", step, {VALUE_TAG: end.value})
            if end.state == "PRUNED":
                self._summary(run, "", step, {PRUNED_TAG: step})
            status = api_pb2.STATUS_FAILURE if end.state == "FAIL" else api_pb2.STATUS_SUCCESS
            info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
            self._plugin_data(run, step, plugin_data_pb2.HParamsPluginData(session_end_info=info))
        for key in [key for key in self._writers if key[0] == run]:
            self._writers.pop(key).close()

    def model_kept(self, number: int, model: Any) -> None:
        """TensorBoard keeps no models."""

    def study_ended(self, budget_met: bool, chosen: int | None) -> None:
        """A TensorBoard run has no state to end."""

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def _plugin_data(self, run: str, step: int, data: Any) -> None:
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.hparams import metadata

        tag = metadata.SESSION_START_INFO_TAG if data.HasField("session_start_info") else metadata.SESSION_END_INFO_TAG
        value = summary_pb2.Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                                          tensor=metadata.NULL_TENSOR)
        self._summary(run, "", step, {tag: value})

    def _text(self, run: str, step: int, tag: str, text: str) -> None:
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

        plugin = summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[text.encode()],
                                        tensor_shape=tensor_shape_pb2.TensorShapeProto())
        value = summary_pb2.Summary.Value(tag=tag, metadata=summary_pb2.SummaryMetadata(plugin_data=plugin),
                                          tensor=tensor)
        self._summary(run, "", step, {tag: value})
