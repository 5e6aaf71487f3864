# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus relabelling, evaluated the way Prometheus 2.42 evaluates it.

Written from the semantics of ``model/relabel/relabel.go`` (prometheus/prometheus v2.42.0)
and checked against a real Prometheus by tests/integration/test_relabel_prometheus.py:

- a rule reads ``source_labels`` (a missing label reads as ``""``), joins the values with
  ``separator`` (default ``;``) and matches the joined value against ``regex`` anchored at both
  ends (``^(?:regex)$``; default ``(.*)``);
- ``replacement`` (default ``$1``) and ``target_label`` are expanded like Go's
  ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$`` for a dollar;
- every action: replace, keep, drop, keepequal, dropequal, hashmod (md5 of the joined value,
  the last 8 bytes as a big-endian integer, modulo ``modulus``), labelmap, labeldrop, labelkeep,
  lowercase, uppercase; a label set to ``""`` is removed.

Regexes are Go RE2 syntax. ``go_regex`` translates RE2 into Python ``re`` where the two differ
(``$`` and ``\\z``, ASCII ``\\d \\w \\s \\b``, POSIX classes, octal and ``\\x{..}`` escapes,
``\\Q..\\E``, flag groups anywhere) and refuses, with ``RelabelError``, what RE2 refuses or what
Python cannot express the same way (back references, look-arounds, possessive quantifiers,
``\\p{..}`` classes, the ``U`` flag, repeat counts above 1000).

Where Prometheus 3 differs from 2.42, this follows 2.42 (the oracle the tests run): Prometheus 3
anchors with ``^(?s:regex)$`` (``.`` also matches a newline) and leaves the labels alone when an
expanded ``target_label`` is not a valid name (2.42 deletes the unexpanded ``target_label``).

Plain Python, no Ansible imports.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import is_label_name

__all__ = ["ACTIONS", "InvalidRegex", "RelabelError", "Rule", "Unsupported", "compile_rule", "compile_rules", "go_regex", "process"]

ACTIONS = ("replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop",
           "labelkeep", "lowercase", "uppercase")
DEFAULT_SEPARATOR = ";"
DEFAULT_REGEX = "(.*)"
DEFAULT_REPLACEMENT = "$1"
MAX_REPEAT = 1000  # RE2's limit on {n,m}
# relabel.go's relabelTarget: a label name that may contain $1 / ${name} references.
_TARGET_TEMPLATE = re.compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$", re.ASCII)

_ASCII_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_WORD = "[0-9A-Za-z_]"
_ASCII_BOUNDARY = "(?:(?<=%s)(?!%s)|(?<!%s)(?=%s))" % (_WORD, _WORD, _WORD, _WORD)
_ASCII_NON_BOUNDARY = "(?:(?<=%s)(?=%s)|(?<!%s)(?!%s))" % (_WORD, _WORD, _WORD, _WORD)
_SIMPLE_ESCAPES = "aftnrv"
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


class RelabelError(ValueError):
    """A relabel rule (or RE2 regex) that Prometheus refuses."""


class InvalidRegex(RelabelError):
    """A regex RE2 (so Prometheus and the collector) refuses."""


class Unsupported(RelabelError):
    """An RE2 construct Prometheus accepts but Python's ``re`` cannot evaluate the same way."""


# --------------------------------------------------------------------------------------------
# RE2 -> Python re


def _char(code):
    return re.escape(chr(code))


