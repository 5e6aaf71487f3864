# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana Alloy's configuration syntax: values (``Ref``, ``Block``), a renderer (``render_alloy``,
quoted and escaped strings, objects with quoted keys, component references, nested blocks) and a
parser (``parse_alloy``) for the subset monitoring.stack writes. No Ansible imports.
"""

from __future__ import annotations

import re

# An identifier (block labels): Alloy's syntax rule, not a label-name rule.
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Ref(object):
    """An Alloy expression written as is: a component export such as ``loki.write.default.receiver``."""

    def __init__(self, expr):
        self.expr = expr

    def __eq__(self, other):
        return isinstance(other, Ref) and other.expr == self.expr

    def __repr__(self):
        return "Ref(%r)" % self.expr


class Block(object):
    """A block: ``name "label" { attributes and nested blocks }`` (label optional)."""

    def __init__(self, name, label=None, body=None):
        self.name = name
        self.label = label
        self.body = list(body or [])  # [(attribute name, value)] and Block, in order

    def attrs(self):
        return dict(item for item in self.body if isinstance(item, tuple))

    def blocks(self, name=None):
        return [item for item in self.body if isinstance(item, Block) and (name is None or item.name == name)]

    def __repr__(self):
        return "Block(%r, %r, %r)" % (self.name, self.label, self.body)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def alloy_string(value):
    """A double-quoted Alloy string with backslashes, quotes and control characters escaped."""
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def alloy_value(value, indent=0):
    """Render a Python value as an Alloy expression."""
    pad = "  " * indent
    if isinstance(value, Ref):
        return value.expr
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return alloy_string(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(alloy_value(v) for v in value) + "]"
        return "[\n" + "".join("%s  %s,\n" % (pad, alloy_value(v, indent + 1)) for v in value) + pad + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + "".join("%s  %s = %s,\n" % (pad, alloy_string(k), alloy_value(v, indent + 1))
                               for k, v in value.items()) + pad + "}"
    raise TypeError("cannot render %r as Alloy" % (value,))


def render_alloy(blocks, header=None):
    """Alloy source text for a list of Blocks."""
    lines = []
    for line in header or []:
        lines.append("// " + line)
    if header:
        lines.append("")

    def emit(block, indent):
        pad = "  " * indent
        head = block.name + (" " + alloy_string(block.label) if block.label is not None else "")
        if not block.body:
            lines.append("%s%s { }" % (pad, head))
            return
        lines.append("%s%s {" % (pad, head))
        width = max([len(item[0]) for item in block.body if isinstance(item, tuple)] or [0])
        previous = None
        for item in block.body:
            if isinstance(item, tuple):
                if previous == "block":
                    lines.append("")
                lines.append("%s  %s = %s" % (pad, item[0].ljust(width), alloy_value(item[1], indent + 1)))
                previous = "attr"
            else:
                if previous is not None:
                    lines.append("")
                emit(item, indent + 1)
                previous = "block"
        lines.append("%s}" % pad)

    for index, block in enumerate(blocks):
        if index:
            lines.append("")
        emit(block, 0)
    return "\n".join(lines) + "\n"


class AlloySyntaxError(ValueError):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[{}\[\](),=])
""", re.VERBOSE | re.DOTALL)

_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(token, line):
    body, out, index = token[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = body[index + 1]
        if nxt in _UNESCAPE:
            out.append(_UNESCAPE[nxt])
            index += 2
        elif nxt == "u" and re.match(r"^[0-9A-Fa-f]{4}$", body[index + 2:index + 6]):
            out.append(chr(int(body[index + 2:index + 6], 16)))
            index += 6
        else:
            raise AlloySyntaxError("line %d: unknown escape \\%s in a string" % (line, nxt))
    return "".join(out)


def _tokens(text):
    pos, line, out = 0, 1, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise AlloySyntaxError("line %d: unexpected character %r" % (line, text[pos]))
        kind = match.lastgroup
        value = match.group(kind)
        if kind != "ws":
            out.append((kind, value, line))
        line += value.count("\n")
        pos = match.end()
    out.append(("eof", "", line))
    return out


class _Parser(object):
    def __init__(self, text):
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self, offset=0):
        return self.toks[min(self.pos + offset, len(self.toks) - 1)]

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise AlloySyntaxError("line %d: expected %s, got %r" % (tok[2], value or kind, tok[1] or "end of file"))
        self.pos += 1
        return tok

    def body(self, closing):
        items = []
        while not (self.peek()[0] == closing[0] and self.peek()[1] == closing[1]):
            tok = self.take("ident")
            if self.peek()[1] == "=":
                if "." in tok[1]:
                    raise AlloySyntaxError("line %d: attribute name %r may not contain dots" % (tok[2], tok[1]))
                self.take("punct", "=")
                items.append((tok[1], self.value()))
            else:
                label = None
                if self.peek()[0] == "string":
                    label = _unquote(self.take("string")[1], tok[2])
                    if not _IDENT.match(label):
                        raise AlloySyntaxError("line %d: block label %r must be an identifier" % (tok[2], label))
                self.take("punct", "{")
                items.append(Block(tok[1], label, self.body(("punct", "}"))))
                self.take("punct", "}")
        return items

    def value(self):
        tok = self.peek()
        if tok[0] == "string":
            self.pos += 1
            return _unquote(tok[1], tok[2])
        if tok[0] == "raw":
            self.pos += 1
            return tok[1][1:-1]
        if tok[0] == "number":
            self.pos += 1
            return float(tok[1]) if "." in tok[1] else int(tok[1])
        if tok[0] == "ident":
            self.pos += 1
            if tok[1] in ("true", "false"):
                return tok[1] == "true"
            if tok[1] == "null":
                return None
            if self.peek()[1] == "(":
                raise AlloySyntaxError("line %d: function calls are not used by monitoring.stack configs" % tok[2])
            return Ref(tok[1])
        if tok[1] == "[":
            self.pos += 1
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] != "]":
                    self.take("punct", ",")
            self.take("punct", "]")
            return items
        if tok[1] == "{":
            self.pos += 1
            obj = {}
            while self.peek()[1] != "}":
                key = self.peek()
                if key[0] == "string":
                    name = _unquote(key[1], key[2])
                elif key[0] == "ident" and "." not in key[1]:
                    name = key[1]
                else:
                    raise AlloySyntaxError("line %d: object key expected, got %r" % (key[2], key[1]))
                self.pos += 1
                self.take("punct", "=")
                obj[name] = self.value()
                if self.peek()[1] != "}":
                    self.take("punct", ",")
            self.take("punct", "}")
            return obj
        raise AlloySyntaxError("line %d: value expected, got %r" % (tok[2], tok[1] or "end of file"))


def parse_alloy(text):
    """Parse Alloy text into a list of Blocks (top level); raises AlloySyntaxError."""
    parser = _Parser(text)
    items = parser.body(("eof", ""))
    for item in items:
        if not isinstance(item, Block):
            raise AlloySyntaxError("top level: attribute %r outside a block" % item[0])
    return items
