"""Uploaded materials: the file is checked (size, and its type by its first bytes, not by its name), kept in the store
with its SHA-256, and filed against the disposition's checklist in the same transaction; a download is checked
against the same hash and is an audit event."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from models.accounts_store import StoredFile
from models.actor import Actor
from models.errors import NotFound, Refusal
from models.store import Material
from models.views import MaterialUploaded

from .access import audit_read, require_case
from .db import Store
from .dispositions import file_material
from .uow import Work, action

MAX_FILE = 10 * 1024 * 1024
# What a branch files: scans and photos of signed papers, PDFs, office documents. Known by their first bytes.
KINDS = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
EXTENSIONS = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
              ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def content_type_of(filename: str, content: bytes) -> str:
    """The file's type from its extension, confirmed by its first bytes; refused when they disagree."""
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = EXTENSIONS.get(ext)
    if kind is None:
        raise Refusal("file_type", "只能上传PDF、JPG、PNG、DOCX或XLSX文件", "DOMAIN §5")
    if not content.startswith(KINDS[kind]):
        raise Refusal("file_type", f"文件内容与扩展名{ext}不符，请上传原始文件", "DOMAIN §5")
    return kind


@action("upload_material", MaterialUploaded)
def upload_material(work: Work, *, case_id: str, kind: str, reference: str, filename: str,
                    content: bytes) -> MaterialUploaded:
    if not content:
        raise Refusal("file_empty", "上传的文件为空", "DOMAIN §5")
    if len(content) > MAX_FILE:
        raise Refusal("file_too_large", "上传的材料文件不能超过10MB", "DOMAIN §5")
    safe_name = "".join(ch for ch in filename.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable())[:200] \
        or "材料"
    content_type = content_type_of(safe_name, content)
    digest = hashlib.sha256(content).hexdigest()
    result = file_material.__wrapped__(work, case_id=case_id, kind=kind,
                                       reference=reference.strip() or f"电子文件：{safe_name}")
    material_id = work.session.scalar(select(Material.id).where(Material.case_id == case_id)
                                      .order_by(Material.id.desc()).limit(1))
    file_id = secrets.token_hex(8)
    work.session.add(StoredFile(id=file_id, case_id=case_id, material_id=material_id, filename=safe_name,
                                content_type=content_type, size=len(content), sha256=digest, content=content,
                                uploaded_by=work.actor_id, uploaded_at=work.now))
    work.audit(case_id=case_id, file_id=file_id, size=len(content), sha256=digest)
    return MaterialUploaded(**result.model_dump(), file_id=file_id, sha256=digest, size=len(content))


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    content: bytes


def download(store: Store, actor: Actor, file_id: str, now) -> Download:
    with store.reading() as s:
        row = s.get(StoredFile, file_id)
        if row is None:
            raise NotFound("文件", file_id)
        require_case(s, actor, row.case_id)
        if hashlib.sha256(row.content).hexdigest() != row.sha256:
            raise Refusal("file_corrupt", "文件校验失败（内容与归档时的校验值不符），请联系管理员", "DOMAIN §5")
        found = Download(row.filename, row.content_type, row.content)
        case_id = row.case_id
    audit_read(store, actor, now, what="file", case_id=case_id, file_id=file_id)
    return found


def files_of(store: Store, case_id: str) -> list[dict[str, Any]]:
    with store.reading() as s:
        rows = s.execute(select(StoredFile.id, StoredFile.material_id, StoredFile.filename, StoredFile.size,
                                StoredFile.sha256, StoredFile.uploaded_at)
                         .where(StoredFile.case_id == case_id).order_by(StoredFile.uploaded_at)).all()
    return [dict(r._mapping) for r in rows]