def _escape(pattern, pos, in_class):
    """(python text, next position) for the escape at ``pattern[pos] == '\\\\'``."""
    if pos + 1 >= len(pattern):
        raise RelabelError("trailing backslash at end of expression")
    c = pattern[pos + 1]
    nxt = pos + 2
    if c in "1234567" and (nxt >= len(pattern) or pattern[nxt] not in "01234567"):
        raise RelabelError("back references (\\%s) are not supported by Go's RE2" % c)
    if c in "01234567":
        end = nxt
        while end < len(pattern) and end < pos + 4 and pattern[end] in "01234567":
            end += 1
        return _char(int(pattern[pos + 1:end], 8)), end
    if c in "89":
        raise RelabelError("invalid escape sequence \\%s" % c)
    if c == "x":
        if pattern[nxt:nxt + 1] == "{":
            close = pattern.find("}", nxt)
            digits = pattern[nxt + 1:close] if close > 0 else ""
            if not digits or not re.match(r"^[0-9A-Fa-f]+$", digits) or int(digits, 16) > 0x10FFFF:
                raise RelabelError("invalid escape sequence \\x{%s" % digits)
            return _char(int(digits, 16)), close + 1
        digits = pattern[nxt:nxt + 2]
        if not re.match(r"^[0-9A-Fa-f]{2}$", digits):
            raise RelabelError("invalid escape sequence \\x%s" % digits)
        return _char(int(digits, 16)), nxt + 2
    if c in _SIMPLE_ESCAPES:
        return "\\" + c, nxt
    if c in "dws":
        return ("%s" if in_class else "[%s]") % _ASCII_CLASSES[c], nxt
    if c in "DWS":
        if in_class:
            raise Unsupported("\\%s inside a character class cannot be evaluated here" % c)
        return "[^%s]" % _ASCII_CLASSES[c.lower()], nxt
    if c in "pP":
        raise Unsupported("Unicode classes (\\%s) cannot be evaluated here" % c)
    if not in_class:
        if c == "A":
            return "\\A", nxt
        if c == "z":
            return "\\Z", nxt
        if c == "b":
            return _ASCII_BOUNDARY, nxt
        if c == "B":
            return _ASCII_NON_BOUNDARY, nxt
        if c == "Q":
            end = pattern.find("\\E", nxt)
            literal = pattern[nxt:] if end < 0 else pattern[nxt:end]
            return re.escape(literal), len(pattern) if end < 0 else end + 2
    if ord(c) < 128 and not c.isalnum():
        return "\\" + c, nxt
    raise RelabelError("invalid escape sequence \\%s" % c)


def _char_class(pattern, pos):
    """(python class, next position) for the class opened at ``pattern[pos] == '['``."""
    out = ["["]
    i = pos + 1
    if pattern[i:i + 1] == "^":
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(pattern):
            raise RelabelError("missing closing ]: %s" % pattern[pos:])
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if c == "[" and pattern[i + 1:i + 2] == ":":
            close = pattern.find(":]", i + 2)
            name = pattern[i + 2:close] if close > 0 else ""
            if name.startswith("^"):
                raise Unsupported("negated POSIX classes ([:^%s:]) cannot be evaluated here" % name[1:])
            if name in _POSIX_CLASSES:
                out.append(_POSIX_CLASSES[name])
                i = close + 2
                continue
            if close > 0 and re.match(r"^[a-z]+$", name):
                raise RelabelError("invalid character class range [:%s:]" % name)
        if c == "\\":
            text, i = _escape(pattern, i, True)
            out.append(text)
            continue
        # characters Python reads as (future) set syntax or a nested set are literal in RE2
        out.append("\\" + c if c in "[&~|]" else c)
        i += 1


def _group_open(pattern, pos, frames):
    """Python text for a group opened at ``pattern[pos] == '('``; returns (text, next, frame)."""
    flags = dict(frames[-1]["flags"])
    if pattern.startswith("(?P<", pos):
        return "(?P<", pos + 4, {"flags": flags, "scoped": []}
    if not pattern.startswith("(?", pos):
        return "(", pos + 1, {"flags": flags, "scoped": []}
    match = re.compile(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])").match(pattern, pos)
    if not match:
        raise RelabelError("invalid or unsupported Perl syntax at %r (look-arounds, comments, "
                           "conditionals and back references are not RE2)" % pattern[pos:pos + 4])
    on, off, end = match.group(1), match.group(2), match.group(3)
    if end == ":" and not on and off is None:
        return "(?:", match.end(), {"flags": flags, "scoped": []}
    if set(on + (off or "")) - set("imsU"):
        raise RelabelError("invalid or unsupported Perl syntax: flags %r (RE2 knows i, m, s, U)" % match.group(0))
    if "U" in on + (off or ""):
        raise Unsupported("the ungreedy flag U cannot be evaluated here")
    if (off is not None and not off) or (not on and not off):
        raise RelabelError("invalid or unsupported Perl syntax: %r" % match.group(0))
    for flag in on:
        flags[flag] = True
    for flag in off or "":
        flags[flag] = False
    python_flags = on + ("-" + off if off else "")
    if end == ":":
        return "(?%s:" % python_flags, match.end(), {"flags": flags, "scoped": []}
    # (?i) alone: RE2 applies it to the rest of the enclosing group, Python only at the start of
    # the whole expression; open a scoped group that every | and ) of this group closes.
    frames[-1]["flags"] = flags
    frames[-1]["scoped"].append(python_flags)
    return "(?%s:" % python_flags, match.end(), None


