#!/usr/bin/env bash
# PostgreSQL, Redis, a single-node Apache Kafka broker and Zipkin on this machine, without Docker.
#
#   pnpm infra:local up       start whatever is not running, wait until each answers, print the env
#   pnpm infra:local down     stop only what `up` started (PostgreSQL/Redis that were already running stay)
#   pnpm infra:local status   say what is up; exit 1 when anything is down
#
# PostgreSQL and Redis come from the machine's packages. Kafka is the real broker, resolved by
# Maven from infra/kafka/pom.xml into .infra/kafka/lib (a stable path: fault tests start their
# own private broker from the same jars) and run as one combined KRaft broker/controller.
# Zipkin is the trace UI when there is no Docker (so no Jaeger): Maven fetches the
# io.zipkin:zipkin-server exec jar into .infra/zipkin/lib once; it keeps traces in memory only
# and listens on 127.0.0.1:9411 alone. Services send it spans with LAB_TRACE_EXPORT=zipkin.
#
# Environment:
#   KAFKA_HOME_DIR   where the broker keeps its config, KRaft data, logs and pid (.infra/kafka)
#   KAFKA_WAIT_SECS  how long to wait for the broker to serve metadata (90)
#   ZIPKIN_WAIT_SECS how long to wait for Zipkin to report itself healthy (60)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$root/.infra"
kafka_lib="$state/kafka/lib"
kafka_probe="$state/kafka/probe"
kafka_home=$(realpath -m "${KAFKA_HOME_DIR:-$state/kafka}")
kafka_wait=${KAFKA_WAIT_SECS:-90}
kafka_pidfile="$kafka_home/kafka.pid"
pom="$root/infra/kafka/pom.xml"
probe_src="$root/infra/kafka/WaitForBroker.java"

pg_host=127.0.0.1 pg_port=5432
redis_host=127.0.0.1 redis_port=6379
kafka_host=127.0.0.1 kafka_port=9092 controller_port=9093
zipkin_host=127.0.0.1 zipkin_port=9411
zipkin_version=3.5.1
zipkin_home="$state/zipkin"
zipkin_jar="$zipkin_home/lib/zipkin-server-$zipkin_version-exec.jar"
zipkin_pidfile="$zipkin_home/zipkin.pid"
zipkin_wait=${ZIPKIN_WAIT_SECS:-60}

say() { echo "infra: $*" >&2; }
die() { say "$*"; exit 1; }

# A bare TCP connect: cheap enough for status, and enough to know a port is taken.
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Polls a check until it passes or the deadline passes; never an open-ended sleep loop.
wait_until() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || { say "$what did not come up within ${secs}s"; return 1; }
    sleep 0.2
  done
}

# Alive and still the broker: after a reboot the recorded pid may belong to something else.
kafka_running() {
  [[ -f $kafka_pidfile ]] || return 1
  local pid
  pid=$(cat "$kafka_pidfile")
  kill -0 "$pid" 2>/dev/null && grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null
}

# --- PostgreSQL ---------------------------------------------------------------------------

pg_up() { pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; }

pg_cluster() {
  # The cluster on our port, as "version name" (Debian's postgresql-common layout).
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters --no-header 2>/dev/null | awk -v p="$pg_port" '$3 == p { print $1, $2; exit }'
}

start_postgres() {
  if pg_up; then return; fi
  local cluster
  cluster=$(pg_cluster) || true
  [[ -n $cluster ]] || die "PostgreSQL is not running on $pg_host:$pg_port and no local cluster is installed (Debian: apt-get install postgresql)"
  say "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086 # "version name" is two arguments
  pg_ctlcluster --skip-systemctl-redirect $cluster start 9>&-
  echo "$cluster" >"$state/postgres.started"
  wait_until "PostgreSQL" 30 pg_up
}

stop_postgres() {
  [[ -f $state/postgres.started ]] || return 0
  local cluster
  cluster=$(cat "$state/postgres.started")
  say "stopping PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster stop -m fast || true
  rm -f "$state/postgres.started"
}

# --- Redis --------------------------------------------------------------------------------

redis_up() { [[ $(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null) == PONG ]]; }

