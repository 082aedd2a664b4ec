#!/usr/bin/env bash
# Builds a local stand-in for node:24-bookworm-slim when no container registry is reachable: a minbase Debian
# bookworm root filesystem plus the Node 24 binary the `node@24` npm package ships (its node-<os>-<arch>
# package) and npm, imported into podman as IMAGE. The root filesystem tarball is cached in CACHE_DIR, so
# later runs only re-import it (or nothing, when podman still holds IMAGE).
# Usage: node-standin.sh IMAGE CACHE_DIR
set -euo pipefail
image=$1
cache=$2

if podman image exists "$image"; then
  echo "stand-in $image: present"
  exit 0
fi

tarball="$cache/node24-bookworm-minbase.tar"
if [ ! -f "$tarball" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "stand-in: debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$work/rootfs" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }

  # The exact Node 24 release `node@24` resolves to, as its prebuilt binary package for this machine.
  node_version=$(npm view node@24 version --json | node -e '
    const n = (v) => v.split(".").map(Number);
    const newer = (a, b) => { const [x, y] = [n(a), n(b)]; for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i]; return false; };
    console.log([].concat(JSON.parse(require("fs").readFileSync(0, "utf8"))).reduce((a, b) => (newer(b, a) ? b : a)));')
  platform_pkg="node-$(node -p 'process.platform')-$(node -p 'process.arch')@$node_version"
  echo "stand-in: node $node_version ($platform_pkg) and npm@11"
  (cd "$work" && npm pack --silent "$platform_pkg" npm@11 >/dev/null)
  mkdir -p "$work/node" "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/node-*-*-"$node_version".tgz -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$work/rootfs/usr/local/bin/node"
  tar -xzf "$work"/npm-*.tgz -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  chroot "$work/rootfs" /usr/local/bin/node --version >/dev/null
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin
  tar -C "$work/rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi

echo "stand-in: podman import $tarball"
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$tarball" "$image" >/dev/null
