"""<img alt> of a photo (Photo.alt, used by every template that shows one): what the author
wrote, else the description, else who took it; never a bare "Photo"."""

from __future__ import annotations

from hyperpics.models import Photo, User


def test_alt_text_comes_first_then_the_description() -> None:
    assert (
        Photo(id=1, alt_text="A red kite over the field", description="Sunday walk").alt == "A red kite over the field"
    )
    assert Photo(id=1, alt_text="", description="Sunday walk " * 30).alt == ("Sunday walk " * 30)[:150]


def test_without_either_it_names_the_author_when_loaded_and_the_photo_otherwise() -> None:
    with_author = Photo(id=7, alt_text="", description="")
    with_author.author = User(name="Ana Lima", username="ana")
    assert with_author.alt == "Photo by Ana Lima, no description"
    # No author loaded (a listing that did not join it): no query from a template, and still
    # not the same text for every such photo.
    assert Photo(id=7, alt_text="", description="").alt == "Photo 7, no description"
    assert Photo(id=8, alt_text="", description="").alt != Photo(id=7, alt_text="", description="").alt
