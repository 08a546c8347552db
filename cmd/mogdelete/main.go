// Command mogdelete is the MogileFS mogdelete utility; see package tools/mogdelete.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogdelete"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogdelete"))
		return
	}
	os.Exit(mogdelete.Run())
}
