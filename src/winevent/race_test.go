//go:build race

package winevent

const race = true
