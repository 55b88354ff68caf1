"""Readers of the published list formats. Each returns a ParsedList or raises ListFileError
(with the line or element at fault) before anything is written: an import is all or nothing."""

from screening.formats.base import ListFileError, ParsedEntry, ParsedList
from screening.formats.eu import read_eu
from screening.formats.ftm import read_ftm
from screening.formats.national import read_national
from screening.formats.ofac import read_ofac

READERS = {"ftm": read_ftm, "ofac": read_ofac, "eu": read_eu, "csv": read_national}
# The list's name when the importer gives none.
DEFAULT_NAMES = {"ftm": "OpenSanctions", "ofac": "OFAC SDN", "eu": "EU consolidated", "csv": "National list"}

__all__ = ["DEFAULT_NAMES", "READERS", "ListFileError", "ParsedEntry", "ParsedList"]
