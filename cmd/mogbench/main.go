// Command mogbench is the MogileFS load tool; see package tools/mogbench.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogbench"
)

func main() {
	os.Exit(mogbench.Run())
}
