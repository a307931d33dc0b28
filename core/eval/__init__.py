"""Evaluation: ranking and beyond-accuracy metrics, and the batched full-ranking runner."""

from core.eval.runner import EvalResult, evaluate, evaluate_split

__all__ = ["EvalResult", "evaluate", "evaluate_split"]
