//go:build !race

package storage

const raceBuild = false