start_redis() {
  if redis_up; then return; fi
  command -v redis-server >/dev/null || die "Redis is not running on $redis_host:$redis_port and redis-server is not installed (Debian: apt-get install redis-server)"
  say "starting Redis"
  mkdir -p "$state/redis"
  # No persistence: the lab's source of truth is PostgreSQL; Redis holds rebuildable read models.
  redis-server --daemonize yes --bind "$redis_host" --port "$redis_port" --save "" --appendonly no \
    --dir "$state/redis" --logfile "$state/redis/redis.log" --pidfile "$state/redis/redis.pid" 9>&-
  touch "$state/redis.started"
  wait_until "Redis" 15 redis_up
}

stop_redis() {
  [[ -f $state/redis.started ]] || return 0
  say "stopping Redis"
  redis-cli -h "$redis_host" -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -f "$state/redis.started"
}

# --- Kafka --------------------------------------------------------------------------------

resolve_kafka() {
  local want
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  if [[ -f $kafka_lib/.pom-sha256 && $(cat "$kafka_lib/.pom-sha256") == "$want" ]]; then return; fi
  command -v mvn >/dev/null || die "mvn is needed once to resolve the Kafka broker (Debian: apt-get install maven)"
  command -v java >/dev/null || die "java 17+ is needed to run the Kafka broker (Debian: apt-get install openjdk-17-jdk-headless)"
  say "resolving the Kafka broker with Maven (first run downloads ~45 MB)"
  local tmp="$kafka_lib.tmp"
  rm -rf "$tmp"
  mkdir -p "$state/kafka"
  # Into a log, shown only on failure: `up` prints just the environment on stdout (for eval or
  # an .env file), and Maven's console prints stray colour codes even in batch mode.
  (cd "$root/infra/kafka" && mvn -q -B dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$state/kafka/maven.log" 2>&1) ||
    { cat "$state/kafka/maven.log" >&2; die "Maven could not resolve the Kafka broker"; }
  echo "$want" >"$tmp/.pom-sha256"
  # Swapped in whole so an interrupted download never looks resolved.
  rm -rf "$kafka_lib"
  mv "$tmp" "$kafka_lib"
  rm -rf "$kafka_probe"
}

build_probe() {
  local want
  want=$(cat "$probe_src" "$kafka_lib/.pom-sha256" | sha256sum | cut -d' ' -f1)
  if [[ -f $kafka_probe/.sha256 && $(cat "$kafka_probe/.sha256") == "$want" ]]; then return; fi
  rm -rf "$kafka_probe"
  mkdir -p "$kafka_probe"
  javac -nowarn -d "$kafka_probe" -cp "$kafka_lib/*" "$probe_src"
  echo "$want" >"$kafka_probe/.sha256"
}

# Answers a real metadata request, not just an open port.
kafka_serves() {
  java -Dlog4j2.level=OFF -cp "$kafka_lib/*:$kafka_probe" WaitForBroker "$kafka_host:$kafka_port" "$1"
}

write_kafka_config() {
  mkdir -p "$kafka_home/data" "$kafka_home/logs"
  cat >"$kafka_home/server.properties" <<EOF
# Written by scripts/infra-local.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$kafka_host:$controller_port
listeners=PLAINTEXT://$kafka_host:$kafka_port,CONTROLLER://$kafka_host:$controller_port
advertised.listeners=PLAINTEXT://$kafka_host:$kafka_port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$kafka_home/data

# One node: every internal topic has exactly one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Fast tests: a consumer group starts at once, sessions may be short so a killed consumer's
# partitions move quickly, and code must create the topics it uses (no silent auto-creation).
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1

# A lab's data is disposable: small segments, short retention.
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
EOF
  cat >"$kafka_home/log4j2.properties" <<EOF
# The broker logs warnings to a file only; the terminal stays quiet.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $kafka_home/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = warn
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
EOF
}

format_kafka() {
  [[ -f $kafka_home/data/meta.properties ]] && return
  # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding, never starting
  # with '-' (as Kafka's own Uuid.randomUuid ensures): the storage tool's argument parser would
  # take it for an option, and one format in 64 would fail.
  local cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  say "formatting KRaft storage in $kafka_home/data"
  java -Dlog4j2.configurationFile="$kafka_home/log4j2.properties" -cp "$kafka_lib/*" kafka.tools.StorageTool \
    format -t "$cluster_id" -c "$kafka_home/server.properties" --standalone >"$kafka_home/logs/format.log" 2>&1 ||
    { cat "$kafka_home/logs/format.log" >&2; die "formatting KRaft storage failed"; }
}

start_kafka() {
  resolve_kafka
  build_probe
  if kafka_running; then
    # Ours, and it answered when it started: an open port is enough to keep a second `up` instant.
    port_open "$kafka_host" "$kafka_port" && return
    kafka_serves "$kafka_wait" >/dev/null && return
    die "the broker (pid $(cat "$kafka_pidfile")) runs but does not answer; see $kafka_home/logs/server.log"
  fi
  if port_open "$kafka_host" "$kafka_port"; then
    # Someone else's broker (another checkout, a container): use it, never stop it.
    kafka_serves 15 >/dev/null && { say "using the broker already on $kafka_host:$kafka_port"; return; }
    die "$kafka_host:$kafka_port is taken by something that does not answer as a Kafka broker"
  fi
  port_open "$kafka_host" "$controller_port" && die "$kafka_host:$controller_port (KRaft controller) is already taken"
  write_kafka_config
  format_kafka
  say "starting the Kafka broker (logs: $kafka_home/logs/server.log)"
  # setsid: the broker outlives the shell (and pnpm) that started it, and Ctrl-C there.
  setsid java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$kafka_home/log4j2.properties" -Dkafka.logs.dir="$kafka_home/logs" \
    -cp "$kafka_lib/*" kafka.Kafka "$kafka_home/server.properties" \
    >"$kafka_home/logs/stdout.log" 2>&1 </dev/null 9>&- &
  echo $! >"$kafka_pidfile"
  if ! kafka_serves "$kafka_wait" >/dev/null; then
    kafka_running || say "the broker exited; last lines of its logs:"
    tail -n 20 "$kafka_home/logs/stdout.log" "$kafka_home/logs/server.log" >&2 2>/dev/null || true
    stop_kafka
    die "the Kafka broker did not start"
  fi
}

stop_kafka() {
  kafka_running || { rm -f "$kafka_pidfile"; return 0; }
  local pid
  pid=$(cat "$kafka_pidfile")
  say "stopping the Kafka broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # A controlled shutdown takes a few seconds; past the deadline it is killed outright.
  if ! wait_until "Kafka shutdown" 30 eval "! kill -0 $pid 2>/dev/null"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$kafka_pidfile"
}

kafka_status() {
  if ! port_open "$kafka_host" "$kafka_port"; then return 1; fi
  # The probe is compiled by `up`; without it an open port is the best available answer.
  if [[ -f $kafka_probe/WaitForBroker.class ]]; then kafka_serves 20 >/dev/null 2>&1; fi
}

# --- Zipkin -------------------------------------------------------------------------------

# Healthy and Zipkin: /health names its storage under "zipkin", which tells it apart from
# anything else that might hold the port (Jaeger, for one, can also accept spans on 9411).
zipkin_up() {
  curl -fsS --max-time 2 "http://$zipkin_host:$zipkin_port/health" 2>/dev/null | grep -q '"zipkin"'
}

zipkin_running() {
  [[ -f $zipkin_pidfile ]] || return 1
  local pid
  pid=$(cat "$zipkin_pidfile")
  kill -0 "$pid" 2>/dev/null && grep -qa 'zipkin-server' "/proc/$pid/cmdline" 2>/dev/null
}

resolve_zipkin() {
  [[ -f $zipkin_jar ]] && return
  command -v mvn >/dev/null || die "mvn is needed once to fetch Zipkin (Debian: apt-get install maven)"
  command -v java >/dev/null || die "java 17+ is needed to run Zipkin (Debian: apt-get install openjdk-17-jre-headless)"
  say "fetching Zipkin $zipkin_version with Maven (first run downloads ~130 MB)"
  local tmp="$zipkin_home/lib.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # One self-contained jar, so no project file is needed; -C refuses a download whose checksum
  # does not match Maven Central's.
  (cd "$zipkin_home" && mvn -q -B -C org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.zipkin:zipkin-server:$zipkin_version:jar:exec" -DoutputDirectory="$tmp" \
    >"$zipkin_home/maven.log" 2>&1) ||
    { cat "$zipkin_home/maven.log" >&2; die "Maven could not fetch Zipkin"; }
  # Swapped in whole so an interrupted download never looks resolved; older versions go.
  rm -rf "$zipkin_home/lib"
  mv "$tmp" "$zipkin_home/lib"
}

start_zipkin() {
  if zipkin_running; then
    zipkin_up && return
    # Started a moment ago by another `up`, or wedged: give it the start-up budget, no more.
    wait_until "Zipkin" "$zipkin_wait" zipkin_up && return
    die "Zipkin (pid $(cat "$zipkin_pidfile")) runs but is not healthy; see $zipkin_home/zipkin.log"
  fi
  if port_open "$zipkin_host" "$zipkin_port"; then
    zipkin_up && { say "using the Zipkin already on $zipkin_host:$zipkin_port"; return; }
    die "$zipkin_host:$zipkin_port is taken by something that does not answer as Zipkin"
  fi
  resolve_zipkin
  say "starting Zipkin (UI: http://$zipkin_host:$zipkin_port, logs: $zipkin_home/zipkin.log)"
  # Every setting that could reach outside this machine or keep data is pinned on the command
  # line, which outranks the environment variables Zipkin otherwise reads (KAFKA_BOOTSTRAP_SERVERS,
  # STORAGE_TYPE, ES_HOSTS...): in-memory storage capped well inside the heap (50,000 spans hold
  # ~110 MB), only the HTTP collector, API and UI on one loopback port, no self-tracing, no
  # service discovery. The JDK's resolver, because Armeria's own DNS client keeps a UDP socket
  # bound on every interface.
  setsid java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dcom.linecorp.armeria.useJdkDnsResolver=true \
    -jar "$zipkin_jar" \
    "--armeria.ports[0].ip=$zipkin_host" "--armeria.ports[0].port=$zipkin_port" \
    --zipkin.storage.type=mem --zipkin.storage.mem.max-spans=50000 \
    --zipkin.collector.kafka.enabled=false --zipkin.collector.rabbitmq.enabled=false \
    --zipkin.collector.activemq.enabled=false --zipkin.collector.pulsar.enabled=false \
    --zipkin.collector.scribe.enabled=false --zipkin.collector.grpc.enabled=false \
    --zipkin.discovery.eureka.enabled=false --zipkin.self-tracing.enabled=false \
    >"$zipkin_home/zipkin.log" 2>&1 </dev/null 9>&- &
  echo $! >"$zipkin_pidfile"
  if ! wait_until "Zipkin" "$zipkin_wait" zipkin_up; then
    zipkin_running || say "Zipkin exited; last lines of its log:"
    tail -n 20 "$zipkin_home/zipkin.log" >&2 || true
    stop_zipkin
    die "Zipkin did not start"
  fi
}

stop_zipkin() {
  zipkin_running || { rm -f "$zipkin_pidfile"; return 0; }
  local pid
  pid=$(cat "$zipkin_pidfile")
  say "stopping Zipkin (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "Zipkin shutdown" 15 eval "! kill -0 $pid 2>/dev/null"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$zipkin_pidfile"
}

# --- commands -----------------------------------------------------------------------------

print_env() {
  cat <<EOF
DATABASE_URL=postgres://postgres@$pg_host:$pg_port/postgres
REDIS_URL=redis://$redis_host:$redis_port
KAFKA_BROKERS=$kafka_host:$kafka_port
ZIPKIN_URL=http://$zipkin_host:$zipkin_port
EOF
}

cmd=${1:-}
mkdir -p "$state"
# Two `up`s at once (two terminals, parallel CI steps) would both start a broker on one port.
# Long-lived children get `9>&-`, or they would hold the lock for as long as they run.
if [[ $cmd == up || $cmd == down ]]; then
  exec 9>"$state/.lock"
  flock -w 300 9 || die "another infra:local $cmd still holds $state/.lock"
fi
case $cmd in
  up)
    start_postgres
    start_redis
    start_kafka
    start_zipkin
    print_env
    ;;
  down)
    stop_zipkin
    stop_kafka
    stop_redis
    stop_postgres
    ;;
  status)
    down=0
    report() { if "${@:2}"; then echo "$1: up"; else echo "$1: down"; down=1; fi; }
    report "postgres $pg_host:$pg_port" pg_up
    report "redis $redis_host:$redis_port" redis_up
    report "kafka $kafka_host:$kafka_port" kafka_status
    report "zipkin $zipkin_host:$zipkin_port" zipkin_up
    exit "$down"
    ;;
  *)
    echo "usage: pnpm infra:local up|down|status" >&2
    exit 2
    ;;
esac
