"""aims-graph: an ISO/IEC 42001 AI management system as a knowledge graph.

Installed, the package imports as ``aims_graph`` (its source lives in ``service/``). The API for
tools, each name below loaded when first used::

    import datetime as dt
    import aims_graph

    store = aims_graph.open_store(data_dir="aims-data")    # or endpoint="http://host/sparql"
    store.load_files([Path("org.ttl")])                      # all or nothing, one graph per file
    report = aims_graph.validate(store, as_of=dt.date(2026, 11, 20))
    report.conforms, [r.message for r in report.results]
    rows = aims_graph.run_query(store, "trace-risk", {"risk": "https://example.org/risk-1"})
    chain = aims_graph.trace(store, "risk", URIRef("https://example.org/risk-1"))
    xlsx = aims_graph.workbook.export(store)                 # the modellers' workbook

``open_store`` takes the settings of ``aims serve`` (``data_dir``, ``endpoint``, ...) as keywords.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "validate": ("validation", "validate"),
    "run_query": ("queries", "run"),
    "trace": ("traces", "trace"),
    "gap_analysis": ("reports", "gap_analysis"),
    "readiness": ("reports", "readiness"),
    "EmbeddedStore": ("store.embedded", "EmbeddedStore"),
    "RemoteStore": ("store.remote", "RemoteStore"),
    "Store": ("store.base", "Store"),
    "workbook": ("workbook", None),
    "oscal": ("oscal", None),
    "traces": ("traces", None),
    "queries": ("queries", None),
}
__all__ = ["__version__", "open_store", *_API]


def open_store(**settings: Any) -> Any:
    """The embedded store in ``data_dir`` (in memory when ``data_dir=None``), or a remote SPARQL
    server when ``endpoint`` is given; the other keywords are those of the service's settings."""
    from . import config
    from .store import open_store as from_settings
    from .store.embedded import EmbeddedStore

    if "data_dir" in settings and settings["data_dir"] is None:
        store = EmbeddedStore()
        store.ensure_catalogue()
        return store
    store = from_settings(config.load(settings, environ={}))
    store.ensure_catalogue()
    return store


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (so ``import aims_graph`` stays light)."""
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _API[name]
    loaded = importlib.import_module(f".{module}", __name__)
    return loaded if attribute is None else getattr(loaded, attribute)
