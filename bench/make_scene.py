"""A full-size benchmark scene pair made from the real Volkov Sentinel-1/Sentinel-2 training pairs.

    python bench/make_scene.py ../shared/data --size 10980 --out bench-scenes/10980

The 1024² training pairs are mosaicked (each block a randomly chosen pair under one of the 8 flips and
rotations) to fill ``size``² pixels of 10 m on a Sentinel-2-like UTM grid. Every block's SAR is first
put on its optical by the pair's refined alignment (``training/alignments/volkov_train.json``), so the
only misregistration in the scene is the one this script applies. Outputs in ``--out``:

- ``reference.tif``: grey optical as uint16 digital numbers (1000 + 12·grey, as Level-2A offsets
  reflectance), EPSG:32632, nodata 0, tiled 1024² and DEFLATE-compressed with overviews, as Sentinel-2
  tiles are shipped as COGs;
- ``sar.tif``: the SAR as float32 dB (the 8-bit VH mapped linearly onto −25…−5 dB), with a slanted
  swath edge of nodata, its geotransform offset by ``--offset-px`` reference pixels, then warped
  (bilinear) to EPSG:4326 at about 10 m (nodata NaN), tiled 512² and compressed;
- ``truth.json``: the offset and the correction that undoes it, in the units ``sarlign register``
  reports (metres east/north and reference pixels x right, y down).

Only one 1024² block is in memory at a time; the warp streams through GDAL. Contains modified Copernicus
Sentinel data (2017–2020).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.transform
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject
from rasterio.windows import Window

from sarlign.training.alignment import sar_to_optical
from sarlign.training.volkov import VolkovPair, load_pairs, open_png

BLOCK = 1024
PIXEL_M = 10.0
REFERENCE_CRS = CRS.from_epsg(32632)
# The upper-left corner of Sentinel-2 tile 32TPT (Munich), as the tiling grid of the product places it.
ORIGIN = (600000.0, 5400000.0)
SAR_DB_RANGE = (-25.0, -5.0)
DEFAULT_OFFSET_PX = (12.6, -7.3)
SWATH_EDGE = (0.04, 0.08)  # SAR nodata where x < (a + b·y/size)·size: a slanted edge on the left


def aligned_block(pair: VolkovPair, sar_to_optical_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grey optical (H, W) float32 in [0, 255] and the pair's SAR resampled onto it (bilinear).

    ``sar_to_optical_px`` (2, 3) maps SAR pixel (x, y) to optical pixel (x, y), both corner-based: taking
    it as the SAR's "geotransform" into the optical's pixel space lets GDAL do the resampling.
    """
    with open_png(pair.optical) as src:
        optical = src.read().astype(np.float32).mean(axis=0)
    with open_png(pair.sar) as src:
        sar = src.read(1).astype(np.float32)
    aligned = np.full_like(optical, np.nan)
    pixel_space = CRS.from_epsg(3857)  # any projected CRS: both "transforms" live in the optical's pixels
    reproject(
        sar, aligned, src_transform=Affine(*sar_to_optical_px.ravel()), dst_transform=Affine.identity(),
        src_crs=pixel_space, dst_crs=pixel_space, resampling=Resampling.bilinear, dst_nodata=np.nan,
    )
    return optical, aligned


