"""The flowtrace wheel's tag: any Python 3 (the native parts resolve the CPython API at run
time and link no libpython), but only this platform (they are ELF binaries).

Everything else is in pyproject.toml.
"""

import sysconfig

from setuptools import setup
from setuptools.dist import Distribution
from wheel.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    """Platform-specific (installed to platlib), though it has no extension module."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """Tagged py3-none-<platform>, not cpXY-cpXY-<platform>: no CPython ABI is used."""

    def get_tag(self):
        plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        return "py3", "none", plat


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
