"""The web service: FastAPI under ``/api/v1`` and the single-page UI (DESIGN §8)."""

from darkstar.web.app import create_app

__all__ = ["create_app"]
