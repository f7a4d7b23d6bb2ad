#!/usr/bin/env bash
# One entry point for the README's two commands:
#   ./run.sh demo   set everything up, then print, simulate, scan and report the built-in sample batch
#   ./run.sh test   set everything up, then run linters, type checks and the whole test suite
# Safe to re-run: only what is missing is installed. Needs root (or sudo) for the Debian packages.
set -euo pipefail
cd "$(dirname "$0")"

APT_RUNTIME=(fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim)
APT_TEST=(chromium poppler-utils)
VENV=.venv

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_env() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating $VENV"
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
        echo "==> installing the project into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        touch "$VENV/.installed"
    fi
}

case "${1:-}" in
    demo)
        apt_install "${APT_RUNTIME[@]}"
        python_env
        exec "$VENV/bin/ballot" demo "${@:2}"
        ;;
    test)
        apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}"
        python_env
        echo "==> ruff"
        "$VENV/bin/ruff" check pipeline tests benchmarks
        "$VENV/bin/ruff" format --check pipeline tests benchmarks
        echo "==> mypy --strict"
        "$VENV/bin/mypy"
        echo "==> pytest"
        exec "$VENV/bin/pytest" "${@:2}"
        ;;
    *)
        echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
        exit 64
        ;;
esac
