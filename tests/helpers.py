"""Small helpers the tests share."""

import contextlib
import os


def checkout_fields(client) -> dict[str, str]:
    """The checkout page's hidden fields (form id, confirmed total), as a browser sends them back.

    Empty when the page redirects (an empty cart)."""
    page = client.get("/checkout/")
    form = page.context["form"] if page.context and "form" in page.context else None
    if form is None:
        return {}
    return {field.name: str(field.value()) for field in form.hidden_fields()}


@contextlib.contextmanager
def measurement_stage(django_db_blocker):
    """The stage of `manage.py compare`: its throwaway database, removed at the end.

    The database is the stage's own ("bench" alias), not the test database; DEBUG on
    only spares the suite collecting static files (the command runs with it off).
    """
    from compare.measure.stage import Stage

    stage = Stage(
        user_database_url=os.environ.get("DATABASE_URL", ""),
        redis_url=os.environ.get("REDIS_URL", ""),
        debug=True,
    )
    with django_db_blocker.unblock():
        try:
            stage.create_database()
            yield stage
        finally:
            stage.cleanup()
