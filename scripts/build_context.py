"""Write ontology/context.jsonld, the JSON-LD context of the vocabulary (`make docs` runs it).

Every prefix the project uses, and a term for every aims: property: object properties take IRIs
(`"@type": "@id"`), datatype properties with one XSD range take that datatype, so that compacted
JSON-LD reads `"riskLevel": 15` and `"owner": "https://..."` instead of full IRIs as keys.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rdflib import OWL, RDF, RDFS, XSD, Graph, URIRef  # noqa: E402

from service import resources  # noqa: E402
from service.namespaces import AIMS_IRI, PREFIXES  # noqa: E402

OUT = ROOT / "ontology" / "context.jsonld"


def build() -> dict[str, object]:
    vocabulary = Graph()
    for path in resources.files("ontology", "aims-*.ttl"):
        vocabulary.parse(path)
    terms: dict[str, object] = dict(sorted(PREFIXES.items()))
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in sorted(vocabulary.subjects(RDF.type, kind)):
            if not isinstance(prop, URIRef) or not str(prop).startswith(AIMS_IRI):
                continue
            name = str(prop)[len(AIMS_IRI) :]
            ranges = [r for r in vocabulary.objects(prop, RDFS.range) if str(r).startswith(str(XSD))]
            if kind == OWL.ObjectProperty:
                terms[name] = {"@id": f"aims:{name}", "@type": "@id"}
            elif len(ranges) == 1:
                terms[name] = {"@id": f"aims:{name}", "@type": f"xsd:{str(ranges[0])[len(str(XSD)) :]}"}
            else:
                terms[name] = f"aims:{name}"
    return {"@context": terms}


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
