"""Entities found in a text: dates, amounts, contacts and identifiers, without overlaps."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi_app.extractors.base import Entity
from fastapi_app.extractors.text_analysis.dates import (
    DATE_D_MONTH_Y,
    DATE_DAY_RANGE,
    DATE_DMY_DOTS,
    DATE_DMY_HYPHENS,
    DATE_KOREAN,
    DATE_MONTH_D_Y,
    DATE_SLASH,
    DATE_YMD,
    MONTHS,
    make_date,
)
from fastapi_app.extractors.text_analysis.identifiers import (
    BIC,
    BIC_LABEL,
    BIC_SPACED,
    BUSINESS_NUMBER,
    CARD_NUMBER,
    EMAIL,
    IBAN,
    IBAN_LABEL,
    IBAN_LENGTHS,
    PHONE_KR,
    PHONE_PLUS,
    RESIDENT_NUMBER,
    URL,
    bic_plausible,
    business_number_valid,
    format_iban,
    iban_in,
    normalize_phone,
)
from fastapi_app.extractors.text_analysis.masking import card_candidate, mask_card, mask_resident, resident_plausible
from fastapi_app.extractors.text_analysis.numbers import (
    AMOUNT_BARE,
    AMOUNT_KOREAN_UNIT,
    AMOUNT_PREFIX,
    AMOUNT_SUFFIX,
    KOREAN_UNITS,
    currency_code,
    parse_number,
)


@dataclass(slots=True)
class _Found:
    start: int
    end: int
    entity: Entity


class _Spans:
    """Character ranges already taken, so one piece of text is one entity (a date is no amount).

    Sorted by (start, end): taken ranges never overlap, so their ends are sorted too, and of the ranges
    starting before ``end`` only the last can reach past ``start``. A scan of every taken range made a
    long text quadratic (an HWP document is one segment, not pages: 3,700 entities in 390,000
    characters took seconds).
    """

    def __init__(self) -> None:
        self.taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        last = bisect.bisect_left(self.taken, (end, -1)) - 1
        return last < 0 or self.taken[last][1] <= start

    def take(self, start: int, end: int) -> None:
        bisect.insort(self.taken, (start, end))


def find_entities(
    text: str, *, page: int | None = None, sheet: str | None = None, slash_order: str = "mdy"
) -> list[Entity]:
    spans = _Spans()
    found: list[_Found] = []

    def add(match: re.Match[str], entity: Entity, group: int | str = 0) -> None:
        start, end = match.span(group)
        if spans.free(start, end):
            spans.take(start, end)
            entity.page, entity.sheet = page, sheet
            found.append(_Found(start, end, entity))

    def add_span(start: int, end: int, entity: Entity) -> None:
        if spans.free(start, end):
            spans.take(start, end)
            entity.page, entity.sheet = page, sheet
            found.append(_Found(start, end, entity))

    # Before card numbers: the digit groups of an IBAN can pass the Luhn check.
    _find_bank_ids(text, add_span)
    for match in RESIDENT_NUMBER.finditer(text):
        if resident_plausible(match):
            add(match, Entity(type="resident_registration_number", text=mask_resident(match), masked=True))
    for match in CARD_NUMBER.finditer(text):
        if card_candidate(match[0]):
            masked = mask_card(match[0])
            add(match, Entity(type="card_number", text=masked, value=masked, masked=True, valid=True))
    for match in EMAIL.finditer(text):
        add(match, Entity(type="email", text=match[0], value=match[0].lower()))
    for match in URL.finditer(text):
        url = match[0].rstrip(".,;:!?")
        value = url if url.lower().startswith("http") else f"http://{url}"
        start = match.start()
        if spans.free(start, start + len(url)):
            spans.take(start, start + len(url))
            found.append(
                _Found(start, start + len(url), Entity(type="url", text=url, value=value, page=page, sheet=sheet))
            )
    for match in BUSINESS_NUMBER.finditer(text):
        digits = "".join(match.groups())
        add(match, Entity(type="business_registration_number", text=match[0], value=match[0],
                          valid=business_number_valid(digits)))  # fmt: skip
    _find_dates(text, add, slash_order)
    for pattern in (PHONE_PLUS, PHONE_KR):
        for match in pattern.finditer(text):
            normalized = normalize_phone(match[0])
            if normalized:
                add(match, Entity(type="phone", text=match[0].strip(), value=normalized))
    _find_amounts(text, add)
    found.sort(key=lambda f: f.start)
    return [f.entity for f in found]


def _find_bank_ids(text: str, add_span: Callable[[int, int, Entity], None]) -> None:
    """IBANs (mod-97 checked; an IBAN label alone also admits one that fails, marked invalid) and
    BIC/SWIFT codes, kept whole when OCR spaces their groups out."""
    for match in IBAN.finditer(text):
        raw = match[0]
        compact = iban_in(raw)
        valid = compact is not None
        if compact is None:
            if not IBAN_LABEL.search(text, max(0, match.start() - 24), match.start()):
                continue
            whole = raw.replace(" ", "")
            compact = whole[: IBAN_LENGTHS.get(whole[:2], len(whole))]
        end, seen = match.start(), 0
        while seen < len(compact):  # where the IBAN ends inside the run, spaces included
            seen += raw[end - match.start()] != " "
            end += 1
        add_span(match.start(), end, Entity(type="iban", text=text[match.start() : end], value=format_iban(compact),
                                            valid=valid))  # fmt: skip
    for pattern in (BIC, BIC_SPACED):
        for match in pattern.finditer(text):
            compact = match[0].replace(" ", "")
            line_start = text.rfind("\n", 0, match.start()) + 1
            labelled = bool(BIC_LABEL.search(text[max(line_start, match.start() - 24) : match.start()]))
            if (pattern is BIC or labelled) and bic_plausible(compact, labelled):
                add_span(match.start(), match.end(), Entity(type="bic", text=match[0], value=compact))


def _find_dates(text: str, add: Callable[..., None], slash_order: str) -> None:
    for match in DATE_DAY_RANGE.finditer(text):
        month = MONTHS.get(match["mon"].lower())
        first = make_date(int(match["y"]), month, int(match["d1"])) if month else None
        last = make_date(int(match["y"]), month, int(match["d2"])) if month else None
        if first and last:
            add(match, Entity(type="date", text=match[0], value=first), "d1")
            add(match, Entity(type="date", text=match[0], value=last), "d2")
    for match in DATE_KOREAN.finditer(text):
        if iso := make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in DATE_YMD.finditer(text):
        if iso := make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0].rstrip("."), value=iso))
    for match in DATE_D_MONTH_Y.finditer(text):
        month = MONTHS.get(match["mon"].lower())
        if month and (iso := make_date(int(match["y"]), month, int(match["d"]))):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in DATE_MONTH_D_Y.finditer(text):
        month = MONTHS.get(match["mon"].lower())
        if month and (iso := make_date(int(match["y"]), month, int(match["d"]))):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in DATE_DMY_DOTS.finditer(text):
        if iso := make_date(int(match["y"]), int(match["m"]), int(match["d"])):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in DATE_DMY_HYPHENS.finditer(text):
        day, month, year = int(match["d"]), int(match["m"]), int(match["y"])
        if iso := make_date(year, month, day) or make_date(year, day, month):
            add(match, Entity(type="date", text=match[0], value=iso))
    for match in DATE_SLASH.finditer(text):
        a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
        month, day = (b, a) if slash_order == "dmy" else (a, b)
        iso = make_date(year, month, day) or make_date(year, day, month)
        if iso:
            add(match, Entity(type="date", text=match[0], value=iso))


def _find_amounts(text: str, add: Callable[..., None]) -> None:
    for match in AMOUNT_KOREAN_UNIT.finditer(text):
        number = parse_number(match["num"])
        if number is not None:
            value = number * KOREAN_UNITS[match["unit"]]
            add(match, Entity(type="amount", text=match[0], value=int(value) if value == int(value) else value,
                              currency="KRW"))  # fmt: skip
    for pattern in (AMOUNT_PREFIX, AMOUNT_SUFFIX):
        for match in pattern.finditer(text):
            currency = currency_code(match["cur"])
            number = parse_number(match["num"], currency)
            if number is not None and currency:
                add(match, Entity(type="amount", text=match[0].strip(), value=number, currency=currency))
    for match in AMOUNT_BARE.finditer(text):
        number = parse_number(match["num"])
        if number is not None:
            add(match, Entity(type="amount", text=match[0], value=number))
