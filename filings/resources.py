"""django-import-export resources for the small filings (client registers, operator profiles).

Rows reach these resources already validated by filings/validate.py
(which reports every error at once); the resources only write them.
"""

from import_export import fields, resources, widgets

from operators.models import ClientRecord, OperatorProfileRecord


class _OwnedByFiling(resources.ModelResource):
    # Ids set as they are: the default ForeignKeyWidget would look each one up, a query per row.
    operator = fields.Field(attribute="operator_id", column_name="operator", widget=widgets.IntegerWidget())
    filing = fields.Field(attribute="filing_id", column_name="filing", widget=widgets.IntegerWidget())


class ClientRecordResource(_OwnedByFiling):
    class Meta:
        model = ClientRecord
        fields = ("operator", "filing", "investor_ref", "residency_country", "registered_at", "kyc_level")
        import_id_fields = ()
        # Every row of a filing is new: no per-row lookup (that is what makes import-export slow).
        force_init_instance = True
        skip_diff = True
        use_bulk = True
        batch_size = 1000


class OperatorProfileRecordResource(_OwnedByFiling):
    class Meta:
        model = OperatorProfileRecord
        fields = (
            "operator",
            "filing",
            "unp",
            "name",
            "htp_certificate_no",
            "htp_certificate_valid_until",
            "activity",
            "legal_address",
            "aml_officer",
            "website",
        )
        import_id_fields = ()
        force_init_instance = True
        skip_diff = True