def _after_quantifier(pattern, pos):
    """Refuse what follows a quantifier that RE2 refuses (possessive / nested repetition)."""
    if pos < len(pattern) and pattern[pos] == "?":
        pos += 1
    if pos < len(pattern) and (pattern[pos] in "*+?" or _REPEAT.match(pattern, pos)):
        raise RelabelError("invalid nested repetition operator at %r" % pattern[pos - 1:pos + 2])


def translate(pattern):
    """The Python ``re`` text of an RE2 ``pattern`` (unanchored); RelabelError when refused."""
    if not isinstance(pattern, str):
        raise RelabelError("a regex must be a string, got %r" % (pattern,))
    out = []
    frames = [{"flags": {}, "scoped": []}]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            text, i = _escape(pattern, i, False)
            out.append(text)
        elif c == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        elif c == "(":
            text, i, frame = _group_open(pattern, i, frames)
            out.append(text)
            if frame is not None:
                frames.append(frame)
        elif c == ")":
            if len(frames) == 1:
                raise RelabelError("unexpected ): %s" % pattern)
            out.append(")" * len(frames[-1]["scoped"]) + ")")
            frames.pop()
            i += 1
        elif c == "|":
            scoped = frames[-1]["scoped"]
            out.append(")" * len(scoped) + "|" + "".join("(?%s:" % f for f in scoped))
            i += 1
        elif c == "$":
            out.append("$" if frames[-1]["flags"].get("m") else "\\Z")
            i += 1
        elif c == "{":
            match = _REPEAT.match(pattern, i)
            if match:
                low, high = int(match.group(1)), match.group(3)
                if low > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
                    raise RelabelError("invalid repeat count %s" % match.group(0))
                if high and int(high) < low:
                    raise RelabelError("invalid repeat count %s" % match.group(0))
                out.append(match.group(0))
                i = match.end()
                _after_quantifier(pattern, i)
            else:
                out.append("\\{")  # RE2 reads a { that starts no repeat as a literal
                i += 1
        elif c == "}":
            out.append("\\}")
            i += 1
        elif c in "*+?":
            out.append(c)
            i += 1
            _after_quantifier(pattern, i)
        else:
            out.append(c)
            i += 1
    if len(frames) != 1:
        raise RelabelError("missing closing ): %s" % pattern)
    out.append(")" * len(frames[0]["scoped"]))
    return "".join(out)


def go_regex(pattern, anchored=True):
    """A compiled Python regex that matches what RE2 ``pattern`` matches (``anchored``: as
    Prometheus anchors relabel regexes, use ``fullmatch``-equivalent ``match``)."""
    try:
        text = translate(pattern)
    except Unsupported as exc:
        raise Unsupported("regex %r cannot be evaluated here: %s" % (pattern, exc))
    except RelabelError as exc:
        raise InvalidRegex("regex %r does not compile: %s" % (pattern, exc))
    try:
        return re.compile("(?:%s)\\Z" % text if anchored else text)
    except re.error as exc:
        raise InvalidRegex("regex %r does not compile: %s" % (pattern, exc))
    except (OverflowError, RecursionError) as exc:  # pragma: no cover - pathological patterns
        raise Unsupported("regex %r cannot be evaluated here: %s" % (pattern, exc))


