"""The command-line tools of the package (console scripts ``basicsr-ext-restore``, ``basicsr-ext-aos-restore``,
``basicsr-ext-demo``; ``scripts/restore.py`` and ``scripts/aos_restore.py`` run the same). Each parser module imports
the standard library only, so ``--help`` and argument errors come back at once; the work is imported after parsing."""
