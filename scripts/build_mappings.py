"""Build ontology/mappings.ttl from the project's crosswalks in ontology/mappings/*.sssom.tsv.

The TSVs are the source (SSSOM TSV: a YAML metadata block on `#` lines, then one mapping a row),
written by hand; this script only turns them into RDF so the service can query them:
- each real mapping as a direct SKOS triple, ISO/IEC 42001 requirement -> framework item;
- each row, sssom:NoTermFound rows included, as an aims:Mapping node with its subject, predicate,
  object, justification and the reason (rdfs:comment), so "unmapped, and why" is queryable.
Run with `python scripts/build_mappings.py`; the output is committed, like ontology/iso42001.ttl.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "ontology" / "mappings"
OUT = ROOT / "ontology" / "mappings.ttl"

AIMS = Namespace("https://w3id.org/aims#")
SSSOM = Namespace("https://w3id.org/sssom/")
SEMAPV = Namespace("https://w3id.org/semapv/vocab/")
NO_TERM_FOUND = SSSOM.NoTermFound

# What the SSSOM schema (sssom_schema.yaml, 1.0/1.1) requires: of a mapping set, mapping_set_id and
# license; of a mapping, subject_id, predicate_id, object_id and mapping_justification. curie_map is
# required here because every id in these files is a CURIE.
REQUIRED_METADATA = ("curie_map", "mapping_set_id", "license")
REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")
# The five SKOS mapping predicates; exact and close carry a status, the others only support one.
PREDICATES = tuple(
    f"skos:{p}" for p in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
)
# The framework each mapping set leads to (aims:inFramework on its mappings), by object prefix.
FRAMEWORKS = {"euaia": AIMS.EUAIAct, "nistrmf": AIMS.NISTAIRMF}


class MappingError(ValueError):
    """A mapping file that is not valid SSSOM TSV or breaks the project's rules; names file and row."""


def read_sssom_tsv(path: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The metadata block and the rows of an SSSOM TSV file (embedded-metadata form)."""
    header: list[str] = []
    body: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not body:
            header.append(line[1:])
        elif line.strip():
            body.append(line)
    metadata = yaml.safe_load("\n".join(header)) or {}
    if not isinstance(metadata, dict):
        raise MappingError(f"{path.name}: the #-block is not a YAML mapping")
    rows = list(csv.DictReader(body, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True))
    return metadata, rows


def check(path: Path, metadata: dict[str, Any], rows: list[dict[str, str]]) -> None:
    """The SSSOM requirements and the project's rules (README in ontology/mappings/)."""
    problems = [f"metadata has no {key}" for key in REQUIRED_METADATA if not metadata.get(key)]
    columns = rows[0].keys() if rows else set()
    problems += [f"no column {c}" for c in REQUIRED_COLUMNS + ("comment",) if c not in columns]
    curie_map = metadata.get("curie_map") or {}
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=1):
        where = f"row {n} ({row.get('subject_id')} -> {row.get('object_id')})"
        if None in row or None in row.values():
            problems.append(f"{where}: wrong number of columns")
            continue
        for column in REQUIRED_COLUMNS + ("comment",):
            if not row[column].strip():
                problems.append(f"{where}: empty {column}")
        for column in ("subject_id", "predicate_id", "object_id", "mapping_justification"):
            prefix = row[column].partition(":")[0]
            if prefix not in curie_map:
                problems.append(f"{where}: {column} prefix {prefix!r} not in curie_map")
        if row["predicate_id"] not in PREDICATES:
            problems.append(f"{where}: predicate {row['predicate_id']} is not one of {', '.join(PREDICATES)}")
        if row["mapping_justification"] != "semapv:ManualMappingCuration":
            problems.append(f"{where}: justification is not semapv:ManualMappingCuration")
        if row["subject_id"] == row["object_id"] == "sssom:NoTermFound":
            problems.append(f"{where}: both sides are sssom:NoTermFound")
        pair = (row["subject_id"], row["object_id"])
        if pair in seen:
            problems.append(f"{where}: the pair appears twice (one row, one predicate per pair)")
        seen.add(pair)
    if problems:
        raise MappingError(f"{path.name}: " + "; ".join(problems))