# --------------------------------------------------------------------------------------------
# Go's Regexp.Expand


def _template_name(template, pos):
    """(name, next position) of the reference after ``template[pos] == '$'``, or None."""
    i = pos + 1
    brace = template[i:i + 1] == "{"
    if brace:
        i += 1
    start = i
    while i < len(template) and (template[i].isalnum() or template[i] == "_"):
        i += 1
    if i == start:
        return None
    name = template[start:i]
    if brace:
        if template[i:i + 1] != "}":
            return None
        i += 1
    return name, i


def expand(template, match):
    """``template`` with ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` expanded as Go does."""
    out = []
    i = 0
    while i < len(template):
        if template[i] != "$":
            j = template.find("$", i)
            j = len(template) if j < 0 else j
            out.append(template[i:j])
            i = j
            continue
        if template[i + 1:i + 2] == "$":
            out.append("$")
            i += 2
            continue
        ref = _template_name(template, i)
        if ref is None:  # malformed: the $ is text
            out.append("$")
            i += 1
            continue
        name, i = ref
        if name.isdigit() and name.isascii():
            number = int(name) if (name == "0" or not name.startswith("0")) and len(name) <= 8 else -1
            if 0 <= number <= (match.re.groups if match else -1):
                out.append(match.group(number) or "")
        elif match is not None and name in match.re.groupindex:
            out.append(match.group(name) or "")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# rules


class Rule(object):
    """One relabel config with Prometheus' defaults applied; ``source`` is the config as given."""

    __slots__ = ("action", "source_labels", "separator", "regex", "regex_text", "modulus", "target_label",
                 "replacement", "source")

    def apply(self, labels):
        """The label set after this rule (a new dict), or None when the rule drops it."""
        values = [labels.get(name, "") for name in self.source_labels]
        value = self.separator.join(values)
        action = self.action
        out = dict(labels)
        if action == "drop":
            return None if self.regex.match(value) else out
        if action == "keep":
            return out if self.regex.match(value) else None
        if action == "dropequal":
            return None if labels.get(self.target_label, "") == value else out
        if action == "keepequal":
            return out if labels.get(self.target_label, "") == value else None
        if action == "replace":
            match = self.regex.match(value)
            if match is None:
                return out
            target = expand(self.target_label, match)
            if not is_label_name(target):
                out.pop(self.target_label, None)  # what 2.42 does with an invalid expanded name
                return out
            replacement = expand(self.replacement, match)
            if replacement == "":
                out.pop(self.target_label, None)  # 2.42 deletes the unexpanded target_label
            else:
                out[target] = replacement
        elif action == "lowercase":
            _set(out, self.target_label, _simple_case(value, str.lower))
        elif action == "uppercase":
            _set(out, self.target_label, _simple_case(value, str.upper))
        elif action == "hashmod":
            digest = hashlib.md5(value.encode("utf-8")).digest()
            _set(out, self.target_label, str(int.from_bytes(digest[8:], "big") % self.modulus))
        elif action == "labelmap":
            for name in sorted(labels):
                match = self.regex.match(name)
                if match:
                    _set(out, expand(self.replacement, match), labels[name])
        elif action == "labeldrop":
            for name in labels:
                if self.regex.match(name):
                    out.pop(name, None)
        elif action == "labelkeep":
            for name in labels:
                if not self.regex.match(name):
                    out.pop(name, None)
        return out


def _set(labels, name, value):
    if value == "":
        labels.pop(name, None)  # an empty label is a missing label
    else:
        labels[name] = value


def _simple_case(text, convert):
    """Go's strings.ToLower/ToUpper map rune by rune; Python's full mapping may grow a character."""
    out = []
    for char in text:
        mapped = convert(char)
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


