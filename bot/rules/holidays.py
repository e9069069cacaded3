"""Public holidays per person, so nobody is prompted (or marked missing) on a day off.

Why this module: holiday data comes from the ``holidays`` package, whose codes, errors and
caching need care before they reach users and the scheduler. Codes are ``CC`` or ``CC-SUB``
(country, optional subdivision) such as ``DE``, ``DE-BY``, ``IN-KA`` or ``US-CA``; they are
validated with plain messages for the settings form and normalised to one canonical spelling
for storage. Calendars are built once per (country, subdivision) and grow year by year on
demand, so checking hundreds of participants costs a dictionary lookup each.

Holidays include the package's default "public" category and its observed-day shifts (e.g. a
US holiday on a Saturday is observed on the Friday), because the observed day is the day off.
Names are in US English where the package has a translation, else in its own default wording,
never dependent on the server's locale.
"""

from __future__ import annotations

import threading
from datetime import date
from functools import cache

import holidays as holidays_pkg
from holidays.holiday_base import HolidayBase

__all__ = [
    "effective_code",
    "holiday_name",
    "normalize_code",
    "parse_code",
    "validate_code",
]

_EXAMPLES = "DE, US-CA, IN-KA or GB"
_MAX_LISTED_REGIONS = 24
_lock = threading.Lock()


@cache
def _countries() -> dict[str, tuple[str, ...]]:
    """Canonical two-letter country code -> its subdivision codes, as the package supports."""
    supported = holidays_pkg.list_supported_countries(include_aliases=False)
    return {code: tuple(subdivs) for code, subdivs in supported.items()}


@cache
def _country_aliases() -> dict[str, str]:
    """Other codes the package accepts (``DEU``, ``UK``) -> the canonical two-letter code."""
    canonical = _countries()
    aliases: dict[str, str] = {}
    for code in holidays_pkg.list_supported_countries(include_aliases=True):
        if code not in canonical:
            target = getattr(getattr(holidays_pkg, code, None), "country", None)
            if isinstance(target, str) and target in canonical:
                aliases[code] = target
    return aliases


@cache
def _country_names() -> dict[str, str]:
    """English country names ("united states") -> code, to answer "Germany" with "DE".

    Read from the package's registry, which is not a documented API: if it changes shape this
    just offers no suggestion.
    """
    registry = getattr(getattr(holidays_pkg, "registry", None), "COUNTRIES", None)
    names: dict[str, str] = {}
    if isinstance(registry, dict):
        for module_name, entry in registry.items():
            if isinstance(entry, tuple) and len(entry) > 1 and entry[1] in _countries():
                names[str(module_name).replace("_", " ")] = entry[1]
    return names


def _canonical_country(text: str) -> str | None:
    code = text.upper()
    if code in _countries():
        return code
    return _country_aliases().get(code)


@cache
def _subdivision_aliases(country: str) -> dict[str, str]:
    """Full subdivision names the package knows ("Bayern") -> code ("BY"), lower-cased keys."""
    aliases = getattr(getattr(holidays_pkg, country, None), "subdivisions_aliases", None) or {}
    return {str(name).lower(): str(code) for name, code in dict(aliases).items()}


def _region_error(country: str, region: str) -> str:
    subdivs = _countries()[country]
    if not subdivs:
        return (
            f"{country} has no regions in the holiday calendar, so {region!r} can't be used: "
            f"enter {country} on its own."
        )
    suggestion = _subdivision_aliases(country).get(region.lower())
    hint = f" Did you mean {country}-{suggestion}?" if suggestion else ""
    listed = ", ".join(subdivs[:_MAX_LISTED_REGIONS])
    if len(subdivs) > _MAX_LISTED_REGIONS:
        listed += f" and {len(subdivs) - _MAX_LISTED_REGIONS} more"
    return (
        f"{country} has no region {region!r}.{hint} Valid regions for {country}: {listed}. "
        f"Or enter {country} alone for nationwide holidays only."
    )


def parse_code(text: str) -> tuple[str, str | None]:
    """``"de-by"`` -> ``("DE", "BY")``; ``"IN"`` -> ``("IN", None)``. Raises ``ValueError``.

    Case-insensitive; surrounding spaces are ignored; three-letter and alias country codes
    (``DEU``, ``UK``) map to the canonical two-letter code. The error message is meant for
    the user, see :func:`validate_code`.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError(f"Enter a holiday calendar code such as {_EXAMPLES}.")
    country_text, sep, region_text = cleaned.partition("-")
    country = _canonical_country(country_text.strip())
    if country is None:
        named = _country_names().get(" ".join(cleaned.lower().replace("_", " ").split()))
        hint = f" Did you mean {named}?" if named else ""
        raise ValueError(
            f"Unknown country code {country_text.strip()!r}.{hint} Use a two-letter country "
            f"code such as US, GB, DE, IN, FR or AU, optionally followed by a region: "
            f"US-CA, DE-BY, IN-KA."
        )
    if not sep:
        return country, None
    region = region_text.strip()
    if not region:
        raise ValueError(
            f"{cleaned!r} ends with a dash: add a region (e.g. {country}-...) "
            f"or enter {country} alone."
        )
    for subdiv in _countries()[country]:
        # A few subdivisions are names ("Augsburg", "Zone A"); match those case-insensitively.
        if subdiv.lower() == region.lower():
            return country, subdiv
    raise ValueError(_region_error(country, region))


def normalize_code(text: str | None) -> str | None:
    """Canonical stored form (``"de-by "`` -> ``"DE-BY"``); None/blank -> None (no calendar).

    Raises ``ValueError`` with the user-facing message for an invalid code.
    """
    if text is None or not text.strip():
        return None
    country, subdiv = parse_code(text)
    return country if subdiv is None else f"{country}-{subdiv}"


def validate_code(text: str) -> str | None:
    """Plain-text problem with a holiday calendar code, or None if it is valid.

    Blank counts as valid: it means "no holiday calendar" (see :func:`normalize_code`).
    """
    try:
        normalize_code(text)
    except ValueError as exc:
        return str(exc)
    return None


@cache
def _calendar(country: str, subdiv: str | None) -> HolidayBase:
    """One expandable calendar per (country, subdivision); years are filled in on first use."""
    probe = holidays_pkg.country_holidays(country, years=())
    language = "en_US" if "en_US" in probe.supported_languages else None
    return holidays_pkg.country_holidays(
        country, subdiv=subdiv, years=(), expand=True, language=language
    )


def holiday_name(code: str, local_date: date) -> str | None:
    """Name of the public holiday on ``local_date`` in calendar ``code``, or None.

    ``code`` is anything :func:`parse_code` accepts (store the :func:`normalize_code` form).
    Raises ``ValueError`` for an invalid code, e.g. one a package upgrade no longer knows.
    Several holidays on one day are joined with "; " as the package does.
    """
    country, subdiv = parse_code(code)
    calendar = _calendar(country, subdiv)
    with _lock:  # filling in a new year mutates the shared calendar
        name = calendar.get(local_date)
    return name if isinstance(name, str) else None


def effective_code(standup_code: str | None, person_code: str | None) -> str | None:
    """The calendar that applies to a person: their own if set, else the standup's, else none.

    Blank strings count as "not set", so clearing a person's override falls back to the
    standup's calendar; a result of None means no holidays are observed.
    """
    for code in (person_code, standup_code):
        if code is not None and code.strip():
            return code.strip()
    return None
