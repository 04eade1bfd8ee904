"""The appeal: its canonical text, its images and its renderings.

The facts of the appeal format that other stages need too (the story templates, the post, the
configuration) are written here once, in a module that imports nothing.
"""

Value = str | tuple[str, ...]
"""A field's value: one line or a section's text, or the items of a list."""

HEAD_KEYS = ("Appeal-ID", "Revision", "Society", "Issued", "Expires", "Status", "Updates-To")
"""The head every appeal starts with, in this order."""

IMAGES = "Images"
"""The system field listing published images (after the head, when there are any)."""

SYSTEM_KEYS = HEAD_KEYS + (IMAGES,)
"""Fields only the society writes into an appeal. No template may define one, and a member's
section line must not start with one, or the published text could seem to say something the
society did not (``Images:`` names the image bytes the origin's signature binds)."""

MAX_IMAGES = 20
"""The most images one appeal may list and one post may carry (the configured
``attachments.max_images`` is at most this, and a partner's post with more is refused)."""
