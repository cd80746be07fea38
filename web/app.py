"""The web app: server-rendered pages in Chinese for phones and desks, and the JSON API under /api.

Every page and API route calls casework with the signed-in person as `Actor`; permissions, audit and idempotency
are decided there. This module only wires the parts: settings, the store, static files, error pages, the size
limit on request bodies and the security headers."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.db import Store
from models.errors import NotFound, Refusal
from models.timing import utcnow

from . import api, render
from .routes import admin, auth, campaigns, cases, inbox, meeting, roster, stats

log = logging.getLogger("lostcontact.web")
STATIC = Path(__file__).parent / "static"
MAX_BODY = 12 * 1024 * 1024  # an uploaded material is at most 10 MB; a form is far less


@dataclass
class Settings:
    base_url: str = field(default_factory=lambda: os.environ.get("LOSTCONTACT_BASE_URL", "http://127.0.0.1:8000"))
    https: bool = False  # Secure cookies when the app is served over HTTPS (behind a proxy that says so)
    clock: Callable = utcnow  # tests move it to expire sessions

    def __post_init__(self) -> None:
        self.https = self.https or self.base_url.startswith("https://")


def create_app(store: Store | None = None, settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="失联党员查找处置 · lostcontact", version="1.0",
                  description="失联党员查找处置系统的 JSON 接口：与网页相同的视图和权限检查。以个人访问令牌认证"
                              "（Authorization: Bearer lc_…，由 `lostcontact people token` 发放）。",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.store = store or Store()
    app.state.settings = settings or Settings()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, inbox, cases, meeting, campaigns, stats, roster, admin):
        app.include_router(module.router)
    app.include_router(api.router)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _too_large(request)
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                    "frame-ancestors 'none'; form-action 'self'")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal):
        status = 404 if isinstance(exc, NotFound) else 409
        if _wants_json(request):
            return JSONResponse({"error": exc.as_dict()}, status_code=status)
        return render.error_page(request, exc.text, status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303 and exc.headers and "Location" in exc.headers:
            return render.redirect(exc.headers["Location"])
        generic = {400: "请求内容无法解析（应为有效的JSON或表单）", 404: "页面不存在", 405: "不支持此操作"}
        # Our own details are Chinese; the framework's are English and go no further than the log.
        message = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else \
            generic.get(exc.status_code, "请求无法处理")
        if _wants_json(request):
            return JSONResponse({"error": {"code": f"http_{exc.status_code}", "message": message}},
                                status_code=exc.status_code, headers=getattr(exc, "headers", None))
        if exc.status_code == 401:
            return render.redirect_to_sign_in(request)
        return render.error_page(request, message, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        message = "提交的内容不完整或格式不正确：" + "、".join(f for f in fields if f)
        if _wants_json(request):
            return JSONResponse({"error": {"code": "invalid_input", "message": message, "fields": fields}},
                                status_code=422)
        return render.error_page(request, message, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse({"error": {"code": "server_error", "message": "系统内部错误，已记录，请稍后重试"}},
                                status_code=500)
        return render.error_page(request, "系统内部错误，已记录，请稍后重试", 500)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


def app_from_env() -> FastAPI:
    """For servers that start the app themselves (uvicorn --factory, several worker processes): the store of
    LOSTCONTACT_DB_URL, the settings of the environment."""
    return create_app()


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _too_large(request: Request) -> Response:
    message = "提交的内容过大：上传的材料文件不能超过10MB"
    if _wants_json(request):
        return JSONResponse({"error": {"code": "too_large", "message": message}}, status_code=413)
    return PlainTextResponse(message, status_code=413)
