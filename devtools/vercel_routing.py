"""vercel.json's routing table, resolved the way Vercel resolves it (for the local dev server).

The table is read from vercel.json and never restated here. A path is resolved in Vercel's
order: `redirects`, then the filesystem (a file under `public/`, the local media files standing
in for Vercel Blob, a function at `/api/<name>`), then `rewrites` in order; whatever is left is
not found. A rewrite passes its named parameters on in the query string, exactly as on Vercel.

Patterns follow the subset of path-to-regexp that Vercel compiles with `strict` and `sensitive`:
literal segments, `:name`, `:name?`, `:name*` and `:name+`, each a whole segment (so `/x/:path*`
matches `/x` and `/x/a/b` but not `/x/`). Anything else is refused with `RouteSyntaxError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lib.conf import REPO_ROOT

VERCEL_JSON = REPO_ROOT / "vercel.json"
PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)([?*+]?)")
SEGMENT = r"[^/]+?"  # path-to-regexp's default for a parameter with the "/" delimiter
PATTERN_SYNTAX = set(":*+?()[]{}\\")
# vercel.json keys that change routing in ways this server does not reproduce.
UNSUPPORTED_KEYS = ("routes", "cleanUrls", "trailingSlash", "builds")
UNSUPPORTED_RULE_KEYS = ("has", "missing", "locale")


class RouteSyntaxError(ValueError):
    """vercel.json uses routing syntax the dev server cannot reproduce faithfully."""


def compile_source(source: str) -> re.Pattern[str]:
    """Compile a vercel.json `source` to a regular expression with one group per parameter."""
    if not source.startswith("/"):
        raise RouteSyntaxError(f"{source!r}: a source must start with '/'")
    regex = ""
    for segment in source.split("/")[1:]:
        param = PARAM.fullmatch(segment)
        if param is None:
            if PATTERN_SYNTAX & set(segment):
                raise RouteSyntaxError(
                    f"{source!r}: segment {segment!r} is not supported by the dev server "
                    "(use literal segments and whole-segment :name, :name?, :name*, :name+)"
                )
            regex += "/" + re.escape(segment)
            continue
        name, modifier = param.groups()
        if f"(?P<{name}>" in regex:
            raise RouteSyntaxError(f"{source!r}: parameter :{name} appears twice")
        repeated = f"{SEGMENT}(?:/{SEGMENT})*"
        regex += {
            "": f"/(?P<{name}>{SEGMENT})",
            "?": f"(?:/(?P<{name}>{SEGMENT}))?",
            "*": f"(?:/(?P<{name}>{repeated}))?",
            "+": f"/(?P<{name}>{repeated})",
        }[modifier]
    return re.compile(f"^{regex}$")


def compile_rule_source(entry: dict[str, Any]) -> re.Pattern[str]:
    """The `source` of a redirect, rewrite or header rule; conditions are not supported."""
    unsupported = [key for key in UNSUPPORTED_RULE_KEYS if key in entry]
    if unsupported:
        raise RouteSyntaxError(f"{entry['source']!r}: {unsupported} is not supported")
    return compile_source(entry["source"])


def fill_path(template: str, params: dict[str, str]) -> tuple[str, set[str]]:
    """Put parameter values into a destination path; return it and the parameters it used."""
    used: set[str] = set()
    segments = []
    for segment in template.split("/"):
        param = PARAM.fullmatch(segment)
        if param is None:
            segments.append(segment)
            continue
        used.add(param[1])
        if params.get(param[1]):  # an absent optional parameter drops its segment
            segments.append(params[param[1]])
    return "/".join(segments) or "/", used


@dataclass(frozen=True, slots=True)
class Rule:
    source: str
    pattern: re.Pattern[str]
    destination: str
    status: int | None = None  # redirects only

    @classmethod
    def from_config(cls, entry: dict[str, Any], *, redirect: bool) -> Rule:
        pattern = compile_rule_source(entry)
        destination = entry["destination"]
        parts = urlsplit(destination)
        if not redirect and (parts.scheme or parts.netloc):
            raise RouteSyntaxError(f"{destination!r}: rewrites to other hosts are not supported")
        unknown = {name for name, _ in PARAM.findall(parts.path)} - set(pattern.groupindex)
        if unknown and not parts.netloc:
            raise RouteSyntaxError(f"{destination!r} uses parameters not in the source: {unknown}")
        status = None
        if redirect:
            permanent = entry.get("permanent")
            status = (308 if permanent else 307) if permanent is not None else None
            status = status or entry.get("statusCode") or 308
        return cls(entry["source"], pattern, destination, status)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {name: value or "" for name, value in found.groupdict().items()}

    def target(self, params: dict[str, str], *, redirect: bool) -> tuple[str, list[tuple]]:
        """The destination path and its query pairs, as Vercel's routing-utils builds them.

        A rewrite whose destination path uses none of the parameters gets all of them added to
        the query string; a redirect only gets the ones its destination names.
        """
        parts = urlsplit(self.destination)
        path, used = fill_path(parts.path, params)
        query = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            param = PARAM.fullmatch(value)
            query.append((key, params.get(param[1], "") if param else value))
        if not redirect and not used:
            named = {key for key, _ in query}
            query += [(name, value) for name, value in params.items() if name not in named]
        if parts.netloc:
            path = f"{parts.scheme}://{parts.netloc}{path}"
        return path, query


@dataclass(frozen=True, slots=True)
class Match:
    """Where a path goes: `kind` is redirect, static, media, function or not_found.

    `params` are the rewrite's named parameters; `query` the pairs added to the query string;
    `location` the redirect target, or the file of a static or media match.
    """

    kind: str
    function: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    status: int | None = None
    query: tuple[tuple[str, str], ...] = ()


NOT_FOUND = Match("not_found")


def safe_file(root: Path, relative: str, *, index: bool = False) -> Path | None:
    """`root/relative` if it is a file inside `root`, never outside it; with `index`, a
    directory stands for its `index.html`."""
    if "\x00" in relative or any(part in ("..", ".") for part in relative.split("/")):
        return None
    root = root.resolve()
    try:
        candidate = (root / relative.lstrip("/")).resolve()
        if index and candidate.is_dir():
            candidate = candidate / "index.html"
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    except OSError:  # a name the file system cannot hold (too long) is no file of ours
        pass
    return None


@dataclass(frozen=True, slots=True)
class Router:
    functions: dict[str, str]  # public path (/api/health) -> function name (health)
    redirects: tuple[Rule, ...]
    rewrites: tuple[Rule, ...]
    public_dir: Path | None
    media_prefix: str | None
    headers: tuple[tuple[re.Pattern[str], tuple[tuple[str, str], ...]], ...] = ()

    def headers_for(self, path: str) -> dict[str, str]:
        """The `headers` of vercel.json for a path; a function's own headers take precedence."""
        found: dict[str, str] = {}
        for pattern, pairs in self.headers:
            if pattern.match(path):
                found.update(pairs)
        return found

    def resolve(self, path: str) -> Match:
        for rule in self.redirects:
            params = rule.match(path)
            if params is not None:
                target, query = rule.target(params, redirect=True)
                return Match("redirect", None, params, target, rule.status, tuple(query))
        found = self.filesystem(path)
        if found is not None:
            return found
        for rule in self.rewrites:
            params = rule.match(path)
            if params is None:
                continue
            target, query = rule.target(params, redirect=False)
            found = self.filesystem(target)
            if found is None:
                return NOT_FOUND
            return Match(found.kind, found.function, params, found.location, None, tuple(query))
        return NOT_FOUND

    def filesystem(self, path: str) -> Match | None:
        if self.public_dir is not None and (file := safe_file(self.public_dir, path, index=True)):
            return Match("static", location=str(file))
        if self.media_prefix and path.startswith(self.media_prefix):
            return Match("media", location=path.removeprefix(self.media_prefix))
        if path in self.functions:
            return Match("function", function=self.functions[path])
        return None


