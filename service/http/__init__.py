"""The HTTP service: a Flask application factory and one blueprint per concern."""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .. import config, queries, runtime, validation
from ..history import History
from ..store import Store, open_store
from . import (
    audit,
    auth,
    dashboard,
    errors,
    files,
    forms,
    graphs,
    ontology,
    pack,
    pages,
    registers,
    reports,
    resources,
    session,
    snapshots,
    soa,
    sparql,
    traces,
    verdicts,
)
from . import diff as diff_views
from . import history as history_views
from .audit import write_lock
from .state import State, get_store, install, state

# One module per resource, answering all its formats: each adds its views to the pages' blueprint
# (their endpoints stay pages.*) or, for validation, gap analysis and readiness, to the reports'.
RESOURCES = (dashboard, registers, resources, soa, traces, verdicts)


def create_app(overrides: Mapping[str, Any] | None = None, store: Store | None = None) -> Flask:
    """The application: settings from defaults, then AIMS_* environment, then `overrides`."""
    settings = config.load(overrides)
    runtime.collect_cycles_less_often()  # a server run by WSGI, not by `aims serve`, too
    queries.checked()  # parse every named query now: a broken one fails the start, not a request
    validation.shapes_graph()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    tokens = auth.load_tokens(settings)
    own_files = store is None  # files beside the data folder (accounts, session key) are its own then
    audit_log = settings.audit_log  # a store handed in keeps a trail file only when one is named
    if store is None:
        store = open_store(settings)
        atexit.register(store.close)
        audit_log = settings.audit_trail()
    store.ensure_catalogue()
    audit.writable(audit_log)  # a service that cannot record its writes does not start
    # what each write changed, for people (service/history.py): beside the data folder when that
    # is the app's own, else a file only when one is named (in memory otherwise)
    changes = History(settings.history_file() if own_files else settings.history_db)
    install(app, State(settings, store, tokens, audit_log, changes))

    errors.register(app)
    audit.register(app)
    session.init_app(app, settings, own_files)  # the signing key, before any blueprint needs it

    app.register_blueprint(audit.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(graphs.bp)
    # with the views of RESOURCES on them
    app.register_blueprint(reports.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(session.bp)
    app.register_blueprint(ontology.bp)
    app.register_blueprint(history_views.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(snapshots.bp)  # ?snapshot=NAME on every read; /snapshots
    app.register_blueprint(forms.bp)  # /new/<kind>, /edit, /delete: forms from the form shapes
    app.register_blueprint(pack.bp)  # /pack: the audit pack (service/pack.py)
    app.register_blueprint(diff_views.bp)  # /diff?from=&to=: what changed between snapshots (service/diff.py)
    return app


__all__ = ["create_app", "get_store", "state", "write_lock"]
