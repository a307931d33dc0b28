"""Suite-wide settings: quiet DGL's backend notice and keep tests on the CPU and deterministic."""

import os

os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
