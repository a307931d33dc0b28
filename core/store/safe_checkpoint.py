"""Read a torch zip checkpoint (`torch.save`) without running anything from it.

A torch checkpoint is a zip holding `NAME/data.pkl` (a pickle) and one `NAME/data/KEY` file per
storage. Unpickling runs whatever callables the pickle names, so this module reads data.pkl with
an `Unpickler` whose `find_class` resolves only an allow-list of data constructors (tensor
rebuilding, numpy arrays, plain containers); every other name becomes an `InertClass`:

- instantiating one the way pickle builds objects (NEWOBJ, then BUILD with a state) gives an
  `Inert` record holding the arguments and state as plain data; its code is never imported;
- *calling* one (REDUCE, INST/OBJ) is how a pickle runs a function (os.system, subprocess.Popen,
  builtins.eval, ...), and is refused with `UnsafeCheckpoint` naming the file and the callable.
  The only exception is names under `INERT_CALLABLE_ROOTS` (RecBole's enums are pickled as
  `ModelType(1)`), which become records too; nothing of theirs runs either.

Storages are read from the zip's `data/` entries by `persistent_load`. Nothing is imported from
the checkpoint's libraries, so RecBole need not be installed.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.store.artifacts import ArtifactError

# names whose "call" only builds a record: RecBole pickles its enums as ModelType(1)
INERT_CALLABLE_ROOTS = ("recbole",)

_STORAGE_DTYPES = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "UntypedStorage": torch.uint8,
}


class CheckpointError(ArtifactError):
    """A checkpoint that cannot be read as data (not a torch zip, a missing storage, ...)."""


class UnsafeCheckpoint(CheckpointError):
    """A checkpoint whose pickle would call something outside the allow-list."""


@dataclass
class Inert:
    """An object of a class the reader does not trust, kept as data: which class, the arguments
    it was built with and the state pickle gave it (usually the object's __dict__)."""

    module: str
    name: str
    args: tuple = ()
    state: Any = None
    items: list = field(default_factory=list)

    def __setstate__(self, state: Any) -> None:  # BUILD: keep the state, run nothing
        self.state = state

    def append(self, value: Any) -> None:  # APPENDS on a list subclass
        self.items.append(value)

    def extend(self, values: Any) -> None:
        self.items.extend(values)

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEMS on a dict subclass
        self.items.append((key, value))


class _InertMeta(type):
    """Calling an inert class is what REDUCE / INST do: refused unless its name is inert."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Inert:
        if not cls.callable_ok:
            raise UnsafeCheckpoint(
                f"{cls.source}: its pickle calls {cls.qualname}, which is not data RecLens may "
                "build; refusing to load it (nothing from the file was run)"
            )
        return Inert(cls.module, cls.name, args)


class InertClass(metaclass=_InertMeta):
    """Base of the stand-ins `find_class` returns for names outside the allow-list."""

    module = name = qualname = source = ""
    callable_ok = False

    def __new__(cls, *args: Any) -> Inert:  # type: ignore[misc]  # NEWOBJ: cls.__new__(cls, *a)
        return Inert(cls.module, cls.name, args)


def _stand_in(module: str, name: str, source: str) -> type:
    attrs = {
        "module": module,
        "name": name,
        "qualname": f"{module}.{name}",
        "source": source,
        "callable_ok": module.split(".")[0] in INERT_CALLABLE_ROOTS,
    }
    return _InertMeta(f"Inert_{name}", (InertClass,), attrs)


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, hooks: Any, *_: Any):
    return data  # a Parameter's values; the trainable flag means nothing to an import


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """Protocol-2 pickles write bytes as _codecs.encode(text, "latin1"); no other codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise TypeError(f"_codecs.encode with {encoding!r} is not how bytes are pickled")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "device"): torch.device,
    ("torch", "Size"): torch.Size,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("builtins", "complex"): complex,
    ("__builtin__", "set"): set,  # protocol-2 spellings of builtins
    ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
}
for _np in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_np, "_reconstruct")] = np.core.multiarray._reconstruct
    _ALLOWED[(_np, "scalar")] = np.core.multiarray.scalar


class _StorageType:
    """What a pickle's `torch.FloatStorage` means here: a dtype for persistent_load, no code."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, source: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.source = archive, prefix, source
        self.storages: dict[str, torch.storage.TypedStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        return _stand_in(module, name, self.source)

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise CheckpointError(f"{self.source}: unknown persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType):
            raise CheckpointError(f"{self.source}: storage of unknown type {kind!r:.80}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self.storages:
            self.storages[key] = self._storage(key, kind.dtype, int(numel))
        return self.storages[key]

    def _storage(self, key: str, dtype: torch.dtype, numel: int) -> torch.storage.TypedStorage:
        entry = f"{self.prefix}data/{key}"
        try:
            raw = bytearray(self.archive.read(entry))
        except KeyError:
            raise CheckpointError(f"{self.source}: storage {entry} is missing") from None
        size = torch.empty(0, dtype=dtype).element_size() * numel
        if len(raw) < size:
            raise CheckpointError(f"{self.source}: storage {entry} is shorter than recorded")
        flat = (
            torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        )
        return torch.storage.TypedStorage(
            wrap_storage=flat.untyped_storage(), dtype=dtype, _internal=True
        )


def load_checkpoint(path: str | Path) -> Any:
    """The object a torch zip checkpoint holds, rebuilt from data only (module docstring).

    Tensors come back as CPU tensors; objects of untrusted classes as `Inert` records. Raises
    UnsafeCheckpoint when the pickle would call anything outside the allow-list, and
    CheckpointError when the file is not a readable torch zip; both messages name the file.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"{path}: not a torch zip checkpoint ({err}); RecLens reads files written by "
            "torch.save in its default zip format (torch >= 1.6)"
        ) from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: expected one NAME/data.pkl in the zip")
        prefix = pickles[0][: -len("data.pkl")]
        order = (
            archive.read(f"{prefix}byteorder")
            if f"{prefix}byteorder" in archive.namelist()
            else b"little"
        )
        if order.strip() != b"little":
            raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
        reader = _Reader(archive.read(pickles[0]), archive, prefix, str(path))
        try:
            return reader.load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as err:
            raise CheckpointError(
                f"{path}: unreadable pickle ({type(err).__name__}: {err})"
            ) from None
