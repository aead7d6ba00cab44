"""Server-side printing: the `meta.k8s.io/v1` Table that kube-apiserver answers for
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.

kubectl draws `kubectl get` from these tables, so columns and cells follow the upstream printers
(`pkg/printers/internalversion/printers.go`) cell for cell. The server always prints the wide
columns (priority 1) and kubectl hides them unless `-o wide`. Kinds without a printer get the
generic NAME / CREATED AT table (`apiserver/pkg/registry/rest/table.go`); custom resources get NAME
plus their CRD's additionalPrinterColumns, evaluated with the small JSONPath evaluator below
(`apiextensions-apiserver/.../customresource/tableconvertor`).
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from kubenest.api import errors, schema
from kubenest.api.resources import ResourceInfo

Obj = dict[str, Any]


def now() -> float:
    """The current time in seconds since the epoch; the one clock every age in a table is taken from."""
    return time.time()


# ---------------------------------------------------------------------------------------------
# Small accessors over plain-dict objects


def _get(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]..., or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    """An integer field; Go's zero value (or `default`, the API default) when absent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _name(obj: Obj) -> str:
    return _str(_get(obj, "metadata", "name"))


# ---------------------------------------------------------------------------------------------
# Time: parsing RFC 3339 and kube's duration.HumanDuration

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})"
)
_NS = 1_000_000_000
_MINUTE = 60 * _NS
_HOUR = 60 * _MINUTE
_ZERO_TIME = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC).timestamp()  # Go's time.Time{}


def parse_time(value: Any) -> datetime.datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None if absent or malformed."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.fullmatch(value)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    zone = m.group(8)
    if zone == "Z":
        tz = datetime.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def _epoch(value: Any) -> float | None:
    """Seconds since the epoch of a timestamp field; None for absent, malformed or Go's zero time."""
    t = parse_time(value)
    if t is None or t.timestamp() == _ZERO_TIME:
        return None
    return t.timestamp()


def _go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's `/` on integers."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def human_duration(seconds: float) -> str:
    """kube's duration.HumanDuration: about two or three significant figures ("5m", "3h2m", "2d")."""
    d = int(seconds * _NS)
    secs = _go_div(d, _NS)
    # Up to two seconds into the future is clock skew between machines and reads as "now".
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = d // _MINUTE
    if minutes < 10:
        s = (d // _NS) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = d // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _since(value: Any) -> str:
    """translateTimestampSince: the age of a timestamp, "<unknown>" when it is unset."""
    t = _epoch(value)
    if t is None:
        return "<unknown>"
    return human_duration(now() - t)


def _rfc3339_utc(value: Any) -> str:
    """A timestamp as Go's time.Format(RFC3339) in UTC; unset prints as Go's zero time."""
    t = parse_time(value)
    try:
        u = t.astimezone(datetime.UTC) if t is not None else None
    except OverflowError:
        u = None
    if u is None:
        return "0001-01-01T00:00:00Z"
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


# ---------------------------------------------------------------------------------------------
# Quantities: resource.Quantity.String(), the canonical form kube prints

_QUANTITY = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?")
_BINARY_EXP = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_EXP = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIX = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL_EXP.items()}


def format_quantity(value: Any) -> str:
    """A quantity in kube's canonical form ("1536Mi", "1500m", "2k"); unparsable values as given."""
    if value is None:
        return "<nil>"
    text = str(value).strip()
    m = _QUANTITY.fullmatch(text)
    if not m or not (m.group(2) or m.group(3)):
        return text
    sign, whole, frac, suffix = m.group(1), m.group(2) or "0", m.group(3) or "", m.group(4) or ""
    amount = Fraction(int(whole + frac), 10 ** len(frac))
    if suffix in _BINARY_EXP:
        fmt, amount = "binary", amount * 2 ** _BINARY_EXP[suffix]
    elif suffix[:1] in ("e", "E"):
        fmt, amount = "exponent", amount * Fraction(10) ** int(suffix[1:])
    else:
        fmt, amount = "decimal", amount * Fraction(10) ** _DECIMAL_EXP[suffix]
    # Anything finer than a nano rounds up (away from zero): asking for a little gets a little.
    amount = Fraction(math.ceil(amount * _NS), _NS)
    if amount == 0:
        return "0"
    prefix = "-" if sign == "-" else ""
    if fmt == "binary" and amount >= 1024 and amount.denominator == 1:
        n, exp = int(amount), 0
        while n % 1024 == 0 and exp < 6:
            n, exp = n // 1024, exp + 1
        return f"{prefix}{n}{_BINARY_SUFFIX[exp]}"
    # Decimal forms: strip factors of ten, then step the exponent down to a multiple of three.
    n, exp = int(amount * _NS), -9
    while n % 10 == 0:
        n, exp = n // 10, exp + 1
    shift = exp % 3
    n, exp = n * 10**shift, exp - shift
    if fmt == "exponent":
        return f"{prefix}{n}" + (f"e{exp}" if exp else "")
    # Go prints no suffix at all for a decimal exponent past "E"; so do we.
    return f"{prefix}{n}{_DECIMAL_SUFFIX.get(exp, '')}"


# ---------------------------------------------------------------------------------------------
# Labels and selectors as kube prints them


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty."""
    text = ",".join(f"{k}={v}" for k, v in sorted(_dict(labels).items()))
    return text or "<none>"


def _selector_string(selector: Any) -> str:
    """LabelSelectorAsSelector(...).String(): requirements sorted by key; "" for none or everything."""
    if not isinstance(selector, dict):
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in _dict(selector.get("matchLabels")).items():
        reqs.append((key, f"{key}={value}"))
    for expr in _list(selector.get("matchExpressions")):
        key, op = _str(_get(expr, "key")), _get(expr, "operator")
        values = ",".join(sorted(str(v) for v in _list(_get(expr, "values"))))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<error>"
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def _format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: the selector string, "<none>" when it selects nothing or everything."""
    return _selector_string(selector) or "<none>"


def _containers(pod_spec: Any) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each comma-joined."""
    containers = _list(_get(pod_spec, "containers"))
    names = ",".join(_str(_get(c, "name")) for c in containers)
    images = ",".join(_str(_get(c, "image")) for c in containers)
    return names, images


def _join_more(items: list[str], count: int, limit: int, empty: str = "<unset>") -> str:
    """listWithMoreString: the first `limit` items, then "+ N more..." for the rest."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty


# ---------------------------------------------------------------------------------------------
# JSONPath: the subset kubectl and CRD printer columns use


class JSONPathError(ValueError):
    """A JSONPath that does not parse, or that cannot be applied to the object."""


class _Step(NamedTuple):
    op: str  # field, wild, recursive, index, filter
    arg: Any = None


_COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")


def parse_jsonpath(expr: str) -> list[_Step]:
    """Parse a path such as `.status.conditions[?(@.type=="Ready")].status` (braces optional)."""
    s = expr.strip()
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    if s.startswith("$"):
        s = s[1:]
    steps: list[_Step] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "." and s.startswith("..", i):
            steps.append(_Step("recursive"))
            i += 2
            if i < len(s) and s[i] not in ".[":
                name, i = _read_name(s, i)
                steps.append(_Step("wild") if name == "*" else _Step("field", name))
        elif ch == ".":
            name, i = _read_name(s, i + 1)
            if name == "*":
                steps.append(_Step("wild"))
            elif name:
                steps.append(_Step("field", name))
        elif ch == "[":
            end = _closing_bracket(s, i)
            steps.append(_bracket(s[i + 1 : end].strip()))
            i = end + 1
        elif i == 0:
            name, i = _read_name(s, 0)
            steps.append(_Step("field", name))
        else:
            raise JSONPathError(f"unrecognized character in action: {ch!r}")
    return steps


def _read_name(s: str, i: int) -> tuple[str, int]:
    """A field name up to the next `.` or `[`; `\\.` is a literal dot (as in annotation keys)."""
    out: list[str] = []
    while i < len(s) and s[i] not in ".[":
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out), i


