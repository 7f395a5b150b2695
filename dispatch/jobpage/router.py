"""The provider's job page: `/p/<token>` (a mobile page; its script and styles are the console's static files)
and the JSON steps it posts to under the same token. The signed token is the only credential: tampered
403, expired 410, each with a plain page saying so."""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from dispatch.api.deps import ClockDep, SessionDep, SettingsDep, client_ip
from dispatch.api.errors import error_body
from dispatch.errors import Gone, NotFound, PayloadTooLarge, PermissionDenied
from dispatch.jobpage import flows, service
from dispatch.jobpage.service import Opened
from dispatch.notify.service import options_for
from dispatch.offers.replies import ReplyAction
from dispatch.settings import Settings

router = APIRouter(prefix="/p", tags=["job page"], include_in_schema=False)

Token = Annotated[str, Path(max_length=64)]
Language = Literal["zh", "en"]


NOT_KEPT = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


async def opened_link(
    token: Token,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Opened:
    """The offer behind the token, or 403 / 410 / 404; what the page is told is never cached or indexed."""
    response.headers.update(NOT_KEPT)
    return await service.open_link(
        session=session, clock=clock, secret_key=settings.secret_key, token=token, ip=client_ip(request)
    )


OpenedDep = Annotated[Opened, Depends(opened_link)]


def _rules(settings: Settings) -> flows.EvidenceRules:
    return flows.EvidenceRules(
        secret_key=settings.secret_key,
        far_meters=settings.checkin_far_meters,
        photo_max_bytes=settings.job_photo_max_bytes,
        code_max_attempts=settings.confirm_code_max_attempts,
        data_dir=settings.data_dir,
    )


# --- the page ---------------------------------------------------------------------------------------------

REFUSALS: dict[str, dict[Language, tuple[str, str]]] = {
    "link_invalid": {
        "zh": ("链接无效", "这个链接不正确或已被改动。请使用派单短信中的链接，或按短信回复单号。"),
        "en": (
            "Invalid link",
            "This link is not valid or has been changed. Use the link in the job SMS, or reply by SMS.",
        ),
    },
    "link_expired": {
        "zh": ("链接已过期", "这个派单链接已过期。如有疑问请致电 12349。"),
        "en": ("Link expired", "This job link has expired. Call 12349 with any questions."),
    },
    "not_found": {
        "zh": ("工单不存在", "找不到这个工单。如有疑问请致电 12349。"),
        "en": ("Job not found", "This job cannot be found. Call 12349 with any questions."),
    },
}

PAGE = """<!doctype html>
<html lang="{lang_tag}">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <meta name="referrer" content="no-referrer" />
  <title>{title}</title>
  <link rel="stylesheet" href="/console/vendor/noto-sans-sc/400.css" />
  <link rel="stylesheet" href="/console/vendor/noto-sans-sc/700.css" />
  <link rel="stylesheet" href="/console/job/job.css" />
  {script}
</head>
<body>
  <main id="job" data-token="{token}">{body}</main>
</body>
</html>
"""


def _page(*, lang: Language, title: str, body: str, token: str = "", script: bool = False) -> str:
    return PAGE.format(
        lang_tag="zh-CN" if lang == "zh" else "en",
        title=html.escape(title),
        token=html.escape(token),
        body=body,
        script='<script type="module" src="/console/job/job.js"></script>' if script else "",
    )


def _refusal_page(code: str, lang: Language) -> str:
    title, text = REFUSALS.get(code, REFUSALS["link_invalid"])[lang]
    other: Language = "en" if lang == "zh" else "zh"
    toggle = "English" if lang == "zh" else "中文"
    body = (
        f'<h1>{html.escape(title)}</h1><p class="notice">{html.escape(text)}</p>'
        f'<p><a class="button secondary" href="?lang={other}" lang="{"en" if other == "en" else "zh-CN"}">'
        f"{toggle}</a></p>"
    )
    return _page(lang=lang, title=title, body=body)


@router.get("/{token}", response_class=HTMLResponse)
async def job_page(
    token: Token,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    lang: Annotated[Language, Query()] = "zh",
) -> HTMLResponse:
    """The page (its script loads the job); a refused link gets a plain page with 403, 410 or 404."""
    try:
        await service.open_link(
            session=session, clock=clock, secret_key=settings.secret_key, token=token, ip=client_ip(request)
        )
    except (PermissionDenied, Gone, NotFound) as refused:
        status = 403 if isinstance(refused, PermissionDenied) else 410 if isinstance(refused, Gone) else 404
        return HTMLResponse(_refusal_page(refused.code, lang), status_code=status, headers=NOT_KEPT)
    loading = '<p class="notice" aria-live="polite">…</p>'
    return HTMLResponse(
        _page(lang=lang, title="12349", body=loading, token=token, script=True), headers=NOT_KEPT
    )


# --- the steps --------------------------------------------------------------------------------------------


class CheckIn(BaseModel):
    """Where the phone says it is; all null when it gave no position."""

    lon: Annotated[float | None, Field(ge=-180, le=180)] = None
    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    accuracy_m: Annotated[float | None, Field(ge=0, le=1_000_000)] = None


class ItemLine(BaseModel):
    item: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=99)]


