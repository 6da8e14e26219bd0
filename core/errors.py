"""The one exception type users see: a one-line message, no traceback."""


class PortraitError(Exception):
    """Bad input or an impossible request, explained in one line.

    The command line prints it and exits with status 2; Blender shows it as an operator report.
    """
