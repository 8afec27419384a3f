"""The language Lineup speaks: gettext catalogs (Babel), the current language, and numbers and
dates written for it.

The messages are English in the code, marked `_("...")` (or `ngettext` for a count, `N_` for a
constant translated where it is shown); `pybabel extract` gathers them into
lineup/locale/lineup.pot and each language's catalog is lineup/locale/<code>/LC_MESSAGES/lineup.po
(`make messages`). The compiled .mo is built by the set-up, and here on first use when it is
missing or older than its .po (written beside it when the folder can be written, else kept in
memory), so a fresh clone speaks Russian without a step of its own.

The current language is a context variable: each Streamlit session's script run and each CLI
process sets its own (`set_language`), so one session's choice never leaks into another's. English
is the code's own text: in English `_()` returns its argument unchanged and numbers keep the
format they had before there was a second language, so the English interface is what it was.

A message is a whole sentence with named placeholders (`_("Stored the set {name}: {count}
questions.").format(...)`), never assembled from fragments, so a translator can reorder it.
Model names, specs and people's text are never passed through `_()`.
"""

from __future__ import annotations

import gettext
import io
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol

DOMAIN = "lineup"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
ENGLISH = "en"
LANGUAGES: tuple[str, ...] = ("en", "ru")  # the languages Lineup speaks, English first
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "ru": "Русский"}  # each in its own words
# The pseudo-locale of the tests: every message of the Russian catalog comes back as
# ⟦message⟧, so a page's text outside the markers did not pass through the catalog.
PSEUDO = "pseudo"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"

_language: ContextVar[str] = ContextVar("lineup_language", default=ENGLISH)
_loaded: dict[str, gettext.NullTranslations] = {}
_lock = threading.Lock()


def language_of(value: str | None) -> str | None:
    """The Lineup language a browser locale or a LANG value names (`ru-RU`, `ru_RU.UTF-8`,
    `en`), or None when it names none Lineup speaks (`C`, `fr-FR`, empty)."""
    if not value:
        return None
    code = value.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    if code == PSEUDO:
        return PSEUDO
    return code if code in LANGUAGES else None


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's language: LINEUP_LANG, else LANG, else English."""
    env = os.environ if environ is None else environ
    for name in ("LINEUP_LANG", "LANG"):
        code = language_of(env.get(name))
        if code is not None:
            return code
    return ENGLISH


def set_language(code: str) -> None:
    """Make `code` (one of LANGUAGES, or PSEUDO) this context's language."""
    if code not in LANGUAGES and code != PSEUDO:
        raise ValueError(f"Lineup does not speak {code!r}: one of {', '.join(LANGUAGES)}")
    _language.set(code)


def current_language() -> str:
    return _language.get()


@contextmanager
def using_language(code: str) -> Iterator[None]:
    """This context's language is `code` inside the block (a report written in another)."""
    if code not in LANGUAGES and code != PSEUDO:
        raise ValueError(f"Lineup does not speak {code!r}: one of {', '.join(LANGUAGES)}")
    token = _language.set(code)
    try:
        yield
    finally:
        _language.reset(token)


