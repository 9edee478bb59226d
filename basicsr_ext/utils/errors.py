"""The one exception type for user mistakes, and how it becomes one line."""

WORKER_PREFIX = 'Caught '  # torch re-raises a DataLoader worker's exception with this header and its traceback


class UserError(Exception):
    """A mistake in what the user gave us (an option file, a path, a flag).

    The runners print its message as one line and exit with status 2 instead of showing a traceback, so the
    message must name the file, key or option at fault and say what was expected.
    """


def one_line(err):
    """The message of a UserError as one line. Raised inside a DataLoader worker, torch re-raises it in the main
    process as ``UserError('Caught UserError in DataLoader worker process 0.\\nOriginal Traceback ...')``; the original
    message is the text after the type name on the traceback's last line."""
    text = str(err)
    if text.startswith(WORKER_PREFIX) and 'Original Traceback' in text:
        last = text.rstrip().splitlines()[-1]
        name = type(err).__name__
        for marker in (f'{type(err).__module__}.{name}: ', f'{name}: '):
            if marker in last:
                return last.split(marker, 1)[1]
        return last
    return ' '.join(text.split('\n'))


ARGUMENT_ERRORS = (ValueError, AssertionError, TypeError, KeyError, IndexError)


def constructor_refusal(err):
    """The one-line message of ``err`` when an arch's own ``__init__`` (BasicSR's or ours) raised it about its
    arguments (an :data:`ARGUMENT_ERRORS` type), else None: then it is a bug, not a user mistake."""
    if not isinstance(err, ARGUMENT_ERRORS):
        return None
    tb = err.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get('__name__', '')
        if tb.tb_frame.f_code.co_name == '__init__' and module.startswith(('basicsr.archs', 'basicsr_ext.archs')):
            return ' '.join((str(err) or type(err).__name__).split())
        tb = tb.tb_next
    return None
