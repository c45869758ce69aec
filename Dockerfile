FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv
# The locked runtime dependencies first (their own layer), then the project without resolving anything again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps . && useradd --system --uid 10001 activities
USER activities
EXPOSE 8000
CMD ["activities", "serve", "--no-migrate"]
