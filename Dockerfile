FROM python:3.11-slim
# In a container the API listens on every interface; prod defaults (JSON logs, no GraphiQL) unless overridden.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ACTIVITIES_HOST=0.0.0.0 ACTIVITIES_ENVIRONMENT=prod
WORKDIR /srv
# The locked runtime dependencies first (their own layer; no embedded-store wheels: the image names its servers),
# then the project without resolving anything again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps . && useradd --system --uid 10001 activities
USER activities
EXPOSE 8000
CMD ["activities", "serve", "--no-migrate"]
