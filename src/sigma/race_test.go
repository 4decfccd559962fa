//go:build race

package sigma

const raceEnabled = true
