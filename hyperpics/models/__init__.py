"""The data model. Importing this package registers every table on ``Base.metadata``."""

from .base import Base, utcnow
from .moderation import AuditAction, AuditEntry, Report, ReportReason, ReportStatus, ReportTarget
from .notifications import Notification, NotificationKind
from .photos import Photo, Tag, Visibility, photo_tags
from .social import Collect, Comment, Follow
from .users import THEMES, AuthSession, Permission, Role, RoleName, User

__all__ = [
    "AuditAction",
    "THEMES",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Collect",
    "Comment",
    "Follow",
    "Notification",
    "NotificationKind",
    "Permission",
    "Photo",
    "Report",
    "ReportReason",
    "ReportStatus",
    "ReportTarget",
    "Role",
    "RoleName",
    "Tag",
    "User",
    "Visibility",
    "photo_tags",
    "utcnow",
]
