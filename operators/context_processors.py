from operators.roles import is_auditor, is_supervisor, operator_ids_for


def roles(request):
    """What the navigation needs to know about the user (one query, cached on the user)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    auditor = is_auditor(user)
    return {
        "is_auditor": auditor,
        "is_supervisor": is_supervisor(user),
        "is_operator_staff": not auditor and bool(operator_ids_for(user)),
    }
