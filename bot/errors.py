"""Errors whose message is meant for the person in the chat."""


class UserError(Exception):
    """Bad input or a refused request: front-ends show str(error) to the user, nothing else."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
