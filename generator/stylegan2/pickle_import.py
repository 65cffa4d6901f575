"""Read a stylegan2-ada-pytorch snapshot pickle as plain data, never running anything it carries.

Those pickles store each network as a call to `torch_utils.persistence._reconstruct_persistent_obj`
with a dict holding the Python source of the network's module (`module_src`), the class name and the
object's state; the official loader `exec`s that source. Here `find_class` hands the pickle machine
only the few functions needed to rebuild data, each a small checked stand-in:
- the persistence function becomes `PersistentRecord(class_name, state)`: module_src is dropped unread;
- tensors and parameters: torch's rebuild functions, storages through `torch.load(weights_only=True)`;
- numpy scalars, dtypes and arrays; `collections.OrderedDict`; `builtins.set`;
- `dnnlib.util.EasyDict` becomes a plain dict.
Any other global (os.system, builtins.exec, a class of the file's own) is refused with an error that
names it, before anything is called.
"""
from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import torch


class SnapshotError(ValueError):
    """The file is not a snapshot Figment can import; the message says why in one line."""


class RefusedGlobal(SnapshotError, pickle.UnpicklingError):
    """The pickle asked for a global that is not on the allow-list."""


@dataclass
class PersistentRecord:
    """A persistent network object of the official code, as data: its class name and its state
    (the module's __dict__: _parameters, _buffers, _modules, _init_kwargs, ...)."""

    class_name: str
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})


class PlainDict(dict):
    """What an EasyDict becomes: a dict, with a __dict__ so pickle's BUILD step has somewhere to go."""


def _persistent_record(meta: Any) -> PersistentRecord:
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str):
        raise SnapshotError("a persistent object in the file has no class name")
    if meta.get("type", "class") != "class":
        raise SnapshotError(f"unsupported persistent object type {meta.get('type')!r}")
    state = meta.get("state")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise SnapshotError(f"the state of {meta['class_name']} is not a dict")
    return PersistentRecord(meta["class_name"], dict(state))  # module_src is never looked at


def _storage_from_bytes(data: Any) -> Any:
    if not isinstance(data, (bytes, bytearray)):
        raise SnapshotError("a tensor storage in the file is not bytes")
    return torch.load(io.BytesIO(data), weights_only=True)  # torch's own restricted unpickler


def _is_storage(obj: Any) -> bool:
    return isinstance(obj, (torch.storage.TypedStorage, torch.storage.UntypedStorage))


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                    hooks: Any = None, metadata: Any = None) -> torch.Tensor:
    if not _is_storage(storage) or not isinstance(offset, int):
        raise SnapshotError("a tensor in the file has no valid storage")
    if not all(isinstance(v, int) for v in (*size, *stride)) or hooks or metadata:
        raise SnapshotError("a tensor in the file has an invalid shape or carries hooks")
    return torch._utils._rebuild_tensor_v2(storage, offset, tuple(size), tuple(stride), False, OrderedDict())


def _rebuild_parameter(data: Any, requires_grad: Any = False, hooks: Any = None, state: Any = None) -> torch.Tensor:
    if not isinstance(data, torch.Tensor) or hooks or state:
        raise SnapshotError("a parameter in the file is not a plain tensor")
    return data  # a plain tensor is all the importer needs


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise SnapshotError("a numpy scalar in the file has an unsupported type")
    return np.frombuffer(data, dtype=dtype, count=1)[0] if isinstance(data, bytes) else dtype.type(0)


def _numpy_reconstruct(cls: Any, shape: Any, dtype: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise SnapshotError("a numpy array in the file is of an unsupported class")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _set(items: Any = ()) -> set:
    return set(items)


def _numpy_dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
    if not isinstance(spec, str):
        raise SnapshotError("a numpy dtype in the file is not named by a string")
    dtype = np.dtype(spec)
    if dtype.hasobject:
        raise SnapshotError("object arrays are refused")
    return dtype


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_record,
    ("dnnlib.util", "EasyDict"): PlainDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): _set,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused: the file asks for {module}.{name}, which a network snapshot "
                                f"does not need (nothing from the file was run)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise SnapshotError("refused: the file uses persistent ids, which a snapshot pickle does not")


def read_snapshot(handle: BinaryIO) -> Any:
    """The whole pickle as data (dicts, lists, tensors, PersistentRecords), or SnapshotError."""
    try:
        return SafeUnpickler(handle).load()
    except SnapshotError:
        raise
    except (pickle.UnpicklingError, EOFError) as error:
        raise SnapshotError(f"not a readable pickle (truncated or damaged): {error or 'unexpected end of file'}") from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, RuntimeError, MemoryError,
            OverflowError, UnicodeDecodeError) as error:
        raise SnapshotError(f"not a readable snapshot pickle: {type(error).__name__}: {error}") from None


def flatten(record: PersistentRecord, prefix: str = "", seen: set[str] | None = None,
            classes: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """The official state_dict of a record tree: dotted names -> tensors. `classes`, when given,
    collects each submodule's class name by its dotted prefix."""
    out: dict[str, torch.Tensor] = {}
    if classes is not None:
        classes[prefix.rstrip(".")] = record.class_name
    for group in ("_parameters", "_buffers"):
        items = record.state.get(group) or {}
        if not isinstance(items, dict):
            raise SnapshotError(f"{record.class_name} has a bad {group}")
        for name, value in items.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise SnapshotError(f"{prefix}{name} is not a tensor")
            out[f"{prefix}{name}"] = value
    modules = record.state.get("_modules") or {}
    for name, child in modules.items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise SnapshotError(f"{prefix}{name} is not a network module of the official code")
        out.update(flatten(child, f"{prefix}{name}.", classes=classes))
    return out