class Items(BaseModel):
    items: Annotated[list[ItemLine], Field(max_length=20)]


class Code(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


async def _view(session: SessionDep, clock: ClockDep, opened: Opened, **extra: Any) -> dict[str, Any]:
    await session.refresh(opened.offer)
    await session.refresh(opened.job)
    return {**await service.view(session=session, clock=clock, opened=opened), **extra}


@router.get("/{token}/job")
async def read_job(opened: OpenedDep, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """The job as the page shows it; the elder's details only to the provider holding it (audited)."""
    return await service.view(session=session, clock=clock, opened=opened)


async def _answer(
    action: ReplyAction, opened: Opened, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    outcome = await flows.answer(
        session=session, clock=clock, opened=opened, action=action, options=options_for(settings)
    )
    return await _view(session, clock, opened, outcome=outcome)


@router.post("/{token}/accept")
async def accept(
    opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Accept, exactly as "接 <code>" by SMS would (a job no longer live: "no longer needed", no details)."""
    return await _answer(ReplyAction.accept, opened, session, clock, settings)


@router.post("/{token}/decline")
async def decline(
    opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Decline, exactly as "拒 <code>" by SMS would."""
    return await _answer(ReplyAction.decline, opened, session, clock, settings)


@router.post("/{token}/check-in")
async def check_in(
    body: CheckIn, opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """At the door: the distance to the home kept (far or unknown: flagged), the elder texted a code."""
    position = (body.lon, body.lat) if body.lon is not None and body.lat is not None else None
    await flows.check_in(
        session=session,
        clock=clock,
        opened=opened,
        position=position,
        accuracy_m=body.accuracy_m,
        rules_=_rules(settings),
        options=options_for(settings),
    )
    return await _view(session, clock, opened)


@router.put("/{token}/items")
async def set_items(body: Items, opened: OpenedDep, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """The service items done, from the provider's price list, with quantities."""
    chosen = [(line.item, line.quantity) for line in body.items]
    await flows.set_items(session=session, clock=clock, opened=opened, chosen=chosen)
    return await _view(session, clock, opened)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the photo is over {limit} bytes", params={"max_bytes": limit})
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(f"the photo is over {limit} bytes", params={"max_bytes": limit})
    return bytes(data)


@router.post("/{token}/photo")
async def upload_photo(
    request: Request, opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """One photo of the service (the raw JPEG, PNG or WebP as the body), kept privately."""
    data = await _read_limited(request, settings.job_photo_max_bytes)
    await flows.upload_photo(session=session, clock=clock, opened=opened, data=data, rules_=_rules(settings))
    return await _view(session, clock, opened)


@router.post("/{token}/code", response_model=None)
async def enter_code(
    body: Code, opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any] | JSONResponse:
    """The elder's code: right → confirmed; wrong → 422 with the attempts left; too many → 429 (locked).
    The attempt is kept either way (the answer is returned, not raised, so it commits)."""
    check = await flows.enter_code(
        session=session, clock=clock, opened=opened, code=body.code, rules_=_rules(settings)
    )
    if check.confirmed:
        return await _view(session, clock, opened)
    if check.locked:
        body_ = error_body("rate_limited", "too many wrong codes", reason="code_locked")
        return JSONResponse(body_, status_code=429)
    params: dict[str, object] = {"attempts_left": check.attempts_left}
    body_ = error_body("validation_error", "wrong code", reason="wrong_code", params=params)
    return JSONResponse(body_, status_code=422)


@router.post("/{token}/check-out")
async def check_out(
    opened: OpenedDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Leaving: the order completed (as "完成" does), and evidenced once confirmed too."""
    await flows.check_out(session=session, clock=clock, opened=opened, options=options_for(settings))
    return await _view(session, clock, opened)
