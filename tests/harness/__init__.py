"""Test harness for masbot: real servers and verifiers on loopback.

The harness deliberately imports nothing from ``masbot`` so that it judges the
product independently.  Modules:

* :mod:`harness.dovecot`   -- throwaway Dovecot IMAP(S) server
* :mod:`harness.mailbox`   -- synchronous imaplib helpers against it
* :mod:`harness.smtp_sink` -- aiosmtpd sink with fault injection
* :mod:`harness.openpgp`   -- throwaway GnuPG homes and independent verifiers
"""
