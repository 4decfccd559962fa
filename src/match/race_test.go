//go:build race

package match

// raceEnabled: the race detector allocates, so allocation tests skip.
const raceEnabled = true
