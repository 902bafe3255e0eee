"""JSON API of the registry: list, get, create, update and delete for the four kinds."""
# No "from __future__ import annotations": FastAPI must see the per-kind types at runtime.

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from shelfbridge.registry import repository, schemas, service
from shelfbridge.web.deps import PROBLEM_RESPONSES, ReadSession, RecordId, WriteSession


# The list filters are async (they only gather query parameters): as sync dependencies each
# would cost a hop through the thread pool on every list request.
async def organization_filters(
    q: str | None = None,
    kind: str | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    parent_id: RecordId | None = None,
) -> dict[str, Any]:
    return {"q": q, "kind": kind, "region": region, "parent_id": parent_id}


async def person_filters(
    q: str | None = None,
    organization_id: RecordId | None = None,
    title: str | None = None,
    degree: str | None = None,
) -> dict[str, Any]:
    return {"q": q, "organization_id": organization_id, "title": title, "degree": degree}


async def result_filters(
    q: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    confidentiality: str | None = None,
    discipline: str | None = None,
    trl_min: Annotated[int | None, Query(ge=1, le=9)] = None,
    trl_max: Annotated[int | None, Query(ge=1, le=9)] = None,
    owner_id: RecordId | None = None,
) -> dict[str, Any]:
    return {
        "q": q,
        "kind": kind,
        "status": status,
        "confidentiality": confidentiality,
        "discipline": discipline,
        "trl_min": trl_min,
        "trl_max": trl_max,
        "owner_id": owner_id,
    }


async def demand_filters(
    q: str | None = None,
    industry: str | None = None,
    status: str | None = None,
    confidentiality: str | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    enterprise_id: RecordId | None = None,
) -> dict[str, Any]:
    return {
        "q": q,
        "industry": industry,
        "status": status,
        "confidentiality": confidentiality,
        "region": region,
        "enterprise_id": enterprise_id,
    }


class KindApi(NamedTuple):
    """One kind's routes: its names, request models (create, update), response model, list
    filters and how a record is rendered."""

    kind: str
    singular: str
    model_create: type[BaseModel]
    model_update: type[BaseModel]
    model_out: type[BaseModel]
    filters: Callable[..., Any]
    render: Callable[[Any], dict[str, Any]]


KINDS: list[KindApi] = [
    KindApi(
        "organizations",
        "organization",
        schemas.OrganizationCreate,
        schemas.OrganizationUpdate,
        schemas.OrganizationOut,
        organization_filters,
        schemas.organization_out,
    ),
    KindApi(
        "people",
        "person",
        schemas.PersonCreate,
        schemas.PersonUpdate,
        schemas.PersonOut,
        person_filters,
        schemas.person_out,
    ),
    KindApi(
        "results",
        "result",
        schemas.ResultCreate,
        schemas.ResultUpdate,
        schemas.ResultOut,
        result_filters,
        schemas.result_out,
    ),
    KindApi(
        "demands",
        "demand",
        schemas.DemandCreate,
        schemas.DemandUpdate,
        schemas.DemandOut,
        demand_filters,
        schemas.demand_out,
    ),
]


def _fields_given(body: Any) -> dict[str, Any]:
    """Only the fields the caller sent: an update leaves the others alone."""
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    return fields


def _page_model(name: str, item: type[BaseModel]) -> type[BaseModel]:
    from pydantic import create_model

    model: type[BaseModel] = create_model(
        f"{name}Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        total=(int, ...),
        limit=(int, ...),
        offset=(int, ...),
    )
    return model


def _register(
    router: APIRouter,
    kind: str,
    singular: str,
    model_create: type[BaseModel],
    model_update: type[BaseModel],
    model_out: type[BaseModel],
    filters: Callable[..., Any],
    render: Callable[[Any], dict[str, Any]],
) -> None:
    page_model = _page_model(singular.capitalize(), model_out)
    tag = kind

    @router.get(
        f"/{kind}",
        response_model=page_model,
        tags=[tag],
        name=f"list_{kind}",
        responses=PROBLEM_RESPONSES,
    )
    async def list_records(
        request: Request,
        session: ReadSession,
        criteria: Annotated[dict[str, Any], Depends(filters)],
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        if kind == "results":  # the busiest list: only the columns shown, no ORM objects
            page = repository.result_items(session, criteria, limit, offset)
            items = page.items
        else:
            model = service.spec_for(kind).model
            page = repository.list_page(session, model, criteria, limit, offset)
            items = [render(item) for item in page.items]
        return {"items": items, "total": page.total, "limit": page.limit, "offset": page.offset}

    @router.get(
        f"/{kind}/{{record_id}}",
        response_model=model_out,
        tags=[tag],
        name=f"get_{singular}",
        responses=PROBLEM_RESPONSES,
    )
    async def get_record(record_id: RecordId, session: ReadSession) -> dict[str, Any]:
        return render(service.get(session, kind, record_id))

    @router.post(
        f"/{kind}",
        response_model=model_out,
        status_code=201,
        tags=[tag],
        name=f"create_{singular}",
        responses=PROBLEM_RESPONSES,
    )
    def create_record(
        body: model_create,  # type: ignore[valid-type]
        session: WriteSession,
        response: Response,
    ) -> dict[str, Any]:
        record = service.create(session, kind, _fields_given(body))
        response.headers["Location"] = f"/api/v1/{kind}/{record.id}"
        return render(record)

    @router.patch(
        f"/{kind}/{{record_id}}",
        response_model=model_out,
        tags=[tag],
        name=f"update_{singular}",
        responses=PROBLEM_RESPONSES,
    )
    def update_record(
        record_id: RecordId,
        body: model_update,  # type: ignore[valid-type]
        session: WriteSession,
    ) -> dict[str, Any]:
        record = service.update(session, kind, record_id, _fields_given(body))
        return render(record)

    @router.delete(
        f"/{kind}/{{record_id}}",
        status_code=204,
        tags=[tag],
        name=f"delete_{singular}",
        responses=PROBLEM_RESPONSES,
    )
    def delete_record(record_id: RecordId, session: WriteSession) -> Response:
        service.delete(session, kind, record_id)
        return Response(status_code=204)


def build_router() -> APIRouter:
    router = APIRouter()
    for entry in KINDS:
        _register(router, *entry)
    return router
