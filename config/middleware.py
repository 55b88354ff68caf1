from django.middleware.locale import LocaleMiddleware


class RussianFirstLocaleMiddleware(LocaleMiddleware):
    """Russian unless the user chose another language with the switch (cookie).

    The browser's Accept-Language is not consulted: a state portal answers in
    its official language first, whatever locale the workstation was installed with.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)

