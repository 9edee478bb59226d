"""The command-line tools of the package (console scripts ``basicsr-ext-restore``, ``basicsr-ext-aos-restore``,
``basicsr-ext-demo``; ``scripts/restore.py`` and ``scripts/aos_restore.py`` run the same). Each parser module imports
the standard library only, so ``--help`` and argument errors come back at once; the work is imported after parsing."""


def run_parsed(prog, module, args):
    """Import ``module`` (only now that the arguments are parsed, so ``--help`` stays fast) and return its
    ``run(args)``; a UserError becomes the one line ``<prog>: error: ...`` on stderr and the return value 2."""
    import importlib
    import sys

    from basicsr_ext.utils.errors import UserError, one_line

    try:
        return importlib.import_module(module).run(args)
    except UserError as err:
        print(f'{prog}: error: {one_line(err)}', file=sys.stderr)
        return 2
