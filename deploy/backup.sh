#!/bin/sh
# PostgreSQL backup: a compressed custom-format dump, kept KEEP_DAYS days. Run daily inside the
# postgres container (cron on the host):  docker compose exec postgres schoolid-backup
# Restore into an empty database:  pg_restore --clean --if-exists -d schoolid /backups/schoolid-<stamp>.dump
set -eu
KEEP_DAYS="${KEEP_DAYS:-14}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="/backups/schoolid-$STAMP.dump"
pg_dump --username "${POSTGRES_USER:-schoolid}" --format custom --compress 6 --file "$OUT.partial" "${POSTGRES_DB:-schoolid}"
pg_restore --list "$OUT.partial" > /dev/null  # a dump that cannot be read is not a backup
mv "$OUT.partial" "$OUT"
find /backups -name 'schoolid-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "$OUT"
