# Sourced by the service scripts: OpenSearch and PostgreSQL's initdb refuse to run as root, so as
# root they run as a system user (SERVICE_USER, default archive-svc). Needs `step` defined first.

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$SERVICE_USER"
    step "useradd $SERVICE_USER"
  fi
}
