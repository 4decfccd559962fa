//go:build !race

package deobfuscate

const raceEnabled = false
