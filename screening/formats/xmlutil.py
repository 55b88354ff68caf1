"""XML reading shared by the OFAC and EU readers: defusedxml (no entities, no external DTDs), names
without their namespace (both lists changed namespaces over the years)."""

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from screening.formats.base import ListFileError


def parse(stream, *, root: str):
    try:
        tree = ElementTree.parse(stream)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ListFileError(f"not well-formed XML ({exc})") from exc
    element = tree.getroot()
    if local(element.tag) != root:
        raise ListFileError(f"root element <{local(element.tag)}>, expected <{root}>")
    return element


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element, name: str):
    return [c for c in element if local(c.tag) == name]


def text(element, name: str) -> str:
    for c in element:
        if local(c.tag) == name:
            return (c.text or "").strip()
    return ""
