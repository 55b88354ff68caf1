"""Filing intake: reading uploaded files and validating their rows (DESIGN section 3).

Nothing here writes to the database; operators/services.py and outflows/ingest.py do.
"""
