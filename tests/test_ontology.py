"""The vocabulary: alignment targets exist, no class sits under a metaclass or a process concept,
every term is documented, every aims: term used anywhere is declared, and the whole passes OWL RL;
and the service answers it as linked data (/ontology) where the w3id.org rules (docs/w3id/) lead."""

from __future__ import annotations

import json
import re
import warnings

import owlrl
import pytest
from markupsafe import escape
from rdflib import Graph, URIRef
from rdflib import namespace as rdfns
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from service import resources
from service.namespaces import AIMS, AIMS_IRI, declared_terms

from .conftest import EXAMPLE_FILES, ROOT, parse_all

# Namespaces with an offline copy in vendor/vocab: every IRI used from them must be defined there.
VOCAB_NAMESPACES = (
    "https://w3id.org/airo#",
    "https://w3id.org/dpv#",
    "https://w3id.org/dpv/risk#",
    "https://w3id.org/dpv/ai#",
    "https://w3id.org/dpv/tech#",
    "https://w3id.org/dpv/legal/eu/aiact#",
)
# W3C vocabularies rdflib knows term by term (closed namespaces); DCAT 3 adds dcat:version.
RDFLIB_NAMESPACES = {str(ns): ns for ns in (rdfns.PROV, rdfns.ORG, rdfns.DCAT, rdfns.DCTERMS, rdfns.SKOS)}
DCAT3_TERMS = {"http://www.w3.org/ns/dcat#version"}
ALIGNMENT_PREDICATES = (
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    SKOS.closeMatch,
    SKOS.exactMatch,
    SKOS.relatedMatch,
    SKOS.broadMatch,
    SKOS.narrowMatch,
)
FORBIDDEN_ANCESTORS = (RDFS.Class, URIRef("https://w3id.org/dpv/risk#RiskManagement"))


def external_targets(g: Graph) -> set[URIRef]:
    return {
        o
        for p in ALIGNMENT_PREDICATES
        for s, o in g.subject_objects(p)
        if isinstance(o, URIRef) and str(s).startswith(AIMS_IRI) and not str(o).startswith(AIMS_IRI)
    }


def used_iris(g: Graph) -> set[URIRef]:
    return {t for triple in g for t in triple if isinstance(t, URIRef)}


def test_alignment_targets_exist(ontology: Graph, vocab: Graph) -> None:
    missing = []
    for target in sorted(used_iris(ontology)):
        iri = str(target)
        if iri.startswith(VOCAB_NAMESPACES):
            if (target, None, None) not in vocab:
                missing.append(iri)
        for ns_iri, ns in RDFLIB_NAMESPACES.items():
            if iri.startswith(ns_iri) and iri not in DCAT3_TERMS:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    try:
                        getattr(ns, iri[len(ns_iri) :])
                    except (AttributeError, UserWarning):
                        missing.append(iri)
    assert not missing, f"IRIs not defined by their vocabulary: {missing}"
    assert external_targets(ontology), "the ontology aligns with nothing"


def test_no_subclass_of_metaclass_or_process(ontology: Graph, vocab: Graph) -> None:
    both = ontology + vocab
    bad = []
    for cls, parent in ontology.subject_objects(RDFS.subClassOf):
        if not str(cls).startswith(AIMS_IRI):
            continue
        ancestors = set(both.transitive_objects(parent, RDFS.subClassOf))
        if ancestors & set(FORBIDDEN_ANCESTORS):
            bad.append((cls, parent))
    assert not bad, f"subclass of a metaclass or process concept: {bad}"


def test_known_traps_are_not_used_as_parents(ontology: Graph) -> None:
    for trap in (
        "https://w3id.org/dpv/tech#Documentation",
        "https://w3id.org/dpv/risk#RiskSource",
        "https://w3id.org/dpv/risk#RiskOwner",
    ):
        assert (None, RDFS.subClassOf, URIRef(trap)) not in ontology


def test_no_dpv_owl_namespace(ontology: Graph) -> None:
    assert not [i for i in used_iris(ontology) if str(i).startswith("https://w3id.org/dpv/owl")]


def test_every_term_documented(ontology: Graph) -> None:
    undocumented = []
    for name in sorted(declared_terms()):
        term = URIRef(AIMS_IRI + name)
        for prop in (RDFS.label, SKOS.definition, DCTERMS.source):
            if ontology.value(term, prop) is None:
                undocumented.append(f"aims:{name} has no {prop.n3()}")
    assert not undocumented, "\n".join(undocumented)


