"""Forms for editors, built from the form shapes (service/forms.py): /new/<kind> and /edit?iri=
(GET the form, POST to save), /delete?iri= (GET asks first and lists what links to the resource,
POST deletes). A save or a delete is one SPARQL update under the write lock, in the audit trail;
then the resource's page, which shows what the rules make of it."""

from __future__ import annotations

from flask import Blueprint, Response, g, make_response, redirect, render_template, request, url_for
from pydantic import Field
from rdflib import URIRef
from rdflib.term import Identifier, Node

from .. import browse, forms, history
from ..namespaces import DEFAULT_GRAPH
from ..store.terms import reserved_graph
from . import audit
from .api import Params, operation
from .audit import write_lock
from .errors import Problem, checked_iri
from .pages import as_of, csrf
from .state import get_store

bp = Blueprint("forms", __name__, template_folder="templates")


@bp.before_request
def _check_form() -> None:
    csrf.protect()  # as the pages' forms: a POST needs the token of the page it came from


def _form(kind: str) -> forms.Form:
    found = forms.forms().get(kind)
    if found is None:
        raise Problem(404, "Not Found", f"no form for {kind!r}; kinds: {', '.join(forms.forms())}", "no-form")
    return found


def _resource(form_kind: str | None = None) -> tuple[URIRef, browse.Resource, forms.Form]:
    """The ?iri= resource, which must exist outside the read-only catalogue, and its form."""
    raw = request.args.get("iri")
    if not raw:
        raise Problem(400, "Missing parameter", "give ?iri=IRI", "bad-parameter")
    iri = checked_iri(raw, "Bad IRI", "bad-parameter")
    store = get_store()
    found = browse.resource(store, iri)
    if not found.exists():
        raise Problem(404, "Not Found", f"nothing in the graph is about {raw}", "unknown-iri")
    if forms.in_catalogue(store, iri):
        raise Problem(403, "Forbidden", f"{raw} is in the read-only catalogue", "read-only-graph")
    form = _form(form_kind) if form_kind else forms.form_for(store, found.types)
    if form is None:
        raise Problem(404, "Not Found", f"no form edits a resource of the types {found.types}", "no-form")
    return iri, found, form


def _render(
    form: forms.Form, values: dict[str, list[str]], problems: dict[str, list[str]], iri: URIRef | None,
    status: int = 200,
) -> Response:  # fmt: skip
    store = get_store()
    options = {f.key: forms.choices(store, f) for f in form.fields if f.choices or f.classes}
    names = browse.labels(store, {v for f in form.fields if f.key in options for v in values.get(f.key, [])})
    for f in form.fields:  # a value held or prefilled that is not among the choices stays visible
        known = {iri for iri, _ in options.get(f.key, [])}
        for v in values.get(f.key, []):
            if f.key in options and v not in known:
                options[f.key].append((v, names[v].text if v in names else v))
    body = render_template(
        "form.html", form=form, values=values, problems=problems, options=options, iri=iri,
        iri_field=forms.IRI_FIELD, as_of=as_of(),
    )  # fmt: skip
    return Response(body, status=status, mimetype="text/html")


def _sent() -> dict[str, list[str]]:
    return {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}


def _touched(form: forms.Form, iri: URIRef, values: dict[str, list[Node]]) -> set[Identifier]:
    """The subjects a save may change: the resource, and those an inverse field links from (what
    they link now, and what the form links)."""
    store = get_store()
    inverse = [f for f in form.fields if f.inverse]
    held = forms.current(store, form, iri) if inverse else {}
    linked = {URIRef(v) for f in inverse for v in held.get(f.key, [])}
    return {iri} | linked | {v for f in inverse for v in values.get(f.key, []) if isinstance(v, URIRef)}


def _save(form: forms.Form, iri: URIRef | None) -> Response:
    """Check the form's values, then write them in one audited update; a bad form is answered
    again (400) with each problem beside its field, and nothing is written."""
    store = get_store()
    sent = _sent()
    checked = forms.check(store, form, sent, new=iri is None)
    if checked.problems:
        return _render(form, sent, checked.problems, iri, 400)
    with write_lock():
        new = iri is None
        # a new IRI given in the form is checked again here: another save may have taken it since
        # `check` (outside the lock), and this one would merge into it
        if new and checked.iri is not None and forms.exists(store, checked.iri):
            return _render(form, sent, {forms.IRI_FIELD: [forms.taken(str(checked.iri))]}, None, 409)
        if new:  # minted under the lock: two saves at once cannot take the same IRI
            iri = checked.iri or forms.mint(store, form, checked.values)
        assert iri is not None
        graph = (None if new else forms.home_graph(store, iri)) or forms.FORMS_GRAPH
        if graph != DEFAULT_GRAPH and reserved_graph(str(graph)):  # the catalogue is read-only
            graph = forms.FORMS_GRAPH
        update = forms.save_update(iri, form, checked.values, graph, new, store.kind == "embedded")
        touched = _touched(form, iri, checked.values)
        before, was = store.count(), history.snapshot(store, touched)
        store.update(update)
        audit.record(
            "form new" if new else "form edit", str(graph), before, store.count(),
            history.diff(was, history.snapshot(store, touched)), iri=str(iri), kind=form.kind,
        )  # fmt: skip
    return make_response(redirect(url_for("pages.resource_page", iri=str(iri)), 303))


