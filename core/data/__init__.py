"""Data layer: load any supported format into one validated `Dataset`, then split it.

from core.data import load_dataset, split_dataset
ds = load_dataset("sample")            # or a folder; format detected from its files
split = split_dataset(ds, "random", seed=2020)
"""

from core.data.dataset import Dataset, IdMap, LoadReport, Split
from core.data.errors import DataError
from core.data.load import FORMATS, SAMPLE_DIR, detect_format, load_dataset
from core.data.split import split_dataset

__all__ = [
    "FORMATS",
    "SAMPLE_DIR",
    "DataError",
    "Dataset",
    "IdMap",
    "LoadReport",
    "Split",
    "detect_format",
    "load_dataset",
    "split_dataset",
]
