# Otklik in a container: the locked, hash-checked dependencies in a virtualenv, run as a user
# without privileges. Building needs only the package registries (Docker Hub for the base
# image, PyPI for the wheels). README, "Deployment".
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock first: a code change does not reinstall the dependencies.
COPY requirements.lock ./
RUN python -m venv /opt/otklik \
    && /opt/otklik/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY questionnaires ./questionnaires
COPY reports ./reports
COPY scheduler ./scheduler
COPY services ./services
COPY storage ./storage
COPY web ./web
COPY max_front ./max_front
# Otklik itself brings nothing more (every dependency is in the lock).
RUN /opt/otklik/bin/pip install --no-cache-dir --no-deps /src

FROM python:3.11-slim-bookworm
ENV PATH=/opt/otklik/bin:$PATH \
    OTKLIK_HOME=/var/lib/otklik \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/var/lib/otklik/cache/matplotlib
# The home folder holds .env, data/ (SQLite, the generated pepper) and caches: one volume.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/otklik --create-home \
        --shell /usr/sbin/nologin otklik \
    && chmod 0700 /var/lib/otklik
COPY --from=build /opt/otklik /opt/otklik
USER 10001:10001
WORKDIR /var/lib/otklik
VOLUME ["/var/lib/otklik"]
ENTRYPOINT ["otklik"]
CMD ["run"]
