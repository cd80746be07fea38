"""Reading the papers back with the standard library's html.parser: every element carrying a data-* attribute, with
its attributes, its text and the data-elements inside it. Robust to layout changes; no snapshots."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts)).strip()

    def find_all(self, **attrs: str | None) -> list[Node]:
        """Data-elements below this one whose attributes match (value None: the attribute is present)."""
        out = []
        for child in self.children:
            if all((k.replace("_", "-") in child.attrs) if v is None else child.attrs.get(k.replace("_", "-")) == v
                   for k, v in attrs.items()):
                out.append(child)
            out.extend(child.find_all(**attrs))
        return out

    def find(self, **attrs: str | None) -> Node:
        found = self.find_all(**attrs)
        assert found, f"no element with {attrs}"
        return found[0]

    def field(self, name: str) -> str:
        return self.find(data_field=name).text

    def fields(self, name: str) -> list[str]:
        return [n.text for n in self.find_all(data_field=name)]


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack: list[tuple[str, Node | None]] = []  # every open element; the Node when it carries data-*
        self.all_text: list[str] = []
        self._in_style = False
        self.elements: list[tuple[str, dict[str, str]]] = []

    def _nearest(self) -> Node:
        for _tag, node in reversed(self.stack):
            if node is not None:
                return node
        return self.root

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        self.elements.append((tag, a))
        if tag in ("style", "script"):
            self._in_style = True
        if tag in VOID:
            return
        node = None
        if any(k.startswith("data-") for k in a):
            node = Node(tag, a)
            self._nearest().children.append(node)
        self.stack.append((tag, node))

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._in_style = False
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._in_style:
            return
        self.all_text.append(data)
        for _tag, node in self.stack:
            if node is not None:
                node.parts.append(data)
        self.root.parts.append(data)


@dataclass
class Page:
    root: Node
    text: str
    elements: list[tuple[str, dict[str, str]]]

    def __getattr__(self, name):
        return getattr(self.root, name)


def parse(html: str) -> Page:
    p = _Parser()
    p.feed(html)
    p.close()
    return Page(p.root, re.sub(r"\s+", " ", "".join(p.all_text)), p.elements)