def expand(curie: str, curie_map: dict[str, str]) -> URIRef:
    prefix, _, local = curie.partition(":")
    return URIRef(curie_map[prefix] + local)


def _local(curie: str) -> str:
    return "none" if curie == "sssom:NoTermFound" else curie.partition(":")[2]


def add_mapping_set(g: Graph, path: Path) -> None:
    metadata, rows = read_sssom_tsv(path)
    check(path, metadata, rows)
    curie_map: dict[str, str] = metadata["curie_map"]
    mapping_set = URIRef(metadata["mapping_set_id"])
    g.add((mapping_set, RDF.type, SSSOM.MappingSet))
    g.add((mapping_set, RDFS.label, Literal(str(metadata.get("mapping_set_title", path.stem)), lang="en")))
    g.add((mapping_set, DCTERMS.license, URIRef(metadata["license"])))
    g.add((mapping_set, DCTERMS.source, Literal(f"ontology/mappings/{path.name}")))
    for label in metadata.get("creator_label") or []:
        g.add((mapping_set, DCTERMS.creator, Literal(label)))
    if metadata.get("mapping_set_version"):
        g.add((mapping_set, OWL.versionInfo, Literal(str(metadata["mapping_set_version"]))))
    if metadata.get("mapping_date"):
        g.add((mapping_set, DCTERMS.issued, Literal(str(metadata["mapping_date"]), datatype=XSD.date)))
    # The framework the set leads to, from its objects' prefix (NoTermFound rows have none of their own).
    prefixes = {r["object_id"].partition(":")[0] for r in rows} - {"sssom"}
    framework = FRAMEWORKS.get(prefixes.pop()) if len(prefixes) == 1 else None
    for row in rows:
        subject = expand(row["subject_id"], curie_map)
        predicate = expand(row["predicate_id"], curie_map)
        obj = expand(row["object_id"], curie_map)
        if NO_TERM_FOUND not in (subject, obj):
            g.add((subject, predicate, obj))
        # A stable IRI per row (the pair is unique in a set), so the output is the same on every run
        # and a page can link to the reason for one mapping.
        node = URIRef(f"{mapping_set}#{_local(row['subject_id'])}--{_local(row['object_id'])}")
        g.add((node, RDF.type, AIMS.Mapping))
        g.add((node, DCTERMS.isPartOf, mapping_set))
        g.add((node, AIMS.mappingSubject, subject))
        g.add((node, AIMS.mappingPredicate, predicate))
        g.add((node, AIMS.mappingObject, obj))
        g.add((node, AIMS.mappingJustification, expand(row["mapping_justification"], curie_map)))
        g.add((node, RDFS.comment, Literal(row["comment"].strip(), lang="en")))
        if framework is not None:
            g.add((node, AIMS.inFramework, framework))


def build(sources: Path = SOURCES) -> Graph:
    g = Graph()
    for prefix, ns in (
        ("aims", AIMS),
        ("iso42001", Namespace("https://w3id.org/aims/iso42001#")),
        ("euaia", Namespace("https://w3id.org/aims/eu-ai-act#")),
        ("nistrmf", Namespace("https://w3id.org/aims/nist-ai-rmf#")),
        ("sssom", SSSOM),
        ("semapv", SEMAPV),
    ):
        g.bind(prefix, ns)
    g.bind("skos", SKOS)
    g.bind("dcterms", DCTERMS)
    for path in sorted(sources.glob("*.sssom.tsv")):
        add_mapping_set(g, path)
    return g


HEADER = (
    "# GENERATED by scripts/build_mappings.py from ontology/mappings/*.sssom.tsv - do not edit.\n"
    "# The project's own crosswalks from ISO/IEC 42001 (paraphrased) to the EU AI Act and the NIST AI RMF;\n"
    "# licence CC BY 4.0 (see ontology/mappings/README.md).\n"
)


def render(sources: Path = SOURCES) -> str:
    """The Turtle text of ontology/mappings.ttl (the test compares it with the committed file)."""
    return HEADER + build(sources).serialize(format="turtle")


if __name__ == "__main__":
    try:
        text = render()
    except MappingError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
