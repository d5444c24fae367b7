"""Small Sentinel-1 and Sentinel-2 product packages for tests, written from given pixels and laid out as ESA
delivers them, so that GDAL's own SENTINEL2 and SAFE drivers open them.

The XML carries the fields those drivers read (GDAL's ``frmts/sentinel2/sentinel2dataset.cpp`` and
``frmts/safe/safedataset.cpp``) and the main ones of the product specifications, with realistic values.
What the drivers make of these products (checked with rasterio 1.4.4 and its GDAL 3.10.3):

Sentinel-2, ``write_s2_safe``. Open ``<name>.SAFE/MTD_MSIL2A.xml`` (``MTD_MSIL1C.xml``), the ``.zip``, or
``/vsizip/<zip>/<name>.SAFE/MTD_MSIL2A.xml``; the ``.SAFE`` folder itself is opened by neither driver.

* Subdatasets ``SENTINEL2_L2A:<MTD>:10m:EPSG_32633``, ``...:20m:...``, ``...:60m:...`` and
  ``...:TCI:EPSG_32633`` (``SENTINEL2_L1C:...`` for L1C); through a zip ``<MTD>`` is the ``/vsizip/`` path.
* The 10 m subdataset is uint16 with bands B4, B3, B2, B8 (then AOT, WVP for L2A), described as
  ``"B4, central wavelength 665 nm"`` (``"AOT, Aerosol Optical Thickness map (at 550nm)"``), tagged
  ``BANDNAME=B4``, ``WAVELENGTH``, ``BANDWIDTH``, ``SOLAR_IRRADIANCE`` and the offset
  (``BOA_ADD_OFFSET=-1000`` for L2A, ``RADIO_ADD_OFFSET=-1000`` for L1C), ``NBITS=15`` in
  ``IMAGE_STRUCTURE``. Geotransform and CRS come from ``MTD_TL.xml`` (``ULX``/``ULY`` and the nominal
  resolution; the georeferencing inside the JPEG2000 files is not used).
* GDAL does not apply the offset: pixels read back are the stored DNs, ``reflectance * 10000 + 1000``; the
  offset is only a band tag (band ``offsets``/``scales`` stay 0/1) and the quantification value a dataset
  tag (``QUANTIFICATION_VALUE`` for L1C, ``BOA_QUANTIFICATION_VALUE`` for L2A). Reflectance is
  ``(DN + offset) / 10000``, for the reader to compute.
* Only the 10 m bands, the TCI and (L2A, if given) the 20 m SCL are written. The 20 m and 60 m
  subdatasets are listed all the same; opening them logs "Tile ... not found on filesystem. Skipping it"
  (a GDAL warning, not a Python one) for each missing band, which then reads as 0.

Sentinel-1, ``write_s1_grd_safe``. Open the ``.SAFE`` folder, its ``manifest.safe``, or
``/vsizip/<zip>/<name>.SAFE`` (or ``.../manifest.safe``); the SAFE driver does not recognise the ``.zip``.

* Subdatasets ``SENTINEL1_CALIB:UNCALIB:<.SAFE>/manifest.safe:IW_VV:AMPLITUDE`` per polarisation, and
  ``...:IW:AMPLITUDE`` (all polarisations as bands) when there are two. GDAL 3.10 names them so; older
  releases said ``SENTINEL1_DS:...:IW_VV``. The folder itself opens as that all-polarisation dataset.
* Calibration: GDAL offers SIGMA0/BETA0/GAMMA subdatasets for SLC products only. For GRD, asking for
  ``SENTINEL1_CALIB:SIGMA0:...:IW_VV:INTENSITY`` (or BETA0, GAMMA, any unit) fails with "Measurement bands
  not found", so the calibration vectors written here serve other readers; GDAL returns DNs only.
* A subdataset gives the uint16 DNs untouched, no band description, band tags ``SWATH=IW`` and
  ``POLARIZATION=VV``, and the annotation's geolocation grid as GCPs (EPSG:4326; pixel/line exactly as
  written, the same GCPs being embedded in the GeoTIFF).
* Dataset tags: ``MISSION_ID``, ``PRODUCT_TYPE``, ``MODE``, ``SWATH``, ``PIXEL_SPACING``, ``LINE_SPACING``
  (annotation); ``SATELLITE_IDENTIFIER``, ``SENSOR_IDENTIFIER``, ``BEAM_MODE``, ``BEAM_SWATH``,
  ``ACQUISITION_START_TIME``, ``ACQUISITION_STOP_TIME``, ``FACILITY_IDENTIFIER``, ``ORBIT_NUMBER``
  (absolute), ``ORBIT_DIRECTION`` and ``FOOTPRINT`` (WKT, lon lat) from the manifest. The relative orbit,
  the ascending node time and the unit letter (``safe:number``) are in the manifest but not exposed.

Orbit numbers are derived from the sensing time with each mission's orbit phase; they are plausible, but
not checked against the place the pixels show.
"""

from __future__ import annotations

import binascii
import hashlib
import math
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import rasterio
import rasterio.enums
import rasterio.warp
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import transform as warp_transform

from sarlign.coords import map_points

# --- Sentinel-2 -----------------------------------------------------------------------------------------

S2_BANDS_10M = ("B02", "B03", "B04", "B08")
QUANTIFICATION_VALUE = 10000  # DN per unit of reflectance
RADIOMETRIC_OFFSET = -1000  # DN added before dividing by QUANTIFICATION_VALUE, from baseline 04.00 on
FILL_REFLECTANCE = 0.1  # of the 10 m bands not given
_S2_NBITS = 15  # ESA's JPEG2000 bands are 15-bit

# Per ESA bandId 0..12 (B1, B2, B3, B4, B5, B6, B7, B8, B8A, B9, B10, B11, B12), in W/m²/µm.
_S2B_SOLAR_IRRADIANCE = ("1874.3", "1959.75", "1824.93", "1512.79", "1425.78", "1291.13", "1175.57",
                         "1041.28", "953.93", "817.58", "365.41", "247.08", "87.75")
_SCL_CLASSES = ("NODATA", "SATURATED_DEFECTIVE", "DARK_FEATURE_SHADOW", "CLOUD_SHADOW", "VEGETATION",
                "NOT_VEGETATED", "WATER", "UNCLASSIFIED", "CLOUD_MEDIUM_PROBA", "CLOUD_HIGH_PROBA",
                "THIN_CIRRUS", "SNOW_ICE")
