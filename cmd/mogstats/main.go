// Command mogstats prints MogileFS statistics read from the tracker
// database; see package tools/mogstats.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogstats"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogstats"))
		return
	}
	os.Exit(mogstats.Run())
}
