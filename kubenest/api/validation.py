"""Validation of API objects, reported the way kube-apiserver reports it.

Errors are `FieldError` dicts shaped like upstream `field.Error` (k8s.io/apimachinery util/validation/field):
`{"type": "FieldValueInvalid", "field": "spec.replicas", "message": "Invalid value: -1: must be ...",
"detail": "must be ...", "value": -1}`. `message` is upstream's `ErrorBody()` (what a Status cause carries),
so `f"{field}: {message}"` is the line kubectl prints; `invalid_message` joins a list the way
`errors.NewInvalid` does.

How a write is checked, in upstream's order (the caller composes the pieces):

- built-in kinds: `validate_schema(..., builtin=True)` first reports what kube's JSON decoder rejects
  (wrong JSON types, malformed quantities, bad base64); upstream answers those with 400 BadRequest, see
  `decode_error_message`. Then `validate_object_meta(obj, namespaced, name_rule(kind, group))` and
  `validate_builtin(obj, kind, group, old)` give the 422 field errors of the hand-written validation.
  Fields that kube defaults (restartPolicy, protocol, ...) are only checked when present, so validation
  gives the same answer before or after defaulting.
- custom resources: `unknown_fields` / `crd_prune` (decoding), `crd_default`, then
  `validate_object_meta(..., builtin=False)` and `validate_schema(...)` (structural schema, embedded
  resources, list-type invariants), as apiextensions-apiserver does.

Messages follow Kubernetes 1.37 (bad values printed as JSON, label limits in bytes).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kubenest.api.schema import identity, node_types
from kubenest.api.shapes import ShapeCache, shape

FieldError = dict[str, Any]
Node = dict[str, Any]
Resolver = Callable[[Node], Node]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
TYPE_INVALID = "FieldValueTypeInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
NOT_FOUND = "FieldValueNotFound"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
INTERNAL = "InternalError"

_WORDS = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    TYPE_INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    NOT_FOUND: "Not found",
    DUPLICATE: "Duplicate value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    INTERNAL: "Internal error",
}
# Error types whose body never shows the bad value.
_NO_VALUE = {REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL}

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
MAX_INT32 = 2**31 - 1


# ---------------------------------------------------------------------------------------------------
# Go value formatting: bad values are printed as Go's field.Error does (%q, %v or JSON).


class GoStruct(dict[str, Any]):
    """A bad value that upstream holds as a Go struct: JSON keeps field order instead of sorting keys."""


def go_quote(s: str) -> str:
    """Go's strconv.Quote (what %q prints)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(f) and the decimal point position (value = 0.DIGITS * 10**dp)."""
    t = Decimal(repr(abs(f))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    assert isinstance(t.exponent, int)
    return digits, len(digits) + t.exponent


def _go_exp(digits: str, dp: int, cleanup: bool) -> str:
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1
    sign = "-" if exp < 0 else "+"
    e = f"{abs(exp):02d}"
    if cleanup and sign == "-" and e.startswith("0"):
        e = e[1:]
    return f"{mant}e{sign}{e}"


def _go_fixed(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def go_float(f: float) -> str:
    """Go's %v for a float64 (strconv 'g' with the shortest precision)."""
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    digits, dp = _shortest_digits(f)
    sign = "-" if f < 0 else ""
    exp = dp - 1
    # shortest 'g' switches to an exponent outside [-4, 6): fmt prints 1e6 as "1e+06"
    if exp < -4 or exp >= 6:
        return sign + _go_exp(digits, dp, cleanup=False)
    return sign + _go_fixed(digits, dp)


def _go_json_float(f: float) -> str:
    """Go's encoding/json formatting of a float64."""
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    digits, dp = _shortest_digits(f)
    sign = "-" if f < 0 else ""
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        return sign + _go_exp(digits, dp, cleanup=True)
    return sign + _go_fixed(digits, dp)


_JSON_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "<": "\\u003c", ">": "\\u003e",
             "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_json_str(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _JSON_ESC.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(v: Any) -> str:
    """Go's json.Marshal: map keys sorted, HTML-escaped strings, Go float formatting."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_json_float(v)
    if isinstance(v, str):
        return _go_json_str(v)
    if isinstance(v, dict):
        keys: Iterable[Any] = v.keys() if isinstance(v, GoStruct) else sorted(v)
        return "{" + ",".join(_go_json_str(str(k)) + ":" + go_json(v[k]) for k in keys) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    return _go_json_str(str(v))


def format_value(v: Any) -> str:
    """A bad value as field.Error's ErrorBody prints it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    return go_json(v)


# ---------------------------------------------------------------------------------------------------
# Field errors and their aggregation.


def field_error(type_: str, field: str, value: Any = "", detail: str = "", omit_value: bool = False) -> FieldError:
    """A field error with its upstream ErrorBody in `message`."""
    word = _WORDS.get(type_, f'<unknown error "{type_}">')
    if type_ in _NO_VALUE or omit_value:
        body = word
    else:
        body = f"{word}: {format_value(value)}"
    if detail:
        body += ": " + detail
    return {"type": type_, "field": field, "message": body, "detail": detail, "value": None if omit_value else value}


def required(field: str, detail: str = "") -> FieldError:
    return field_error(REQUIRED, field, "", detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return field_error(INVALID, field, value, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return field_error(FORBIDDEN, field, "", detail)


def duplicate(field: str, value: Any) -> FieldError:
    return field_error(DUPLICATE, field, value)


def not_found(field: str, value: Any) -> FieldError:
    return field_error(NOT_FOUND, field, value)


def not_supported(field: str, value: Any, valid: Iterable[str]) -> FieldError:
    vals = [go_quote(str(x)) for x in valid]
    return field_error(NOT_SUPPORTED, field, value, "supported values: " + ", ".join(vals) if vals else "")


def too_long(field: str, max_len: int) -> FieldError:
    unit = "byte" if max_len == 1 else "bytes"
    detail = f"may not be more than {max_len} {unit}" if max_len >= 0 else "value is too long"
    return field_error(TOO_LONG, field, "<value omitted>", detail)


def too_many(field: str, actual: int, max_items: int) -> FieldError:
    unit = "item" if max_items == 1 else "items"
    detail = f"must have at most {max_items} {unit}" if max_items >= 0 else "has too many items"
    return field_error(TOO_MANY, field, actual, detail, omit_value=actual < 0)


def error_text(e: FieldError) -> str:
    """One error as `field.Error.Error()` prints it."""
    return f"{e['field']}: {e['message']}"


def aggregate_message(errors: list[FieldError]) -> str:
    """The errors joined as ErrorList.ToAggregate().Error() does: duplicates dropped, '[a, b]' for several."""
    seen: list[str] = []
    for e in errors:
        t = error_text(e)
        if t not in seen:
            seen.append(t)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def invalid_message(kind: str, name: str, errors: list[FieldError], group: str = "") -> str:
    """The Status message of errors.NewInvalid: 'Deployment.apps "x" is invalid: spec.selector: Required value'.

    `kind` may already be qualified ("Deployment.apps"); otherwise `group` qualifies it.
    """
    qualified = f"{kind}.{group}" if group else kind
    if not errors:
        return f"{qualified} {go_quote(name)} is invalid"
    return f"{qualified} {go_quote(name)} is invalid: {aggregate_message(errors)}"


def dedupe(errors: list[FieldError]) -> list[FieldError]:
    """Drop repeated errors (same field and message), keeping the first; useful when checks overlap."""
    seen: set[str] = set()
    out = []
    for e in errors:
        t = error_text(e)
        if t not in seen:
            seen.add(t)
            out.append(e)
    return out


def decode_error_message(kind: str, version: str, errors: list[FieldError]) -> str | None:
    """The 400 BadRequest message kube gives for the first decode error of a built-in object, if any.

    E.g. 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into
    Go struct field DeploymentSpec.spec.replicas of type int32'.
    """
    for e in errors:
        if e.get("decode"):
            return f"{kind} in version {go_quote(version)} cannot be handled as a {kind}: {e['decode']}"
    return None


# ---------------------------------------------------------------------------------------------------
# Name and label syntax (k8s.io/apimachinery/pkg/util/validation and api/validate/content).

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_DNS1035_RE = re.compile(_DNS1035_FMT)
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character")
_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_KEY_RE = re.compile(_KEY_FMT)
_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_VALUE_FMT = "(" + _KEY_FMT + ")?"
_VALUE_RE = re.compile(_VALUE_FMT)
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_PERCENT_FMT = "[0-9]+%"
_PERCENT_RE = re.compile(_PERCENT_FMT)


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """util/validation.RegexError, double spaces before 'or' included."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += f"'{ex}', "
    return msg + f"regex used for validation is '{fmt}')"


def _blen(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode())


def _remember_valid(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """`check`, answering values it found nothing wrong with before from memory: label keys and values,
    annotation keys, finalizers and namespaces are few and repeated in every object."""
    valid: set[str] = set()

    @functools.wraps(check)
    def remembered(value: str) -> list[str]:
        if value in valid:
            return []
        errs = check(value)
        if not errs:
            if len(valid) >= 16384:
                valid.clear()
            valid.add(value)
        return errs

    return remembered


@_remember_valid
def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if _blen(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_RE.fullmatch(value):
        if _SUBDOMAIN_RE.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_LABEL_MSG, _LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    errs = []
    if _blen(value) > 253:
        errs.append(f"must be no more than 253 {unit}")
    if not _SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if _blen(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_RE.fullmatch(value):
        errs.append(regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def _path_segment(name: str, prefix: bool) -> list[str]:
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "dns1123subdomain": is_dns1123_subdomain,
    "dns1123label": is_dns1123_label,
    "dns1035label": is_dns1035_label,
}


def name_errors(name: str, rule: str, prefix: bool = False) -> list[str]:
    """Messages for `name` under a naming rule: "dns1123subdomain", "dns1123label", "dns1035label",
    "path-segment" or "none". `prefix` checks a generateName (a trailing dash is allowed)."""
    if rule in ("none", ""):
        return []
    if rule == "path-segment":
        return _path_segment(name, prefix)
    fn = _NAME_RULES.get(rule)
    if fn is None:
        raise ValueError(f"unknown name rule {rule!r}")
    if prefix and len(name) > 1 and name.endswith("-"):
        # upstream's maskTrailingDash replaces the last two characters
        name = name[:-2] + "a"
    return fn(name)


@_remember_valid
def is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey: an optional DNS-subdomain prefix and a name part."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        pfx, name = parts
        if not pfx:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(pfx, unit="bytes"))
    else:
        return ["a valid label key " + regex_error(_KEY_MSG, _KEY_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _KEY_RE.fullmatch(name):
        errs.append("name part " + regex_error(_KEY_MSG, _KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


@_remember_valid
def is_label_value(value: str) -> list[str]:
    errs = []
    if _blen(value) > 63:
        errs.append("must be no more than 63 bytes")
    if not _VALUE_RE.fullmatch(value):
        errs.append(regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


@_remember_valid
def is_config_map_key(value: str) -> list[str]:
    errs = []
    if _blen(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    errs = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch("[-a-z0-9]+", port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _relaxed_env_name(value: str) -> list[str]:
    for ch in value:
        if ord(ch) > 0x7F or not ch.isprintable() or ch == "=":
            return ["a valid environment variable name must consist only of printable ASCII characters other than '='"]
    return []


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    """metav1 validation.ValidateLabels: key and value syntax, errors on the map's path."""
    errs: list[FieldError] = []
    if not isinstance(labels, dict):
        return errs
    for k, v in labels.items():
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k))
        if isinstance(v, str):
            errs.extend(invalid(path, v, m) for m in is_label_value(v))
    return errs


TOTAL_ANNOTATION_SIZE = 256 * 1024


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    """Annotation keys (case-insensitive qualified names) and their total size."""
    errs: list[FieldError] = []
    if not isinstance(annotations, dict):
        return errs
    total = 0
    for k, v in annotations.items():
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
        total += _blen(k) + (_blen(v) if isinstance(v, str) else 0)
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errs


# ---------------------------------------------------------------------------------------------------
# Object metadata (apimachinery/pkg/api/validation/objectmeta.go plus core's finalizer rule).

_STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion"}


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _parse_group_version(gv: str) -> tuple[str, str] | None:
    if not gv or gv == "/":
        return "", ""
    parts = gv.split("/")
    if len(parts) == 1:
        return "", gv
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def _owner_ref_value(ref: dict[str, Any]) -> GoStruct:
    out = GoStruct()
    for k in ("apiVersion", "kind", "name", "uid"):
        out[k] = _str(ref.get(k))
    for k in ("controller", "blockOwnerDeletion"):
        if ref.get(k) is not None:
            out[k] = ref[k]
    return out


def _validate_owner_refs(refs: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(refs, list):
        return errs
    first_controller = ""
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict):
            continue
        p = f"{path}[{i}]"
        api_version = _str(ref.get("apiVersion"))
        gv = _parse_group_version(api_version)
        if not api_version:
            errs.append(required(p + ".apiVersion", "must not be empty"))
        elif gv is None or not gv[1]:
            errs.append(invalid(p + ".apiVersion", api_version, "must be <group>/<version> or <version>"))
        for k in ("kind", "name", "uid"):
            if not _str(ref.get(k)):
                errs.append(required(f"{p}.{k}", "must not be empty"))
        group, version = gv or ("", "")
        kind = _str(ref.get("kind"))
        if (group, version, kind) == ("", "v1", "Event"):
            errs.append(invalid(p, _owner_ref_value(ref), f"{group}/{version}, Kind={kind} is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{_str(ref.get('name'))}"
            if first_controller:
                errs.append(invalid(path, [_owner_ref_value(r) for r in refs if isinstance(r, dict)],
                                    "Only one reference can have Controller set to true. Found \"true\" in "
                                    f"references for {first_controller} and {current}"))
            else:
                first_controller = current
    return errs


def _validate_finalizers(finalizers: Any, path: str, builtin: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(finalizers, list):
        return errs
    names = [f for f in finalizers if isinstance(f, str)]
    for f in names:
        errs.extend(invalid(path, f, m) for m in is_qualified_name(f))
    if "orphan" in names and "foregroundDeletion" in names:
        errs.append(invalid(path, names, "finalizer orphan and foregroundDeletion cannot be both set"))
    if builtin:
        errs.extend(_kube_finalizer_names(names, path))
    return errs


def _kube_finalizer_names(names: list[str], path: str) -> list[FieldError]:
    errs = []
    for i, f in enumerate(names):
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            errs.append(invalid(f"{path}[{i}]", f, "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def _validate_managed_fields(entries: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(entries, list):
        return errs
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            continue
        p = f"{path}[{i}]"
        op = _str(e.get("operation"))
        if not op:
            errs.append(required(p + ".operation", "must not be empty"))
        elif op not in ("Apply", "Update"):
            errs.append(not_supported(p + ".operation", op, ["Apply", "Update"]))
        ft = _str(e.get("fieldsType"))
        if ft and ft != "FieldsV1":
            errs.append(invalid(p + ".fieldsType", ft, "must be `FieldsV1`"))
        if len(_str(e.get("subresource"))) > 256:
            errs.append(too_long(p + ".subresource", 256))
    return errs


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def validate_object_meta(
    obj: dict[str, Any],
    namespaced: bool,
    name_validator: str = "dns1123subdomain",
    *,
    old: dict[str, Any] | None = None,
    builtin: bool = True,
) -> list[FieldError]:
    """Metadata checks of ValidateObjectMeta (create) or ValidateObjectMetaUpdate (when `old` is given).

    `name_validator` is a rule for `name_errors` (see `name_rule`). `builtin` adds core's rule that a
    finalizer without '/' must be a standard one (custom resources only get a warning for that).
    """
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if old is not None:
        old_meta = old.get("metadata")
        return _object_meta_update(meta, old_meta if isinstance(old_meta, dict) else {}, "metadata", builtin)
    return _object_meta_create(meta, namespaced, name_validator, "metadata", builtin)


def _object_meta_create(meta: dict[str, Any], namespaced: bool, rule: str, path: str, builtin: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    gen_name = _str(meta.get("generateName"))
    if gen_name and (msgs := _prefix_errors(gen_name, rule)):
        errs.extend(invalid(path + ".generateName", gen_name, m) for m in msgs)
    name = _str(meta.get("name"))
    if not name:
        errs.append(required(path + ".name", "name or generateName is required"))
    elif msgs := name_errors(name, rule):
        errs.extend(invalid(path + ".name", name, m) for m in msgs)
    errs.extend(_meta_common(meta, namespaced, path, builtin))
    return errs


# generateName checks by naming rule, remembering valid prefixes: a client creating many objects sends the same one.
_PREFIX_CHECKS: dict[str, Callable[[str], list[str]]] = {}


def _prefix_errors(prefix: str, rule: str) -> list[str]:
    """name_errors of a generateName, answered from memory for a prefix found valid before."""
    check = _PREFIX_CHECKS.get(rule)
    if check is None:
        check = _PREFIX_CHECKS[rule] = _remember_valid(functools.partial(name_errors, rule=rule, prefix=True))
    return check(prefix)


def _meta_common(meta: dict[str, Any], namespaced: bool, path: str, builtin: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    namespace = _str(meta.get("namespace"))
    if namespaced:
        if not namespace:
            errs.append(required(path + ".namespace"))
        elif msgs := is_dns1123_label(namespace):
            errs.extend(invalid(path + ".namespace", namespace, m) for m in msgs)
    elif namespace:
        errs.append(forbidden(path + ".namespace", "not allowed on this type"))
    gen = _int(meta.get("generation"))
    if gen is not None and gen < 0:
        errs.append(invalid(path + ".generation", gen, IS_NEGATIVE))
    # Each check passes an absent field; most objects have few of them.
    if "labels" in meta:
        errs.extend(validate_labels(meta["labels"], path + ".labels"))
    if "annotations" in meta:
        errs.extend(validate_annotations(meta["annotations"], path + ".annotations"))
    if "ownerReferences" in meta:
        errs.extend(_validate_owner_refs(meta["ownerReferences"], path + ".ownerReferences"))
    if "finalizers" in meta:
        errs.extend(_validate_finalizers(meta["finalizers"], path + ".finalizers", builtin))
    if "managedFields" in meta:
        errs.extend(_validate_managed_fields(meta["managedFields"], path + ".managedFields"))
    return errs


def _go_string_slice(items: list[str]) -> str:
    return "[]string{" + ", ".join(go_quote(x) for x in items) + "}"


def _object_meta_update(meta: dict[str, Any], old: dict[str, Any], path: str, builtin: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    new_fin = [f for f in (meta.get("finalizers") or []) if isinstance(f, str)]
    if old.get("deletionTimestamp"):
        extra = sorted(set(new_fin) - {f for f in (old.get("finalizers") or []) if isinstance(f, str)})
        if extra:
            errs.append(forbidden(path + ".finalizers", "no new finalizers can be added if the object is being deleted, "
                                  f"found new finalizers {_go_string_slice(extra)}"))
    if not _str(meta.get("resourceVersion")):
        errs.append(invalid(path + ".resourceVersion", "", "must be specified for an update"))
    gen, old_gen = _int(meta.get("generation")) or 0, _int(old.get("generation")) or 0
    if gen < 0:
        errs.append(invalid(path + ".generation", gen, IS_NEGATIVE))
    if gen < old_gen:
        errs.append(invalid(path + ".generation", gen, "must not be decremented"))
    for k in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        new_v, old_v = meta.get(k), old.get(k)
        if k in ("name", "namespace", "uid"):
            new_v, old_v = _str(new_v), _str(old_v)
        if new_v != old_v:
            errs.append(invalid(f"{path}.{k}", new_v, FIELD_IMMUTABLE))
    errs.extend(validate_labels(meta.get("labels"), path + ".labels"))
    errs.extend(validate_annotations(meta.get("annotations"), path + ".annotations"))
    errs.extend(_validate_owner_refs(meta.get("ownerReferences"), path + ".ownerReferences"))
    errs.extend(_validate_managed_fields(meta.get("managedFields"), path + ".managedFields"))
    if builtin:
        errs.extend(_kube_finalizer_names(new_fin, path + ".finalizers"))
    return errs


# Kinds whose object names follow another rule than a DNS-1123 subdomain.
_NAME_RULE_BY_KIND = {
    ("", "Namespace"): "dns1123label",
    ("", "Service"): "dns1035label",
    ("apps", "StatefulSet"): "dns1123label",
    ("rbac.authorization.k8s.io", "Role"): "path-segment",
    ("rbac.authorization.k8s.io", "ClusterRole"): "path-segment",
    ("rbac.authorization.k8s.io", "RoleBinding"): "path-segment",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "path-segment",
}


def name_rule(kind: str, group: str) -> str:
    """The rule kube applies to metadata.name of a built-in kind (for `validate_object_meta`)."""
    return _NAME_RULE_BY_KIND.get((group, kind), "dns1123subdomain")


# ---------------------------------------------------------------------------------------------------
# Quantities (k8s.io/apimachinery/pkg/api/resource).

QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
QUANTITY_NUMERIC_ERROR = "unable to parse numeric part of quantity"
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"

_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIX.items()}
_BIN_BY_EXP = {v // 10: k for k, v in _BIN_SUFFIX.items()}
_SUFFIX_CHARS = set("eEinumkKMGTP")
_NANO = Fraction(1, 10**9)


def parse_quantity(value: Any) -> tuple[Fraction, str]:
    """Parse a quantity as resource.ParseQuantity does: (exact value rounded up to nanos, format).

    The format is "DecimalSI", "BinarySI" or "DecimalExponent". Raises ValueError with kube's message.
    JSON numbers are accepted as their text, as Quantity.UnmarshalJSON does.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(QUANTITY_FORMAT_ERROR)
    return _parse_quantity_cached(type(value).__name__, value)


@functools.lru_cache(maxsize=4096)
def _parse_quantity_cached(_kind: str, value: str | int | float) -> tuple[Fraction, str]:
    # the same few quantities ("100m", "1Gi") appear in object after object
    s = value.strip() if isinstance(value, str) else (str(value) if isinstance(value, int) else repr(value))
    if not s:
        raise ValueError(QUANTITY_FORMAT_ERROR)
    positive, num, denom, suffix = _split_quantity(s)
    if suffix in _DEC_SUFFIX:
        base, exp, fmt = 10, _DEC_SUFFIX[suffix], "DecimalSI"
    elif suffix in _BIN_SUFFIX:
        base, exp, fmt = 2, _BIN_SUFFIX[suffix], "BinarySI"
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        base, exp, fmt = 10, int(suffix[1:]), "DecimalExponent"
    else:
        raise ValueError(QUANTITY_SUFFIX_ERROR)
    # Decimal, unlike int(), takes any number of digits; absurd exponents are clamped to keep this cheap
    amount = Fraction(Decimal(f"{num or '0'}.{denom or '0'}"))
    amount *= Fraction(base) ** max(-1000, min(exp, 1000))
    scaled = amount / _NANO
    if scaled.denominator != 1:
        amount = math.ceil(scaled) * _NANO  # rounds away from zero: the amount is still positive here
    if fmt == "BinarySI" and 0 < amount < 1:
        fmt = "DecimalSI"
    return (amount if positive else -amount), fmt


def _split_quantity(s: str) -> tuple[bool, str, str, str]:
    i, end = 0, len(s)
    positive = True
    if s[0] in "+-":
        positive = s[0] == "+"
        i = 1
    start = i
    while i < end and s[i].isdigit() and s[i].isascii():
        i += 1
    num = s[start:i]
    denom = ""
    if i < end and s[i] == ".":
        i += 1
        start = i
        while i < end and s[i].isdigit() and s[i].isascii():
            i += 1
        denom = s[start:i]
    start = i
    while i < end and s[i] in _SUFFIX_CHARS:
        i += 1
    if i < end and s[i] in "+-":
        i += 1
    while i < end and s[i].isdigit() and s[i].isascii():
        i += 1
    if i != end:
        raise ValueError(QUANTITY_FORMAT_ERROR)
    return positive, num, denom, s[start:end]


def format_quantity(amount: Fraction, fmt: str) -> str:
    """A parsed quantity in canonical form (Quantity.String())."""
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    if fmt == "BinarySI":
        if a < 1024 or a.denominator != 1:
            fmt = "DecimalSI"
        else:
            n, e = int(a), 0
            while n % 1024 == 0 and e < 6:
                n //= 1024
                e += 1
            return f"{sign}{format(Decimal(n), 'f')}{_BIN_BY_EXP.get(e, '')}"
    # decimal: an integer mantissa and an exponent that is a multiple of three
    exp = 0
    while a.denominator != 1:
        a *= 10
        exp -= 1
    mant = int(a)
    while mant % 10 == 0:
        mant //= 10
        exp += 1
    while exp % 3:
        mant *= 10
        exp -= 1
    digits = format(Decimal(mant), "f")  # str() refuses integers past 4300 digits
    if fmt == "DecimalExponent":
        return f"{sign}{digits}" + (f"e{exp}" if exp else "")
    suffix = _DEC_BY_EXP.get(exp)
    if suffix is None:
        return f"{sign}{digits}e{exp}"
    return f"{sign}{digits}{suffix}"


def quantity_string(value: Any) -> str:
    """The canonical form of a quantity value ("0.5" -> "500m", "1024Mi" -> "1Gi")."""
    return format_quantity(*parse_quantity(value))


def quantity_error(value: Any) -> str | None:
    """kube's decode error for a malformed quantity, or None."""
    if value is None:
        return None
    try:
        parse_quantity(value)
    except ValueError as e:
        return str(e)
    return None


# ---------------------------------------------------------------------------------------------------
# String formats kube keeps in CRD schemas (apiextensions validation/formats.go, kube-openapi strfmt).

_UUID_RES = {
    "uuid": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\Z"),
    "uuid3": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}\Z"),
    "uuid4": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}\Z"),
    "uuid5": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}\Z"),
}
_HOSTNAME_RE = re.compile(
    r"^([a-zA-Z0-9\u0080-\uffff]((-?[a-zA-Z0-9\u0080-\uffff]{0,62})?)|([a-zA-Z0-9\u0080-\uffff](([a-zA-Z0-9\u0080-\uffff-]"
    r"{0,61}[a-zA-Z0-9\u0080-\uffff])?)(\.)){1,}([a-zA-Z\u0080-\uffff]){2,63})\Z"
)
_BASE64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})\Z")
_DATETIME_TIME_RE = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z")
_DURATION_UNITS = ("ns", "nano", "us", "µs", "micro", "ms", "milli", "s", "sec", "m", "min", "h", "hr", "hour",
                   "d", "day", "w", "wk", "week")
_GO_DURATION_RE = re.compile(r"[-+]?(([0-9]*(\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h))+\Z")
_MAC_RE = re.compile(
    r"^(([0-9A-Fa-f]{2}[:-]){5}|([0-9A-Fa-f]{2}[:-]){7}|([0-9A-Fa-f]{2}[:-]){19})[0-9A-Fa-f]{2}\Z"
    r"|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}\Z|^([0-9A-Fa-f]{4}\.){3}[0-9A-Fa-f]{4}\Z|^([0-9A-Fa-f]{4}\.){9}[0-9A-Fa-f]{4}\Z"
)


def _is_date(s: str) -> bool:
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", s)
    if not m:
        return False
    y, mo, d = (int(x) for x in m.groups())
    if not 1 <= mo <= 12 or d < 1:
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return d <= days[mo - 1]


def _is_datetime(s: str) -> bool:
    if len(s) < 4:
        return False
    parts = s.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _DATETIME_TIME_RE.match(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _is_duration(s: str) -> bool:
    if s in ("0",) or _GO_DURATION_RE.fullmatch(s):
        return True
    ok = False
    for m in re.finditer(r"((\d+)\s*([A-Za-zµ]+))", s):
        unit = m.group(3).lower().strip()
        if any(unit == u or (u in ("nano", "micro", "milli", "sec", "min", "hour", "day", "week") and unit.startswith(u))
               for u in _DURATION_UNITS):
            ok = True
        else:
            return False
    return ok


def _is_ip(s: str, v: int) -> bool:
    import ipaddress

    text = s
    if v == 4 and "." in s and ":" not in s:
        # ParseIPSloppy accepts leading zeros in dotted quads
        octets = s.split(".")
        if len(octets) != 4 or not all(o.isdigit() and o.isascii() for o in octets):
            return False
        text = ".".join(str(int(o)) for o in octets)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return ("." in s) if v == 4 else (":" in s)


def _is_cidr(s: str) -> bool:
    import ipaddress

    if "/" not in s:
        return False
    addr, _, bits = s.partition("/")
    if not (bits.isdigit() and bits.isascii()):
        return False
    try:
        ipaddress.ip_network(f"{addr}/{int(bits)}", strict=False)
    except ValueError:
        return _is_ip(addr, 4) and int(bits) <= 32
    return True


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_isbn(s: str, version: int) -> bool:
    s = re.sub(r"[\s-]", "", s)
    if version == 10 and re.fullmatch(r"[0-9]{9}[0-9X]", s):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
        return total % 11 == 0
    if version == 13 and re.fullmatch(r"[0-9]{13}", s):
        return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s)) % 10 == 0
    return False


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "bsonobjectid": lambda s: bool(re.fullmatch(r"[0-9a-fA-F]{24}", s)),
    "uri": lambda s: bool(re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|/", s)) and not re.search(r"[\x00-\x20\x7f]", s),
    "email": lambda s: bool(re.fullmatch(r"(.*<)?[^@<>\s]+@[^@<>\s]+(>)?", s.strip())),
    "hostname": lambda s: bool(_HOSTNAME_RE.match(s)) and len(s) <= 255 and all(len(p) <= 63 for p in s.split(".")),
    "ipv4": lambda s: _is_ip(s, 4),
    "ipv6": lambda s: _is_ip(s, 6),
    "cidr": _is_cidr,
    "mac": lambda s: bool(_MAC_RE.match(s)),
    "uuid": lambda s: bool(_UUID_RES["uuid"].match(s)),
    "uuid3": lambda s: bool(_UUID_RES["uuid3"].match(s)),
    "uuid4": lambda s: bool(_UUID_RES["uuid4"].match(s)),
    "uuid5": lambda s: bool(_UUID_RES["uuid5"].match(s)),
    "isbn": lambda s: _is_isbn(s, 10) or _is_isbn(s, 13),
    "isbn10": lambda s: _is_isbn(s, 10),
    "isbn13": lambda s: _is_isbn(s, 13),
    "creditcard": lambda s: bool(re.fullmatch(r"[0-9]{13,19}", re.sub(r"[^0-9]", "", s))) and _luhn(re.sub(r"[^0-9]", "", s)),
    "ssn": lambda s: bool(re.fullmatch(r"\d{3}[- ]?\d{2}[- ]?\d{4}", s)),
    "hexcolor": lambda s: bool(re.fullmatch(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", s)),
    "rgbcolor": lambda s: bool(re.fullmatch(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", s)),
    "byte": lambda s: bool(_BASE64_RE.match(s)),
    "password": lambda s: True,
    "date": _is_date,
    "datetime": _is_datetime,
    "duration": _is_duration,
    "k8s-short-name": lambda s: len(s) <= 63 and bool(_LABEL_RE.fullmatch(s)),
    "k8s-long-name": lambda s: len(s) <= 253 and bool(_SUBDOMAIN_RE.fullmatch(s)),
}


def _crd_format(n: Node, types: list[str]) -> str:
    """The format kube keeps after StripUnsupportedFormats (others are ignored)."""
    fmt = n.get("format")
    if not isinstance(fmt, str) or not fmt:
        return ""
    t = types[0] if len(types) == 1 else ""
    if t in ("", "string"):
        key = fmt if fmt.startswith("k8s-") else fmt.replace("-", "")
        return fmt if key in _FORMAT_CHECKS else ""
    if t == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if t == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


def _format_ok(fmt: str, s: str) -> bool:
    key = fmt if fmt.startswith("k8s-") else fmt.replace("-", "")
    check = _FORMAT_CHECKS.get(key)
    return check is None or check(s)


# ---------------------------------------------------------------------------------------------------
# Schema validation.


def _schema_types(n: Node) -> tuple[list[str], bool]:
    """(types, nullable) of a node; int-or-string widens to integer,string as apiextensions does."""
    if n.get("x-kubernetes-int-or-string"):
        return ["integer", "string"], bool(n.get("nullable"))
    t = n.get("type")
    if t is None:
        return [], bool(n.get("nullable"))
    if isinstance(t, str):
        return [t], bool(n.get("nullable"))
    return [x for x in t if x != "null"], "null" in t or bool(n.get("nullable"))


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _json_equal(a: Any, b: Any) -> bool:
    """Go's reflect.DeepEqual on decoded JSON (int64 and float64 differ, bools are not numbers)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _enum_match(v: Any, e: Any) -> bool:
    if isinstance(v, bool) or isinstance(e, bool):
        return isinstance(v, bool) and isinstance(e, bool) and v == e
    if isinstance(v, (int, float)) and isinstance(e, (int, float)):
        return bool(v == e)  # Go converts the value to the enum's numeric type before comparing
    return _json_equal(v, e)


def _go_int_text(v: int | float) -> str | None:
    """The int64 text of a number the way swag converts it, or None when it is not one."""
    if isinstance(v, int):
        return str(v) if -(2**63) <= v < 2**63 else None
    if v.is_integer() and abs(v) < 2**63:
        return str(int(v))
    return None


def _is_json_integer(f: float) -> bool:
    if math.isnan(f) or math.isinf(f):
        return False
    if f.is_integer():
        return True
    return abs(f - math.trunc(f)) / (abs(f) + abs(math.trunc(f))) < 1e-9


_MISSING = object()
_NO_OLD = object()


class _SchemaWalk:
    """kube-openapi's SchemaValidator over plain JSON, with apiextensions' error conversion.

    `name` is kube-openapi's path ("spec.items[0]", ".key" for a map value at the root), used in messages.
    With an old object (updates), a value equal to its old counterpart is not checked: kube's validation
    ratcheting lets unchanged fields keep values a tightened schema would now reject.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.errs: list[FieldError] = []

    def field(self, name: str) -> str:
        if name.startswith("."):
            name = name[1:]
        if name:
            return f"{self.prefix}.{name}" if self.prefix else name
        return self.prefix or "<nil>"

    def plain(self, msg: str) -> None:
        # errors that are not openapi Validation errors land on the validator's root path
        self.errs.append(invalid(self.prefix or "<nil>", "", msg))

    def walk(self, v: Any, n: Node, name: str, old: Any = _NO_OLD) -> None:
        if old is not _NO_OLD and _json_equal(v, old):
            return
        types, nullable = _schema_types(n)
        fmt = _crd_format(n, types)
        self.check_type(v, types, nullable, fmt, name)
        if v is None:
            self.check_enum(v, n, name)
            return
        self.check_combinators(v, n, name)
        if isinstance(v, str):
            self.check_string(v, n, name)
            if fmt and _crd_format_known(fmt) and not _format_ok(fmt, v):
                self.errs.append(field_error(TYPE_INVALID, self.field(name), v,
                                             f"{name} in body must be of type {fmt}: {go_quote(v)}"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            self.check_number(v, n, types, fmt, name)
        elif isinstance(v, list):
            self.check_array(v, n, name, old)
        self.check_enum(v, n, name)
        if isinstance(v, dict):
            self.check_object(v, n, name, old)

    def check_type(self, v: Any, types: list[str], nullable: bool, fmt: str, name: str) -> None:
        if not types and not fmt:
            return
        if v is None:
            if types and not nullable:
                self.type_error(name, ",".join(types), "null")
            return
        kind = _json_kind(v)
        data_fmt = "int64" if kind == "integer" else ("float64" if kind == "number" else "")
        float_int = kind == "number" and float(v).is_integer() and "integer" in types
        int_float = kind == "integer" and "number" in types
        if kind not in ("string", "array") and fmt and not (kind in types or data_fmt == fmt or float_int or int_float):
            self.type_error(name, fmt, data_fmt)
            return
        if "number" not in types and "integer" not in types and fmt and kind in ("string", "array"):
            return
        if not (kind in types or float_int or int_float):
            self.type_error(name, ",".join(types), kind)

    def type_error(self, name: str, want: str, got: str) -> None:
        self.errs.append(field_error(TYPE_INVALID, self.field(name), got,
                                     f"{name} in body must be of type {want}: {go_quote(got)}"))

    def sub(self, v: Any, n: Node, name: str) -> list[FieldError]:
        w = _SchemaWalk(self.prefix)
        w.walk(v, n, name)
        return w.errs

    def check_combinators(self, v: Any, n: Node, name: str) -> None:
        any_of = n.get("anyOf")
        if any_of:
            results = [self.sub(v, s, name) for s in any_of if isinstance(s, dict)]
            if results and all(results):
                self.plain(f"{go_quote(name)} must validate at least one schema (anyOf)")
                self.errs.extend(_fewest(results))
        one_of = n.get("oneOf")
        if one_of:
            results = [self.sub(v, s, name) for s in one_of if isinstance(s, dict)]
            valid = sum(1 for r in results if not r)
            if valid != 1:
                more = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                self.plain(f"{go_quote(name)} must validate one and only one schema (oneOf). {more}")
                if valid == 0 and results:
                    self.errs.extend(_fewest(results))
        all_of = n.get("allOf")
        if all_of:
            results = [self.sub(v, s, name) for s in all_of if isinstance(s, dict)]
            for r in results:
                self.errs.extend(r)
            passed = sum(1 for r in results if not r)
            if passed != len(results):
                more = ". None validated" if passed == 0 else ""
                self.plain(f"{go_quote(name)} must validate all the schemas (allOf){more}")
        not_ = n.get("not")
        if isinstance(not_, dict) and not self.sub(v, not_, name):
            self.plain(f"{go_quote(name)} must not validate the schema (not)")

    def check_string(self, v: str, n: Node, name: str) -> None:
        max_len, min_len, pattern = n.get("maxLength"), n.get("minLength"), n.get("pattern")
        if max_len is not None and len(v) > max_len:
            self.errs.append(too_long(self.field(name), int(max_len)))
        elif min_len is not None and len(v) < min_len:
            self.errs.append(invalid(self.field(name), v, f"{name} in body should be at least {min_len} chars long"))
        elif isinstance(pattern, str) and pattern:
            rx = _compile_pattern(pattern)
            if rx is None:
                self.errs.append(invalid(self.field(name), v, f"{name} in body should match '{pattern}, but pattern is invalid'"))
            elif not rx.search(v):
                self.errs.append(invalid(self.field(name), v, f"{name} in body should match '{pattern}'"))

    def check_number(self, v: int | float, n: Node, types: list[str], fmt: str, name: str) -> None:
        type_name = types[0] if len(types) == 1 and types[0] in ("integer", "number") else ""
        if type_name == "integer":
            text = _go_int_text(v)
            bad = text is None or (fmt == "int32" and not -(2**31) <= int(text) < 2**31)
            if bad:
                how = f"with format {fmt}" if fmt else "(default format)"
                self.plain(f"Checked value must be of type integer {how} in {name}")
        is_int = isinstance(v, int)
        field = self.field(name)
        factor = n.get("multipleOf")
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            if factor <= 0:
                shown_factor = int(factor) if is_int else factor
                self.errs.append(invalid(field, shown_factor,
                                         f"factor MultipleOf declared for {name} must be positive: {format_value(shown_factor)}"))
            elif is_int and int(factor) != 0:
                f = int(factor)
                if v % f:
                    self.errs.append(invalid(field, v, f"{name} in body should be a multiple of {f}"))
            elif not is_int:
                mult = (1 / factor * v) if factor < 1 else (v / factor)
                if not _is_json_integer(mult):
                    self.errs.append(invalid(field, v, f"{name} in body should be a multiple of {go_float(float(factor))}"))
        for key, excl_key, incl_word, excl_word, fails in (
            ("minimum", "exclusiveMinimum", "greater than or equal to", "greater than", lambda d, b, e: d <= b if e else d < b),
            ("maximum", "exclusiveMaximum", "less than or equal to", "less than", lambda d, b, e: d >= b if e else d > b),
        ):
            bound = n.get(key)
            if not isinstance(bound, (int, float)) or isinstance(bound, bool):
                continue
            excl = bool(n.get(excl_key))
            shown: Any = int(bound) if is_int else float(bound)
            if fails(v, shown, excl):
                word = excl_word if excl else incl_word
                text = str(shown) if is_int else go_float(shown)
                self.errs.append(invalid(field, v, f"{name} in body should be {word} {text}"))

    def check_array(self, v: list[Any], n: Node, name: str, old: Any) -> None:
        items = n.get("items")
        if isinstance(items, dict):
            olds = _correlate_list(v, n, old)
            for i, x in enumerate(v):
                self.walk(x, items, f"{name}[{i}]", olds[i])
        size = len(v)
        min_items, max_items = n.get("minItems"), n.get("maxItems")
        if min_items is not None and size < min_items:
            self.errs.append(invalid(self.field(name), size, f"{name} in body should have at least {min_items} items"))
        if max_items is not None and size > max_items:
            self.errs.append(too_many(self.field(name), size, int(max_items)))
        if n.get("uniqueItems") and any(_json_equal(v[i], v[j]) for i in range(size) for j in range(i)):
            self.errs.append(invalid(self.field(name), "", f"{name} in body shouldn't contain duplicates"))

    def check_enum(self, v: Any, n: Node, name: str) -> None:
        enum = n.get("enum")
        if not enum:
            return
        if v is not None and any(_enum_match(v, e) for e in enum):
            return
        self.errs.append(not_supported(self.field(name), v, [e if isinstance(e, str) else go_json(e) for e in enum]))

    def check_object(self, v: dict[str, Any], n: Node, name: str, old: Any) -> None:
        size = len(v)
        min_p, max_p = n.get("minProperties"), n.get("maxProperties")
        if min_p is not None and size < min_p:
            self.errs.append(invalid(self.field(name), size, f"{name} in body should have at least {min_p} properties"))
        if max_p is not None and size > max_p:
            self.errs.append(too_many(self.field(name), size, int(max_p)))
        props = n.get("properties") or {}
        extra = n.get("additionalProperties")
        if extra is False:
            for k in v:
                if k not in props:
                    self.errs.append(invalid(self.field(name), k, f"{name}.{k} in body is a forbidden property"))
        elif isinstance(extra, dict):
            for k, x in v.items():
                if k not in props:
                    self.walk(x, extra, f"{name}.{k}", _old_child(old, k))
        for k, p in props.items():
            if k in v and isinstance(p, dict):
                self.walk(v[k], p, f"{name}.{k}" if name else k, _old_child(old, k))
        for k in n.get("required") or ():
            if k not in v:
                self.errs.append(required(self.field(f"{name}.{k}")))


def _old_child(old: Any, key: str) -> Any:
    return old[key] if isinstance(old, dict) and key in old else _NO_OLD


def _correlate_list(v: list[Any], n: Node, old: Any) -> list[Any]:
    """Old counterparts of list items: only map lists correlate, by their keys (as ratcheting does)."""
    keys = n.get("x-kubernetes-list-map-keys")
    if n.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return [_NO_OLD] * len(v)
    by_key = {}
    for item in old:
        if isinstance(item, dict):
            by_key[go_json([item.get(k) for k in keys])] = item
    return [by_key.get(go_json([x.get(k) for k in keys]), _NO_OLD) if isinstance(x, dict) else _NO_OLD for x in v]


def _structural_checks(v: Any, n: Node | None, spath: str, embedded: list[FieldError], listtype: list[FieldError]) -> None:
    """The passes apiextensions runs after schema validation: embedded resources (objectmeta.Validate) and
    x-kubernetes-list-type invariants (listtype.ValidateListSetsAndMaps)."""
    if n is None:
        return
    if isinstance(v, dict):
        if n.get("x-kubernetes-embedded-resource"):
            embedded.extend(_embedded_resource(v, spath))
        props = n.get("properties") or {}
        extra = n.get("additionalProperties")
        for k, x in v.items():
            if isinstance(props.get(k), dict):
                _structural_checks(x, props[k], f"{spath}.{k}" if spath else k, embedded, listtype)
            elif isinstance(extra, dict):
                _structural_checks(x, extra, f"{spath}[{k}]", embedded, listtype)
    elif isinstance(v, list):
        _list_type(v, n, spath, listtype)
        items = n.get("items")
        if isinstance(items, dict):
            for i, x in enumerate(v):
                _structural_checks(x, items, f"{spath}[{i}]", embedded, listtype)


def _list_type(v: list[Any], n: Node, spath: str, out: list[FieldError]) -> None:
    lt = n.get("x-kubernetes-list-type")
    if lt == "set":
        for i in _non_unique(v):
            out.append(duplicate(f"{spath}[{i}]", v[i]))
    elif lt == "map":
        for i, x in enumerate(v):
            if x is not None and not isinstance(x, dict):
                out.append(invalid(f"{spath}[{i}]", x, "must be an object for an array of list-type map"))
                return
        keys = n.get("x-kubernetes-list-map-keys") or []
        if len(keys) == 1:
            k = keys[0]
            vals = [_MISSING if x is None or k not in x else x[k] for x in v]
            for i in _non_unique(vals):
                out.append(duplicate(f"{spath}[{i}]", {} if vals[i] is _MISSING else {k: vals[i]}))
        else:
            tuples = [{kk: x[kk] for kk in keys if kk in x} if isinstance(x, dict) else {} for x in v]
            for i in _non_unique(tuples):
                out.append(duplicate(f"{spath}[{i}]", tuples[i]))


def _fewest(results: list[list[FieldError]]) -> list[FieldError]:
    # kube-openapi reports the alternative that got furthest; the one with fewest errors approximates it
    return min(results, key=len)


_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _compile_pattern(p: str) -> re.Pattern[str] | None:
    if p not in _PATTERNS:
        try:
            _PATTERNS[p] = re.compile(p)
        except re.error:
            _PATTERNS[p] = None
    return _PATTERNS[p]


def _crd_format_known(fmt: str) -> bool:
    return (fmt if fmt.startswith("k8s-") else fmt.replace("-", "")) in _FORMAT_CHECKS


def _non_unique(values: list[Any]) -> list[int]:
    """Indexes of second occurrences, as listtype's validateListSet reports them."""
    counts: dict[Any, int] = {}
    out = []
    for i, x in enumerate(values):
        if x is _MISSING:
            key: Any = ("missing",)
        elif isinstance(x, (dict, list)):
            key = ("json", go_json(x))
        else:
            key = (type(x).__name__, x)
        times = counts.get(key, 0)
        counts[key] = times + 1
        if times == 1:
            out.append(i)
    return out


def _embedded_resource(x: dict[str, Any], spath: str) -> list[FieldError]:
    """objectmeta.validateEmbeddedResource: apiVersion, kind and metadata of a nested object."""
    errs: list[FieldError] = []
    if "apiVersion" not in x:
        errs.append(required(spath + ".apiVersion"))
    if "kind" not in x:
        errs.append(required(spath + ".kind"))
    for k, v in x.items():
        if k == "apiVersion":
            if not isinstance(v, str):
                errs.append(invalid(spath + ".apiVersion", v, "must be a string"))
            elif not v:
                errs.append(invalid(spath + ".apiVersion", v, "must not be empty"))
            elif _parse_group_version(v) is None:
                errs.append(invalid(spath + ".apiVersion", v, f"unexpected GroupVersion string: {v}"))
        elif k == "kind":
            if not isinstance(v, str):
                errs.append(invalid(spath + ".kind", v, "must be a string"))
            elif not v:
                errs.append(invalid(spath + ".kind", v, "must not be empty"))
            else:
                msgs = is_dns1035_label(v.lower())
                if msgs:
                    errs.append(invalid(spath + ".kind", v, "may have mixed case, but should otherwise match: " + ",".join(msgs)))
        elif k == "metadata" and isinstance(v, dict):
            meta = dict(v)
            if not _str(meta.get("name")):
                meta["name"] = "fakename"  # upstream sets a placeholder so a missing name is not an error
            errs.extend(_object_meta_create(meta, bool(_str(meta.get("namespace"))), "path-segment",
                                            spath + ".metadata", False))
    return errs


# ---------------------------------------------------------------------------------------------------
# Built-in kinds: what kube's JSON decoder rejects (a 400 BadRequest upstream, see decode_error_message).

_DEFS = "#/$defs/"
_SPECIAL_REFS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "intstr",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "raw",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "raw",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "time",
}
_special_cache: dict[int, tuple[object, dict[int, str]]] = {}


def _special_nodes(resolve: Resolver) -> dict[int, str]:
    """Definitions whose Go types decode themselves (quantities, int-or-string, raw JSON, times), by identity."""
    owner = getattr(resolve, "__self__", resolve)
    hit = _special_cache.get(id(owner))
    if hit is not None and hit[0] is owner:
        return hit[1]
    out: dict[int, str] = {}
    for name, tag in _SPECIAL_REFS.items():
        n = resolve({"$ref": _DEFS + name})
        if n and "$ref" not in n:
            out[id(n)] = tag
    _special_cache[id(owner)] = (owner, out)
    return out


def _ref_name(node: Node) -> str:
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf")
        if all_of and len(all_of) == 1 and isinstance(all_of[0], dict):
            ref = all_of[0].get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ""


def _go_type_name(ref: str) -> str:
    parts = ref.split(".")
    return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else ref


def _go_type(node: Node, resolve: Resolver) -> str:
    """The Go type a schema node decodes into, as json's UnmarshalTypeError names it."""
    ref = _ref_name(node)
    if ref:
        return _go_type_name(ref)
    types = node_types(node)
    t = next(iter(types)) if len(types) == 1 else ""
    if t == "string":
        return "[]uint8" if node.get("format") == "byte" else "string"
    if t == "boolean":
        return "bool"
    if t == "integer":
        fmt = node.get("format")
        return fmt if fmt in ("int32", "int64") else "int"
    if t == "number":
        return "float64"
    if t == "array":
        items = node.get("items")
        return "[]" + (_go_type(items, resolve) if isinstance(items, dict) else "interface {}")
    if t == "object":
        extra = node.get("additionalProperties")
        return "map[string]" + (_go_type(extra, resolve) if isinstance(extra, dict) else "interface {}")
    return "interface {}"


def _go_json_desc(v: Any, integral: bool) -> str:
    """How Go's decoder describes a JSON value in 'cannot unmarshal X' ('number 1.5' for bad integers)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    if integral and (isinstance(v, float) or not -(2**63) <= v < 2**63):
        return f"number {v!r}"
    return "number"


def _base64_error(s: str) -> str | None:
    """encoding/base64 StdEncoding's CorruptInputError for s, as Go's decoder reports []byte fields."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    si, n = 0, len(s)
    while si < n:
        j = 0
        while j < 4:
            while si < n and s[si] in "\r\n":
                si += 1
            if si == n:
                if j == 0:
                    return None
                return f"illegal base64 data at input byte {si - j}"
            ch = s[si]
            si += 1
            if ch in alphabet:
                j += 1
                continue
            if ch != "=":
                return f"illegal base64 data at input byte {si - 1}"
            # padding: only valid as the 3rd or 4th character of a quantum
            if j in (0, 1):
                return f"illegal base64 data at input byte {si - 1}"
            if j == 2:
                while si < n and s[si] in "\r\n":
                    si += 1
                if si == n:
                    return f"illegal base64 data at input byte {n}"
                if s[si] != "=":
                    return f"illegal base64 data at input byte {si - 1}"
                si += 1
            while si < n and s[si] in "\r\n":
                si += 1
            if si < n:
                return f"illegal base64 data at input byte {si}"
            return None
    return None


def _decode_error(type_: str, field: str, value: Any, decode: str) -> FieldError:
    e = field_error(type_, field, value, decode)
    e["decode"] = decode
    return e


def _primary_type(n: Node) -> str:
    t = n.get("type")
    if isinstance(t, str):
        return t
    if t:
        return "object" if "object" in t else next((x for x in t if x != "null"), "")
    return "object" if "properties" in n else ""


_PY_KIND = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


class _DecodeNode:
    """What `_decode_walk` and `_strict_unknown` need of one schema node, worked out once per node
    (every create asks)."""

    __slots__ = ("node", "tag", "want", "int_bits", "props", "extra", "own", "items", "is_bytes", "any_fields",
                 "extra_any", "free_form")

    def __init__(self, node: Node, resolve: Resolver, special: dict[int, str]) -> None:
        n = resolve(node)
        self.node = node
        self.tag = special.get(id(n))
        self.want = _primary_type(n)
        self.int_bits = 32 if n.get("format") == "int32" else 64
        props = n.get("properties")
        self.props: dict[str, Node] | None = props or None
        extra = n.get("additionalProperties")
        self.extra: Node | None = extra if isinstance(extra, dict) else None
        self.own = _ref_name(node).rsplit(".", 1)[-1] if props else ""
        items = n.get("items")
        self.items: Node | None = items if isinstance(items, dict) else None
        self.is_bytes = self.want == "string" and n.get("format") == "byte"
        # For strict decoding: which fields this node knows.
        self.any_fields = self.tag is not None or bool(n.get("x-kubernetes-preserve-unknown-fields"))
        self.extra_any = extra is True
        self.free_form = props is None and extra is None and "object" not in node_types(n)


_decode_plans: dict[int, tuple[Any, dict[int, str], dict[int, _DecodeNode]]] = {}


_Plan = tuple[dict[int, str], dict[int, _DecodeNode]]


def _decode_node(node: Node, resolve: Resolver, plan: _Plan) -> _DecodeNode:
    d = plan[1].get(id(node))
    if d is None or d.node is not node:
        d = plan[1][id(node)] = _DecodeNode(node, resolve, plan[0])
    return d


def _decode_plan(resolve: Resolver) -> _Plan:
    """The special nodes of a resolver's schemas and its cache of `_DecodeNode`s, by node identity."""
    owner = getattr(resolve, "__self__", resolve)
    hit = _decode_plans.get(id(owner))
    if hit is None or hit[0] is not owner:
        hit = _decode_plans[id(owner)] = (owner, _special_nodes(resolve), {})
    return hit[1], hit[2]


def _decode_walk(v: Any, node: Node, resolve: Resolver, plan: _Plan, fpath: str, gopath: str, struct: str,
                 errs: list[FieldError], sites: list[tuple[tuple[str, ...], Node]] | None = None,
                 at: tuple[str, ...] = ()) -> None:
    """Walk a built-in object as Go's JSON decoder would; `gopath` is the decoder's struct-field path.

    With `sites`, also note where (by map keys from the root, `at`) the walk checked a value beyond its
    JSON type outside lists: integer ranges, quantities, int-or-strings, base64 (see `decode_errors`).
    """
    if v is None:
        return  # JSON null leaves the Go zero value
    d = _decode_node(node, resolve, plan)
    if d.tag is not None:
        if sites is not None and d.tag in ("quantity", "intstr"):
            sites.append((at, node))
        _decode_special(v, d.tag, fpath, errs)
        return
    want = d.want
    if not want:
        return  # free-form JSON
    kind = _PY_KIND.get(type(v), "")
    ok = kind == want or (want == "number" and kind == "integer")
    if ok and kind == "integer" and want == "integer":
        if sites is not None:
            sites.append((at, node))
        ok = -(2 ** (d.int_bits - 1)) <= v < 2 ** (d.int_bits - 1)
    if not ok:
        desc = f"number {v}" if kind == "integer" and want == "integer" else _go_json_desc(v, want == "integer")
        where = f"Go struct field {struct}.{gopath}" if gopath else "Go value"
        errs.append(_decode_error(TYPE_INVALID, fpath, v,
                                  f"json: cannot unmarshal {desc} into {where} of type {_go_type(node, resolve)}"))
    elif want == "object":
        props, extra = d.props, d.extra
        own = d.own or struct
        for k, x in v.items():
            p = props.get(k) if props else None
            if p is not None:
                _decode_walk(x, p, resolve, plan, f"{fpath}.{k}" if fpath else k,
                             f"{gopath}.{k}" if gopath else k, own, errs, sites, at + (k,) if sites is not None else at)
            elif extra is not None:
                _decode_walk(x, extra, resolve, plan, f"{fpath}[{k}]", gopath, struct, errs,
                             sites, at + (k,) if sites is not None else at)
    elif want == "array":
        if d.items is not None:
            # Values in lists are part of an object's shape: no site below.
            for i, x in enumerate(v):
                _decode_walk(x, d.items, resolve, plan, f"{fpath}[{i}]", gopath, struct, errs)
    elif d.is_bytes:
        if sites is not None:
            sites.append((at, node))
        msg = _base64_error(v)
        if msg:
            errs.append(_decode_error(INVALID, fpath, v, msg))


# Built-in objects by (schema node, shape) that decoded without errors, with the sites whose values
# were checked: see `decode_errors`.
_DECODED = ShapeCache()


def decode_errors(obj: dict[str, Any], node: Node, resolve: Resolver, *, of: Hashable | None = None
                  ) -> list[FieldError]:
    """`validate_schema` of a built-in object: what Go's JSON decoder rejects.

    Those errors depend on the object's shape (kubenest.api.shapes), but for values checked outside
    lists: an object whose shape decoded cleanly before is only checked again at those sites. `of`:
    the object's shape, when the caller has it.
    """
    key = (id(node), shape(obj) if of is None else of)
    hit = _DECODED.get(key)
    plan = _decode_plan(resolve)
    if hit is not None and hit[0] is node:
        errs: list[FieldError] = []
        for at, site in hit[1]:
            v: Any = obj
            for k in at:
                v = v[k]
            _decode_walk(v, site, resolve, plan, "", "", "", errs)
            if errs:
                break
        else:
            return []
    errs = []
    sites: list[tuple[tuple[str, ...], Node]] = []
    kind = obj.get("kind")
    _decode_walk(obj, node, resolve, plan, "", "", kind if isinstance(kind, str) and kind else "Object", errs, sites)
    if not errs:
        _DECODED.put(key, (node, tuple(sites)))
    return errs


def _decode_special(v: Any, tag: str, fpath: str, errs: list[FieldError]) -> None:
    """Types with their own UnmarshalJSON: quantities, int-or-string, times (raw JSON takes anything)."""
    if tag == "quantity":
        msg = quantity_error(v)
        if msg:
            errs.append(_decode_error(INVALID, fpath, v, msg))
    elif tag == "intstr":
        if isinstance(v, str) or (type(v) is int and -(2**31) <= v < 2**31):
            return
        desc = f"number {v}" if type(v) is int else _go_json_desc(v, True)
        errs.append(_decode_error(TYPE_INVALID, fpath, v, f"json: cannot unmarshal {desc} into Go value of type int32"))
    elif tag == "time" and not isinstance(v, str):
        errs.append(_decode_error(TYPE_INVALID, fpath, v,
                                  f"json: cannot unmarshal {_go_json_desc(v, False)} into Go value of type string"))


def validate_schema(
    obj: dict[str, Any],
    node: Node,
    resolve: Resolver,
    *,
    builtin: bool | None = None,
    prefix: str = "",
    struct: str | None = None,
    old: Any = None,
) -> list[FieldError]:
    """Check `obj` against a schema node.

    Custom resources (`builtin` false, the default when `resolve` is `schema.identity`): kube-openapi's
    validation of the structural schema (types, required, enum, patterns, lengths, ranges, formats kube keeps,
    int-or-string, combinators), worded as apiextensions-apiserver converts it, then embedded-resource checks
    and x-kubernetes-list-type map/set duplicates, in that order. `prefix` is the field path the node sits at
    (kube validates the status subresource with "status", keeping inner names in the messages). On updates,
    pass `old` (the previous object, or its status): unchanged values are not held to the schema again,
    as kube's CRD validation ratcheting does.

    Built-in kinds: only what kube's JSON decoder rejects, since the hand-written validation does the rest
    (see `validate_builtin`): wrong JSON types, malformed quantities, int-or-string, base64 of []byte fields.
    Those errors carry a "decode" key with Go's message (see `decode_error_message`); `struct` names the
    root Go type (default: the object's kind).
    """
    if builtin is None:
        builtin = resolve is not identity
    if builtin:
        errs: list[FieldError] = []
        root = struct or (obj.get("kind") if isinstance(obj, dict) and isinstance(obj.get("kind"), str) else "") or "Object"
        _decode_walk(obj, node, resolve, _decode_plan(resolve), prefix, "", root, errs)
        return errs
    root = resolve(node)
    walk = _SchemaWalk(prefix)
    walk.walk(obj, root, "", _NO_OLD if old is None else old)
    embedded: list[FieldError] = []
    listtype: list[FieldError] = []
    _structural_checks(obj, root, prefix, embedded, listtype)
    return walk.errs + embedded + listtype


# ---------------------------------------------------------------------------------------------------
# Unknown fields, pruning and defaulting.

_STR_NODE: Node = {"type": "string"}
_STR_MAP: Node = {"type": "object", "additionalProperties": _STR_NODE}
# metav1.ObjectMeta as strict decoding sees it, for custom resources whose schema does not describe metadata.
_OBJECT_META: Node = {
    "type": "object",
    "properties": {
        **{k: _STR_NODE for k in ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
                                  "creationTimestamp", "deletionTimestamp")},
        "generation": {"type": "integer"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "labels": _STR_MAP,
        "annotations": _STR_MAP,
        "finalizers": {"type": "array", "items": _STR_NODE},
        "ownerReferences": {"type": "array", "items": {"type": "object", "properties": {
            "apiVersion": _STR_NODE, "kind": _STR_NODE, "name": _STR_NODE, "uid": _STR_NODE,
            "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"}}}},
        "managedFields": {"type": "array", "items": {"type": "object", "properties": {
            **{k: _STR_NODE for k in ("manager", "operation", "apiVersion", "time", "fieldsType", "subresource")},
            "fieldsV1": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
    },
}
_META_FIELDS = ("apiVersion", "kind", "metadata")
_MAX_STRICT_ERRORS = 100


def _strict_unknown(v: Any, node: Node, resolve: Resolver, plan: _Plan, path: str, out: list[str],
                    sort_keys: bool, mutate: bool = False) -> None:
    """Unknown fields as sigs.k8s.io/json's strict decoding reports them (and drops them when mutating)."""
    d = _decode_node(node, resolve, plan)
    if d.any_fields:
        return
    if isinstance(v, dict):
        if d.free_form:
            return  # free-form JSON, or a type mismatch the decoder reports
        props, extra = d.props, d.extra
        for k in (sorted(v) if sort_keys else list(v)):
            child = f"{path}.{k}" if path else k
            p = props.get(k) if props else None
            if isinstance(p, dict):
                _strict_unknown(v[k], p, resolve, plan, child, out, sort_keys, mutate)
            elif extra is not None:
                _strict_unknown(v[k], extra, resolve, plan, child, out, sort_keys, mutate)
            elif d.extra_any:
                continue
            else:
                if len(out) < _MAX_STRICT_ERRORS and child not in out:
                    out.append(child)
                if mutate:
                    del v[k]
    elif isinstance(v, list):
        if d.items is not None:
            for i, x in enumerate(v):
                _strict_unknown(x, d.items, resolve, plan, f"{path}[{i}]", out, sort_keys, mutate)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(x: Any, s: Node | None, embedded: bool, path: str, out: list[str], mutate: bool) -> None:
    """apiextensions' structural pruning: record (and drop) fields the schema does not specify."""
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields"):
        _skip_prune(x, s, embedded, path, out, mutate)
        return
    if isinstance(x, dict):
        if s is None:
            for k in list(x):
                out.append(_join(path, k))
                if mutate:
                    del x[k]
            return
        props = s.get("properties") or {}
        extra = s.get("additionalProperties")
        for k in list(x):
            if embedded and k in _META_FIELDS:
                continue
            if k in props:
                _prune(x[k], props[k], bool(props[k].get("x-kubernetes-embedded-resource")), _join(path, k), out, mutate)
            elif extra is not None and extra is not False:
                sub = extra if isinstance(extra, dict) else None
                _prune(x[k], sub, bool(sub and sub.get("x-kubernetes-embedded-resource")), _join(path, k), out, mutate)
            else:
                if k not in _META_FIELDS or path:
                    out.append(_join(path, k))
                if mutate:
                    del x[k]
    elif isinstance(x, list):
        items = s.get("items") if s is not None else None
        items = items if isinstance(items, dict) else None
        for i, v in enumerate(x):
            _prune(v, items, bool(items and items.get("x-kubernetes-embedded-resource")), f"{path}[{i}]", out, mutate)


def _skip_prune(x: Any, s: Node | None, embedded: bool, path: str, out: list[str], mutate: bool) -> None:
    # x-kubernetes-preserve-unknown-fields keeps unknown keys but still prunes inside the known ones
    if s is None:
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        extra = s.get("additionalProperties")
        for k in list(x):
            if embedded and k in _META_FIELDS:
                continue
            if k in props:
                _prune(x[k], props[k], bool(props[k].get("x-kubernetes-embedded-resource")), _join(path, k), out, mutate)
            elif extra is not None and extra is not False:
                sub = extra if isinstance(extra, dict) else None
                _prune(x[k], sub, bool(sub and sub.get("x-kubernetes-embedded-resource")), _join(path, k), out, mutate)
    elif isinstance(x, list):
        items = s.get("items")
        items = items if isinstance(items, dict) else None
        for i, v in enumerate(x):
            _skip_prune(v, items, bool(items and items.get("x-kubernetes-embedded-resource")), f"{path}[{i}]", out, mutate)


def _coerce(x: Any, s: Node | None, fpath: str, out: list[str], mutate: bool) -> None:
    """objectmeta.Coerce below the root: unknown metadata fields of embedded resources."""
    if s is None:
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        extra = s.get("additionalProperties")
        embedded = s.get("x-kubernetes-embedded-resource")
        for k in list(x):
            v = x[k]
            if embedded and k == "metadata" and isinstance(v, dict):
                found: list[str] = []
                _strict_unknown(v, _OBJECT_META, identity, _decode_plan(identity), "", found, True, mutate)
                out.extend(f"{_join(fpath, 'metadata')}.{p}" for p in found)
                if mutate and "creationTimestamp" in v and v["creationTimestamp"] is None:
                    del v["creationTimestamp"]
            if k in props:
                _coerce(v, props[k], _join(fpath, k), out, mutate)
            elif isinstance(extra, dict):
                _coerce(v, extra, f"{fpath}[{k}]", out, mutate)
    elif isinstance(x, list):
        items = s.get("items")
        for i, v in enumerate(x):
            _coerce(v, items if isinstance(items, dict) else None, f"{fpath}[{i}]", out, mutate)


def _crd_unknown(obj: dict[str, Any], node: Node, mutate: bool) -> list[str]:
    out: list[str] = []
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        found: list[str] = []
        _strict_unknown(meta, _OBJECT_META, identity, _decode_plan(identity), "", found, True, mutate)
        out.extend("metadata." + p for p in found)
    pruned: list[str] = []
    _prune(obj, node, True, "", pruned, mutate)
    out.extend(sorted(pruned))
    if mutate:
        _prune_nulls(obj, node)
    coerced: list[str] = []
    _coerce(obj, node, "", coerced, mutate)
    out.extend(sorted(coerced))
    return out


# Unknown fields of built-in objects by (schema node, shape): see `unknown_fields`.
_UNKNOWN = ShapeCache()


def unknown_fields(obj: dict[str, Any], node: Node, resolve: Resolver, *, crd: bool | None = None,
                   of: Hashable | None = None) -> list[str]:
    """Paths of fields the schema does not know, as fieldValidation=Strict/Warn prints them
    ('unknown field "spec.containers[0].bogus"'); `obj` is not changed.

    Built-in kinds (`crd` false, the default unless `resolve` is `schema.identity`) follow strict JSON
    decoding: document order, at most 100. Custom resources follow apiextensions: unknown metadata fields,
    then the pruned paths sorted, then unknown metadata of embedded resources; x-kubernetes-preserve-unknown-fields,
    additionalProperties and embedded resources are respected.
    """
    if crd is None:
        crd = resolve is identity
    if crd:
        return _crd_unknown(obj, resolve(node), mutate=False)
    # Which fields a built-in object's schema does not know depends on the object's shape (`of`) only.
    key = (id(node), shape(obj) if of is None else of)
    hit = _UNKNOWN.get(key)
    if hit is None or hit[0] is not node:
        out: list[str] = []
        _strict_unknown(obj, node, resolve, _decode_plan(resolve), "", out, sort_keys=False)
        hit = (node, tuple(out))
        _UNKNOWN.put(key, hit)
    return list(hit[1])


def crd_prune(obj: dict[str, Any], node: Node) -> list[str]:
    """Prune a custom resource in place as apiextensions-apiserver does when decoding it: drop fields its
    structural schema does not specify (keeping x-kubernetes-preserve-unknown-fields subtrees), unknown
    metadata fields, and nulls of non-nullable fields without a default. Returns the dropped paths."""
    return _crd_unknown(obj, node, mutate=True)


def _prune_nulls(x: Any, s: Node | None) -> None:
    # PruneNonNullableNullsWithoutDefaults
    if isinstance(x, dict):
        props = (s.get("properties") or {}) if s else {}
        extra = s.get("additionalProperties") if s else None
        for k in list(x):
            sub = props.get(k) if k in props else (extra if isinstance(extra, dict) else None)
            if x[k] is None and sub is not None and not sub.get("nullable") and sub.get("default") is None:
                del x[k]
            else:
                _prune_nulls(x[k], sub)
    elif isinstance(x, list):
        items = s.get("items") if s else None
        for v in x:
            _prune_nulls(v, items if isinstance(items, dict) else None)


def _json_copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _json_copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_copy(x) for x in v]
    return v


def _non_nullable_null(x: Any, s: Node | None) -> bool:
    return x is None and s is not None and not s.get("nullable")


def crd_default(obj: Any, node: Node | None) -> None:
    """Apply structural-schema `default`s in place, as apiextensions' defaulting does: a missing property
    (or a null one that is not nullable) gets its default, then defaulting continues inside every value,
    map values and array items included."""
    if node is None:
        return
    if isinstance(obj, dict):
        props = node.get("properties") or {}
        for k, p in props.items():
            if not isinstance(p, dict) or p.get("default") is None:
                continue
            if k not in obj or _non_nullable_null(obj[k], p):
                obj[k] = _json_copy(p["default"])
        extra = node.get("additionalProperties")
        for k in list(obj):
            if k in props:
                crd_default(obj[k], props[k])
            elif isinstance(extra, dict):
                if _non_nullable_null(obj[k], extra):
                    obj[k] = _json_copy(extra.get("default"))
                crd_default(obj[k], extra)
    elif isinstance(obj, list):
        items = node.get("items")
        if not isinstance(items, dict):
            return
        for i in range(len(obj)):
            if _non_nullable_null(obj[i], items):
                obj[i] = _json_copy(items.get("default"))
            crd_default(obj[i], items)


# ---------------------------------------------------------------------------------------------------
# Hand-written validation of built-in kinds (pkg/apis/{core,apps,batch}/validation): the checks users hit.


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _num(v: Any) -> int | float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _empty(v: Any) -> bool:
    # Go zero values: JSON cannot tell an omitted false/0/"" from an explicit one
    return v is None or v is False or (type(v) is int and v == 0) or v in ("", {}, [])


def semantic_equal(a: Any, b: Any) -> bool:
    """apiequality.Semantic.DeepEqual on JSON: absent, null and zero values (false, 0, "", {}, []) are
    alike, as a Go struct does not distinguish them."""
    if _empty(a) and _empty(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return all(semantic_equal(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(semantic_equal(x, y) for x, y in zip(a, b, strict=True))
    return _json_equal(a, b)


FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
_NON_NEGATIVE_FIELDS = ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold")


def _non_negative(obj: dict[str, Any], key: str, path: str) -> list[FieldError]:
    v = _int(obj.get(key))
    return [invalid(f"{path}.{key}", v, IS_NEGATIVE)] if v is not None and v < 0 else []


def _dns_label(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_dns1123_label(value)]


def _subdomain(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_dns1123_subdomain(value)]


def _qualified(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in is_qualified_name(value)]


def _local_path(target: str, path: str, reserved: bool = True) -> list[FieldError]:
    errs = []
    if target.startswith("/"):
        errs.append(invalid(path, target, "must be a relative path"))
    if ".." in target.replace("\\", "/").split("/"):
        errs.append(invalid(path, target, "must not contain '..'"))
    elif reserved and target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _port_num_or_name(port: Any, path: str) -> list[FieldError]:
    if isinstance(port, str):
        return [invalid(path, port, m) for m in is_valid_port_name(port)]
    n = _int(port)
    if n is not None:
        return [invalid(path, n, m) for m in is_valid_port_num(n)]
    return []


def _key_to_path(kp: dict[str, Any], path: str) -> list[FieldError]:
    errs = []
    if not _str(kp.get("key")):
        errs.append(required(path + ".key"))
    target = _str(kp.get("path"))
    if not target:
        errs.append(required(path + ".path"))
    errs.extend(_local_path(target, path + ".path"))
    errs.extend(_file_mode(kp, "mode", path))
    return errs


def _file_mode(obj: dict[str, Any], key: str, path: str) -> list[FieldError]:
    mode = _int(obj.get(key))
    return [invalid(f"{path}.{key}", mode, FILE_MODE_MSG)] if mode is not None and not 0 <= mode <= 0o777 else []


# (JSON key, name used in the "more than 1 volume type" error path), in upstream's order
_VOLUME_SOURCES = (
    ("emptyDir", "emptyDir"), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"), ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"), ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"), ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"), ("rbd", "rbd"), ("cinder", "cinder"), ("cephfs", "cephFS"),
    ("quobyte", "quobyte"), ("downwardAPI", "downwarAPI"), ("fc", "fc"), ("flexVolume", "flexVolume"),
    ("configMap", "configMap"), ("azureFile", "azureFile"), ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"), ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"),
    ("storageos", "storageos"), ("projected", "projected"), ("scaleIO", "scaleIO"), ("csi", "csi"),
    ("ephemeral", "ephemeral"), ("image", "image"),
)
_HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]


def _volume_source(vol: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for key, err_name in _VOLUME_SOURCES:
        src = vol.get(key)
        if src is None:
            continue
        if count > 0:
            errs.append(forbidden(f"{path}.{err_name}", "may not specify more than 1 volume type"))
            continue
        count += 1
        errs.extend(_one_volume_source(key, _d(src), f"{path}.{key}"))
    if count == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


def _one_volume_source(key: str, src: dict[str, Any], p: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if key == "emptyDir":
        limit = src.get("sizeLimit")
        if limit is not None and quantity_error(limit) is None and parse_quantity(limit)[0] < 0:
            errs.append(forbidden(p + ".sizeLimit", "SizeLimit field must be a valid resource quantity"))
    elif key == "hostPath":
        target = _str(src.get("path"))
        if not target:
            return [required(p + ".path")]
        if ".." in target.split("/"):
            errs.append(invalid(p + ".path", target, "must not contain '..'"))
        t = src.get("type")
        if isinstance(t, str) and t not in _HOST_PATH_TYPES:
            errs.append(not_supported(p + ".type", t, _HOST_PATH_TYPES))
    elif key in ("secret", "configMap"):
        name_key = "secretName" if key == "secret" else "name"
        if not _str(src.get(name_key)):
            errs.append(required(f"{p}.{name_key}"))
        errs.extend(_file_mode(src, "defaultMode", p))
        for i, kp in enumerate(_l(src.get("items"))):
            errs.extend(_key_to_path(_d(kp), f"{p}.items[{i}]"))
    elif key == "persistentVolumeClaim":
        if not _str(src.get("claimName")):
            errs.append(required(p + ".claimName"))
    elif key == "nfs":
        if not _str(src.get("server")):
            errs.append(required(p + ".server"))
        target = _str(src.get("path"))
        if not target:
            errs.append(required(p + ".path"))
        if not target.startswith("/"):
            errs.append(invalid(p + ".path", target, "must be an absolute path"))
    elif key == "csi":
        driver = _str(src.get("driver"))
        if not driver:
            errs.append(required(p + ".driver"))
        if len(driver) > 63:
            errs.append(too_long(p + ".driver", 63))
        errs.extend(invalid(p + ".driver", driver, m) for m in is_dns1123_subdomain(driver.lower()))
    elif key == "ephemeral":
        if src.get("volumeClaimTemplate") is None:
            errs.append(required(p + ".volumeClaimTemplate"))
    elif key == "projected":
        errs.extend(_file_mode(src, "defaultMode", p))
    return errs


def _volumes(volumes: list[Any], path: str) -> tuple[set[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, v in enumerate(volumes):
        vol = _d(v)
        p = f"{path}[{i}]"
        name = _str(vol.get("name"))
        el = _volume_source(vol, p)
        if not name:
            el.append(required(p + ".name"))
        else:
            el.extend(_dns_label(name, p + ".name"))
        if name in names:
            el.append(duplicate(p + ".name", name))
        if not el:
            names.add(name)
        errs.extend(el)
    return names, errs


_PROTOCOLS = ["SCTP", "TCP", "UDP"]


def _container_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, raw in enumerate(ports):
        port = _d(raw)
        p = f"{path}[{i}]"
        name = _str(port.get("name"))
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs.extend(invalid(p + ".name", name, m) for m in msgs)
            elif name in names:
                errs.append(duplicate(p + ".name", name))
            else:
                names.add(name)
        cport = _int(port.get("containerPort")) or 0
        if cport == 0:
            errs.append(required(p + ".containerPort"))
        else:
            errs.extend(invalid(p + ".containerPort", cport, m) for m in is_valid_port_num(cport))
        hport = _int(port.get("hostPort")) or 0
        if hport:
            errs.extend(invalid(p + ".hostPort", hport, m) for m in is_valid_port_num(hport))
        proto = port.get("protocol")
        if isinstance(proto, str):
            if not proto:
                errs.append(required(p + ".protocol"))
            elif proto not in _PROTOCOLS:
                errs.append(not_supported(p + ".protocol", proto, _PROTOCOLS))
    return errs


_FIELD_LABELS = {"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
                 "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
                 "status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
_ENV_FIELD_PATHS = sorted({"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                           "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"})
_RESOURCE_FIELD_PATHS = sorted({"limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu",
                                "requests.memory", "requests.ephemeral-storage"})


def _field_ref(ref: dict[str, Any], path: str) -> list[FieldError]:
    if not _str(ref.get("apiVersion")) and "apiVersion" in ref:
        return [required(path + ".apiVersion")]
    fp = _str(ref.get("fieldPath"))
    if not fp:
        return [required(path + ".fieldPath")]
    m = re.fullmatch(r"(metadata\.(?:labels|annotations))\['(.*)'\]", fp)
    base = m.group(1) if m else fp
    if base not in _FIELD_LABELS:
        return [invalid(path + ".fieldPath", fp, f"error converting fieldPath: field label not supported: {fp}")]
    if m:
        key = m.group(2).lower() if base == "metadata.annotations" else m.group(2)
        return _qualified(key, path)
    if base not in _ENV_FIELD_PATHS:
        return [not_supported(path + ".fieldPath", base, _ENV_FIELD_PATHS)]
    return []


def _key_selector(sel: dict[str, Any], path: str) -> list[FieldError]:
    name = _str(sel.get("name"))
    errs = [invalid(path + ".name", name, m) for m in is_dns1123_subdomain(name)]
    key = _str(sel.get("key"))
    if not key:
        errs.append(required(path + ".key"))
    else:
        errs.extend(invalid(path + ".key", key, m) for m in is_config_map_key(key))
    return errs


def _env(env: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(env):
        ev = _d(raw)
        p = f"{path}[{i}]"
        name = _str(ev.get("name"))
        if not name:
            errs.append(required(p + ".name"))
        else:
            errs.extend(invalid(p + ".name", name, m) for m in _relaxed_env_name(name))
        source = ev.get("valueFrom")
        if source is None:
            continue
        src = _d(source)
        vp = p + ".valueFrom"
        count = 0
        if src.get("fieldRef") is not None:
            count += 1
            errs.extend(_field_ref(_d(src["fieldRef"]), vp + ".fieldRef"))
        if src.get("resourceFieldRef") is not None:
            count += 1
            res = _str(_d(src["resourceFieldRef"]).get("resource"))
            rp = vp + ".resourceFieldRef.resource"
            if not res:
                errs.append(required(rp))
            elif res not in _RESOURCE_FIELD_PATHS and not res.startswith(("requests.hugepages-", "limits.hugepages-")):
                errs.append(not_supported(rp, res, _RESOURCE_FIELD_PATHS))
        for key in ("configMapKeyRef", "secretKeyRef"):
            if src.get(key) is not None:
                count += 1
                errs.extend(_key_selector(_d(src[key]), f"{vp}.{key}"))
        if count == 0:
            errs.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        elif _str(ev.get("value")):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif count > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _env_from(sources: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(sources):
        ev = _d(raw)
        p = f"{path}[{i}]"
        pfx = _str(ev.get("prefix"))
        if pfx:
            errs.extend(invalid(p + ".prefix", pfx, m) for m in _relaxed_env_name(pfx))
        count = 0
        for key in ("configMapRef", "secretRef"):
            if ev.get(key) is None:
                continue
            count += 1
            name = _str(_d(ev[key]).get("name"))
            if not name:
                errs.append(required(f"{p}.{key}.name"))
            else:
                errs.extend(invalid(f"{p}.{key}.name", name, m) for m in name_errors(name, "dns1123subdomain", True))
        if count == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _volume_mounts(mounts: list[Any], volumes: set[str], privileged: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, raw in enumerate(mounts):
        m = _d(raw)
        p = f"{path}[{i}]"
        name = _str(m.get("name"))
        if not name:
            errs.append(required(p + ".name"))
        if name not in volumes:
            errs.append(not_found(p + ".name", name))
        mount_path = _str(m.get("mountPath"))
        if not mount_path:
            errs.append(required(p + ".mountPath"))
        if mount_path in seen:
            errs.append(invalid(p + ".mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
        sub = _str(m.get("subPath"))
        if sub:
            errs.extend(_local_path(sub, path + ".subPath", reserved=False))
        expr = _str(m.get("subPathExpr"))
        if expr:
            if sub:
                errs.append(invalid(p + ".subPathExpr", expr, "subPathExpr and subPath are mutually exclusive"))
            errs.extend(_local_path(expr, path + ".subPathExpr", reserved=False))
        prop = m.get("mountPropagation")
        if isinstance(prop, str):
            modes = ["Bidirectional", "HostToContainer", "None"]
            if prop not in modes:
                errs.append(not_supported(path + ".mountPropagation", prop, modes))
            if prop == "Bidirectional" and not privileged:
                errs.append(forbidden(path + ".mountPropagation", "Bidirectional mount propagation is available only to privileged containers"))
    return errs


_STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
                       "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services",
                       "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
                       "storage", "requests.storage", "services.nodeports", "services.loadbalancers"}


def _is_native_resource(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended_resource(name: str) -> bool:
    return not _is_native_resource(name) and not name.startswith("requests.") and not is_qualified_name("requests." + name)


def _container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = _qualified(name, path)
    if errs:
        return errs
    if "/" not in name:
        if name not in _STANDARD_RESOURCES and not name.startswith(("hugepages-", "requests.hugepages-")):
            errs.append(invalid(path, name, "must be a standard resource type or fully qualified"))
        if name not in ("cpu", "memory", "ephemeral-storage") and not name.startswith("hugepages-"):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native_resource(name) and not _is_extended_resource(name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _quantity_value(name: str, q: tuple[Fraction, str], path: str) -> list[FieldError]:
    errs = []
    if q[0] < 0:
        errs.append(invalid(path, format_quantity(*q), IS_NEGATIVE))
    if _is_extended_resource(name) and q[0].denominator != 1:
        errs.append(invalid(path, format_quantity(*q), "must be an integer"))
    return errs


def _parsed_resources(res: Any) -> dict[str, tuple[Fraction, str]]:
    out = {}
    for k, v in _d(res).items():
        if v is not None and quantity_error(v) is None:
            out[k] = parse_quantity(v)
    return out


def _resources(res: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    lim_path, req_path = path + ".limits", path + ".requests"
    limits = _parsed_resources(res.get("limits"))
    requests = _parsed_resources(res.get("requests"))
    for name, q in limits.items():
        p = f"{lim_path}[{name}]"
        errs.extend(_container_resource_name(name, p))
        errs.extend(_quantity_value(name, q, p))
    for name, q in requests.items():
        p = f"{req_path}[{name}]"
        errs.extend(_container_resource_name(name, p))
        errs.extend(_quantity_value(name, q, p))
        overcommit = _is_native_resource(name) and not name.startswith("hugepages-")
        limit = limits.get(name)
        if limit is not None:
            if q[0] != limit[0] and not overcommit:
                errs.append(invalid(req_path, format_quantity(*q), f"must be equal to {name} limit of {format_quantity(*limit)}"))
            elif q[0] > limit[0]:
                errs.append(invalid(req_path, format_quantity(*q),
                                    f"must be less than or equal to {name} limit of {format_quantity(*limit)}"))
        elif not overcommit:
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    return errs


def _handler(h: dict[str, Any], kinds: tuple[str, ...], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for kind in kinds:
        action = h.get(kind)
        if action is None:
            continue
        if count:
            errs.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        count += 1
        a, p = _d(action), f"{path}.{kind}"
        if kind == "exec" and not _l(a.get("command")):
            errs.append(required(p + ".command"))
        elif kind == "httpGet":
            if "path" in a and not _str(a.get("path")):
                errs.append(required(p + ".path"))
            errs.extend(_port_num_or_name(a.get("port"), p + ".port"))
            scheme = a.get("scheme")
            if isinstance(scheme, str) and scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(p + ".scheme", scheme, ["HTTP", "HTTPS"]))
        elif kind in ("tcpSocket", "grpc"):
            errs.extend(_port_num_or_name(a.get("port"), p + ".port"))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _probe(probe: Any, kind: str, path: str) -> list[FieldError]:
    if probe is None:
        return []
    pr = _d(probe)
    errs = _handler(pr, ("exec", "httpGet", "tcpSocket", "grpc"), path)
    for key in _NON_NEGATIVE_FIELDS:
        errs.extend(_non_negative(pr, key, path))
    grace = _int(pr.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        errs.append(invalid(path + ".terminationGracePeriodSeconds", grace, "must be greater than 0"))
    success = _int(pr.get("successThreshold"))
    if kind in ("liveness", "startup") and success is not None and success != 1:
        errs.append(invalid(path + ".successThreshold", success, "must be 1"))
    if kind == "readiness" and pr.get("terminationGracePeriodSeconds") is not None:
        errs.append(invalid(path + ".terminationGracePeriodSeconds", pr["terminationGracePeriodSeconds"],
                            "must not be set for readinessProbes"))
    return errs


def _container_common(c: dict[str, Any], volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = _str(c.get("name"))
    if not name:
        errs.append(required(path + ".name"))
    else:
        errs.extend(_dns_label(name, path + ".name"))
    if not _str(c.get("image")):
        errs.append(required(path + ".image"))
    tmp = c.get("terminationMessagePolicy")
    if isinstance(tmp, str) and tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(required(path + ".terminationMessagePolicy") if not tmp else
                    not_supported(path + ".terminationMessagePolicy", tmp, ["File", "FallbackToLogsOnError"]))
    errs.extend(_container_ports(_l(c.get("ports")), path + ".ports"))
    errs.extend(_env(_l(c.get("env")), path + ".env"))
    errs.extend(_env_from(_l(c.get("envFrom")), path + ".envFrom"))
    sc = _d(c.get("securityContext"))
    errs.extend(_volume_mounts(_l(c.get("volumeMounts")), volumes, sc.get("privileged") is True, path + ".volumeMounts"))
    policy = c.get("imagePullPolicy")
    if isinstance(policy, str):
        if not policy:
            errs.append(required(path + ".imagePullPolicy"))
        elif policy not in ("Always", "IfNotPresent", "Never"):
            errs.append(not_supported(path + ".imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"]))
    errs.extend(_resources(_d(c.get("resources")), path + ".resources"))
    for key in ("runAsUser", "runAsGroup"):
        v = _int(sc.get(key))
        if v is not None and not 0 <= v <= MAX_INT32:
            errs.append(invalid(f"{path}.securityContext.{key}", v, f"must be between 0 and {MAX_INT32}, inclusive"))
    return errs


def _host_port_conflicts(containers: list[dict[str, Any]], path: str, seen: set[str]) -> list[FieldError]:
    errs = []
    for ci, c in enumerate(containers):
        for pi, raw in enumerate(_l(c.get("ports"))):
            port = _d(raw)
            hp = _int(port.get("hostPort")) or 0
            if not hp:
                continue
            key = f"{_str(port.get('protocol')) or 'TCP'}/{_str(port.get('hostIP'))}/{hp}"
            if key in seen:
                errs.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            else:
                seen.add(key)
    return errs


def _containers(containers: list[dict[str, Any]], volumes: set[str], path: str) -> list[FieldError]:
    if not containers:
        return [required(path)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        errs.extend(_container_common(c, volumes, p))
        name = _str(c.get("name"))
        if name in names:
            errs.append(duplicate(p + ".name", name))
        else:
            names.add(name)
        if c.get("lifecycle") is not None:
            lc = _d(c["lifecycle"])
            for hook in ("postStart", "preStop"):
                if lc.get(hook) is not None:
                    errs.extend(_handler(_d(lc[hook]), ("exec", "httpGet", "tcpSocket", "sleep"), f"{p}.lifecycle.{hook}"))
        for kind in ("liveness", "readiness", "startup"):
            errs.extend(_probe(c.get(kind + "Probe"), kind, f"{p}.{kind}Probe"))
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(p + ".restartPolicy", "may not be set for non-init containers"))
    errs.extend(_host_port_conflicts(containers, path, set()))
    return errs


def _init_containers(inits: list[dict[str, Any]], regular: list[dict[str, Any]], volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names = {_str(c.get("name")) for c in regular}
    for i, c in enumerate(inits):
        p = f"{path}[{i}]"
        errs.extend(_container_common(c, volumes, p))
        policy = c.get("restartPolicy")
        always = policy == "Always"
        if isinstance(policy, str) and not always:
            errs.append(not_supported(p + ".restartPolicy", policy, ["Always"]))
        name = _str(c.get("name"))
        if name in names:
            errs.append(duplicate(p + ".name", name))
        elif name:
            names.add(name)
        errs.extend(_host_port_conflicts([c], path, set()))
        if always:
            for kind in ("liveness", "readiness", "startup"):
                errs.extend(_probe(c.get(kind + "Probe"), kind, f"{p}.{kind}Probe"))
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(key) is not None:
                    errs.append(forbidden(f"{p}.{key}", "may not be set for init containers without restartPolicy=Always"))
    return errs


def _tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, raw in enumerate(tolerations):
        t = _d(raw)
        p = f"{path}[{i}]"
        key, op, effect, value = _str(t.get("key")), _str(t.get("operator")), _str(t.get("effect")), _str(t.get("value"))
        if key:
            errs.extend(_qualified(key, p + ".key"))
        if not key and op != "Exists":
            errs.append(invalid(p + ".operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(p + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_label_value(value)
            if msgs:
                errs.append(invalid(p + ".operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(invalid(p + ".operator", value, "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(p + ".operator", op, ["Equal", "Exists"]))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(not_supported(p + ".effect", effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
    return errs


def _node_selector_requirement(req: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    op, values = _str(req.get("operator")), _l(req.get("values"))
    if op in ("In", "NotIn"):
        if not values:
            errs.append(required(path + ".values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(forbidden(path + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif op in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(required(path + ".values", "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    else:
        errs.append(invalid(path + ".operator", op, "not a valid selector operator"))
    errs.extend(_qualified(_str(req.get("key")), path + ".key"))
    return errs


def _affinity(aff: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    na = _d(aff.get("nodeAffinity"))
    required_terms = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required_terms is not None:
        p = path + ".nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        terms = _l(_d(required_terms).get("nodeSelectorTerms"))
        if not terms:
            errs.append(required(p, "must have at least one node selector term"))
        for i, term in enumerate(terms):
            for j, req in enumerate(_l(_d(term).get("matchExpressions"))):
                errs.extend(_node_selector_requirement(_d(req), f"{p}[{i}].matchExpressions[{j}]"))
    for i, pref in enumerate(_l(na.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        p = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        w = _int(_d(pref).get("weight"))
        if w is None or not 0 < w <= 100:
            errs.append(invalid(p + ".weight", w if w is not None else 0, "must be in the range 1-100"))
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = _d(aff.get(kind))
        for i, term in enumerate(_l(pa.get("requiredDuringSchedulingIgnoredDuringExecution"))):
            errs.extend(_pod_affinity_term(_d(term), f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"))
        for i, wt in enumerate(_l(pa.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            p = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            w = _int(_d(wt).get("weight"))
            if w is None or not 0 < w <= 100:
                errs.append(invalid(p + ".weight", w if w is not None else 0, "must be in the range 1-100"))
            errs.extend(_pod_affinity_term(_d(_d(wt).get("podAffinityTerm")), p + ".podAffinityTerm"))
    return errs


def _pod_affinity_term(term: dict[str, Any], path: str) -> list[FieldError]:
    errs = _label_selector(term.get("labelSelector"), path + ".labelSelector")
    for ns in _l(term.get("namespaces")):
        if isinstance(ns, str):
            errs.extend(invalid(path + ".namespace", ns, m) for m in is_dns1123_label(ns))
    key = _str(term.get("topologyKey"))
    if not key:
        errs.append(required(path + ".topologyKey", "can not be empty"))
    errs.extend(_qualified(key, path + ".topologyKey"))
    return errs


def _label_selector(sel: Any, path: str) -> list[FieldError]:
    """metav1 ValidateLabelSelector (strict label values)."""
    if not isinstance(sel, dict):
        return []
    errs = validate_labels(sel.get("matchLabels"), path + ".matchLabels")
    for i, raw in enumerate(_l(sel.get("matchExpressions"))):
        expr, p = _d(raw), f"{path}.matchExpressions[{i}]"
        op, values = _str(expr.get("operator")), _l(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(p + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(p + ".operator", op, "not a valid selector operator"))
        errs.extend(_qualified(_str(expr.get("key")), p + ".key"))
        for j, v in enumerate(values):
            if isinstance(v, str):
                errs.extend(invalid(f"{p}.values[{j}]", v, m) for m in is_label_value(v))
    return errs


def _selector_value(sel: Any) -> Any:
    """A metav1.LabelSelector as its JSON (struct field order, empty fields omitted)."""
    if not isinstance(sel, dict):
        return None
    out = GoStruct()
    if sel.get("matchLabels"):
        out["matchLabels"] = sel["matchLabels"]
    if sel.get("matchExpressions"):
        exprs = []
        for raw in _l(sel["matchExpressions"]):
            e = _d(raw)
            item = GoStruct(key=_str(e.get("key")), operator=_str(e.get("operator")))
            if e.get("values"):
                item["values"] = e["values"]
            exprs.append(item)
        out["matchExpressions"] = exprs
    return out


def _selector_matches(sel: Any, labels: dict[str, Any]) -> bool | None:
    """Whether a LabelSelector matches labels; None when LabelSelectorAsSelector would fail on it."""
    if sel is None:
        return False  # LabelSelectorAsSelector(nil) is labels.Nothing()
    if _label_selector(sel, "selector"):
        return None  # NewRequirement rejects what the selector validation rejects
    s = _d(sel)
    for k, v in _d(s.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for raw in _l(s.get("matchExpressions")):
        e = _d(raw)
        key, op, values = _str(e.get("key")), _str(e.get("operator")), _l(e.get("values"))
        present = key in labels
        if (op == "In" and not (present and labels[key] in values)) or (op == "NotIn" and present and labels[key] in values):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _selector_is_empty(sel: Any) -> bool:
    s = _d(sel)
    return not s.get("matchLabels") and not s.get("matchExpressions")


_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_WHEN_UNSATISFIABLE = ["DoNotSchedule", "ScheduleAnyway"]


def _pod_spec(spec: dict[str, Any], path: str, is_pod: bool) -> list[FieldError]:
    """ValidatePodSpec, for fields as they are after defaulting (absent defaulted fields are fine)."""
    errs: list[FieldError] = []
    volumes, verrs = _volumes(_l(spec.get("volumes")), path + ".volumes")
    errs.extend(verrs)
    containers = [_d(c) for c in _l(spec.get("containers"))]
    errs.extend(_containers(containers, volumes, path + ".containers"))
    errs.extend(_init_containers([_d(c) for c in _l(spec.get("initContainers"))], containers, volumes, path + ".initContainers"))
    if spec.get("hostNetwork") is True:
        for i, c in enumerate(containers):
            for j, raw in enumerate(_l(c.get("ports"))):
                port = _d(raw)
                hp, cp = _int(port.get("hostPort")) or 0, _int(port.get("containerPort")) or 0
                if (is_pod or hp != 0) and hp != cp:
                    errs.append(invalid(f"{path}.containers[{i}].ports[{j}].hostPort", hp,
                                        "must match `containerPort` when `hostNetwork` is true"))
    restart = spec.get("restartPolicy")
    if isinstance(restart, str) and restart not in _RESTART_POLICIES:
        errs.append(required(path + ".restartPolicy") if not restart else
                    not_supported(path + ".restartPolicy", restart, _RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    if isinstance(dns, str) and dns not in _DNS_POLICIES:
        errs.append(required(path + ".dnsPolicy") if not dns else not_supported(path + ".dnsPolicy", dns, _DNS_POLICIES))
    errs.extend(validate_labels(spec.get("nodeSelector"), path + ".nodeSelector"))
    psc = _d(spec.get("securityContext"))
    for key in ("runAsUser", "runAsGroup"):
        v = _int(psc.get(key))
        if v is not None and not 0 <= v <= MAX_INT32:
            errs.append(invalid(f"{path}.securityContext.{key}", v, f"must be between 0 and {MAX_INT32}, inclusive"))
    for i, raw in enumerate(_l(spec.get("imagePullSecrets"))):
        ref = _d(raw)
        if set(ref) - {"name"}:
            errs.append(invalid(f"{path}.imagePullSecrets[{i}]", GoStruct(Name=_str(ref.get("name"))), "only name may be set"))
    errs.extend(_affinity(_d(spec.get("affinity")), path + ".affinity"))
    errs.extend(_dns_config(spec, path))
    errs.extend(_topology_spread(_l(spec.get("topologySpreadConstraints")), path + ".topologySpreadConstraints"))
    for key in ("serviceAccountName", "nodeName", "priorityClassName"):
        name = _str(spec.get(key))
        if name:
            errs.extend(_subdomain(name, f"{path}.{key}"))
    deadline = _int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(invalid(path + ".activeDeadlineSeconds", deadline, f"must be between 1 and {MAX_INT32}, inclusive"))
    for key in ("hostname", "subdomain"):
        name = _str(spec.get(key))
        if name:
            errs.extend(_dns_label(name, f"{path}.{key}"))
    errs.extend(_tolerations(_l(spec.get("tolerations")), path + ".tolerations"))
    runtime_class = spec.get("runtimeClassName")
    if isinstance(runtime_class, str):
        errs.extend(_subdomain(runtime_class, path + ".runtimeClassName"))
    preemption = spec.get("preemptionPolicy")
    if isinstance(preemption, str) and preemption not in ("PreemptLowerPriority", "Never"):
        errs.append(not_supported(path + ".preemptionPolicy", preemption, ["PreemptLowerPriority", "Never"]))
    os_ = spec.get("os")
    if isinstance(os_, dict):
        os_name = _str(os_.get("name"))
        if not os_name:
            errs.append(required(path + ".os.name", "cannot be empty"))
        elif os_name not in ("linux", "windows"):
            errs.append(not_supported(path + ".os", os_name, ["linux", "windows"]))
    return errs


def _dns_config(spec: dict[str, Any], path: str) -> list[FieldError]:
    cfg = spec.get("dnsConfig")
    p = path + ".dnsConfig"
    if spec.get("dnsPolicy") == "None":
        if cfg is None:
            return [required(p, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not _l(_d(cfg).get("nameservers")):
            return [required(p + ".nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if cfg is None:
        return []
    errs = []
    servers = _l(_d(cfg).get("nameservers"))
    if len(servers) > 3:
        errs.append(invalid(p + ".nameservers", servers, "must not have more than 3 nameservers"))
    searches = _l(_d(cfg).get("searches"))
    if len(searches) > 32:
        errs.append(invalid(p + ".searches", searches, "must not have more than 32 search paths"))
    for i, raw in enumerate(_l(_d(cfg).get("options"))):
        if not _str(_d(raw).get("name")):
            errs.append(required(f"{p}.options[{i}]", "must not be empty"))
    return errs


def _topology_spread(constraints: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = [_d(c) for c in constraints]
    for i, c in enumerate(items):
        p = f"{path}[{i}]"
        skew = _int(c.get("maxSkew")) or 0
        if skew <= 0:
            errs.append(invalid(p + ".maxSkew", skew, "must be greater than zero"))
        key, action = _str(c.get("topologyKey")), _str(c.get("whenUnsatisfiable"))
        if not key:
            errs.append(required(p + ".topologyKey", "can not be empty"))
        if action not in _WHEN_UNSATISFIABLE:
            errs.append(not_supported(p + ".whenUnsatisfiable", action, _WHEN_UNSATISFIABLE))
        if any(_str(o.get("topologyKey")) == key and _str(o.get("whenUnsatisfiable")) == action for o in items[i + 1:]):
            errs.append(duplicate(p + ".{topologyKey, whenUnsatisfiable}", f"{{{key}, {action}}}"))
        errs.extend(_label_selector(c.get("labelSelector"), p + ".labelSelector"))
    return errs


_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def _pod_annotations(annotations: Any, spec: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    ann = _d(annotations)
    if "kubernetes.io/config.mirror" in ann and not _str(spec.get("nodeName")):
        errs.append(invalid(f"{path}[kubernetes.io/config.mirror]", ann["kubernetes.io/config.mirror"],
                            "must set spec.nodeName if mirror pod annotation is set"))
    if _DELETION_COST in ann:
        cost = ann[_DELETION_COST]
        ok = isinstance(cost, str) and re.fullmatch(r"[+-]?[0-9]+", cost) and -(2**31) <= int(cost) < 2**31
        if not ok:
            errs.append(invalid(f"{path}[{_DELETION_COST}]", cost, "must be a 32bit integer"))
    return errs


def _pod_template(template: dict[str, Any], path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: note upstream's paths 'template.labels' and 'template.annotations'."""
    meta = _d(template.get("metadata"))
    spec = _d(template.get("spec"))
    errs = validate_labels(meta.get("labels"), path + ".labels")
    errs.extend(validate_annotations(meta.get("annotations"), path + ".annotations"))
    errs.extend(_pod_annotations(meta.get("annotations"), spec, path + ".annotations"))
    errs.extend(_pod_spec(spec, path + ".spec", is_pod=False))
    if _l(spec.get("ephemeralContainers")):
        errs.append(forbidden(path + ".spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


def _validate_pod(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs = _pod_annotations(_d(obj.get("metadata")).get("annotations"), spec, "metadata.annotations")
    errs.extend(_pod_spec(spec, "spec", is_pod=True))
    for key in ("containers", "initContainers"):
        for i, c in enumerate(_l(spec.get(key))):
            image = _str(_d(c).get("image"))
            if image != image.strip():
                errs.append(invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace"))
    if old is not None:
        errs.extend(_pod_update(spec, _d(old.get("spec"))))
    return errs


_POD_UPDATABLE = ",".join((
    "`spec.containers[*].image`", "`spec.initContainers[*].image`", "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
))
_GO_FIELD_NAMES = {"hostPID": "HostPID", "hostIPC": "HostIPC", "dnsPolicy": "DNSPolicy", "dnsConfig": "DNSConfig",
                   "os": "OS", "hostUsers": "HostUsers"}


def _spec_diff(type_name: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """A cmp.Diff-style summary of top-level changes (upstream prints Go's full diff of the internal type)."""
    lines = [f"  {type_name}{{"]
    for k in sorted(old.keys() | new.keys()):
        if semantic_equal(old.get(k), new.get(k)):
            continue
        name = _GO_FIELD_NAMES.get(k, k[:1].upper() + k[1:])
        if k in old:
            lines.append(f"- \t{name}: {go_json(old[k])},")
        if k in new:
            lines.append(f"+ \t{name}: {go_json(new[k])},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _pod_update(spec: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("containers", "initContainers"):
        new_c, old_c = _l(spec.get(key)), _l(old.get(key))
        if len(new_c) != len(old_c):
            errs.append(forbidden(f"spec.{key}", "pod updates may not add or remove containers"))
            return errs
        for i, c in enumerate(new_c):
            image = _str(_d(c).get("image"))
            if not image:
                errs.append(required(f"spec.{key}[{i}].image"))
            if image != image.strip():
                errs.append(invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace"))
    new_deadline, old_deadline = _int(spec.get("activeDeadlineSeconds")), _int(old.get("activeDeadlineSeconds"))
    if new_deadline is not None:
        if not 0 <= new_deadline <= MAX_INT32:
            errs.append(invalid("spec.activeDeadlineSeconds", new_deadline, f"must be between 0 and {MAX_INT32}, inclusive"))
            return errs
        if old_deadline is not None and old_deadline < new_deadline:
            errs.append(invalid("spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value"))
            return errs
    elif old_deadline is not None:
        errs.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    new_tol, old_tol = [_d(t) for t in _l(spec.get("tolerations"))], [_d(t) for t in _l(old.get("tolerations"))]
    for t in old_tol:
        base = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        if not any(semantic_equal(base, {k: v for k, v in n.items() if k != "tolerationSeconds"}) for n in new_tol):
            errs.append(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"))
            break
    if semantic_equal(spec, old):
        return errs
    munged = dict(spec)
    for key in ("containers", "initContainers"):
        olds = _l(old.get(key))
        munged[key] = [{**_d(c), "image": _d(olds[i]).get("image")} for i, c in enumerate(_l(spec.get(key)))]
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(key, None)
        if key in old:
            munged[key] = old[key]
    old_grace = _int(old.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not semantic_equal(munged, old):
        errs.append(forbidden("spec", f"pod updates may not change fields other than {_POD_UPDATABLE}\n"
                              + _spec_diff("core.PodSpec", old, munged)))
    return errs


# ---- workloads (apps, batch) -----------------------------------------------------------------------


def _int_or_percent(v: Any, path: str) -> list[FieldError]:
    if isinstance(v, str):
        return [] if _PERCENT_RE.fullmatch(v) else [invalid(path, v, regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'", _PERCENT_FMT, "1%", "93%"))]
    n = _int(v)
    return [invalid(path, n, IS_NEGATIVE)] if n is not None and n < 0 else []


def _percent_value(v: Any) -> int:
    if isinstance(v, str):
        return int(v[:-1]) if _PERCENT_RE.fullmatch(v) else 0
    return _int(v) or 0


def _not_over_100(v: Any, path: str) -> list[FieldError]:
    if isinstance(v, str) and _PERCENT_RE.fullmatch(v) and int(v[:-1]) > 100:
        return [invalid(path, v, "must not be greater than 100%")]
    return []


def _selector_match_errors(sel: Any, labels: dict[str, Any]) -> tuple[bool, list[FieldError]]:
    """(converted, errors) of LabelSelectorAsSelector plus the template-labels match; a missing selector
    converts to 'nothing', which matches no labels."""
    matches = _selector_matches(sel, labels)
    if matches is None:
        return False, []
    if (sel is None or not _selector_is_empty(sel)) and not matches:
        return True, [invalid("spec.template.metadata.labels", labels or None, "`selector` does not match template `labels`")]
    return True, []


def _selector_and_template(spec: dict[str, Any], kind: str, restart: list[str]) -> list[FieldError]:
    """Selector presence/syntax, selector matching template labels, and the pod template."""
    errs: list[FieldError] = []
    sel = spec.get("selector")
    template = _d(spec.get("template"))
    labels = _d(_d(template.get("metadata")).get("labels"))
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(_label_selector(sel, "spec.selector"))
        if _selector_is_empty(sel):
            errs.append(invalid("spec.selector", _selector_value(sel), f"empty selector is invalid for {kind}"))
    converted, match_errs = _selector_match_errors(sel, labels)
    if not converted:
        errs.append(invalid("spec.selector", _selector_value(sel), "invalid label selector"))
    else:
        errs.extend(match_errs)
        errs.extend(_pod_template(template, "spec.template"))
        errs.extend(_template_restart(template, restart))
    return errs


def _template_restart(template: dict[str, Any], allowed: list[str]) -> list[FieldError]:
    pspec = _d(template.get("spec"))
    policy = pspec.get("restartPolicy")
    policy = policy if isinstance(policy, str) and policy else "Always"  # pod defaulting fills Always
    if policy not in allowed:
        return [not_supported("spec.template.spec.restartPolicy", policy, allowed)]
    return []


def _deployment(obj: dict[str, Any], old: dict[str, Any] | None, kind: str) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    errs.extend(_non_negative(spec, "replicas", "spec"))
    if kind == "ReplicaSet":
        errs.extend(_non_negative(spec, "minReadySeconds", "spec"))
    errs.extend(_selector_and_template(spec, "deployment", ["Always"]))
    if _d(_d(spec.get("template")).get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported"))
    if kind == "Deployment":
        errs.extend(_deployment_strategy(spec))
        errs.extend(_non_negative(spec, "minReadySeconds", "spec"))
        errs.extend(_non_negative(spec, "revisionHistoryLimit", "spec"))
        pds = _int(spec.get("progressDeadlineSeconds"))
        if pds is not None:
            errs.extend(_non_negative(spec, "progressDeadlineSeconds", "spec"))
            if pds <= (_int(spec.get("minReadySeconds")) or 0):
                errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    if old is not None:
        errs.extend(_immutable_selector(spec, _d(old.get("spec"))))
    return errs


def _immutable_selector(spec: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    if semantic_equal(spec.get("selector"), old.get("selector")):
        return []
    return [invalid("spec.selector", _selector_value(spec.get("selector")), FIELD_IMMUTABLE)]


def _deployment_strategy(spec: dict[str, Any]) -> list[FieldError]:
    strategy = spec.get("strategy")
    if strategy is None:
        return []
    s = _d(strategy)
    t = s.get("type")
    if t == "Recreate":
        if s.get("rollingUpdate") is not None:
            return [forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if t == "RollingUpdate" or t is None:
        ru = s.get("rollingUpdate")
        if ru is None:
            return []
        r, p = _d(ru), "spec.strategy.rollingUpdate"
        errs = _int_or_percent(r.get("maxUnavailable"), p + ".maxUnavailable")
        errs.extend(_int_or_percent(r.get("maxSurge"), p + ".maxSurge"))
        if "maxUnavailable" in r and "maxSurge" in r and _percent_value(r["maxUnavailable"]) == 0 and _percent_value(r["maxSurge"]) == 0:
            errs.append(invalid(p + ".maxUnavailable", r["maxUnavailable"], "may not be 0 when `maxSurge` is 0"))
        errs.extend(_not_over_100(r.get("maxUnavailable"), p + ".maxUnavailable"))
        return errs
    value = GoStruct(type=t) if not s.get("rollingUpdate") else GoStruct(type=t, rollingUpdate=s["rollingUpdate"])
    return [not_supported("spec.strategy", value, ["Recreate", "RollingUpdate"])]


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _statefulset(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    pmp = spec.get("podManagementPolicy")
    if isinstance(pmp, str) and pmp not in ("OrderedReady", "Parallel"):
        errs.append(required("spec.podManagementPolicy") if not pmp else
                    invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    us = spec.get("updateStrategy")
    if isinstance(us, dict):
        t = us.get("type", "RollingUpdate")
        if t == "OnDelete":
            if us.get("rollingUpdate") is not None:
                errs.append(invalid("spec.updateStrategy.rollingUpdate", us["rollingUpdate"], "only allowed for updateStrategy 'RollingUpdate'"))
        elif t == "RollingUpdate":
            ru, p = _d(us.get("rollingUpdate")), "spec.updateStrategy.rollingUpdate"
            errs.extend(_non_negative(ru, "partition", p))
            if ru.get("maxUnavailable") is not None:
                mu = ru["maxUnavailable"]
                errs.extend(_int_or_percent(mu, p + ".maxUnavailable"))
                if _percent_value(mu) == 0:
                    errs.append(invalid(p + ".maxUnavailable", mu, "cannot be 0"))
                errs.extend(_not_over_100(mu, p + ".maxUnavailable"))
        else:
            errs.append(required("spec.updateStrategy") if not t else
                        invalid("spec.updateStrategy", GoStruct(type=t), "must be 'RollingUpdate' or 'OnDelete'"))
    retention = _d(spec.get("persistentVolumeClaimRetentionPolicy"))
    for key in ("whenDeleted", "whenScaled"):
        v = retention.get(key)
        if isinstance(v, str) and v not in ("Retain", "Delete"):
            errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", v, ["Retain", "Delete"]))
    errs.extend(_non_negative(spec, "replicas", "spec"))
    errs.extend(_non_negative(spec, "minReadySeconds", "spec"))
    start = _int(_d(spec.get("ordinals")).get("start"))
    if start is not None and start < 0:
        errs.append(invalid("spec.ordinals.start", start, IS_NEGATIVE))
    # upstream checks only the template's labels and annotations for StatefulSets, not its pod spec
    template = _d(spec.get("template"))
    meta = _d(template.get("metadata"))
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(_label_selector(sel, "spec.selector"))
        if _selector_is_empty(sel):
            errs.append(invalid("spec.selector", _selector_value(sel), "empty selector is invalid for statefulset"))
    converted, match_errs = _selector_match_errors(sel, _d(meta.get("labels")))
    if not converted:
        errs.append(invalid("spec.selector", _selector_value(sel), ""))
    else:
        errs.extend(match_errs)
        errs.extend(validate_labels(meta.get("labels"), "spec.template.labels"))
        errs.extend(validate_annotations(meta.get("annotations"), "spec.template.annotations"))
        errs.extend(_pod_annotations(meta.get("annotations"), _d(template.get("spec")), "spec.template.annotations"))
    errs.extend(_template_restart(template, ["Always"]))
    if _d(template.get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"))
    if old is not None:
        old_spec = _d(old.get("spec"))
        a = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
        b = {k: v for k, v in old_spec.items() if k not in _STS_MUTABLE}
        if not semantic_equal(a, b):
            errs.append(forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                                  "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
    return errs


def _daemonset(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    sel = spec.get("selector")
    template = _d(spec.get("template"))
    labels = _d(_d(template.get("metadata")).get("labels"))
    errs.extend(_label_selector(sel, "spec.selector"))
    if _selector_matches(sel, labels) is False:
        errs.append(invalid("spec.template.metadata.labels", labels or None, "`selector` does not match template `labels`"))
    if isinstance(sel, dict) and _selector_is_empty(sel):
        errs.append(invalid("spec.selector", _selector_value(sel), "empty selector is invalid for daemonset"))
    errs.extend(_pod_template(template, "spec.template"))
    errs.extend(_template_restart(template, ["Always"]))
    if _d(template.get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported"))
    errs.extend(_non_negative(spec, "minReadySeconds", "spec"))
    us = spec.get("updateStrategy")
    if isinstance(us, dict):
        t = us.get("type", "RollingUpdate")
        if t == "RollingUpdate":
            ru = us.get("rollingUpdate")
            if ru is not None:
                r, p = _d(ru), "spec.updateStrategy.rollingUpdate"
                errs.extend(_int_or_percent(r.get("maxUnavailable"), p + ".maxUnavailable"))
                errs.extend(_int_or_percent(r.get("maxSurge"), p + ".maxSurge"))
                errs.extend(_not_over_100(r.get("maxUnavailable"), p + ".maxUnavailable"))
                errs.extend(_not_over_100(r.get("maxSurge"), p + ".maxSurge"))
                unavailable, surge = _percent_value(r.get("maxUnavailable")) != 0, _percent_value(r.get("maxSurge")) != 0
                if unavailable and surge:
                    errs.append(invalid(p + ".maxSurge", r.get("maxSurge"), "may not be set when maxUnavailable is non-zero"))
                elif not unavailable and not surge and "maxUnavailable" in r:
                    errs.append(required(p + ".maxUnavailable", "cannot be 0 when maxSurge is 0"))
        elif t != "OnDelete":
            errs.append(not_supported("spec.updateStrategy", GoStruct(type=t), ["RollingUpdate", "OnDelete"]))
    errs.extend(_non_negative(spec, "revisionHistoryLimit", "spec"))
    if old is not None:
        errs.extend(_immutable_selector(spec, _d(old.get("spec"))))
    return errs


def _job_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        errs.extend(_non_negative(spec, key, path))
    template = _d(spec.get("template"))
    errs.extend(_pod_template(template, path + ".template"))
    pspec = _d(template.get("spec"))
    policy = pspec.get("restartPolicy")
    policy = policy if isinstance(policy, str) and policy else "Always"
    if policy not in ("OnFailure", "Never"):
        errs.append(not_supported(path + ".template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
    mode = spec.get("completionMode")
    if isinstance(mode, str) and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(path + ".completionMode", mode, ["NonIndexed", "Indexed"]))
    return errs


def _job(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs = _job_spec(spec, "spec")
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(_label_selector(sel, "spec.selector"))
    labels = _d(_d(_d(spec.get("template")).get("metadata")).get("labels"))
    if _selector_matches(sel, labels) is False:
        errs.append(invalid("spec.template.metadata.labels", labels or None, "`selector` does not match template `labels`"))
    if old is not None:
        old_spec = _d(old.get("spec"))
        errs.extend(_immutable_selector(spec, old_spec))
        errs.extend(_job_template_update(spec, old_spec))
        for key in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex"):
            if not semantic_equal(spec.get(key), old_spec.get(key)):
                errs.append(invalid(f"spec.{key}", spec.get(key), FIELD_IMMUTABLE))
        if spec.get("completionMode") != "Indexed" and not semantic_equal(spec.get("completions"), old_spec.get("completions")):
            errs.append(invalid("spec.completions", spec.get("completions"), FIELD_IMMUTABLE))
    return errs


def _job_template_update(spec: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    new_t, old_t = _d(spec.get("template")), _d(old.get("template"))
    if spec.get("suspend") is True:
        # a suspended Job may change its pods' scheduling directives and template metadata
        def scrub(t: dict[str, Any]) -> dict[str, Any]:
            s = {k: v for k, v in _d(t.get("spec")).items() if k not in ("nodeSelector", "tolerations", "schedulingGates")}
            aff = {k: v for k, v in _d(s.get("affinity")).items() if k != "nodeAffinity"}
            s["affinity"] = aff or None
            return {"spec": s}
        new_t, old_t = scrub(new_t), scrub(old_t)
    if semantic_equal(new_t, old_t):
        return []
    return [invalid("spec.template", GoStruct(_d(spec.get("template"))), FIELD_IMMUTABLE)]


_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _cron(schedule: str) -> str | None:
    s = schedule.strip()
    if s.startswith("@"):
        if s in _CRON_DESCRIPTORS or s.startswith("@every "):
            return None
        return f"unrecognized descriptor: {s}"
    fields = s.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    return None


def _cronjob(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    name = _str(_d(obj.get("metadata")).get("name"))
    if len(name) > 52:
        errs.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    schedule = _str(spec.get("schedule"))
    if not schedule:
        errs.append(required("spec.schedule"))
    else:
        msg = _cron(schedule)
        if msg:
            errs.append(invalid("spec.schedule", schedule, msg))
    errs.extend(_non_negative(spec, "startingDeadlineSeconds", "spec"))
    policy = spec.get("concurrencyPolicy")
    if isinstance(policy, str) and policy not in ("Allow", "Forbid", "Replace"):
        errs.append(required("spec.concurrencyPolicy") if not policy else
                    not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    jt = _d(_d(spec.get("jobTemplate")).get("spec"))
    errs.extend(_job_spec(jt, "spec.jobTemplate.spec"))
    if jt.get("selector") is not None:
        errs.append(invalid("spec.jobTemplate.spec.selector", _selector_value(jt["selector"]), "`selector` will be auto-generated"))
    if jt.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errs.extend(_non_negative(spec, key, "spec"))
    return errs


# ---- core kinds other than pods ---------------------------------------------------------------------

_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _cluster_ips(spec: dict[str, Any]) -> list[str]:
    ips = [x for x in _l(spec.get("clusterIPs")) if isinstance(x, str)]
    if not ips and _str(spec.get("clusterIP")):
        ips = [spec["clusterIP"]]
    return ips


def _service_port_value(port: dict[str, Any]) -> GoStruct:
    # the internal core.ServicePort used as a map key upstream, printed with Go field names
    return GoStruct(Name="", Protocol=_str(port.get("protocol")) or "TCP", AppProtocol=None,
                    Port=_int(port.get("port")) or 0, TargetPort=0, NodePort=0)


def _service(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    stype = spec["type"] if isinstance(spec.get("type"), str) else "ClusterIP"
    ips = _cluster_ips(spec)
    headless = ips == ["None"]
    ports = [_d(p) for p in _l(spec.get("ports"))]
    if old is not None:
        errs.extend(_service_update(spec, _d(old.get("spec")), stype))
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype in ("LoadBalancer", "NodePort") and headless:
        errs.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {stype} services"))
    if stype == "ExternalName":
        if ips:
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if _l(spec.get("ipFamilies")):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = _str(spec.get("externalName")).removesuffix(".")
        errs.extend(_subdomain(cname, "spec.externalName") if cname else [required("spec.externalName")])
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        name = _str(port.get("name"))
        if len(ports) > 1 and not name:
            errs.append(required(p + ".name"))
        elif name:
            errs.extend(_dns_label(name, p + ".name"))
            if name in names:
                errs.append(duplicate(p + ".name", name))
            else:
                names.add(name)
        number = _int(port.get("port")) or 0
        errs.extend(invalid(p + ".port", number, m) for m in is_valid_port_num(number))
        proto = port.get("protocol")
        if isinstance(proto, str) and proto not in _PROTOCOLS:
            errs.append(required(p + ".protocol") if not proto else not_supported(p + ".protocol", proto, _PROTOCOLS))
        if "targetPort" in port:
            errs.extend(_port_num_or_name(port["targetPort"], p + ".targetPort"))
        app = port.get("appProtocol")
        if isinstance(app, str):
            errs.extend(_qualified(app, p + ".appProtocol"))
    errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in ("ClientIP", "None"):
        errs.append(required("spec.sessionAffinity") if not affinity else
                    not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    for i, ip in enumerate(_l(spec.get("externalIPs"))):
        if isinstance(ip, str) and not (_is_ip(ip, 4) or _is_ip(ip, 6)):
            errs.append(invalid(f"spec.externalIPs[{i}]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
    if stype not in _SERVICE_TYPES:
        errs.append(required("spec.type") if not stype else not_supported("spec.type", stype, _SERVICE_TYPES))
    if stype == "ClusterIP":
        for i, port in enumerate(ports):
            if _int(port.get("nodePort")):
                errs.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
    node_ports: set[tuple[str, int]] = set()
    seen_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        proto = _str(port.get("protocol")) or "TCP"
        np = _int(port.get("nodePort")) or 0
        if np:
            if (proto, np) in node_ports:
                errs.append(duplicate(f"spec.ports[{i}].nodePort", np))
            node_ports.add((proto, np))
    for i, port in enumerate(ports):
        key = (_str(port.get("protocol")) or "TCP", _int(port.get("port")) or 0)
        if key in seen_ports:
            errs.append(duplicate(f"spec.ports[{i}]", _service_port_value(port)))
        seen_ports.add(key)
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != "LoadBalancer":
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    etp = spec.get("externalTrafficPolicy")
    external = stype in ("LoadBalancer", "NodePort") or bool(_l(spec.get("externalIPs")))
    if isinstance(etp, str) and etp:
        if not external:
            errs.append(invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"))
        elif etp not in ("Cluster", "Local"):
            errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if isinstance(itp, str) and itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return errs


def _service_update(spec: dict[str, Any], old: dict[str, Any], stype: str) -> list[FieldError]:
    old_type = old["type"] if isinstance(old.get("type"), str) else "ClusterIP"
    if "ExternalName" in (stype, old_type):
        return []
    new_ips, old_ips = _cluster_ips(spec), _cluster_ips(old)
    if not new_ips or (new_ips == ["None"] and old_ips == ["None"]):
        return []  # the registry keeps allocated IPs when an update leaves them out
    if len(new_ips) == len(old_ips):
        return [invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
                for i, ip in enumerate(old_ips) if ip != new_ips[i]]
    if old_ips and new_ips[0] != old_ips[0]:
        return [invalid("spec.clusterIPs[0]", new_ips, "may not change once set")]
    return []


MAX_SECRET_SIZE = 1024 * 1024


def _data_size(v: Any, binary: bool) -> int:
    if not isinstance(v, str):
        return 0
    if binary:
        return len(v) * 3 // 4 - v.count("=")
    return _blen(v)


def _configmap(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    errs: list[FieldError] = []
    data, binary = _d(obj.get("data")), _d(obj.get("binaryData"))
    total = 0
    for key, value in data.items():
        if msgs := is_config_map_key(key):
            errs.extend(invalid(f"data[{key}]", key, m) for m in msgs)
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += _data_size(value, False)
    for key, value in binary.items():
        errs.extend(invalid(f"binaryData[{key}]", key, m) for m in is_config_map_key(key))
        total += _data_size(value, True)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", MAX_SECRET_SIZE))
    if old is not None:
        errs = _immutable_data(obj, old, ("data", "binaryData")) + errs
    return errs


def _immutable_data(obj: dict[str, Any], old: dict[str, Any], keys: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs = []
    if obj.get("immutable") is not True:
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for key in keys:
        if not semantic_equal(obj.get(key), old.get(key)):
            errs.append(forbidden(key, "field is immutable when `immutable` is set"))
    return errs


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _secret(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    errs: list[FieldError] = []
    if old is not None:
        new_type = obj.get("type") or "Opaque"
        if new_type != (old.get("type") or "Opaque"):
            errs.append(invalid("type", new_type, FIELD_IMMUTABLE))
        errs.extend(_immutable_data(obj, old, ("data",)))
    data = dict(_d(obj.get("data")))
    for key in _d(obj.get("stringData")):
        data.setdefault(key, "")  # stringData is merged into data before validation
    total = 0
    for key, value in data.items():
        errs.extend(invalid(f"data[{key}]", key, m) for m in is_config_map_key(key))
        total += _data_size(value, True)
    total += sum(_blen(v) for v in _d(obj.get("stringData")).values() if isinstance(v, str))
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    stype = obj.get("type") or "Opaque"
    if stype == "kubernetes.io/service-account-token":
        ann = _d(_d(obj.get("metadata")).get("annotations"))
        if not _str(ann.get("kubernetes.io/service-account.name")):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif stype == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.append(required("data[username]"))
            errs.append(required("data[password]"))
    elif stype in _SECRET_REQUIRED_KEYS:
        for key in _SECRET_REQUIRED_KEYS[stype]:
            if key not in data or (stype == "kubernetes.io/ssh-auth" and not data[key]):
                errs.append(required(f"data[{key}]"))
                if stype != "kubernetes.io/tls":
                    break
    return errs


def _namespace(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    if old is not None:
        return []
    errs: list[FieldError] = []
    for f in _l(_d(obj.get("spec")).get("finalizers")):
        if isinstance(f, str):
            errs.extend(_qualified(f, "spec.finalizers"))
            if "/" not in f and f not in _STANDARD_FINALIZERS:
                errs.append(invalid("spec.finalizers", f, "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


_ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]


def _pvc(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    spec = _d(obj.get("spec"))
    errs: list[FieldError] = []
    modes = [m for m in _l(spec.get("accessModes")) if isinstance(m, str)]
    if not modes:
        errs.append(required("spec.accessModes", "at least 1 access mode is required"))
    errs.extend(_label_selector(spec.get("selector"), "spec.selector"))
    for m in modes:
        if m not in _ACCESS_MODES:
            errs.append(not_supported("spec.accessModes", m, _ACCESS_MODES))
    if "ReadWriteOncePod" in modes and any(m != "ReadWriteOncePod" and m in _ACCESS_MODES for m in modes):
        errs.append(forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes"))
    requests = _parsed_resources(_d(spec.get("resources")).get("requests"))
    storage = requests.get("storage")
    if storage is None:
        errs.append(required("spec.resources[storage]"))
    elif storage[0] <= 0:
        errs.append(invalid("spec.resources[storage]", format_quantity(*storage), "must be greater than zero"))
    sc = spec.get("storageClassName")
    if isinstance(sc, str) and sc:
        errs.extend(_subdomain(sc, "spec.storageClassName"))
    vm = spec.get("volumeMode")
    if isinstance(vm, str) and vm not in ("Block", "Filesystem"):
        errs.append(not_supported("spec.volumeMode", vm, ["Block", "Filesystem"]))
    if old is not None:
        old_spec = _d(old.get("spec"))
        a = {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName", "volumeName")}
        b = {k: v for k, v in old_spec.items() if k not in ("resources", "volumeAttributesClassName", "volumeName")}
        if not _str(old_spec.get("volumeName")) or semantic_equal(spec.get("volumeName"), old_spec.get("volumeName")):
            pass
        else:
            a["volumeName"], b["volumeName"] = spec.get("volumeName"), old_spec.get("volumeName")
        if not semantic_equal(a, b):
            errs.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                  "volumeAttributesClassName for bound claims\n" + _spec_diff("core.PersistentVolumeClaimSpec", b, a)))
        old_storage = _parsed_resources(_d(old_spec.get("resources")).get("requests")).get("storage")
        capacity = _parsed_resources(_d(_d(old.get("status")).get("capacity"))).get("storage")
        # shrinking is allowed (to recover from a failed expansion) down to just above the actual capacity
        if storage is not None and old_storage is not None and storage[0] < old_storage[0]:
            if capacity is not None and storage[0] <= capacity[0]:
                errs.append(forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"))
    return errs


_BUILTIN_VALIDATORS: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, Any] | None], list[FieldError]]] = {
    ("", "Pod"): _validate_pod,
    ("", "Service"): _service,
    ("", "ConfigMap"): _configmap,
    ("", "Secret"): _secret,
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): _pvc,
    ("apps", "Deployment"): lambda o, old: _deployment(o, old, "Deployment"),
    ("apps", "ReplicaSet"): lambda o, old: _deployment(o, old, "ReplicaSet"),
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
}


def validate_builtin(obj: dict[str, Any], kind: str, group: str, old: dict[str, Any] | None) -> list[FieldError]:
    """The hand-written validation of a built-in kind (everything but metadata, see `validate_object_meta`),
    with the update rules when `old` is given (immutable fields, pod update restrictions, ...).

    Covers Pods, Services, ConfigMaps, Secrets, Namespaces, PersistentVolumeClaims, Deployments,
    ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs; other kinds have no checks here.
    """
    fn = _BUILTIN_VALIDATORS.get((group, kind))
    return fn(obj, old) if fn else []
