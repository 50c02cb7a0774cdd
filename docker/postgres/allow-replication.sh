#!/bin/sh
# Runs once, when the postgres image initialises an empty data directory:
# lets the replica (docker compose --profile replica) stream WAL over the
# compose network as the database superuser, with a password.
set -eu
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
