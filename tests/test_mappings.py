"""The project's crosswalks (ontology/mappings/*.sssom.tsv): valid SSSOM, every id a catalogue item,
every ISO/IEC 42001 requirement and every framework requirement accounted for (mapped, or a
sssom:NoTermFound row with the reason), and ontology/mappings.ttl built from them as the design says.

Issue 21 item 2. Counts come from the catalogues: ISO/IEC 42001 has 32 leaf clauses in 4-10 and 38
Annex A controls; the NIST AI RMF 1.0 has 72 subcategories (NIST AI 100-1, GOVERN 1.1 ... MANAGE 4.3).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "ontology" / "mappings"
AIMS = Namespace("https://w3id.org/aims#")
ISO = Namespace("https://w3id.org/aims/iso42001#")
EUAIA = Namespace("https://w3id.org/aims/eu-ai-act#")
NISTRMF = Namespace("https://w3id.org/aims/nist-ai-rmf#")
NO_TERM_FOUND = "sssom:NoTermFound"

# file -> (catalogue file of its objects, the framework, the prefix its object ids use)
SETS = {
    "iso42001-eu-ai-act.sssom.tsv": ("eu-ai-act.ttl", AIMS.EUAIAct, "euaia"),
    "iso42001-nist-ai-rmf.sssom.tsv": ("nist-ai-rmf.ttl", AIMS.NISTAIRMF, "nistrmf"),
}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_mappings", ROOT / "scripts" / "build_mappings.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_mappings = _load_script()


@pytest.fixture(scope="module")
def iso() -> Graph:
    return Graph().parse(ROOT / "ontology" / "iso42001.ttl")


def catalogue(name: str) -> Graph:
    path = ROOT / "ontology" / name
    if not path.exists():
        pytest.skip(f"ontology/{name} is not built yet (scripts/build_frameworks.py): ids cannot be resolved")
    return Graph().parse(path)


def read(name: str) -> tuple[dict, list[dict[str, str]]]:
    return build_mappings.read_sssom_tsv(MAPPINGS / name)


def curie(iri: URIRef, prefix: str, namespace: Namespace) -> str:
    return f"{prefix}:{str(iri)[len(str(namespace)) :]}"


def iso_requirements(iso: Graph) -> dict[str, str]:
    """Every leaf clause 4-10 and Annex A control, as CURIE -> notation."""
    out: dict[str, str] = {}
    for cls in (AIMS.LeafClause, AIMS.ReferenceControl):
        for iri in iso.subjects(RDF.type, cls):
            out[curie(URIRef(iri), "iso42001", ISO)] = str(iso.value(iri, SKOS.notation))
    return out


def ancestors(g: Graph, iri: URIRef) -> Iterator[URIRef]:
    for parent in g.objects(iri, DCTERMS.isPartOf):
        yield URIRef(parent)
        yield from ancestors(g, URIRef(parent))


# ---------------------------------------------------------------- the files as SSSOM


@pytest.mark.parametrize("name", sorted(SETS))
def test_metadata_block_has_what_sssom_and_the_project_ask(name: str) -> None:
    # SSSOM requires mapping_set_id and license of a set; the project adds who made it and when, so a
    # reader of the file alone knows it is the project's own hand-made crosswalk under CC BY 4.0.
    metadata, _ = read(name)
    assert metadata["mapping_set_id"] == f"https://w3id.org/aims/mappings/{name.removesuffix('.sssom.tsv')}"
    assert metadata["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert metadata["creator_label"] == ["aims-graph project"]
    assert metadata.get("creator_id") and metadata.get("mapping_set_version") and metadata.get("mapping_date")
    expected_prefixes = {"iso42001", "euaia", "nistrmf", "skos", "semapv", "sssom"}
    assert expected_prefixes <= set(metadata["curie_map"]), expected_prefixes - set(metadata["curie_map"])
    assert metadata["curie_map"]["sssom"] == "https://w3id.org/sssom/"


@pytest.mark.parametrize("name", sorted(SETS))
def test_rows_are_valid_and_each_says_why(name: str) -> None:
    # The columns SSSOM requires, one of the five SKOS predicates, manual curation, a non-empty comment,
    # one row per pair (build_mappings.check holds these rules; here it must find nothing).
    metadata, rows = read(name)
    build_mappings.check(MAPPINGS / name, metadata, rows)
    assert list(rows[0]) == [
        "subject_id",
        "subject_label",
        "predicate_id",
        "object_id",
        "object_label",
        "mapping_justification",
        "comment",
    ]
    assert {r["predicate_id"] for r in rows} <= set(build_mappings.PREDICATES)
    assert {r["mapping_justification"] for r in rows} == {"semapv:ManualMappingCuration"}
    short = [f"{r['subject_id']} -> {r['object_id']}" for r in rows if len(r["comment"]) < 40]
    assert not short, f"comments too short to say why: {short}"
    # A reason says why: the predicate it chose is named or the gap is explained, never a bare label.
    assert all(r["comment"].rstrip().endswith(".") for r in rows)


def test_check_names_the_row_that_breaks_a_rule(tmp_path: Path) -> None:
    # Hand-made broken file: an unknown predicate, an empty comment, no licence: each named.
    bad = tmp_path / "bad.sssom.tsv"
    bad.write_text(
        "#curie_map:\n#  iso42001: https://w3id.org/aims/iso42001#\n#  euaia: https://w3id.org/aims/eu-ai-act#\n"
        "#  skos: http://www.w3.org/2004/02/skos/core#\n#  semapv: https://w3id.org/semapv/vocab/\n"
        "#mapping_set_id: https://example.org/bad\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\tcomment\n"
        "iso42001:A.6.2.8\tskos:sameAs\teuaia:art-12-1\tsemapv:ManualMappingCuration\tlogs\n"
        "iso42001:A.6.2.4\tskos:broadMatch\teuaia:art-9-8\tsemapv:ManualMappingCuration\t \n",
        encoding="utf-8",
    )
    with pytest.raises(build_mappings.MappingError) as caught:
        build_mappings.check(bad, *build_mappings.read_sssom_tsv(bad))
    message = str(caught.value)
    assert "metadata has no license" in message
    assert "row 1 (iso42001:A.6.2.8 -> euaia:art-12-1): predicate skos:sameAs is not one of" in message
    assert "row 2 (iso42001:A.6.2.4 -> euaia:art-9-8): empty comment" in message


@pytest.mark.parametrize("name", sorted(SETS))
def test_files_pass_the_sssom_reference_implementation(name: str) -> None:
    # sssom-py parses and validates against the SSSOM schema (JSON schema, prefix map, CURIE format).
    # It is not a dependency of the project: it pulls ~60 packages into the environment, among them a
    # pytest plugin (pytest-logging) and rdflib-jsonld; install it in its own environment to run this.
    parsers = pytest.importorskip("sssom.parsers", reason="sssom (PyPI) is not installed here")
    validators = pytest.importorskip("sssom.validators")
    msdf = parsers.parse_sssom_table(str(MAPPINGS / name))
    _, rows = read(name)
    assert len(msdf.df) == len(rows)
    reports = validators.validate(msdf, fail_on_error=False)
    assert all(not report.results for report in reports.values()), reports


# ---------------------------------------------------------------- ids resolve, coverage


def test_every_iso_id_is_a_leaf_clause_or_annex_a_control(iso: Graph) -> None:
    # Mappings start from requirements, not from clause groups (6.1) or objectives.
    requirements = iso_requirements(iso)
    assert len(requirements) == 70  # 32 leaf clauses + 38 controls, as in vendor/iso42001/
    for name in sorted(SETS):
        _, rows = read(name)
        unknown = sorted({r["subject_id"] for r in rows} - set(requirements) - {NO_TERM_FOUND})
        assert not unknown, f"{name}: not an ISO/IEC 42001 leaf clause or control: {unknown}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_framework_id_is_a_catalogue_item(name: str) -> None:
    file, framework, prefix = SETS[name]
    g = catalogue(file)
    namespace = Namespace(build_mappings.read_sssom_tsv(MAPPINGS / name)[0]["curie_map"][prefix])
    items = {curie(URIRef(i), prefix, namespace) for i in g.subjects(AIMS.inFramework, framework)}
    _, rows = read(name)
    unknown = sorted({r["object_id"] for r in rows} - items - {NO_TERM_FOUND})
    assert not unknown, f"{name}: ids missing from ontology/{file}: {unknown}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_iso_requirement_is_mapped_or_unmapped_with_a_reason(name: str, iso: Graph) -> None:
    # Issue 21: "every clause 4-10 and Annex A control is mapped or listed as unmapped with a reason".
    _, rows = read(name)
    subjects = {r["subject_id"] for r in rows}
    missing = sorted(set(iso_requirements(iso)) - subjects)
    assert not missing, f"{name}: {len(missing)} ISO/IEC 42001 requirements in no row: {missing}"
    for r in rows:
        if r["object_id"] == NO_TERM_FOUND:
            # an unmapped requirement has only this row: "no counterpart" and a mapping would contradict
            assert [x for x in rows if x["subject_id"] == r["subject_id"]] == [r], r["subject_id"]


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_framework_requirement_is_covered_or_not_addressed_with_a_reason(name: str) -> None:
    # Issue 21: "every AI Act obligation and NIST subcategory is covered or listed as 'not addressed by
    # ISO/IEC 42001' with a reason". A row on a whole article speaks for every item in it (the
    # prohibitions of Art. 5, for instance, are all not addressed for the same reason).
    file, framework, prefix = SETS[name]
    g = catalogue(file)
    namespace = Namespace(read(name)[0]["curie_map"][prefix])
    _, rows = read(name)
    objects = {r["object_id"] for r in rows}
    requirements = sorted(
        set(g.subjects(RDF.type, AIMS.FrameworkRequirement)) & set(g.subjects(AIMS.inFramework, framework))
    )
    if framework == AIMS.NISTAIRMF:
        assert len(requirements) == 72  # the RMF's 72 subcategories
    missing = [
        curie(URIRef(i), prefix, namespace)
        for i in requirements
        if not {curie(a, prefix, namespace) for a in [URIRef(i), *ancestors(g, URIRef(i))]} & objects
    ]
    assert not missing, f"{name}: {len(missing)} framework requirements in no row: {missing}"
    for r in rows:
        if r["subject_id"] == NO_TERM_FOUND:
            assert r["comment"].startswith("Not addressed by ISO/IEC 42001"), r["object_id"]
            assert [x for x in rows if x["object_id"] == r["object_id"]] == [r], r["object_id"]


def test_no_framework_item_is_met_only_through_a_whole_article_row() -> None:
    # Exact and close matches carry "met": they must name the obligation itself, never an article,
    # so a status never spreads from one paragraph to a whole article.
    g = catalogue("eu-ai-act.ttl")
    _, rows = read("iso42001-eu-ai-act.sssom.tsv")
    carrying = [r for r in rows if r["predicate_id"] in ("skos:exactMatch", "skos:closeMatch")]
    assert carrying, "expected some close matches (e.g. A.9.4 -> Art. 26(1))"
    for r in carrying:
        item = EUAIA[r["object_id"].partition(":")[2]]
        assert (item, RDF.type, AIMS.FrameworkRequirement) in g, r["object_id"]


# ---------------------------------------------------------------- the RDF


def test_build_turns_rows_into_skos_triples_and_reasons(tmp_path: Path) -> None:
    # A hand-made set of two rows: a real mapping gives the direct SKOS triple and a reified
    # aims:Mapping; a NoTermFound row gives only the aims:Mapping, with the reason, and no SKOS triple
    # to sssom:NoTermFound (which would claim a match with a placeholder).
    (tmp_path / "x.sssom.tsv").write_text(
        "#curie_map:\n#  iso42001: https://w3id.org/aims/iso42001#\n#  euaia: https://w3id.org/aims/eu-ai-act#\n"
        "#  skos: http://www.w3.org/2004/02/skos/core#\n#  semapv: https://w3id.org/semapv/vocab/\n"
        "#  sssom: https://w3id.org/sssom/\n#mapping_set_id: https://example.org/x\n"
        "#license: https://creativecommons.org/licenses/by/4.0/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\tcomment\n"
        "iso42001:A.9.4\tskos:closeMatch\teuaia:art-26-1\tsemapv:ManualMappingCuration\tSame duty to use as instructed.\n"
        "sssom:NoTermFound\tskos:relatedMatch\teuaia:art-49-1\tsemapv:ManualMappingCuration\tNot addressed: registration.\n",
        encoding="utf-8",
    )
    g = build_mappings.build(tmp_path)
    a94, art261, art491 = ISO["A.9.4"], EUAIA["art-26-1"], EUAIA["art-49-1"]
    ntf = URIRef("https://w3id.org/sssom/NoTermFound")
    assert (a94, SKOS.closeMatch, art261) in g
    assert not list(g.triples((ntf, None, None))), "no SKOS triple from sssom:NoTermFound"
    nodes = sorted(g.subjects(RDF.type, AIMS.Mapping))
    assert nodes == [
        URIRef("https://example.org/x#A.9.4--art-26-1"),
        URIRef("https://example.org/x#none--art-49-1"),
    ]
    real, unmapped = nodes
    assert g.value(real, AIMS.mappingSubject) == a94
    assert g.value(real, AIMS.mappingPredicate) == SKOS.closeMatch
    assert g.value(real, AIMS.mappingObject) == art261
    assert g.value(real, AIMS.mappingJustification) == URIRef(
        "https://w3id.org/semapv/vocab/ManualMappingCuration"
    )
    assert g.value(real, RDFS.comment) == Literal("Same duty to use as instructed.", lang="en")
    assert g.value(real, AIMS.inFramework) == AIMS.EUAIAct
    assert g.value(unmapped, AIMS.mappingSubject) == ntf
    assert g.value(unmapped, AIMS.mappingObject) == art491
    assert g.value(unmapped, RDFS.comment) == Literal("Not addressed: registration.", lang="en")


def test_mappings_ttl_is_what_the_script_makes_of_the_tsvs() -> None:
    # ontology/mappings.ttl is committed (the service loads ontology/*.ttl): it must not lag the TSVs.
    committed = Graph().parse(ROOT / "ontology" / "mappings.ttl")
    built = build_mappings.build()
    if not isomorphic(committed, built):
        _, only_committed, only_built = graph_diff(to_isomorphic(committed), to_isomorphic(built))
        pytest.fail(
            "run scripts/build_mappings.py\nonly in the file:\n"
            + only_committed.serialize(format="nt")[:2000]
            + "\nonly in the TSVs:\n"
            + only_built.serialize(format="nt")[:2000]
        )
    # deterministic: the same text on every run, so a rebuild without a change gives no diff
    assert build_mappings.render() == build_mappings.render()
    assert (ROOT / "ontology" / "mappings.ttl").read_text(encoding="utf-8") == build_mappings.render()


def test_mappings_ttl_has_one_node_per_row_and_a_skos_triple_per_real_mapping() -> None:
    g = Graph().parse(ROOT / "ontology" / "mappings.ttl")
    rows = [r for name in sorted(SETS) for r in read(name)[1]]
    assert len(set(g.subjects(RDF.type, AIMS.Mapping))) == len(rows)
    real = [r for r in rows if NO_TERM_FOUND not in (r["subject_id"], r["object_id"])]
    skos = {p for p in g.predicates() if str(p).startswith(str(SKOS)) and p != SKOS.prefLabel}
    direct = [t for p in skos for t in g.triples((None, p, None))]
    assert len(direct) == len(real)
