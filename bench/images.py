"""What `attachments: images: keep` costs: masbot.appeal.images.clean on typical pictures.

    .venv/bin/python bench/images.py [--repeat N]

Prints, per kind of picture, the input size, the output size and dimensions, and the median
and slowest wall time of `images.clean` (one core: it runs in a worker thread per message).
Figures go to docs/benchmarks.md; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from masbot import images  # noqa: E402


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like picture: smooth gradients with some noise (compresses like a photo)."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (width // 16, height // 16),
                            bytes(rng.randrange(256) for _ in range(3 * (width // 16) * (height // 16))))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def with_exif(image: Image.Image, kind: str, quality: int = 90) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 12", 6
    exif[0x8825] = {1: "N", 2: (45.0, 31.0, 12.5), 3: "W", 4: (122.0, 40.0, 55.1)}
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, kind, quality=quality, exif=exif.tobytes())
    else:
        image.save(out, kind)
    return out.getvalue()


CASES = {
    "12 MP phone photo (JPEG 4000x3000, EXIF+GPS)": lambda: with_exif(photo(4000, 3000), "JPEG"),
    "2 MP photo (JPEG 1600x1200, EXIF+GPS)": lambda: with_exif(photo(1600, 1200), "JPEG"),
    "screenshot (PNG 1170x2532)": lambda: with_exif(photo(1170, 2532, 2), "PNG"),
    "flyer (PNG 800x1000, flat colours)": lambda: with_exif(
        Image.new("RGB", (800, 1000), (240, 200, 40)), "PNG"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Pillow {Image.__version__}, Python {sys.version.split()[0]}, "
          f"repeat {args.repeat}, max side {images.MAX_SIDE}")
    print(f"{'picture':48} {'in kB':>7} {'out kB':>7} {'out size':>10} {'median s':>9} {'max s':>7}")
    for name, make in CASES.items():
        data = make()
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = images.clean(data, 1)
            times.append(time.perf_counter() - start)
        assert isinstance(result, images.CleanImage), result
        print(f"{name:48} {len(data) / 1000:7.0f} {len(result.data) / 1000:7.0f} "
              f"{result.width:>4}x{result.height:<5} {statistics.median(times):9.3f} "
              f"{max(times):7.3f}")


if __name__ == "__main__":
    main()