def _po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalog(code: str) -> bytes:
    """The .mo of language `code`, compiled from its .po when the .mo is missing or older
    (and written beside it, atomically, when the folder can be written)."""
    po = _po_path(code)
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime >= po.stat().st_mtime:
            return mo.read_bytes()
    except FileNotFoundError:
        pass
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    data = buffer.getvalue()
    partial = mo.with_name(f".{mo.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_bytes(data)
        os.replace(partial, mo)  # another process compiling at once writes the same bytes
    except OSError:
        partial.unlink(missing_ok=True)  # a read-only install: kept in memory alone
    return data


class _Pseudo(gettext.NullTranslations):
    """Each message the Russian catalog holds, wrapped in markers; any other unmarked."""

    def __init__(self, known: set[str]) -> None:
        super().__init__()
        self.known = known

    def _wrap(self, message: str) -> str:
        return f"{PSEUDO_OPEN}{message}{PSEUDO_CLOSE}" if message in self.known else message

    def gettext(self, message: str) -> str:
        return self._wrap(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self._wrap(msgid1 if n == 1 else msgid2)


def _translations(code: str) -> gettext.NullTranslations:
    with _lock:
        found = _loaded.get(code)
        if found is None:
            if code == PSEUDO:
                with _po_path("ru").open("rb") as handle:
                    catalog = read_po(handle, locale="ru", domain=DOMAIN)
                known: set[str] = set()
                for message in catalog:
                    if isinstance(message.id, tuple):
                        known.update(str(text) for text in message.id)
                    elif message.id:
                        known.add(str(message.id))
                found = _Pseudo(known)
            else:
                found = gettext.GNUTranslations(io.BytesIO(compile_catalog(code)))
            _loaded[code] = found
        return found


def _(message: str) -> str:
    """`message` in the current language (itself in English)."""
    code = _language.get()
    if code == ENGLISH:
        return message
    return _translations(code).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a message for `count` in the current language (Russian has three)."""
    code = _language.get()
    if code == ENGLISH:
        return singular if count == 1 else plural
    return _translations(code).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """A message marked for the catalog and translated later, where it is shown."""
    return message


def _babel_locale() -> str:
    code = _language.get()
    return "ru" if code == PSEUDO else code


def number(value: float, decimals: int = 0) -> str:
    """`value` with `decimals` decimals in the current language: 1234.5 stays "1234.5" in
    English (the format it always had), is "1 234,5" in Russian."""
    if _language.get() == ENGLISH:
        return f"{value:.{decimals}f}"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_babel_locale())


def grouped(value: float, decimals: int = 0) -> str:
    """A count or size with its thousands grouped, as Lineup's messages always wrote them:
    "20,000" and "1,024.5" in English, "20 000" and "1 024,5" in Russian."""
    if _language.get() == ENGLISH:
        return f"{value:,.{decimals}f}"
    return number(value, decimals)


def percent(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage: 0.125 is "12.5%" in English, "12,5 %" in Russian."""
    if _language.get() == ENGLISH:
        return f"{fraction * 100:.{decimals}f}%"
    locale = Locale.parse(_babel_locale())
    pattern = locale.percent_formats[None].pattern  # where the locale puts % ("#,##0\xa0%")
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_percent(fraction, format=pattern, locale=locale)


def percentage(value: float, decimals: int = 0) -> str:
    """A value already in percent: 12.5 is "12.5%" in English, "12,5 %" in Russian (the
    locale's percent pattern, the value not scaled again)."""
    if _language.get() == ENGLISH:
        return f"{value:.{decimals}f}%"
    locale = Locale.parse(_babel_locale())
    pattern = locale.percent_formats[None].pattern
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_percent(Decimal(str(value)).scaleb(-2), format=pattern, locale=locale)


def significant(value: float, digits: int = 3, sign: bool = False) -> str:
    """`value` to `digits` significant digits, as Python's "g" writes it ("0.0123", "1.23e+04",
    "+0.5" with `sign`), with the locale's decimal sign: "0,0123" in Russian."""
    text = format(value, f"{'+' if sign else ''}.{digits}g")
    if _language.get() == ENGLISH:
        return text
    return text.replace(".", get_decimal_symbol(_babel_locale()))


def separators() -> str | None:
    """The locale's decimal sign and thousands separator, as Plotly's `layout.separators` takes
    them (",\u00a0" in Russian); None in English, where a chart keeps Plotly's own ".,"."""
    if _language.get() == ENGLISH:
        return None
    locale = _babel_locale()
    return get_decimal_symbol(locale) + get_group_symbol(locale)


def day(value: date) -> str:
    """A date: 2026-12-07 in English (ISO, as always), 7 дек. 2026 г. in Russian (CLDR's
    medium date)."""
    if _language.get() == ENGLISH:
        return value.isoformat()
    return _babel_date(value, format="medium", locale=_babel_locale())


def moment(value: datetime) -> str:
    """A date and time to the minute: 2026-12-07 18:50 in English, 7 дек. 2026 г., 18:50 in
    Russian."""
    if _language.get() == ENGLISH:
        return value.strftime("%Y-%m-%d %H:%M")
    return f"{_babel_date(value, format='medium', locale=_babel_locale())}, {value:%H:%M}"


def said(
    english: str,
    template: str | None = None,
    values: Mapping[str, object] | None = None,
    plural: str | None = None,
) -> str:
    """A message made elsewhere (a backend's error or health, which keep their English template
    and its values beside the English text; an answer's stored error) in the current language:
    the template translated and filled, or the English text when it has no template, the
    catalog does not hold it, or the values do not fill it (a stored row is not trusted).

    A value that is itself a message (a Message, a backend's Phrase) is said too; `plural` is
    the plural template of a message counted by its value `count` (Message.ngettext)."""
    if template is None or _language.get() == ENGLISH:
        return english
    if template == english and plural is None:
        return _(template)  # a constant message: its braces, if any, are its own text
    filled = {name: _said_value(value) for name, value in (values or {}).items()}
    try:
        if plural is not None:
            count = filled.get("count")
            if not isinstance(count, int) or isinstance(count, bool):
                return english
            return ngettext(template, plural, count).format(**filled)
        return _(template).format(**filled)
    except (KeyError, IndexError, ValueError, AttributeError):
        return english


def _said_value(value: object) -> object:
    """A value of a message, a message itself (Message, backends.base.Phrase) said."""
    if isinstance(value, Message):
        return said(value.english, value.template, value.values, value.plural)
    template, values = getattr(value, "template", None), getattr(value, "values", None)
    if isinstance(template, str) and isinstance(values, Mapping):  # a backend's Phrase
        return said(str(value), template, values)
    return value


def said_stored(english: str | None, stored: Mapping[str, Any] | None) -> str | None:
    """A stored error (`generations.error` and `error_said`, Message.stored()) in the current
    language; a row stored without a template (an old one) shows its English text."""
    if english is None or not stored:
        return english
    plural = stored.get("plural")
    plural = plural if isinstance(plural, str) else None
    values = stored.get("values")
    if not isinstance(values, Mapping):
        return said(english, stored.get("template"), None, plural)
    # A value that is itself a stored message (an STT's error inside a clip's) is said too.
    values = {
        name: said_stored(value.get("english"), value) or ""
        if isinstance(value, Mapping)
        else value
        for name, value in values.items()
    }
    return said(english, stored.get("template"), values, plural)


# The value types a stored message keeps as they are (JSON's); any other is kept as its text.
_PLAIN = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Message:
    """A message in English with the template and values it was made from, so it is stored in
    English (what `--json` and exports give) and said later in any language (`said_stored`).

    `Message.of(N_("... {name} ..."), name=...)` for Lineup's own stored messages;
    `Message.ngettext(singular, plural, count, ...)` for one counted by its value `count`;
    `Message.of_error(exc)` keeps a BackendError's template and values (backends.base);
    `Message(text)` is a text with no template (an error made elsewhere), said as it is.
    Templates have no format specs: a number is formatted into its value's text, so a value
    stored as JSON fills the template as the original did. A value may be a message itself
    (a Message, or a backend's Phrase): it is stored with its own template and said with it."""

    english: str
    template: str | None = None
    values: Mapping[str, object] | None = None
    plural: str | None = None

    @classmethod
    def of(cls, template: str, **values: object) -> Message:
        return cls(template.format(**values), template, values)

    @classmethod
    def ngettext(cls, singular: str, plural: str, count: int, **values: object) -> Message:
        """The form for `count` (the value `count`), said in the language's form for it."""
        english = (singular if count == 1 else plural).format(count=count, **values)
        return cls(english, singular, {"count": count, **values}, plural)

    @classmethod
    def of_error(cls, error: BaseException, english: str | None = None) -> Message:
        """The error's message (`english`, else its text) with the template it keeps, if any."""
        template = getattr(error, "template", None)
        values = getattr(error, "values", None)
        text = str(error) if english is None else english
        if not isinstance(template, str) or not isinstance(values, Mapping):
            return cls(text)
        return cls(text, template, values)

    def stored(self) -> dict[str, Any] | None:
        """{"template": ..., "values": {...}} as a JSON column holds it (and "plural" for a
        counted one); None without one."""
        if self.template is None:
            return None
        stored = {"template": self.template, "values": _stored_values(self.values)}
        return stored if self.plural is None else stored | {"plural": self.plural}

    def __str__(self) -> str:
        return self.english


def _stored_values(values: Mapping[str, object] | None) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for name, value in (values or {}).items():
        if not isinstance(value, (Message, *_PLAIN)):
            template, nested = getattr(value, "template", None), getattr(value, "values", None)
            if isinstance(template, str) and isinstance(nested, Mapping):  # a backend's Phrase
                value = Message(str(value), template, nested)
        if isinstance(value, Message):
            # Said in its own language where shown; its English text when it has no template.
            stored[str(name)] = {"english": value.english, **(value.stored() or {})}
        else:
            stored[str(name)] = value if isinstance(value, _PLAIN) else str(value)
    return stored


def error_text(error: BaseException) -> str:
    """An error's message in the current language (`said` of its template, if it keeps one)."""
    return said(str(error), getattr(error, "template", None), getattr(error, "values", None))


# The states a study or an answer is in (lineup.core.states, lineup.store), as shown.
_STATE_WORDS = {
    "running": N_("running"),
    "paused": N_("paused"),
    "cancelled": N_("cancelled"),
    "done": N_("done"),
    "ok": N_("ok"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "interrupted": N_("interrupted"),
}


def state_word(state: str) -> str:
    """A study's or an answer's state in the current language (the code itself if unknown)."""
    return _(_STATE_WORDS[state]) if state in _STATE_WORDS else state
