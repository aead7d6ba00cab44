"""Label and field selectors, parsed, matched and worded as kube-apiserver does.

Label selectors follow `k8s.io/apimachinery/pkg/labels` (the query-string grammar
`a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3`) and `metav1.LabelSelector` objects; field selectors follow
`k8s.io/apimachinery/pkg/fields` (`metadata.name=x,status.phase!=Running`, with `\\`, `\\,` and `\\=`
escapes). Errors are `SelectorError`s whose message is the one kube answers in its 400 BadRequest.

Which fields a kind can be selected on, how a label is renamed on the way (`spec.host` -> `spec.nodeName`,
`regarding.kind` -> `involvedObject.kind`) and how an unsupported one is refused differ per kind, exactly
as the upstream field-label conversion functions do; `convert_field_selector` applies them and
`field_attributes` gives the values an object is matched on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class SelectorError(ValueError):
    """A selector kube would refuse; `str(err)` is the message of kube's 400 answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# Go-compatible formatting of the values quoted in validation messages.


def _go_quote(s: str) -> str:
    """`fmt.Sprintf("%q", s)`: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_json_strings(values: list[str] | None) -> str:
    """`json.Marshal` of a Go `[]string` (nil -> null); Go escapes <, > and & in JSON strings."""
    if values is None:
        return "null"
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _invalid(path: str, value: str | list[str] | None, detail: str) -> str:
    """The text of a `field.Invalid` error."""
    shown = _go_quote(value) if isinstance(value, str) else _go_json_strings(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(errors: list[str]) -> str:
    """The text of a `utilerrors.Aggregate`: one error alone, several as "[a, b]" (duplicates dropped)."""
    seen: list[str] = []
    for e in errors:
        if e not in seen:
            seen.append(e)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


# ---------------------------------------------------------------------------------------------
# Label key and value validation (apimachinery's validate/content package).

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_RE = re.compile(_LABEL_KEY_FMT)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_LABEL_KEY_FMT})?"
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} bytes"


def label_key_errors(key: str) -> list[str]:
    """Why `key` is not a valid label key (a qualified name); empty when it is."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in _dns1123_subdomain_errors(prefix))
    else:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _LABEL_KEY_RE.fullmatch(name):
        errs.append(
            "name part " + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value.encode()) > 253:
        errs.append(_max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """Why `value` is not a valid label value; empty when it is."""
    errs: list[str] = []
    if len(value.encode()) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


_INT_RE = re.compile(r"[+-]?[0-9]+")


def _parse_int64(text: str) -> int | None:
    """Go's `strconv.ParseInt(text, 10, 64)`; None where Go answers an error."""
    if not _INT_RE.fullmatch(text):
        return None
    n = int(text)
    if n < -(2**63) or n >= 2**63:
        return None
    return n


# ---------------------------------------------------------------------------------------------
# Label selectors.

# Operators as apimachinery's `selection` package spells them.
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: a key, an operator and its values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this term (a missing key satisfies only !=, notin and !)."""
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have = _parse_int64(labels[self.key])
            want = _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == EXISTS:
            return self.key
        values = ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def new_requirement(key: str, operator: str, values: list[str] | None, *, path: str = "") -> Requirement:
    """Build a requirement, validating it as `labels.NewRequirement` does (SelectorError if invalid).

    `path` prefixes the field paths of the messages ("" for the query-string form, as kube has it).
    """
    errs: list[str] = []
    key_path = f"{path}.key" if path else "key"
    values_path = f"{path}.values" if path else "values"
    key_errs = label_key_errors(key)
    if key_errs:
        errs.append(_invalid(key_path, key, "; ".join(key_errs)))
    vals = list(values) if values is not None else []
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(
                _invalid(values_path, values, "for 'in', 'notin' operators, values set can't be empty")
            )
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_invalid(values_path, values, "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(
                _invalid(values_path, values, "values set must be empty for exists and does not exist")
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(
                _invalid(values_path, values, "for 'Gt', 'Lt' operators, exactly one value is required")
            )
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(
                    _invalid(
                        f"{values_path}[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"
                    )
                )
    else:
        supported = ", ".join(_go_quote(o) for o in (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST))
        errs.append(
            f"{path + '.' if path else ''}operator: Unsupported value: {_go_quote(operator)}: "
            f"supported values: {supported}"
        )
    for i, v in enumerate(vals):
        value_errs = label_value_errors(v)
        if value_errs:
            errs.append(_invalid(f"{values_path}[{i}][{key}]", v, "; ".join(value_errs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, tuple(vals))


class LabelSelector:
    """A parsed label selector: the AND of its requirements, kept sorted by key as kube keeps them."""

    __slots__ = ("requirements",)

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse the query-string form (`labelSelector=`); SelectorError with kube's message if invalid."""
        return cls(_LabelParser(text).parse())

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected (an empty selector selects everything)."""
        have: Mapping[str, str] = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def empty(self) -> bool:
        """Whether the selector places no restriction at all."""
        return not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value the selector demands for `key` (=, == or a one-value in), else None."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSelector) and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(self.requirements)


# Lexer tokens.
_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_SYMBOL_TOKENS = {
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "==": _DEQ,
    "=": _EQ,
    ">": _GT,
    "<": _LT,
    "!=": _NEQ,
    "(": _OPEN,
}
_KEYWORDS = {"in": _IN, "notin": _NOTIN}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    """Split a label selector into (token, literal) pairs, ending with end-of-string."""
    items: list[tuple[int, str]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_EOS, ""))
            return items
        if text[pos] in _SPECIAL:
            # Longest run of symbol characters that still reads as an operator ("!=" over "!").
            buffer, last, last_end = "", None, pos
            while pos < n and text[pos] in _SPECIAL:
                buffer += text[pos]
                tok = _SYMBOL_TOKENS.get(buffer)
                if tok is not None:
                    last, last_end = (tok, buffer), pos + 1
                elif last is not None:
                    break
                pos += 1
            if last is None:
                items.append((_ERROR, f"error expected: keyword found '{buffer}'"))
            else:
                items.append(last)
                pos = last_end
            continue
        start = pos
        while pos < n and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        items.append((_KEYWORDS.get(word, _IDENT), word))


class _LabelParser:
    """Recursive-descent parser over the lexed items, with kube's error wording."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def _peek(self, values: bool) -> tuple[int, str]:
        tok, lit = self.items[self.position]
        # In a value position "in" and "notin" are plain words.
        if values and tok in (_IN, _NOTIN):
            tok = _IDENT
        return tok, lit

    def _take(self, values: bool) -> tuple[int, str]:
        item = self._peek(values)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self._peek(True)
            if tok in (_IDENT, _NOT):
                try:
                    requirements.append(self._requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e.message}") from None
                tok, lit = self._take(True)
                if tok == _EOS:
                    return requirements
                if tok != _COMMA:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
                tok2, lit2 = self._peek(True)
                if tok2 not in (_IDENT, _NOT):
                    raise SelectorError(f"found '{lit2}', expected: identifier after ','")
            elif tok == _EOS:
                return requirements
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, operator, [])
        operator = self._operator()
        values = self._set_values() if operator in (IN, NOT_IN) else self._exact_value()
        return new_requirement(key, operator, sorted(values))

    def _key_and_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self._take(True)
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self._take(True)
        if tok != _IDENT:
            raise SelectorError(f"found '{lit}', expected: identifier")
        errs = label_key_errors(lit)
        if errs:
            # kube validates the key here with a nil field path, which prints as "<nil>".
            raise SelectorError(_invalid("<nil>", lit, "; ".join(errs)))
        nxt, _ = self._peek(True)
        if nxt in (_EOS, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def _operator(self) -> str:
        tok, lit = self._take(False)
        op = {
            _IN: IN,
            _EQ: EQUALS,
            _DEQ: DOUBLE_EQUALS,
            _GT: GREATER_THAN,
            _LT: LESS_THAN,
            _NOTIN: NOT_IN,
            _NEQ: NOT_EQUALS,
        }.get(tok)
        if op is None:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return op

    def _set_values(self) -> set[str]:
        tok, lit = self._take(True)
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._peek(True)
        if tok in (_IDENT, _COMMA):
            values = self._identifier_list()
            if self._take(True)[0] != _CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:  # "()" is the set holding the empty string
            self._take(True)
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def _identifier_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._take(True)
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self._peek(True)
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                # Empty items between commas ("(,a", "a,,b", "a,)") stand for the empty string.
                if not values:
                    values.add("")
                tok2, _ = self._peek(True)
                if tok2 in (_CLOSE, _COMMA):
                    values.add("")
                if tok2 == _CLOSE:
                    return values
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        tok, _ = self._peek(True)
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self._take(True)
        if tok == _IDENT:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


_SELECTOR_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """Convert a `metav1.LabelSelector` ({matchLabels, matchExpressions}) as kube does.

    None and an empty selector both give the empty selector, which matches everything; where kube
    treats a nil selector as "nothing" the caller decides. Invalid selectors raise SelectorError.
    """
    if not sel:
        return LabelSelector()
    requirements: list[Requirement] = []
    for key, value in (sel.get("matchLabels") or {}).items():
        requirements.append(new_requirement(key, EQUALS, [value]))
    for expr in sel.get("matchExpressions") or ():
        operator = expr.get("operator", "")
        op = _SELECTOR_OPERATORS.get(operator)
        if op is None:
            raise SelectorError(f"{_go_quote(operator)} is not a valid label selector operator")
        values = expr.get("values")
        requirements.append(new_requirement(expr.get("key", ""), op, list(values) if values else None))
    return LabelSelector(requirements)


# ---------------------------------------------------------------------------------------------
# Field selectors.

_ESCAPES = {"\\": "\\\\", ",": "\\,", "=": "\\="}


def escape_field_value(value: str) -> str:
    """Escape a literal for use as a field selector value (`fields.EscapeValue`)."""
    return "".join(_ESCAPES.get(c, c) for c in value)


def _unescape_field_value(text: str) -> str:
    if not any(c in text for c in "\\,="):
        return text
    out: list[str] = []
    in_slash = False
    for c in text:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # kube prints the rune with %v, i.e. as its code point number.
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not backslash-escaped, keeping the escapes in the terms."""
    if not text:
        return []
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


class FieldSelector:
    """A parsed field selector: an AND of `field=value` / `field!=value` terms.

    `requirements` holds (field, op, value) with op "=" or "!=" ("==" reads as "="), in kube's order
    (terms sorted by their text).
    """

    __slots__ = ("requirements",)

    def __init__(self, requirements: Iterable[tuple[str, str, str]] = ()) -> None:
        self.requirements: list[tuple[str, str, str]] = list(requirements)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse the query-string form (`fieldSelector=`); SelectorError with kube's message if invalid."""
        requirements: list[tuple[str, str, str]] = []
        for part in sorted(_split_terms(text)):
            if not part:
                continue
            split = _split_term(part)
            if split is None:
                raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
            field, op, raw = split
            requirements.append((field, "!=" if op == "!=" else "=", _unescape_field_value(raw)))
        return cls(requirements)

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object with these field values is selected; a missing field reads as ""."""
        for field, op, value in self.requirements:
            have = fields.get(field, "")
            if (have == value) != (op == "="):
                return False
        return True

    def empty(self) -> bool:
        """Whether the selector places no restriction at all."""
        return not self.requirements

    def requires_exact_match(self, field: str) -> str | None:
        """The value the selector demands for `field` with "=", else None."""
        for f, op, value in self.requirements:
            if f == field and op == "=":
                return value
        return None

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{escape_field_value(v)}" for f, op, v in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(tuple(self.requirements))


# ---------------------------------------------------------------------------------------------
# Per-kind field labels: which a kind accepts, how they are renamed, how a refusal is worded.

_META = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class _FieldLabels:
    accepted: Mapping[str, str]  # label as the client writes it -> label matched on
    message: str  # format with {label}, {qlabel} (Go-quoted label) and {version}


def _same(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


_NOT_SUPPORTED = "field label not supported: {label}"
_DEFAULT_LABELS = _FieldLabels(
    _same(*_META), '{qlabel} is not a known field selector: only "metadata.name", "metadata.namespace"'
)
_EVENT_CORE_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

# Kinds whose API group registers a field-label conversion function upstream; every other built-in
# kind gets the default one (metadata.name and metadata.namespace only).
_FIELD_LABELS: dict[tuple[str, str], _FieldLabels] = {
    ("", "Pod"): _FieldLabels(
        {
            **_same(
                *_META,
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ),
            # Old v1 clients send spec.host.
            "spec.host": "spec.nodeName",
        },
        _NOT_SUPPORTED,
    ),
    ("", "Node"): _FieldLabels(_same("metadata.name", "spec.unschedulable"), _NOT_SUPPORTED),
    ("", "ReplicationController"): _FieldLabels(_same(*_META, "status.replicas"), _NOT_SUPPORTED),
    ("", "Event"): _FieldLabels(_same(*_EVENT_CORE_FIELDS, *_META), _NOT_SUPPORTED),
    ("", "Namespace"): _FieldLabels(_same("status.phase", "metadata.name"), _NOT_SUPPORTED),
    ("", "Secret"): _FieldLabels(_same("type", *_META), _NOT_SUPPORTED),
    ("", "Service"): _FieldLabels(_same(*_META, "spec.clusterIP", "spec.type"), _NOT_SUPPORTED),
    ("batch", "Job"): _FieldLabels(
        _same(*_META, "status.successful"), "field label {qlabel} not supported for Job"
    ),
    ("certificates.k8s.io", "CertificateSigningRequest"): _FieldLabels(
        _same("metadata.name", "spec.signerName"), _NOT_SUPPORTED
    ),
    ("certificates.k8s.io", "ClusterTrustBundle"): _FieldLabels(
        _same("metadata.name", "spec.signerName"), _NOT_SUPPORTED
    ),
    ("certificates.k8s.io", "PodCertificateRequest"): _FieldLabels(
        _same("metadata.name", "spec.signerName", "spec.podName", "spec.nodeName"), _NOT_SUPPORTED
    ),
    ("events.k8s.io", "Event"): _FieldLabels(
        {
            "reason": "reason",
            "regarding.kind": "involvedObject.kind",
            "regarding.namespace": "involvedObject.namespace",
            "regarding.name": "involvedObject.name",
            "regarding.uid": "involvedObject.uid",
            "regarding.apiVersion": "involvedObject.apiVersion",
            "regarding.resourceVersion": "involvedObject.resourceVersion",
            "regarding.fieldPath": "involvedObject.fieldPath",
            "reportingController": "reportingComponent",
            "source": "source",
            "type": "type",
            **_same(*_META),
        },
        _NOT_SUPPORTED,
    ),
    ("resource.k8s.io", "ResourceSlice"): _FieldLabels(
        _same("metadata.name", "spec.nodeName", "spec.driver"),
        "field label not supported for resource.k8s.io/{version}, Kind=ResourceSlice: {label}",
    ),
}


def supported_fields(group: str, kind: str) -> set[str]:
    """The field labels a field selector on this built-in kind may use (aliases included)."""
    return set(_FIELD_LABELS.get((group, kind), _DEFAULT_LABELS).accepted)


def unsupported_field_message(group: str, version: str, kind: str, label: str) -> str:
    """kube's 400 message for a field selector on `label`, which this built-in kind does not support."""
    spec = _FIELD_LABELS.get((group, kind), _DEFAULT_LABELS)
    return spec.message.format(label=label, qlabel=_go_quote(label), version=version)


def convert_field_selector(
    selector: FieldSelector,
    group: str,
    version: str,
    kind: str,
    *,
    custom_resource: bool = False,
    namespaced: bool = True,
    selectable_fields: Iterable[str] = (),
) -> FieldSelector:
    """Check and rename a field selector's labels for a kind, as the apiserver does before listing.

    Raises SelectorError (kube's 400 message) on the first unsupported label in kube's term order;
    renames aliases (`spec.host` on pods, `regarding.*` on events.k8s.io events) to the names that
    `field_attributes` uses. For a custom resource pass `custom_resource=True`, whether it is
    namespaced, and the CRD's `selectableFields` JSON paths of the served version.
    """
    out: list[tuple[str, str, str]] = []
    if custom_resource:
        allowed = {"metadata.name"} | ({"metadata.namespace"} if namespaced else set())
        allowed |= {p.removeprefix(".") for p in selectable_fields}
        for field, op, value in selector.requirements:
            if field not in allowed:
                raise SelectorError(f"field label not supported: {field}")
            out.append((field, op, value))
        return FieldSelector(out)
    spec = _FIELD_LABELS.get((group, kind), _DEFAULT_LABELS)
    for field, op, value in selector.requirements:
        target = spec.accepted.get(field)
        if target is None:
            raise SelectorError(spec.message.format(label=field, qlabel=_go_quote(field), version=version))
        out.append((target, op, value))
    return FieldSelector(out)


# ---------------------------------------------------------------------------------------------
# The values objects are matched on.


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _go_bool(value: Any) -> str:
    return "true" if value is True else "false"


def _go_int(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


def _meta_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        "metadata.name": _s(_get(obj, "metadata", "name")),
        "metadata.namespace": _s(_get(obj, "metadata", "namespace")),
    }


def _pod_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    pod_ips = status.get("podIPs") or []
    first_ip = (
        _s(pod_ips[0].get("ip")) if pod_ips and isinstance(pod_ips[0], Mapping) else _s(status.get("podIP"))
    )
    # status.podIPs is an accepted label upstream but the pod attribute set never carries it, so it
    # only ever matches the empty string; we keep that behaviour by leaving it out.
    return {
        "spec.nodeName": _s(spec.get("nodeName")),
        "spec.restartPolicy": _s(spec.get("restartPolicy")),
        "spec.schedulerName": _s(spec.get("schedulerName")),
        "spec.serviceAccountName": _s(spec.get("serviceAccountName") or spec.get("serviceAccount")),
        "spec.hostNetwork": _go_bool(spec.get("hostNetwork")),
        "status.phase": _s(status.get("phase")),
        "status.podIP": first_ip,
        "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
    }


def _core_event_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    ref = obj.get("involvedObject") or {}
    reporting = _s(obj.get("reportingComponent"))
    return {
        "involvedObject.kind": _s(ref.get("kind")),
        "involvedObject.namespace": _s(ref.get("namespace")),
        "involvedObject.name": _s(ref.get("name")),
        "involvedObject.uid": _s(ref.get("uid")),
        "involvedObject.apiVersion": _s(ref.get("apiVersion")),
        "involvedObject.resourceVersion": _s(ref.get("resourceVersion")),
        "involvedObject.fieldPath": _s(ref.get("fieldPath")),
        "reason": _s(obj.get("reason")),
        "reportingComponent": reporting,
        "source": _s(_get(obj, "source", "component")) or reporting,
        "type": _s(obj.get("type")),
    }


def _events_v1_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    # events.k8s.io objects carry the same data under other names; kube matches the core names.
    ref = obj.get("regarding") or {}
    reporting = _s(obj.get("reportingController"))
    return {
        "involvedObject.kind": _s(ref.get("kind")),
        "involvedObject.namespace": _s(ref.get("namespace")),
        "involvedObject.name": _s(ref.get("name")),
        "involvedObject.uid": _s(ref.get("uid")),
        "involvedObject.apiVersion": _s(ref.get("apiVersion")),
        "involvedObject.resourceVersion": _s(ref.get("resourceVersion")),
        "involvedObject.fieldPath": _s(ref.get("fieldPath")),
        "reason": _s(obj.get("reason")),
        "reportingComponent": reporting,
        "source": _s(_get(obj, "deprecatedSource", "component")) or reporting,
        "type": _s(obj.get("type")),
    }


def _replicas_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    return {"status.replicas": _go_int(_get(obj, "status", "replicas"))}


_ATTRIBUTES = {
    ("", "Pod"): _pod_fields,
    ("", "Node"): lambda o: {"spec.unschedulable": _go_bool(_get(o, "spec", "unschedulable"))},
    ("", "ReplicationController"): _replicas_fields,
    ("apps", "ReplicaSet"): _replicas_fields,
    ("", "Event"): _core_event_fields,
    ("events.k8s.io", "Event"): _events_v1_fields,
    ("", "Namespace"): lambda o: {"status.phase": _s(_get(o, "status", "phase"))},
    ("", "Secret"): lambda o: {"type": _s(o.get("type"))},
    ("", "Service"): lambda o: {
        "spec.clusterIP": _s(_get(o, "spec", "clusterIP")),
        "spec.type": _s(_get(o, "spec", "type")),
    },
    ("batch", "Job"): lambda o: {"status.successful": _go_int(_get(o, "status", "succeeded"))},
    ("certificates.k8s.io", "CertificateSigningRequest"): lambda o: {
        "spec.signerName": _s(_get(o, "spec", "signerName"))
    },
    ("certificates.k8s.io", "ClusterTrustBundle"): lambda o: {
        "spec.signerName": _s(_get(o, "spec", "signerName"))
    },
    ("certificates.k8s.io", "PodCertificateRequest"): lambda o: {
        "spec.signerName": _s(_get(o, "spec", "signerName")),
        "spec.podName": _s(_get(o, "spec", "podName")),
        "spec.nodeName": _s(_get(o, "spec", "nodeName")),
    },
    ("resource.k8s.io", "ResourceSlice"): lambda o: {
        "spec.nodeName": _s(_get(o, "spec", "nodeName")),
        "spec.driver": _s(_get(o, "spec", "driver")),
    },
}


def field_attributes(group: str, kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """The selectable fields of a built-in object and their string values, as kube's GetAttrs gives them.

    Every kind has metadata.name and metadata.namespace ("" for cluster-scoped objects); kinds with
    more (pods, events, secrets, services, jobs, ...) add theirs, with numbers and booleans written
    as Go writes them. Events of either API group are described with the core names.
    """
    fields = _meta_fields(obj)
    extra = _ATTRIBUTES.get((group, kind))
    if extra is not None:
        fields.update(extra(obj))
    return fields


def custom_resource_field_attributes(
    obj: Mapping[str, Any], *, namespaced: bool, selectable_fields: Iterable[str] = ()
) -> dict[str, str]:
    """The selectable fields of a custom resource: metadata plus the CRD's `selectableFields` paths.

    Paths are the CRD's simple JSON paths (".spec.color"); a missing value reads as "", others as
    Go's fmt.Sprint writes them.
    """
    fields = {"metadata.name": _s(_get(obj, "metadata", "name"))}
    if namespaced:
        fields["metadata.namespace"] = _s(_get(obj, "metadata", "namespace"))
    for path in selectable_fields:
        name = path.removeprefix(".")
        fields[name] = _go_sprint(_get(obj, *name.split(".")))
    return fields


def _go_sprint(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _go_bool(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return json.dumps(value, separators=(",", ":"))


def _go_float(value: float) -> str:
    """`fmt.Sprint` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06 up."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    t = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, t.digits))
    point = len(digits) + int(t.exponent)  # digits before the decimal point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    exp = point - 1
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"