def compile_rule(config, dollar_escaped=False):
    """A Rule from one relabel config mapping, refused (RelabelError) where Prometheus 2.42
    refuses it. ``dollar_escaped``: the config comes from an OpenTelemetry collector file, whose
    loader turns ``$$`` into ``$`` before the prometheus receiver sees it."""
    if not isinstance(config, dict):
        raise RelabelError("a relabel config must be a mapping, got %r" % (config,))

    def text(key, default):
        value = config.get(key, default)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise RelabelError("%s must be a string, got %r" % (key, value))
        value = str(value)
        return value.replace("$$", "$") if dollar_escaped else value

    rule = Rule()
    rule.source = config
    rule.action = text("action", "replace").lower()
    if rule.action not in ACTIONS:
        raise RelabelError("unknown relabel action %r" % config.get("action"))
    sources = config.get("source_labels")
    if sources is None:
        sources = []
    if not isinstance(sources, list):
        raise RelabelError("source_labels must be a list, got %r" % (sources,))
    for name in sources:
        if not is_label_name(name):
            raise RelabelError("%r is not a valid label name (source_labels)" % (name,))
    rule.source_labels = list(sources)
    rule.separator = text("separator", DEFAULT_SEPARATOR)
    rule.regex_text = text("regex", DEFAULT_REGEX)
    rule.regex = go_regex(rule.regex_text)
    rule.target_label = text("target_label", "")
    rule.replacement = text("replacement", DEFAULT_REPLACEMENT)
    modulus = config.get("modulus", 0) or 0
    if isinstance(modulus, bool) or not isinstance(modulus, int) or modulus < 0:
        raise RelabelError("modulus must be a non-negative integer, got %r" % (modulus,))
    rule.modulus = modulus
    _validate(rule, config)
    return rule


def _validate(rule, config):
    """The checks of relabel.go's Config.UnmarshalYAML (v2.42)."""
    action = rule.action
    if action == "hashmod" and not rule.modulus:
        raise RelabelError("relabel configuration for hashmod requires non-zero modulus")
    if action in ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal") and not rule.target_label:
        raise RelabelError("relabel configuration for %s action requires 'target_label' value" % action)
    if action in ("replace", "lowercase", "uppercase", "keepequal", "dropequal") and \
            not _TARGET_TEMPLATE.match(rule.target_label):
        raise RelabelError("%r is invalid 'target_label' for %s action" % (rule.target_label, action))
    if action in ("lowercase", "uppercase", "keepequal", "dropequal") and rule.replacement != DEFAULT_REPLACEMENT:
        raise RelabelError("'replacement' can not be set for %s action" % action)
    if action == "labelmap" and not _TARGET_TEMPLATE.match(rule.replacement):
        raise RelabelError("%r is invalid 'replacement' for %s action" % (rule.replacement, action))
    if action == "hashmod" and not is_label_name(rule.target_label):
        raise RelabelError("%r is invalid 'target_label' for %s action" % (rule.target_label, action))
    if action in ("keepequal", "dropequal") and (
            "regex" in config or rule.modulus or rule.separator != DEFAULT_SEPARATOR
            or rule.replacement != DEFAULT_REPLACEMENT):
        raise RelabelError("%s action requires only 'source_labels' and `target_label`, and no other fields" % action)
    if action in ("labeldrop", "labelkeep") and (
            config.get("source_labels") is not None or rule.target_label or rule.modulus
            or rule.separator != DEFAULT_SEPARATOR or rule.replacement != DEFAULT_REPLACEMENT):
        raise RelabelError("%s action requires only 'regex', and no other fields" % action)


def compile_rules(configs, dollar_escaped=False):
    """[Rule] of a ``*relabel_configs`` list; the error names the rule's index."""
    rules = []
    for index, config in enumerate(configs or []):
        try:
            rules.append(compile_rule(config, dollar_escaped))
        except RelabelError as exc:
            raise type(exc)("[%d]: %s" % (index, exc))
    return rules


def process(labels, rules):
    """(resulting labels or None, index of the rule that dropped the series or None).

    ``labels``: a mapping of label names to values (empty values are missing labels); ``rules``:
    Rules, or relabel config mappings (compiled here).
    """
    current = dict((str(k), str(v)) for k, v in labels.items() if v not in (None, ""))
    for index, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            rule = compile_rule(rule)
        current = rule.apply(current)
        if current is None:
            return None, index
    return current, None
