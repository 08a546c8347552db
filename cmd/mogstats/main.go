// Command mogstats prints MogileFS statistics read from the tracker
// database; see package tools/mogstats.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogstats"
)

func main() {
	os.Exit(mogstats.Run())
}
