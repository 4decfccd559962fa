//go:build !race

package jsonenc

const race = false
