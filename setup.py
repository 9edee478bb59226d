"""Packaging beyond pyproject.toml: the zoo (``weights/``), the shipped option files (``options/``) and the AOS example
stacks (``examples/aos``, the project's own simulator output) go into the wheel as package data, under
``basicsr_ext/_data/``; :mod:`basicsr_ext.resources` finds them there when the package is installed, and in the
checkout otherwise (an editable install, ``python scripts/...``)."""

import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = {'weights': ('*.pth', 'zoo.yml', 'README.md'), 'options': ('*.yml',), 'examples/aos': ('*.tiff', '*.png')}


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders directly
            return
        for folder, patterns in DATA.items():
            target = os.path.join(self.build_lib, 'basicsr_ext', '_data', folder)
            os.makedirs(target, exist_ok=True)
            for pattern in patterns:
                for path in sorted(glob.glob(os.path.join(folder, pattern))):
                    shutil.copy2(path, target)


setup(cmdclass={'build_py': BuildPyWithData})
