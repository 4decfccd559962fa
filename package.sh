#!/usr/bin/env bash
# package.sh [--sigma DIR]... [OUTDIR]
#
# Builds the scorecmdline binaries and assembles the Splunk app tarball
# OUTDIR/SA-scorecmdline-<version>.tgz (OUTDIR defaults to dist/), printing
# its path on stdout; progress goes to stderr. Needs bash, Go, tar and gzip.
#
# --sigma DIR bundles a folder of Sigma rules as the pack lookups/<name of
# DIR>/ (its *.yml, *.yaml and sigma.toml files, sub-folders kept), for
# `| scorecmdline rules=<name>`. The app ships no third-party rules itself.
#
# The version comes from default/app.conf [id] version, the single source of
# truth: [launcher] version and app/app.manifest must agree, and the binaries
# are stamped with it (scorecmdline version).
#
# Where the binaries go (splunkd looks for chunked commands and modular
# inputs in <app>/<platform>/bin, then in <app>/bin):
#   linux/amd64    linux_x86_64/bin/scorecmdline
#   windows/amd64  windows_x86_64/bin/scorecmdline.exe and .../scorecmdline
#   darwin/amd64   darwin_x86_64/bin/scorecmdline
#   linux/arm64    bin/scorecmdline (splunkd has no ARM platform folder, so
#                  aarch64 hosts reach the bin/ fallback)
#   darwin/arm64   darwin_arm64/bin/scorecmdline (not a folder splunkd is
#                  documented to search; Splunk for macOS is an x86_64 build)
set -euo pipefail
umask 022

die() {
	echo "package.sh: $*" >&2
	exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sigma=()
while (($# > 0)); do
	case $1 in
	--sigma)
		(($# >= 2)) || die "--sigma needs a folder"
		[[ -d $2 ]] || die "--sigma $2: not a folder"
		sigma+=("$(cd "$2" && pwd)")
		shift 2
		;;
	--) shift; break ;;
	-*) die "unknown option $1 (usage: package.sh [--sigma DIR]... [OUTDIR])" ;;
	*) break ;;
	esac
done
out=${1:-"$root/dist"}
GO=${GO:-go}
app_id=SA-scorecmdline

for tool in "$GO" tar gzip awk; do
	command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

# conf_value FILE STANZA KEY prints the value of KEY in [STANZA].
conf_value() {
	awk -v want="$2" -v key="$3" '
		/^[[:space:]]*\[/ {
			s = $0
			sub(/^[[:space:]]*\[/, "", s)
			sub(/\][[:space:]]*$/, "", s)
			next
		}
		s == want && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
			v = $0
			sub(/^[^=]*=[[:space:]]*/, "", v)
			sub(/[[:space:]\r]+$/, "", v)
			print v
			exit
		}' "$1"
}

app_conf="$root/default/app.conf"
manifest="$root/app/app.manifest"
[[ -f $app_conf ]] || die "missing $app_conf"
[[ -f $manifest ]] || die "missing $manifest"

version=$(conf_value "$app_conf" id version)
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
[[ $version =~ $semver ]] || die "default/app.conf [id] version '$version' is not semver (X.Y.Z)"
launcher=$(conf_value "$app_conf" launcher version)
[[ $launcher == "$version" ]] || die "default/app.conf [launcher] version '$launcher' differs from [id] version '$version'"
package_id=$(conf_value "$app_conf" package id)
[[ $package_id == "$app_id" ]] || die "default/app.conf [package] id '$package_id' is not $app_id"
manifest_version=$(sed -n 's/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)
[[ $manifest_version == "$version" ]] || die "app/app.manifest version '$manifest_version' differs from default/app.conf '$version'"

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/scorecmdline-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/$app_id"
mkdir -p "$stage/default" "$stage/lookups"

echo "package.sh: assembling $app_id $version" >&2
cp -R "$root/app/." "$stage/"
shopt -s nullglob
confs=("$root"/default/*.conf)
((${#confs[@]} > 0)) || die "no default/*.conf files"
cp "${confs[@]}" "$stage/default/"
# Lookup data only: lookups/embed.go is Go code that embeds the defaults.
lookups=("$root"/lookups/*.toml "$root"/lookups/*.csv "$root"/lookups/*.model.bin)
((${#lookups[@]} > 0)) || die "no lookups/*.toml, *.csv or *.model.bin files"
cp "${lookups[@]}" "$stage/lookups/"
shopt -u nullglob
for dir in "${sigma[@]}"; do
	name=$(basename "$dir")
	[[ $name =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "--sigma $dir: the folder name is the pack name: letters, digits, _ . -"
	[[ ! -e "$stage/lookups/$name" ]] || die "--sigma $dir: a pack named $name is already bundled"
	echo "package.sh: bundling Sigma pack $name from $dir" >&2
	(cd "$dir" && find . -type f \( -name '*.yml' -o -name '*.yaml' -o -name sigma.toml \) -print0) |
		while IFS= read -r -d '' f; do
			mkdir -p "$stage/lookups/$name/$(dirname "$f")"
			cp "$dir/$f" "$stage/lookups/$name/$f"
		done
done

# build GOOS GOARCH DEST builds a static, version-stamped binary at DEST
# (relative to the app folder).
build() {
	local dest="$stage/$3"
	mkdir -p "$(dirname "$dest")"
	echo "package.sh: building $1/$2 -> $3" >&2
	(cd "$root" && CGO_ENABLED=0 GOOS=$1 GOARCH=$2 "$GO" build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=$version" -o "$dest" ./src/cmd/scorecmdline) ||
		die "go build for $1/$2 failed"
}
build linux amd64 linux_x86_64/bin/scorecmdline
build linux arm64 bin/scorecmdline
build windows amd64 windows_x86_64/bin/scorecmdline.exe
build darwin amd64 darwin_x86_64/bin/scorecmdline
build darwin arm64 darwin_arm64/bin/scorecmdline
# commands.conf names the file "scorecmdline"; whether splunkd on Windows
# adds .exe to it is not documented, so the extensionless name exists too.
cp "$stage/windows_x86_64/bin/scorecmdline.exe" "$stage/windows_x86_64/bin/scorecmdline"

# AppInspect rejects dot-files and __MACOSX anywhere in the package.
while IFS= read -r -d '' junk; do
	echo "package.sh: leaving out ${junk#"$work/"}" >&2
	rm -rf "$junk"
done < <(find "$stage" -mindepth 1 \( -name '.*' -o -name '__MACOSX' \) -prune -print0)

# Directories 755, files 644, executables 755 (AppInspect wants owner rwx on
# directories and owner rw on files).
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -exec chmod 644 {} +
chmod 755 "$stage"/linux_x86_64/bin/* "$stage"/bin/* "$stage"/windows_x86_64/bin/* \
	"$stage"/darwin_x86_64/bin/* "$stage"/darwin_arm64/bin/*

tarball="$out/$app_id-$version.tgz"
tar_opts=(--format=ustar)
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
	tar_opts+=(--owner=0 --group=0 --numeric-owner --sort=name)
fi
# One top-level folder named for the app, member names without "./".
COPYFILE_DISABLE=1 tar "${tar_opts[@]}" -C "$work" -czf "$tarball.tmp" "$app_id" ||
	die "tar failed"
mv -f "$tarball.tmp" "$tarball"
echo "package.sh: wrote $tarball" >&2
echo "$tarball"
