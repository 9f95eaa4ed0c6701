#!/usr/bin/env bash
# Installs Debian's chromium (for the dashboard's browser test) if it is absent. Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Waits for dpkg's lock instead of failing when another apt-get (services.sh) is running.
APT=(apt-get -o DPkg::Lock::Timeout=300 -y -qq)
$SUDO "${APT[@]}" update >/dev/null
$SUDO "${APT[@]}" install --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
