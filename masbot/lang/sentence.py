"""A sentence decided before the person it is for is known.

Some sentences are made far from the answer that carries them: the parser's notes, the reason
a moderator's command is refused, why a mail cannot be read. They are logged in English and
sent in the language of whoever reads them. A :class:`Sentence` is that English text (it *is*
a ``str``, so logging, ``in`` and comparisons keep working) that remembers the catalog
sentence and the values it was made from, so :func:`say` can write it again in any language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from masbot.lang import Lang


class Field(str):
    """A canonical field name inside a :class:`Sentence`: said as each language writes it."""


class Sentence(str):
    """English text made from a catalog sentence (marked with ``N_``) and named values."""

    sentence: str
    values: dict[str, object]

    def __new__(cls, sentence: str, /, **values: object) -> "Sentence":
        english = {k: str(v) if isinstance(v, Sentence) else v for k, v in values.items()}
        made = super().__new__(cls, sentence.format(**english) if values else sentence)
        made.sentence, made.values = sentence, values
        return made

    def say(self, tr: "Lang") -> str:
        """The sentence in ``tr``'s language; field names and inner sentences too."""
        if not self.values:
            return tr._(self.sentence)
        return tr._(self.sentence, **{name: say(value, tr) if isinstance(value, str) else value
                                      for name, value in self.values.items()})


def say(text: str, tr: "Lang") -> str:
    """``text`` in ``tr``'s language when it is a :class:`Sentence` or a :class:`Field`;
    any other text as it is (a member's own words, or a sentence not made here)."""
    if isinstance(text, Sentence):
        return text.say(tr)
    if isinstance(text, Field):
        return tr.words.field_name(str(text))
    return text
