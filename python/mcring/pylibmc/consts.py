"""pylibmc's constants: behavior names, hashes and distributions."""

from .client import BehaviorDict, all_behaviors, all_callbacks, distributions, hashers
from .errors import errors

__all__ = ["BehaviorDict", "all_behaviors", "all_callbacks", "distributions", "errors", "hashers"]
