"""The HTTP service: a Flask application factory and one blueprint per concern."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app

from .. import config, queries, validation
from ..history import History
from ..store import Store, open_store
from . import audit, auth, errors
from .errors import Problem


def create_app(overrides: Mapping[str, Any] | None = None, store: Store | None = None) -> Flask:
    """The application: settings from defaults, then AIMS_* environment, then `overrides`."""
    settings = config.load(overrides)
    queries.catalogue()  # parse every named query now: a broken one fails the start, not a request
    validation.shapes_graph()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["aims_settings"] = settings
    app.extensions["aims_tokens"] = auth.load_tokens(settings)
    own_files = store is None  # files beside the data folder (accounts, session key) are its own then
    audit_log = settings.audit_log  # a store handed in keeps a trail file only when one is named
    if store is None:
        store = open_store(settings)
        atexit.register(store.close)
        audit_log = settings.audit_trail()
    store.ensure_catalogue()
    app.extensions["aims_store"] = store
    app.extensions["aims_write_lock"] = threading.Lock()  # one writer at a time; reads run alongside
    app.extensions["aims_audit_log"] = audit_log
    audit.writable(audit_log)  # a service that cannot record its writes does not start
    # what each write changed, for people (service/history.py): beside the data folder when that
    # is the app's own, else a file only when one is named (in memory otherwise)
    app.extensions["aims_history"] = History(settings.history_file() if own_files else settings.history_db)

    errors.register(app)
    audit.register(app)
    from . import graphs, ontology, pages, reports, session, sparql

    session.init_app(app, settings, own_files)  # the signing key, before any blueprint needs it

    app.register_blueprint(audit.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(graphs.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(session.bp)
    app.register_blueprint(ontology.bp)
    from . import history as history_views

    app.register_blueprint(history_views.bp)
    from . import files

    app.register_blueprint(files.bp)
    from . import forms

    app.register_blueprint(forms.bp)  # /new/<kind>, /edit, /delete: forms from the form shapes
    return app


def get_store() -> Store:
    """The store of the running application (views call this, as the Flask tutorial's get_db)."""
    return current_app.extensions["aims_store"]  # type: ignore[no-any-return]


@contextmanager
def write_lock() -> Iterator[None]:
    """One writer at a time, and only while the audit trail can record the write: if it cannot,
    the write is refused (503) before anything is applied, so no write is acknowledged unrecorded."""
    with current_app.extensions["aims_write_lock"]:
        try:
            audit.writable(current_app.extensions["aims_audit_log"])
        except ValueError as e:
            raise Problem(503, "Service Unavailable", f"{e}; nothing was written", "audit-trail") from None
        yield
