"""The dashboard: a read-only web app over the store (and a gateway's live state)."""

from ._app import CSP, DashboardError, check_vendor, create_dashboard
from ._live import Live, LiveSource

__all__ = ["CSP", "DashboardError", "Live", "LiveSource", "check_vendor", "create_dashboard"]
