"""Identifiers and contacts: e-mail, URL, phone, business registration, resident and card numbers,
with their checksums."""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.I)
BUSINESS_NUMBER = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{5})(?![\d-])")
RESIDENT_NUMBER = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})\s?-\s?([1-8])(\d{6})(?![\d-])")
CARD_NUMBER = re.compile(r"(?<![\d-])(?:\d{4}[ -]){3}\d{1,7}(?![\d-])|(?<![\d-])\d{13,19}(?![\d-])")
PHONE_KR = re.compile(
    r"(?<![\d+-])(?:\(?0(?:1[016789]|2|[3-6][1-5]|70|50\d?)\)?[-. )]?\d{3,4}[-. ]?\d{4}|1[5-9]\d{2}-\d{4})(?![\d-])"
)
PHONE_PLUS = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\(?\d{1,4}\)?){2,6}(?![\d-])")


def business_number_valid(digits: str) -> bool:
    """The Korean business registration number checksum (weights 1,3,7,1,3,7,1,3,5)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(int(d) * w for d, w in zip(digits[:9], weights, strict=True))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalize_phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        if digits.startswith("820"):
            digits = "82" + digits[3:]
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if digits.startswith("0") and 9 <= len(digits) <= 11:
        return f"+82{digits[1:]}"
    if len(digits) == 8 and digits[0] == "1":  # 1588-1234: nationwide numbers have no area code
        return digits
    return None


# --- bank identifiers: IBAN (ISO 13616) and BIC/SWIFT (ISO 9362) ------------------------------

# ISO 3166-1 alpha-2 codes (plus XK, used by IBAN and BIC for Kosovo): the country part of both.
COUNTRY_CODES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW "
        "BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI "
        "FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN "
        "IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
        "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF "
        "PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
        "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK "
        "YE YT ZA ZM ZW",
    )
)
# Country, check digits, then 11-30 letters or digits, printed in groups of four that OCR may space out
# or run together: "DE89 3704 0044 0532 0130 00", "DE89370400440532013000".
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
IBAN_LABEL = re.compile(r"IBAN|International Bank Account", re.I)
# Bank (4 letters), country (2), location (2), optional branch (3): "DEUTDEFF", "DEUTDEFF500". OCR
# splits it into its parts now and then ("DEUT DE FF 500"), which is accepted after a BIC/SWIFT label.
BIC = re.compile(r"(?<![A-Za-z0-9])[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![A-Za-z0-9])")
BIC_SPACED = re.compile(r"(?<![A-Za-z0-9])[A-Z]{4} ?[A-Z]{2} ?[A-Z0-9]{2}(?: ?[A-Z0-9]{3})?(?![A-Za-z0-9])")
BIC_LABEL = re.compile(r"(?:BIC|SWIFT|S\.W\.I\.F\.T\.?)(?:[ /-]?(?:code|코드|BIC|SWIFT))?\s*[:.#]?\s*$", re.I)


def iban_valid(compact: str) -> bool:
    """ISO 7064 mod 97-10: letters become 10-35, the first four characters move to the end, and the
    number must leave 1."""
    if not 15 <= len(compact) <= 34 or compact[:2] not in COUNTRY_CODES or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    if not rearranged.isalnum() or not rearranged.isascii():
        return False
    return int("".join(str(int(ch, 36)) for ch in rearranged.upper())) % 97 == 1


# IBAN length per country (SWIFT's IBAN registry), so a run glued to the next word is cut exactly.
IBAN_LENGTHS = {
    match[1]: int(match[2])
    for match in re.finditer(
        r"([A-Z]{2}):(\d+)",
        "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BR:29 CH:21 CR:22 CY:28 CZ:24 DE:22 DK:18 "
        "DO:28 EE:20 EG:29 ES:24 FI:18 FO:18 FR:27 GB:22 GE:22 GI:23 GL:18 GR:27 GT:28 HR:21 HU:28 IE:22 "
        "IL:23 IS:26 IT:27 JO:30 KW:30 KZ:20 LB:28 LI:21 LT:20 LU:20 LV:21 MC:27 MD:24 ME:22 MK:19 MR:27 "
        "MT:31 MU:30 NL:18 NO:15 PK:24 PL:28 PS:29 PT:25 QA:29 RO:24 RS:22 SA:24 SE:24 SI:19 SK:24 SM:27 "
        "TN:24 TR:26 UA:29 VG:24 XK:20",
    )
}


def iban_in(raw: str) -> str | None:
    """The valid IBAN a matched run starts with. Layout and OCR glue the next word or group on (the
    BIC, a reference), so the run is cut at the country's IBAN length, or, for a country not in the
    table, at the end of each printed group (longest first); the checksum must pass."""
    compact = raw.replace(" ", "")
    known = IBAN_LENGTHS.get(compact[:2])
    if known is not None:
        cuts = [known]
    else:
        ends: list[int] = []
        for group in raw.split(" "):
            ends.append((ends[-1] if ends else 0) + len(group))
        cuts = sorted({end for end in ends if 15 <= end <= 34}, reverse=True)
    for length in cuts:
        if len(compact) >= length and iban_valid(compact[:length]):
            return compact[:length]
    return None


def format_iban(compact: str) -> str:
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def bic_plausible(compact: str, labelled: bool) -> bool:
    """A BIC's country must exist; without a BIC/SWIFT label in front, an all-letter word like
    "BUSINESS" (NE is Niger) is too likely, so the location or branch must hold a digit."""
    if len(compact) not in (8, 11) or compact[4:6] not in COUNTRY_CODES:
        return False
    return labelled or any(ch.isdigit() for ch in compact[6:])
