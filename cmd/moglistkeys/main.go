// Command moglistkeys is the MogileFS moglistkeys utility; see package tools/moglistkeys.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/moglistkeys"
)

func main() {
	os.Exit(moglistkeys.Run())
}
