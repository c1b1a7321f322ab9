#!/bin/bash
# binvault restore instance: everything that runs on the EC2 instance a restore starts, in one script.
# The launch template's user data fetches it from {prefix}/_artifacts (published by scripts/artifacts.mjs)
# and runs `boot`; the restore's first SSM command runs `prepare PLAN_URL`. Tested on a developer's
# machine by test/integration/restore/instance.test.ts (server-of on real dumps, install-server
# --dry-run, refusals, bash -n); boot and start-server need dnf and systemd and run on EC2 only.
#
#   boot                      Node 22 and the binvault bundle of this version (sha256 checked)
#   server-of DUMP            the flavor and major version of the dump's server: "mariadb 10.11", "mysql 8.0"
#   install-server FLAVOR MAJOR [--dry-run]
#                             that server from the vendor's repository (the oldest one still there for older majors)
#   start-server              starts it with a generated root password in /etc/binvault/restore.cnf (0600)
#   prepare PLAN_URL          waits for boot, then server-of the plan's dump, install-server, start-server (once)
set -euo pipefail

ENV_FILE=${BINVAULT_INSTANCE_ENV:-/etc/binvault/instance.env}
STATE_DIR=${BINVAULT_INSTANCE_STATE:-/var/lib/binvault}
CNF=${BINVAULT_RESTORE_CNF:-/etc/binvault/restore.cnf}
# shellcheck disable=SC1090
[ -r "$ENV_FILE" ] && . "$ENV_FILE"

die() { echo "binvault-restore-instance: $*" >&2; exit 1; }
say() { echo "binvault-restore-instance: $*" >&2; }

# Reads an s3:// URL or a local file to stdout.
read_object() {
  case "$1" in
    s3://*) aws s3 cp --only-show-errors ${AWS_REGION:+--region "$AWS_REGION"} "$1" - ;;
    *) cat "$1" ;;
  esac
}

boot() {
  [ -n "${BINVAULT_BUCKET:-}" ] && [ -n "${BINVAULT_VERSION:-}" ] || die "boot needs BINVAULT_BUCKET, BINVAULT_PREFIX and BINVAULT_VERSION in $ENV_FILE"
  mkdir -p "$STATE_DIR" /opt/binvault
  dnf install -y -q nodejs22 || dnf install -y -q nodejs
  local node
  node=$(command -v node-22 || command -v node) || die "no node after installing nodejs22"
  local base="s3://$BINVAULT_BUCKET/$BINVAULT_PREFIX/_artifacts/binvault-$BINVAULT_VERSION.mjs"
  read_object "$base" > /opt/binvault/binvault.mjs.part
  local want got
  want=$(read_object "$base.sha256" | cut -d' ' -f1)
  got=$(sha256sum /opt/binvault/binvault.mjs.part | cut -d' ' -f1)
  [ "$want" = "$got" ] || die "binvault-$BINVAULT_VERSION.mjs has sha256 $got, its .sha256 says $want"
  mv /opt/binvault/binvault.mjs.part /opt/binvault/binvault.mjs
  printf '#!/bin/sh\nexec %s /opt/binvault/binvault.mjs "$@"\n' "$node" > /usr/local/bin/binvault
  chmod 755 /usr/local/bin/binvault
  touch "$STATE_DIR/booted"
  say "booted: binvault $BINVAULT_VERSION on $($node --version)"
}

# "-- Server version	10.11.6-MariaDB-log" (mysqldump, mariadb-dump) → "mariadb 10.11"; "8.0.35" → "mysql 8.0".
server_of() {
  local header version
  header=$( (read_object "$1" | { case "$1" in *.gz) gzip -dc ;; *) cat ;; esac; } | head -c 16384) 2>/dev/null || true)
  version=$(printf '%s\n' "$header" | sed -n 's/^-- Server version[[:space:]]*\([^[:space:]]*\).*/\1/p' | head -n 1)
  [ -n "$version" ] || die "the dump $1 names no server version in its header"
  local major
  major=$(printf '%s' "$version" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
  case "$version" in
    *[Mm]aria[Dd][Bb]*) echo "mariadb $major" ;;
    *) echo "mysql $major" ;;
  esac
}

