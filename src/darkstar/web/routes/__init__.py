"""One router per resource, all mounted under ``/api/v1`` by :func:`darkstar.web.app.create_app`."""
