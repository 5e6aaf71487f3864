# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PromQL label injection: add a label matcher to every vector selector of a query.

The query is parsed with ``promql_parser`` (validity, and a check of the result), but the text
is never re-printed by it: its printer normalises queries (``foo`` -> ``foo{}``, durations,
spacing) and mangles some forms, so the matcher is spliced into the user's own text at the
selector positions found by a small PromQL lexer here. The result is parsed again and every
selector is checked to carry the matcher. Grafana template variables (``$__rate_interval``,
``${var}``, ``[[var]]``) are replaced by placeholders for parsing only; the text keeps them.

No Ansible imports: unit tests and other module_utils call these functions directly.
"""

from __future__ import annotations

import re

try:
    import promql_parser
    HAS_PROMQL_PARSER = True
    PROMQL_PARSER_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    promql_parser = None
    HAS_PROMQL_PARSER = False
    PROMQL_PARSER_IMPORT_ERROR = exc


class PromQLError(ValueError):
    """The query is not valid PromQL, or the matcher could not be added safely."""


MATCH_OPS = ("=", "!=", "=~", "!~")
_GROUPING = frozenset(("by", "without", "on", "ignoring", "group_left", "group_right"))
_KEYWORDS = _GROUPING | frozenset(("offset", "bool", "and", "or", "unless", "atan2"))
_AGGREGATIONS = frozenset((
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "limitk", "limit_ratio"))
_NUMBER_WORDS = frozenset(("inf", "nan"))

_VAR = r"\$\{[^}]*\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_.:]+\]\]"
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
               (?:(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)?)
  | (?P<ident>(?:[A-Za-z_]|%(var)s)(?:[A-Za-z0-9_:]|%(var)s)*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%%^<>=,(){}\[\]@:])
""" % {"var": _VAR}, re.VERBOSE)
_ONLY_VAR = re.compile(r"^(?:%s)$" % _VAR)
_ANY_VAR = re.compile(_VAR)
PLACEHOLDER_PREFIX = "__grafana_var_"


class _Tok(object):
    __slots__ = ("kind", "start", "end", "text")

    def __init__(self, kind, start, end, text):
        self.kind, self.start, self.end, self.text = kind, start, end, text

    def __repr__(self):
        return "%s(%r)" % (self.kind, self.text)


def _tokenize(expr):
    tokens = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise PromQLError("unexpected character %r at position %d" % (expr[pos], pos))
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            text = match.group(kind)
            if kind == "ident":
                if _ONLY_VAR.match(text):
                    kind = "var"
                elif text.lower() in _NUMBER_WORDS:
                    kind = "number"
            tokens.append(_Tok(kind, match.start(), match.end(), text))
        pos = match.end()
    return tokens


def _matching(tokens, index, open_char, close_char):
    depth = 0
    for j in range(index, len(tokens)):
        if tokens[j].kind == "op":
            if tokens[j].text == open_char:
                depth += 1
            elif tokens[j].text == close_char:
                depth -= 1
                if depth == 0:
                    return j
    raise PromQLError("unbalanced %r" % open_char)


def _unquote(text):
    if text[:1] in "\"'`":
        return text[1:-1]
    return text


def _brace_groups(tokens, open_index, close_index):
    """Matcher groups inside {...} (split at ``or``): [(labels, insert offset, text prefix, suffix)]."""
    groups = []
    labels, last = set(), None

    def close_group(terminator):
        if last is None or last.text == ",":
            return (labels, terminator.start, "", " " if terminator.text.lower() == "or" else "")
        return (labels, last.end, ",", "")

    j = open_index + 1
    while j < close_index:
        tok = tokens[j]
        if tok.kind == "ident" and tok.text.lower() == "or":
            groups.append(close_group(tok))
            labels, last = set(), None
            j += 1
            continue
        if tok.kind in ("ident", "string") and j + 1 < close_index and tokens[j + 1].text in MATCH_OPS:
            labels.add(_unquote(tok.text))
            last = tokens[min(j + 2, close_index - 1)]
            j += 3
            continue
        if tok.kind == "string":  # a quoted metric name: {"http.requests", ...}
            labels.add("__name__")
        last = tok
        j += 1
    groups.append(close_group(tokens[close_index]))
    return groups