# The vendor repositories' oldest majors: an older dump loads into the oldest one still published.
repo_major() {
  local flavor=$1 major=$2
  local m=${major%%.*} n=${major#*.}
  if [ "$flavor" = mariadb ]; then
    if [ "$m" -lt 10 ] || { [ "$m" -eq 10 ] && [ "$n" -lt 6 ]; }; then echo 10.6; else echo "$major"; fi
  else
    if [ "$m" -lt 8 ]; then echo 8.0; else echo "$major"; fi
  fi
}

install_server() {
  local flavor=$1 major=$2 dry=${3:-}
  local target repo packages
  target=$(repo_major "$flavor" "$major")
  [ "$target" = "$major" ] || say "$flavor $major is no longer published: installing $target, which loads its dumps"
  case "$flavor" in
    mariadb)
      repo="[mariadb]
name=MariaDB $target
baseurl=https://rpm.mariadb.org/$target/rhel/9/\$basearch
gpgkey=https://rpm.mariadb.org/RPM-GPG-KEY-MariaDB
gpgcheck=1"
      packages="MariaDB-server MariaDB-client" ;;
    mysql)
      repo="[mysql-community]
name=MySQL $target Community Server
baseurl=https://repo.mysql.com/yum/mysql-$target-community/el/9/\$basearch
gpgkey=https://repo.mysql.com/RPM-GPG-KEY-mysql-2023
gpgcheck=1"
      packages="mysql-community-server mysql-community-client" ;;
    *) die "unknown server flavor '$flavor' (mariadb or mysql)" ;;
  esac
  if [ "$dry" = --dry-run ]; then
    printf '%s\n' "$repo"
    echo "dnf install -y $packages"
    return
  fi
  printf '%s\n' "$repo" > "/etc/yum.repos.d/binvault-$flavor.repo"
  # shellcheck disable=SC2086
  dnf install -y -q $packages
  echo "$flavor $target" > "$STATE_DIR/server"
}

start_server() {
  local flavor service client
  flavor=$(cut -d' ' -f1 "$STATE_DIR/server")
  if [ "$flavor" = mariadb ]; then service=mariadb; client=mariadb; else service=mysqld; client=mysql; fi
  systemctl enable --now "$service"
  # Letters, digits and punctuation: MySQL's password policy wants all of them.
  local password
  password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')Aa1!"
  mkdir -p "$(dirname "$CNF")"
  (umask 077 && printf '[client]\nuser=root\npassword="%s"\nhost=localhost\n' "$password" > "$CNF.part")
  chmod 600 "$CNF.part"
  # The password goes to the server on stdin, never in an argument.
  if [ "$flavor" = mariadb ]; then
    printf "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('%s');\n" "$password" | "$client" -uroot
  else
    local temporary
    temporary=$(sed -n 's/.*temporary password is generated for root@localhost: //p' /var/log/mysqld.log | tail -n 1)
    (umask 077 && printf '[client]\nuser=root\npassword="%s"\n' "$temporary" > "$STATE_DIR/initial.cnf")
    printf "ALTER USER root@localhost IDENTIFIED BY '%s';\n" "$password" | "$client" --defaults-extra-file="$STATE_DIR/initial.cnf" --connect-expired-password
    rm -f "$STATE_DIR/initial.cnf"
  fi
  mv "$CNF.part" "$CNF"
  say "$flavor started; root's password is in $CNF (0600)"
}

prepare() {
  local plan_url=$1
  if [ -e "$STATE_DIR/prepared" ]; then say "already prepared"; return; fi
  # The user data may still be running when SSM first reaches the instance.
  command -v cloud-init >/dev/null && cloud-init status --wait >/dev/null || true
  [ -e "$STATE_DIR/booted" ] || die "the instance did not boot binvault (see /var/log/cloud-init-output.log)"
  local dump_key
  dump_key=$(read_object "$plan_url" | node_run -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).dump.key))')
  local server
  server=$(server_of "s3://$BINVAULT_BUCKET/$dump_key")
  # shellcheck disable=SC2086
  install_server $server
  start_server
  touch "$STATE_DIR/prepared"
}

node_run() { "$(command -v node-22 || command -v node)" "$@"; }

command=${1:-}
shift || true
case "$command" in
  boot) boot ;;
  server-of) [ $# -eq 1 ] || die "usage: server-of DUMP"; server_of "$1" ;;
  install-server) [ $# -ge 2 ] || die "usage: install-server FLAVOR MAJOR [--dry-run]"; install_server "$@" ;;
  start-server) start_server ;;
  prepare) [ $# -eq 1 ] || die "usage: prepare PLAN_URL"; prepare "$1" ;;
  *) die "usage: restore-instance.sh boot | server-of DUMP | install-server FLAVOR MAJOR [--dry-run] | start-server | prepare PLAN_URL" ;;
esac
