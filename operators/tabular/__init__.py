"""Tables from uploaded files: the one bounded CSV/XLSX reader, its row numbering and RowError (DESIGN section 3).

Pure file reading: no project app below it but config, nothing written to the database. It lives
in the registry layer (operators, layer 2) because both the registry import (operators.registry_file)
and the filing intake (filings, layer 3) read their files through it; the intake's own checks are
filings/validate.py.
"""
