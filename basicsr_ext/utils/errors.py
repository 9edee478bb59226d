class UserError(Exception):
    """A mistake in what the user gave us (an option file, a path, a flag).

    The runners print its message as one line and exit with status 2 instead of showing a traceback, so the
    message must name the file, key or option at fault and say what was expected.
    """
