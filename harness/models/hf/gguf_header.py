"""What a GGUF file says about its model, read from the header alone (no weights, no transformers).

A GGUF file starts with key/value metadata and a table of tensor names and shapes. That is enough for a
model's identity (parameter count, context length, architecture), so an adapter for a GGUF file can report
it, and a run answered by the response cache can finish, without the slow GGUF -> torch conversion.
`gguf.GGUFReader` reads the same header but decodes every vocabulary array into Python objects (seconds to
a minute for a 150k-token vocabulary); this reader skips arrays it does not need.
"""
from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

# value type -> struct format of a scalar (GGUF spec); 8 is a string and 9 an array
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9

# GGUF architecture -> the transformers class its conversion builds, for the architectures where the
# header's facts were checked against the converted model (tests/integration/test_lazy_load.py); any other
# file is converted to learn its identity.
CAUSAL_LM_CLASSES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gemma3": "Gemma3ForCausalLM"}


@dataclass
class GGUFHeader:
    """Scalar and string metadata (arrays are skipped) and each tensor's element count."""

    metadata: dict[str, object] = field(default_factory=dict)
    tensor_elements: dict[str, int] = field(default_factory=dict)


class _Cursor:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer, self.at = buffer, 0

    def take(self, fmt: str) -> object:
        (value,) = struct.unpack_from("<" + fmt, self.buffer, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value

    def string(self) -> str:
        length = self.take("Q")
        text = bytes(self.buffer[self.at:self.at + length]).decode("utf-8", errors="replace")
        self.at += length
        return text

    def skip_strings(self, count: int) -> None:
        for _ in range(count):
            (length,) = struct.unpack_from("<Q", self.buffer, self.at)
            self.at += 8 + length

    def value(self, kind: int) -> object:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.take("I"), self.take("Q")
            if item == _STRING:
                self.skip_strings(count)
            elif item in _SCALARS:
                self.at += count * struct.calcsize("<" + _SCALARS[item])
            else:  # arrays of arrays: walk them
                for _ in range(count):
                    self.value(item)
            return None
        return self.take(_SCALARS[kind])


def read_header(path: Path) -> GGUFHeader:
    """The header of a GGUF file (version 2 or 3). Raises ValueError for anything else."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
        cursor = _Cursor(buffer)
        if bytes(buffer[:4]) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        cursor.at = 4
        version = cursor.take("I")
        if version not in (2, 3):
            raise ValueError(f"{path}: GGUF version {version} is not supported")
        tensors, keys = cursor.take("Q"), cursor.take("Q")
        header = GGUFHeader()
        for _ in range(keys):
            key = cursor.string()
            kind = cursor.take("I")
            if kind not in _SCALARS and kind not in (_STRING, _ARRAY):
                raise ValueError(f"{path}: unknown GGUF value type {kind} for {key}")
            value = cursor.value(kind)
            if value is not None:
                header.metadata[key] = value
        for _ in range(tensors):
            name = cursor.string()
            dims = [cursor.take("Q") for _ in range(cursor.take("I"))]
            cursor.take("I")  # the tensor's quantisation type
            cursor.take("Q")  # its offset in the data section
            header.tensor_elements[name] = math.prod(dims)
        return header