def find_selectors(expr):
    """Vector selectors of ``expr`` as found in its text.

    Returns [{"name": metric name or "", "name_end": offset after the name or None,
    "braces": (open offset, close offset) or None, "groups": [(label set, insert offset, text
    before, text after)]}]. Grafana variables count as (parts of) names; a lone variable is not a selector.
    """
    tokens = _tokenize(expr)
    selectors = []
    stack = []  # (kind, close char); kind: "labels" | "matchers" | "range" | "expr"
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        context = stack[-1] if stack else "expr"
        if tok.kind == "op":
            if tok.text == "(":
                is_labels = prev is not None and prev.kind == "ident" and prev.text.lower() in _GROUPING
                stack.append("labels" if is_labels else "expr")
            elif tok.text == "[":
                stack.append("range")
            elif tok.text in (")", "]", "}"):
                if stack:
                    stack.pop()
            elif tok.text == "{":
                if context in ("expr",):  # a selector without a metric name
                    close = _matching(tokens, i, "{", "}")
                    selectors.append(_selector(tokens, "", None, i, close))
                    i = close + 1
                    continue
                stack.append("matchers")
            i += 1
            continue
        if tok.kind not in ("ident", "var") or context != "expr":
            i += 1
            continue
        lowered = tok.text.lower()
        followed_by_paren = nxt is not None and nxt.text == "("
        if lowered in _KEYWORDS or followed_by_paren:
            i += 1
            continue
        if lowered in _AGGREGATIONS and nxt is not None and nxt.text.lower() in ("by", "without"):
            i += 1
            continue
        if prev is not None and prev.text == "@":  # @ start() / end() are functions anyway
            i += 1
            continue
        if tok.kind == "var" and not (nxt is not None and nxt.text == "{"):
            i += 1  # a lone variable stands for a number, a duration or a whole selector
            continue
        if nxt is not None and nxt.text == "{":
            close = _matching(tokens, i + 1, "{", "}")
            selectors.append(_selector(tokens, tok.text, tok.end, i + 1, close))
            i = close + 1
            continue
        selectors.append({"name": tok.text, "name_end": tok.end, "braces": None, "groups": []})
        i += 1
    return selectors


def _selector(tokens, name, name_end, open_index, close_index):
    return {"name": name, "name_end": name_end,
            "braces": (tokens[open_index].start, tokens[close_index].start),
            "groups": _brace_groups(tokens, open_index, close_index)}


def _quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def substitute_variables(expr, mode="number"):
    """Replace Grafana variables outside string literals with parseable placeholders.

    Inside ``[...]`` and after ``offset`` a variable becomes a duration; glued to a name or
    before ``{``/``[`` it becomes a name; elsewhere a number (``mode="number"``) or a name
    (``mode="name"``). Returns the substituted text.
    """
    tokens = _tokenize(expr)
    out = []
    last = 0
    stack = []
    counter = [0]

    def name():
        counter[0] += 1
        return "%s%d" % (PLACEHOLDER_PREFIX, counter[0])

    for i, tok in enumerate(tokens):
        if tok.kind == "op":
            if tok.text in "([{":
                stack.append(tok.text)
            elif tok.text in ")]}" and stack:
                stack.pop()
            continue
        if tok.kind not in ("ident", "var") or not _ANY_VAR.search(tok.text):
            continue
        prev = tokens[i - 1] if i > 0 else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "ident":
            replacement = _ANY_VAR.sub(lambda m: name(), tok.text)
        elif (stack and stack[-1] == "[") or (prev is not None and prev.text.lower() == "offset"):
            replacement = "1m"
        elif (nxt is not None and nxt.text in ("{", "[")) or (stack and stack[-1] in ("{",)) or mode == "name":
            replacement = name()
        elif prev is not None and prev.text == "(" and i > 1 and tokens[i - 2].text.lower() in _GROUPING:
            replacement = name()
        elif prev is not None and prev.text == "," and stack and stack[-1] == "(" and _in_label_list(tokens, i):
            replacement = name()
        else:
            replacement = "1"
        out.append(expr[last:tok.start])
        out.append(replacement)
        last = tok.end
    out.append(expr[last:])
    return "".join(out)


