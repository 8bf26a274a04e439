#!/usr/bin/env bash
# Starts, checks and stops the real infrastructure the integration and end-to-end tests use, without
# Docker: Apache Kafka (KRaft) from Maven Central jars on the machine's Java, Redis and PostgreSQL from
# Debian's packages (reusing the ones already running on 127.0.0.1), and the Unleash server from npm.
# Idempotent: `up` reuses what runs. Everything listens on 127.0.0.1. Data, jars and logs: .stack/
#   bash infra/stack.sh up|down|status
#   bash infra/stack.sh kill|start|restart redis|postgres|kafka|unleash   (kill -9 one part / start it again: npm run chaos)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STACK="$ROOT/.stack"
mkdir -p "$STACK"
# Only this user reads what is under it: the broker's topic data (proposals, decisions, unsealed parameters), logs,
# keys and passwords. Kafka writes its segments 0644, so the directory is the wall (red team, 2026-12-02).
chmod 700 "$STACK"

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_SSL_PORT=${KAFKA_SSL_PORT:-19094}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_TLS_PORT=${REDIS_TLS_PORT:-16379}
PG_PORT=${PG_PORT:-5432}
UNLEASH_PORT=${UNLEASH_PORT:-14242}
UNLEASH_TOKENS=${UNLEASH_TOKENS:-${HOME:-/root}/.cache/countersign/unleash.tokens}

