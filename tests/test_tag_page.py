"""A tag's page: its photos newest first or most collected, paged; the pager's words fit
the order (only newest-first pages go back in time)."""

from __future__ import annotations

import re

from quart import Quart
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import Tag

from .conftest import Tab, make_user
from .factories import add_photos
from .html import elements


def pager(text: str) -> list[str]:
    found = re.search(r'<nav class="pagination cluster" aria-label="Pages">(.*?)</nav>', text, re.S)
    assert found, text
    return re.findall(r">([^<>]*(?:→|←)[^<>]*)</a>", found.group(1))


async def test_the_pager_speaks_of_time_only_when_the_order_is_by_time(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await add_photos(app, "ana", 14, tags=("harbour",))
    async with database(app).session() as session:
        tag_id = (await session.execute(select(Tag.id).where(Tag.name == "harbour"))).scalar_one()

    visitor = Tab(app)
    assert pager((await visitor.get(f"/tag/{tag_id}")).text) == ["Older →"]
    assert pager((await visitor.get(f"/tag/{tag_id}?page=2")).text) == ["← Newer"]
    by_collects = await visitor.get(f"/tag/{tag_id}/by_collects")
    assert pager(by_collects.text) == ["Next →"]
    assert pager((await visitor.get(f"/tag/{tag_id}/by_collects?page=2")).text) == ["← Previous"]
    assert elements(by_collects.text, '[aria-label="Order"]') and any(
        current.text.startswith("Most collected") for current in elements(by_collects.text, "[aria-current=page]")
    )