class DeleteParams(Params):
    iri: str = Field(description="The resource's IRI")


class EditParams(DeleteParams):
    kind: str | None = Field(None, description="The form to edit it with (default: its type's)")


SENT = ("application/x-www-form-urlencoded",)
REFUSED = {
    400: "A value does not fit its field (the form again, each problem by its field), or no valid CSRF token"
}


@bp.route("/new/<kind>", methods=["GET", "POST"])
@operation(
    "get",
    "A form for a new resource of a kind, from the form shapes; ?FIELD=VALUE fills a field",
    "forms",
    params=Params,
    media=("text/html",),
    others={404: "No form for the kind"},
    role="editor",
)
@operation(
    "post",
    "Save a new resource from its form (one audited update); 303 to its page",
    "forms",
    status=303,
    body=SENT,
    others={**REFUSED, 404: "No form for the kind"},
    role="editor",
)
def new(kind: str) -> Response:
    form = _form(kind)
    if request.method == "POST":
        return _save(form, None)
    values: dict[str, list[str]] = {}
    for key in request.args:  # a prefill: /new/finding?concerns=IRI (the field's key or its name's slug)
        f = form.field(key)
        if f is not None:
            values.setdefault(f.key, []).extend(v for v in request.args.getlist(key) if v)
    return _render(form, values, {}, None)


@bp.route("/edit", methods=["GET", "POST"])
@operation(
    "get",
    "The form of a resource, filled with its current values (?iri=; ?kind= to choose the form)",
    "forms",
    params=EditParams,
    media=("text/html",),
    others={404: "No such resource, or no form for it", 403: "The catalogue is read-only"},
    role="editor",
)
@operation(
    "post",
    "Save a resource's form: the form's properties replaced, its other triples kept (one audited update); 303 to its page",
    "forms",
    params=EditParams,
    status=303,
    body=SENT,
    others={**REFUSED, 404: "No such resource, or no form for it", 403: "The catalogue is read-only"},
    role="editor",
)
def edit() -> Response:
    iri, _, form = _resource(request.args.get("kind"))
    if request.method == "POST":
        return _save(form, iri)
    return _render(form, forms.current(get_store(), form, iri), {}, iri)


@bp.route("/delete", methods=["GET", "POST"])
@operation(
    "get",
    "Asks before deleting a resource (?iri=), listing what links to it",
    "forms",
    params=DeleteParams,
    media=("text/html",),
    others={404: "No such resource", 403: "The catalogue is read-only"},
    role="editor",
)
@operation(
    "post",
    "Delete a resource: every triple it is the subject of, and with links=yes every one it is the object of (one audited update); 303 to the dashboard",
    "forms",
    params=DeleteParams,
    status=303,
    body=SENT,
    others={400: "No valid CSRF token", 404: "No such resource", 403: "The catalogue is read-only"},
    role="editor",
)
def delete() -> Response:
    raw = request.args.get("iri", "")
    iri = checked_iri(raw, "Bad IRI", "bad-parameter") if raw else None
    store = get_store()
    found = browse.resource(store, iri) if iri is not None else None
    if iri is None or found is None or not found.exists():
        raise Problem(404 if raw else 400, "Not Found" if raw else "Missing parameter",
                      f"nothing in the graph is about {raw}" if raw else "give ?iri=IRI", "unknown-iri")  # fmt: skip
    if forms.in_catalogue(store, iri):
        raise Problem(403, "Forbidden", f"{raw} is in the read-only catalogue", "read-only-graph")
    if request.method == "GET":
        g.names = found.names  # the labels `show` links by
        body = render_template("delete.html", found=found, as_of=as_of())
        return Response(body, mimetype="text/html")
    links = request.form.get("links") == "yes"
    update = forms.delete_update(iri, links, store.kind == "embedded")
    with write_lock():
        touched = {iri} | (
            {URIRef(s) for s, _ in browse.resource(store, iri).linked_from} if links else set()
        )
        before, was = store.count(), history.snapshot(store, touched)
        store.update(update)
        audit.record(
            "form delete", None, before, store.count(), history.diff(was, history.snapshot(store, touched)),
            iri=str(iri), links=links,
        )  # fmt: skip
    return make_response(redirect(url_for("pages.dashboard"), 303))
