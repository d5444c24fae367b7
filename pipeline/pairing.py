"""Pairs for a batch: each SAR scene with the reference that covers it best, closest in time.

Scenes come from a folder (Sentinel products — ``.SAFE`` folders, ``.zip`` files; a product present
both unpacked and zipped counts once —, GeoTIFFs and STAC Item JSON files in it; other JSON files are
passed over) or from a STAC ItemCollection (a JSON file or URL, e.g. a STAC API search saved or linked,
its ``next`` pages followed; each Item's ``self`` link is where ``sarlign register`` will find it).
Local scenes are written as absolute paths, so the pairs file works from any folder. Footprints are
compared in longitude/latitude (EPSG:4326): a reference's *overlap* is the share of the SAR footprint
it covers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from rasterio.crs import CRS
from shapely.geometry import Polygon, shape

from sarlign.errors import InputError
from sarlign.georef.staging import staged
from sarlign.locations import is_local_file
from sarlign.pipeline.pairs_file import name_from_location
from sarlign.pipeline.stac import acquisition_time, parse_time
from sarlign.tiling.inputs import resolve_input
from sarlign.tiling.scene import open_raster
from sarlign.tiling.stac_inputs import fetch_json

LONLAT = CRS.from_epsg(4326)
SCENE_SUFFIXES = (".safe", ".zip", ".tif", ".tiff", ".json")
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Scene:
    """One input scene: where ``sarlign register`` reads it, its footprint (lon/lat) and when it was
    acquired (None if its metadata does not say)."""

    location: str
    footprint: Polygon
    acquired: datetime | None


@dataclass(frozen=True)
class Pairing:
    """A SAR scene and its reference (None when no reference covers enough of it in time)."""

    sar: Scene
    reference: Scene | None
    overlap: float  # share of the SAR footprint the reference covers, 0-1
    days_apart: float | None


def scenes(source: str, role: str) -> list[Scene]:
    """The scenes of a folder or of an ItemCollection; ``role`` ("reference" or "SAR") picks the default
    bands of products, as ``register`` would.

    Raises:
        InputError: the source, or a scene in it, cannot be read.
    """
    if is_local_file(source) and Path(source).is_dir():
        found = [_raster_scene(str(p), role) for p in _scene_files(Path(source))]
    else:
        found = [_item_scene(source, item) for item in _collection(source)]
    if not found:
        raise InputError(source, f"holds no {role} scenes (products, GeoTIFFs or STAC Items)")
    return found


def _scene_files(folder: Path) -> list[Path]:
    """The scenes of a folder, absolute: products (``X.SAFE`` before ``X.zip``, the same product counted
    once), rasters, and the JSON files that are STAC Items."""
    scenes, products = [], set()
    for path in sorted(folder.resolve().iterdir()):
        suffix = path.suffix.lower()
        product = path.name[: -len(path.suffix)].removesuffix(".SAFE") if suffix in (".safe", ".zip") else None
        if suffix not in SCENE_SUFFIXES or product in products:
            continue
        if suffix == ".json" and not _is_item(fetch_json(str(path))):
            continue  # a report, a collection: not a scene
        products.add(product)
        scenes.append(path)
    return scenes


def _is_item(document: Any) -> bool:
    return isinstance(document, dict) and document.get("type") == "Feature"


def _raster_scene(location: str, role: str) -> Scene:
    given = resolve_input(location, role, None)
    info = open_raster(given.dataset, role, allow_gcps=True)
    when = given.product.get("datetime")
    acquired = parse_time(str(when)) if when else acquisition_time(given.dataset)
    return Scene(location, info.footprint_in(LONLAT), acquired)


def _collection(source: str) -> list[dict[str, Any]]:
    """The Items of an ItemCollection and of the pages its ``next`` links lead to (GET links only)."""
    items, page, seen = [], source, set()
    while page and page not in seen:
        seen.add(page)
        if is_local_file(page) and not Path(page).is_file():
            raise InputError(page, "is neither a folder nor a STAC ItemCollection file")
        document = fetch_json(page)
        if not (isinstance(document, dict) and document.get("type") == "FeatureCollection"):
            raise InputError(page, "is not a STAC ItemCollection (a FeatureCollection of Items)")
        items += document.get("features", [])
        page = next((link["href"] for link in document.get("links", [])
                     if link.get("rel") == "next" and link.get("method", "GET") == "GET"), None)
    return items


def _item_scene(source: str, item: dict[str, Any]) -> Scene:
    self_links = [link["href"] for link in item.get("links", []) if link.get("rel") == "self"]
    if not self_links:
        raise InputError(source, f"Item {item.get('id')!r} has no 'self' link to say where it can be read")
    if not item.get("geometry"):
        raise InputError(source, f"Item {item.get('id')!r} has no geometry")
    properties = item.get("properties", {})
    when = properties.get("datetime") or properties.get("start_datetime")
    return Scene(self_links[0], shape(item["geometry"]), parse_time(when) if when else None)


def pair(references: list[Scene], sars: Iterable[Scene], max_days: float, min_overlap: float) -> list[Pairing]:
    """Each SAR with the reference covering the largest share of it (to the percent), the closest in time
    among those; references further apart than ``max_days`` (when both times are known) or covering less
    than ``min_overlap`` do not qualify."""
    pairings = []
    for sar in sars:
        candidates = []
        for reference in references:
            overlap = _overlap(sar.footprint, reference.footprint)
            days = _days_apart(sar, reference)
            if overlap >= min_overlap and (days is None or days <= max_days):
                candidates.append((-round(overlap, 2), days if days is not None else float("inf"), overlap, days, reference))
        if candidates:
            *_, overlap, days, reference = min(candidates, key=lambda c: c[:2])
            pairings.append(Pairing(sar, reference, overlap, days))
        else:
            pairings.append(Pairing(sar, None, 0.0, None))
    return pairings


def _overlap(sar: Polygon, reference: Polygon) -> float:
    return float(shapely.area(sar.intersection(reference)) / shapely.area(sar)) if sar.area else 0.0


def _days_apart(a: Scene, b: Scene) -> float | None:
    if a.acquired is None or b.acquired is None:
        return None
    return abs((a.acquired - b.acquired).total_seconds()) / SECONDS_PER_DAY


def write_pairs_csv(pairings: list[Pairing], path: Path) -> None:
    """The pairs file ``sarlign batch`` reads (reference, sar, name), paired SARs only, written whole or
    not at all."""
    with staged(path) as (temp,), open(temp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["reference", "sar", "name"])
        for p in pairings:
            if p.reference is not None:
                writer.writerow([p.reference.location, p.sar.location, name_from_location(p.sar.location)])