_AOT_DN, _WVP_DN = 100, 1500  # constant L2A aerosol optical thickness 0.1 and water vapour 1.5 cm (x 1000)

# S2B's orbit phase: absolute orbit 33753 sensed 2023-08-23T09:55:59, 14.3 orbits a day (143 in 10 days).
_S2B_REF_TIME, _S2B_REF_ORBIT = datetime(2023, 8, 23, 9, 55, 59, tzinfo=timezone.utc), 33753
_S2_PSD = "https://psd-14.sentinel2.eo.esa.int/PSD/"
_MGRS_TILE = re.compile(r"T(\d{2})([C-X])[A-Z]{2}")


def write_s2_safe(
    parent: Path,
    bands: dict[str, np.ndarray],
    transform: Affine,
    epsg: int,
    level: str = "L2A",
    baseline: str = "05.09",
    tile: str = "T33UUP",
    start: datetime = datetime(2023, 6, 15, 10, 15, 59, 24000, tzinfo=timezone.utc),
    scl: np.ndarray | None = None,
) -> Path:
    """Write a Sentinel-2B L1C or L2A product in ESA's "SAFE compact" layout under ``parent``; return its
    ``.SAFE`` folder.

    ``bands`` maps 10 m band names (among ``S2_BANDS_10M``) to 2-D reflectance arrays of one shape, NaN for
    no data; bands not given are filled with ``FILL_REFLECTANCE``. They are stored as 15-bit JPEG2000 DNs
    ``round(reflectance * 10000) + 1000`` (without the ``+ 1000`` before baseline 04.00), 0 where NaN.
    ``transform`` places the 10 m grid (north-up, 10 m pixels) in EPSG ``epsg``, the UTM zone of ``tile``.
    ``start`` is the datatake's sensing start (naive means UTC). ``scl`` is the L2A scene classification
    (uint8 class codes) on the 20 m grid, whose shape is half the 10 m one rounded up.
    Also written: the true colour image (B04, B03, B02; reflectance 0-0.2 scaled to 1-255, 0 for no data)
    and, for L2A, constant aerosol (AOT) and water vapour (WVP) 10 m bands.
    """
    if level not in ("L1C", "L2A"):
        raise ValueError(f"level must be L1C or L2A, not {level!r}")
    tile_match = _MGRS_TILE.fullmatch(tile)
    if tile_match is None:
        raise ValueError(f"not an MGRS tile name: {tile!r}")
    utm_zone, north = int(tile_match.group(1)), tile_match.group(2) >= "N"
    if epsg != (32600 if north else 32700) + utm_zone:
        raise ValueError(f"EPSG:{epsg} is not the UTM zone of tile {tile}")
    if (transform.a, transform.b, transform.d, transform.e) != (10, 0, 0, -10):
        raise ValueError("the 10 m grid must be north-up with 10 m pixels")
    if not bands or set(bands) - set(S2_BANDS_10M):
        raise ValueError(f"bands must be among {S2_BANDS_10M}, got {sorted(bands)}")
    shape = np.shape(next(iter(bands.values())))
    if len(shape) != 2 or any(np.shape(a) != shape for a in bands.values()):
        raise ValueError("bands must be 2-D arrays of one shape")
    if scl is not None and (level != "L2A" or np.shape(scl) != (-(-shape[0] // 2), -(-shape[1] // 2))):
        raise ValueError("scl is an L2A band on the 20 m grid")

    start = _utc(start)
    generated = start + timedelta(hours=3)  # a typical processing delay
    orbit = _S2B_REF_ORBIT + math.floor((start - _S2B_REF_TIME) / timedelta(days=1) * 14.3)
    relative = (orbit - 27) % 143 + 1  # S2B's relative orbit
    sensed = f"{start:%Y%m%dT%H%M%S}"
    name = (f"S2B_MSI{level}_{sensed}_N{baseline.replace('.', '')}_R{relative:03d}_{tile}_"
            f"{generated:%Y%m%dT%H%M%S}")
    safe = Path(parent) / f"{name}.SAFE"
    granule_dir = safe / "GRANULE" / f"{level}_{tile}_A{orbit:06d}_{sensed}"
    offset = -RADIOMETRIC_OFFSET if float(baseline) >= 4 else 0
    ground_segment_id = f"S2B_OPER_MSI_{level}_{{}}_2BPS_{generated:%Y%m%dT%H%M%S}"
    tile_id = ground_segment_id.format("TL") + f"_A{orbit:06d}_{tile}_N{baseline}"
    datastrip_id = ground_segment_id.format("DS") + f"_S{sensed}_N{baseline}"

    # Band files: IMG_DATA/T33UUP_<sensed>_B02.jp2 (L1C), IMG_DATA/R10m/T33UUP_<sensed>_B02_10m.jp2 (L2A).
    images: list[tuple[str, int, Path]] = []  # (band, resolution in m, file)

    def add_image(band: str, resolution: int, data: np.ndarray, grid: Affine) -> None:
        stem, folder = f"{tile}_{sensed}_{band}", granule_dir / "IMG_DATA"
        if level == "L2A":
            stem, folder = f"{stem}_{resolution}m", folder / f"R{resolution}m"
        images.append((band, resolution, _write_jp2(folder / f"{stem}.jp2", data, grid, epsg)))

    reflectance = {b: np.asarray(bands.get(b, np.full(shape, FILL_REFLECTANCE)), float) for b in S2_BANDS_10M}
    for band in S2_BANDS_10M:  # B02 first: the driver locates all files from the first one listed
        add_image(band, 10, _reflectance_dn(reflectance[band], offset), transform)
    rgb = np.stack([reflectance[b] for b in ("B04", "B03", "B02")])
    tci = np.clip(np.round(np.nan_to_num(rgb) * 255 / 0.2), 1, 255)
    add_image("TCI", 10, np.where(np.isnan(rgb), 0, tci).astype(np.uint8), transform)
    if level == "L2A":
        add_image("AOT", 10, np.full(shape, _AOT_DN, np.uint16), transform)
        add_image("WVP", 10, np.full(shape, _WVP_DN, np.uint16), transform)
        if scl is not None:
            add_image("SCL", 20, np.asarray(scl, np.uint8), transform @ Affine.scale(2))

    # Granule metadata: the tile's CRS and grid at 10, 20 and 60 m.
    kind = f"Level-{level[1:]}"
    tl = ET.Element(f"n1:{kind}_Tile_ID", _s2_root_attrib(f"{_S2_PSD}S2_PDI_{kind}_Tile_Metadata.xsd"))
    info = _sub(tl, "n1:General_Info")
    _sub(info, "TILE_ID", tile_id, metadataLevel="Brief")
    _sub(info, "DATASTRIP_ID", datastrip_id, metadataLevel="Standard")
    _sub(info, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(info, "SENSING_TIME", _s2_time(start), metadataLevel="Standard")
    geocoding = _sub(_sub(tl, "n1:Geometric_Info"), "Tile_Geocoding", metadataLevel="Brief")
    _sub(geocoding, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {utm_zone}{'N' if north else 'S'}")
    _sub(geocoding, "HORIZONTAL_CS_CODE", f"EPSG:{epsg}")
    for resolution in (10, 20, 60):  # sizes rounded up to cover the 10 m grid
        size = _sub(geocoding, "Size", resolution=str(resolution))
        _sub(size, "NROWS", -(-shape[0] * 10 // resolution))
        _sub(size, "NCOLS", -(-shape[1] * 10 // resolution))
    for resolution in (10, 20, 60):
        position = _sub(geocoding, "Geoposition", resolution=str(resolution))
        for key, value in (("ULX", transform.c), ("ULY", transform.f), ("XDIM", resolution),
                           ("YDIM", -resolution)):
            _sub(position, key, _number(value))
    tl_path = _write_xml(tl, granule_dir / "MTD_TL.xml")

    # Product metadata: identification, the granule's image files, radiometry, footprint.
    root = ET.Element(f"n1:{kind}_User_Product", _s2_root_attrib(f"{_S2_PSD}User_Product_{kind}.xsd"))
    general = _sub(root, "n1:General_Info")
    product = _sub(general, "Product_Info")
    for key, value in (("PRODUCT_START_TIME", _s2_time(start)), ("PRODUCT_STOP_TIME", _s2_time(start)),
                       ("PRODUCT_URI", safe.name), ("PROCESSING_LEVEL", kind),
                       ("PRODUCT_TYPE", f"S2MSI{level[1:]}"), ("PROCESSING_BASELINE", baseline),
                       ("GENERATION_TIME", f"{generated:%Y-%m-%dT%H:%M:%S.%f}Z")):
        _sub(product, key, value)
    datatake = _sub(product, "Datatake", datatakeIdentifier=f"GS2B_{sensed}_{orbit:06d}_N{baseline}")
    for key, value in (("SPACECRAFT_NAME", "Sentinel-2B"), ("DATATAKE_TYPE", "INS-NOBS"),
                       ("DATATAKE_SENSING_START", _s2_time(start)), ("SENSING_ORBIT_NUMBER", relative),
                       ("SENSING_ORBIT_DIRECTION", "DESCENDING")):  # Sentinel-2 images descending
        _sub(datatake, key, value)
    _sub(_sub(product, "Query_Options", completeSingleTile="true"), "PRODUCT_FORMAT", "SAFE_COMPACT")
    granule = _sub(_sub(_sub(product, "Product_Organisation"), "Granule_List"), "Granule",
                   datastripIdentifier=datastrip_id, granuleIdentifier=tile_id, imageFormat="JPEG2000")
    for _, _, path in images:
        _sub(granule, "IMAGE_FILE", path.relative_to(safe).with_suffix("").as_posix())

    characteristics = _sub(general, "Product_Image_Characteristics")
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        special = _sub(characteristics, "Special_Values")
        _sub(special, "SPECIAL_VALUE_TEXT", text)
        _sub(special, "SPECIAL_VALUE_INDEX", index)
    display = _sub(characteristics, "Image_Display_Order")
    for channel, band_id in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        _sub(display, channel, band_id)
    if level == "L1C":
        _sub(characteristics, "QUANTIFICATION_VALUE", QUANTIFICATION_VALUE, unit="none")
        offset_tags = ("Radiometric_Offset_List", "RADIO_ADD_OFFSET")
    else:
        quantification = _sub(characteristics, "QUANTIFICATION_VALUES_LIST")
        _sub(quantification, "BOA_QUANTIFICATION_VALUE", QUANTIFICATION_VALUE, unit="none")
        _sub(quantification, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
        _sub(quantification, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
        offset_tags = ("BOA_ADD_OFFSET_VALUES_LIST", "BOA_ADD_OFFSET")
    if offset:
        offsets = _sub(characteristics, offset_tags[0])
        for band_id in range(len(_S2B_SOLAR_IRRADIANCE)):
            _sub(offsets, offset_tags[1], RADIOMETRIC_OFFSET, band_id=str(band_id))
    conversion = _sub(characteristics, "Reflectance_Conversion")
    sun_distance = 1 - 0.01672 * math.cos(math.radians(0.9856 * (start.timetuple().tm_yday - 4)))  # AU
    _sub(conversion, "U", repr(1 / sun_distance**2))
    irradiances = _sub(conversion, "Solar_Irradiance_List")
    for band_id, irradiance in enumerate(_S2B_SOLAR_IRRADIANCE):
        _sub(irradiances, "SOLAR_IRRADIANCE", irradiance, bandId=str(band_id), unit="W/m²/µm")
    if level == "L2A":
        classes = _sub(characteristics, "Scene_Classification_List")
        for index, text in enumerate(_SCL_CLASSES):
            scene_class = _sub(classes, "Scene_Classification_ID")
            _sub(scene_class, "SCENE_CLASSIFICATION_TEXT", f"SC_{text}")
            _sub(scene_class, "SCENE_CLASSIFICATION_INDEX", index)

    # Footprint: the 10 m grid's corners as "lat lon" pairs, closed.
    corners = [transform @ (col, row) for col, row in ((0, 0), (shape[1], 0), (shape[1], shape[0]),
                                                       (0, shape[0]), (0, 0))]
    lons, lats = warp_transform(CRS.from_epsg(epsg), CRS.from_epsg(4326), *zip(*corners))
    footprint = _sub(_sub(root, "n1:Geometric_Info"), "Product_Footprint")
    _sub(_sub(_sub(footprint, "Product_Footprint"), "Global_Footprint"), "EXT_POS_LIST",
         " ".join(f"{lat!r} {lon!r}" for lat, lon in zip(lats, lons)))
    _sub(footprint, "RASTER_CS_TYPE", "POINT")
    _sub(footprint, "PIXEL_ORIGIN", 1)
    cloudy = 0.0 if scl is None else 100 * float(np.isin(scl, (8, 9, 10)).mean())  # cloud classes
    _sub(_sub(root, "n1:Quality_Indicators_Info"), "Cloud_Coverage_Assessment", repr(cloudy))
    mtd_path = _write_xml(root, safe / f"MTD_MSI{level}.xml")

    # Manifest: platform, acquisition, orbit, and every file with its size and checksum.
    manifest = _manifest_root(f"esa/safe/sentinel/1.1/sentinel-2/msi/archive_{level.lower()}_user_product",
                              safe="http://www.esa.int/safe/sentinel/1.1", gml="http://www.opengis.net/gml")
    package = _sub(_sub(manifest, "informationPackageMap"), "xfdu:contentUnit", ID="SAFE_PRODUCT",
                   textInfo=f"SENTINEL-2 MSI {kind} User Product", unitType=f"Product_{kind}")
    metadata = _sub(manifest, "metadataSection")
    platform = _sub(_wrapped_metadata(metadata, "platform", "Platform Description"), "safe:platform")
    _sub(platform, "safe:nssdcIdentifier", "2017-013A")
    _sub(platform, "safe:familyName", "SENTINEL-2")
    _sub(platform, "safe:number", "B")
    instrument = _sub(platform, "safe:instrument")
    _sub(instrument, "safe:familyName", "Multi-Spectral Instrument", abbreviation="MSI")
    period = _sub(_wrapped_metadata(metadata, "acquisitionPeriod", "Acquisition Period"),
                  "safe:acquisitionPeriod")
    _sub(period, "safe:startTime", _s2_time(start))
    orbits = _sub(_wrapped_metadata(metadata, "measurementOrbitReference", "Orbit Reference"),
                  "safe:orbitReference")
    _sub(orbits, "safe:orbitNumber", orbit, groundTrackDirection="descending")
    _sub(orbits, "safe:relativeOrbitNumber", relative, groundTrackDirection="descending")
    objects = _sub(manifest, "dataObjectSection")
    files = [(f"S2_{kind}_Product_Metadata", "Metadata_Unit", mtd_path, "text/xml"),
             (f"S2_{kind}_Tile1_Metadata", "Metadata_Unit", tl_path, "text/xml")]
    files += [(f"IMG_DATA_Band_{band}_{resolution}m_Tile1_Data", "Measurement_Data_Unit", path,
               "application/octet-stream") for band, resolution, path in images]
    for object_id, unit_type, path, mime in files:
        unit = _sub(package, "xfdu:contentUnit", ID=object_id.removesuffix("_Data"), unitType=unit_type)
        _sub(unit, "dataObjectPointer", dataObjectID=object_id)
        _data_object(objects, object_id, safe, path, mime)
    _write_xml(manifest, safe / "manifest.safe")
    return safe


# --- Sentinel-1 -----------------------------------------------------------------------------------------

# S1A's orbit phase: absolute orbit 6672 crossed the ascending node at 2015-07-05T06:04:08.728528;
# 175 orbits in 12 days.
_S1A_REF_ANX, _S1A_REF_ORBIT = datetime(2015, 7, 5, 6, 4, 8, 728528, tzinfo=timezone.utc), 6672
_S1_ORBIT_PERIOD = timedelta(days=12) / 175
_S1_ANX_DELAY = {"S1A": 0.0, "S1B": 0.5}  # orbits after S1A's node: S1B flies half an orbit behind
_S1_RELATIVE_ORBIT_OFFSET = {"S1A": 73, "S1B": 27}  # relative = (absolute - offset) % 175 + 1
_S1_NSSDC_ID = {"S1A": "2014-016A", "S1B": "2016-025A"}
_S1_POLARISATION_CODE = {("VV",): "SV", ("VH", "VV"): "DV", ("HH",): "SH", ("HH", "HV"): "DH"}

# IW GRDH: 10 m ground-range pixels; the incidence grows across the image from 30.5° to 46°.
_S1_LINE_INTERVAL = 1.496479475961005e-03  # s of azimuth time per line
S1_NEAR_INCIDENCE, S1_FAR_INCIDENCE = 30.5, 46.0  # degrees
_S1_BETA_LUT = 237.0  # betaNought (and dn) calibration value of IW GRDH products
_EARTH_RADIUS, _S1_ALTITUDE, _LIGHT_SPEED = 6371e3, 693e3, 299792458.0  # m, m, m/s
_S1_LUT_PIXEL_STEP, _S1_LUT_LINE_STEP = 40, 64  # spacing of the calibration vectors' samples


def write_s1_grd_safe(
    parent: Path,
    polarisations: dict[str, np.ndarray],
    gcps: list[GroundControlPoint],
    start: datetime = datetime(2023, 6, 15, 17, 8, 21, 482190, tzinfo=timezone.utc),
    mission: str = "S1A",
    orbit_direction: str = "ASCENDING",
    relative_orbit: int | None = None,
    absolute_orbit: int | None = None,
) -> Path:
    """Write a Sentinel-1 IW GRDH product under ``parent``; return its ``.SAFE`` folder.

    ``polarisations`` maps ``VV`` (and ``VH``), or ``HH`` (and ``HV``), to 2-D amplitude DNs of one shape,
    stored as uint16 GeoTIFFs. ``gcps`` is the geolocation grid: ``col``/``row`` in GDAL's pixel-corner
    convention, ``x``/``y`` longitude/latitude in degrees (EPSG:4326), ``z`` height in m; it goes unchanged
    into the annotation and into each GeoTIFF, as ESA writes both. ``start`` is the first line's
    zero-Doppler time (naive means UTC), lines following every 1.496 ms. The absolute orbit defaults to the
    one S1A flies at ``start`` (give it for S1B), the relative orbit to the one the absolute maps to.
    Calibration vectors follow ESA's definitions with the incidence θ growing linearly across the image
    from 30.5° to 46°: betaNought 237, sigmaNought 237 / sqrt(sin θ), gamma 237 / sqrt(tan θ), so that
    sigma0 = DN² / sigmaNought².
    """
    pols = tuple(sorted(polarisations))
    if pols not in _S1_POLARISATION_CODE:
        raise ValueError(f"polarisations must be VV, VV+VH, HH or HH+HV, got {pols}")
    if mission not in _S1_NSSDC_ID:
        raise ValueError(f"mission must be one of {sorted(_S1_NSSDC_ID)}, not {mission!r}")
    if orbit_direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"orbit_direction must be ASCENDING or DESCENDING, not {orbit_direction!r}")
    if not gcps:
        raise ValueError("gcps must not be empty")
    dns = {pol: np.asarray(polarisations[pol]) for pol in pols}
    shape = dns[pols[0]].shape
    if len(shape) != 2 or min(shape) < 2 or any(a.shape != shape for a in dns.values()):
        raise ValueError("polarisations must be 2-D arrays of one shape, at least 2 x 2")
    if any(not np.array_equal(dn, dn.astype(np.uint16)) for dn in dns.values()):
        raise ValueError("polarisations must hold uint16 DNs")
    lines, samples = shape
    co_first = sorted(pols, key=lambda pol: pol[0] != pol[1])  # the co-polarisation is image 001

    start = _utc(start)
    stop = start + timedelta(seconds=(lines - 1) * _S1_LINE_INTERVAL)
    generated = start + timedelta(hours=1, minutes=12)  # a typical processing delay
    reference_anx = _S1A_REF_ANX + _S1_ANX_DELAY[mission] * _S1_ORBIT_PERIOD
    anx = reference_anx + math.floor((start - reference_anx) / _S1_ORBIT_PERIOD) * _S1_ORBIT_PERIOD
    if absolute_orbit is None:
        if mission != "S1A":
            raise ValueError("give absolute_orbit for missions other than S1A")
        absolute_orbit = _S1A_REF_ORBIT + round((anx - _S1A_REF_ANX) / _S1_ORBIT_PERIOD)
    if relative_orbit is None:
        relative_orbit = (absolute_orbit - _S1_RELATIVE_ORBIT_OFFSET[mission]) % 175 + 1
    datatake = binascii.crc32(start.isoformat().encode()) & 0xFFFFF  # a mission-wide counter in reality
    stem = f"{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_{absolute_orbit:06d}_{datatake:06X}"
    product_id = binascii.crc_hqx(stem.encode(), 0)  # ESA's is a CRC-16 of the product
    safe = Path(parent) / f"{mission}_IW_GRDH_1S{_S1_POLARISATION_CODE[pols]}_{stem}_{product_id:04X}.SAFE"

    incidence, _, slant_time = _iw_geometry(np.arange(samples), samples)
    lut_pixels = sorted({*range(0, samples, _S1_LUT_PIXEL_STEP), samples - 1})
    lut_lines = range(0, lines + _S1_LUT_LINE_STEP - 1, _S1_LUT_LINE_STEP)  # the last at or past the end
    lut_incidence = np.radians(incidence[lut_pixels])
    luts = {"sigmaNought": _S1_BETA_LUT / np.sqrt(np.sin(lut_incidence)),
            "betaNought": np.full(len(lut_pixels), _S1_BETA_LUT),
            "gamma": _S1_BETA_LUT / np.sqrt(np.tan(lut_incidence)),
            "dn": np.full(len(lut_pixels), _S1_BETA_LUT)}

    def add_header(element: ET.Element, pol: str, image_number: int) -> None:
        header = _sub(element, "adsHeader")
        for key, value in (("missionId", mission), ("productType", "GRD"), ("polarisation", pol),
                           ("mode", "IW"), ("swath", "IW"), ("startTime", _s1_time(start)),
                           ("stopTime", _s1_time(stop)), ("absoluteOrbitNumber", absolute_orbit),
                           ("missionDataTakeId", datatake), ("imageNumber", f"{image_number:03d}")):
            _sub(header, key, value)

    written: list[tuple[str, Path, Path, Path]] = []  # (data object id, annotation, calibration, tiff)
    for image_number, pol in enumerate(co_first, start=1):
        file_stem = f"{mission}-iw-grd-{pol}-{stem.replace('_', '-')}-{image_number:03d}".lower()

        # Product annotation: image description, ellipsoid and geolocation grid.
        product = ET.Element("product")
        add_header(product, pol, image_number)
        information = _sub(_sub(product, "generalAnnotation"), "productInformation")
        for key, value in (("pass", orbit_direction.capitalize()), ("timelinessCategory", "Fast-24h"),
                           ("platformHeading", -12.0 if orbit_direction == "ASCENDING" else -168.0),
                           ("projection", "Ground Range"), ("rangeSamplingRate", 6.434523812571428e07),
                           ("radarFrequency", 5.405000454334350e09), ("azimuthSteeringRate", 1.590368784)):
            _sub(information, key, value)
        image_annotation = _sub(product, "imageAnnotation")
        image_information = _sub(image_annotation, "imageInformation")
        for key, value in (("productFirstLineUtcTime", _s1_time(start)),
                           ("productLastLineUtcTime", _s1_time(stop)), ("ascendingNodeTime", _s1_time(anx)),
                           ("anchorTime", _s1_time(start)), ("productComposition", "Assembled"),
                           ("slantRangeTime", slant_time[0]), ("pixelValue", "Detected"),
                           ("outputPixels", "16 bit Unsigned Integer"), ("rangePixelSpacing", 10.0),
                           ("azimuthPixelSpacing", 10.0), ("azimuthTimeInterval", _S1_LINE_INTERVAL),
                           ("azimuthFrequency", 1 / _S1_LINE_INTERVAL), ("numberOfSamples", samples),
                           ("numberOfLines", lines), ("incidenceAngleMidSwath", incidence[samples // 2])):
            _sub(image_information, key, value)
        processing = _sub(image_annotation, "processingInformation")
        for key, value in (("ellipsoidName", "WGS84"), ("ellipsoidSemiMajorAxis", 6378137.0),
                           ("ellipsoidSemiMinorAxis", 6356752.314245)):
            _sub(processing, key, value)
        grid = _sub(_sub(product, "geolocationGrid"), "geolocationGridPointList", count=str(len(gcps)))
        for gcp in gcps:
            point_incidence, point_elevation, point_slant_time = _iw_geometry(np.float64(gcp.col), samples)
            point_time = start + timedelta(seconds=gcp.row * _S1_LINE_INTERVAL)
            point = _sub(grid, "geolocationGridPoint")
            for key, value in (("azimuthTime", _s1_time(point_time)),
                               ("slantRangeTime", point_slant_time), ("line", _number(gcp.row)),
                               ("pixel", _number(gcp.col)), ("latitude", float(gcp.y)),
                               ("longitude", float(gcp.x)), ("height", float(gcp.z or 0)),
                               ("incidenceAngle", point_incidence), ("elevationAngle", point_elevation)):
                _sub(point, key, value)
        annotation = _write_xml(product, safe / "annotation" / f"{file_stem}.xml")

        # Calibration: one vector every _S1_LUT_LINE_STEP lines, sampled every _S1_LUT_PIXEL_STEP pixels.
        calibration = ET.Element("calibration")
        add_header(calibration, pol, image_number)
        _sub(_sub(calibration, "calibrationInformation"), "absoluteCalibrationConstant", 1.0)
        vectors = _sub(calibration, "calibrationVectorList", count=str(len(lut_lines)))
        for line in lut_lines:
            vector = _sub(vectors, "calibrationVector")
            _sub(vector, "azimuthTime", _s1_time(start + timedelta(seconds=line * _S1_LINE_INTERVAL)))
            _sub(vector, "line", line)
            _sub(vector, "pixel", " ".join(map(str, lut_pixels)), count=str(len(lut_pixels)))
            for key, values in luts.items():
                _sub(vector, key, " ".join(f"{v:.6e}" for v in values), count=str(len(lut_pixels)))
        calibration_path = _write_xml(calibration,
                                      safe / "annotation" / "calibration" / f"calibration-{file_stem}.xml")

        # Measurement: uncompressed, stripped GeoTIFF with the GCPs, as ESA's.
        tiff = safe / "measurement" / f"{file_stem}.tiff"
        tiff.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # GCPs are set after opening
            with rasterio.open(tiff, "w", driver="GTiff", width=samples, height=lines, count=1,
                               dtype="uint16") as dst:
                dst.write(dns[pol].astype(np.uint16), 1)
                dst.gcps = (gcps, CRS.from_epsg(4326))
                dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=f"Sentinel-1{mission[-1]} IW GRD HR L1",
                                TIFFTAG_SOFTWARE="Sentinel-1 IPF 003.61",
                                TIFFTAG_DATETIME=f"{generated:%Y:%m:%d %H:%M:%S}")
        written.append((file_stem.replace("-", ""), annotation, calibration_path, tiff))

    # Manifest: per polarisation, a measurement unit that points at its annotation and calibration.
    manifest = _manifest_root(
        "esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp",
        safe="http://www.esa.int/safe/sentinel-1.0", s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1",
        s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
        gml="http://www.opengis.net/gml")
    package = _sub(_sub(manifest, "informationPackageMap"), "xfdu:contentUnit",
                   unitType="SAFE Archive Information Package", textInfo="Sentinel-1 IW Level-1 GRD Product",
                   dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference "
                         "measurementFrameSet", pdiID="processing")
    metadata = _sub(manifest, "metadataSection")
    objects = _sub(manifest, "dataObjectSection")
    for object_id, annotation, calibration_path, tiff in written:
        for prefix, schema, path in (("product", "s1Level1ProductSchema", annotation),
                                     ("calibration", "s1Level1CalibrationSchema", calibration_path)):
            unit = _sub(package, "xfdu:contentUnit", unitType="Metadata Unit", repID=schema)
            _sub(unit, "dataObjectPointer", dataObjectID=prefix + object_id)
            reference = _sub(metadata, "metadataObject", ID=f"{prefix}{object_id}Annotation",
                             classification="DESCRIPTION", category="DMD")
            _sub(reference, "dataObjectPointer", dataObjectID=prefix + object_id)
            _data_object(objects, prefix + object_id, safe, path, "text/xml", repID=schema)
        unit = _sub(package, "xfdu:contentUnit", unitType="Measurement Data Unit",
                    repID="s1Level1MeasurementSchema",
                    dmdID=f"product{object_id}Annotation calibration{object_id}Annotation")
        _sub(unit, "dataObjectPointer", dataObjectID=object_id)
        _data_object(objects, object_id, safe, tiff, "application/octet-stream",
                     repID="s1Level1MeasurementSchema")

    processing = _sub(_wrapped_metadata(metadata, "processing", "Processing", "PDI", "PROVENANCE"),
                      "safe:processing", name="GRD Post Processing",
                      start=_s1_time(generated - timedelta(minutes=10)), stop=_s1_time(generated))
    facility = _sub(processing, "safe:facility", country="Germany",
                    name="Copernicus S1 Core Ground Segment - DPA", organisation="ESA",
                    site="Airbus DS-Friedrichshafen")
    _sub(facility, "safe:software", name="Sentinel-1 IPF", version="003.61")
    platform = _sub(_wrapped_metadata(metadata, "platform", "Platform Description"), "safe:platform")
    _sub(platform, "safe:nssdcIdentifier", _S1_NSSDC_ID[mission])
    _sub(platform, "safe:familyName", "SENTINEL-1")
    _sub(platform, "safe:number", mission[-1])
    instrument = _sub(platform, "safe:instrument")
    _sub(instrument, "safe:familyName", "Synthetic Aperture Radar", abbreviation="SAR")
    mode = _sub(_sub(instrument, "safe:extension"), "s1sarl1:instrumentMode")
    _sub(mode, "s1sarl1:mode", "IW")
    for swath in ("IW1", "IW2", "IW3"):
        _sub(mode, "s1sarl1:swath", swath)
    orbits = _sub(_wrapped_metadata(metadata, "measurementOrbitReference", "Orbit Reference"),
                  "safe:orbitReference")
    for tag, value in (("safe:orbitNumber", absolute_orbit), ("safe:relativeOrbitNumber", relative_orbit)):
        for moment in ("start", "stop"):
            _sub(orbits, tag, value, type=moment)
    orbit_properties = _sub(_sub(orbits, "safe:extension"), "s1:orbitProperties")
    _sub(orbit_properties, "s1:pass", orbit_direction)
    _sub(orbit_properties, "s1:ascendingNodeTime", _s1_time(anx))
    general = _sub(_wrapped_metadata(metadata, "generalProductInformation", "General Product Information"),
                   "s1sarl1:standAloneProductInformation")
    _sub(general, "s1sarl1:missionDataTakeID", datatake)
    for pol in co_first:
        _sub(general, "s1sarl1:transmitterReceiverPolarisation", pol)
    for key, value in (("productClass", "S"), ("productClassDescription", "SAR Standard L1 Product"),
                       ("productComposition", "Assembled"), ("productType", "GRD"),
                       ("productTimelinessCategory", "Fast-24h")):
        _sub(general, f"s1sarl1:{key}", value)
    period = _sub(_wrapped_metadata(metadata, "acquisitionPeriod", "Acquisition Period"),
                  "safe:acquisitionPeriod")
    _sub(period, "safe:startTime", _s1_time(start))
    _sub(period, "safe:stopTime", _s1_time(stop))
    # Footprint: the GCPs nearest the image corners, as "lat,lon" pairs.
    corners = [min(gcps, key=lambda g: (g.row - row) ** 2 + (g.col - col) ** 2)
               for row, col in ((0, 0), (0, samples), (lines, samples), (lines, 0))]
    frame = _sub(_sub(_wrapped_metadata(metadata, "measurementFrameSet", "Frame Set"), "safe:frameSet"),
                 "safe:frame")
    _sub(_sub(frame, "safe:footPrint", srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"),
         "gml:coordinates", " ".join(f"{g.y:.6f},{g.x:.6f}" for g in corners))
    _write_xml(manifest, safe / "manifest.safe")
    return safe


def zip_safe(safe: Path) -> Path:
    """Zip a ``.SAFE`` folder as ESA distributes it: ``<name>.zip`` beside it, holding ``<name>.SAFE/`` (with
    its directory entries) at its root. Return the zip."""
    safe = Path(safe)
    archive = safe.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(safe, safe.name)
        for path in sorted(safe.rglob("*")):
            zf.write(path, path.relative_to(safe.parent).as_posix())
    return archive


# --- helpers --------------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _s2_time(moment: datetime) -> str:
    """A Sentinel-2 metadata time: ``2023-06-15T10:15:59.024Z`` (milliseconds)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _s1_time(moment: datetime) -> str:
    """A Sentinel-1 metadata time: ``2023-06-15T17:08:21.482190`` (UTC, microseconds, no zone)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S.%f}"


def _number(value: float) -> str:
    """An integral value without decimals (``300000``), any other as Python writes it (``51.2``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    """Append element ``tag`` (a prefixed name is written as it is) with ``text`` to ``parent``; floats are
    written as Sentinel-1 annotations write them (``6.378137000000000e+06``)."""
    element = ET.SubElement(parent, tag, attrib)
    if isinstance(text, (float, np.floating)):
        element.text = f"{text:.15e}"
    elif text is not None:
        element.text = str(text)
    return element


def _s2_root_attrib(schema: str) -> dict[str, str]:
    """Root attributes of a Sentinel-2 metadata file of ``schema`` (the SENTINEL2 driver recognises the file
    by its root element and this schema in its first bytes)."""
    return {"xmlns:n1": schema, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": schema}


def _manifest_root(version: str, **namespaces: str) -> ET.Element:
    """An empty ``<xfdu:XFDU>`` manifest of SAFE format ``version`` declaring ``namespaces`` (prefix=URI).
    The SAFE driver skips a manifest that says ``sentinel-2`` in its first bytes, as the S2 versions do."""
    namespaces = {"xfdu": "urn:ccsds:schema:xfdu:1", **namespaces}
    attrib = {f"xmlns:{prefix}": uri for prefix, uri in namespaces.items()}
    return ET.Element("xfdu:XFDU", {**attrib, "version": version})


def _wrapped_metadata(section: ET.Element, object_id: str, text_info: str, category: str = "DMD",
                      classification: str = "DESCRIPTION") -> ET.Element:
    """A manifest ``metadataObject`` with inline XML; return its ``xmlData`` element, to fill."""
    wrapper = _sub(section, "metadataObject", ID=object_id, classification=classification, category=category)
    wrap = _sub(wrapper, "metadataWrap", mimeType="text/xml", vocabularyName="SAFE", textInfo=text_info)
    return _sub(wrap, "xmlData")


def _data_object(section: ET.Element, object_id: str, safe: Path, path: Path, mime: str,
                 **attrib: str) -> None:
    """A manifest ``dataObject`` for ``path``, a file of product ``safe``: location, size and MD5."""
    data = path.read_bytes()
    stream = _sub(_sub(section, "dataObject", ID=object_id, **attrib), "byteStream", mimeType=mime,
                  size=str(len(data)))
    _sub(stream, "fileLocation", locatorType="URL", href=f"./{path.relative_to(safe).as_posix()}")
    _sub(stream, "checksum", hashlib.md5(data).hexdigest(), checksumName="MD5")


def _write_xml(root: ET.Element, path: Path) -> Path:
    """Write ``root``, indented and with an XML declaration, to ``path`` (making its folder); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _reflectance_dn(reflectance: np.ndarray, offset: int) -> np.ndarray:
    """Sentinel-2 DNs ``round(reflectance * 10000) + offset``, 0 (no data) where NaN."""
    valid = ~np.isnan(reflectance)
    dn = np.where(valid, np.round(np.nan_to_num(reflectance) * QUANTIFICATION_VALUE) + offset, 0)
    if np.any(valid & ((dn < 1) | (dn >= 2**_S2_NBITS))):
        raise ValueError(f"reflectances must make DNs 1 to {2**_S2_NBITS - 1}")
    return dn.astype(np.uint16)


def _write_jp2(path: Path, data: np.ndarray, transform: Affine, epsg: int) -> Path:
    """Write ``data`` (2-D, or bands first) as lossless JPEG2000 on grid ``transform`` in EPSG ``epsg``,
    uint16 data as 15-bit; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stack = data[np.newaxis] if data.ndim == 2 else data
    options = {"NBITS": str(_S2_NBITS)} if stack.dtype == np.uint16 else {}
    with rasterio.open(path, "w", driver="JP2OpenJPEG", width=stack.shape[2], height=stack.shape[1],
                       count=stack.shape[0], dtype=stack.dtype, crs=CRS.from_epsg(epsg), transform=transform,
                       QUALITY="100", REVERSIBLE="YES", **options) as dst:
        dst.write(stack)
    return path


def _iw_geometry(pixel: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incidence and elevation angles (degrees) and two-way slant-range time (s) at range ``pixel`` of an
    image ``samples`` wide, the incidence growing linearly across it (spherical Earth)."""
    fraction = pixel / (samples - 1)
    incidence = np.radians(S1_NEAR_INCIDENCE + (S1_FAR_INCIDENCE - S1_NEAR_INCIDENCE) * fraction)
    elevation = np.arcsin(np.sin(incidence) * _EARTH_RADIUS / (_EARTH_RADIUS + _S1_ALTITUDE))
    slant_range = _EARTH_RADIUS * np.sin(incidence - elevation) / np.sin(elevation)
    return np.degrees(incidence), np.degrees(elevation), 2 * slant_range / _LIGHT_SPEED


@dataclass(frozen=True)
class DemoProducts:
    """The bundled demo pair as Sentinel products, and the same pixels as plain GeoTIFFs.

    ``s2_l2a``: an L2A ``.SAFE`` folder whose scene classification calls the top-left quarter cloud
    (``cloud_box``: its left, bottom, right, top in the product's UTM CRS) and the rest vegetation;
    ``s2_l1c_zip``: an L1C product's zip; ``s1``/``s1_zip``: a GRD ``.SAFE`` folder and its zip;
    ``reference_tif``: B4, B3, B2 of the L2A product's 10 m subdataset as a GeoTIFF (uint16 DN, nodata 0);
    ``sar_tif``: the GRD product's VV measurement GeoTIFF (GCPs only).
    """

    s2_l2a: Path
    s2_l1c_zip: Path
    s1: Path
    s1_zip: Path
    reference_tif: Path
    sar_tif: Path
    cloud_box: tuple[float, float, float, float]


DEMO_TILE, DEMO_EPSG = "T11SLT", 32611  # the demo pair lies at 118.2° W, 33.7° N: UTM zone 11, band S
DEMO_REFLECTANCE_SCALE = 0.3 / 255  # the demo's 8-bit RGB taken as reflectances 0-0.3
DEMO_SAR_DN_SCALE = 100  # the demo's 8-bit SAR taken as amplitude DNs up to 25 500
DEMO_GCP_GRID = 6  # GCPs per side of the GRD product's geolocation grid
SCL_VEGETATION, SCL_CLOUD_HIGH_PROBABILITY = 4, 9


def demo_products(demo_reference: Path, demo_sar: Path, folder: Path) -> DemoProducts:
    """Build :class:`DemoProducts` under ``folder``.

    The demo's optical RGB (EPSG:3395) is reprojected (bilinear) onto a 10 m UTM grid and stored as B04,
    B03, B02, with their mean as B08 (the demo has no near infrared); the demo SAR keeps its pixels and is
    georeferenced by a 6 × 6 grid of GCPs in longitude/latitude taken from its geotransform, so the
    product carries the demo's known misregistration.
    """
    with rasterio.open(demo_reference) as src:
        left, bottom, right, top = rasterio.warp.transform_bounds(src.crs, CRS.from_epsg(DEMO_EPSG), *src.bounds)
        transform = Affine(10, 0, math.floor(left / 10) * 10, 0, -10, math.ceil(top / 10) * 10)
        width, height = math.ceil((right - transform.c) / 10), math.ceil((transform.f - bottom) / 10)
        rgb = np.full((3, height, width), np.nan, np.float32)
        rasterio.warp.reproject(src.read().astype(np.float32), rgb, src_transform=src.transform, src_crs=src.crs,
                                dst_transform=transform, dst_crs=CRS.from_epsg(DEMO_EPSG), dst_nodata=np.nan,
                                resampling=rasterio.enums.Resampling.bilinear)
    reflectance = rgb * DEMO_REFLECTANCE_SCALE
    bands = {"B04": reflectance[0], "B03": reflectance[1], "B02": reflectance[2], "B08": reflectance.mean(axis=0)}
    scl = np.full((-(-height // 2), -(-width // 2)), SCL_VEGETATION, np.uint8)
    cloud_rows, cloud_cols = scl.shape[0] // 2, scl.shape[1] // 2
    scl[:cloud_rows, :cloud_cols] = SCL_CLOUD_HIGH_PROBABILITY
    cloud_box = (transform.c, transform.f - 20 * cloud_rows, transform.c + 20 * cloud_cols, transform.f)
    l2a = write_s2_safe(folder / "l2a", bands, transform, DEMO_EPSG, "L2A", tile=DEMO_TILE, scl=scl)
    l1c_zip = zip_safe(write_s2_safe(folder / "l1c", bands, transform, DEMO_EPSG, "L1C", tile=DEMO_TILE))
    with rasterio.open(demo_sar) as src:
        dn = src.read(1).astype(np.uint16) * DEMO_SAR_DN_SCALE
        cols, rows = np.meshgrid(*(np.linspace(0, n, DEMO_GCP_GRID) for n in (src.width, src.height)))
        x, y = map_points(src.transform, np.column_stack([cols.ravel(), rows.ravel()])).T
        lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326", x, y)
    gcps = [GroundControlPoint(row=r, col=c, x=lo, y=la, z=0.0, id=str(i + 1))
            for i, (c, r, lo, la) in enumerate(zip(cols.ravel(), rows.ravel(), lon, lat))]
    s1 = write_s1_grd_safe(folder / "s1", {"VV": dn, "VH": (dn * 0.5).astype(np.uint16)}, gcps)
    reference_tif = folder / "reference_b4_b3_b2.tif"
    subdataset = f"SENTINEL2_L2A:{l2a / 'MTD_MSIL2A.xml'}:10m:EPSG_{DEMO_EPSG}"
    with rasterio.open(subdataset) as src:
        profile = dict(driver="GTiff", width=src.width, height=src.height, count=3, dtype="uint16", crs=src.crs,
                       transform=src.transform, nodata=0)
        with rasterio.open(reference_tif, "w", **profile) as dst:
            dst.write(src.read([1, 2, 3]))
    (sar_tif,) = (s1 / "measurement").glob("*-vv-*.tiff")
    return DemoProducts(l2a, l1c_zip, s1, zip_safe(s1), reference_tif, sar_tif, cloud_box)