say() { printf '[stack] %s\n' "$*"; }
fail() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
tail_log() { [ -f "$1" ] && { printf -- '--- last lines of %s ---\n' "$1" >&2; tail -n 25 "$1" >&2; }; return 0; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  say "installing Debian packages: $*"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then apt-get update -qq >/dev/null; fi
  # Waits for another apt/dpkg run (a parallel `up`, unattended upgrades) instead of failing on its lock.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null
}
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---- Redis ----------------------------------------------------------------------------------------
# Alive: PONG, or NOAUTH from a Redis that asks for a password first (this script's does).
redis_ping() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 7 <&3 | grep -qE 'PONG|NOAUTH') 2>/dev/null; }
# redis-cli reads the password from REDISCLI_AUTH (set below), never from its command line (`ps` would show it).
redis_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"; }
# ---- Redis's password (docs/adr/0030-redis-tls.md, addendum) ----------------------------------------
# Redis lets in no client without it, on the plaintext port and on the TLS port (Redis 7.0 cannot take a user from a
# client certificate, so the certificate proves the party and the password the right to use this Redis). Made once, 0600.
# Kept beside the Redis, not the checkout, when root: every checkout that reuses the machine's Redis reads the same one.
if [ "$(id -u)" = 0 ]; then REDIS_PASSWORD_FILE=${REDIS_PASSWORD_FILE:-/var/lib/countersign/redis-$REDIS_PORT.password}; else REDIS_PASSWORD_FILE=${REDIS_PASSWORD_FILE:-$STACK/redis/password}; fi
redis_password() {
  if [ ! -s "$REDIS_PASSWORD_FILE" ]; then
    mkdir -p "$(dirname "$REDIS_PASSWORD_FILE")"
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$REDIS_PASSWORD_FILE")
  fi
  chmod 600 "$REDIS_PASSWORD_FILE"
  cat "$REDIS_PASSWORD_FILE"
}
export REDISCLI_AUTH
REDISCLI_AUTH=$(redis_password)
redis_auth_on() { # a running Redis (reused, or ours after a restart): asks for this password, or the script stops
  local open
  open=$(env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>&1 || true)
  if [ "$open" = PONG ]; then
    # Through stdin, not arguments. Clients already connected stay signed in; new ones need the password.
    printf 'CONFIG SET requirepass %s\n' "$REDISCLI_AUTH" | env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" >/dev/null
    say "redis: a password is now required on 127.0.0.1:$REDIS_PORT (in $REDIS_PASSWORD_FILE)"
  fi
  # A Redis restarted on its AOF answers LOADING until it has read it (a client that signed in is told so only after
  # its password is checked: NOAUTH first, then LOADING): waited for, not taken for a wrong password (a chaos run did).
  local answer
  for _ in $(seq 1 240); do answer=$(redis_cli PING 2>&1); case "$answer" in LOADING*) sleep 0.25 ;; *) break ;; esac; done
  [ "$answer" = PONG ] \
    || fail "redis: the Redis on 127.0.0.1:$REDIS_PORT asks for a password other than the one in $REDIS_PASSWORD_FILE (set REDIS_PASSWORD_FILE to the file that holds its password, or REDIS_PORT to another Redis)"
  [ "$(env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>&1 || true)" != PONG ] || fail "redis: 127.0.0.1:$REDIS_PORT still answers a client without the password"
}
# Redis keeps what may lose at most a second (rate-limit windows): AOF, fsync every second, on the Redis this
# script starts and on one it reuses (CONFIG SET: the reused Redis rewrites its AOF in the background).
redis_aof_on() {
  command -v redis-cli >/dev/null || apt_install redis-tools
  [ "$(redis_cli CONFIG GET appendonly | tail -n1)" = yes ] && return
  redis_cli CONFIG SET appendfsync everysec >/dev/null && redis_cli CONFIG SET appendonly yes >/dev/null \
    && say "redis: AOF turned on (appendfsync everysec) in $(redis_cli CONFIG GET dir | tail -n1)" || say "redis: WARNING could not turn AOF on"
}
# Its AOF holds every write (rate-limit windows, anomaly counters, leases): its directory is its process's user's alone
# (Redis writes the files 0644). Only when that user owns the directory: one it merely writes into is left as it is.
redis_pid() { redis_cli INFO server | tr -d '\r' | sed -n 's/^process_id://p'; }
# "<uid> <gid>" (effective) of the running Redis's process, or nothing when it cannot be seen.
redis_ids() { awk '/^Uid:/ {u=$3} /^Gid:/ {g=$3} END {if (u != "" && g != "") print u, g}' "/proc/$(redis_pid)/status" 2>/dev/null || true; }
redis_dir_private() {
  local uid dir
  uid=$(redis_ids | cut -d' ' -f1)
  dir=$(redis_cli CONFIG GET dir | tail -n1)
  if [ -n "$uid" ] && [ -d "$dir" ] && [ "$(stat -c %u "$dir")" = "$uid" ]; then
    chmod go-rwx "$dir" && { [ ! -d "$dir/appendonlydir" ] || chmod go-rwx "$dir/appendonlydir"; }
  else
    say "redis: WARNING its data directory ${dir:-unknown} is not its user's own: left readable as it is"
  fi
}
redis_up() {
  command -v redis-cli >/dev/null || apt_install redis-tools
  if redis_ping; then say "redis: reusing 127.0.0.1:$REDIS_PORT"; redis_auth_on; redis_aof_on; redis_dir_private; redis_tls_on; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$STACK/redis"
  # After `kill redis`, the data directory of the Redis that was killed (its AOF), else our own.
  local dir="$STACK/redis"; [ -s "$STACK/redis/dir" ] && [ -d "$(cat "$STACK/redis/dir")" ] && dir=$(cat "$STACK/redis/dir")
  # It runs as this script's user: its TLS files are given to that user before it starts with them.
  redis_tls_files "$(id -u)" "$(id -g)"
  # The password in a 0600 file Redis reads at start, not on its command line.
  (umask 077 && printf 'requirepass %s\n' "$REDISCLI_AUTH" >"$STACK/redis/auth.conf") && chmod 600 "$STACK/redis/auth.conf"
  redis-server "$STACK/redis/auth.conf" --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly yes --appendfsync everysec \
    --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$REDIS_TLS_DIR/redis-server.pem" --tls-key-file "$REDIS_TLS_DIR/redis-server.key" \
    --tls-ca-cert-file "$REDIS_TLS_DIR/root.pem" --tls-auth-clients yes \
    --dir "$dir" --logfile "$STACK/redis/redis.log" --pidfile "$STACK/redis/redis.pid" \
    || { tail_log "$STACK/redis/redis.log"; fail "redis-server did not start (with TLS on 127.0.0.1:$REDIS_TLS_PORT)"; }
  for _ in $(seq 1 50); do redis_ping && { say "redis: started on 127.0.0.1:$REDIS_PORT"; redis_auth_on; redis_dir_private; redis_tls_check; return; }; sleep 0.2; done
  tail_log "$STACK/redis/redis.log"; fail "redis did not answer PING on 127.0.0.1:$REDIS_PORT within 10 s"
}

