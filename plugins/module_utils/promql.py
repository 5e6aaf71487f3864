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

from ansible_collections.monitoring.stack.plugins.module_utils.common import is_label_name

try:
    import promql_parser
    HAS_PROMQL_PARSER = True
    PROMQL_PARSER_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    promql_parser = None
    HAS_PROMQL_PARSER = False
    PROMQL_PARSER_IMPORT_ERROR = exc

try:
    from importlib.metadata import version as _dist_version
    PROMQL_PARSER_VERSION = _dist_version("promql-parser") if HAS_PROMQL_PARSER else None
except Exception:  # pylint: disable=broad-except  # no metadata (zipped, vendored): unknown
    PROMQL_PARSER_VERSION = None


class PromQLError(ValueError):
    """The query is not valid PromQL, or the matcher could not be added safely."""


MATCH_OPS = ("=", "!=", "=~", "!~")
_GROUPING = frozenset(("by", "without", "on", "ignoring", "group_left", "group_right"))
_KEYWORDS = _GROUPING | frozenset(("offset", "bool", "and", "or", "unless", "atan2"))
_AGGREGATIONS = frozenset((
    "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "limitk", "limit_ratio"))
_NUMBER_WORDS = frozenset(("inf", "nan"))
# Arguments (0-based) that must be scalars: a lone variable there stands for a number.
_SCALAR_ARGS = {
    "topk": (0,), "bottomk": (0,), "limitk": (0,), "limit_ratio": (0,), "quantile": (0,),
    "histogram_quantile": (0,), "quantile_over_time": (0,), "histogram_fraction": (0, 1),
    "clamp": (1, 2), "clamp_max": (1,), "clamp_min": (1,), "round": (1,), "predict_linear": (1,),
    "holt_winters": (1, 2), "double_exponential_smoothing": (1, 2), "vector": (0,),
}

# Grafana's variable syntaxes: ${name}, ${name:format}, $name, [[name]], [[name:format]].
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
# Inside [range:step] and after ``offset`` only durations appear, and a duration may be built
# from variables (``$__range``, ``${__range_s}s``); there ``:`` separates range and step
# instead of being part of a name.
_DURATION = re.compile(r"""
    (?P<ws>\s+)
  | (?P<duration>(?:%(var)s|[0-9]+(?:\.[0-9]+)?(?:ms|[smhdwy])?)(?:%(var)s|[0-9]+(?:ms|[smhdwy])?|ms|[smhdwy])*)
""" % {"var": _VAR}, re.VERBOSE)
_ONLY_VAR = re.compile(r"^(?:%s)$" % _VAR)
_ANY_VAR = re.compile(_VAR)
PLACEHOLDER_PREFIX = "__grafana_var_"
_WHOLE_PLACEHOLDER = re.compile(r"^%s[0-9]+$" % PLACEHOLDER_PREFIX)


class _Tok(object):
    __slots__ = ("kind", "start", "end", "text")

    def __init__(self, kind, start, end, text):
        self.kind, self.start, self.end, self.text = kind, start, end, text

    def __repr__(self):
        return "%s(%r)" % (self.kind, self.text)


def _expects_duration(tokens, ranges_open):
    """Whether the next token is a duration: inside [...] or right after ``offset`` (or ``offset -``)."""
    if ranges_open:
        return True
    if not tokens:
        return False
    last = tokens[-1]
    if last.kind == "ident" and last.text.lower() == "offset":
        return True
    return last.text in ("-", "+") and len(tokens) > 1 and tokens[-2].text.lower() == "offset"


def _tokenize(expr):
    tokens = []
    ranges = []  # open "[": a range or a subquery range:step, which hold durations only
    pos = 0
    while pos < len(expr):
        match = None
        if _expects_duration(tokens, bool(ranges)):
            match = _DURATION.match(expr, pos)
        if match is None:
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
            elif kind == "op" and text == "[":
                ranges.append(True)
            elif kind == "op" and text == "]" and ranges:
                ranges.pop()
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
        if tok.kind in ("ident", "string", "var") and j + 1 < close_index and tokens[j + 1].text in MATCH_OPS:
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


def _find_selectors(tokens):
    """Vector selectors as found in the text: [{"name": metric name or "", "name_end": offset after
    the name or None, "braces": (open offset, close offset) or None, "groups": [(label set, insert
    offset, text before, text after)]}]. A lone variable is not a selector."""
    selectors = []
    stack = []  # kind per open bracket: "labels" | "matchers" | "range" | "expr"
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

    In a range, a subquery step and after ``offset`` a variable becomes a duration; glued to a
    name, before ``{``/``[``, as a label name or in a by/on list it becomes a name; after ``@``
    and as a scalar argument (``topk($n, ...)``) a number; elsewhere a number
    (``mode="number"``) or a metric name (``mode="vector"``). Returns the substituted text.
    """
    return _substitute(expr, _tokenize(expr), mode)[0]


def _call_name(tokens, open_index):
    """The function or aggregation whose argument list opens at ``tokens[open_index]``."""
    if open_index == 0:
        return None
    prev = tokens[open_index - 1]
    if prev.kind == "ident":
        return prev.text.lower()
    if prev.text == ")":  # sum by (le) (...): skip the label list back to the aggregation
        depth = 0
        for j in range(open_index - 1, -1, -1):
            if tokens[j].text == ")":
                depth += 1
            elif tokens[j].text == "(":
                depth -= 1
                if depth == 0:
                    if j >= 2 and tokens[j - 1].text.lower() in ("by", "without"):
                        return tokens[j - 2].text.lower()
                    return None
    return None


def _substitute(expr, tokens, mode):
    """(text with placeholders, {placeholder: the variable it stands for})."""
    out = []
    last = 0
    stack = []  # per open bracket: [char, call name, argument index, is a label list]
    placeholders = {}

    def name(original):
        placeholder = "%s%d" % (PLACEHOLDER_PREFIX, len(placeholders) + 1)
        placeholders[placeholder] = original
        return placeholder

    for i, tok in enumerate(tokens):
        top = stack[-1] if stack else None
        if tok.kind == "op":
            if tok.text in "([{":
                prev = tokens[i - 1] if i > 0 else None
                labels = tok.text == "(" and prev is not None and prev.text.lower() in _GROUPING
                stack.append([tok.text, _call_name(tokens, i) if tok.text == "(" else None, 0, labels])
            elif tok.text in ")]}" and stack:
                stack.pop()
            elif tok.text == "," and top is not None:
                top[2] += 1
            continue
        if tok.kind not in ("ident", "var", "duration") or not _ANY_VAR.search(tok.text):
            continue
        prev = tokens[i - 1] if i > 0 else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "duration":
            replacement = "1m"
        elif tok.kind == "ident":
            replacement = _ANY_VAR.sub(lambda m: name(m.group(0)), tok.text)
        elif prev is not None and prev.text == "@":
            replacement = "1"
        elif (nxt is not None and nxt.text in ("{", "[")) or (top is not None and (top[0] == "{" or top[3])):
            replacement = name(tok.text)
        elif top is not None and top[0] == "(" and top[2] in _SCALAR_ARGS.get(top[1], ()):
            replacement = "1"
        elif mode == "vector":
            replacement = name(tok.text)
        else:
            replacement = "1"
        out.append(expr[last:tok.start])
        out.append(replacement)
        last = tok.end
    out.append(expr[last:])
    return "".join(out), placeholders


def _parse(expr, tokens):
    """(AST, placeholders) of ``expr``: a lone variable is first read as a number, then as a metric."""
    if not HAS_PROMQL_PARSER:
        raise PromQLError("the Python package promql-parser is required (pip install promql-parser): %s"
                          % PROMQL_PARSER_IMPORT_ERROR)
    if not expr or not expr.strip():
        raise PromQLError("empty query")
    first_error = None
    tried = set()
    for mode in ("number", "vector"):
        text, placeholders = _substitute(expr, tokens, mode)
        if text in tried:
            continue  # no lone variable: the second reading is the same text
        tried.add(text)
        try:
            return promql_parser.parse(text), placeholders
        except Exception as exc:  # the parser raises ValueError, pyo3 errors on some inputs
            if first_error is None:
                first_error = exc
    raise PromQLError(str(first_error).strip() or first_error.__class__.__name__)


def parse(expr):
    """Parse ``expr`` (Grafana variables allowed) and return the promql_parser AST.

    Raises PromQLError with the parser's message for invalid PromQL.
    """
    return _parse(expr, _tokenize(expr) if expr else [])[0]


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


def _is_variable_selector(node):
    """A selector whose whole metric name is a Grafana variable, with no matchers: ``rate($metric[5m])``."""
    return bool(node.name and _WHOLE_PLACEHOLDER.match(node.name)
                and not (node.matchers.matchers or node.matchers.or_matchers))


# inject_label answers by (expr, label, value, op): dashboards of one run share many queries, and
# each is then tokenized and parsed once per process. Bounded: emptied when it reaches the limit.
_INJECT_CACHE = {}
INJECT_CACHE_LIMIT = 20000


def inject_label(expr, label, value, op="=~"):
    """Add ``label <op> "value"`` to every vector selector of ``expr``: (new text, notes).

    Answers are cached per process (the same query in many dashboards is parsed once); the
    notes list returned is the caller's own copy. Errors are not cached.

    Selectors that already have a matcher on ``label`` are left as written; nothing else in the
    text changes (spacing, comments, Grafana variables stay). What cannot be filtered is left
    alone and described in ``notes``: a selector that is only a variable (``rate($metric[5m])``)
    or a query that is only a variable. Raises PromQLError when ``expr`` is not valid PromQL or
    the result would not carry the matcher everywhere.
    """
    key = (expr, label, value, op)
    cached = _INJECT_CACHE.get(key)
    if cached is None:
        cached = _inject_label(expr, label, value, op)
        if len(_INJECT_CACHE) >= INJECT_CACHE_LIMIT:
            _INJECT_CACHE.clear()
        _INJECT_CACHE[key] = cached
    return cached[0], list(cached[1])


def _inject_label(expr, label, value, op):
    """inject_label without the cache: (new text, tuple of notes)."""
    if op not in MATCH_OPS:
        raise PromQLError("unknown matcher operator %r (use one of %s)" % (op, ", ".join(MATCH_OPS)))
    if not is_label_name(label):
        raise PromQLError("invalid label name %r" % label)
    tokens = _tokenize(expr) if expr else []
    ast, placeholders = _parse(expr, tokens)
    matcher = "%s%s%s" % (label, op, _quote(value))
    notes = []
    if len(tokens) == 1 and tokens[0].kind == "var":
        notes.append("the whole query is the Grafana variable %s: left without %s" % (tokens[0].text, matcher))
        return expr, tuple(notes)
    selectors = _find_selectors(tokens)
    expected = []
    for node in _ast_selectors(ast):
        if _is_variable_selector(node):
            notes.append("%s is a Grafana variable standing for a metric: its selector was left without %s"
                         % (placeholders.get(node.name, node.name), matcher))
        else:
            expected.append(node)
    if len(expected) != len(selectors):
        raise PromQLError("could not locate every selector in %r (found %d of %d)"
                          % (expr, len(selectors), len(expected)))
    inserts = []  # (offset, text)
    for selector in selectors:
        if selector["braces"] is None:
            inserts.append((selector["name_end"], "{%s}" % matcher))
            continue
        for labels, offset, prefix, suffix in selector["groups"]:
            if label not in labels:
                inserts.append((offset, prefix + matcher + suffix))
    if not inserts:
        return expr, tuple(notes)
    result = expr
    for offset, text in sorted(inserts, key=lambda item: item[0], reverse=True):
        result = result[:offset] + text + result[offset:]
    try:
        new_ast = parse(result)
    except PromQLError as exc:  # pragma: no cover - a lexer defect; never hand out broken PromQL
        raise PromQLError("adding %s to %r gave invalid PromQL (%s)" % (matcher, expr, exc))
    missing = [s for s in _ast_selectors(new_ast) if not _is_variable_selector(s) and not _has_label(s, label)]
    if missing:  # pragma: no cover - same
        raise PromQLError("could not add %s to every selector of %r" % (matcher, expr))
    return result, tuple(notes)


def add_label_matcher(expr, label, value, op="=~"):
    """``inject_label`` without the notes: the new text only."""
    return inject_label(expr, label, value, op)[0]
