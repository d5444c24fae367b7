"""The STAC Item written beside every registration, checked against the files it describes.

One real registration of the bundled demo pair (the SAR offset by a known (14, −9) px, see
data/sample/known_offset.json), with every optional output, its SAR copied beside the outputs with an
acquisition time in its TIFF tags. The extension schemas (projection, raster, processing) are fetched
from the web by pystac's validator, which this machine cannot reach: the Item is validated offline
against the core STAC 1.1 schemas pystac ships, and its extension fields against the written rasters.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import shapely
from affine import Affine
from distributed import Client, LocalCluster
from pyproj import Transformer
from pystac.validation.stac_validator import JsonSchemaSTACValidator
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from shapely.geometry import shape

import sarlign
from sarlign.georef.raster_out import GcpGeoreference, write_regeoreferenced_cog
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.outputs import OutputPaths
from sarlign.pipeline.register import register_pair
from sarlign.pipeline.stac import acquisition_time, build_item

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
ACQUIRED = "2020:11:07 13:52:41"  # TIFFTAG_DATETIME as TIFF writes it
PROCESSING_SCHEMA_PREFIX = "https://stac-extensions.github.io/processing/"


@pytest.fixture(scope="module")
def registration(tmp_path_factory, shifted_copy) -> dict:
    """The demo pair registered with --resample and --quicklook; its SAR lies beside the outputs."""
    work = tmp_path_factory.mktemp("stac")
    sar = shifted_copy(SAMPLE / "s1_offset.tif", work / "s1_offset.tif", lambda t: t)
    with rasterio.open(sar, "r+") as dst:
        dst.update_tags(TIFFTAG_DATETIME=ACQUIRED)
    output = work / "registered.tif"
    options = RegisterOptions(tile_size=256, device="cpu", resample=True, quicklook=True)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            report = register_pair(str(SAMPLE / "s2_reference.tif"), str(sar), output, options, client)
    outputs = OutputPaths.beside(output)
    return {"report": report, "outputs": outputs, "item": pystac.Item.from_file(str(outputs.stac)), "sar": sar}


def test_registration_recovered_the_known_offset(registration):
    """The Item describes a real, successful registration (the demo SAR's own alignment is off by ~3 px)."""
    known = json.loads((SAMPLE / "known_offset.json").read_text())["expected_correction_px"]
    assert registration["report"]["correction"]["shift_px"] == pytest.approx(known, abs=4.0)


def test_item_round_trips_and_passes_the_core_schema(registration):
    item, path = registration["item"], registration["outputs"].stac
    document = json.loads(path.read_text())
    assert document["stac_version"] == "1.1.0" and document["type"] == "Feature"
    assert item.id == "registered"
    assert pystac.Item.from_dict(item.to_dict(include_self_link=False, transform_hrefs=False)).to_dict(
        include_self_link=False, transform_hrefs=False
    ) == item.to_dict(include_self_link=False, transform_hrefs=False)
    JsonSchemaSTACValidator().validate_core(document, pystac.STACObjectType.ITEM, "1.1.0", str(path))


def test_projection_fields_equal_the_written_cogs(registration):
    item, outputs = registration["item"], registration["outputs"]
    props = item.properties
    with rasterio.open(outputs.raster) as cog:
        assert props["proj:code"] == f"EPSG:{cog.crs.to_epsg()}" == "EPSG:3395"
        assert props["proj:shape"] == [cog.height, cog.width]
        assert Affine(*props["proj:transform"]) == cog.transform
    new = Affine.from_gdal(*registration["report"]["geotransform"]["new"])
    assert Affine(*props["proj:transform"]) == new
    resampled = item.assets["resampled"].extra_fields
    with rasterio.open(outputs.resampled) as cog:
        assert resampled["proj:shape"] == [cog.height, cog.width]
        assert Affine(*resampled["proj:transform"]) == cog.transform
        assert resampled["proj:code"] == "EPSG:3395"


def _corners_lonlat(path: Path) -> np.ndarray:
    """The raster's four corners and edge midpoints in EPSG:4326 (lon, lat), from its geotransform."""
    with rasterio.open(path) as src:
        w, h = src.width, src.height
        xy = np.array([src.transform @ (c, r) for c, r in [(0, 0), (w, 0), (w, h), (0, h), (w / 2, 0), (0, h / 2)]])
        to_lonlat = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    return np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))


def test_geometry_and_bbox_hold_the_footprint(registration):
    item = registration["item"]
    corners = _corners_lonlat(registration["outputs"].raster)
    west, south, east, north = item.bbox
    assert (corners[:, 0] >= west - 1e-9).all() and (corners[:, 0] <= east + 1e-9).all()
    assert (corners[:, 1] >= south - 1e-9).all() and (corners[:, 1] <= north + 1e-9).all()
    geometry = shape(item.geometry)
    assert geometry.geom_type == "Polygon" and geometry.is_valid
    assert len(geometry.exterior.coords) > 5  # densified edges
    assert all(geometry.buffer(1e-9).contains(shapely.Point(p)) for p in corners)
    assert tuple(item.bbox) == pytest.approx(geometry.bounds)


