"""`docproc`: log in, upload files and folders with live progress, list, get, reports, summaries."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from docproc import config
from docproc._common import REPORT_FORMATS
from docproc.client import Client
from docproc.errors import AuthenticationError, DocprocError
from docproc.models import DocumentOut

SUPPORTED_EXTENSIONS = frozenset(
    [
        ".pdf",
        ".xlsx",
        ".xlsm",
        ".xls",
        ".ods",
        ".csv",
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
        ".webp",
        ".bmp",
        ".gif",
        ".hwp",
        ".hwpx",
    ]
)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


# --- helpers ---------------------------------------------------------------------------------------


def make_client(args: argparse.Namespace) -> Client:
    settings = config.load(args.server)

    def remember(access_token: str, refresh_token: str | None) -> None:
        if not settings.from_environment:
            config.save_tokens(settings.server, settings.username, access_token, refresh_token)

    if not settings.access_token and not (settings.username and settings.password):
        raise AuthenticationError(
            f"Not logged in to {settings.server}: run `docproc login`.", error_code="NOT_AUTHENTICATED"
        )
    return Client(
        settings.server,
        access_token=settings.access_token,
        refresh_token=settings.refresh_token,
        username=settings.username,
        password=settings.password,
        on_tokens=remember,
    )


def collect_files(paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files named on the command line are sent as they are (the server judges them); folders are
    walked for the supported extensions, hidden files left out."""
    files: list[Path] = []
    missing: list[str] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_EXTENSIONS:
                    files.append(child)
        elif path.is_file():
            files.append(path)
        else:
            missing.append(name)
    return files, missing


def report_path(directory: Path, original_filename: str, format: str, taken: set[Path]) -> Path:
    """`<original name without extension>.report.<format>`: never the name of an original in the same
    folder; two originals with the same stem keep their extension in the name."""
    original = Path(original_filename)
    target = directory / f"{original.stem}.report.{format}"
    if target in taken:
        target = directory / f"{original.stem}.{original.suffix.lstrip('.')}.report.{format}"
    taken.add(target)
    return target


def human_size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def stage_text(event: dict[str, Any]) -> str:
    stage = event.get("stage") or event.get("status") or ""
    if event.get("total_pages"):
        return f"{stage} page {event.get('current_page') or 0}/{event['total_pages']}"
    if event.get("total_sheets"):
        return f"{stage} sheet {event.get('current_sheet') or 0}/{event['total_sheets']}"
    return str(stage)


def print_error(error: DocprocError) -> None:
    err.print(f"[bold red]Error {error.error_code}[/]: {error.message}", soft_wrap=True)
    if error.details:
        err.print(f"  details: {json.dumps(error.details, ensure_ascii=False)}", soft_wrap=True)


# --- commands --------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    settings = config.load(args.server)
    username = args.username or settings.username or input("Username or email: ").strip()
    password = args.password or (settings.password if settings.from_environment else None)
    password = password or getpass.getpass("Password: ")
    client = Client(settings.server)
    with client:
        tokens = client.login(username, password)
    config.save_server(settings.server)
    config.save_tokens(settings.server, username, tokens["access_token"], tokens.get("refresh_token"))
    out.print(f"Logged in to {settings.server} as {username} (tokens in {config.token_file()})", soft_wrap=True)
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    settings = config.load(args.server)
    if settings.refresh_token and not settings.from_environment:
        with Client(settings.server, access_token=settings.access_token, refresh_token=settings.refresh_token) as c:
            try:
                c.logout()
            except DocprocError as exc:
                print_error(exc)
    config.forget_tokens()
    out.print("Logged out")
    return 0


