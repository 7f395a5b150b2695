"""TwiML for voice, parsed without I/O: a document becomes a list of verbs with their attributes and nouns."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

VOICE_VERBS = frozenset(
    {"Say", "Play", "Pause", "Gather", "Dial", "Redirect", "Hangup", "Reject", "Record", "Enqueue", "Leave"}
)


class TwimlError(ValueError):
    """The document is not voice TwiML (Twilio: error 12100, document parse failure)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A verb or a noun: its name, attributes, text and nested nodes."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Node, ...] = ()

    def attr(self, name: str, default: str = "") -> str:
        """An attribute's value (TwiML attributes are camelCase, as written)."""
        return self.attrs.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        """A `true`/`false` attribute."""
        value = self.attrs.get(name)
        return default if value is None else value.strip().lower() == "true"

    def seconds(self, name: str, default: float) -> float:
        """A number-of-seconds attribute (its default when absent or not a number)."""
        try:
            return max(0.0, float(self.attrs[name]))
        except (KeyError, ValueError):
            return default

    def identity(self) -> str:
        """A `<Client>`'s identity: its `<Identity>` child or its text."""
        named = next((child.text for child in self.children if child.name == "Identity"), "")
        return named or self.text

    def describe(self) -> str:
        """A short human line: `Say: 您好`, `Dial: Conference pc-7`."""
        if self.children:
            return f"{self.name}: " + ", ".join(child.describe() for child in self.children)
        return f"{self.name}: {self.text}" if self.text else self.name


def _node(element: ET.Element) -> Node:
    """One element and its children as a Node."""
    return Node(
        name=element.tag,
        attrs=dict(element.attrib),
        text=(element.text or "").strip(),
        children=tuple(_node(child) for child in element),
    )


def parse_twiml(document: str) -> list[Node]:
    """The verbs of a `<Response>` in order; TwimlError when it is not one."""
    try:
        root = ET.fromstring(document)  # noqa: S314 - TwiML from the webhook under test, not from strangers
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    verbs = [_node(child) for child in root]
    unknown = [verb.name for verb in verbs if verb.name not in VOICE_VERBS]
    if unknown:
        raise TwimlError(f"unknown verbs: {unknown}")
    return verbs
