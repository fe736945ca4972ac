"""Where uploaded originals live: generated names under UPLOAD_DIR, written atomically."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from fastapi_app.core.config import get_settings


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / ".tmp"

    def ensure_dirs(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_stored_name(extension: str) -> str:
        return f"{uuid.uuid4().hex}{extension}"

    def path_for(self, stored_name: str) -> Path:
        # Two-level fan-out keeps directories small with millions of files.
        return self.root / stored_name[:2] / stored_name

    def new_temp_path(self) -> Path:
        self.ensure_dirs()
        return self.tmp_dir / f"upload-{uuid.uuid4().hex}.part"

    def commit_temp(self, temp_path: Path, stored_name: str) -> Path:
        """Move a fully written temp file into place; rename is atomic on one filesystem."""
        final = self.path_for(stored_name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, final)
        return final

    def delete(self, stored_name: str) -> None:
        self.path_for(stored_name).unlink(missing_ok=True)

    def exists(self, stored_name: str) -> bool:
        return self.path_for(stored_name).is_file()


def get_storage() -> LocalStorage:
    return LocalStorage(get_settings().UPLOAD_DIR)
