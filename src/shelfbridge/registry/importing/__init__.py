"""Imports and exports of registry records as CSV, XLSX or JSONL (see docs/import-format.md).

The public surface is :func:`import_file`, :func:`export_file` and :class:`ImportReport`; the
CLI and the web import page both call these.
"""

from __future__ import annotations

from shelfbridge.registry.importing.checking import Progress
from shelfbridge.registry.importing.engine import KINDS, ImportReport, import_file
from shelfbridge.registry.importing.exporters import export_file
from shelfbridge.registry.importing.readers import FORMATS, detect_format

__all__ = [
    "FORMATS",
    "KINDS",
    "ImportReport",
    "Progress",
    "detect_format",
    "export_file",
    "import_file",
]
