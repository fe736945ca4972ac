"""Korean tax invoices (전자세금계산서) and statements of transaction (거래명세서): the supplier's and
the buyer's registration numbers, the issue date, the supply amount, the tax and the total, the
line items, and whether it all adds up (VAT is 10 % of the supply amount, the items sum to it, the
total is supply plus tax, the registration numbers pass their checksum)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from fastapi_app.extractors.base import (
    ExtractionResult,
    KeyValue,
    Table,
    TaxInvoice,
    TaxInvoiceItem,
    Validation,
    ValidationCheck,
)
from fastapi_app.extractors.text_analysis.identifiers import BUSINESS_NUMBER, business_number_valid
from fastapi_app.extractors.text_analysis.numbers import parse_number

if TYPE_CHECKING:
    from collections.abc import Iterable

_TAX_INVOICE = re.compile(r"세\s*금\s*계\s*산\s*서")
_STATEMENT = re.compile(r"거\s*래\s*명\s*세\s*서")
_SUPPLY_KEY = re.compile(r"^공급\s*가\s*액$")
_TAX_KEY = re.compile(r"^(세\s*액|부\s*가\s*세|부가가치세)$")
_TOTAL_KEY = re.compile(r"^(합\s*계\s*금\s*액|합\s*계|총\s*액|총\s*금\s*액|청구\s*금액)$")
_DATE_KEY = re.compile(r"^(작\s*성\s*일\s*자?|발\s*행\s*일\s*자?|거\s*래\s*일\s*자?)$")
_BUYER = re.compile(r"공\s*급\s*받\s*는\s*자|매\s*입\s*자|구\s*매\s*자|buyer", re.I)
_SUPPLIER = re.compile(r"공\s*급\s*자|매\s*출\s*자|판\s*매\s*자|supplier", re.I)
_ITEM_NAME = re.compile(r"^(품\s*목|품\s*명|품목명|내\s*역)$")
_QUANTITY = re.compile(r"^수\s*량$")
_UNIT_PRICE = re.compile(r"^단\s*가$")
_ITEM_SUPPLY = re.compile(r"^(공급\s*가\s*액|금\s*액)$")
_ITEM_TAX = re.compile(r"^(세\s*액|부\s*가\s*세)$")
_TOTAL_ROW = re.compile(r"^(합\s*계|소\s*계|계|총\s*계|total)", re.I)
_LOOK_BACK = 80  # characters before a registration number searched for 공급자 / 공급받는자
TAX_RATE = 0.1


def find_tax_invoice(result: ExtractionResult, texts: Iterable[str]) -> TaxInvoice | None:
    text = "\n".join(texts)
    if _TAX_INVOICE.search(text[:5000]):
        kind = "tax_invoice"
    elif _STATEMENT.search(text[:5000]):
        kind = "transaction_statement"
    else:
        return None
    supply, tax, items = _amount(result.key_values, _SUPPLY_KEY), _amount(result.key_values, _TAX_KEY), _items(result)
    if supply is None and tax is None and not items:
        return None  # the word alone (a letter about an invoice) does not make a document one
    supplier, buyer = _registration_numbers(text)
    invoice = TaxInvoice(
        kind=kind,  # type: ignore[arg-type]
        supplier_brn=supplier,
        buyer_brn=buyer,
        issue_date=_date(result.key_values),
        supply_amount=supply,
        tax_amount=tax,
        total_amount=_amount(result.key_values, _TOTAL_KEY),
        items=items,
        validation=Validation(ok=True),
    )
    invoice.validation = validate(invoice)
    return invoice


def validate(invoice: TaxInvoice) -> Validation:
    checks: list[ValidationCheck] = []
    supply, tax, total = invoice.supply_amount, invoice.tax_amount, invoice.total_amount
    missing = [
        name
        for name, value in (("supply_amount", supply), ("tax_amount", tax), ("total_amount", total))
        if value is None
    ]
    if invoice.kind == "tax_invoice":
        missing += [n for n, v in (("supplier_brn", invoice.supplier_brn), ("buyer_brn", invoice.buyer_brn)) if not v]
    if missing:
        checks.append(ValidationCheck(name="fields_found", ok=False, expected="all", actual=missing))
    if supply is not None and tax is not None:
        # Issuers truncate or round the won: either is accepted.
        exact = supply * TAX_RATE
        ok = tax in (math.floor(exact), round(exact), math.ceil(exact)) or abs(tax - exact) < 1
        checks.append(
            ValidationCheck(name="tax_is_10_percent", ok=ok, expected=_plain(round(exact)), actual=_plain(tax))
        )
    item_supply = [i.supply_amount for i in invoice.items if i.supply_amount is not None]
    if item_supply and supply is not None:
        summed = sum(item_supply)
        checks.append(ValidationCheck(name="items_add_up", ok=abs(summed - supply) < 1, expected=_plain(supply),
                                      actual=_plain(summed)))  # fmt: skip
    item_tax = [i.tax_amount for i in invoice.items if i.tax_amount is not None]
    if item_tax and tax is not None and len(item_tax) == len(invoice.items):
        summed = sum(item_tax)
        checks.append(ValidationCheck(name="item_taxes_add_up", ok=abs(summed - tax) < 1, expected=_plain(tax),
                                      actual=_plain(summed)))  # fmt: skip
    if supply is not None and tax is not None and total is not None:
        checks.append(ValidationCheck(name="total_is_supply_plus_tax", ok=abs(supply + tax - total) < 1,
                                      expected=_plain(supply + tax), actual=_plain(total)))  # fmt: skip
    for role, number in (("supplier", invoice.supplier_brn), ("buyer", invoice.buyer_brn)):
        if number:
            valid = business_number_valid(re.sub(r"\D", "", number))
            checks.append(ValidationCheck(name=f"{role}_brn_valid", ok=valid, expected="valid checksum", actual=number))
    return Validation(ok=all(c.ok for c in checks), checks=checks)


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _registration_numbers(text: str) -> tuple[str | None, str | None]:
    """The supplier's and the buyer's numbers, by the label before each (공급자 / 공급받는자), else in
    the order printed (the supplier's block comes first on the form)."""
    supplier = buyer = None
    unlabelled: list[str] = []
    for match in BUSINESS_NUMBER.finditer(text):
        number = match.group(0)
        before = text[max(0, match.start() - _LOOK_BACK) : match.start()]
        # The nearest label wins: "공급자 ... 공급받는자 등록번호 X" is the buyer's.
        buyer_at = max((m.end() for m in _BUYER.finditer(before)), default=-1)
        supplier_at = max((m.end() for m in _SUPPLIER.finditer(before)), default=-1)
        if buyer_at > supplier_at and buyer is None:
            buyer = number
        elif supplier_at > buyer_at and supplier is None:
            supplier = number
        elif number not in (supplier, buyer):
            unlabelled.append(number)
    for number in unlabelled:
        if supplier is None:
            supplier = number
        elif buyer is None and number != supplier:
            buyer = number
    return supplier, buyer


def _key(pair: KeyValue) -> str:
    return re.sub(r"\s+", "", pair.key)


def _amount(pairs: list[KeyValue], key: re.Pattern[str]) -> float | None:
    for pair in pairs:
        if (
            key.match(_key(pair))
            and isinstance(pair.normalized, (int, float))
            and not isinstance(pair.normalized, bool)
        ):
            return float(pair.normalized)
    return None


def _date(pairs: list[KeyValue]) -> str | None:
    for pair in pairs:
        if pair.value_type == "date" and _DATE_KEY.match(_key(pair)):
            return str(pair.normalized)
    return None


def _tables(result: ExtractionResult) -> list[Table]:
    tables = list(result.pdf.tables) if result.pdf else []
    if result.spreadsheet:
        tables += [t for sheet in result.spreadsheet.sheets for t in sheet.tables]
    return tables


def _items(result: ExtractionResult) -> list[TaxInvoiceItem]:
    for table in _tables(result):
        header = [re.sub(r"\s+", "", str(h or "")) for h in table.header]

        def column(pattern: re.Pattern[str], cells: list[str] = header) -> int | None:
            return next((i for i, h in enumerate(cells) if pattern.match(h)), None)

        name_col, supply_col = column(_ITEM_NAME), column(_ITEM_SUPPLY)
        if name_col is None or supply_col is None:
            continue
        qty_col, price_col, tax_col = column(_QUANTITY), column(_UNIT_PRICE), column(_ITEM_TAX)
        items: list[TaxInvoiceItem] = []
        for row in table.rows:
            name = str(_at(row, name_col) or "").strip()
            if not name or _TOTAL_ROW.match(name) or _number(_at(row, supply_col)) is None:
                continue
            items.append(
                TaxInvoiceItem(
                    name=name,
                    quantity=_number(_at(row, qty_col)),
                    unit_price=_number(_at(row, price_col)),
                    supply_amount=_number(_at(row, supply_col)),
                    tax_amount=_number(_at(row, tax_col)),
                )
            )
        if items:
            return items
    return []


def _at(row: list[Any], index: int | None) -> Any:
    return row[index] if index is not None and index < len(row) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return parse_number(str(value).replace("원", "").replace("₩", "").strip())
