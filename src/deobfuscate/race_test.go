//go:build race

package deobfuscate

const raceEnabled = true
