"""Command line.

`python -m fastapi_app extract FILE [--password P] [--pretty] [--timings]` runs the same detection and
extraction as the worker, with no server, database or broker. `--timings` adds one line to stderr:
`timings: detect D ms, extract E ms` (wall time of each step, without the interpreter's start and
imports), which is what bench/pipeline_overhead.py compares the pipeline with.

`python -m fastapi_app user disable|enable LOGIN` (a username or an email) switches an account off or
on in the configured database. Disabling ends every session of the account at once: refresh and
access tokens are refused and its open WebSockets are closed (on every API instance through Redis;
without Redis within WS_SESSION_CHECK_SECONDS).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import AppError
from fastapi_app.core.vocabulary import FileFamily
from fastapi_app.extractors.base import ExtractionContext, ExtractionError
from fastapi_app.extractors.engine import extract_document
from fastapi_app.files.filetypes import archive_limits, detect_type

EXIT_OK, EXIT_USAGE, EXIT_REJECTED, EXIT_FAILED = 0, 2, 3, 4


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _error(code: str, message: str, pretty: bool) -> str:
    body = {"success": False, "message": message, "error_code": code, "details": None}
    return json.dumps(body, ensure_ascii=False, indent=2 if pretty else None)


def _timings_line(started: float, detected_at: float, ended: float) -> str:
    return f"timings: detect {(detected_at - started) * 1000:.1f} ms, extract {(ended - detected_at) * 1000:.1f} ms"


def extract_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(_error("FILE_NOT_FOUND", f"No such file: {path}", args.pretty), file=sys.stderr)
        return EXIT_USAGE
    size = path.stat().st_size
    if size == 0:
        print(_error("EMPTY_FILE", "The file is empty.", args.pretty), file=sys.stderr)
        return EXIT_REJECTED
    settings = get_settings()
    started = time.perf_counter()
    try:
        detected = detect_type(path, path.name, args.file_type, archive_limits(settings))
    except AppError as exc:
        print(_error(exc.error_code, exc.message, args.pretty), file=sys.stderr)
        return EXIT_REJECTED
    detected_at = time.perf_counter()
    ctx = ExtractionContext(
        path=path,
        mime_type=detected.mime_type,
        file_type=detected.family,  # type: ignore[arg-type]
        size_bytes=size,
        sha256=_sha256(path),
        password=args.password,
        max_pages=settings.MAX_PDF_PAGES,
        max_cells=settings.MAX_SPREADSHEET_CELLS,
        max_image_pixels=settings.MAX_IMAGE_PIXELS,
        max_sheet_grid_cells=settings.MAX_SHEET_GRID_CELLS,
        archive_limits=archive_limits(settings),
        ocr_languages=args.ocr_languages or settings.OCR_LANGUAGES,
        ocr_enabled=settings.OCR_ENABLED and not args.no_ocr,
        ocr_dpi=settings.OCR_DPI,
    )
    try:
        result = extract_document(ctx)
    except ExtractionError as exc:
        print(_error(exc.error_code, exc.message, args.pretty), file=sys.stderr)
        return EXIT_FAILED
    finally:
        if args.timings:
            print(_timings_line(started, detected_at, time.perf_counter()), file=sys.stderr)
    for warning in detected.warnings:
        result.warn(warning["code"], warning["message"])
    print(result.model_dump_json(indent=2 if args.pretty else None))
    return EXIT_OK


async def _set_active(login: str, active: bool) -> str:
    from fastapi_app.db.session import async_session_factory, get_async_engine
    from fastapi_app.services import user_service

    try:
        async with async_session_factory()() as session:
            user = await user_service.find_by_login(session, login)
            await user_service.set_active(session, user, active)
            return user.username
    finally:
        await get_async_engine().dispose()


def user_command(args: argparse.Namespace) -> int:
    active = args.action == "enable"
    try:
        username = asyncio.run(_set_active(args.login, active))
    except AppError as exc:
        print(_error(exc.error_code, exc.message, False), file=sys.stderr)
        return EXIT_REJECTED
    if active:
        print(f"User {username} enabled.")
    else:
        print(f"User {username} disabled; every session of the account has ended.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fastapi_app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="print the ExtractionResult of FILE as JSON")
    extract.add_argument("file")
    extract.add_argument("--password", help="opens an encrypted PDF")
    extract.add_argument(
        "--file-type", choices=[family.value for family in FileFamily], help="what you expect it to be"
    )
    extract.add_argument("--ocr-languages", help="Tesseract languages, e.g. kor+eng")
    extract.add_argument("--no-ocr", action="store_true", help="skip OCR")
    extract.add_argument("--pretty", action="store_true", help="indent the JSON")
    extract.add_argument("--timings", action="store_true", help="print the detection and extraction times to stderr")
    extract.set_defaults(handler=extract_command)
    user = commands.add_parser("user", help="disable or enable an account (in the configured database)")
    user.add_argument("action", choices=["disable", "enable"])
    user.add_argument("login", help="the username or the email")
    user.set_defaults(handler=user_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
