"""The Python client package (clients/python) as a user installs it: in a venv of its own, without the
server's dependencies, its `docproc` command driving the live stack (uvicorn, Celery, PostgreSQL, Redis)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, korean_invoice_pdf, korean_invoice_xlsx, png_bytes
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

SERVER_PACKAGES = {"fastapi", "starlette", "sqlalchemy", "celery", "kombu", "pydantic", "pydantic-core", "uvicorn",
                   "alembic", "redis", "psycopg", "asyncpg"}  # fmt: skip


@pytest.fixture(scope="module")
def client_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install ./clients/python` into a fresh venv (from PyPI, as a user would); its bin directory."""
    work = tmp_path_factory.mktemp("client-venv")
    venv = work / "venv"
    # pip builds a local project in place (build/, *.egg-info): build a copy, never the checkout.
    package = shutil.copytree(
        ROOT / "clients" / "python", work / "package", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(package)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


def installed_packages(bin_dir: Path) -> set[str]:
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(listed.stdout)}


def test_client_installs_without_any_server_dependency(client_bin: Path) -> None:
    packages = installed_packages(client_bin)
    assert {"docproc-client", "httpx", "rich", "httpx-ws"} <= packages
    assert not packages & SERVER_PACKAGES, packages & SERVER_PACKAGES


class Cli:
    def __init__(self, bin_dir: Path, home: Path, server: str) -> None:
        self.bin = bin_dir
        self.server = server
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOCPROC_")}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), COLUMNS="220")

    def __call__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "docproc"), *args], cwd=cwd, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def cells(path: Path) -> list[object]:
    workbook = load_workbook(path)
    return [value for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row]


def test_cli_uploads_a_folder_waits_and_writes_reports(live_stack: Stack, client_bin: Path, tmp_path: Path) -> None:
    account = ApiClient(live_stack.base_url).register_and_login()
    cli = Cli(client_bin, tmp_path / "home", live_stack.base_url)

    login = cli("login", "--server", live_stack.base_url, "--username", account["username"],
                "--password", account["password"], cwd=tmp_path)  # fmt: skip
    assert login.returncode == 0, login.stderr
    config_dir = tmp_path / "home" / "config" / "docproc"
    assert stat.S_IMODE((config_dir / "tokens.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700

    folder = tmp_path / "invoices"
    (folder / "march").mkdir(parents=True)
    (folder / "거래명세서.pdf").write_bytes(korean_invoice_pdf())
    korean_invoice_xlsx(folder / "march" / "prices.xlsx")
    (folder / "scan.png").write_bytes(png_bytes(320, 200))
    (folder / "broken.pdf").write_bytes(corrupt_pdf())
    (folder / "notes.txt").write_text("not a supported extension: left out of a folder upload")
    out_dir = tmp_path / "reports"

    upload = cli("upload", "invoices", "--wait", "--report", "xlsx", "--out", str(out_dir), cwd=tmp_path)

    assert upload.returncode == 1, upload.stdout + upload.stderr  # the corrupt file failed
    lines = upload.stdout.splitlines()
    row = {name: next((line for line in lines if name in line), "") for name in
           ("거래명세서.pdf", "prices.xlsx", "scan.png", "broken.pdf")}  # fmt: skip
    assert "completed" in row["거래명세서.pdf"] and "거래명세서.report.xlsx" in row["거래명세서.pdf"], upload.stdout
    assert "completed" in row["prices.xlsx"] and "completed" in row["scan.png"], upload.stdout
    assert "failed" in row["broken.pdf"] and "CORRUPT_FILE" in row["broken.pdf"], upload.stdout
    assert "notes.txt" not in upload.stdout
    assert "4 files, 3 ok, 1 failed" in upload.stdout

    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        ["거래명세서.report.xlsx", "prices.report.xlsx", "scan.report.xlsx"]
    )
    invoice = cells(out_dir / "거래명세서.report.xlsx")
    assert 1_210_000 in invoice and "주식회사 한빛상사" in invoice and "거래명세서.pdf" in invoice

    listed = cli("list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "거래명세서.pdf" in listed.stdout and "broken.pdf" in listed.stdout
    documents = ApiClient(live_stack.base_url, token=account["access_token"]).get("/api/documents/").json()["data"]
    by_name = {document["original_filename"]: document for document in documents}
    assert set(by_name) == {"거래명세서.pdf", "prices.xlsx", "scan.png", "broken.pdf"}  # one each, names intact

    invoice_id = by_name["거래명세서.pdf"]["id"]
    got = cli("get", invoice_id, cwd=tmp_path)
    assert got.returncode == 0 and "completed" in got.stdout and "거래명세서.pdf" in got.stdout, got.stdout
    failed = cli("get", by_name["broken.pdf"]["id"], cwd=tmp_path)
    assert failed.returncode == 1 and "CORRUPT_FILE" in failed.stdout

    pdf_dir = tmp_path / "pdf"
    report = cli("report", invoice_id, "--format", "pdf", "--out", str(pdf_dir), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (pdf_dir / "거래명세서.report.pdf").read_bytes().startswith(b"%PDF-")

    today = datetime.now(UTC).date().isoformat()
    summary = cli("summary", "--from", today, "--to", today, "--format", "xlsx", "--out", str(tmp_path / "s"),
                  cwd=tmp_path)  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    summary_cells = cells(tmp_path / "s" / f"summary_{today}_{today}.xlsx")
    assert "거래명세서.pdf" in summary_cells and "broken.pdf" in summary_cells
    assert 1_210_000 in summary_cells

    missing = cli("get", "00000000-0000-0000-0000-000000000000", cwd=tmp_path)
    assert missing.returncode == 1 and "DOCUMENT_NOT_FOUND" in missing.stderr


def test_cli_environment_overrides_and_error_codes(live_stack: Stack, client_bin: Path, tmp_path: Path) -> None:
    account = ApiClient(live_stack.base_url).register_and_login()
    cli = Cli(client_bin, tmp_path / "home", live_stack.base_url)
    credentials = {"DOCPROC_SERVER": live_stack.base_url, "DOCPROC_USERNAME": account["username"],
                   "DOCPROC_PASSWORD": account["password"]}  # fmt: skip
    (tmp_path / "empty.pdf").write_bytes(b"")

    refused = cli("upload", "empty.pdf", cwd=tmp_path, env=credentials)
    assert refused.returncode == 1
    assert "EMPTY_FILE" in refused.stdout and "refused" in refused.stdout
    assert not (tmp_path / "home" / "config" / "docproc" / "tokens.json").exists()  # env credentials stay in env

    bad_token = cli("list", cwd=tmp_path, env={"DOCPROC_SERVER": live_stack.base_url, "DOCPROC_TOKEN": "not-a-jwt"})
    assert bad_token.returncode == 1 and "INVALID_TOKEN" in bad_token.stderr

    not_logged_in = cli("list", "--server", live_stack.base_url, cwd=tmp_path)
    assert not_logged_in.returncode == 1 and "docproc login" in not_logged_in.stderr