def dihedral(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 flips and rotations of an (H, W) image (k in 0..7)."""
    turned = np.rot90(image, k % 4)
    return np.ascontiguousarray(turned[:, ::-1] if k >= 4 else turned)


def swath_valid(window: Window, size: int) -> np.ndarray:
    """(H, W) bool: inside the SAR swath, for a window of the size² scene."""
    rows = np.arange(window.row_off, window.row_off + window.height)[:, None]
    cols = np.arange(window.col_off, window.col_off + window.width)[None, :]
    return cols >= (SWATH_EDGE[0] + SWATH_EDGE[1] * rows / size) * size


def geographic_grid(transform: Affine, size: int) -> tuple[Affine, int, int]:
    """An EPSG:4326 grid of about 10 m pixels covering the size² UTM scene: (transform, width, height)."""
    # Outer corners of the corner pixels (offset "ul" of the pixel one past the last row or column).
    east, north = rasterio.transform.xy(transform, [0, 0, size, size], [0, size, 0, size], offset="ul")
    lon, lat = Transformer.from_crs(REFERENCE_CRS, "EPSG:4326", always_xy=True).transform(east, north)
    centre_lat = float(np.mean(lat))
    geod = Geod(ellps="WGS84")
    _, _, metres_per_degree_lon = geod.inv(0.0, centre_lat, 1.0, centre_lat)
    _, _, metres_per_degree_lat = geod.inv(0.0, centre_lat - 0.5, 0.0, centre_lat + 0.5)
    res_lon, res_lat = PIXEL_M / metres_per_degree_lon, PIXEL_M / metres_per_degree_lat
    west, north_edge = float(np.min(lon)), float(np.max(lat))
    width = math.ceil((np.max(lon) - west) / res_lon)
    height = math.ceil((north_edge - np.min(lat)) / res_lat)
    return Affine(res_lon, 0.0, west, 0.0, -res_lat, north_edge), width, height


def write_mosaics(data: Path, size: int, seed: int, reference_path: Path, sar_utm_path: Path, offset_px: tuple[float, float]) -> list[dict]:
    """Fill the reference and the (offset) UTM SAR block by block; returns which pair went where."""
    folder = data / "train" / "volkov_s1s2"
    alignments = json.loads((Path(__file__).parents[1] / "training/alignments/volkov_train.json").read_text())
    pairs = [(p, a) for p in load_pairs(folder, nominal_grid=True) if (a := sar_to_optical(alignments, p.pair_id)) is not None]
    if not pairs:
        raise SystemExit(f"{folder}: no training pairs with a refined alignment")
    rng = np.random.default_rng(seed)
    transform = Affine(PIXEL_M, 0.0, ORIGIN[0], 0.0, -PIXEL_M, ORIGIN[1])
    common = dict(driver="GTiff", width=size, height=size, count=1, crs=REFERENCE_CRS, tiled=True, compress="deflate")
    reference_profile = common | dict(dtype="uint16", nodata=0, transform=transform, blockxsize=BLOCK, blockysize=BLOCK, predictor=2)
    sar_profile = common | dict(dtype="float32", nodata=np.nan, transform=transform @ Affine.translation(*offset_px),
                                blockxsize=512, blockysize=512, predictor=3)
    layout = []
    with rasterio.open(reference_path, "w", **reference_profile) as ref, rasterio.open(sar_utm_path, "w", **sar_profile) as sar:
        for top in range(0, size, BLOCK):
            for left in range(0, size, BLOCK):
                window = Window(left, top, min(BLOCK, size - left), min(BLOCK, size - top))
                index, k = int(rng.integers(len(pairs))), int(rng.integers(8))
                pair, alignment = pairs[index]
                optical, aligned = (dihedral(a, k)[: window.height, : window.width] for a in aligned_block(pair, alignment))
                ref.write(np.round(1000 + 12 * optical).astype(np.uint16), 1, window=window)
                low, high = SAR_DB_RANGE
                db = low + (high - low) * aligned / 255.0
                sar.write(np.where(swath_valid(window, size), db, np.nan).astype(np.float32), 1, window=window)
                layout.append({"window": [left, top, window.width, window.height], "pair": pair.pair_id, "dihedral": k})
        ref.build_overviews([2, 4, 8, 16], Resampling.average)
    return layout


def warp_to_geographic(sar_utm_path: Path, destination: Path, size: int) -> None:
    """Stream the UTM SAR through GDAL's warper onto an EPSG:4326 grid of about 10 m."""
    with rasterio.open(sar_utm_path) as src:
        transform, width, height = geographic_grid(src.transform, size)
        with WarpedVRT(src, crs="EPSG:4326", transform=transform, width=width, height=height,
                       resampling=Resampling.bilinear, src_nodata=np.nan, nodata=np.nan) as vrt:
            rasterio.shutil.copy(vrt, destination, driver="GTiff", TILED="YES", BLOCKXSIZE=512, BLOCKYSIZE=512,
                                 COMPRESS="DEFLATE", PREDICTOR=3, BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS")


def make_scene(data: Path, out: Path, size: int, seed: int = 0, offset_px: tuple[float, float] = DEFAULT_OFFSET_PX) -> dict:
    """Write reference.tif, sar.tif and truth.json into ``out`` (created); returns the truth document."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        sar_utm = Path(scratch) / "sar_utm.tif"
        layout = write_mosaics(data, size, seed, out / "reference.tif", sar_utm, offset_px)
        warp_to_geographic(sar_utm, out / "sar.tif", size)
    truth = {
        "size": size,
        "seed": seed,
        "offset_px": list(offset_px),  # added to the SAR's pixel → map mapping, in reference pixels
        "expected_correction_m": [-offset_px[0] * PIXEL_M, offset_px[1] * PIXEL_M],
        "expected_correction_px": [-offset_px[0], -offset_px[1]],
        "blocks": layout,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (with train/volkov_s1s2)")
    parser.add_argument("--size", type=int, default=10980, help="scene width and height in pixels (default 10980)")
    parser.add_argument("--out", type=Path, required=True, help="folder for reference.tif, sar.tif, truth.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offset-px", type=float, nargs=2, default=DEFAULT_OFFSET_PX, metavar=("DX", "DY"))
    args = parser.parse_args()
    with rasterio.Env(GDAL_CACHEMAX=256):  # MiB: everything streams, no large cache is needed
        truth = make_scene(args.data, args.out, args.size, args.seed, tuple(args.offset_px))
    print(f"{args.out}: {truth['size']}² px, offset {truth['offset_px']} px")


if __name__ == "__main__":
    main()
