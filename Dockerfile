# One image for every recruit-sync component; docker-compose.yml picks the command per service.
FROM python:3.11.10-slim-bookworm
ENV UV_VERSION=0.13.8 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy PATH="/app/.venv/bin:$PATH"
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY sim ./sim
COPY cli ./cli
RUN uv sync --frozen --all-packages --no-dev
RUN useradd --create-home recruit && chown -R recruit /app
USER recruit
CMD ["recruit-sync", "--help"]
