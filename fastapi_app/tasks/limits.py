"""The address-space limit of a worker pool child (WORKER_MEMORY_LIMIT_MB).

Under RLIMIT_AS an allocation that would pass the limit fails at once instead of growing the process
until the host swaps or the OOM killer picks a victim. What a failure becomes depends on who
allocates (measured with python-calamine 0.9.1, see docs/BENCHMARKS.md "Decompression bombs"):

- Python objects, Pillow and NumPy buffers: ``MemoryError``, which the task turns into the
  document's ``MEMORY_LIMIT`` failure; the child lives on.
- Rust code (calamine) aborts the process on a failed allocation: the child dies with SIGABRT,
  Celery requeues the message (acks_late, reject_on_worker_lost), and after MAX_PROCESSING_ATTEMPTS
  deaths the document fails ``WORKER_LOST``. The sheet-extent and archive checks in the extractors
  exist so that this path is not reached by the files known to trigger it.

Child processes (tesseract) inherit the limit.
"""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger("fastapi_app.worker")


def limit_address_space(limit_mb: int) -> int | None:
    """Set this process's soft RLIMIT_AS to ``limit_mb`` MiB (never above the hard limit); 0 = leave it."""
    if limit_mb <= 0:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    logger.info("address space limited to %d MiB", limit // (1024 * 1024))
    return limit
