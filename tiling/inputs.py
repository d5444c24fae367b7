"""What a user hands sarlign, resolved to the GDAL dataset to read and the 1-based bands to use.

An input is a location (see :mod:`sarlign.locations`, kept a string throughout) of

- a raster GDAL opens (GeoTIFF, COG, VRT, JPEG 2000, a subdataset name), local or remote;
- a **Sentinel-2 L1C or L2A product**: its ``.SAFE`` folder, its ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``, or
  its ``.zip`` as the Copernicus Data Space delivers it (the ``.SAFE`` folder at the zip's root). GDAL's
  SENTINEL2 driver reads it; sarlign takes the 10 m subdataset (B2, B3, B4, B8);
- a **STAC Item** (a JSON file or URL; see :mod:`sarlign.tiling.stac_inputs`): the assets of the bands
  asked for;
- a **Sentinel-1 GRD product**: its ``.SAFE`` folder, its ``manifest.safe``, or its ``.zip``. GDAL's SAFE
  driver reads it: one subdataset per polarisation, georeferenced by the annotation's GCP grid.

What GDAL does not do (GDAL 3.10): open a Sentinel-2 ``.SAFE`` folder (sarlign opens its MTD file), open
a Sentinel-1 ``.zip`` itself (sarlign goes through ``/vsizip/``), apply Sentinel-2's radiometric offset
(baseline ≥ 04.00: the DNs are reflectance × 10000 + 1000; matching scales each band by its percentiles,
so the offset does not matter), calibrate GRD to σ⁰/β⁰/γ⁰ (its SAFE driver offers calibration for SLC
products only; matching uses the DN in dB), or expose the relative orbit (read from ``manifest.safe``).

Bands are chosen by 1-based number (``3``) or by name: Sentinel-2 band names as ESA writes them or as GDAL
does (``B08`` or ``B8``, ``B8A``) or their common names (``nir``, ``red``, ``green``, ``blue``),
Sentinel-1 polarisations (``VV``, ``VH``, ``HH``, ``HV``), and for any other raster its band
descriptions (case does not matter).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from sarlign.errors import InputError
from sarlign.locations import display_name, file_name, is_local_file, vsi_path
from sarlign.tiling.gdal_errors import GDAL_ERRORS
from sarlign.tiling.recipe import ClassMask
from sarlign.tiling.stac_inputs import band_key, is_stac_item, resolve_item

S2_METADATA = ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")
S1_MANIFEST = "manifest.safe"
# Product names (ESA's "compact" naming): mission, instrument and processing level.
S2_NAME = re.compile(r"^S2[A-D]_MSI(?P<level>L1B|L1C|L2A)_")
S1_NAME = re.compile(r"^S1[A-D]_(?P<mode>IW|EW|SM|WV|S[1-6])_(?P<type>GRD|SLC|RAW|OCN)")
# A polarisation's subdataset: ``SENTINEL1_CALIB:UNCALIB:…:IW_VV:AMPLITUDE`` (as GDAL 3.10 names it) or
# ``SENTINEL1_DS:…:IW_VV`` (earlier releases).
_S1_SUBDATASET = re.compile(r":(?P<swath>IW|EW|S[1-6])_(?P<polarisation>VV|VH|HH|HV)(:AMPLITUDE)?$")
# Whole subdataset names, as QGIS layers from these products carry them: the metadata file's location.
_S2_SUBDATASET = re.compile(r"^SENTINEL2_L(1C|2A):(?P<metadata>.+):(10m|20m|60m|TCI):EPSG_\d+$")
_S1_SUBDATASET_NAME = re.compile(
    r"^SENTINEL1_(CALIB:[A-Z0-9]+|DS):(?P<metadata>.+?):(IW|EW|S[1-6])(_(VV|VH|HH|HV))?(:[A-Z]+)?$"
)
_ZIP_MEMBER = re.compile(r"^(?P<archive>.+?\.zip)/(?P<member>.+)$", re.IGNORECASE)
_RELATIVE_ORBIT = re.compile(r"<safe:relativeOrbitNumber[^>]*>\s*(\d+)\s*<")
S2_DEFAULT_BANDS = ("B8",)  # see the README: the NIR band matched best on the shared Sentinel-1/2 pairs
S1_DEFAULT_POLARISATION = "VV"
# Scene classification (SCL) classes left out with --mask-clouds: cloud shadows, cloud of medium and high
# probability, thin cirrus (ESA's L2A product specification).
CLOUD_CLASSES = (3, 8, 9, 10)


@dataclass(frozen=True)
class Input:
    """One resolved input.

    ``location``: what the user gave (kept for the report); ``dataset``: what GDAL opens (the location
    itself, or a product's subdataset); ``bands``: the 1-based bands used, None for "all bands";
    ``product``: what the product says of itself (kind, mission, level, polarisation, orbit…), empty for a
    plain raster.
    """

    location: str
    dataset: str
    bands: tuple[int, ...] | None
    product: dict[str, object] = field(default_factory=dict)
    nodata: float | None = None  # a product's no-data DN where GDAL does not set it on the bands
    mask: ClassMask | None = None  # pixels to leave out (clouds, from an L2A product's SCL)


def band_selectors(text: str) -> tuple[str, ...]:
    """``"4,3,2"``, ``"B04, B03; B02"`` → the selectors, in order (separated by commas, semicolons or spaces)."""
    return tuple(part for part in re.split(r"[,; ]+", text.strip()) if part)


def resolve_input(location: str, role: str, bands: tuple[str, ...] | None, mask_clouds: bool = False) -> Input:
    """Find the dataset and bands that ``location`` and the band selectors ``bands`` name.

    ``role`` ("reference" or "SAR") appears in error messages. Selectors are band numbers or names (see the
    module docstring); None takes a product's default (Sentinel-2: B8; Sentinel-1: VV) or, for a plain
    raster, every band for the reference and band 1 for the SAR. ``mask_clouds``: leave out the pixels
    a Sentinel-2 L2A product's scene classification calls cloud, cloud shadow or cirrus (``CLOUD_CLASSES``).

    Raises:
        InputError: naming the location: not a readable product, an L1B product, a band it does not have.
    """
    if is_stac_item(location):
        found = Input(location, *resolve_item(location, role, bands))
    else:
        kind, metadata_location = _product(location)
        if (kind, role) in (("S2", "SAR"), ("S1", "reference")):
            raise InputError(location, f"is a Sentinel-{kind[1]} product given as the {role}: the optical reference "
                                       "comes first, the SAR second (swap them?)")
        if kind == "S2":
            found = _sentinel2(location, metadata_location, role, bands)
        elif kind == "S1":
            found = _sentinel1(location, metadata_location, role, bands)
        else:
            found = Input(location, location, _plain_bands(location, role, bands))
    if mask_clouds:
        return dataclasses.replace(found, mask=_cloud_mask(found))
    return found


def _cloud_mask(found: Input) -> ClassMask:
    """The cloud classes of the scene classification (SCL) beside an L2A product's 10 m bands."""
    if found.product.get("level") != "S2MSI2A":
        raise InputError(found.location, "--mask-clouds needs a Sentinel-2 L2A product (its scene classification, SCL)")
    twenty_metre = found.dataset.replace(":10m:", ":20m:")
    names = [name.split(",")[0].strip() for name in _band_names(twenty_metre, found.location)]
    if "SCL" not in names:
        raise InputError(found.location, "the L2A product has no scene classification (SCL) band")
    return ClassMask(twenty_metre, names.index("SCL") + 1, CLOUD_CLASSES)


def _product(location: str) -> tuple[str | None, str]:
    """("S2" or "S1", the location of the product's metadata file) for a Sentinel product or one of its
    subdatasets (as QGIS gives them); (None, location) for anything else."""
    subdataset = _S2_SUBDATASET.match(location) or _S1_SUBDATASET_NAME.match(location)
    if subdataset:
        return ("S2" if location.startswith("SENTINEL2") else "S1"), subdataset["metadata"]
    name = display_name(location)
    if is_local_file(location) and Path(location).is_dir():
        folder = Path(location)
        for metadata in (*S2_METADATA, S1_MANIFEST):
            if (folder / metadata).is_file():
                return ("S1" if metadata == S1_MANIFEST else "S2"), str(folder / metadata)
        _refuse_l1b(location, folder.name.removesuffix(".SAFE"))
        raise InputError(location, "is a folder but not a Sentinel-1 or Sentinel-2 SAFE product (no MTD_MSIL1C.xml, MTD_MSIL2A.xml or manifest.safe in it)")
    if name in S2_METADATA:
        return "S2", location
    if name == S1_MANIFEST:
        return "S1", location
    if file_name(location).lower().endswith(".zip"):
        return _zipped_product(location)
    if name.endswith(".SAFE") and not is_local_file(location):  # a SAFE folder in object storage or on a server
        return _named_product(location, location.rstrip("/"), name.removesuffix(".SAFE"))
    return None, location


_L1B = "is a Sentinel-2 L1B product, which is not orthorectified; give the L1C or L2A product"


def _refuse_l1b(location: str, stem: str) -> None:
    """Refuse a product named (``stem``) as a Sentinel-2 L1B product.

    Raises:
        InputError: naming ``location``.
    """
    if S2_NAME.match(stem) and S2_NAME.match(stem)["level"] == "L1B":
        raise InputError(location, _L1B)


def _zipped_product(location: str) -> tuple[str, str]:
    """A zipped SAFE product: its kind and the ``/vsizip/`` location of its metadata file. A local zip is
    looked into; a remote one is taken to hold ``NAME.SAFE`` as ESA's zips do (GDAL says so if not)."""
    stem = file_name(location)[: -len(".zip")].removesuffix(".SAFE")
    if not is_local_file(location):
        return _named_product(location, f"/vsizip/{vsi_path(location)}/{stem}.SAFE", stem)
    _refuse_l1b(location, stem)
    try:
        with zipfile.ZipFile(location) as archive:
            members = archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(location, f"cannot be read as a zip ({error})") from None
    for member in members:
        parts = member.split("/")
        if len(parts) == 2 and parts[0].endswith(".SAFE") and parts[1] in (*S2_METADATA, S1_MANIFEST):
            kind = "S1" if parts[1] == S1_MANIFEST else "S2"
            return kind, f"/vsizip/{Path(location).resolve()}/{member}"
    if any("MTD_MSIL1B" in m or "MTD_SAFL1B" in m for m in members):
        raise InputError(location, _L1B)
    raise InputError(location, "is a zip but not a zipped SAFE product (no NAME.SAFE/MTD_MSIL1C.xml, MTD_MSIL2A.xml or manifest.safe in it)")


def _named_product(location: str, safe: str, stem: str) -> tuple[str, str]:
    """A remote product known by its name ``stem`` (ESA's product name): its kind and the location of its
    metadata file in ``safe``, the GDAL location of its ``NAME.SAFE`` folder (GDAL says so if it is not
    there).

    Raises:
        InputError: an L1B product, or a name that is not a Sentinel-1 or Sentinel-2 product's.
    """
    _refuse_l1b(location, stem)
    if S2_NAME.match(stem):
        return "S2", f"{safe}/MTD_MSI{S2_NAME.match(stem)['level']}.xml"
    if S1_NAME.match(stem):
        return "S1", f"{safe}/{S1_MANIFEST}"
    raise InputError(location, "is not named as a Sentinel-1 or Sentinel-2 product; give the raster inside it (e.g. /vsizip/ZIP/PATH)")


def _product_listing(location: str, metadata: str, what: str) -> tuple[list[str], dict[str, str]]:
    """A product's subdatasets and metadata, from its top-level dataset (which has no georeferencing of
    its own, so rasterio's warning about that is silenced).

    Raises:
        InputError: naming ``location``: GDAL cannot read the product.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(metadata) as product:
                return product.subdatasets, product.tags()
    except GDAL_ERRORS as error:
        raise _open_failure(location, what, error) from None


def _open_failure(location: str, what: str, error: Exception) -> InputError:
    if file_name(location).lower().endswith(".zip") and not is_local_file(location):
        # GDAL reports a remote zip it cannot reach (HTTP 404, no access) as a missing member.
        return InputError(location, f"cannot be read as a zipped {what}: the zip is missing, unreachable or not a SAFE product ({error})")
    return InputError(location, f"cannot be read as a {what} ({error})")


def _sentinel2(location: str, metadata: str, role: str, selectors: tuple[str, ...] | None) -> Input:
    """The 10 m subdataset of a Sentinel-2 product and the bands named in it."""
    subdatasets, tags = _product_listing(location, metadata, "Sentinel-2 product")
    ten_metre = [s for s in subdatasets if ":10m:" in s]
    if location.startswith("SENTINEL2_"):
        dataset = location  # the subdataset the user chose
    elif len(ten_metre) == 1:
        dataset = ten_metre[0]
    elif ten_metre:
        raise InputError(location, "the Sentinel-2 product spans several UTM zones; give the subdataset of the "
                                   "one to match on: " + ", ".join(ten_metre))
    else:
        raise InputError(location, "the Sentinel-2 product has no 10 m bands (GDAL lists " + ", ".join(subdatasets) + ")")
    names = _band_names(dataset, location)
    # A number names ESA's band (4 → B4), not GDAL's band order in the subdataset (B4, B3, B2, B8, …).
    wanted = [f"B{s.strip()}" if s.strip().isdigit() else s for s in selectors or S2_DEFAULT_BANDS]
    bands = tuple(_band_index(s, names, location, role, band_key) for s in wanted)
    product = {
        "kind": "sentinel-2",
        "level": tags.get("PRODUCT_TYPE", ""),
        "platform": tags.get("DATATAKE_1_SPACECRAFT_NAME", ""),
        "datetime": tags.get("PRODUCT_START_TIME") or tags.get("DATATAKE_1_DATATAKE_SENSING_START", ""),
        "processing_baseline": tags.get("PROCESSING_BASELINE", ""),
        "bands": [names[b - 1] for b in bands],
    }
    # GDAL states the no-data DN (0) only as a dataset tag, not on the bands.
    return Input(location, dataset, bands, product, float(tags.get("SPECIAL_VALUE_NODATA", 0)))


def _sentinel1(location: str, manifest: str, role: str, selectors: tuple[str, ...] | None) -> Input:
    """The subdataset of one polarisation of a Sentinel-1 GRD product (its GCP-georeferenced DN)."""
    subdatasets, tags = _product_listing(location, manifest, "Sentinel-1 product")
    if tags.get("PRODUCT_TYPE", "GRD") != "GRD":
        raise InputError(location, f"is a Sentinel-1 {tags['PRODUCT_TYPE']} product; sarlign reads GRD products (ground range, detected)")
    if selectors is not None and len(selectors) != 1:
        raise InputError(location, f"the {role} is matched on one polarisation, got {', '.join(selectors)}")
    if selectors is not None and selectors[0].strip().isdigit():
        raise InputError(location, f"name the Sentinel-1 product's polarisation (e.g. --sar-band VV), not band {selectors[0]}")
    chosen = _S1_SUBDATASET.search(location) if location.startswith("SENTINEL1_") else None
    default = chosen["polarisation"] if chosen else S1_DEFAULT_POLARISATION  # the subdataset the user chose
    wanted = (selectors or (default,))[0].upper()
    by_polarisation = {}
    for name in subdatasets:
        found = _S1_SUBDATASET.search(name)
        if found:
            by_polarisation.setdefault(found["polarisation"], name)
    if wanted not in by_polarisation:
        have = ", ".join(sorted(by_polarisation)) or "none"
        raise InputError(location, f"the Sentinel-1 product has no polarisation {wanted} (it has {have})")
    product = {
        "kind": "sentinel-1",
        "platform": tags.get("MISSION_ID", ""),
        "instrument_mode": tags.get("MODE", ""),
        "product_type": tags.get("PRODUCT_TYPE", ""),
        "polarization": wanted,
        "polarizations": sorted(by_polarisation),
        "orbit_state": tags.get("ORBIT_DIRECTION", "").lower(),
        "absolute_orbit": int(tags["ORBIT_NUMBER"]) if tags.get("ORBIT_NUMBER", "").isdigit() else None,
        "relative_orbit": _relative_orbit(location, manifest),
        "datetime": tags.get("ACQUISITION_START_TIME", ""),
        "manifest": manifest,
    }
    # DN 0 is where the swath has no data (ESA's GRD convention); GDAL does not set it on the band.
    return Input(location, by_polarisation[wanted], (1,), product, 0.0)


def _relative_orbit(location: str, manifest: str) -> int | None:
    """The relative orbit from ``manifest.safe`` (GDAL's SAFE driver does not expose it), for a product
    on this machine (folder or zip); None for a remote one."""
    text = product_file(location, manifest, S1_MANIFEST)
    found = _RELATIVE_ORBIT.search(text or "")
    return int(found[1]) if found else None


def _product_members(manifest: str) -> tuple[Path | None, str, list[str]] | None:
    """(the local zip or None for a folder, the SAFE folder's path in it, every file's path relative to the
    SAFE folder) of a product on this machine; None for a remote one."""
    if manifest.startswith("/vsizip/"):
        inside = _ZIP_MEMBER.match(manifest[len("/vsizip/") :])
        if inside is None or not is_local_file(inside["archive"]):
            return None
        archive = Path(inside["archive"])
        safe = inside["member"].rsplit("/", 1)[0]
        with zipfile.ZipFile(archive) as opened:
            names = [n[len(safe) + 1 :] for n in opened.namelist() if n.startswith(safe + "/") and not n.endswith("/")]
        return archive, safe, names
    if is_local_file(manifest):
        folder = Path(manifest).parent
        return None, str(folder), [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    return None


def product_file(location: str, manifest: str, pattern: str) -> str | None:
    """The text of the file of a local SAFE product (folder or zip; ``manifest`` its ``manifest.safe``)
    whose path in the product matches the glob ``pattern``; None for a remote product or no such file.

    Raises:
        InputError: the product cannot be read.
    """
    try:
        members = _product_members(manifest)
        if members is None:
            return None
        archive, safe, names = members
        matching = sorted(n for n in names if fnmatch.fnmatch(n, pattern))
        if not matching:
            return None
        if archive is None:
            return (Path(safe) / matching[0]).read_text(encoding="utf-8", errors="replace")
        with zipfile.ZipFile(archive) as opened:
            return opened.read(f"{safe}/{matching[0]}").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise InputError(location, f"the product cannot be read ({error})") from None


def _band_names(dataset: str, location: str) -> list[str]:
    """Each band's name: GDAL's ``BANDNAME`` item where the driver sets one, else the description."""
    try:
        with rasterio.open(dataset) as src:
            return [src.tags(i).get("BANDNAME") or (src.descriptions[i - 1] or "") for i in range(1, src.count + 1)]
    except GDAL_ERRORS as error:
        raise _open_failure(location, "raster", error) from None


def _plain_name(text: str) -> str:
    return text.strip().upper()


def _band_index(selector: str, names: list[str], location: str, role: str, normalise) -> int:
    """The 1-based band that ``selector`` (a number or a name) picks among ``names``."""
    if selector.strip().isdigit():
        band = int(selector)
        if not 1 <= band <= len(names):
            raise InputError(location, f"the {role} has {len(names)} band(s); band {band} does not exist")
        return band
    matches = [i + 1 for i, name in enumerate(names) if name and normalise(name.split(",")[0]) == normalise(selector)]
    if not matches:
        have = ", ".join(n.split(",")[0] for n in names if n) or "no named bands"
        raise InputError(location, f"the {role} has no band named {selector} (it has {have})")
    return matches[0]


def _plain_bands(location: str, role: str, selectors: tuple[str, ...] | None) -> tuple[int, ...] | None:
    """Bands of a plain raster; numbers are checked against the band count later, when it is opened."""
    if selectors is None:
        return None
    if all(s.strip().isdigit() for s in selectors):
        return tuple(int(s) for s in selectors)
    names = _band_names(location, location)
    return tuple(_band_index(s, names, location, role, _plain_name) for s in selectors)
