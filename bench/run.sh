#!/usr/bin/env bash
# canyu benchmark: builds the release binary, runs it on PostgreSQL + Redis (both already on
# 127.0.0.1), seeds a realistic 20-question survey and fresh residents, and measures each
# scenario beside a baseline taken in the same run on the same machine:
#   - reads:  hot questionnaire GET vs GET /healthz (bare JSON), requests/s and p99;
#   - writes: answer submission vs pgbench insert-only tps.
# Prints one table and writes it to bench/results/<date>.md. Ratios, not absolute numbers,
# are what carry across machines.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
RESIDENTS="${BENCH_RESIDENTS:-60000}"
PORT="${BENCH_PORT:-18080}"
PG_ADMIN="${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME=canyu_bench
DB_URL="${PG_ADMIN%/*}/$DB_NAME"
REDIS_URL="${BENCH_REDIS:-redis://127.0.0.1:6379}"
SECRET="bench-secret-$(date +%s)-0123456789abcdef0123456789"
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
command -v pgbench >/dev/null || apt-get install -y postgresql-client >/dev/null
pg_isready -h 127.0.0.1 -q || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
redis-cli -h 127.0.0.1 ping | grep -q PONG || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }

echo "==> building the release binary"
cargo build --release --quiet --bin canyu

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
redis-cli -h 127.0.0.1 --scan --pattern 'bench:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null

echo "==> starting canyu on PostgreSQL + Redis"
CANYU_DATABASE_URL="$DB_URL" CANYU_DATA_DIR="$WORK" ./target/release/canyu migrate >/dev/null
START_NS=$(date +%s%N)
CANYU_PORT=$PORT CANYU_DATA_DIR="$WORK" CANYU_DATABASE_URL="$DB_URL" CANYU_REDIS_URL="$REDIS_URL" \
CANYU_CACHE_PREFIX="bench:" CANYU_JWT_SECRET="$SECRET" CANYU_BOOTSTRAP_ADMIN="bench-admin:Bench-admin-2026" \
CANYU_RATE_LIMIT_LOGIN_PER_MIN=0 CANYU_RATE_LIMIT_SUBMIT_PER_MIN=0 CANYU_LOG_FORMAT=json RUST_LOG=warn \
    ./target/release/canyu serve >"$WORK/canyu.log" 2>&1 &
PID=$!
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
    kill -0 $PID 2>/dev/null || { cat "$WORK/canyu.log"; exit 1; }
    sleep 0.01
done
READY_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))

