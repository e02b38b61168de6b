"""Generate docs/crosswalks.md, the project's mappings from ISO/IEC 42001 to the EU AI Act and the
NIST AI RMF as readable tables, from ontology/mappings/*.sssom.tsv and the catalogues (`make docs`)."""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDFS, SKOS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_mappings import SOURCES, expand, read_sssom_tsv  # noqa: E402

OUT = ROOT / "docs" / "crosswalks.md"
NO_TERM = "sssom:NoTermFound"
READING = {
    "skos:exactMatch": "exact: carries the status",
    "skos:closeMatch": "close: carries the status",
    "skos:broadMatch": "broad: the item asks for more; supports",
    "skos:narrowMatch": "narrow: the item asks for less; supports",
    "skos:relatedMatch": "related: supports",
}


def _catalogue() -> Graph:
    g = Graph()
    for name in ("iso42001.ttl", "eu-ai-act.ttl", "nist-ai-rmf.ttl"):
        g.parse(ROOT / "ontology" / name)
    return g


def _name(g: Graph, iri: URIRef) -> str:
    notation = g.value(iri, SKOS.notation)
    label = g.value(iri, RDFS.label)
    text = str(label or "")
    if notation and text.startswith(str(notation)):
        return text
    return f"{notation or iri} {text}".strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def build() -> str:
    catalogue = _catalogue()
    lines = [
        "# Crosswalks: ISO/IEC 42001 to the EU AI Act and the NIST AI RMF",
        "",
        "Generated from `ontology/mappings/*.sssom.tsv` by `scripts/build_crosswalk_docs.py` (`make docs`);",
        "edit the TSV files, not this page. The mappings are the project's own reading, written by hand",
        "(SSSOM, `semapv:ManualMappingCuration`), not an official one. An exact or close match carries",
        "the ISO/IEC 42001 requirement's status to the item; a broad, narrow or related match only",
        "supports it, and never makes an item met on its own (see the README, Crosswalks).",
        "",
    ]
    for path in sorted(SOURCES.glob("*.sssom.tsv")):
        metadata, rows = read_sssom_tsv(path)
        curie_map = metadata["curie_map"]
        lines += [f"## {metadata.get('mapping_set_title', path.stem)}", ""]
        if metadata.get("mapping_set_description"):
            lines += [str(metadata["mapping_set_description"]), ""]
        mapped = [r for r in rows if NO_TERM not in (r["subject_id"], r["object_id"])]
        lines += [
            f"{len(mapped)} mappings; source `ontology/mappings/{path.name}`, licence {metadata['license']}.",
            "",
            "| ISO/IEC 42001 | match | item | why |",
            "|---|---|---|---|",
        ]
        for r in mapped:
            subject = _name(catalogue, expand(r["subject_id"], curie_map))
            target = _name(catalogue, expand(r["object_id"], curie_map))
            reading = READING.get(r["predicate_id"], r["predicate_id"])
            lines.append(
                f"| {_cell(subject)} | {reading} | {_cell(target)} | {_cell(r.get('comment', ''))} |"
            )
        for title, side, other in (
            ("Not addressed by ISO/IEC 42001", "subject_id", "object_id"),
            ("ISO/IEC 42001 requirements with no counterpart", "object_id", "subject_id"),
        ):
            unmapped = [r for r in rows if r[side] == NO_TERM]
            if unmapped:
                lines += ["", f"### {title}", "", "| item | why |", "|---|---|"]
                for r in unmapped:
                    name = _name(catalogue, expand(r[other], curie_map))
                    lines.append(f"| {_cell(name)} | {_cell(r.get('comment', ''))} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