def _closing_bracket(s: str, start: int) -> int:
    depth, quote = 0, ""
    for i in range(start, len(s)):
        ch = s[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JSONPathError("unclosed array expect ]")


def _split_outside_quotes(s: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    quote = ""
    for ch in s:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _bracket(body: str) -> _Step:
    if body.startswith("?"):
        inner = body[1:].strip()
        if not (inner.startswith("(") and inner.endswith(")")):
            raise JSONPathError(f"invalid filter {body!r}")
        return _filter(inner[1:-1].strip())
    if body == "*":
        return _Step("index", [slice(None)])
    parts = _split_outside_quotes(body, ",")
    if parts and all(p[:1] in ("'", '"') for p in parts):
        return _Step("field", [p[1:-1] for p in parts]) if len(parts) > 1 else _Step("field", parts[0][1:-1])
    specs: list[int | slice] = []
    for part in parts:
        try:
            if ":" in part:
                bounds = [int(b) if b.strip() else None for b in part.split(":")]
                if len(bounds) > 3:
                    raise ValueError(part)
                specs.append(slice(*bounds))
            else:
                specs.append(int(part))
        except ValueError:
            raise JSONPathError(f"invalid array index {part!r}") from None
    return _Step("index", specs)


def _filter(expr: str) -> _Step:
    quote = ""
    for i, ch in enumerate(expr):
        if quote:
            quote = "" if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
            continue
        for op in _COMPARATORS:
            if expr.startswith(op, i):
                left, right = expr[:i].strip(), expr[i + len(op) :].strip()
                return _Step("filter", (_operand(left), op, _operand(right)))
    return _Step("filter", (_operand(expr), "exists", None))


def _operand(text: str) -> tuple[str, Any]:
    """A filter operand: ("path", steps relative to @) or ("literal", value)."""
    if text.startswith("@"):
        return "path", parse_jsonpath(text[1:])
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return "literal", text[1:-1]
    if text in ("true", "false"):
        return "literal", text == "true"
    try:
        return "literal", float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise JSONPathError(f"unrecognized filter operand {text!r}") from None


def jsonpath_find(expr: str | list[_Step], obj: Any) -> list[Any]:
    """All values `expr` selects in `obj`, in document order; missing keys select nothing."""
    steps = parse_jsonpath(expr) if isinstance(expr, str) else expr
    values = [obj]
    for step in steps:
        values = _apply(step, values)
    return values


def _apply(step: _Step, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if step.op == "field":
            names = step.arg if isinstance(step.arg, list) else [step.arg]
            if isinstance(v, dict):
                out.extend(v[n] for n in names if n in v)
        elif step.op == "wild":
            if isinstance(v, dict):
                out.extend(v[k] for k in sorted(v))
            elif isinstance(v, list):
                out.extend(v)
        elif step.op == "recursive":
            out.extend(_descendants(v))
        elif step.op == "index":
            out.extend(_index(v, step.arg))
        elif step.op == "filter":
            out.extend(_filtered(v, step.arg))
    return out


def _descendants(v: Any) -> Iterable[Any]:
    children = [v[k] for k in sorted(v)] if isinstance(v, dict) else v if isinstance(v, list) else []
    if not children:
        return
    yield v
    for child in children:
        yield from _descendants(child)


def _index(v: Any, specs: list[int | slice]) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise JSONPathError(f"{type(v).__name__} is not array or slice")
    out: list[Any] = []
    for spec in specs:
        if isinstance(spec, slice):
            if spec.step is not None and spec.step <= 0:
                raise JSONPathError("step must be > 0")
            out.extend(v[spec])
        else:
            i = spec + len(v) if spec < 0 else spec
            if not 0 <= i < len(v):
                raise JSONPathError(f"array index out of bounds: index {spec}, length {len(v)}")
            out.append(v[i])
    return out


def _filtered(v: Any, filt: tuple[Any, str, Any]) -> list[Any]:
    if not isinstance(v, list):
        raise JSONPathError(f"{type(v).__name__} is not array or slice and cannot be filtered")
    left, op, right = filt
    out = []
    for item in v:
        lefts = jsonpath_find(left[1], item)
        if op == "exists":
            if lefts:
                out.append(item)
            continue
        if not lefts:
            continue
        if len(lefts) > 1:
            raise JSONPathError("can only compare one element at a time")
        if right[0] == "path":
            rights = jsonpath_find(right[1], item)
            if len(rights) != 1:
                raise JSONPathError("can only compare one element at a time")
            rvalue = rights[0]
        else:
            rvalue = right[1]
        if _compare(lefts[0], op, rvalue):
            out.append(item)
    return out


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(a: Any, op: str, b: Any) -> bool:
    """Go text/template comparisons: same basic kinds only, ordering not defined on booleans."""
    ka, kb = _kind_of(a), _kind_of(b)
    if ka != kb or ka == "other" or (ka == "bool" and op not in ("==", "!=")):
        raise JSONPathError("incompatible types for comparison")
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _go_float(f: float) -> str:
    """fmt.Sprint of a float64: shortest digits, exponent form outside 1e-4 <= |f| < 1e6."""
    if f == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # position of the decimal point in ds
    neg = "-" if sign else ""
    exp = point - 1
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{neg}{ds}{'0' * (point - len(ds))}"
    return f"{neg}{ds[:point]}.{ds[point:]}"


def _go_json(value: Any) -> str:
    """encoding/json.Marshal: compact, keys sorted, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _jsonpath_text(value: Any) -> str | None:
    """How client-go's JSONPath prints one result: objects and lists as JSON, scalars as Go prints them."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        return _go_json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Column definitions


class _Doc(NamedTuple):
    """A column description taken from an API field's documentation, as kube takes SwaggerDoc()."""

    definition: str
    field: str


def _d(definition: str, field: str) -> _Doc:
    prefix = "io.k8s.apimachinery.pkg.apis." if definition.startswith("meta.") else "io.k8s.api."
    return _Doc(prefix + definition, field)


class _Col(NamedTuple):
    name: str
    type: str
    description: str | _Doc
    priority: int = 0
    format: str = ""


@functools.cache
def _doc_text(doc: _Doc) -> str:
    defs = schema.load(schema.DEFAULT_VERSION).defs
    prop = _get(defs.get(doc.definition), "properties", doc.field)
    return _str(_get(prop, "description"))


def _column(col: _Col) -> dict[str, Any]:
    desc = col.description if isinstance(col.description, str) else _doc_text(col.description)
    return {"name": col.name, "type": col.type, "format": col.format, "description": desc, "priority": col.priority}


_NAME = _Col("Name", "string", _d("meta.v1.ObjectMeta", "name"), 0, "name")
_AGE = _Col("Age", "string", _d("meta.v1.ObjectMeta", "creationTimestamp"))
_CONTAINERS = _Col("Containers", "string", "Names of each container in the template.", 1)
_IMAGES = _Col("Images", "string", "Images referenced by each container in the template.", 1)
_CREATED_AT = _Col("Created At", "date", _d("meta.v1.ObjectMeta", "creationTimestamp"))


def _c(name: str, type_: str, description: str | _Doc, priority: int = 0) -> _Col:
    return _Col(name, type_, description, priority)


Cells = list[Any]


class _Printer(NamedTuple):
    columns: tuple[_Col, ...]
    cells: Callable[[Obj], Cells]


# ---------------------------------------------------------------------------------------------
# Printers for built-in kinds. Each returns the cells of one row, wide columns included.


def _is_sidecar(container: Any) -> bool:
    return _get(container, "restartPolicy") == "Always"


def _condition_true(conditions: Any, type_: str) -> bool:
    """The status of the first condition of this type is True."""
    for cond in _list(conditions):
        if _get(cond, "type") == type_:
            return bool(_get(cond, "status") == "True")
    return False


def _later(current: float | None, candidate: Any) -> float | None:
    t = _epoch(candidate)
    if t is not None and (current is None or t > current):
        return t
    return current


def _terminated_reason(term: dict[str, Any], prefix: str) -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if _int(term.get("signal")):
        return f"{prefix}Signal:{_int(term.get('signal'))}"
    return f"{prefix}ExitCode:{_int(term.get('exitCode'))}"


def _pod_cells(pod: Obj) -> Cells:
    spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
    init_specs = _list(spec.get("initContainers"))
    by_name = {_get(c, "name"): c for c in init_specs}
    total = len(_list(spec.get("containers"))) + sum(1 for c in init_specs if _is_sidecar(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None
    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for cond in _list(status.get("conditions")):
        if _get(cond, "type") == "PodScheduled" and _get(cond, "reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(_list(status.get("initContainerStatuses"))):
        restarts += _int(_get(cs, "restartCount"))
        finished = _get(cs, "lastState", "terminated", "finishedAt")
        last_restart = _later(last_restart, finished)
        sidecar = _is_sidecar(by_name.get(_get(cs, "name")))
        if sidecar:
            sidecar_restarts += _int(_get(cs, "restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        term, waiting = _get(cs, "state", "terminated"), _get(cs, "state", "waiting")
        if isinstance(term, dict) and _int(term.get("exitCode")) == 0:
            continue
        if sidecar and _get(cs, "started") is True:
            if _get(cs, "ready") is True:
                ready += 1
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif isinstance(waiting, dict) and _str(waiting.get("reason")) not in ("", "PodInitializing"):
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(_list(status.get("containerStatuses"))):
            restarts += _int(_get(cs, "restartCount"))
            last_restart = _later(last_restart, _get(cs, "lastState", "terminated", "finishedAt"))
            term, waiting = _get(cs, "state", "terminated"), _get(cs, "state", "waiting")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = waiting["reason"]
            elif isinstance(term, dict):
                reason = _terminated_reason(term, "")
            elif _get(cs, "ready") is True and isinstance(_get(cs, "state", "running"), dict):
                has_running = True
                ready += 1
        # A container still running means the pod is not done, whatever its other containers say.
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status.get("conditions"), "Ready") else "NotReady"

    if _get(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Failed", "Succeeded"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now() - last_restart)} ago)"

    pod_ips = _list(status.get("podIPs"))
    ip = _str(_get(pod_ips[0], "ip")) if pod_ips else ""
    gates = _list(spec.get("readinessGates"))
    gates_text = "<none>"
    if gates:
        conds = _list(status.get("conditions"))
        true = 0
        for gate in gates:
            for cond in conds:
                if _get(cond, "type") == _get(gate, "conditionType"):
                    true += _get(cond, "status") == "True"
                    break
        gates_text = f"{true}/{len(gates)}"
    return [
        _name(pod), f"{ready}/{total}", reason, restarts_text, _since(_get(pod, "metadata", "creationTimestamp")),
        ip or "<none>", _str(spec.get("nodeName")) or "<none>",
        _str(status.get("nominatedNodeName")) or "<none>", gates_text,
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = _get(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


def _age(obj: Obj) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"))


def _pod_template_cells(obj: Obj) -> Cells:
    names, images = _containers(_get(obj, "template", "spec"))
    return [_name(obj), names, images, _format_labels(_get(obj, "template", "metadata", "labels"))]


def _pdb_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    min_available = "N/A" if spec.get("minAvailable") is None else str(spec["minAvailable"])
    max_unavailable = "N/A" if spec.get("maxUnavailable") is None else str(spec["maxUnavailable"])
    return [_name(obj), min_available, max_unavailable, _int(_get(obj, "status", "disruptionsAllowed")), _age(obj)]


def _rc_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _containers(_get(spec, "template", "spec"))
    return [
        _name(obj), _int(spec.get("replicas"), 1), _int(status.get("replicas")), _int(status.get("readyReplicas")),
        _age(obj), names, images, _format_labels(spec.get("selector")),
    ]


def _rs_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _containers(_get(spec, "template", "spec"))
    return [
        _name(obj), _int(spec.get("replicas"), 1), _int(status.get("replicas")), _int(status.get("readyReplicas")),
        _age(obj), names, images, _format_label_selector(spec.get("selector")),
    ]


def _job_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{_int(spec.get('completions'))}"
    elif _int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {_int(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    start, end = _epoch(status.get("startTime")), _epoch(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((now() if end is None else end) - start)
    conditions = status.get("conditions")
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif _get(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers(_get(spec, "template", "spec"))
    return [_name(obj), state, completions, duration, _age(obj), names, images,
            _format_label_selector(spec.get("selector"))]


def _bool_ptr(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "<unset>"


def _cronjob_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    last = "<none>" if status.get("lastScheduleTime") is None else _since(status["lastScheduleTime"])
    job_spec = _get(spec, "jobTemplate", "spec")
    names, images = _containers(_get(job_spec, "template", "spec"))
    timezone = spec.get("timeZone")
    return [
        _name(obj), _str(spec.get("schedule")), timezone if isinstance(timezone, str) else "<none>",
        _bool_ptr(spec.get("suspend")), len(_list(status.get("active"))), last, _age(obj), names, images,
        _format_label_selector(_get(job_spec, "selector")),
    ]


def _load_balancer(status: Any) -> str:
    """The ingress points of a load balancer: IPs or hostnames, deduplicated and sorted."""
    points = set()
    for ing in _list(_get(status, "ingress")):
        if _get(ing, "ip"):
            points.add(ing["ip"])
        elif _get(ing, "hostname"):
            points.add(ing["hostname"])
    return ",".join(sorted(points))


def _service_external_ip(spec: dict[str, Any], status: dict[str, Any]) -> str:
    svc_type = spec.get("type")
    external = [str(ip) for ip in _list(spec.get("externalIPs"))]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        lb = _load_balancer(_get(status, "loadBalancer"))
        if external:
            return ",".join((lb.split(",") if lb else []) + external)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return _str(spec.get("externalName"))
    return "<unknown>"


def _service_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    cluster_ips = _list(spec.get("clusterIPs"))
    ports = []
    for p in _list(spec.get("ports")):
        port, proto, node_port = _int(_get(p, "port")), _str(_get(p, "protocol")), _int(_get(p, "nodePort"))
        ports.append(f"{port}:{node_port}/{proto}" if node_port > 0 else f"{port}/{proto}")
    return [
        _name(obj), _str(spec.get("type")), str(cluster_ips[0]) if cluster_ips else "<none>",
        _service_external_ip(spec, status), ",".join(ports) or "<none>", _age(obj),
        _format_labels(spec.get("selector")),
    ]


def _ingress_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    rules = _list(spec.get("rules"))
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and _get(rule, "host"):
            hosts.append(rule["host"])
    hosts_text = ",".join(hosts) or "*"
    if more:
        hosts_text = f"{hosts_text} + {len(rules) - 3} more..."
    class_name = spec.get("ingressClassName")
    return [
        _name(obj), class_name if isinstance(class_name, str) else "<none>", hosts_text,
        _load_balancer(_get(obj, "status", "loadBalancer")), "80, 443" if _list(spec.get("tls")) else "80", _age(obj),
    ]


def _ingress_class_cells(obj: Obj) -> Cells:
    params = _get(obj, "spec", "parameters")
    text = "<none>"
    if isinstance(params, dict):
        text = _str(params.get("kind"))
        if params.get("apiGroup") is not None:
            text += "." + _str(params.get("apiGroup"))
        text += "/" + _str(params.get("name"))
    return [_name(obj), _str(_get(obj, "spec", "controller")), text, _age(obj)]


def _statefulset_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    names, images = _containers(_get(spec, "template", "spec"))
    ready = _int(_get(obj, "status", "readyReplicas"))
    return [_name(obj), f"{ready}/{_int(spec.get('replicas'), 1)}", _age(obj), names, images]


def _daemonset_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _containers(_get(spec, "template", "spec"))
    return [
        _name(obj), _int(status.get("desiredNumberScheduled")), _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")), _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")), _format_labels(_get(spec, "template", "spec", "nodeSelector")),
        _age(obj), names, images, _format_label_selector(spec.get("selector")),
    ]


def _host_port(ip: str, port: int) -> str:
    """net.JoinHostPort: IPv6 addresses go in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoints_cells(obj: Obj) -> Cells:
    subsets = _list(obj.get("subsets"))
    if not subsets:
        return [_name(obj), "<none>", _age(obj)]
    items: list[str] = []
    count, more, limit = 0, False, 3
    for ss in subsets:
        addresses = [_str(_get(a, "ip")) for a in _list(_get(ss, "addresses"))]
        ports = _list(_get(ss, "ports"))
        # Headless services may have no ports: list bare addresses.
        targets = [addresses] if not ports else [
            [_host_port(ip, _int(_get(p, "port"))) for ip in addresses] for p in ports
        ]
        for group in targets:
            count += len(group)
            for item in group:
                if len(items) == limit:
                    more = True
                    break
                items.append(item)
    text = ",".join(items)
    if more:
        text = f"{text} + {count - limit} more..."
    return [_name(obj), text, _age(obj)]


def _endpointslice_cells(obj: Obj) -> Cells:
    ports = []
    for p in _list(obj.get("ports")):
        port = _get(p, "port")
        ports.append(str(port) if port is not None else _str(_get(p, "name")) if _get(p, "name") is not None else "*")
    addresses = [str(a) for e in _list(obj.get("endpoints")) for a in _list(_get(e, "addresses"))]
    return [
        _name(obj), _str(obj.get("addressType")), _join_more(ports, len(ports), 3),
        _join_more(addresses, len(addresses), 3), _age(obj),
    ]


def _node_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    states: list[str] = []
    for cond in _list(status.get("conditions")):
        if _get(cond, "type") == "Ready":
            # The last Ready condition wins, as kube keys them by type in a map.
            states = ["Ready" if _get(cond, "status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if spec.get("unschedulable") is True:
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in _dict(_get(obj, "metadata", "labels")).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = _dict(status.get("nodeInfo"))

    def address(kind: str) -> str:
        for a in _list(status.get("addresses")):
            if _get(a, "type") == kind:
                return _str(_get(a, "address"))
        return "<none>"

    return [
        _name(obj), ",".join(states), ",".join(sorted(roles)) or "<none>", _age(obj),
        _str(info.get("kubeletVersion")), address("InternalIP"), address("ExternalIP"),
        _str(info.get("osImage")) or "<unknown>", _str(info.get("kernelVersion")) or "<unknown>",
        _str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


def _core_event(obj: Obj) -> Obj:
    """An events.k8s.io/v1 Event in the core v1 shape, as kube converts both to one internal type."""
    if "regarding" not in obj and "note" not in obj and _str(obj.get("apiVersion")) != "events.k8s.io/v1":
        return obj
    return {
        "metadata": obj.get("metadata"),
        "involvedObject": obj.get("regarding"),
        "message": obj.get("note"),
        "source": obj.get("deprecatedSource"),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
        "reportingComponent": obj.get("reportingController"),
        "reportingInstance": obj.get("reportingInstance"),
        "series": obj.get("series"),
        "eventTime": obj.get("eventTime"),
        "type": obj.get("type"),
        "reason": obj.get("reason"),
    }


def _event_cells(obj: Obj) -> Cells:
    ev = _core_event(obj)
    first_set = _epoch(ev.get("firstTimestamp")) is not None
    first = _since(ev.get("firstTimestamp") if first_set else ev.get("eventTime"))
    last = _since(ev.get("lastTimestamp")) if _epoch(ev.get("lastTimestamp")) is not None else first
    count = _int(ev.get("count"))
    series = ev.get("series")
    if isinstance(series, dict):
        last = _since(series.get("lastObservedTime"))
        count = _int(series.get("count"))
    elif count == 0:
        # Singleton events of the new API have no count.
        count = 1
    involved = _dict(ev.get("involvedObject"))
    kind = _str(involved.get("kind")).lower()
    target = f"{kind}/{involved['name']}" if _str(involved.get("name")) else kind
    component = _str(_get(ev, "source", "component")) or _str(ev.get("reportingComponent"))
    host = _str(_get(ev, "source", "host")) or _str(ev.get("reportingInstance"))
    source = f"{component}, {host}" if host else component
    return [
        last, _str(ev.get("type")), _str(ev.get("reason")), target, _str(involved.get("fieldPath")), source,
        _str(ev.get("message")).strip(), first, count, _name(obj),
    ]


def _namespace_cells(obj: Obj) -> Cells:
    return [_name(obj), _str(_get(obj, "status", "phase")), _age(obj)]


def _secret_cells(obj: Obj) -> Cells:
    return [_name(obj), _str(obj.get("type")), len(_dict(obj.get("data"))), _age(obj)]


def _serviceaccount_cells(obj: Obj) -> Cells:
    return [_name(obj), len(_list(obj.get("secrets"))), _age(obj)]


def _access_modes(modes: Any) -> str:
    """GetAccessModesAsString: short names in a fixed order, duplicates dropped."""
    present = set(_list(modes))
    order = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))
    return ",".join(short for mode, short in order if mode in present)


def _storage_class_of(obj: Obj) -> str:
    """The beta annotation still wins over spec.storageClassName, as in kube's helpers."""
    annotations = _dict(_get(obj, "metadata", "annotations"))
    if "volume.beta.kubernetes.io/storage-class" in annotations:
        return _str(annotations["volume.beta.kubernetes.io/storage-class"])
    return _str(_get(obj, "spec", "storageClassName"))


def _storage_quantity(resources: Any) -> str:
    value = _get(resources, "storage")
    return "0" if value is None else format_quantity(value)


def _pv_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    claim = spec.get("claimRef")
    claim_text = f"{_str(_get(claim, 'namespace'))}/{_str(_get(claim, 'name'))}" if isinstance(claim, dict) else ""
    phase = "Terminating" if _get(obj, "metadata", "deletionTimestamp") else _str(status.get("phase"))
    vac = spec.get("volumeAttributesClassName")
    mode = spec.get("volumeMode")
    return [
        _name(obj), _storage_quantity(spec.get("capacity")), _access_modes(spec.get("accessModes")),
        _str(spec.get("persistentVolumeReclaimPolicy")), phase, claim_text, _storage_class_of(obj),
        vac if isinstance(vac, str) else "<unset>", _str(status.get("reason")), _age(obj),
        mode if isinstance(mode, str) else "<unset>",
    ]


def _pvc_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    phase = "Terminating" if _get(obj, "metadata", "deletionTimestamp") else _str(status.get("phase"))
    volume = _str(spec.get("volumeName"))
    capacity = modes = ""
    if volume:
        modes = _access_modes(status.get("accessModes"))
        capacity = _storage_quantity(status.get("capacity"))
    vac = spec.get("volumeAttributesClassName")
    mode = spec.get("volumeMode")
    return [
        _name(obj), phase, volume, capacity, modes, _storage_class_of(obj),
        vac if isinstance(vac, str) else "<unset>", _age(obj), mode if isinstance(mode, str) else "<unset>",
    ]


def _componentstatus_cells(obj: Obj) -> Cells:
    state, message, error = "Unknown", "", ""
    for cond in _list(obj.get("conditions")):
        if _get(cond, "type") == "Healthy":
            state = "Healthy" if _get(cond, "status") == "True" else "Unhealthy"
            message, error = _str(_get(cond, "message")), _str(_get(cond, "error"))
            break
    return [_name(obj), state, message, error]


def _deployment_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _containers(_get(spec, "template", "spec"))
    return [
        _name(obj), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")), _age(obj),
        names, images, _selector_string(spec.get("selector")),
    ]


def _metric_value(source: Any, field: str) -> str:
    value = _get(source, field)
    return "<nil>" if value is None else format_quantity(value)


def _hpa_metric(spec: Any, status: Any) -> str:
    """One entry of formatHPAMetrics: current/target for one metric spec and its status (if any)."""
    kind = _get(spec, "type")
    if kind in ("External", "Object"):
        key = kind[0].lower() + kind[1:]
        target = _get(spec, key, "target")
        current_src = _get(status, key)
        if _get(target, "averageValue") is not None:
            current = "<unknown>"
            if isinstance(current_src, dict) and _get(current_src, "current", "averageValue") is not None:
                current = _metric_value(current_src.get("current"), "averageValue")
            return f"{current}/{_metric_value(target, 'averageValue')} (avg)"
        current = _metric_value(_get(current_src, "current"), "value") if isinstance(current_src, dict) else "<unknown>"
        return f"{current}/{_metric_value(target, 'value')}"
    if kind == "Pods":
        current_src = _get(status, "pods")
        current = _metric_value(_get(current_src, "current"), "averageValue") if isinstance(current_src, dict) else "<unknown>"
        return f"{current}/{_metric_value(_get(spec, 'pods', 'target'), 'averageValue')}"
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        name = _str(_get(spec, key, "name"))
        target = _get(spec, key, "target")
        current_src = _get(status, key)
        if _get(target, "averageValue") is not None:
            current = _metric_value(_get(current_src, "current"), "averageValue") if isinstance(current_src, dict) else "<unknown>"
            return f"{name}: {current}/{_metric_value(target, 'averageValue')}"
        current = "<unknown>"
        utilization = _get(current_src, "current", "averageUtilization")
        if utilization is not None:
            current = f"{_int(utilization)}%"
        goal = _get(target, "averageUtilization")
        return f"{name}: {current}/{'<auto>' if goal is None else f'{_int(goal)}%'}"
    return "<unknown type>"


def _hpa_v1_as_v2(obj: Obj) -> tuple[list[Any], list[Any]]:
    """autoscaling/v1 keeps one CPU target; kube converts it to the v2 metric list before printing."""
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    metrics, current = [], []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    if status.get("currentCPUUtilizationPercentage") is not None:
        current.append({"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}})
    return metrics, current


def _hpa_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    if obj.get("apiVersion") == "autoscaling/v1":
        metrics, current = _hpa_v1_as_v2(obj)
    else:
        metrics, current = _list(spec.get("metrics")), _list(status.get("currentMetrics"))
    targets = "<none>"
    if metrics:
        entries = [_hpa_metric(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
        targets = ", ".join(entries[:2])
        if len(entries) > 2:
            targets = f"{targets} + {len(entries) - 2} more..."
    ref = _dict(spec.get("scaleTargetRef"))
    min_pods = "<unset>" if spec.get("minReplicas") is None else str(_int(spec.get("minReplicas")))
    return [
        _name(obj), f"{_str(ref.get('kind'))}/{_str(ref.get('name'))}", targets, min_pods,
        _int(spec.get("maxReplicas")), _int(status.get("currentReplicas")), _age(obj),
    ]


def _configmap_cells(obj: Obj) -> Cells:
    return [_name(obj), len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData"))), _age(obj)]


def _networkpolicy_cells(obj: Obj) -> Cells:
    selector = _get(obj, "spec", "podSelector")
    return [_name(obj), _format_label_selector(selector if isinstance(selector, dict) else {}), _age(obj)]


def _binding_cells(obj: Obj) -> Cells:
    ref = _dict(obj.get("roleRef"))
    users, groups, sas = [], [], []
    for subject in _list(obj.get("subjects")):
        kind, name = _get(subject, "kind"), _str(_get(subject, "name"))
        if kind == "ServiceAccount":
            sas.append(f"{_str(_get(subject, 'namespace'))}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [
        _name(obj), f"{_str(ref.get('kind'))}/{_str(ref.get('name'))}", _age(obj),
        ", ".join(users), ", ".join(groups), ", ".join(sas),
    ]


def _csr_cells(obj: Obj) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    types = {_get(c, "type") for c in _list(status.get("conditions"))}
    state = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        state += ",Failed"
    if status.get("certificate"):
        state += ",Issued"
    expiration = spec.get("expirationSeconds")
    requested = "<none>" if expiration is None else human_duration(_int(expiration))
    return [
        _name(obj), _age(obj), _str(spec.get("signerName")) or "<none>", _str(spec.get("username")),
        requested, state,
    ]


def _lease_cells(obj: Obj) -> Cells:
    return [_name(obj), _str(_get(obj, "spec", "holderIdentity")), _age(obj)]


def _lease_candidate_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    return [
        _name(obj), _str(spec.get("leaseName")), _str(spec.get("binaryVersion")),
        _str(spec.get("emulationVersion")), _age(obj),
    ]


def _storageclass_cells(obj: Obj) -> Cells:
    annotations = _dict(_get(obj, "metadata", "annotations"))
    default = "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    )
    reclaim, binding = obj.get("reclaimPolicy"), obj.get("volumeBindingMode")
    return [
        _name(obj) + (" (default)" if default else ""), _str(obj.get("provisioner")),
        reclaim if isinstance(reclaim, str) else "Delete", binding if isinstance(binding, str) else "Immediate",
        obj.get("allowVolumeExpansion") is True, _age(obj),
    ]


def _volume_attributes_class_cells(obj: Obj) -> Cells:
    annotations = _dict(_get(obj, "metadata", "annotations"))
    default = annotations.get("volumeattributesclass.kubernetes.io/is-default-class") == "true"
    return [_name(obj) + (" (default)" if default else ""), _str(obj.get("driverName")), _age(obj)]


def _controller_revision_cells(obj: Obj) -> Cells:
    controller = "<none>"
    for ref in _list(_get(obj, "metadata", "ownerReferences")):
        if _get(ref, "controller") is True:
            api_version = _str(_get(ref, "apiVersion"))
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = _str(_get(ref, "kind"))
            if kind or group:
                qualified = f"{kind}.{group}" if group else kind
                controller = f"{qualified.lower()}/{_str(_get(ref, 'name'))}"
            else:
                controller = _str(_get(ref, "name"))
            break
    return [_name(obj), controller, _int(obj.get("revision")), _age(obj)]


def _resourcequota_cells(obj: Obj) -> Cells:
    hard, used = _dict(_get(obj, "status", "hard")), _dict(_get(obj, "status", "used"))
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        entry = f"{resource}: {format_quantity(used.get(resource, '0'))}/{format_quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(entry)
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj)]


def _priorityclass_cells(obj: Obj) -> Cells:
    policy = obj.get("preemptionPolicy")
    return [
        _name(obj), _int(obj.get("value")), obj.get("globalDefault") is True, _age(obj),
        policy if isinstance(policy, str) else "",
    ]


def _runtimeclass_cells(obj: Obj) -> Cells:
    return [_name(obj), _str(obj.get("handler")), _age(obj)]


def _volumeattachment_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    return [
        _name(obj), _str(spec.get("attacher")), _str(_get(spec, "source", "persistentVolumeName")),
        _str(spec.get("nodeName")), _get(obj, "status", "attached") is True, _age(obj),
    ]


def _csinode_cells(obj: Obj) -> Cells:
    return [_name(obj), len(_list(_get(obj, "spec", "drivers"))), _age(obj)]


def _csidriver_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    tokens = spec.get("tokenRequests")
    token_text = ",".join(_str(_get(t, "audience")) for t in tokens) if isinstance(tokens, list) else "<unset>"
    modes = ",".join(str(m) for m in _list(spec.get("volumeLifecycleModes"))) or "<none>"
    attach = spec.get("attachRequired")
    return [
        _name(obj), attach if isinstance(attach, bool) else True, spec.get("podInfoOnMount") is True,
        spec.get("storageCapacity") is True, token_text, spec.get("requiresRepublish") is True, modes, _age(obj),
    ]


def _csistoragecapacity_cells(obj: Obj) -> Cells:
    capacity = obj.get("capacity")
    return [_name(obj), _str(obj.get("storageClassName")),
            "<unset>" if capacity is None else format_quantity(capacity)]


def _webhook_config_cells(obj: Obj) -> Cells:
    return [_name(obj), len(_list(obj.get("webhooks"))), _age(obj)]


def _admission_policy_cells(field: str) -> Callable[[Obj], Cells]:
    def cells(obj: Obj) -> Cells:
        spec = _dict(obj.get("spec"))
        kind = spec.get("paramKind")
        param = f"{_str(_get(kind, 'apiVersion'))}/{_str(_get(kind, 'kind'))}" if isinstance(kind, dict) else "<unset>"
        return [_name(obj), len(_list(spec.get(field))), param, _age(obj)]

    return cells


def _policy_binding_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    ref = spec.get("paramRef")
    param = "<unset>"
    if isinstance(ref, dict):
        if _str(ref.get("name")):
            # Whether the param is cluster scoped is unknown here, so a missing namespace prints as *.
            param = f"{_str(ref.get('namespace')) or '*'}/{ref['name']}"
        elif ref.get("selector") is not None:
            param = _selector_string(ref.get("selector"))
    return [_name(obj), _str(spec.get("policyName")), param, _age(obj)]


def _flowschema_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    method = _get(spec, "distinguisherMethod", "type")
    dangling = "?"
    for cond in _list(_get(obj, "status", "conditions")):
        if _get(cond, "type") == "Dangling":
            dangling = _str(_get(cond, "status"))
            break
    return [
        _name(obj), _str(_get(spec, "priorityLevelConfiguration", "name")), _int(spec.get("matchingPrecedence")),
        _str(method) if spec.get("distinguisherMethod") is not None else "<none>", _age(obj), dangling,
    ]


def _prioritylevel_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    limited = spec.get("limited")
    shares: Any = "<none>"
    queues: Any = "<none>"
    hand: Any = "<none>"
    length: Any = "<none>"
    if isinstance(limited, dict):
        shares = _int(limited.get("nominalConcurrencyShares"))
        queuing = _get(limited, "limitResponse", "queuing")
        if isinstance(queuing, dict):
            queues, hand = _int(queuing.get("queues")), _int(queuing.get("handSize"))
            length = _int(queuing.get("queueLengthLimit"))
    return [_name(obj), _str(spec.get("type")), shares, queues, hand, length, _age(obj)]


def _servicecidr_cells(obj: Obj) -> Cells:
    return [_name(obj), ",".join(str(c) for c in _list(_get(obj, "spec", "cidrs"))), _age(obj)]


def _ipaddress_cells(obj: Obj) -> Cells:
    ref = _get(obj, "spec", "parentRef")
    parent = "<none>"
    if isinstance(ref, dict):
        group, resource = _str(ref.get("group")), _str(ref.get("resource"))
        parent = (f"{resource}.{group}" if group else resource).lower()
        if _str(ref.get("namespace")):
            parent += "/" + ref["namespace"]
        parent += "/" + _str(ref.get("name"))
    return [_name(obj), parent, _age(obj)]


def _name_age_cells(obj: Obj) -> Cells:
    return [_name(obj), _age(obj)]


def _resourceclaim_cells(obj: Obj) -> Cells:
    status = _dict(obj.get("status"))
    deleted = bool(_get(obj, "metadata", "deletionTimestamp"))
    states = ["deleted"] if deleted else []
    if status.get("allocation") is None:
        if not deleted:
            states.append("pending")
    else:
        states.append("allocated")
        if _list(status.get("reservedFor")):
            states.append("reserved")
    return [_name(obj), ",".join(states), _age(obj)]


def _resourceslice_cells(obj: Obj) -> Cells:
    spec = _dict(obj.get("spec"))
    return [_name(obj), _str(spec.get("nodeName")), _str(spec.get("driver")), _str(_get(spec, "pool", "name")),
            _age(obj)]


def _clustertrustbundle_cells(obj: Obj) -> Cells:
    return [_name(obj), _str(_get(obj, "spec", "signerName")) or "<none>"]


def _storageversionmigration_cells(obj: Obj) -> Cells:
    res = _dict(_get(obj, "spec", "resource"))
    return [_name(obj), f"{_str(res.get('resource'))}.{_str(res.get('version'))}.{_str(res.get('group'))}"]


def _apiservice_cells(obj: Obj) -> Cells:
    service = _get(obj, "spec", "service")
    where = f"{_str(_get(service, 'namespace'))}/{_str(_get(service, 'name'))}" if isinstance(service, dict) else "Local"
    available = "Unknown"
    for cond in _list(_get(obj, "status", "conditions")):
        if _get(cond, "type") == "Available":
            state, reason = _str(_get(cond, "status")), _str(_get(cond, "reason"))
            available = state if state == "True" or not reason else f"{state} ({reason})"
            break
    return [_name(obj), where, available, _age(obj)]


_POD_SPEC = "core.v1.PodSpec"
_WORKLOAD_WIDE = (_CONTAINERS, _IMAGES)

_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "Pod"): _Printer((
        _NAME,
        _c("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _c("Status", "string", "The aggregate status of the containers in this pod."),
        _c("Restarts", "string", "The number of times the containers in this pod have been restarted and when the "
           "last container in this pod has restarted."),
        _AGE,
        _c("IP", "string", _d("core.v1.PodStatus", "podIP"), 1),
        _c("Node", "string", _d(_POD_SPEC, "nodeName"), 1),
        _c("Nominated Node", "string", _d("core.v1.PodStatus", "nominatedNodeName"), 1),
        _c("Readiness Gates", "string", _d(_POD_SPEC, "readinessGates"), 1),
    ), _pod_cells),
    ("", "PodTemplate"): _Printer((
        _NAME,
        _c("Containers", "string", "Names of each container in the template."),
        _c("Images", "string", "Images referenced by each container in the template."),
        _c("Pod Labels", "string", "The labels for the pod template."),
    ), _pod_template_cells),
    ("policy", "PodDisruptionBudget"): _Printer((
        _NAME,
        _c("Min Available", "string", "The minimum number of pods that must be available."),
        _c("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        _c("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
        _AGE,
    ), _pdb_cells),
    ("", "ReplicationController"): _Printer((
        _NAME,
        _c("Desired", "integer", _d("core.v1.ReplicationControllerSpec", "replicas")),
        _c("Current", "integer", _d("core.v1.ReplicationControllerStatus", "replicas")),
        _c("Ready", "integer", _d("core.v1.ReplicationControllerStatus", "readyReplicas")),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("core.v1.ReplicationControllerSpec", "selector"), 1),
    ), _rc_cells),
    ("apps", "ReplicaSet"): _Printer((
        _NAME,
        _c("Desired", "integer", _d("apps.v1.ReplicaSetSpec", "replicas")),
        _c("Current", "integer", _d("apps.v1.ReplicaSetStatus", "replicas")),
        _c("Ready", "integer", _d("apps.v1.ReplicaSetStatus", "readyReplicas")),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("apps.v1.ReplicaSetSpec", "selector"), 1),
    ), _rs_cells),
    ("apps", "DaemonSet"): _Printer((
        _NAME,
        _c("Desired", "integer", _d("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
        _c("Current", "integer", _d("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
        _c("Ready", "integer", _d("apps.v1.DaemonSetStatus", "numberReady")),
        _c("Up-to-date", "integer", _d("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
        _c("Available", "integer", _d("apps.v1.DaemonSetStatus", "numberAvailable")),
        _c("Node Selector", "string", _d(_POD_SPEC, "nodeSelector")),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("apps.v1.DaemonSetSpec", "selector"), 1),
    ), _daemonset_cells),
    ("batch", "Job"): _Printer((
        _NAME,
        _c("Status", "string", "Status of the job."),
        _c("Completions", "string", _d("batch.v1.JobStatus", "succeeded")),
        _c("Duration", "string", "Time required to complete the job."),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("batch.v1.JobSpec", "selector"), 1),
    ), _job_cells),
    ("batch", "CronJob"): _Printer((
        _NAME,
        _c("Schedule", "string", _d("batch.v1.CronJobSpec", "schedule")),
        _c("Timezone", "string", _d("batch.v1.CronJobSpec", "timeZone")),
        _c("Suspend", "boolean", _d("batch.v1.CronJobSpec", "suspend")),
        _c("Active", "integer", _d("batch.v1.CronJobStatus", "active")),
        _c("Last Schedule", "string", _d("batch.v1.CronJobStatus", "lastScheduleTime")),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("batch.v1.JobSpec", "selector"), 1),
    ), _cronjob_cells),
    ("", "Service"): _Printer((
        _NAME,
        _c("Type", "string", _d("core.v1.ServiceSpec", "type")),
        _c("Cluster-IP", "string", _d("core.v1.ServiceSpec", "clusterIP")),
        _c("External-IP", "string", _d("core.v1.ServiceSpec", "externalIPs")),
        _c("Port(s)", "string", _d("core.v1.ServiceSpec", "ports")),
        _AGE,
        _c("Selector", "string", _d("core.v1.ServiceSpec", "selector"), 1),
    ), _service_cells),
    ("networking.k8s.io", "Ingress"): _Printer((
        _NAME,
        _c("Class", "string", "The name of the IngressClass resource that should be used for additional "
           "configuration"),
        _c("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
        _c("Address", "string", "Address is a list containing ingress points for the load-balancer"),
        _c("Ports", "string", "Ports of TLS configurations that open"),
        _AGE,
    ), _ingress_cells),
    ("networking.k8s.io", "IngressClass"): _Printer((
        _NAME,
        _c("Controller", "string", "Controller that is responsible for handling this class"),
        _c("Parameters", "string", "A reference to a resource with additional parameters"),
        _AGE,
    ), _ingress_class_cells),
    ("apps", "StatefulSet"): _Printer((
        _NAME, _c("Ready", "string", "Number of the pod with ready state"), _AGE, *_WORKLOAD_WIDE,
    ), _statefulset_cells),
    ("", "Endpoints"): _Printer((
        _NAME, _c("Endpoints", "string", _d("core.v1.Endpoints", "subsets")), _AGE,
    ), _endpoints_cells),
    ("", "Node"): _Printer((
        _NAME,
        _c("Status", "string", "The status of the node"),
        _c("Roles", "string", "The roles of the node"),
        _AGE,
        _c("Version", "string", _d("core.v1.NodeSystemInfo", "kubeletVersion")),
        _c("Internal-IP", "string", _d("core.v1.NodeStatus", "addresses"), 1),
        _c("External-IP", "string", _d("core.v1.NodeStatus", "addresses"), 1),
        _c("OS-Image", "string", _d("core.v1.NodeSystemInfo", "osImage"), 1),
        _c("Kernel-Version", "string", _d("core.v1.NodeSystemInfo", "kernelVersion"), 1),
        _c("Container-Runtime", "string", _d("core.v1.NodeSystemInfo", "containerRuntimeVersion"), 1),
    ), _node_cells),
    ("", "Event"): _Printer((
        _c("Last Seen", "string", _d("core.v1.Event", "lastTimestamp")),
        _c("Type", "string", _d("core.v1.Event", "type")),
        _c("Reason", "string", _d("core.v1.Event", "reason")),
        _c("Object", "string", _d("core.v1.Event", "involvedObject")),
        _c("Subobject", "string", _d("core.v1.ObjectReference", "fieldPath"), 1),
        _c("Source", "string", _d("core.v1.Event", "source"), 1),
        _c("Message", "string", _d("core.v1.Event", "message")),
        _c("First Seen", "string", _d("core.v1.Event", "firstTimestamp"), 1),
        _c("Count", "string", _d("core.v1.Event", "count"), 1),
        _Col("Name", "string", _d("meta.v1.ObjectMeta", "name"), 1, "name"),
    ), _event_cells),
    ("", "Namespace"): _Printer((
        _NAME, _c("Status", "string", "The status of the namespace"), _AGE,
    ), _namespace_cells),
    ("", "Secret"): _Printer((
        _NAME,
        _c("Type", "string", _d("core.v1.Secret", "type")),
        _c("Data", "string", _d("core.v1.Secret", "data")),
        _AGE,
    ), _secret_cells),
    ("", "ServiceAccount"): _Printer((
        _NAME, _c("Secrets", "string", _d("core.v1.ServiceAccount", "secrets")), _AGE,
    ), _serviceaccount_cells),
    ("", "PersistentVolume"): _Printer((
        _NAME,
        _c("Capacity", "string", _d("core.v1.PersistentVolumeSpec", "capacity")),
        _c("Access Modes", "string", _d("core.v1.PersistentVolumeSpec", "accessModes")),
        _c("Reclaim Policy", "string", _d("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
        _c("Status", "string", _d("core.v1.PersistentVolumeStatus", "phase")),
        _c("Claim", "string", _d("core.v1.PersistentVolumeSpec", "claimRef")),
        _c("StorageClass", "string", "StorageClass of the pv"),
        _c("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
        _c("Reason", "string", _d("core.v1.PersistentVolumeStatus", "reason")),
        _AGE,
        _c("VolumeMode", "string", _d("core.v1.PersistentVolumeSpec", "volumeMode"), 1),
    ), _pv_cells),
    ("", "PersistentVolumeClaim"): _Printer((
        _NAME,
        _c("Status", "string", _d("core.v1.PersistentVolumeClaimStatus", "phase")),
        _c("Volume", "string", _d("core.v1.PersistentVolumeClaimSpec", "volumeName")),
        _c("Capacity", "string", _d("core.v1.PersistentVolumeClaimStatus", "capacity")),
        _c("Access Modes", "string", _d("core.v1.PersistentVolumeClaimStatus", "accessModes")),
        _c("StorageClass", "string", "StorageClass of the pvc"),
        _c("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        _AGE,
        _c("VolumeMode", "string", _d("core.v1.PersistentVolumeClaimSpec", "volumeMode"), 1),
    ), _pvc_cells),
    ("", "ComponentStatus"): _Printer((
        _NAME,
        _c("Status", "string", "Status of the component conditions"),
        _c("Message", "string", "Message of the component conditions"),
        _c("Error", "string", "Error of the component conditions"),
    ), _componentstatus_cells),
    ("apps", "Deployment"): _Printer((
        _NAME,
        _c("Ready", "string", "Number of the pod with ready state"),
        _c("Up-to-date", "string", _d("apps.v1.DeploymentStatus", "updatedReplicas")),
        _c("Available", "string", _d("apps.v1.DeploymentStatus", "availableReplicas")),
        _AGE, *_WORKLOAD_WIDE,
        _c("Selector", "string", _d("apps.v1.DeploymentSpec", "selector"), 1),
    ), _deployment_cells),
    ("autoscaling", "HorizontalPodAutoscaler"): _Printer((
        _NAME,
        _c("Reference", "string", _d("autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef")),
        _c("Targets", "string", _d("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
        _c("MinPods", "string", _d("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
        _c("MaxPods", "string", _d("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
        _c("Replicas", "string", _d("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
        _AGE,
    ), _hpa_cells),
    ("", "ConfigMap"): _Printer((
        _NAME, _c("Data", "string", _d("core.v1.ConfigMap", "data")), _AGE,
    ), _configmap_cells),
    ("networking.k8s.io", "NetworkPolicy"): _Printer((
        _NAME, _c("Pod-Selector", "string", _d("networking.v1.NetworkPolicySpec", "podSelector")), _AGE,
    ), _networkpolicy_cells),
    ("rbac.authorization.k8s.io", "RoleBinding"): _Printer((
        _NAME, _c("Role", "string", _d("rbac.v1.RoleBinding", "roleRef")), _AGE,
        _c("Users", "string", "Users in the roleBinding", 1),
        _c("Groups", "string", "Groups in the roleBinding", 1),
        _c("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
    ), _binding_cells),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _Printer((
        _NAME, _c("Role", "string", _d("rbac.v1.ClusterRoleBinding", "roleRef")), _AGE,
        _c("Users", "string", "Users in the clusterRoleBinding", 1),
        _c("Groups", "string", "Groups in the clusterRoleBinding", 1),
        _c("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding", 1),
    ), _binding_cells),
    ("certificates.k8s.io", "CertificateSigningRequest"): _Printer((
        _NAME, _AGE,
        _c("SignerName", "string", _d("certificates.v1.CertificateSigningRequestSpec", "signerName")),
        _c("Requestor", "string", _d("certificates.v1.CertificateSigningRequestSpec", "request")),
        _c("RequestedDuration", "string", _d("certificates.v1.CertificateSigningRequestSpec", "expirationSeconds")),
        _c("Condition", "string", _d("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ), _csr_cells),
    ("certificates.k8s.io", "ClusterTrustBundle"): _Printer((
        _NAME, _c("SignerName", "string", _d("certificates.v1beta1.ClusterTrustBundleSpec", "signerName")),
    ), _clustertrustbundle_cells),
    ("coordination.k8s.io", "Lease"): _Printer((
        _NAME, _c("Holder", "string", _d("coordination.v1.LeaseSpec", "holderIdentity")), _AGE,
    ), _lease_cells),
    ("coordination.k8s.io", "LeaseCandidate"): _Printer((
        _NAME,
        _c("LeaseName", "string", _d("coordination.v1beta1.LeaseCandidateSpec", "leaseName")),
        # kube documents these two from ObjectMeta, which has no such fields: the description is empty.
        _c("BinaryVersion", "string", ""),
        _c("EmulationVersion", "string", ""),
        _AGE,
    ), _lease_candidate_cells),
    ("storage.k8s.io", "StorageClass"): _Printer((
        _NAME,
        _c("Provisioner", "string", _d("storage.v1.StorageClass", "provisioner")),
        _c("ReclaimPolicy", "string", _d("storage.v1.StorageClass", "reclaimPolicy")),
        _c("VolumeBindingMode", "string", _d("storage.v1.StorageClass", "volumeBindingMode")),
        _c("AllowVolumeExpansion", "string", _d("storage.v1.StorageClass", "allowVolumeExpansion")),
        _AGE,
    ), _storageclass_cells),
    ("storage.k8s.io", "VolumeAttributesClass"): _Printer((
        _NAME, _c("DriverName", "string", _d("storage.v1.VolumeAttributesClass", "driverName")), _AGE,
    ), _volume_attributes_class_cells),
    ("apps", "ControllerRevision"): _Printer((
        _NAME,
        _c("Controller", "string", "Controller of the object"),
        _c("Revision", "string", _d("apps.v1.ControllerRevision", "revision")),
        _AGE,
    ), _controller_revision_cells),
    ("", "ResourceQuota"): _Printer((
        _NAME,
        _c("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
        _c("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use "
           "independent of contention on the node."),
        _AGE,
    ), _resourcequota_cells),
    ("scheduling.k8s.io", "PriorityClass"): _Printer((
        _NAME,
        _c("Value", "integer", _d("scheduling.v1.PriorityClass", "value")),
        _c("Global-Default", "boolean", _d("scheduling.v1.PriorityClass", "globalDefault")),
        _AGE,
        _c("PreemptionPolicy", "string", _d("scheduling.v1.PriorityClass", "preemptionPolicy")),
    ), _priorityclass_cells),
    ("node.k8s.io", "RuntimeClass"): _Printer((
        _NAME, _c("Handler", "string", ""), _AGE,
    ), _runtimeclass_cells),
    ("storage.k8s.io", "VolumeAttachment"): _Printer((
        _NAME,
        _Col("Attacher", "string", _d("storage.v1.VolumeAttachmentSpec", "attacher"), 0, "name"),
        _c("PV", "string", _d("storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
        _c("Node", "string", _d("storage.v1.VolumeAttachmentSpec", "nodeName")),
        _c("Attached", "boolean", _d("storage.v1.VolumeAttachmentStatus", "attached")),
        _AGE,
    ), _volumeattachment_cells),
    ("discovery.k8s.io", "EndpointSlice"): _Printer((
        _NAME,
        _c("AddressType", "string", _d("discovery.v1.EndpointSlice", "addressType")),
        _c("Ports", "string", _d("discovery.v1.EndpointSlice", "ports")),
        _c("Endpoints", "string", _d("discovery.v1.EndpointSlice", "endpoints")),
        _AGE,
    ), _endpointslice_cells),
    ("storage.k8s.io", "CSINode"): _Printer((
        _NAME, _c("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), _AGE,
    ), _csinode_cells),
    ("storage.k8s.io", "CSIDriver"): _Printer((
        _NAME,
        _c("AttachRequired", "boolean", _d("storage.v1.CSIDriverSpec", "attachRequired")),
        _c("PodInfoOnMount", "boolean", _d("storage.v1.CSIDriverSpec", "podInfoOnMount")),
        _c("StorageCapacity", "boolean", _d("storage.v1.CSIDriverSpec", "storageCapacity")),
        _c("TokenRequests", "string", _d("storage.v1.CSIDriverSpec", "tokenRequests")),
        _c("RequiresRepublish", "boolean", _d("storage.v1.CSIDriverSpec", "requiresRepublish")),
        _c("Modes", "string", _d("storage.v1.CSIDriverSpec", "volumeLifecycleModes")),
        _AGE,
    ), _csidriver_cells),
    ("storage.k8s.io", "CSIStorageCapacity"): _Printer((
        _NAME,
        _c("StorageClassName", "string", _d("storage.v1.CSIStorageCapacity", "storageClassName")),
        _c("Capacity", "string", _d("storage.v1.CSIStorageCapacity", "capacity")),
    ), _csistoragecapacity_cells),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _Printer((
        _NAME,
        _c("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
        _AGE,
    ), _webhook_config_cells),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _Printer((
        _NAME,
        _c("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
        _AGE,
    ), _webhook_config_cells),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): _Printer((
        _NAME,
        _c("Validations", "integer", "Validations indicates the number of validation rules defined in this "
           "configuration"),
        _c("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"),
        _AGE,
    ), _admission_policy_cells("validations")),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): _Printer((
        _NAME,
        _c("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
        _c("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
        _AGE,
    ), _policy_binding_cells),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"): _Printer((
        _NAME,
        _c("Mutations", "integer", "Mutation indicates the number of mutations rules defined in this configuration"),
        _c("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"),
        _AGE,
    ), _admission_policy_cells("mutations")),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"): _Printer((
        _NAME,
        _c("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
        _c("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
        _AGE,
    ), _policy_binding_cells),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): _Printer((
        _NAME,
        _c("PriorityLevel", "string", _d("flowcontrol.v1.PriorityLevelConfigurationReference", "name")),
        _c("MatchingPrecedence", "string", _d("flowcontrol.v1.FlowSchemaSpec", "matchingPrecedence")),
        _c("DistinguisherMethod", "string", _d("flowcontrol.v1.FlowSchemaSpec", "distinguisherMethod")),
        _AGE,
        _c("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
    ), _flowschema_cells),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): _Printer((
        _NAME,
        _c("Type", "string", _d("flowcontrol.v1.PriorityLevelConfigurationSpec", "type")),
        _c("NominalConcurrencyShares", "string",
           _d("flowcontrol.v1.LimitedPriorityLevelConfiguration", "nominalConcurrencyShares")),
        _c("Queues", "string", _d("flowcontrol.v1.QueuingConfiguration", "queues")),
        _c("HandSize", "string", _d("flowcontrol.v1.QueuingConfiguration", "handSize")),
        _c("QueueLengthLimit", "string", _d("flowcontrol.v1.QueuingConfiguration", "queueLengthLimit")),
        _AGE,
    ), _prioritylevel_cells),
    ("networking.k8s.io", "ServiceCIDR"): _Printer((
        _NAME, _c("CIDRs", "string", _d("networking.v1.ServiceCIDRSpec", "cidrs")), _AGE,
    ), _servicecidr_cells),
    ("networking.k8s.io", "IPAddress"): _Printer((
        _NAME, _c("ParentRef", "string", _d("networking.v1.IPAddressSpec", "parentRef")),
    ), _ipaddress_cells),
    ("resource.k8s.io", "DeviceClass"): _Printer((_NAME, _AGE), _name_age_cells),
    ("resource.k8s.io", "ResourceClaim"): _Printer((
        _NAME,
        _c("State", "string", "A summary of the current state (allocated, pending, reserved, etc.)."),
        _AGE,
    ), _resourceclaim_cells),
    ("resource.k8s.io", "ResourceClaimTemplate"): _Printer((_NAME, _AGE), _name_age_cells),
    ("resource.k8s.io", "ResourceSlice"): _Printer((
        _NAME,
        _c("Node", "string", _d("resource.v1.ResourceSliceSpec", "nodeName")),
        _c("Driver", "string", _d("resource.v1.ResourceSliceSpec", "driver")),
        _c("Pool", "string", _d("resource.v1.ResourcePool", "name")),
        _AGE,
    ), _resourceslice_cells),
    ("storagemigration.k8s.io", "StorageVersionMigration"): _Printer((
        _c("Name", "string", _d("meta.v1.ObjectMeta", "name")),
        _c("Resource", "string", "Fully qualified resource to migrate"),
    ), _storageversionmigration_cells),
    ("apiregistration.k8s.io", "APIService"): _Printer((
        _NAME,
        _c("Service", "string", "The reference to the service that hosts this API endpoint."),
        _c("Available", "string", "Whether this service is available."),
        _AGE,
    ), _apiservice_cells),
}
# events.k8s.io Events share storage and the printer with core Events.
_PRINTERS[("events.k8s.io", "Event")] = _PRINTERS[("", "Event")]

_ROW_CONDITIONS: dict[tuple[str, str], Callable[[Obj], list[dict[str, str]] | None]] = {
    ("", "Pod"): _pod_conditions,
}


def _flowschema_order(obj: Obj) -> tuple[int, str]:
    return _int(_get(obj, "spec", "matchingPrecedence")), _name(obj)


# Kinds whose list printer sorts its rows (kube prints flow schemas in matching order).
_ROW_ORDER: dict[tuple[str, str], Callable[[Obj], Any]] = {
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): _flowschema_order,
}


# ---------------------------------------------------------------------------------------------
# Custom resources


def _cr_columns(resource: ResourceInfo) -> list[dict[str, Any]]:
    """The CRD version's printer columns, or the single AGE column kube serves when it has none."""
    columns = [c for c in resource.printer_columns if isinstance(c, dict)]
    if columns:
        return columns
    return [{"name": "Age", "type": "date", "description": _doc_text(_d("meta.v1.ObjectMeta", "creationTimestamp")),
             "jsonPath": ".metadata.creationTimestamp"}]


def _cr_cell(column: dict[str, Any], steps: list[_Step] | None, obj: Obj) -> Any:
    """One CR cell: the first JSONPath result, typed by the column; nil when absent or mistyped."""
    if steps is None:
        return None
    try:
        results = jsonpath_find(steps, obj)
    except JSONPathError:
        return None
    if not results:
        return None
    value = results[0]
    kind = column.get("type")
    if kind == "string":
        return _jsonpath_text(value)
    if value is None:
        return None
    if kind == "integer":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    elif kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind == "date":
        if isinstance(value, str):
            if value in ("", "null"):
                return "<unknown>"
            if parse_time(value) is None:
                return "<invalid>"
            return _since(value)
    return None


def _custom_table(resource: ResourceInfo, objects: list[Obj]) -> tuple[list[dict[str, Any]], list[Cells]]:
    columns = _cr_columns(resource)
    definitions = [_column(_NAME)]
    paths: list[list[_Step] | None] = []
    for col in columns:
        path = _str(col.get("jsonPath"))
        try:
            paths.append(parse_jsonpath(path))
        except JSONPathError:
            paths.append(None)
        priority = col.get("priority")
        definitions.append({
            "name": _str(col.get("name")),
            "type": _str(col.get("type")),
            "format": _str(col.get("format")),
            "description": _str(col.get("description"))
            or f"Custom resource definition column (in JSONPath format): {path}",
            "priority": priority if isinstance(priority, int) else 0,
        })
    rows = [[_name(obj)] + [_cr_cell(col, steps, obj) for col, steps in zip(columns, paths, strict=True)]
            for obj in objects]
    return definitions, rows


# ---------------------------------------------------------------------------------------------
# The table


@functools.cache
def _builtin_columns(key: tuple[str, str]) -> tuple[dict[str, Any], ...]:
    printer = _PRINTERS.get(key)
    cols = printer.columns if printer else (_NAME, _CREATED_AT)
    return tuple(_column(c) for c in cols)


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


_INCLUDE = ("None", "Metadata", "Object", "")


def table(resource: ResourceInfo, objects: list[Obj], include_object: str = "Metadata",
          list_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `meta.k8s.io/v1` Table kube-apiserver returns for `objects` of `resource`.

    `include_object` is the `includeObject` query parameter: "None" (rows carry no object),
    "Metadata" (a PartialObjectMetadata, the default) or "Object" (the whole object).
    `list_meta` is the list's metadata; for a single object the table carries its resourceVersion.
    Raises a 400 ApiError for any other `include_object`, as kube does.
    """
    if include_object not in _INCLUDE:
        quoted = json.dumps(include_object, ensure_ascii=False)
        raise errors.bad_request(f"unrecognized includeObject value: {quoted}")
    key = (resource.group, resource.kind)
    if not resource.is_custom and key in _ROW_ORDER:
        objects = sorted(objects, key=_ROW_ORDER[key])
    if resource.is_custom:
        definitions, cells = _custom_table(resource, objects)
    elif key in _PRINTERS:
        definitions = [dict(c) for c in _builtin_columns(key)]
        cells = [_PRINTERS[key].cells(obj) for obj in objects]
    else:
        definitions = [dict(c) for c in _builtin_columns(key)]
        cells = [[_name(obj), _rfc3339_utc(_get(obj, "metadata", "creationTimestamp"))] for obj in objects]
    conditions = None if resource.is_custom else _ROW_CONDITIONS.get(key)
    rows = []
    for obj, row_cells in zip(objects, cells, strict=True):
        row: dict[str, Any] = {"cells": row_cells}
        row_conditions = conditions(obj) if conditions else None
        if row_conditions:
            row["conditions"] = row_conditions
        if include_object == "None":
            row["object"] = None
        elif include_object == "Object":
            row["object"] = obj
        else:
            row["object"] = _partial(obj)
        rows.append(row)
    if list_meta is not None:
        metadata = list_meta
    else:
        rv = _get(objects[0], "metadata", "resourceVersion") if len(objects) == 1 else None
        metadata = {"resourceVersion": rv} if rv else {}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": definitions, "rows": rows}
