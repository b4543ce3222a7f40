// A Go program whose memory is known by construction, for memtrace's tests:
// main.grow touches every page of a 64 MiB slice, main.keepChunks 32 MiB in
// 1 MiB chunks it keeps. The garbage collector is off, so nothing is freed.
// Built twice: with symbols, and stripped (-ldflags=-s -w: names from .gopclntab).
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

//go:noinline
func grow(mib int) []byte {
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

//go:noinline
func keepChunks(mib int) [][]byte {
	var kept [][]byte
	for i := 0; i < mib; i++ {
		c := make([]byte, 1<<20)
		for j := 0; j < len(c); j += 4096 {
			c[j] = 2
		}
		kept = append(kept, c)
	}
	return kept
}

func main() {
	debug.SetGCPercent(-1)
	big := grow(64)
	kept := keepChunks(32)
	fmt.Fprintf(os.Stderr, "gowork: %d MiB, %d chunks\n", len(big)>>20, len(kept))
}
