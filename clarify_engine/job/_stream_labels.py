"""The model's predicted labels, chunk by chunk, as one more column of a :class:`ChunkedDataset`.

Post-training bias without a predicted-label column asks the model for each chunk's labels
(through the job's :class:`~clarify_engine.job._meter.ModelMeter`, stage ``predictions``), the
first time the chunk is read. A pass over the data may be followed by others (the streamed FT),
so each chunk's labels are kept in a file of a temporary folder (``numpy.save``) and read back
on later passes: the model is asked once per row, and memory holds one chunk's labels.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Iterator

import numpy as np
import pandas as pd

from clarify_engine.data import ChunkedDataset
from clarify_engine.data._stream import ReadStats
from clarify_engine.job._meter import ModelMeter

__all__ = ["PredictedLabels"]


class PredictedLabels:
    """``data`` with the column ``name`` of the model's predicted labels (use as a context manager:
    leaving it removes the labels' files).

    Parameters
    ----------
    data : ChunkedDataset
        The dataset (its ``features`` are the model inputs).
    meter : ModelMeter
        The job's model.
    name : str
        The new column (``predicted_label``, or ``predicted_label_1``... when taken).
    """

    def __init__(self, data: ChunkedDataset, meter: ModelMeter, name: str):
        self.source, self.meter, self.name = data, meter, name
        self._folder: tempfile.TemporaryDirectory | None = None
        self._files: dict[int, str] = {}

    def __enter__(self) -> ChunkedDataset:
        self._folder = tempfile.TemporaryDirectory(prefix="clarify-predicted-labels-")
        data = self.source
        return dataclasses.replace(data, columns=(*data.columns, self.name), predicted_label=self.name,
                                   pieces=self._pieces, tables=None, stats=data.stats)  # no Arrow pass: the
        # labels are added to pandas chunks, so a pass over Arrow pieces would read the file without them

    def __exit__(self, *exc) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _labels(self, index: int, chunk: pd.DataFrame) -> np.ndarray:
        path = self._files.get(index)
        if path is not None:
            return np.load(path, allow_pickle=True)
        labels = np.asarray(self.meter.predicted_labels(chunk.loc[:, list(self.source.features)]))
        assert self._folder is not None
        path = os.path.join(self._folder.name, f"{index}.npy")
        np.save(path, labels, allow_pickle=True)
        self._files[index] = path
        return labels

    def _pieces(self, report: dict, wanted: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        features = list(self.source.features)
        columns = [c for c in self.source.columns if c in set(wanted) or c in set(features)]
        # a pass of its own over the source (its own stats: the outer dataset counts the pass)
        inner = dataclasses.replace(self.source.select(columns), stats=ReadStats())
        for index, chunk in enumerate(inner):
            labels = self._labels(index, chunk)
            chunk = chunk.loc[:, [c for c in wanted if c != self.name]].copy()
            chunk[self.name] = labels
            yield chunk
        report.update(inner.stats.read_report)
