"""masbot: runs one resilient mutual aid society's inbox.

Requests arrive by mail, are validated against the standard story templates, signed with the
society's OpenPGP key and relayed to the local list and partner master lists.
"""

__version__ = "0.1.0"
