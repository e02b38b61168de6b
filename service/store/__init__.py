"""Graph stores: one interface (base.Store), an embedded Oxigraph store and a remote SPARQL 1.1 store."""

from __future__ import annotations

from .base import InputRefused, LoadError, QueryTimeout, Rows, Store, StoreError, StoreLocked
from .formats import FORMATS, RDFFormat, format_for

__all__ = [
    "FORMATS",
    "InputRefused",
    "LoadError",
    "QueryTimeout",
    "RDFFormat",
    "Rows",
    "Store",
    "StoreError",
    "StoreLocked",
    "format_for",
    "open_store",
]


def open_store(settings):  # type: ignore[no-untyped-def]
    """The store the settings ask for: remote when an endpoint is set, else embedded."""
    if settings.endpoint:
        from .remote import RemoteStore

        return RemoteStore.from_settings(settings)
    from .embedded import EmbeddedStore

    return EmbeddedStore(settings.data_dir)