@dataclass
class Row:
    path: Path
    task: TaskID
    document: DocumentOut | None = None
    outcome: str = "pending"
    detail: str = ""
    report: str = ""
    failed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def cmd_upload(args: argparse.Namespace) -> int:
    files, missing = collect_files(args.paths)
    for name in missing:
        err.print(f"[red]No such file or folder:[/] {name}")
    if not files:
        err.print("Nothing to upload.")
        return 1
    wait = args.wait or bool(args.report)
    out_dir = Path(args.out) if args.out else Path.cwd()
    rows: list[Row] = []
    with make_client(args) as client:
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[status]}"),
            console=err,
        )
        with progress:
            for path in files:
                task = progress.add_task(path.name, total=path.stat().st_size or 1, status="waiting")
                rows.append(Row(path, task))

            def send(row: Row) -> None:
                def on_bytes(sent: int, total: int) -> None:
                    status = f"uploading {human_size(sent)}/{human_size(total)}"
                    progress.update(row.task, completed=sent, total=total or 1, status=status)

                try:
                    row.document = client.upload(
                        row.path, filename=row.path.name, password=args.password, file_type=args.file_type,
                        progress=on_bytes,
                    )  # fmt: skip
                except DocprocError as exc:
                    row.outcome, row.detail, row.failed = "refused", f"{exc.error_code}: {exc.message}", True
                    progress.update(row.task, status=f"[red]refused {exc.error_code}[/]")
                    return
                row.outcome = "uploaded"
                progress.update(row.task, status="uploaded" if not wait else "queued")

            with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
                list(pool.map(send, rows))

            by_id = {str(row.document["id"]): row for row in rows if row.document is not None}
            if wait and by_id:

                def on_event(event: dict[str, Any]) -> None:
                    row = by_id.get(str(event.get("document_id")))
                    if row is None:
                        return
                    status = event.get("status")
                    text = "[green]completed[/]" if status == "completed" else stage_text(event)
                    if status == "failed":
                        text = f"[red]failed {event.get('error_code') or ''}[/]"
                    progress.update(row.task, total=100, completed=event.get("progress") or 0, status=text)

                try:
                    final = client.wait_many(list(by_id), on_event=on_event, timeout=args.timeout)
                except DocprocError as exc:
                    print_error(exc)
                    final = {}
                for document_id, row in by_id.items():
                    document = final.get(document_id)
                    if document is None:
                        row.outcome, row.failed = "timed out", True
                        continue
                    row.document = document
                    row.outcome = document["status"]
                    if document["status"] == "failed":
                        row.failed = True
                        row.detail = f"{document.get('error_code')}: {document.get('error_message') or ''}"
                        progress.update(row.task, status=f"[red]failed {document.get('error_code')}[/]")
                    else:
                        progress.update(row.task, total=100, completed=100, status="[green]completed[/]")

        if args.report:
            out_dir.mkdir(parents=True, exist_ok=True)
            taken: set[Path] = set()
            for row in rows:
                if row.document is None or row.outcome != "completed":
                    continue
                try:
                    _, content = client.download_report(str(row.document["id"]), args.report)
                except DocprocError as exc:
                    row.failed, row.detail = True, f"report {exc.error_code}: {exc.message}"
                    continue
                target = report_path(out_dir, row.document["original_filename"], args.report, taken)
                target.write_bytes(content)
                row.report = target.name

    table = Table(title="docproc upload", show_lines=False)
    table.add_column("File", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Document", no_wrap=True)
    table.add_column("Error", overflow="fold")
    table.add_column("Report", overflow="fold")
    for row in rows:
        colour = "red" if row.failed else "green"
        document_id = str(row.document["id"]) if row.document else ""
        code = row.detail.partition(":")[0]
        table.add_row(str(row.path), f"[{colour}]{row.outcome}[/]", document_id, code, row.report)
    out.print(table)
    for row in rows:
        if row.detail:
            out.print(f"[red]{row.path.name}[/]: {row.detail}", soft_wrap=True)
    failed = sum(row.failed for row in rows) + len(missing)
    if args.report:
        out.print(f"Reports in {out_dir}", soft_wrap=True)
    out.print(f"{len(rows)} files, {len(rows) - failed + len(missing)} ok, {failed} failed")
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        page = client.list(
            page=args.page, page_size=args.page_size, status=args.status, file_type=args.file_type,
            search=args.search, sort=args.sort,
        )  # fmt: skip
    table = Table(title=f"Documents (page {page['page']} of {page['total_pages']}, {page['total']} in all)")
    for column in ("ID", "File", "Type", "Status", "Stage", "Uploaded"):
        table.add_column(column, overflow="fold")
    for document in page["data"]:
        table.add_row(
            str(document["id"]), document["original_filename"], document["file_type"], document["status"],
            document["stage"], document["created_at"][:19].replace("T", " "),
        )  # fmt: skip
    out.print(table)
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        document = client.get(args.document_id)
    if args.json:
        out.print_json(json.dumps(document, ensure_ascii=False))
        return 0
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in document.items():
        table.add_row(key, json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value))
    out.print(table)
    return 1 if document["status"] == "failed" else 0


