"""The vocabulary: alignment targets exist, no class sits under a metaclass or a process concept,
every term is documented, every aims: term used anywhere is declared, and the whole passes OWL RL."""

from __future__ import annotations

import re
import warnings

import owlrl
import pytest
from rdflib import Graph, URIRef
from rdflib import namespace as rdfns
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
    "ordinal", "pdcaPhase", "requirementPath", "typicalArtefact",
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
