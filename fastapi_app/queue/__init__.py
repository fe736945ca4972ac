"""Enqueueing work: the Celery client (app.py) and the send calls (dispatch.py), below the services that
enqueue and apart from the task code in fastapi_app/tasks/ (the worker)."""
