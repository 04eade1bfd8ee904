"""Names in free text (:mod:`masbot.story.names`): what is a person's name and what is not."""

from __future__ import annotations

import pytest

from masbot.story.names import find


@pytest.mark.parametrize("text, alias, found", [
    ("Maria Lopez was arrested Saturday.", "", [("full-name", "Maria Lopez")]),
    ("Bond for Kim, held at the Riverside facility", "K.", [("first-name", "Kim")]),
    ("Kim's family cannot pay", "K.", [("first-name", "Kim")]),
    ("Sam Rivera has cooked for six years", "Sam R.", [("full-name", "Sam Rivera")]),
    ("Thandiwe Okafor was arrested on Friday.", "", [("full-name", "Thandiwe Okafor")]),
    ("Free Tomas Herrera, held in Otay Mesa", "T.", [("full-name", "Tomas Herrera")]),
    ("María González fue detenida el sábado", "M.", [("full-name", "María González")]),
    ("Help Bring Maria Home For Christmas", "M.", [("first-name", "Maria")]),
    ("Ms. Patricia Gomez has lived there", "", [("full-name", "Ms. Patricia Gomez")]),
    ("maria lopez got arrested at the rally", "M.", [("full-name", "maria lopez")]),
    ("kim was detained at a check-in", "K.", [("first-name", "kim")]),
    ("Maria J. Lopez needs help", "M.", [("full-name", "Maria J. Lopez")]),
])
def test_names_are_found(text: str, alias: str, found: list[tuple[str, str]]) -> None:
    assert [(f.kind, f.text) for f in find(text, alias)] == found


@pytest.mark.parametrize("text, alias, known", [
    ("Sam cooks at our food share. Since Saturday Sam has been held", "Sam R.", ()),
    ("Give to the Maria Lopez Memorial Fund in Saint Paul", "", ()),
    ("Call Mayor Jane Doe and Sheriff Tom Bryce at City Hall", "", ()),
    ("Meet at Cesar Chavez Park on Martin Luther King Jr. Blvd", "", ()),
    ("Black Lives Matter rally at the courthouse", "", ()),
    ("Mr Dobbs from the tenants' union will drive", "W.", ()),
    ("moved from San Jose to Los Angeles, family in New York and Fort Worth", "H.", ()),
    ("On Saturday November 21 E. was arrested. Since Monday E. waits.", "E.", ()),
    ("El Fondo de Fianzas del Valle pagará y la Iglesia San Juan ofrece un cuarto", "R.", ()),
    ("Held at Riverside Processing Center", "K.", ("Riverside",)),
    ("Judge Ana Ruiz set bail at 5000", "P.", ()),
    ("Sam R. needs our help", "Sam R.", ()),
    ("le dan comida a los niños y ella trabaja", "L.", ()),
    ("Dana Whitfield asked us to use her full name", "Dana Whitfield", ()),
])
def test_places_funds_officials_and_the_alias_are_not_names(text: str, alias: str,
                                                             known: tuple[str, ...]) -> None:
    assert find(text, alias, known) == []


def test_without_an_alias_a_first_name_alone_is_not_reported() -> None:
    assert find("Kim has lived here for eleven years", "") == []
