"""Write clients/python/src/docproc/models.py from the server's OpenAPI schema.

Run from the repository root with the server's venv:

    .venv/bin/python clients/python/scripts/generate_models.py

tests/unit/test_client_models.py fails when the committed models.py differs from a fresh generation,
so the client cannot drift from the API. The models are TypedDicts: the client hands back the JSON it
received, typed, and fields the server adds later (v1 only ever adds) pass through untouched.
"""

from __future__ import annotations

import keyword
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
TARGET = ROOT / "clients" / "python" / "src" / "docproc" / "models.py"

HEADER = '''"""Typed models of the Document Processing API, generated from its OpenAPI schema.

Do not edit: run `.venv/bin/python clients/python/scripts/generate_models.py` from the repository root.
"""

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [{names}]
'''

SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def python_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema or "oneOf" in schema:
        options: list[str] = []
        for option in schema.get("anyOf") or schema["oneOf"]:
            rendered = python_type(option)
            if rendered not in options:
                options.append(rendered)
        return " | ".join(options)
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(value) for value in schema["enum"]) + "]"
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    kind = schema.get("type")
    if kind == "array":
        return f"list[{python_type(schema.get('items', {}))}]"
    if kind == "object":
        values = schema.get("additionalProperties")
        return f"dict[str, {python_type(values) if isinstance(values, dict) and values else 'Any'}]"
    if isinstance(kind, list):
        return " | ".join(SCALARS.get(k, "Any") for k in kind)
    return SCALARS.get(kind, "Any") if isinstance(kind, str) else "Any"


def render_model(name: str, schema: dict[str, Any]) -> str:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = []
    for field, field_schema in properties.items():
        annotation = python_type(field_schema)
        fields.append((field, annotation if field in required else f"NotRequired[{annotation}]"))
    doc = " ".join((schema.get("description") or f"{schema.get('title', name)}.").split())
    if any(not field.isidentifier() or keyword.iskeyword(field) for field, _ in fields):
        # Names Python cannot spell as class attributes: the functional form keeps them exact.
        items = ", ".join(f"{field!r}: {annotation}" for field, annotation in fields)
        return f"{name} = TypedDict({name!r}, {{{items}}})\n"
    wrapped = textwrap.fill(doc, width=110, initial_indent="    ", subsequent_indent="    ").strip()
    if "\n" in wrapped:
        lines = [f"class {name}(TypedDict):", f'    """{wrapped}\n    """']
    else:
        lines = [f"class {name}(TypedDict):", f'    """{wrapped}"""']
    lines += [f"    {field}: {annotation}" for field, annotation in fields]
    return "\n".join(lines) + "\n"


def references(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["$ref"].rsplit("/", 1)[-1]} if "$ref" in schema else set()
        return found.union(*(references(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(references(value) for value in schema))
    return set()


def dependency_order(schemas: dict[str, Any]) -> list[str]:
    """Alphabetical, except that a model comes after the models it refers to: the module then needs no
    `from __future__ import annotations`, under which Python 3.11's TypedDict cannot see NotRequired."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting or name not in schemas:
            return
        visiting.add(name)
        for dependency in sorted(references(schemas[name])):
            visit(dependency)
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(schemas):
        visit(name)
    return ordered


def generate(openapi: dict[str, Any]) -> str:
    schemas: dict[str, Any] = openapi.get("components", {}).get("schemas", {})
    names = dependency_order(schemas)
    parts = [HEADER.format(names=", ".join(repr(n) for n in sorted(names)))]
    parts += ["\n" + render_model(name, schemas[name]) for name in names]
    return ruff_format("\n".join(parts))


def ruff_format(source: str) -> str:
    """The repository's formatter (the dev venv has ruff), so the generated file passes `ruff format --check`."""
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return formatted.stdout


def server_openapi() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from fastapi_app.main import create_app

    return create_app().openapi()


def main() -> None:
    TARGET.write_text(generate(server_openapi()), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
