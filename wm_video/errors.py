"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class UserError(RuntimeError):
    """Bad input from the user (a file, a folder, an option); the message names it and what is wrong."""
