"""The one shape of every refusal the shop explains, in both channels."""


class ExplainedError(Exception):
    """A refusal with a stable `code` (clients and tests match on it) and a `message` for a
    person, saying what happened and what to do."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckoutError(ExplainedError):
    """The order was refused; nothing was written."""

    code = "checkout_failed"