def discover_functions(root: Path, configured: Iterable[str]) -> dict[str, str]:
    """Public path -> function name. Vercel makes a function of every `api/**/*.py` whose
    name does not start with `_` or `.`; a literal `functions` key that matches no file fails
    the build, so it fails here too."""
    api_dir = root / "api"
    functions = {}
    for file in sorted(api_dir.rglob("*.py")):
        name = file.relative_to(api_dir).with_suffix("").as_posix()
        if not any(part.startswith(("_", ".")) for part in name.split("/")):
            functions[f"/api/{name}"] = name
    for key in configured:
        if not set("*?[{") & set(key) and not (root / key).is_file():
            raise RouteSyntaxError(f"vercel.json `functions` lists {key}, which does not exist")
    return functions


def functions_key_regex(key: str) -> re.Pattern[str]:
    """A vercel.json `functions` key as the CLI's minimatch reads it: `**/` any directories
    (none included), `*` and `?` within one path segment."""
    parts = re.split(r"(\*\*/|\*|\?)", key)
    wildcards = {"**/": "(?:[^/]+/)*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts) + r"\Z")


def function_settings(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The `functions` entry applied to `api/<name>.py`: the first key naming or matching it,
    as Vercel picks it (so specific entries come before a catch-all `api/**/*.py`)."""
    path = f"api/{name}.py"
    for key, settings in config.get("functions", {}).items():
        if key == path or functions_key_regex(key).match(path):
            return settings
    return None


def build_router(
    vercel_json_path: Path | str = VERCEL_JSON, *, media_url: str | None = None
) -> Router:
    """The routing table of vercel.json; `media_url` (a local path such as `/media/`) adds the
    stand-in for the Blob store's public URLs."""
    vercel_json_path = Path(vercel_json_path)
    config = json.loads(vercel_json_path.read_text(encoding="utf-8"))
    root = vercel_json_path.parent
    present = [key for key in UNSUPPORTED_KEYS if config.get(key) not in (None, False)]
    if present:
        raise RouteSyntaxError(f"vercel.json uses {present}, which the dev server does not support")
    public_dir = root / (config.get("outputDirectory") or "public")
    media_prefix = (
        media_url if media_url and media_url.startswith("/") and media_url != "/" else None
    )
    return Router(
        functions=discover_functions(root, config.get("functions", {})),
        redirects=tuple(Rule.from_config(r, redirect=True) for r in config.get("redirects", [])),
        rewrites=tuple(Rule.from_config(r, redirect=False) for r in config.get("rewrites", [])),
        public_dir=public_dir if public_dir.is_dir() else None,
        media_prefix=media_prefix,
        headers=tuple(header_rule(entry) for entry in config.get("headers", [])),
    )


def header_rule(entry: dict[str, Any]) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
    pairs = tuple((item["key"], item["value"]) for item in entry["headers"])
    return compile_rule_source(entry), pairs
