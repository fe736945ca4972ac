"""The module names of a workbook's macro project, read from its OLE directory (never executed)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from fastapi_app.extractors.archive import SafeZip
from fastapi_app.extractors.base import ExtractionContext, not_about_the_file

if TYPE_CHECKING:
    from pathlib import Path

# Streams of the VBA storage that are the project's own bookkeeping, not modules.
_NOT_MODULES = frozenset({"dir", "_vba_project"})
_VBA_PROJECT_MAX_BYTES = 64 * 1024 * 1024


def vba_modules_of_xls(path: Path) -> list[str]:
    return _modules(str(path), ("_VBA_PROJECT_CUR", "VBA"))


def vba_modules_of_ooxml(ctx: ExtractionContext) -> list[str]:
    try:
        with SafeZip(ctx.path, ctx.archive_limits) as archive:
            data = archive.read_small("xl/vbaProject.bin", _VBA_PROJECT_MAX_BYTES)
    except Exception as exc:
        if not_about_the_file(exc):
            raise
        return []
    return _modules(io.BytesIO(data), ("VBA",))


def _modules(source: str | io.BytesIO, storage: tuple[str, ...]) -> list[str]:
    import olefile

    try:
        with olefile.OleFileIO(source) as ole:
            names = [entry[-1] for entry in ole.listdir(streams=True, storages=False) if tuple(entry[:-1]) == storage]
    except Exception as exc:  # a damaged macro project: the workbook's values still count
        if not_about_the_file(exc):
            raise
        return []
    return [n for n in names if n.lower() not in _NOT_MODULES and not n.startswith("__SRP_")]
