"""Small helpers the web tests share."""


def checkout_fields(client) -> dict[str, str]:
    """The checkout page's hidden fields (form id, confirmed total), as a browser sends them back.

    Empty when the page redirects (an empty cart)."""
    page = client.get("/checkout/")
    form = page.context["form"] if page.context and "form" in page.context else None
    if form is None:
        return {}
    return {field.name: str(field.value()) for field in form.hidden_fields()}
