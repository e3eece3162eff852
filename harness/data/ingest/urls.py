"""Keys for joining a digest item to its article: a normalised URL, and a title similarity.

URL: scheme, a leading `www.`/`m.`/`wap.`/`mobile.` host label, default ports, the fragment, a
trailing slash and tracking parameters (`utm_*`, `spm`, `from`, ...) are dropped; other query
parameters (`?p=123`, `?id=...`) are kept, sorted; the path is percent-decoded and the host lower-cased.

Title: Dice coefficient of the character bigrams of both titles after NFKC, lower-casing and dropping
everything but letters and digits (emoji, punctuation and spaces do not count).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

_MOBILE_OR_WWW = re.compile(r"^(?:www\d?|m|wap|mobile)\.")
# Query parameters that say where a click came from, not which page it is.
TRACKING_PARAMS = frozenset(
    {
        "spm", "from", "source", "ref", "ref_src", "referrer", "share_source", "share_medium",
        "share_from", "share_token", "fbclid", "gclid", "yclid", "msclkid", "igshid", "mc_cid",
        "mc_eid", "chksm", "scene", "sessionid", "clicktime", "enterid", "wechat_redirect",
    }
)  # fmt: skip
_URL_IN_TEXT = re.compile(r"https?://[^\s<>()\[\]\"'，。；、）】]+", re.IGNORECASE)


def url_key(url: str | None) -> str | None:
    """The normalised form of a URL, or None when it is not an http(s) URL."""
    if not url:
        return None
    text = url.strip().strip("<>")
    if "://" not in text and re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", text, re.IGNORECASE):
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = _MOBILE_OR_WWW.sub("", parts.hostname.lower().rstrip("."))
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = unquote(parts.path).rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    )
    return host + path + (f"?{urlencode(query)}" if query else "")


def first_url(text: str) -> str | None:
    """The first http(s) URL in a line: the target of a Markdown link `[text](url)` if there is one."""
    link = re.search(r"\[[^\]]*\]\(\s*<?(https?://[^)\s>]+)>?\s*\)", text, re.IGNORECASE)
    if link:
        return link[1]
    found = _URL_IN_TEXT.search(text)
    return found[0].rstrip(".,;") if found else None


def title_key(title: str) -> str:
    """Letters and digits of a title, NFKC and lower-cased."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", title).lower() if ch.isalnum())


def bigrams(key: str) -> frozenset[str]:
    """Character bigrams of a title key (its single characters when it has only one)."""
    if len(key) < 2:
        return frozenset({key}) if key else frozenset()
    return frozenset(key[i : i + 2] for i in range(len(key) - 1))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def title_similarity(a: str, b: str) -> float:
    return dice(bigrams(title_key(a)), bigrams(title_key(b)))
