// Command mogfetch is the MogileFS mogfetch utility; see package tools/mogfetch.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogfetch"
)

func main() {
	os.Exit(mogfetch.Run())
}
