"""Data-parallel training on torch.distributed (`torchrun ... -m core train ... --distributed`).

Every rank holds the whole model and runs the same `fit` loop with the same seed, so all ranks
draw the same global batch (users, positives, negatives) at every step. Each rank then computes
the loss on its own shard of that batch (rows rank, rank + W, ...) through
`DistributedDataParallel`, which averages the gradients. The shard losses are scaled by their
share of the batch, so the averaged gradient is exactly the gradient of the whole batch's loss:
W processes take the same steps as one process with the same batch size, to rounding, and the
logged loss is the whole batch's (one scalar all-reduce per step).

What runs between CF steps (KGAT's KG phase and attention refresh, validation) runs on every
rank from identical state with identical generators, so ranks stay in step without messages;
`SyncParameters` broadcasts rank 0's weights after every epoch so that non-deterministic kernels
(CUDA atomics) cannot make ranks drift. Rank 0 alone writes the artifact (atomically, through
`core.store.save_artifact`) and shows progress.

Backends: gloo on CPU, NCCL on CUDA (one GPU per rank: cuda:LOCAL_RANK).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from core.models.base import ModelInputs, Recommender
from core.train.trainer import Callback, resolve_device


@dataclass(frozen=True)
class Rank:
    """This process's place in the job, as torchrun sets it in the environment."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_rank() -> Rank:
    """Rank, world size and local rank from torchrun's environment (a lone process: 0 of 1)."""
    get = lambda name, default: int(os.environ.get(name, default))  # noqa: E731
    return Rank(get("RANK", 0), get("WORLD_SIZE", 1), get("LOCAL_RANK", 0))


def init(device: str = "auto") -> tuple[Rank, torch.device]:
    """Join the process group (gloo on CPU, NCCL on CUDA) and pick this rank's device.

    device: "auto", "cpu" or "cuda"; on CUDA each rank takes cuda:LOCAL_RANK. Without
    torchrun's environment (MASTER_ADDR unset) it starts a one-process group on this host, so
    `--distributed` also runs as a plain command. Returns (rank, device).
    """
    rank = env_rank()
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        resolved = torch.device("cuda", rank.local_rank)
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ:  # run without torchrun: a group of one
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
        backend = "nccl" if resolved.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=rank.rank, world_size=rank.world_size)
    return rank, resolved


def shutdown() -> None:
    """Wait for every rank (rank 0 may still be writing), then leave the process group."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _LossModule(nn.Module):
    """The model behind a `forward` that is its loss, so DDP can wrap it (DDP's gradient
    hooks are armed by calling the wrapped module)."""

    def __init__(self, model: Recommender, loss_fn) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        return self.loss_fn(users, pos, neg)


class ShardedLoss:
    """(users, pos, neg) of the global batch -> this rank's share of its loss (see module doc).

    The value returned is the whole batch's loss; its gradient is this rank's scaled share,
    which DDP's average turns into the whole batch's gradient.
    """

    def __init__(self, ddp: DistributedDataParallel, rank: int, world_size: int) -> None:
        self.ddp, self.rank, self.world_size = ddp, rank, world_size

    def __call__(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        n, w = len(users), self.world_size
        shard = slice(self.rank, None, w)
        u, p, ng = users[shard], pos[shard], neg[shard]
        share = len(u) * w / n
        if len(u) == 0:  # fewer rows than ranks: join the all-reduce with a zero-weight row
            u, p, ng = users[:1], pos[:1], neg[:1]
        local = self.ddp(u, p, ng) * share
        total = local.detach().clone()
        dist.all_reduce(total)
        return local + (total / w - local.detach())


class DataParallel:
    """The data-parallel strategy `train_model(strategy=...)` takes; call `init` first.

    inner: the per-rank loss strategy (e.g. `MiniBatch`); None: the model's full-graph loss.
    Pass `sync_callback()` to train_model's callbacks as well.
    """

    def __init__(self, inner=None) -> None:
        self.inner = inner
        self.model: Recommender | None = None  # set when train_model hands it the model

    def sync_callback(self) -> SyncParameters:
        """The callback that re-broadcasts rank 0's weights after every epoch."""
        return SyncParameters(self)

    def describe(self) -> dict:
        """What meta.json records about it."""
        backend = dist.get_backend() if dist.is_initialized() else None
        inner = self.inner.describe() if self.inner is not None else None
        return {
            "kind": "data_parallel",
            "world_size": dist.get_world_size() if dist.is_initialized() else 1,
            "backend": backend,
            "inner": inner,
        }

    def __call__(self, model: Recommender, inputs: ModelInputs) -> ShardedLoss:
        if not dist.is_initialized():
            raise RuntimeError("DataParallel needs a process group: call distributed.init()")
        self.model = model
        inner = self.inner
        if inner is not None and hasattr(inner, "seed"):  # each rank samples its own stream
            inner = dataclasses.replace(inner, seed=inner.seed + dist.get_rank())
        loss_fn = inner(model, inputs) if inner is not None else model.loss
        device = next(model.parameters()).device
        ddp = DistributedDataParallel(
            _LossModule(model, loss_fn),
            device_ids=[device] if device.type == "cuda" else None,
            # KGAT's CF loss leaves its TransR parameters untouched (they train in the KG phase)
            find_unused_parameters=True,
            # buffers (KGAT's attention) are recomputed identically on every rank; copying them
            # each step would also invalidate the model's caches keyed on them
            broadcast_buffers=False,
        )
        return ShardedLoss(ddp, dist.get_rank(), dist.get_world_size())


class SyncParameters(Callback):
    """After every epoch, copy rank 0's parameters and buffers to every rank."""

    def __init__(self, strategy: DataParallel) -> None:
        self.strategy = strategy

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        model = self.strategy.model
        if model is None or not dist.is_initialized() or dist.get_world_size() == 1:
            return
        with torch.no_grad():
            for tensor in model.state_dict().values():
                dist.broadcast(tensor, src=0)
