#!/usr/bin/env bash
# Debian packages the application and its tests need: Qt's runtime libraries (xcb, EGL, fonts),
# TrueType CJK fonts (AR PL UMing, the 宋体-style body font; HanaMin for CJK Extensions A–F;
# WenQuanYi; Droid Sans Fallback, which lacks digits, for the tests that refuse it),
# poppler-utils (pdftoppm/pdftotext), Xvfb for screenshots, PostgreSQL, Chromium, and libfaketime
# for running the tests at other dates (scripts/at-date).
# Idempotent and quick when everything is present; needs root (or sudo) only to install.
set -euo pipefail

PACKAGES=(
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6
  fonts-arphic-uming fonts-hanazono fonts-wqy-microhei fonts-droid-fallback fonts-dejavu-core
  poppler-utils xvfb xauth
  postgresql postgresql-contrib chromium wrk faketime
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
updated=""

apt_install() {
  [ -n "$updated" ] || { $SUDO apt-get update -qq; updated=1; }
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

# libfaketime must let Python sleep. Python 3.11+ sleeps with clock_nanosleep(CLOCK_MONOTONIC,
# TIMER_ABSTIME), which libfaketime 0.9.10 (Debian 12) breaks: EINVAL with the monotonic clock
# left alone, a hang without (upstream wolfcw/libfaketime#426, fixed in 0.9.11). Where the
# distribution's library fails this check, build 0.9.12 from Debian's own source package (checked
# against the SHA-256 Debian publishes) into /usr/local, where scripts/at-date looks first.
FAKETIME_VERSION=0.9.12
FAKETIME_SHA256=4fc32218697c052adcdc5ee395581f2554ca56d086ac817ced2be0d6f1f8a9fa
faketime_works() {
  [ -e "$1" ] && LD_PRELOAD="$1" FAKETIME="+86400" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    timeout 10 python3 -c 'import time; time.sleep(0.01)' >/dev/null 2>&1
}
debian_lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)
local_lib=/usr/local/lib/faketime/libfaketime.so.1
if ! faketime_works "$local_lib" && ! faketime_works "${debian_lib:-/nonexistent}"; then
  echo "building libfaketime $FAKETIME_VERSION (the distribution's cannot run Python's sleep)"
  command -v cc >/dev/null && [ -e /usr/include/stdio.h ] && command -v curl >/dev/null \
    || apt_install gcc libc6-dev make curl ca-certificates
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  curl -fsSL --retry 3 -o "$build/src.tar.gz" \
    "http://deb.debian.org/debian/pool/main/f/faketime/faketime_${FAKETIME_VERSION}.orig.tar.gz"
  echo "$FAKETIME_SHA256  $build/src.tar.gz" | sha256sum -c --quiet -
  tar -xzf "$build/src.tar.gz" -C "$build" --strip-components=1
  make -s -C "$build" PREFIX=/usr/local >/dev/null 2>&1
  $SUDO make -s -C "$build" PREFIX=/usr/local install >/dev/null 2>&1
  faketime_works "$local_lib" || { echo "libfaketime $FAKETIME_VERSION does not work here either" >&2; exit 1; }
fi