def test_header(ontology: Graph) -> None:
    header = URIRef("https://w3id.org/aims")
    assert (header, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(header, OWL.versionIRI) is not None
    assert ontology.value(header, OWL.versionInfo) is not None
    assert (
        str(ontology.value(header, URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix"))) == "aims"
    )


def _aims_iris_in_text(text: str) -> set[str]:
    full = set(re.findall(r"<https://w3id\.org/aims#([A-Za-z0-9_]+)>", text))
    prefixed = set(re.findall(r"(?<![\w:])aims:([A-Za-z][A-Za-z0-9_]*)", text))
    return full | prefixed


@pytest.mark.parametrize(
    "path",
    EXAMPLE_FILES
    + sorted((ROOT / "examples").glob("*/*.ttl"))
    + resources.shape_files()
    + resources.query_files(),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_hygiene_aims_terms_declared(path) -> None:
    used = _aims_iris_in_text(path.read_text(encoding="utf-8"))
    undeclared = sorted(used - declared_terms())
    assert not undeclared, f"{path.name} uses undeclared aims: terms {undeclared}"


def test_owl_rl_closure_is_consistent(ontology: Graph, example: Graph) -> None:
    g = ontology + example
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    errors = list(g.objects(None, URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")))
    assert not errors, errors
    assert not list(g.subjects(RDF.type, OWL.Nothing)), "something is typed owl:Nothing"
    # the closure did real work: the example's AI systems are AIRO AI systems by subclassing
    assert (
        URIRef("https://aurora-lending.example/aims/credit-scorer"),
        RDF.type,
        URIRef("https://w3id.org/airo#AISystem"),
    ) in g


def test_owl_rl_catches_a_broken_disjointness(ontology: Graph) -> None:
    """The consistency check can fail: a finding that is both an observation and a nonconformity."""
    bad = Graph().parse(
        data="""
        @prefix aims: <https://w3id.org/aims#> .
        <urn:x:f> a aims:Observation, aims:MajorNonconformity .""",
        format="turtle",
    )
    g = ontology + bad
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    assert list(g.objects(None, URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")))


def test_example_parses_with_every_file() -> None:
    assert len(parse_all(EXAMPLE_FILES)) > 1000


# Terms about the catalogue, the shapes or validation itself: organisations never write them.
NOT_FOR_ORGANISATIONS = {
    "AIRole", "ActionStatus", "Audit", "AuditOutcome", "AuditStage", "CertificationAudit",
    "ClauseRequirement", "Comparator", "ContextIssue", "Control", "ControlGroup", "ControlObjective",
    "DocumentStatus", "DocumentationRequirement", "Finding", "ImpactScope", "ImplementationStatus",
    "LeafClause", "LifecycleStage", "Nonconformity", "PDCAPhase", "ReferenceControl", "Requirement",
    "TreatmentOption", "ValidationContext", "asOf", "asksFor", "auditStage", "checksRequirement",
    "documentationExpected", "documentationKind", "hasObjective", "lookbackStart", "mandatory",
    "ordinal", "pdcaPhase", "placeholder", "requirementPath", "ReviewInputKind", "typicalArtefact",
    # life-cycle phases: the ontology groups the stages, rules say where they apply (shapes/)
    "LifecyclePhase", "lifecyclePhase", "appliesInPhase",
    # an own risk matrix is optional (the example scores by likelihood x severity); it is shown in
    # tests/data/conformance/a-risk-arithmetic.ttl
    "RiskMatrixCell", "riskMatrixCell", "cellLikelihood", "cellSeverity", "cellLevel",
    # written by the service when a file or link is attached (POST /files; tests/test_files.py)
    "file", "fileName", "uploadedBy",
    # written by the service when a snapshot is taken (service/snapshots.py; tests/test_snapshots.py)
    "Snapshot", "asOfDay", "frozenGraph",
    # the crosswalks' catalogues and mappings (ontology/eu-ai-act.ttl, nist-ai-rmf.ttl, mappings.ttl)
    "Framework", "FrameworkItem", "FrameworkRequirement", "inFramework", "appliesToRole", "appliesToClass",
    "Mapping", "mappingSubject", "mappingPredicate", "mappingObject", "mappingJustification", "AIActClass",
}  # fmt: skip


def test_every_modelling_term_is_used_in_the_examples(ontology: Graph) -> None:
    """Each class and property an organisation writes appears in examples/ (abstract parents,
    value-scheme classes and catalogue or validation terms excepted above)."""
    examples = Graph()
    for path in sorted((ROOT / "examples").rglob("*.ttl")):
        examples.parse(path)
    used = {
        t for triple in examples for t in triple if isinstance(t, URIRef) and str(t).startswith(str(AIMS))
    }
    declared = {
        s
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology.subjects(RDF.type, kind)
        if isinstance(s, URIRef) and str(s).startswith(str(AIMS))
    }
    unused = {str(t)[len(str(AIMS)) :] for t in declared - used} - NOT_FOR_ORGANISATIONS
    assert not unused, sorted(unused)


# ------------------------------------------------------------------------------ served as linked data
# /ontology, /ontology/{term} and /ontology/iso42001 (service/http/ontology.py), and the w3id rules
# that lead there (docs/w3id/).

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_MEDIA = {  # media type -> rdflib's parser
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}
RISK_LEVEL = URIRef(AIMS_IRI + "riskLevel")


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    from service.http import create_app
    from service.store.embedded import EmbeddedStore

    return create_app({}, store=EmbeddedStore()).test_client()


@pytest.fixture(scope="module")
def modules() -> Graph:
    """The vocabulary alone, as the service should serve it: aims-*.ttl, without the catalogue."""
    return parse_all(resources.files("ontology", "aims-*.ttl"))


@pytest.fixture(scope="module")
def page(client) -> str:  # type: ignore[no-untyped-def]
    r = client.get("/ontology", headers={"Accept": BROWSER})
    assert r.status_code == 200 and r.mimetype == "text/html"
    return str(r.get_data(as_text=True))


def _served(client, path: str, media: str) -> Graph:  # type: ignore[no-untyped-def]
    r = client.get(path, headers={"Accept": media})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == media and "Accept" in r.headers.get("Vary", "")
    return Graph().parse(data=r.data, format=RDF_MEDIA[media])


@pytest.mark.parametrize("media", RDF_MEDIA)
def test_ontology_served_in_each_rdf_format_is_the_files(client, modules: Graph, media: str) -> None:  # type: ignore[no-untyped-def]
    assert isomorphic(_served(client, "/ontology", media), modules)


def test_ontology_json_ld_is_compacted_with_the_context(client) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(client.get("/ontology", headers={"Accept": "application/ld+json"}).data)
    assert body["@context"]["aims"] == AIMS_IRI
    assert client.get("/ontology?format=json-ld").mimetype == "application/ld+json"


def test_ontology_any_client_gets_turtle(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/ontology", headers={"Accept": "*/*"}).mimetype == "text/turtle"


@pytest.mark.parametrize("media", ["text/turtle", "application/ld+json"])
def test_ontology_catalogue_in_rdf(client, media: str) -> None:  # type: ignore[no-untyped-def]
    catalogue = Graph().parse(resources.folder("ontology") / "iso42001.ttl")
    assert isomorphic(_served(client, "/ontology/iso42001", media), catalogue)


def _block(page: str, tag: str, anchor: str) -> str:
    found = re.search(rf'<{tag} id="{re.escape(anchor)}">(.*?)</{tag}>', page, re.S)
    assert found, f"no <{tag} id={anchor!r}> on the page"
    return found.group(1)


def test_ontology_page_describes_terms_picked_by_hand(page: str) -> None:
    # ontology/aims-risk.ttl line 14
    risk = _block(page, "article", "Risk")
    assert "AI risk" in risk
    assert (
        str(
            escape(
                "A possible event or condition, arising from the development, provision or use of AI, whose "
                "uncertain effect matters to the organisation's objectives or to interested parties."
            )
        )
        in risk
    )
    assert 'href="https://w3id.org/airo#Risk"' in risk  # its superclass
    assert 'href="#hasTreatment"' in risk  # a property whose domain it is
    assert 'href="/ontology/iso42001#clause-6.1.2"' in risk  # its source
    # ontology/aims-risk.ttl line 79
    level = _block(page, "article", "riskLevel")
    assert "risk level" in level and "functional" in level
    assert (
        "The level of the risk before treatment, as the risk criteria compute it from likelihood and "
        "severity (their product on the default 5x5 matrix)."
    ) in level
    assert "xsd:integer" in level  # its range
    # ontology/aims-core.ttl line 46: domain aims:AIManagementSystem (line 30), which lists it back
    assert 'href="#AIManagementSystem"' in _block(page, "article", "hasScopeDecision")
    assert 'href="#hasScopeDecision"' in _block(page, "article", "AIManagementSystem")
    # ontology/aims-risk.ttl line 149: a value of the scheme aims:ImpactScopes
    individuals = _block(page, "tr", "Individuals")
    assert "individuals" in individuals and "Single persons affected by the AI system." in individuals
    assert 'id="Individuals"' in _block(page, "article", "ImpactScopes")


def test_ontology_page_has_an_anchor_for_every_term(page: str, modules: Graph) -> None:
    anchors = re.findall(r'id="([^"]+)"', page)
    assert len(anchors) == len(set(anchors)), "an anchor is used twice"
    terms = {str(s)[len(AIMS_IRI) :] for s in modules.subjects() if str(s).startswith(AIMS_IRI)}
    assert not terms - set(anchors)
    for heading in ("Classes", "Object properties", "Datatype properties", "Concept schemes"):
        assert f">{heading}</h2>" in page
    assert "<script" not in page and "static/style.css" in page


def test_ontology_term_in_rdf_is_its_own_triples(client, modules: Graph) -> None:  # type: ignore[no-untyped-def]
    g = _served(client, "/ontology/riskLevel", "text/turtle")
    assert set(g) == set(modules.triples((RISK_LEVEL, None, None))) and len(g) > 3
    assert set(_served(client, "/ontology/riskLevel", "application/ld+json")) == set(g)


def test_ontology_term_follows_blank_nodes(client) -> None:  # type: ignore[no-untyped-def]
    # ontology/aims-core.ttl line 189: aims:DateOrMonth owl:equivalentClass [ owl:unionOf ( ... ) ]
    g = _served(client, "/ontology/DateOrMonth", "application/n-triples")
    union = g.value(g.value(URIRef(AIMS_IRI + "DateOrMonth"), OWL.equivalentClass), OWL.unionOf)
    assert list(Collection(g, union)) == [
        rdfns.XSD.date,
        rdfns.XSD.gYearMonth,
        rdfns.XSD.gYear,
        rdfns.XSD.dateTime,
    ]


def test_ontology_term_in_a_browser_is_a_303_to_its_anchor(client) -> None:  # type: ignore[no-untyped-def]
    for r in (
        client.get("/ontology/riskLevel", headers={"Accept": BROWSER}),
        client.get("/ontology/riskLevel?format=html"),
    ):
        assert r.status_code == 303 and r.headers["Location"] == "/ontology#riskLevel"


def test_ontology_unknown_term_is_a_404_problem(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/ontology/riskLevl", headers={"Accept": "text/turtle"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.get_json()["status"] == 404 and "riskLevl" in r.get_json()["detail"]


@pytest.mark.parametrize("path", ["/ontology", "/ontology/riskLevel", "/ontology/iso42001"])
def test_ontology_format_not_offered_is_406(client, path: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.mimetype == "application/problem+json"


def test_ontology_catalogue_page_lists_clauses_and_controls(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/ontology/iso42001", headers={"Accept": BROWSER})
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    # ontology/iso42001.ttl line 285: iso42001:A.6.2.4 "A.6.2.4 Verification and validation"
    control = _block(page, "tr", "A.6.2.4")
    assert "A.6.2.4" in control and "Verification and validation" in control
    assert "Defining the AI risk assessment process" in _block(page, "tr", "clause-6.1.2")


def test_ontology_needs_no_token(modules: Graph) -> None:
    """What w3id.org redirects to stays public when reads need a token."""
    from service.http import create_app
    from service.store.embedded import EmbeddedStore

    closed = create_app({"tokens": "rd=reader", "read_requires_token": True}, store=EmbeddedStore())
    assert closed.test_client().get("/ontology", headers={"Accept": "text/turtle"}).status_code == 200


def test_w3id_rules_name_each_media_type() -> None:
    from service.http.ontology import OFFERED

    htaccess = (ROOT / "docs" / "w3id" / ".htaccess").read_text(encoding="utf-8")
    unescaped = htaccess.replace("\\", "")
    for media in ("text/html", "text/turtle", "application/rdf+xml", "application/ld+json"):
        assert f"%{{HTTP_ACCEPT}} {media}" in unescaped, media
    assert set(re.findall(r"\?format=([\w-]+)", htaccess)) == set(OFFERED.values())
    assert "R=303" in htaccess and "RewriteRule ^$ " in htaccess and "RewriteRule ^iso42001$ " in htaccess
    assert "https://aims-graph.example.org" in (ROOT / "docs" / "w3id" / "README.md").read_text(
        encoding="utf-8"
    )
