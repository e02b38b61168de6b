"""GET /pack: the audit pack (service/pack.py) of today's data or of ?snapshot=NAME, as a ZIP."""

from __future__ import annotations

from flask import Blueprint, Response

from .. import pack
from . import pages
from .api import OVER_BUDGET, AsOf, checked, operation
from .state import current_snapshot, default_day, state

bp = Blueprint("pack", __name__)


@bp.route("/pack")
@operation(
    "get",
    "The audit pack: a ZIP with the PDF (cover, SoA, risk register, gap analysis, validation, open "
    "findings, every risk's trace, evidence index), the workbook, TriG, OSCAL, the evidence files "
    "and manifest.json (SHA-256 and size of each)",
    "reports",
    params=AsOf,
    media=("application/zip",),
    others=OVER_BUDGET,
    role="reader",
)
def download() -> Response:
    day = checked().as_of or default_day()
    # once per state of the store and day, as the pages' work: the same data gives the same pack
    # (its PDF made when first asked for), and a pack takes seconds to minutes to print
    made = pages.cached(lambda: pack.build(day, state().settings.files_folder()), "pack", day)
    view = current_snapshot()
    name = f"audit-pack-{view.snapshot.name if view is not None else 'today'}-{day.isoformat()}.zip"
    response = Response(made.data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.cache_control.private = True
    return response
