"""A generic codec between frozen dataclass trees and JSON-ready data, checking keys on the way back.

The schema model, its snapshots in the ledger and the ops of migration files all cross JSON as plain
field-named objects; nothing here knows which classes they are, only their type hints.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def encode(value: Any) -> Any:
    """Encode a frozen dataclass tree as JSON-ready data (tuples become lists)."""
    return _encode(value)


def decode(cls: type[T], data: Any) -> T:
    """Rebuild a frozen dataclass tree of type ``cls`` from :func:`encode` output, checking keys."""
    return typing.cast(T, _decoder(typing.cast(Any, cls))(data))


Decoder = Callable[[Any], Any]


def _same(data: Any) -> Any:
    return data


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """The function that decodes data of type hint ``tp``, built once per hint: a cached 1000-table graph
    is a quarter of a million values, and reading each one's hint again made loading it slow."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(tp) if a is not type(None)))
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])
        if item is _same:
            return tuple
        return lambda data: tuple(map(item, data))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    return _same


def _dataclass_decoder(tp: type) -> Decoder:
    """A decoder of ``tp`` whose field decoders are built on first use: a dataclass may hold itself."""
    fields: dict[str, Decoder] = {}

    def decode_object(data: Any) -> Any:
        if not fields:
            hints = typing.get_type_hints(tp)
            fields.update({f.name: _decoder(hints[f.name]) for f in dataclasses.fields(tp)})
        try:
            return tp(**{k: fields[k](v) for k, v in data.items()})
        except KeyError:
            unknown = set(data) - set(fields)
            if not unknown:
                raise
            raise ValueError(f"unknown keys for {tp.__name__}: {sorted(unknown)}") from None

    return decode_object