def _in_label_list(tokens, index):
    depth = 0
    for j in range(index - 1, -1, -1):
        text = tokens[j].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                return j > 0 and tokens[j - 1].text.lower() in _GROUPING
            depth -= 1
    return False


def parse(expr):
    """Parse ``expr`` (Grafana variables allowed) and return the promql_parser AST.

    Raises PromQLError with the parser's message for invalid PromQL.
    """
    if not HAS_PROMQL_PARSER:
        raise PromQLError("the Python package promql-parser is required (pip install promql-parser): %s"
                          % PROMQL_PARSER_IMPORT_ERROR)
    if not expr or not expr.strip():
        raise PromQLError("empty query")
    first_error = None
    for mode in ("number", "name"):
        try:
            return promql_parser.parse(substitute_variables(expr, mode))
        except PromQLError:
            raise
        except Exception as exc:  # the parser raises ValueError, pyo3 errors on some inputs
            if first_error is None:
                first_error = exc
    raise PromQLError(str(first_error).strip() or first_error.__class__.__name__)


def validate(expr):
    """Return None when ``expr`` is valid PromQL, else the parser's message."""
    try:
        parse(expr)
    except PromQLError as exc:
        return str(exc)
    return None


def _ast_selectors(ast):
    found = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(ast, visit)
    return found


def _has_label(selector, label):
    groups = [list(selector.matchers.matchers)]
    if selector.matchers.or_matchers:
        groups = [list(g) for g in selector.matchers.or_matchers]
    return all(any(m.name == label for m in group) for group in groups)


def _counts_as_selector(node):
    if not node.name or not node.name.startswith(PLACEHOLDER_PREFIX):
        return True
    return bool(node.matchers.matchers or node.matchers.or_matchers)


def add_label_matcher(expr, label, value, op="=~"):
    """Add ``label <op> "value"`` to every vector selector of ``expr`` and return the new text.

    Selectors that already have a matcher on ``label`` are left as written; nothing else in the
    text changes (spacing, comments, Grafana variables stay). Raises PromQLError when ``expr`` is
    not valid PromQL or the result would not carry the matcher everywhere.
    """
    if op not in MATCH_OPS:
        raise PromQLError("unknown matcher operator %r (use one of %s)" % (op, ", ".join(MATCH_OPS)))
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", label or ""):
        raise PromQLError("invalid label name %r" % label)
    ast = parse(expr)
    selectors = find_selectors(expr)
    expected = [s for s in _ast_selectors(ast) if _counts_as_selector(s)]
    if len(expected) != len(selectors):
        raise PromQLError("could not locate every selector in %r (found %d of %d)"
                          % (expr, len(selectors), len(expected)))
    matcher = "%s%s%s" % (label, op, _quote(value))
    inserts = []  # (offset, text)
    for selector in selectors:
        if selector["braces"] is None:
            inserts.append((selector["name_end"], "{%s}" % matcher))
            continue
        for labels, offset, prefix, suffix in selector["groups"]:
            if label not in labels:
                inserts.append((offset, prefix + matcher + suffix))
    if not inserts:
        return expr
    result = expr
    for offset, text in sorted(inserts, key=lambda item: item[0], reverse=True):
        result = result[:offset] + text + result[offset:]
    try:
        new_ast = parse(result)
    except PromQLError as exc:  # pragma: no cover - a lexer defect; never hand out broken PromQL
        raise PromQLError("adding %s to %r gave invalid PromQL (%s)" % (matcher, expr, exc))
    missing = [s for s in _ast_selectors(new_ast) if _counts_as_selector(s) and not _has_label(s, label)]
    if missing:  # pragma: no cover - same
        raise PromQLError("could not add %s to every selector of %r" % (matcher, expr))
    return result