# ---- Redis over TLS (docs/adr/0030-redis-tls.md) --------------------------------------------------
# Mutual TLS on REDIS_TLS_PORT beside the plaintext port (kept for the operator and the tests' own observing clients, as
# Kafka's plaintext listener is): a client must present a certificate of the stack's PKI (tls-auth-clients yes). The
# server's certificate (CN=redis-server) is issued from the PKI the broker trusts, so every party trusts one root.
# Its files are copied with the root into REDIS_TLS_DIR, owned by the user the Redis process runs as: a reused Redis
# (Debian's service runs as `redis`) cannot read a clone's root-only .stack/pki. Outside the clone because the Redis
# is the machine's, not the checkout's. Applied on every `up` and `start redis` (a renewed certificate or a new PKI
# takes effect); if it cannot be, the script fails: no Redis without its TLS port.
if [ "$(id -u)" = 0 ]; then REDIS_TLS_DIR=${REDIS_TLS_DIR:-/var/lib/countersign/redis-$REDIS_PORT-tls}; else REDIS_TLS_DIR=${REDIS_TLS_DIR:-$STACK/redis/tls}; fi
# The PKI of the broker listening on KAFKA_PORT (ours or another checkout's), else ours: the one kafka_up settles on too.
redis_pki() { kafka_running_pki || echo "$PKI_DIR"; }
redis_tls_files() { # <uid> <gid> of the Redis process: issue its certificate (when due) and copy chain, key and root for it
  local uid=$1 gid=$2 pki f cannot; pki=$(redis_pki)
  node -r ./tools/register.js tools/pki.ts ensure "$pki" redis-server:server+client --hours 24 | sed 's/^/[stack] redis: /' \
    || fail "redis: could not issue its TLS certificate from the PKI in $pki (tools/pki.ts)"
  cannot="redis: cannot give its TLS files to the user (uid $uid) the Redis on 127.0.0.1:$REDIS_PORT runs as, in $REDIS_TLS_DIR (run as root, or set REDIS_TLS_DIR to a directory that user reads)"
  mkdir -p "$(dirname "$REDIS_TLS_DIR")" && install -d -m 0700 -o "$uid" -g "$gid" "$REDIS_TLS_DIR" || fail "$cannot"
  # Through a new name and a rename: a Redis loading them (a parallel `up`) never reads half a file. The key stays 0600.
  for f in redis-server.pem:0644 redis-server.key:0600 root.pem:0644; do
    install -m "${f#*:}" -o "$uid" -g "$gid" "$pki/${f%:*}" "$REDIS_TLS_DIR/${f%:*}.next" \
      && mv -f "$REDIS_TLS_DIR/${f%:*}.next" "$REDIS_TLS_DIR/${f%:*}" || fail "$cannot"
  done
}
redis_tls_on() { # a running Redis (reused, or ours): TLS on, or on again with the current files, through CONFIG SET
  local owner out
  owner=$(redis_ids)
  [ -n "$owner" ] || fail "redis: cannot see the process (pid $(redis_pid || echo unknown)) of the Redis on 127.0.0.1:$REDIS_PORT, so cannot give it its TLS files"
  # shellcheck disable=SC2086
  redis_tls_files $owner
  # One CONFIG SET: Redis loads the files (again, even under the same names) and opens the port together, or refuses it all.
  out=$(redis_cli CONFIG SET tls-cert-file "$REDIS_TLS_DIR/redis-server.pem" tls-key-file "$REDIS_TLS_DIR/redis-server.key" \
    tls-ca-cert-file "$REDIS_TLS_DIR/root.pem" tls-auth-clients yes tls-port "$REDIS_TLS_PORT" 2>&1) || true
  [ "$out" = OK ] || fail "redis: could not turn TLS on for the Redis on 127.0.0.1:$REDIS_PORT (CONFIG SET tls-port $REDIS_TLS_PORT and its files in $REDIS_TLS_DIR answered: $out)"
  redis_tls_check
}
redis_tls_cli() { # <pki> [args]: redis-cli on the TLS port, trusting the PKI's root
  local pki=$1; shift
  redis-cli -h 127.0.0.1 -p "$REDIS_TLS_PORT" --tls --cacert "$pki/root.pem" "$@"
}
redis_tls_check() { # the TLS port is this Redis's, answers a certificate of the PKI, and refuses a client without one
  local pki mine theirs; pki=$(redis_pki)
  mine=$(redis_cli INFO server | tr -d '\r' | sed -n 's/^run_id://p')
  theirs=$(redis_tls_cli "$pki" --cert "$pki/redis-server.pem" --key "$pki/redis-server.key" INFO server 2>&1 | tr -d '\r' | sed -n 's/^run_id://p') || true
  [ -n "$theirs" ] || fail "redis: 127.0.0.1:$REDIS_TLS_PORT does not answer over TLS with a certificate of $pki: $(redis_tls_cli "$pki" --cert "$pki/redis-server.pem" --key "$pki/redis-server.key" PING 2>&1 | head -n1)"
  [ "$theirs" = "$mine" ] || fail "redis: 127.0.0.1:$REDIS_TLS_PORT is another Redis (run_id $theirs) than the one on 127.0.0.1:$REDIS_PORT ($mine)"
  [ "$(redis_tls_cli "$pki" PING 2>&1 || true)" != PONG ] || fail "redis: 127.0.0.1:$REDIS_TLS_PORT answers a TLS client without a certificate (tls-auth-clients is not in force)"
  say "redis: mutual TLS on 127.0.0.1:$REDIS_TLS_PORT (certificate from $pki, files in $REDIS_TLS_DIR)"
}

