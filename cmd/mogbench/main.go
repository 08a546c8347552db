// Command mogbench is the MogileFS load tool; see package tools/mogbench.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogbench"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogbench"))
		return
	}
	os.Exit(mogbench.Run())
}