def cmd_report(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        document = client.get(args.document_id)
        _, content = client.download_report(args.document_id, args.format)
    directory = Path(args.out) if args.out else Path.cwd()
    directory.mkdir(parents=True, exist_ok=True)
    target = report_path(directory, document["original_filename"], args.format, set())
    target.write_bytes(content)
    out.print(f"Wrote {target} ({human_size(len(content))})")
    return 0


def _day(value: str | None, end: bool) -> str | None:
    if value is None or "T" in value:
        return value
    return f"{value}T23:59:59Z" if end else f"{value}T00:00:00Z"


def cmd_summary(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        _, content = client.download_summary(
            args.format, file_type=args.file_type, status=args.status,
            date_from=_day(args.date_from, end=False), date_to=_day(args.date_to, end=True),
        )  # fmt: skip
    directory = Path(args.out) if args.out else Path.cwd()
    directory.mkdir(parents=True, exist_ok=True)
    span = "_".join(part for part in (args.date_from, args.date_to) if part) or "all"
    target = directory / f"summary_{span}.{args.format}"
    target.write_bytes(content)
    out.print(f"Wrote {target} ({human_size(len(content))})")
    return 0


# --- parser ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=argparse.SUPPRESS, help="API base URL (else DOCPROC_SERVER, the config)")
    parser = argparse.ArgumentParser(prog="docproc", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", parents=[common], help="log in and keep the tokens")
    login.add_argument("--username", help="username or email (else DOCPROC_USERNAME, else asked)")
    login.add_argument("--password", help="(else DOCPROC_PASSWORD, else asked without echo)")
    login.set_defaults(run=cmd_login)

    commands.add_parser("logout", parents=[common], help="end the session, forget the tokens").set_defaults(
        run=cmd_logout
    )

    upload = commands.add_parser("upload", parents=[common], help="upload files and folders")
    upload.add_argument("paths", nargs="+", metavar="FILES_OR_FOLDERS")
    upload.add_argument("--wait", action="store_true", help="follow processing until completed or failed")
    upload.add_argument("--report", choices=REPORT_FORMATS, help="download each report in this format (implies --wait)")
    upload.add_argument("--out", help="folder for the reports (default: the current one)")
    upload.add_argument("--password", help="password of encrypted PDFs")
    upload.add_argument("--file-type", choices=("excel", "pdf", "image", "hwp"))
    upload.add_argument("--parallel", type=int, default=3, help="uploads at once (default 3)")
    upload.add_argument("--timeout", type=float, default=600, help="seconds --wait waits at most")
    upload.set_defaults(run=cmd_upload)

    listing = commands.add_parser("list", parents=[common], help="your documents, newest first")
    listing.add_argument("--status", choices=("pending", "processing", "completed", "failed"))
    listing.add_argument("--file-type", choices=("excel", "pdf", "image", "hwp"))
    listing.add_argument("--search", help="part of the file name")
    listing.add_argument("--sort", default="-created_at")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--page-size", type=int, default=20)
    listing.set_defaults(run=cmd_list)

    get = commands.add_parser("get", parents=[common], help="one document's state")
    get.add_argument("document_id", metavar="ID")
    get.add_argument("--json", action="store_true")
    get.set_defaults(run=cmd_get)

    report = commands.add_parser("report", parents=[common], help="download a document's newest report")
    report.add_argument("document_id", metavar="ID")
    report.add_argument("--format", choices=REPORT_FORMATS, default="pdf")
    report.add_argument("--out", help="folder (default: the current one)")
    report.set_defaults(run=cmd_report)

    summary = commands.add_parser("summary", parents=[common], help="one report across documents")
    summary.add_argument("--from", dest="date_from", help="uploaded on or after (YYYY-MM-DD or ISO time)")
    summary.add_argument("--to", dest="date_to", help="uploaded on or before (YYYY-MM-DD or ISO time)")
    summary.add_argument("--format", choices=REPORT_FORMATS, default="xlsx")
    summary.add_argument("--file-type", choices=("excel", "pdf", "image", "hwp"))
    summary.add_argument("--status", choices=("pending", "processing", "completed", "failed"))
    summary.add_argument("--out", help="folder (default: the current one)")
    summary.set_defaults(run=cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.server = getattr(args, "server", None)
    try:
        return int(args.run(args))
    except AuthenticationError as exc:
        print_error(exc)
        if exc.error_code != "NOT_AUTHENTICATED":
            err.print("Run `docproc login` to sign in again.")
        return 1
    except DocprocError as exc:
        print_error(exc)
        return 1
    except KeyboardInterrupt:
        err.print("Interrupted.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
