# Sourced by tools/run.sh and tools/test.sh: installs the Debian packages Encore
# builds with, if any is missing (docs/dependencies.md says why each is here).
encore_packages=(
  g++ cmake ninja-build ccache pkg-config tzdata
  librocksdb-dev libboost1.81-dev libsimdjson-dev doctest-dev libspdlog-dev libfmt-dev
  libcli11-dev libssl-dev libbenchmark-dev libhowardhinnant-date-dev libjemalloc-dev
)

encore_install_deps() {
  local missing=()
  local p
  for p in "${encore_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
  fi
}
