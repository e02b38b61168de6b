"""Expensive work needs a role or a budget (issue 18, item 9): the reference engine and inference
are for editors (403 otherwise); a caller without the editor role may have validation worked out
for a few different days a minute (429 with Retry-After past it; a day already worked out is
free); and no validation holds a cheap read: /health, a register page and a report already
worked out answer at once while a slow validation runs on another thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from service import validation
from service.http import create_app
from service.store.embedded import EmbeddedStore
from service.validation import incremental

from .conftest import load_example

EDITOR = {"Authorization": "Bearer t-editor"}
READER = {"Authorization": "Bearer t-reader"}
BROWSER = {"Accept": "text/html"}
AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    return load_example(EmbeddedStore())


def app_client(store: EmbeddedStore, **settings: object) -> FlaskClient:
    return create_app({"tokens": "t-editor=editor,t-reader=reader", **settings}, store=store).test_client()


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    return response.get_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("query", [{"engine": "pyshacl"}, {"inference": "rdfs"}, {"inference": "owlrl"}])
def test_the_reference_engine_and_inference_need_the_editor_role(store: EmbeddedStore, query: dict) -> None:  # type: ignore[type-arg]
    client = app_client(store)
    for headers in ({}, READER):  # anonymous and a reader: refused before any work
        body = problem(client.get("/validate", query_string={"as_of": AS_OF, **query}, headers=headers), 403)
        assert "editor role" in body["detail"]


def test_an_editor_may_run_the_reference_engine(store: EmbeddedStore) -> None:
    client = app_client(store)
    response = client.get("/validate", query_string={"as_of": AS_OF, "engine": "pyshacl"}, headers=EDITOR)
    assert response.status_code == 200
    # 17 planted gaps (examples/README.md): the reference engine reports them as Violations too
    assert not response.get_json()["conforms"]


def test_a_budget_of_days_for_callers_below_editor(store: EmbeddedStore) -> None:
    client = app_client(store, validation_days=2)
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    for day in days[:2]:  # two different days in the minute: within the budget
        assert client.get("/validate", query_string={"as_of": day}).status_code == 200
    # the same days again: already worked out, free (and not counted twice)
    assert client.get("/gap-analysis", query_string={"as_of": days[0]}).status_code == 200
    assert client.get("/", query_string={"as_of": days[1]}, headers=BROWSER).status_code == 200
    # a third day in the minute: 429, with how long to wait
    refused = client.get("/validate", query_string={"as_of": days[2]})
    problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    problem(client.get("/", query_string={"as_of": days[2]}, headers=BROWSER), 429)  # the pages alike
    problem(client.get("/readiness", query_string={"as_of": days[2], "stage": "1"}), 429)
    # a reader's token is a budget of its own; an editor has none
    assert client.get("/validate", query_string={"as_of": days[2]}, headers=READER).status_code == 200
    assert client.get("/validate", query_string={"as_of": "2026-11-04"}, headers=EDITOR).status_code == 200
    # a day worked out for someone else is free for everyone
    assert client.get("/validate", query_string={"as_of": days[2]}).status_code == 200


@pytest.fixture
def slow_validation(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Every validation waits (up to 20 s) for `release` after doing its work: a slow one."""
    real = validation.validate
    started, release = threading.Event(), threading.Event()

    def slow(store, as_of=None, stage=None, **others):  # type: ignore[no-untyped-def]
        report = real(
            store, as_of=as_of, stage=stage
        )  # the store engine's work; the engine asked for is not the point
        started.set()
        release.wait(20)
        return report

    def slowed(real_one):  # type: ignore[no-untyped-def]
        def slow_one(*args, **kwargs):  # type: ignore[no-untyped-def]
            found = real_one(*args, **kwargs)
            started.set()
            release.wait(20)
            return found

        return slow_one

    monkeypatch.setattr(validation, "validate", slow)
    # the pages' reports are worked out incrementally (service/validation/incremental.py): slow too
    monkeypatch.setattr(incremental, "validate", slowed(incremental.validate))
    monkeypatch.setattr(incremental, "revalidate", slowed(incremental.revalidate))
    yield started, release
    release.set()


def quick(client: FlaskClient, target: str, **kwargs: object) -> int:
    began = time.monotonic()
    status = client.get(target, **kwargs).status_code  # type: ignore[arg-type]
    took = time.monotonic() - began
    assert took < 3, f"{target} waited {took:.1f} s behind a validation"
    return status


@pytest.mark.parametrize(
    "slow_request",
    [
        ("/validate", {"as_of": "2026-10-01", "engine": "pyshacl", "inference": "owlrl"}, EDITOR),
        ("/validate", {"as_of": "2026-10-02"}, {}),
        ("/", {"as_of": "2026-10-03"}, BROWSER),
    ],
    ids=["reference engine", "store engine", "dashboard"],
)
@pytest.mark.timing
def test_no_validation_holds_a_cheap_read(
    store: EmbeddedStore,
    slow_validation: tuple[threading.Event, threading.Event],
    slow_request: tuple,  # type: ignore[type-arg]
) -> None:
    client = app_client(store)
    started, release = slow_validation
    # worked out before the slow one starts: what a reader asks for next is in the cache
    release.set()
    for target, query in (
        ("/gap-analysis", {"as_of": AS_OF}),
        ("/readiness", {"as_of": AS_OF, "stage": "2"}),
    ):
        assert client.get(target, query_string=query).status_code == 200
    assert client.get("/risks", headers=BROWSER).status_code == 200
    started.clear()
    release.clear()
    target, query, headers = slow_request
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(
            app_client(store).get(target, query_string=query, headers=headers).status_code
        )
    )
    worker.start()
    try:
        assert started.wait(120), "the slow validation did not start"
        assert not done  # it is still running
        assert quick(client, "/health") == 200
        assert quick(client, "/risks", headers=BROWSER) == 200
        assert quick(client, "/systems", query_string={"format": "json"}) == 200
        assert quick(client, "/gap-analysis", query_string={"as_of": AS_OF}) == 200
        assert quick(client, "/readiness", query_string={"as_of": AS_OF, "stage": "2"}) == 200
        assert quick(client, "/validate", query_string={"as_of": AS_OF}) == 200
        assert not done  # all of that while it ran
    finally:
        release.set()
        worker.join(60)
    assert done == [200]
