//go:build !race

// Package race tells tests whether the race detector is on: it allocates
// behind the scenes, so allocation counts are only meaningful without it.
package race

// Enabled reports whether the binary was built with -race.
const Enabled = false