BASE="http://127.0.0.1:$PORT"
ADMIN=$(curl -sf "$BASE/api/v1/auth/staff/login" -H 'content-type: application/json' \
    -d '{"username":"bench-admin","password":"Bench-admin-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
SURVEY=$(curl -sf "$BASE/api/v1/surveys" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
    --data-binary @bench/survey.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -XPOST "$BASE/api/v1/surveys/$SURVEY/publish" -H "authorization: Bearer $ADMIN" >/dev/null

echo "==> seeding $RESIDENTS residents"
python3 bench/mint_tokens.py "$DB_URL" "$SECRET" "$RESIDENTS" "$WORK/tokens.txt"
READER=$(head -n1 "$WORK/tokens.txt")
python3 - "$WORK/body.json" <<'PY'
import json, sys
answers = json.load(open("bench/answers.json"))
json.dump({"version": 1, "answers": answers}, open(sys.argv[1], "w"), ensure_ascii=False)
PY

# wrk summary -> "rps p99_ms non2xx"
measure() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    local rps p99 errs
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    echo "$rps ${p99:-0} ${errs:-0}"
}

echo "==> baseline: GET /healthz"
read -r BASE_RPS BASE_P99 _ < <(measure "$BASE/healthz")
echo "==> hot questionnaire GET"
read -r HOT_RPS HOT_P99 HOT_ERR < <(measure -H "Authorization: Bearer $READER" "$BASE/api/v1/surveys/$SURVEY")

echo "==> baseline: pgbench insert-only"
psql "$DB_URL" -qc "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial primary key, survey uuid, body text, at timestamptz default now())"
echo "INSERT INTO bench_insert (survey, body) VALUES ('$SURVEY', repeat('x', 400));" >"$WORK/insert.sql"
PG_TPS=$(pgbench -n -c "$CONNECTIONS" -j "$THREADS" -T "${DURATION%s}" -f "$WORK/insert.sql" "$DB_URL" 2>/dev/null \
    | awk '/^tps/ {print $3; exit}')
echo "==> answer submission"
read -r SUB_RPS SUB_P99 SUB_ERR < <(BENCH_TOKENS="$WORK/tokens.txt" BENCH_BODY="$WORK/body.json" \
    BENCH_PATH="/api/v1/surveys/$SURVEY/responses" BENCH_THREADS="$THREADS" \
    measure -s bench/submit.lua "$BASE/api/v1/surveys/$SURVEY/responses")
STORED=$(psql "$DB_URL" -Atc "SELECT count(*) FROM survey_responses")
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")

echo "==> exports of 100,000 responses"
# Top the survey up to 100,000 responses by copying stored ones under new ids.
psql "$DB_URL" -qc "INSERT INTO survey_responses (id, survey_id, version, respondent_id, sub_district, answers, submitted_at)
    SELECT gen_random_uuid(), survey_id, version, NULL, sub_district, answers, submitted_at
    FROM survey_responses, generate_series(1, CEIL(100000.0 / GREATEST($STORED, 1))::int)
    LIMIT GREATEST(100000 - $STORED, 0)"
EXPORTED=$(psql "$DB_URL" -Atc "SELECT count(*) FROM survey_responses")
export_one() {
    local t0 t1 size
    t0=$(date +%s%N)
    size=$(curl -sf -o "$WORK/export.$1" -w '%{size_download}' -H "Authorization: Bearer $ADMIN" \
        "$BASE/api/v1/surveys/$SURVEY/export?format=$1")
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 )) $(( size / 1048576 ))"
}
read -r CSV_MS CSV_MB < <(export_one csv)
CSV_ROWS=$(( $(wc -l <"$WORK/export.csv") - 1 ))
read -r XLSX_MS XLSX_MB < <(export_one xlsx)
RSS_AFTER_KB=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")

ratio() { python3 -c "print(f'{$1 / $2 * 100:.0f}%' if $2 else 'n/a')"; }
DATE=$(date -u +%Y-%m-%d)
CPU=$(awk -F: '/model name/ {gsub(/^ /,"",$2); print $2; exit}' /proc/cpuinfo)
TABLE=$(cat <<MD
# canyu bench, $DATE

Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load generator (wrk, $THREADS threads, $CONNECTIONS connections, $DURATION) on the same machine. PostgreSQL $(psql "$PG_ADMIN" -Atc 'show server_version' | cut -d' ' -f1), Redis $(redis-cli -h 127.0.0.1 info server | awk -F: '/redis_version/ {print $2}' | tr -d '\r').

| scenario | result | baseline (same run) | ratio | target |
|---|---|---|---|---|
| hot questionnaire GET (20 questions, authenticated) | $HOT_RPS req/s, p99 $HOT_P99 ms, non-2xx $HOT_ERR | GET /healthz $BASE_RPS req/s, p99 $BASE_P99 ms | $(ratio "$HOT_RPS" "$BASE_RPS") | >= 70%, p99 < 10 ms |
| answer submission (validated, idempotency-keyed, PostgreSQL) | $SUB_RPS req/s, p99 $SUB_P99 ms, non-2xx $SUB_ERR; $STORED responses stored | pgbench insert-only $PG_TPS tps | $(ratio "$SUB_RPS" "$PG_TPS") | >= 50% |
| export CSV, $EXPORTED responses | $CSV_ROWS rows, $CSV_MB MB in $CSV_MS ms | | | streamed |
| export XLSX, $EXPORTED responses | $XLSX_MB MB in $XLSX_MS ms | | | constant memory |
| server memory | peak RSS $(( RSS_KB / 1024 )) MB after the load, $(( RSS_AFTER_KB / 1024 )) MB after both exports | | | < 100 MB |
| cold start to ready (migrated database) | $READY_MS ms | | | < 1 s |
MD
)
echo
echo "$TABLE"
echo "$TABLE" >"bench/results/$DATE.md"
echo
echo "written to bench/results/$DATE.md"
