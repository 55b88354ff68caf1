from operators.access import access_of


def roles(request):
    """What the navigation needs to know about the caller: the request's one Access (operators/access.py)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = access_of(request)
    return {
        "is_auditor": access.is_auditor,
        "is_supervisor": access.supervisor,
        "is_operator_staff": access.is_operator_staff,
    }