# ---- PostgreSQL -----------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
psql_admin() {
  if psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"
  else
    su postgres -c "psql -p $PG_PORT -d postgres -v ON_ERROR_STOP=1 -qtA $(printf '%q ' "$@")"
  fi
}
postgres_up() {
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  if ! pg_ready; then
    if [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
      say "postgres: starting the machine's cluster"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    else
      apt_install postgresql
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    fi
    for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
    pg_ready || fail "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT (see /var/log/postgresql/)"
  fi
  # Roles and databases, idempotently. Passwords make the URLs work whatever pg_hba's method is.
  psql_admin -c "DO \$\$BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='countersign') THEN CREATE ROLE countersign LOGIN CREATEDB PASSWORD 'countersign'; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='countersign_audit') THEN CREATE ROLE countersign_audit LOGIN PASSWORD 'countersign_audit'; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='unleash') THEN CREATE ROLE unleash LOGIN PASSWORD 'unleash'; END IF;
  END\$\$;"
  for db in countersign:countersign unleash:unleash; do
    name=${db%%:*}; owner=${db##*:}
    [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$name'")" = "1" ] || psql_admin -c "CREATE DATABASE $name OWNER $owner"
  done
  say "postgres: ready on 127.0.0.1:$PG_PORT (databases countersign, unleash)"
  # Said, not changed: the machine's pg_hba.conf is its owner's. Under `trust` the roles' passwords and the audit role's
  # limits hold only against Countersign's own code, not against another local user.
  if PGPASSWORD=not-the-password psql -h 127.0.0.1 -p "$PG_PORT" -U countersign_audit -d countersign -tAc 'SELECT 1' >/dev/null 2>&1; then
    say "postgres: WARNING 127.0.0.1:$PG_PORT lets a client in without its password (trust in pg_hba.conf): any local user can act as any role, the audit log's owner included"
  fi
}

# ---- Apache Kafka ---------------------------------------------------------------------------------
KAFKA_DIR="$STACK/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs-$KAFKA_VERSION"
# The admin's password for the broker's SASL_PLAINTEXT listener (user `admin`): made once per checkout, 0600.
KAFKA_PASSWORD_FILE="$KAFKA_DIR/admin.password"
kafka_ready() { KAFKA_SASL_PASSWORD_FILE="$KAFKA_PASSWORD_FILE" node infra/kafka/wait-ready.js "127.0.0.1:$KAFKA_PORT" "$1" 2>/dev/null; }
# The private PKI (tools/pki.ts, libs/pki): a root and an intermediate CA, the broker's certificate for its SSL listener.
PKI_DIR="$STACK/pki"
kafka_pki() {
  node -r ./tools/register.js tools/pki.ts ensure "$PKI_DIR" kafka-broker:server+client --hours 24 | sed 's/^/[stack] /' \
    || fail "could not make the private PKI in $PKI_DIR (tools/pki.ts)"
}
kafka_running_props() { # the properties file of the broker listening on KAFKA_PORT (from its command line)
  local pid props
  pid=$(ss -ltnpH "sport = :$KAFKA_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  props=$(tr '\0' '\n' <"/proc/$pid/cmdline" | tail -n1)
  [ -f "$props" ] && echo "$props"
}
# The PKI directory of the broker listening on KAFKA_PORT, ours or another checkout's (its trust store's folder):
# a reused broker trusts only its own root, so test runs must issue their certificates from that PKI.
kafka_running_pki() {
  local props trust
  props=$(kafka_running_props) || return 1
  trust=$(sed -n 's/^ssl.truststore.location=//p' "$props")
  [ -n "$trust" ] && [ -f "$trust" ] && dirname "$trust"
}
# The admin's password of the broker whose properties are given ('' when it has none: an older configuration).
kafka_props_password() { sed -n 's/^listener\.name\.sasl_plaintext\.plain\.sasl\.jaas\.config=.*user_admin="\([^"]*\)".*/\1/p' "$1" | head -n1; }
kafka_password_file() { # <password>: keep it as this checkout's
  mkdir -p "$KAFKA_DIR"
  (umask 077 && printf '%s' "$1" >"$KAFKA_PASSWORD_FILE") && chmod 600 "$KAFKA_PASSWORD_FILE"
}
kafka_jars_present() { [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] && [ -f "$KAFKA_LIBS/log4j-slf4j-impl-2.24.3.jar" ]; }
kafka_up() {
  if port_open "$KAFKA_PORT"; then
    local props password=''; props=$(kafka_running_props) && password=$(kafka_props_password "$props")
    if [ -n "$password" ] && port_open "$KAFKA_SSL_PORT"; then
      kafka_password_file "$password"
      if kafka_ready 5; then
        local running_pki; running_pki=$(kafka_running_pki) && [ "$running_pki" != "$PKI_DIR" ] && { PKI_DIR=$running_pki; say "kafka: its PKI is $PKI_DIR (another checkout's broker)"; }
        say "kafka: reusing 127.0.0.1:$KAFKA_PORT"; return
      fi
    fi
    # Ours, but started with an older configuration (a listener without a password, or no SSL listener): again.
    pid_alive "$KAFKA_DIR/kafka.pid" || fail "a Kafka this checkout did not start, with an older configuration or not ready, runs on 127.0.0.1:$KAFKA_PORT: stop it first"
    say "kafka: ours runs an older configuration (a listener without a password, or no SSL listener): starting it again"
    stop_pid "$KAFKA_DIR/kafka.pid" kafka
  fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  if ! kafka_jars_present; then
    rm -rf "$KAFKA_LIBS"
    command -v mvn >/dev/null || apt_install maven
    say "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central"
    mvn -q -f infra/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" -Dkafka.version="$KAFKA_VERSION" >"$KAFKA_DIR.fetch.log" 2>&1 \
      || { tail_log "$KAFKA_DIR.fetch.log"; fail "could not fetch the Kafka jars with Maven"; }
  fi
  mkdir -p "$KAFKA_DIR"
  local props="$KAFKA_DIR/server.properties"
  kafka_pki
  [ -s "$KAFKA_PASSWORD_FILE" ] || kafka_password_file "$(openssl rand -hex 24)"
  (umask 077 && sed -e "s#@BROKER_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" -e "s#@DATA_DIR@#$KAFKA_DIR/data-$KAFKA_VERSION#g" \
    -e "s#@SSL_PORT@#$KAFKA_SSL_PORT#g" -e "s#@PKI_DIR@#$PKI_DIR#g" -e "s#@ADMIN_PASSWORD@#$(cat "$KAFKA_PASSWORD_FILE")#g" \
    infra/kafka/server.properties.template >"$props") && chmod 600 "$props"
  local cp="$KAFKA_LIBS/*"
  if [ ! -f "$KAFKA_DIR/data-$KAFKA_VERSION/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    java -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >"$KAFKA_DIR/format.log" 2>&1 \
      || { tail_log "$KAFKA_DIR/format.log"; fail "kafka storage format failed"; }
  fi
  say "kafka: starting $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
  KAFKA_HEAP="-Xms256m -Xmx768m"
  # Every partition keeps a few files open; test namespaces create many topics.
  ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null || true
  nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$props" >"$KAFKA_DIR/kafka.log" 2>&1 &
  echo $! >"$KAFKA_DIR/kafka.pid"
  kafka_ready 90 || { tail_log "$KAFKA_DIR/kafka.log"; fail "kafka did not become ready on 127.0.0.1:$KAFKA_PORT within 90 s"; }
  say "kafka: ready"
}

# ---- Unleash --------------------------------------------------------------------------------------
UNLEASH_DIR="$STACK/unleash"
unleash_healthy() { curl -fsS -m 2 "http://127.0.0.1:$UNLEASH_PORT/health" >/dev/null 2>&1; }
# No password user: Unleash's default `admin` / `unleash4all` would let any local user hold every flag (infra/unleash/no-default-admin.js).
unleash_no_default_admin() {
  local out
  out=$(set -a && . "$UNLEASH_TOKENS" && UNLEASH_URL="http://127.0.0.1:$UNLEASH_PORT" node infra/unleash/no-default-admin.js 2>&1) || fail "unleash: $out"
  [ -z "$out" ] || say "unleash: $out"
}
unleash_up() {
  mkdir -p "$UNLEASH_DIR/import" "$(dirname "$UNLEASH_TOKENS")"
  # The tokens live beside the machine's PostgreSQL data (not in this clone): Unleash creates its init
  # tokens only once per database, so a fresh clone must reuse them. No tokens file: start from a fresh database.
  if [ ! -f "$UNLEASH_TOKENS" ]; then
    unleash_healthy && fail "an Unleash whose tokens are unknown runs on 127.0.0.1:$UNLEASH_PORT; stop it first"
    psql_admin -c "DROP DATABASE IF EXISTS unleash" && psql_admin -c "CREATE DATABASE unleash OWNER unleash"
    printf 'UNLEASH_ADMIN_TOKEN=*:*.%s\nUNLEASH_CLIENT_TOKEN=default:development.%s\n' "$(openssl rand -hex 24)" "$(openssl rand -hex 24)" >"$UNLEASH_TOKENS"
    chmod 600 "$UNLEASH_TOKENS"
  fi
  if unleash_healthy; then say "unleash: reusing 127.0.0.1:$UNLEASH_PORT"; unleash_no_default_admin; return; fi
  local lock_hash; lock_hash=$(sha256sum infra/unleash/package.json infra/unleash/package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
  if [ ! -d infra/unleash/node_modules/unleash-server ] || [ "$(cat "$UNLEASH_DIR/installed" 2>/dev/null)" != "$lock_hash" ]; then
    say "unleash: installing unleash-server from npm (infra/unleash)"
    (cd infra/unleash && npm ci --no-audit --no-fund --omit=dev >"$UNLEASH_DIR/install.log" 2>&1) || { tail_log "$UNLEASH_DIR/install.log"; fail "npm ci in infra/unleash failed"; }
    echo "$lock_hash" >"$UNLEASH_DIR/installed"
  fi
  say "unleash: starting on 127.0.0.1:$UNLEASH_PORT"
  set -a; . "$UNLEASH_TOKENS"; set +a
  INIT_ADMIN_API_TOKENS=$UNLEASH_ADMIN_TOKEN INIT_BACKEND_API_TOKENS=$UNLEASH_CLIENT_TOKEN UNLEASH_PORT=$UNLEASH_PORT UNLEASH_DATA="$UNLEASH_DIR" DATABASE_URL="postgres://unleash:unleash@127.0.0.1:$PG_PORT/unleash" \
    nohup node infra/unleash/server.js >"$UNLEASH_DIR/unleash.log" 2>&1 &
  echo $! >"$UNLEASH_DIR/unleash.pid"
  for _ in $(seq 1 240); do unleash_healthy && { say "unleash: ready"; unleash_no_default_admin; return; }; pid_alive "$UNLEASH_DIR/unleash.pid" || break; sleep 0.5; done
  tail_log "$UNLEASH_DIR/unleash.log"; fail "unleash did not become healthy on 127.0.0.1:$UNLEASH_PORT within 120 s"
}

# ---- Prometheus -----------------------------------------------------------------------------------
# Only the binaries: promtool checks and unit-tests infra/prometheus/rules.yml, and the end-to-end test starts its own
# prometheus on 127.0.0.1 (a free port). No node exporter (a recommend), and no daemon of the package's own: its init
# script would listen on 0.0.0.0:9090, so it is stopped and kept from starting at boot.
prometheus_install() {
  apt_install --no-install-recommends prometheus
  if [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  say "prometheus: installed $(prometheus --version 2>&1 | head -n1) (binaries only, no daemon)"
}

# ---- What the tests drive (no daemons) ------------------------------------------------------------
# docker-compose only validates docker-compose.yml offline (no Docker engine runs here); the reviewer inbox's browser
# tests drive Debian's Chromium, its headless build (chromium-headless-shell: playwright-core cannot download a browser
# here, and the full browser took 65 % more CPU in the tests, docs/adr/0016 addendum); pebble is Let's Encrypt's ACME test
# server for the reviewer portal's certificate tests (libs/testing/src/pebble.ts starts one per test on 127.0.0.1).
# On a fresh machine these installs are most of `up` (two minutes, mostly downloads and dpkg): they run in the
# background while Kafka and Unleash start, and `up` waits for them at its end. Without the packages they recommend:
# docker-compose's is Docker itself (docker.io, containerd: no engine runs here), Chromium's a desktop (Mesa, udev,
# printing, notifications) a headless browser does not use; of those only its fonts are kept, so pages render text as
# on a desktop. The install took 56 s and 65 s of CPU beside the unit tests, and takes 20 s and 25 s without them.
tools_missing() {
  local cmd
  for cmd in docker-compose chromium-headless-shell pebble; do command -v "$cmd" >/dev/null || printf '%s ' "$cmd"; done
}
tools_install_start() {
  local missing; missing=$(tools_missing)
  if [ -z "$missing" ] && command -v prometheus >/dev/null && command -v promtool >/dev/null; then return; fi
  # shellcheck disable=SC2086 # the list is words
  case " $missing " in *" chromium-headless-shell "*) missing="$missing fonts-liberation" ;; esac
  ( [ -z "$missing" ] || apt_install --no-install-recommends $missing
    command -v prometheus >/dev/null && command -v promtool >/dev/null || prometheus_install ) >"$STACK/tools-install.log" 2>&1 &
  TOOLS_PID=$!
}
tools_install_wait() {
  [ -n "${TOOLS_PID:-}" ] || return 0
  local status=0; wait "$TOOLS_PID" || status=$?
  grep '^\[stack\]' "$STACK/tools-install.log" || true
  [ "$status" -eq 0 ] || { tail_log "$STACK/tools-install.log"; fail "installing what the tests drive failed (log: $STACK/tools-install.log)"; }
}

write_env() {
  set -a; . "$UNLEASH_TOKENS"; set +a
  # 0600: it holds the Redis password and the Unleash tokens.
  (umask 077 && cat >"$STACK/stack.env") <<ENV
KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
KAFKA_SASL_USERNAME=admin
KAFKA_SASL_PASSWORD_FILE=$KAFKA_PASSWORD_FILE
KAFKA_SSL_BROKERS=127.0.0.1:$KAFKA_SSL_PORT
PKI_DIR=$PKI_DIR
REDIS_URL=redis://:$REDISCLI_AUTH@127.0.0.1:$REDIS_PORT
REDIS_TLS_URL=rediss://:$REDISCLI_AUTH@127.0.0.1:$REDIS_TLS_PORT
REDIS_PASSWORD_FILE=$REDIS_PASSWORD_FILE
DATABASE_URL=postgres://countersign:countersign@127.0.0.1:$PG_PORT/countersign
AUDIT_DATABASE_URL=postgres://countersign_audit:countersign_audit@127.0.0.1:$PG_PORT/countersign
UNLEASH_URL=http://127.0.0.1:$UNLEASH_PORT/api
UNLEASH_ADMIN_TOKEN=$UNLEASH_ADMIN_TOKEN
UNLEASH_CLIENT_TOKEN=$UNLEASH_CLIENT_TOKEN
ENV
  chmod 600 "$STACK/stack.env"
  say "wrote .stack/stack.env"
}

stop_pid() {
  local file=$1 name=$2
  if pid_alive "$file"; then
    kill "$(cat "$file")"; for _ in $(seq 1 40); do pid_alive "$file" || break; sleep 0.25; done
    pid_alive "$file" && kill -9 "$(cat "$file")"
    say "$name: stopped"
  fi
  rm -f "$file"
}

# ---- Faults (the chaos harness, npm run chaos): kill -9 one part, start it again ------------------
# `kill` takes the part down hard, as a crash would (no shutdown, no flush); `start` brings it back as `up` would.
kill_pid() { # kill -9 one process id and wait until it is gone
  kill -9 "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  fail "process $1 did not exit after kill -9"
}
redis_kill() {
  redis_ping || { say "redis: not running"; return; }
  command -v redis-cli >/dev/null || apt_install redis-tools
  local pid; pid=$(redis_pid)
  mkdir -p "$STACK/redis"
  redis_cli CONFIG GET dir | tail -n1 >"$STACK/redis/dir" # where its AOF is: the restart reads it from there
  kill_pid "$pid"
  say "redis: killed (pid $pid)"
}
postgres_kill() {
  local data pid children
  data=$(psql_admin -c 'SHOW data_directory') || fail "cannot ask PostgreSQL for its data directory"
  pid=$(head -n1 "$data/postmaster.pid")
  children=$(ps -o pid= --ppid "$pid" | xargs)
  # The postmaster and every backend: nothing may stay attached to the old shared memory, or it will not start.
  kill -9 "$pid" $children 2>/dev/null || true
  for p in $pid $children; do kill_pid "$p"; done
  say "postgres: killed (postmaster $pid and ${children:-no} children)"
}
kafka_kill() {
  pid_alive "$KAFKA_DIR/kafka.pid" || fail "no Kafka started by this script runs (.stack/kafka/kafka.pid)"
  local pid; pid=$(cat "$KAFKA_DIR/kafka.pid")
  kill_pid "$pid"
  for _ in $(seq 1 100); do port_open "$KAFKA_PORT" || break; sleep 0.1; done
  say "kafka: killed (pid $pid)"
}
unleash_kill() {
  local pid
  if pid_alive "$UNLEASH_DIR/unleash.pid"; then
    pid=$(cat "$UNLEASH_DIR/unleash.pid")
  else
    # One this checkout did not start (an earlier run's, another checkout's): the process listening on its port. It keeps
    # nothing of its own (flags live in PostgreSQL, tokens in $UNLEASH_TOKENS), so ours takes its place on `start`.
    pid=$(ss -ltnpH "sport = :$UNLEASH_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
    [ -n "$pid" ] || fail "no Unleash runs on 127.0.0.1:$UNLEASH_PORT"
  fi
  kill_pid "$pid"
  for _ in $(seq 1 100); do port_open "$UNLEASH_PORT" || break; sleep 0.1; done
  say "unleash: killed (pid $pid)"
}
fault() {
  local action=$1 part=${2:-}
  case "$part" in redis | postgres | kafka | unleash) ;; *) echo "usage: bash infra/stack.sh $action redis|postgres|kafka|unleash" >&2; exit 2 ;; esac
  if [ "$action" != start ]; then "${part}_kill"; fi
  if [ "$action" != kill ]; then "${part}_up"; fi
}

case "${1:-}" in
  up)
    started=$(date +%s)
    redis_up
    postgres_up
    # Java and Maven for the broker now, before the background installs hold apt's lock.
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    kafka_jars_present || command -v mvn >/dev/null || apt_install maven
    tools_install_start
    kafka_up
    unleash_up
    tools_install_wait
    write_env
    say "up in $(( $(date +%s) - started ))s"
    ;;
  down)
    stop_pid "$UNLEASH_DIR/unleash.pid" unleash
    stop_pid "$KAFKA_DIR/kafka.pid" kafka
    [ -f "$STACK/redis/redis.pid" ] && stop_pid "$STACK/redis/redis.pid" redis
    say "down (PostgreSQL and a Redis this script did not start are left running)"
    ;;
  status)
    redis_ping && say "redis: up (127.0.0.1:$REDIS_PORT)" || say "redis: down"
    port_open "$REDIS_TLS_PORT" && say "redis: TLS up (127.0.0.1:$REDIS_TLS_PORT)" || say "redis: TLS down"
    pg_ready && say "postgres: up (127.0.0.1:$PG_PORT)" || say "postgres: down"
    port_open "$KAFKA_PORT" && say "kafka: up (127.0.0.1:$KAFKA_PORT)" || say "kafka: down"
    unleash_healthy && say "unleash: up (127.0.0.1:$UNLEASH_PORT)" || say "unleash: down"
    ;;
  kill | start | restart) fault "$1" "${2:-}" ;;
  *) echo "usage: bash infra/stack.sh up|down|status | kill|start|restart redis|postgres|kafka|unleash" >&2; exit 2 ;;
esac
