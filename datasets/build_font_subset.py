"""Build the CJK font subset that PDFs embed (run once with the project's venv; the output is
committed, nothing is fetched at run time).

Source: Noto Sans SC 2.004 (Google Fonts v40), Regular, TrueType outlines, SIL Open Font
License 1.1, as shipped by the npm package ``@expo-google-fonts/noto-sans-sc@0.4.3``
(``400Regular/NotoSansSC_400Regular.ttf``, 10,559,284 bytes, 30,890 characters). Get it with
the ordinary npm client, outside the repository::

    cd /tmp && npm pack @expo-google-fonts/noto-sans-sc@0.4.3
    tar xzf expo-google-fonts-noto-sans-sc-0.4.3.tgz package/400Regular/NotoSansSC_400Regular.ttf
    python datasets/build_font_subset.py /tmp/package/400Regular/NotoSansSC_400Regular.ttf

The subset keeps:

- printable ASCII, Latin-1, general punctuation, the CJK symbols and the full-width forms;
- every character of GB 2312 (its symbol rows 1–9 and both levels of hanzi, 6,763);
- every character used by the project's Chinese catalogs, templates, reference CSVs and the
  demo organisations' and people's names (so the demo never meets a missing glyph).

Hinting and the layout tables that fpdf2 does not use (GSUB, GPOS, vertical metrics) are
dropped. The OFL forbids a modified font to use the Reserved Font Name ('Source'); the subset is
renamed "Shelfbridge Sans SC" so that it is never mistaken for the full Noto Sans SC either.
The licence text is written next to it (``OFL.txt``). Re-running on the same input writes the
same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "shelfbridge"
OUT = PACKAGE / "web" / "static" / "fonts"
FAMILY = "Shelfbridge Sans SC"
POSTSCRIPT = "ShelfbridgeSansSC-Regular"

RANGES = (
    (0x20, 0x7E),  # ASCII
    (0xA0, 0xFF),  # Latin-1 (¥ · § ¶ ×)
    (0x2010, 0x2027),  # dashes, quotes, ellipsis
    (0x2030, 0x203B),  # ‰ ‹ › ※
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus
    (0x2264, 0x2265),  # ≤ ≥
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # full-width forms
    (0xFFE0, 0xFFE6),  # ￥ and friends
)


def gb2312() -> set[str]:
    """Every character of GB 2312: rows 1–9 (symbols) and 16–87 (hanzi, both levels)."""
    found: set[str] = set()
    for row in list(range(0xA1, 0xAA)) + list(range(0xB0, 0xF8)):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def project_text() -> set[str]:
    found: set[str] = set()
    paths = [
        *sorted((PACKAGE / "locale").rglob("*.po")),
        *sorted((PACKAGE / "web" / "templates").rglob("*.html")),
        *sorted((PACKAGE / "reference").glob("*.csv")),
        REPO / "datasets" / "demo" / "handwritten.toml",
    ]
    for path in paths:
        found.update(path.read_text(encoding="utf-8"))
    for name in ("people.jsonl", "organizations.jsonl"):
        for line in (REPO / "datasets" / "demo" / name).read_text(encoding="utf-8").splitlines():
            found.update(json.loads(line).get("name", ""))
    return found


def characters() -> set[int]:
    wanted = {ord(c) for c in gb2312() | project_text() if c.isprintable() or c == " "}
    for low, high in RANGES:
        wanted.update(range(low, high + 1))
    return wanted


def rename(font: TTFont) -> None:
    names = font["name"]
    keep = {0, 7, 8, 9, 11, 12, 13, 14}
    names.names = [record for record in names.names if record.nameID in keep]
    for ident, text in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{POSTSCRIPT};subset of Noto Sans SC 2.004"),
        (4, f"{FAMILY} Regular"),
        (5, "Version 2.004; Shelfbridge subset (datasets/build_font_subset.py)"),
        (6, POSTSCRIPT),
    ):
        names.setName(text, ident, 3, 1, 0x409)


def build(source: Path) -> Path:
    font = TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "STAT", "vhea", "vmtx", "gasp"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    cmap = font.getBestCmap()
    subsetter.populate(unicodes=sorted(code for code in characters() if code in cmap))
    subsetter.subset(font)
    rename(font)
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "ShelfbridgeSansSC-Regular.ttf"
    font.save(target)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    target = build(Path(argv[0]))
    font = TTFont(target)
    print(
        f"{target.relative_to(REPO)}: {target.stat().st_size:,} bytes, "
        f"{len(font.getBestCmap()):,} characters"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
