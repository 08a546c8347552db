// Command mogdelete is the MogileFS mogdelete utility; see package tools/mogdelete.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogdelete"
)

func main() {
	os.Exit(mogdelete.Run())
}
