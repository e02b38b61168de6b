"""The vocabulary's namespaces. `AIMS` is closed over the terms the ontology declares, so a
misspelt term in Python code fails loudly instead of silently matching nothing."""

from __future__ import annotations

from functools import cache

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from . import resources

AIMS_IRI = "https://w3id.org/aims#"
ISO_IRI = "https://w3id.org/aims/iso42001#"
SHAPES_IRI = "https://w3id.org/aims/shapes#"

ISO = Namespace(ISO_IRI)
SHAPES = Namespace(SHAPES_IRI)
AIRO = Namespace("https://w3id.org/airo#")
DPV = Namespace("https://w3id.org/dpv#")
ORG = Namespace("http://www.w3.org/ns/org#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")

# The catalogue graph (ontology + ISO catalogue) in the store; read-only.
CATALOGUE_GRAPH = URIRef("https://w3id.org/aims/graph/catalogue")
# The name the service gives the store's default graph (the Graph Store Protocol's `?default`, what
# a SPARQL update without GRAPH writes): one graph however it is reached.
DEFAULT_GRAPH = URIRef("https://w3id.org/aims/graph/default")

PREFIXES = {
    "aims": AIMS_IRI,
    "iso42001": ISO_IRI,
    "euaia": "https://w3id.org/aims/eu-ai-act#",
    "nistrmf": "https://w3id.org/aims/nist-ai-rmf#",
    "eu-aiact": "https://w3id.org/dpv/legal/eu/aiact#",
    "sh-aims": SHAPES_IRI,
    "airo": str(AIRO),
    "dpv": str(DPV),
    "prov": str(PROV),
    "org": str(ORG),
    "dcat": str(DCAT),
    "dcterms": str(DCTERMS),
    "skos": str(SKOS),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}


@cache
def declared_terms() -> frozenset[str]:
    """Local names of every aims: term the ontology declares (typed with rdf:type)."""
    g = Graph()
    for path in resources.files("ontology", "aims-*.ttl"):
        g.parse(path)
    return frozenset(
        str(s)[len(AIMS_IRI) :] for s in g.subjects(RDF.type, None) if str(s).startswith(AIMS_IRI)
    )


class _ClosedNamespace:
    """`AIMS.Risk` -> URIRef; `AIMS.Rsik` -> AttributeError naming the typo."""

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in declared_terms():
            raise AttributeError(f"aims:{name} is not declared in the ontology")
        return URIRef(AIMS_IRI + name)

    def __getitem__(self, name: str) -> URIRef:
        return self.__getattr__(name)

    def __str__(self) -> str:
        return AIMS_IRI


AIMS = _ClosedNamespace()