def test_raster_bands_match_the_cog(registration):
    item, outputs = registration["item"], registration["outputs"]
    for name, path in (("raster", outputs.raster), ("resampled", outputs.resampled)):
        bands = item.assets[name].extra_fields["raster:bands"]
        with rasterio.open(path) as cog:
            assert [b["data_type"] for b in bands] == list(cog.dtypes)
            assert [b.get("nodata") for b in bands] == list(cog.nodatavals)
        assert {b["unit"] for b in bands} == {"DN"}  # uint8 SAR in linear units: amplitude digital numbers


def test_assets_are_every_output_with_relative_hrefs(registration):
    item, outputs = registration["item"], registration["outputs"]
    written = {p.name for p in outputs.raster.parent.iterdir()} - {outputs.stac.name, registration["sar"].name}
    assert {Path(a.href).name for a in item.assets.values()} == written
    for name, asset in item.assets.items():
        assert asset.href == getattr(outputs, name).name  # relative to the Item, final (not temporary) names
        assert Path(asset.get_absolute_href()) == getattr(outputs, name)
    assert item.assets["raster"].media_type == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert item.assets["raster"].roles == ["data"] and item.assets["report"].roles == ["metadata"]
    assert item.assets["tie_points"].media_type == "application/geopackage+sqlite3"
    assert item.assets["checkerboard"].roles == ["overview"]


def test_derived_from_both_inputs(registration):
    links = {link.title: link.href for link in registration["item"].links if link.rel == "derived_from"}
    assert links == {
        "optical reference input": str((SAMPLE / "s2_reference.tif").resolve()),  # elsewhere: absolute
        "SAR input": registration["sar"].name,  # beside the Item: relative
    }


def test_datetime_processing_and_software(registration):
    item, report = registration["item"], registration["report"]
    assert item.datetime == datetime(2020, 11, 7, 13, 52, 41, tzinfo=timezone.utc)
    props = item.properties
    assert PROCESSING_SCHEMA_PREFIX in " ".join(item.stac_extensions)
    assert props["processing:software"]["sarlign"] == sarlign.__version__
    assert props["processing:software"]["gdal"] == rasterio.__gdal_version__
    assert props["processing:datetime"] == report["created"]
    assert "pixels left unchanged" in props["processing:lineage"]
    assert "processing time" not in props["processing:lineage"]


def test_acquisition_time_from_tags(tmp_path, shifted_copy):
    assert acquisition_time(str(SAMPLE / "s1_offset.tif")) is None
    path = shifted_copy(SAMPLE / "s1_offset.tif", tmp_path / "s1.tif", lambda t: t)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(ACQUISITION_START_TIME="2017-06-13T16:50:43.123456", TIFFTAG_DATETIME=ACQUIRED)
    assert acquisition_time(str(path)) == datetime(2017, 6, 13, 16, 50, 43, 123456, tzinfo=timezone.utc)


def test_without_acquisition_time_datetime_is_the_processing_time(registration):
    report = dict(registration["report"], inputs=dict(registration["report"]["inputs"]))
    untagged = str(SAMPLE / "s1_offset.tif")
    report["inputs"]["sar"] = dict(report["inputs"]["sar"], path=untagged, dataset=untagged)
    item = build_item(report, {"raster": registration["outputs"].raster}, "amplitude")
    assert item.datetime == datetime.fromisoformat(report["created"])
    assert "processing time" in item.properties["processing:lineage"]


def test_gcp_georeferenced_output_has_no_proj_transform(registration, tmp_path):
    """A COG georeferenced by GCPs (EPSG:4326) gets proj:code from the GCPs, proj:shape, no proj:transform,
    and a footprint through the GCPs that matches the geotransform's."""
    raster = registration["outputs"].raster
    with rasterio.open(raster) as src:
        transform, crs, width, height = src.transform, src.crs, src.width, src.height
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    gcps = []
    for row in np.linspace(0, height, 4):
        for col in np.linspace(0, width, 4):
            lon, lat = to_lonlat.transform(*(transform @ (col, row)))
            gcps.append(GroundControlPoint(row=row, col=col, x=lon, y=lat, z=0.0, id=str(len(gcps) + 1)))
    gcp_cog = tmp_path / "gcp.tif"
    write_regeoreferenced_cog(str(raster), GcpGeoreference(tuple(gcps), CRS.from_epsg(4326)), gcp_cog, "amplitude")
    item = build_item(registration["report"], {"raster": gcp_cog}, "amplitude")
    assert item.properties["proj:code"] == "EPSG:4326"
    assert item.properties["proj:shape"] == [height, width]
    assert "proj:transform" not in item.properties
    assert item.bbox == pytest.approx(registration["item"].bbox, abs=1e-5)  # degrees: about a metre
