"""Phone numbers as people type them: "0612 345 678" at the counter, "+31 6 12345678"
on a card. Both are the same number in a Dutch shop. The blind index (a keyed hash of
the digits, app/store/crypto.py) finds only what hashes the same, so a look-up asks for
every form the number may have been saved in (:func:`equivalent_forms`): international
(+CC…), local (trunk 0…) and the 00 prefix. The store's country comes from its locale.
"""

from __future__ import annotations

import re

#: country -> calling code; the trunk prefix is "0" for all of these (Italy keeps its 0
#: inside the number and has no trunk prefix)
CALLING_CODES = {"IE": "353", "GB": "44", "NL": "31", "BE": "32", "DE": "49", "FR": "33", "ES": "34",
                 "PT": "351", "AT": "43", "CH": "41", "DK": "45", "SE": "46", "NO": "47", "FI": "358",
                 "PL": "48", "IT": "39", "US": "1", "CA": "1"}
NO_TRUNK = {"IT"}
NANP = {"US", "CA"}  # trunk prefix 1
DEFAULT_COUNTRY = "IE"
MIN_DIGITS, MAX_DIGITS = 6, 15


def country_of_locale(locale: str | None) -> str:
    """ "en_IE" -> "IE"; a locale without a region gives the default country."""
    parts = re.split(r"[_-]", locale or "")
    region = parts[1].upper() if len(parts) > 1 else ""
    return region if region in CALLING_CODES else DEFAULT_COUNTRY


def looks_like_phone(text: str) -> bool:
    """Digits with spaces, dots, dashes, brackets and a leading +; enough digits to be a number."""
    text = text.strip()
    if not text or re.search(r"[^\d\s+().\-/]", text):
        return False
    return MIN_DIGITS <= len(re.sub(r"\D", "", text)) <= MAX_DIGITS + 2


def _international(text: str) -> tuple[str, str] | None:
    """(calling code, national number) of a number written with + or 00."""
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+"):
        rest = digits
    elif digits.startswith("00"):
        rest = digits[2:]
    else:
        return None
    for code in sorted(set(CALLING_CODES.values()), key=len, reverse=True):
        if rest.startswith(code):
            national = rest[len(code):]
            # "+353 (0)87…": the trunk 0 written in brackets is not part of the number
            if national.startswith("0") and code not in ("39",):
                national = national[1:]
            return code, national
    return None


def normalise(text: str, country: str = DEFAULT_COUNTRY) -> str | None:
    """The number in international form ("+31612345678"), or None if it is not a phone."""
    if not looks_like_phone(text):
        return None
    found = _international(text)
    if found is not None:
        code, national = found
    else:
        digits = re.sub(r"\D", "", text)
        code = CALLING_CODES.get(country, CALLING_CODES[DEFAULT_COUNTRY])
        trunk = "" if country in NO_TRUNK else ("1" if country in NANP else "0")
        national = digits[len(trunk):] if trunk and digits.startswith(trunk) else digits
    if not MIN_DIGITS <= len(code) + len(national) <= MAX_DIGITS:
        return None
    return f"+{code}{national}"


def equivalent_forms(text: str, country: str = DEFAULT_COUNTRY) -> list[str]:
    """Every form the number may have been saved in, as the blind index normalises it
    (digits, leading + kept): "+31612345678", "0031612345678", "0612345678"."""
    e164 = normalise(text, country)
    if e164 is None:
        return []
    forms = [e164, "00" + e164[1:]]
    for local_country, code in CALLING_CODES.items():
        if e164.startswith("+" + code) and local_country == country:
            national = e164[1 + len(code):]
            trunk = "" if country in NO_TRUNK else ("1" if country in NANP else "0")
            forms.append(trunk + national)
            break
    typed = ("+" if text.strip().startswith("+") else "") + re.sub(r"\D", "", text)
    if typed not in forms:
        forms.append(typed)
    return forms
